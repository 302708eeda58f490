// posix_spawn for run() (src/host/exec.ts), on a thread of libuv's pool: glibc's vfork-style clone
// costs the same at any RSS, where Node's fork() copies the page tables of the whole process and
// waits for the exec, both on the main thread.
// The child is watched with a pidfd on the event loop and reaped by waitid(P_PIDFD): libuv reaps
// only the PIDs of its own uv_process_t handles (waitpid(pid), never -1), so ours stay ours.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>
#include "spawn-args.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

typedef struct watch {
  uv_work_t work;
  uv_poll_t poll;
  napi_env env;
  napi_ref on_start;
  napi_ref callback;
  napi_async_context context;
  napi_async_cleanup_hook_handle cleanup;
  // The job for the thread pool: what posix_spawn needs, and what it gave.
  char **argv;
  char **envp;
  char cwd[4096];
  int *src;
  int ntargets;
  int err;
  pid_t pid;
  int pidfd;
  int tearing_down;
  int new_group;
} watch;

static int pidfd_open(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void watch_closed(uv_handle_t *handle) {
  watch *w = handle->data;
  // Teardown waits for this: the handle is off the loop only now.
  if (w->tearing_down) napi_remove_async_cleanup_hook(w->cleanup);
  close(w->pidfd);
  free(w);
}

// The environment ends (a worker exits) with the child still running: close the handle so the loop can close.
static void watch_cleanup(napi_async_cleanup_hook_handle handle, void *data) {
  (void)handle;
  watch *w = data;
  w->tearing_down = 1;
  uv_poll_stop(&w->poll);
  napi_delete_reference(w->env, w->callback);
  napi_async_destroy(w->env, w->context);
  uv_close((uv_handle_t *)&w->poll, watch_closed);
}

static void watch_ready(uv_poll_t *poll, int status, int events) {
  (void)events;
  watch *w = poll->data;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (status == 0 && waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, &info, WEXITED | WNOHANG) == 0 && info.si_pid == 0) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value args[2], callback, resource, ignored;
  int exited = info.si_code == CLD_EXITED;
  napi_create_int32(env, exited ? info.si_status : -1, &args[0]);
  napi_create_int32(env, exited ? 0 : info.si_status, &args[1]);
  napi_get_reference_value(env, w->callback, &callback);
  napi_create_object(env, &resource);
  napi_async_context context = w->context;
  w->context = NULL;
  napi_remove_async_cleanup_hook(w->cleanup);
  napi_delete_reference(env, w->callback);
  uv_poll_stop(&w->poll);
  uv_close((uv_handle_t *)&w->poll, watch_closed);
  // make_callback: the promise jobs the callback queues run before the loop goes on.
  napi_make_callback(env, context, resource, callback, 2, args, &ignored);
  napi_async_destroy(env, context);
  napi_close_handle_scope(env, scope);
}


static int dup_above(int fd, int min) {
  return fcntl(fd, F_DUPFD_CLOEXEC, min);
}

// On a thread of the pool: the main thread does not wait while the child is cloned and execs.
static void spawn_work(uv_work_t *work) {
  watch *w = work->data;
  char found[4096];
  const char *file = resolve(w->argv[0], w->envp, found, sizeof found);
  if (!file) {
    w->err = ENOENT;
  } else {
    // A group of its own: the caller can end the child and whatever it left in the background at once.
    w->err = spawn_fds(&w->pid, file, w->argv, w->envp, w->src, w->ntargets, w->cwd, w->new_group ? POSIX_SPAWN_SETPGROUP : 0);
    if (!w->err && (w->pidfd = pidfd_open(w->pid)) < 0) {
      // Cannot watch it (EMFILE): end it now rather than leave a child nobody reaps.
      w->err = errno;
      kill(w->pid, SIGKILL);
      waitpid(w->pid, NULL, 0);
    }
  }
  for (int i = 0; i < w->ntargets; i++) close(w->src[i]);
}

// Back on the loop: watch the child's pidfd, and tell JS it started (or why not).
static void spawn_done(uv_work_t *work, int status) {
  watch *w = work->data;
  napi_env env = w->env;
  if (status == UV_ECANCELED) {
    for (int i = 0; i < w->ntargets; i++) close(w->src[i]);
    w->err = ECANCELED;
  }
  uv_loop_t *loop = NULL;
  if (!w->err && (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &w->poll, w->pidfd))) {
    w->err = ENOMEM;
    kill(w->pid, SIGKILL);
    waitpid(w->pid, NULL, 0);
    close(w->pidfd);
  }
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value args[2], callback, resource, ignored;
  char what[300];
  snprintf(what, sizeof what, "spawn %s", w->argv[0]);
  napi_get_undefined(env, &args[0]);
  if (w->err) args[0] = error_value(env, what, w->err);
  napi_create_int32(env, w->err ? 0 : w->pid, &args[1]);
  napi_get_reference_value(env, w->on_start, &callback);
  napi_delete_reference(env, w->on_start);
  napi_create_object(env, &resource);
  free(w->argv);
  free(w->envp);
  free(w->src);
  w->argv = w->envp = NULL;
  w->src = NULL;
  napi_async_context context = w->context;
  int failed = w->err;
  if (failed) {
    napi_delete_reference(env, w->callback);
    free(w);
  } else {
    w->poll.data = w;
    napi_add_async_cleanup_hook(env, watch_cleanup, w, &w->cleanup);
    uv_poll_start(&w->poll, UV_READABLE, watch_ready);
  }
  napi_make_callback(env, context, resource, callback, 2, args, &ignored);
  if (failed) napi_async_destroy(env, context);
  napi_close_handle_scope(env, scope);
}

// spawn(argv, envp, cwd | null, extraFds, onStart(error | undefined, pid), onExit(code, signo)[, newGroup]) -> { stdin, stdout, stderr }
static napi_value spawn_child(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value args[7];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 6) return host_throw(env, "spawn", EINVAL);
  uint32_t nextra = 0;
  napi_get_array_length(env, args[3], &nextra);
  watch *w = calloc(1, sizeof *w);
  if (!w) return host_throw(env, "spawn", ENOMEM);
  w->env = env;
  w->pidfd = -1;
  bool new_group = false;
  if (argc > 6) napi_get_value_bool(env, args[6], &new_group);
  w->new_group = new_group;
  w->ntargets = 3 + (int)nextra;
  w->argv = string_vector(env, args[0]);
  w->envp = string_vector(env, args[1]);
  napi_valuetype cwd_type;
  napi_typeof(env, args[2], &cwd_type);
  if (cwd_type == napi_string) napi_get_value_string_utf8(env, args[2], w->cwd, sizeof w->cwd, NULL);
  // Every descriptor the child gets is first moved above its target range, so no dup2 clobbers another.
  w->src = malloc(w->ntargets * sizeof(int));
  int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  int err = 0;
  for (int i = 0; w->src && i < w->ntargets; i++) w->src[i] = -1;
  if (!w->argv || !w->envp || !w->src || !w->argv[0]) err = ENOMEM;
  for (int i = 0; !err && i < 3; i++) {
    if (pipe2(pipes[i], O_CLOEXEC)) err = errno;
    else {
      int child_end = i == 0 ? 0 : 1;
      if ((w->src[i] = dup_above(pipes[i][child_end], w->ntargets)) < 0) err = errno;
      close(pipes[i][child_end]);
      pipes[i][child_end] = -1;
    }
  }
  // Dup'ed now: the caller may close its own descriptors as soon as this returns.
  for (uint32_t i = 0; !err && i < nextra; i++) {
    napi_value v;
    int32_t fd = -1;
    napi_get_element(env, args[3], i, &v);
    napi_get_value_int32(env, v, &fd);
    if ((w->src[3 + i] = dup_above(fd, w->ntargets)) < 0) err = errno;
  }
  uv_loop_t *loop = NULL;
  if (!err && napi_get_uv_event_loop(env, &loop) != napi_ok) err = EINVAL;
  if (!err) {
    napi_value resource_name;
    napi_create_string_utf8(env, "subhost.spawn", NAPI_AUTO_LENGTH, &resource_name);
    napi_async_init(env, NULL, resource_name, &w->context);
    napi_create_reference(env, args[4], 1, &w->on_start);
    napi_create_reference(env, args[5], 1, &w->callback);
    w->work.data = w;
    err = -uv_queue_work(loop, &w->work, spawn_work, spawn_done);
    if (err) {
      napi_delete_reference(env, w->on_start);
      napi_delete_reference(env, w->callback);
      napi_async_destroy(env, w->context);
    }
  }
  if (err) {
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 2; j++)
        if (pipes[i][j] >= 0) close(pipes[i][j]);
    for (int i = 0; w->src && i < w->ntargets; i++)
      if (w->src[i] >= 0) close(w->src[i]);
    char what[300];
    snprintf(what, sizeof what, "spawn %s", w->argv && w->argv[0] ? w->argv[0] : "");
    free(w->argv);
    free(w->envp);
    free(w->src);
    free(w);
    return host_throw(env, what, err);
  }
  napi_value result, v;
  napi_create_object(env, &result);
  const char *names[3] = {"stdin", "stdout", "stderr"};
  for (int i = 0; i < 3; i++) {
    napi_create_int32(env, pipes[i][i == 0 ? 1 : 0], &v);
    napi_set_named_property(env, result, names[i], v);
  }
  return result;
}

// True where pidfd_open and waitid(P_PIDFD) exist (Linux 5.4): spawn() needs both.
static napi_value spawn_supported(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = pidfd_open(getpid());
  siginfo_t si;
  // On our own pid (not a child) a kernel with P_PIDFD says ECHILD, one without says EINVAL.
  int ok = fd >= 0 && waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) < 0 && errno == ECHILD;
  if (fd >= 0) close(fd);
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

// signalGroup(pgid: number, signo: number): boolean. kill(-pgid, signo), false when the group is
// gone (ESRCH): the end of every spawned group, which process.kill turns into a thrown exception.
static napi_value signal_group(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t pgid, signo;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[0], &pgid) != napi_ok ||
      napi_get_value_int32(env, argv[1], &signo) != napi_ok || pgid <= 1 || signo < 0 || signo >= NSIG) {
    napi_throw_type_error(env, NULL, "signalGroup(pgid > 1, signo)");
    return NULL;
  }
  napi_value result;
  if (kill(-pgid, signo) == 0) return napi_get_boolean(env, true, &result), result;
  if (errno == ESRCH) return napi_get_boolean(env, false, &result), result;
  return host_throw(env, "kill", errno);
}

void register_spawn_calls(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"spawn", NULL, spawn_child, NULL, NULL, NULL, napi_default, NULL},
      {"spawnSupported", NULL, spawn_supported, NULL, NULL, NULL, napi_default, NULL},
      {"signalGroup", NULL, signal_group, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
