// The bundle and its code cache read for bin/load-bundle.cjs at every command's start, without the
// page faults of a fresh heap: into anonymous memory faulted in by one mmap (MAP_POPULATE), handed
// to V8 as it is (an external one-byte string, an external Buffer), never copied again.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "addon.h"

typedef napi_status create_external_latin1(napi_env env, char *str, size_t length, napi_finalize finalize, void *hint, napi_value *result, bool *copied);

typedef struct mapped {
  void *base;
  size_t size;
} mapped;

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapped *m = hint;
  munmap(m->base, m->size);
  free(m);
}

// The whole file in populated anonymous memory, and its fstat; its length, or -1 with errno
// (EAGAIN: it changed while it was read, as a rebuild rewrites it: the caller reads it its own way).
static ssize_t read_populated(const char *path, mapped **out, struct stat *seen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st)) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  // An empty file cannot be mapped: the caller reads it its own way.
  if (st.st_size <= 0) {
    close(fd);
    errno = EINVAL;
    return -1;
  }
  size_t size = (size_t)st.st_size;
  void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (base == MAP_FAILED) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  size_t done = 0;
  int failed = 0;
  while (done < size) {
    ssize_t n = read(fd, (char *)base + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) failed = errno;
    if (n <= 0) break;
    done += (size_t)n;
  }
  char extra;
  struct stat after;
  bool whole = done == size && read(fd, &extra, 1) == 0 && fstat(fd, &after) == 0 && after.st_size == st.st_size &&
               after.st_mtim.tv_sec == st.st_mtim.tv_sec && after.st_mtim.tv_nsec == st.st_mtim.tv_nsec;
  close(fd);
  if (!whole) {
    munmap(base, size);
    // A read that failed says why; one that came short or long, or a file changed meanwhile: EAGAIN.
    errno = failed ? failed : EAGAIN;
    return -1;
  }
  mapped *m = malloc(sizeof *m);
  if (!m) {
    munmap(base, size);
    errno = ENOMEM;
    return -1;
  }
  m->base = base;
  m->size = size;
  *out = m;
  *seen = st;
  return (ssize_t)size;
}

// The file named by the call's one argument, read whole (read_populated); NULL with an exception thrown.
static mapped *read_argument(napi_env env, napi_callback_info info, const char *usage, struct stat *st, ssize_t *n) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || get_path(env, argv[0], path, sizeof path)) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  mapped *m;
  if ((*n = read_populated(path, &m, st)) < 0) {
    host_throw(env, path, errno);
    return NULL;
  }
  return m;
}

// readAscii(path): [text, identity] | null. The file as a string if every byte is ASCII (the bundle:
// esbuild escapes the rest), else null for the caller to decode it as UTF-8; identity is
// "dev:ino:size:mtime-ns" of what was read, as fs.fstatSync(fd, { bigint: true }) gives them. Throws
// when it cannot be read whole.
static napi_value read_ascii(napi_env env, napi_callback_info info) {
  napi_value result;
  struct stat st;
  ssize_t n;
  mapped *m = read_argument(env, info, "readAscii(path: string)", &st, &n);
  if (!m) return NULL;
  const unsigned char *p = m->base;
  for (ssize_t i = 0; i < n; i++) {
    if (p[i] & 0x80) {
      unmap(env, NULL, m);
      napi_get_null(env, &result);
      return result;
    }
  }
  bool copied = true;
  napi_value text, identity;
  // Node 20.4 and later have it (declared only under NAPI_EXPERIMENTAL in 20); looked up at run time,
  // so that an older Node loads the addon and gets a copy, not a failed symbol lookup at the first call.
  create_external_latin1 *external = (create_external_latin1 *)dlsym(RTLD_DEFAULT, "node_api_create_external_string_latin1");
  napi_status status = external ? external(env, m->base, (size_t)n, unmap, m, &text, &copied) : napi_create_string_latin1(env, m->base, (size_t)n, &text);
  if (status != napi_ok) {
    unmap(env, NULL, m);
    return host_throw(env, "readAscii", ENOMEM);
  }
  // Copied (by Node, where V8 cannot take an external string, or above): ours is not needed.
  if (copied) unmap(env, NULL, m);
  char id[128];
  snprintf(id, sizeof id, "%llu:%llu:%lld:%lld%09ld", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, (long long)st.st_size,
           (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
  napi_create_string_latin1(env, id, NAPI_AUTO_LENGTH, &identity);
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, text);
  napi_set_element(env, result, 1, identity);
  return result;
}

// readBytes(path): Buffer. The file's bytes in an external Buffer. Throws when it cannot be read.
static napi_value read_bytes(napi_env env, napi_callback_info info) {
  napi_value result;
  struct stat st;
  ssize_t n;
  mapped *m = read_argument(env, info, "readBytes(path: string)", &st, &n);
  if (!m) return NULL;
  if (napi_create_external_buffer(env, (size_t)n, m->base, unmap, m, &result) != napi_ok) {
    unmap(env, NULL, m);
    return host_throw(env, "readBytes", ENOMEM);
  }
  return result;
}

void register_read_file(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"readAscii", NULL, read_ascii, NULL, NULL, NULL, napi_default, NULL},
      {"readBytes", NULL, read_bytes, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
