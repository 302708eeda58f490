// The daemon's sample reads some 4,500 held cgroup files every interval: one call per file here
// is the kernel's pread and no more (fs.readSync's layers cost about as much again as the read).
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "addon.h"

// Kernfs makes a file's whole text on a read from 0; the largest cgroup file (v2 memory.stat on
// a host with many NUMA nodes is the longest read here) fits many times over.
static char text_buffer[256 * 1024];

// preadText(fd: number): string | null. The file's text from offset 0, read as latin1 (cgroup
// files are ASCII); null when the read fails (ENODEV: its cgroup was removed), for the caller to
// reopen. Never throws on a failed read: a removed cgroup is routine for the daemon.
static napi_value pread_text(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "preadText(fd: number)");
    return NULL;
  }
  ssize_t n;
  do n = pread(fd, text_buffer, sizeof text_buffer, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    napi_get_null(env, &result);
    return result;
  }
  napi_create_string_latin1(env, text_buffer, (size_t)n, &result);
  return result;
}

void register_pread_text(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"preadText", NULL, pread_text, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
