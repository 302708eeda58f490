// posix_spawn for run() (src/host/exec.ts): glibc's vfork-style clone costs the same at any RSS,
// where Node's fork() copies the page tables of the whole process on the main thread.
// The child is watched with a pidfd on the event loop and reaped by waitid(P_PIDFD): libuv reaps
// only the PIDs of its own uv_process_t handles (waitpid(pid), never -1), so ours stay ours.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

typedef struct watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  napi_async_cleanup_hook_handle cleanup;
  int pidfd;
  int tearing_down;
} watch;

static napi_value spawn_throw(napi_env env, const char *what, int err) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value text, code, error;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_string_utf8(env, strerrorname_np(err) ? strerrorname_np(err) : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, text, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static int pidfd_open(pid_t pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

// A JS array of strings as a NULL-terminated vector in one allocation (strings after the pointers).
static char **string_vector(napi_env env, napi_value array) {
  uint32_t n = 0;
  if (napi_get_array_length(env, array, &n) != napi_ok) return NULL;
  size_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value s;
    size_t len = 0;
    napi_get_element(env, array, i, &s);
    if (napi_get_value_string_utf8(env, s, NULL, 0, &len) != napi_ok) return NULL;
    total += len + 1;
  }
  char **v = malloc((n + 1) * sizeof(char *) + total);
  if (!v) return NULL;
  char *p = (char *)(v + n + 1);
  for (uint32_t i = 0; i < n; i++) {
    napi_value s;
    size_t len = 0;
    napi_get_element(env, array, i, &s);
    napi_get_value_string_utf8(env, s, p, total, &len);
    v[i] = p;
    p += len + 1;
    total -= len + 1;
  }
  v[n] = NULL;
  return v;
}

// execvp's search, but in the child's PATH (as libuv does), with access() instead of a failed clone per entry.
static const char *resolve(const char *file, char *const envp[], char *buf, size_t size) {
  if (strchr(file, '/')) return file;
  const char *path = "/usr/local/bin:/usr/bin:/bin";
  for (char *const *e = envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  for (const char *dir = path;; dir = strchr(dir, ':') + 1) {
    size_t len = strchrnul(dir, ':') - dir;
    struct stat st;
    if (snprintf(buf, size, "%.*s%s%s", (int)len, dir, len ? "/" : "", file) < (int)size && stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) return buf;
    if (!strchr(dir, ':')) return NULL;
  }
}

static void watch_closed(uv_handle_t *handle) {
  watch *w = handle->data;
  // Teardown waits for this: the handle is off the loop only now.
  if (w->tearing_down) napi_remove_async_cleanup_hook(w->cleanup);
  close(w->pidfd);
  free(w);
}

static void watch_release(watch *w) {
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

// The environment ends (a worker exits) with the child still running: close the handle so the loop can close.
static void watch_cleanup(napi_async_cleanup_hook_handle handle, void *data) {
  (void)handle;
  watch_release(data);
}

static int dup_above(int fd, int min) {
  return fcntl(fd, F_DUPFD_CLOEXEC, min);
}

// spawn(argv, envp, cwd | null, extraFds, onExit(code, signo)) -> { pid, stdin, stdout, stderr }
static napi_value spawn_child(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc < 5) return spawn_throw(env, "spawn", EINVAL);
  char **argv = string_vector(env, args[0]), **envp = string_vector(env, args[1]);
  char cwd[4096] = "";
  napi_valuetype cwd_type;
  napi_typeof(env, args[2], &cwd_type);
  if (cwd_type == napi_string) napi_get_value_string_utf8(env, args[2], cwd, sizeof cwd, NULL);
  uint32_t nextra = 0;
  napi_get_array_length(env, args[3], &nextra);
  int ntargets = 3 + (int)nextra;
  // Every descriptor the child gets is first moved above its target range, so no dup2 clobbers another.
  int *src = malloc(ntargets * sizeof(int));
  int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  int err = 0;
  for (int i = 0; i < ntargets; i++) src[i] = -1;
  if (!argv || !envp || !src || !argv[0]) err = ENOMEM;
  for (int i = 0; !err && i < 3; i++) {
    if (pipe2(pipes[i], O_CLOEXEC)) err = errno;
    else {
      int child_end = i == 0 ? 0 : 1;
      if ((src[i] = dup_above(pipes[i][child_end], ntargets)) < 0) err = errno;
      close(pipes[i][child_end]);
      pipes[i][child_end] = -1;
    }
  }
  for (uint32_t i = 0; !err && i < nextra; i++) {
    napi_value v;
    int32_t fd = -1;
    napi_get_element(env, args[3], i, &v);
    napi_get_value_int32(env, v, &fd);
    if ((src[3 + i] = dup_above(fd, ntargets)) < 0) err = errno;
  }
  pid_t pid = -1;
  char found[4096];
  const char *file = err ? NULL : resolve(argv[0], envp, found, sizeof found);
  if (!err && !file) err = ENOENT;
  if (!err) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    // Node ignores SIGPIPE and the loop may block signals: the child starts with the defaults.
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    for (int i = 0; i < ntargets; i++) posix_spawn_file_actions_adddup2(&fa, src[i], i);
    // What the process inherited without O_CLOEXEC stays with it too: the child gets 0-2 and extraFds only.
    posix_spawn_file_actions_addclosefrom_np(&fa, ntargets);
    if (cwd[0]) posix_spawn_file_actions_addchdir_np(&fa, cwd);
    err = posix_spawn(&pid, file, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  for (int i = 0; src && i < ntargets; i++)
    if (src[i] >= 0) close(src[i]);
  free(src);
  int pidfd = -1;
  if (!err && (pidfd = pidfd_open(pid)) < 0) {
    // Cannot watch it (EMFILE): end it now rather than leave a child nobody reaps.
    err = errno;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  watch *w = NULL;
  uv_loop_t *loop = NULL;
  if (!err && (!(w = calloc(1, sizeof *w)) || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &w->poll, pidfd))) {
    err = ENOMEM;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pidfd);
    free(w);
  }
  char what[300];
  snprintf(what, sizeof what, "spawn %s", argv && argv[0] ? argv[0] : "");
  free(argv);
  free(envp);
  if (err) {
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 2; j++)
        if (pipes[i][j] >= 0) close(pipes[i][j]);
    return spawn_throw(env, what, err);
  }
  w->env = env;
  w->pidfd = pidfd;
  w->poll.data = w;
  napi_value resource_name;
  napi_create_string_utf8(env, "subhost.spawn", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &w->context);
  napi_create_reference(env, args[4], 1, &w->callback);
  napi_add_async_cleanup_hook(env, watch_cleanup, w, &w->cleanup);
  uv_poll_start(&w->poll, UV_READABLE, watch_ready);
  napi_value result, v;
  napi_create_object(env, &result);
  napi_create_int32(env, pid, &v);
  napi_set_named_property(env, result, "pid", v);
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

void register_spawn_calls(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"spawn", NULL, spawn_child, NULL, NULL, NULL, napi_default, NULL},
      {"spawnSupported", NULL, spawn_supported, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
