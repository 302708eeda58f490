// What `subhost boot` needs to start a supervisor that outlives it, without Node's fork of the
// whole process on the main thread: a pipe, a FIFO, and posix_spawn in a new session.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "spawn-args.h"

#define MAX_FDS 16

// pipe() -> [readFd, writeFd], both close-on-exec.
static napi_value make_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC)) return host_throw(env, "pipe", errno);
  napi_value result, v;
  napi_create_array_with_length(env, 2, &result);
  for (uint32_t i = 0; i < 2; i++) {
    napi_create_int32(env, fds[i], &v);
    napi_set_element(env, result, i, v);
  }
  return result;
}

// mkfifo(path, mode): throws with .code (EEXIST...).
static napi_value make_fifo(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[4096];
  uint32_t mode = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      get_path(env, argv[0], path, sizeof path) != 0 || napi_get_value_uint32(env, argv[1], &mode) != napi_ok) {
    return host_throw(env, "mkfifo", EINVAL);
  }
  if (mkfifo(path, (mode_t)mode)) return host_throw(env, "mkfifo", errno);
  return NULL;
}

// spawnSession(argv, envp, fds) -> pid. argv[0] an absolute path; the child's descriptor i is
// fds[i] (-1: /dev/null), and it has no other; it leads a new session, with default signals and
// an empty mask. Not watched nor reaped here: it outlives us (init reaps it).
static napi_value spawn_session(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 3) return host_throw(env, "spawnSession", EINVAL);
  uint32_t n = 0;
  napi_get_array_length(env, args[2], &n);
  if (n > MAX_FDS) return host_throw(env, "spawnSession", EINVAL);
  char **argv = string_vector(env, args[0]);
  char **envp = string_vector(env, args[1]);
  int err = !argv || !envp || !argv[0] || argv[0][0] != '/' ? EINVAL : 0;
  // Every source is first moved above the target range, so that no dup2 clobbers another.
  int src[MAX_FDS];
  for (uint32_t i = 0; i < n; i++) src[i] = -1;
  for (uint32_t i = 0; !err && i < n; i++) {
    napi_value v;
    int32_t fd = -1;
    napi_get_element(env, args[2], i, &v);
    napi_get_value_int32(env, v, &fd);
    int from = fd >= 0 ? fd : open("/dev/null", O_RDWR | O_CLOEXEC);
    if (from < 0 || (src[i] = fcntl(from, F_DUPFD_CLOEXEC, (int)n)) < 0) err = errno;
    if (fd < 0 && from >= 0) close(from);
  }
  pid_t pid = 0;
  if (!err) err = spawn_fds(&pid, argv[0], argv, envp, src, (int)n, NULL, POSIX_SPAWN_SETSID);
  for (uint32_t i = 0; i < n; i++)
    if (src[i] >= 0) close(src[i]);
  char what[300];
  snprintf(what, sizeof what, "spawn %s", argv && argv[0] ? argv[0] : "");
  free(argv);
  free(envp);
  if (err) return host_throw(env, what, err);
  napi_value result;
  napi_create_int32(env, pid, &result);
  return result;
}

void register_session_calls(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"pipe", NULL, make_pipe, NULL, NULL, NULL, napi_default, NULL},
      {"mkfifo", NULL, make_fifo, NULL, NULL, NULL, napi_default, NULL},
      {"spawnSession", NULL, spawn_session, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
