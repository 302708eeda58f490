// What the addon's files share: one way to make an errno error, and each file's registration
// (called from bpf.c's module init).
#pragma once
#include <node_api.h>
#include <sys/types.h>

/** An Error with .code (ENOENT...) and the message "what: strerror(err)" (host.c). */
napi_value error_value(napi_env env, const char *what, int err);
/** Throw error_value(...); returns NULL for the caller to return (host.c). */
napi_value host_throw(napi_env env, const char *what, int err);
struct loop_info64;
/** LOOP_GET_STATUS64 of a loop device (open, ioctl, close): 0, or the errno (host.c). */
int loop_status_of(const char *dev, struct loop_info64 *li);
/** Set backMajor, backMinor, backIno (a string), offset and sizeLimit on obj from li (host.c). */
void put_loop_status(napi_env env, napi_value obj, const struct loop_info64 *li);
/** A JS string (a path, a name, options) whole in buf: 0, or -1 when it is not a string, does not fit or holds a NUL byte (a cut path is another path) (host.c). */
int get_path(napi_env env, napi_value v, char *buf, size_t size);
/** A small file's text (one read) without its trailing newline, NUL-terminated; its length, or -1 (host.c). */
ssize_t read_line_file(const char *path, char *out, size_t size);
/* The same, path relative to the directory dir (openat). */
ssize_t read_line_at(int dir, const char *path, char *out, size_t size);

/**
 * Run exec(job) on libuv's pool and done(job) back on the loop, for a promise: its deferred is
 * stored in *deferred and the work in *work (done settles the one and deletes the other). The
 * promise, or NULL with an error thrown (job is then the caller's to free) (teardown.c).
 */
napi_value queue_promise(napi_env env, const char *name, void *job, napi_async_execute_callback exec, napi_async_complete_callback done, napi_async_work *work, napi_deferred *deferred);

/** Resolve deferred (with undefined), or reject it with error_value(what, err); ECANCELED where the work was cancelled (teardown.c). */
void settle(napi_env env, napi_deferred deferred, napi_status status, int err, const char *what);

void register_host_calls(napi_env env, napi_value exports);
void register_spawn_calls(napi_env env, napi_value exports);
void register_proc_connector(napi_env env, napi_value exports);
void register_memory_calls(napi_env env, napi_value exports);
void register_pread_text(napi_env env, napi_value exports);
void register_loop_list(napi_env env, napi_value exports);
void register_session_calls(napi_env env, napi_value exports);
void register_teardown_calls(napi_env env, napi_value exports);
void register_loop_attach(napi_env env, napi_value exports);
void register_mount_call(napi_env env, napi_value exports);
void register_netns_call(napi_env env, napi_value exports);
void register_netns_addresses(napi_env env, napi_value exports);
void register_veth_calls(napi_env env, napi_value exports);
void register_blkid_calls(napi_env env, napi_value exports);
void register_pipe_read(napi_env env, napi_value exports);
void register_read_file(napi_env env, napi_value exports);
