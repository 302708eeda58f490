// spawn-args.c, for spawn.c.
#pragma once
#include <node_api.h>
#include <stddef.h>
#include "addon.h"

/** A JS array of strings as a NULL-terminated vector in one malloc'ed block. */
char **string_vector(napi_env env, napi_value array);
/** file, or its path found in envp's PATH (in buf), or NULL. */
const char *resolve(const char *file, char *const envp[], char *buf, size_t size);
