// What spawn.c and session.c need from JS values and from the child's environment, and their posix_spawn.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "spawn-args.h"

// A JS array of strings as a NULL-terminated vector in one allocation (strings after the pointers).
char **string_vector(napi_env env, napi_value array) {
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
const char *resolve(const char *file, char *const envp[], char *buf, size_t size) {
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

int spawn_fds(pid_t *pid, const char *file, char *const argv[], char *const envp[], const int *src, int n, const char *cwd, short flags) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  // Node ignores SIGPIPE and the pool's threads block every signal: the child starts with the defaults.
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  if (flags & POSIX_SPAWN_SETPGROUP) posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, (short)(flags | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK));
  for (int i = 0; i < n; i++) posix_spawn_file_actions_adddup2(&fa, src[i], i);
  // What the process inherited without O_CLOEXEC stays with it too: the child gets src's only.
  posix_spawn_file_actions_addclosefrom_np(&fa, n);
  if (cwd && cwd[0]) posix_spawn_file_actions_addchdir_np(&fa, cwd);
  int err = posix_spawn(pid, file, &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return err;
}
