// spawn-args.c, for spawn.c and session.c.
#pragma once
#include <node_api.h>
#include <stddef.h>
#include <sys/types.h>
#include "addon.h"

/** A JS array of strings as a NULL-terminated vector in one malloc'ed block. */
char **string_vector(napi_env env, napi_value array);
/**
 * posix_spawn of file: the child's descriptor i is src[i] (i < n) and it has no other, default
 * signals and an empty mask, cwd when not empty; flags may add POSIX_SPAWN_SETPGROUP (a group of
 * its own) or POSIX_SPAWN_SETSID. 0, or an errno.
 */
int spawn_fds(pid_t *pid, const char *file, char *const argv[], char *const envp[], const int *src, int n, const char *cwd, short flags);
/** file, or its path found in envp's PATH (in buf), or NULL. */
const char *resolve(const char *file, char *const envp[], char *buf, size_t size);
