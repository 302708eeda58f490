// mount(8) of a device or a bind as the one system call it makes, on a thread of libuv's pool:
// mount(8) costs a process (9-20 ms here) on boot's way for every root and disk it mounts. The
// caller passes only what mount(8) would turn into flags and data itself, for a source that is a
// device or a folder (never a regular file: mount(8) would set up a loop for it).
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include "addon.h"

typedef struct mount_job {
  napi_async_work work;
  napi_deferred deferred;
  char source[4096];
  char target[4096];
  char type[64];
  char data[4096];
  unsigned long flags;
  int err;
} mount_job;

static void mount_work(napi_env env, void *data) {
  (void)env;
  mount_job *j = data;
  if (mount(j->source, j->target, j->type[0] ? j->type : NULL, j->flags, j->data[0] ? j->data : NULL) < 0) j->err = errno;
}

static void mount_done(napi_env env, napi_status status, void *data) {
  mount_job *j = data;
  char what[8300];
  snprintf(what, sizeof what, "mount %s on %s", j->source, j->target);
  settle(env, j->deferred, status, j->err, what);
  napi_delete_async_work(env, j->work);
  free(j);
}

// mount(source, target, type, flags, data) -> Promise: mount(2); rejects with .code.
static napi_value mount_fs(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  double flags = 0;
  mount_job *j = calloc(1, sizeof *j);
  if (!j) return host_throw(env, "mount", ENOMEM);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 ||
      get_path(env, argv[0], j->source, sizeof j->source) != 0 || get_path(env, argv[1], j->target, sizeof j->target) != 0 ||
      j->target[0] != '/' || get_path(env, argv[2], j->type, sizeof j->type) != 0 ||
      napi_get_value_double(env, argv[3], &flags) != napi_ok || flags < 0 || get_path(env, argv[4], j->data, sizeof j->data) != 0) {
    free(j);
    return host_throw(env, "mount", EINVAL);
  }
  j->flags = (unsigned long)flags;
  napi_value promise = queue_promise(env, "mount", j, mount_work, mount_done, &j->work, &j->deferred);
  if (!promise) free(j);
  return promise;
}

void register_mount_call(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mount", NULL, mount_fs, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
