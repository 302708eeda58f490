// losetup --find --show [--partscan] [--offset --sizelimit] as system calls, on a thread of
// libuv's pool: LOOP_CTL_GET_FREE, then LOOP_CONFIGURE (Linux 5.8) in one ioctl. The process
// losetup costs (5-7 ms here) is on boot's way twice for a partition on a kernel without
// partition parsers. ENOTTY or EINVAL from LOOP_CONFIGURE: the caller falls back on losetup.
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
#include <unistd.h>
#include "addon.h"

typedef struct attach_job {
  napi_async_work work;
  napi_deferred deferred;
  char file[4096];
  char dev[64];
  uint64_t offset;
  uint64_t size_limit;
  bool partscan;
  int err;
} attach_job;

static void attach_work(napi_env env, void *data) {
  (void)env;
  attach_job *j = data;
  int backing = open(j->file, O_RDWR | O_CLOEXEC);
  int ctl = backing < 0 ? -1 : open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (backing < 0 || ctl < 0) j->err = errno;
  // Another attach may take the free device between GET_FREE and CONFIGURE (EBUSY): ask again.
  for (int tries = 0; !j->err && tries < 64; tries++) {
    int n = ioctl(ctl, LOOP_CTL_GET_FREE);
    if (n < 0) {
      j->err = errno;
      break;
    }
    snprintf(j->dev, sizeof j->dev, "/dev/loop%d", n);
    int fd = open(j->dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      j->err = errno;
      break;
    }
    struct loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fd = (unsigned)backing;
    cfg.info.lo_offset = j->offset;
    cfg.info.lo_sizelimit = j->size_limit;
    cfg.info.lo_flags = j->partscan ? LO_FLAGS_PARTSCAN : 0;
    // What losetup shows as NAME when sysfs has no backing_file; cut to its 63 bytes as losetup does.
    snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%.*s", LO_NAME_SIZE - 1, j->file);
    int ok = ioctl(fd, LOOP_CONFIGURE, &cfg) == 0;
    int e = errno;
    close(fd);
    if (ok) break;
    if (e != EBUSY) j->err = e;
    else if (tries == 63) j->err = EBUSY;
  }
  if (ctl >= 0) close(ctl);
  if (backing >= 0) close(backing);
}

static void attach_done(napi_env env, napi_status status, void *data) {
  attach_job *j = data;
  if (status != napi_ok && !j->err) j->err = ECANCELED;
  if (j->err) {
    char what[4200];
    snprintf(what, sizeof what, "attaching %s", j->file);
    napi_reject_deferred(env, j->deferred, error_value(env, what, j->err));
  } else {
    napi_value dev;
    napi_create_string_utf8(env, j->dev, NAPI_AUTO_LENGTH, &dev);
    napi_resolve_deferred(env, j->deferred, dev);
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

// attachLoop(file, offset, sizeLimit, partscan) -> Promise<"/dev/loopN">; rejects with .code.
static napi_value attach_loop(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  attach_job *j = calloc(1, sizeof *j);
  if (!j) return host_throw(env, "attachLoop", ENOMEM);
  double offset = 0, size_limit = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      get_path(env, argv[0], j->file, sizeof j->file) != 0 || j->file[0] != '/' ||
      napi_get_value_double(env, argv[1], &offset) != napi_ok || napi_get_value_double(env, argv[2], &size_limit) != napi_ok ||
      napi_get_value_bool(env, argv[3], &j->partscan) != napi_ok || offset < 0 || size_limit < 0) {
    free(j);
    return host_throw(env, "attachLoop", EINVAL);
  }
  j->offset = (uint64_t)offset;
  j->size_limit = (uint64_t)size_limit;
  napi_value promise = queue_promise(env, "attachLoop", j, attach_work, attach_done, &j->work, &j->deferred);
  if (!promise) free(j);
  return promise;
}

void register_loop_attach(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"attachLoop", NULL, attach_loop, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
