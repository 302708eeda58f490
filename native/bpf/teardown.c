// Unmount and loop detach as system calls, on a thread of libuv's pool: umount(8) and
// losetup --detach cost a process each (5-10 ms here, the system call itself 20 us to 4 ms), on
// the way of every stop and power off. umount2 may wait for a filesystem's last writes: never on
// the main thread.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>
#include "addon.h"

typedef struct job {
  napi_async_work work;
  napi_deferred deferred;
  char path[4096];
  int lazy;
  int is_loop;
  int err;
} job;

static void teardown_work(napi_env env, void *data) {
  (void)env;
  job *j = data;
  if (j->is_loop) {
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ioctl(fd, LOOP_CLR_FD, 0) < 0) j->err = errno;
    if (fd >= 0) close(fd);
  } else {
    // A symbolic link at the mount point is never followed: only the mount at that very path goes.
    if (umount2(j->path, UMOUNT_NOFOLLOW | (j->lazy ? MNT_DETACH : 0)) < 0) j->err = errno;
  }
}

void settle(napi_env env, napi_deferred deferred, napi_status status, int err, const char *what) {
  if (status != napi_ok && !err) err = ECANCELED;
  if (err) {
    napi_reject_deferred(env, deferred, error_value(env, what, err));
  } else {
    napi_value result;
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, deferred, result);
  }
}

static void teardown_done(napi_env env, napi_status status, void *data) {
  job *j = data;
  char what[4200];
  snprintf(what, sizeof what, "%s %s", j->is_loop ? "LOOP_CLR_FD" : "umount2", j->path);
  settle(env, j->deferred, status, j->err, what);
  napi_delete_async_work(env, j->work);
  free(j);
}

napi_value queue_promise(napi_env env, const char *name, void *job, napi_async_execute_callback exec, napi_async_complete_callback done, napi_async_work *work, napi_deferred *deferred) {
  napi_value promise, resource_name;
  if (napi_create_promise(env, deferred, &promise) != napi_ok) return host_throw(env, name, ENOMEM);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  if (napi_create_async_work(env, NULL, resource_name, exec, done, job, work) != napi_ok || napi_queue_async_work(env, *work) != napi_ok) {
    // The promise was never handed out: nothing waits on it.
    return host_throw(env, name, ENOMEM);
  }
  return promise;
}

static napi_value start(napi_env env, napi_callback_info info, int is_loop) {
  size_t argc = 2;
  napi_value argv[2];
  job *j = calloc(1, sizeof *j);
  if (!j) return host_throw(env, "teardown", ENOMEM);
  j->is_loop = is_loop;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      get_path(env, argv[0], j->path, sizeof j->path) != 0 || j->path[0] != '/') {
    free(j);
    return host_throw(env, is_loop ? "detachLoop" : "umount", EINVAL);
  }
  bool lazy = false;
  if (argc > 1) napi_get_value_bool(env, argv[1], &lazy);
  j->lazy = lazy;
  napi_value promise = queue_promise(env, is_loop ? "detachLoop" : "umount", j, teardown_work, teardown_done, &j->work, &j->deferred);
  if (!promise) free(j);
  return promise;
}

// umount(path, lazy) -> Promise: umount2(path, UMOUNT_NOFOLLOW [| MNT_DETACH]); rejects with .code.
static napi_value umount_path(napi_env env, napi_callback_info info) {
  return start(env, info, 0);
}

// detachLoop(dev) -> Promise: LOOP_CLR_FD on /dev/loopN (the kernel detaches it on its last close); rejects with .code.
static napi_value detach_loop(napi_env env, napi_callback_info info) {
  return start(env, info, 1);
}

void register_teardown_calls(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"umount", NULL, umount_path, NULL, NULL, NULL, napi_default, NULL},
      {"detachLoop", NULL, detach_loop, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
