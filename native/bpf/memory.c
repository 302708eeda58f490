// The daemon's resident memory: the C heap's free pages, and the start-up's pages of its
// program files, given back once they are no longer in use.
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "addon.h"

// mallocTrim(): gives the C heap's free pages back to the kernel (glibc keeps them otherwise):
// the daemon calls it after each sample, whose SQLite and HTTP buffers are freed by then.
static napi_value malloc_trim_fn(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  napi_get_boolean(env, malloc_trim(0) != 0, &result);
  return result;
}

struct vma {
  unsigned long start, end;
  bool candidate;
};

// Unmap one VMA's pages when it is a private mapping of a file that was never written (no
// Anonymous page: no copy-on-write copy, so dropping loses nothing). Returns the bytes advised.
static unsigned long drop(const struct vma *v, unsigned long anon_kb) {
  if (!v->candidate || anon_kb != 0 || v->end <= v->start) return 0;
  return madvise((void *)v->start, v->end - v->start, MADV_DONTNEED) == 0 ? v->end - v->start : 0;
}

// releaseFilePages(): drops from this process's page tables the pages of its read-only private
// file mappings (node's own binary above all: the daemon's file RSS goes 41 -> 8 MiB here). The
// page cache keeps them: a later use faults them back from it without reading the disk. Writable
// mappings and any with a copy-on-write page are left alone. Returns the bytes of the mappings advised.
static napi_value release_file_pages(napi_env env, napi_callback_info info) {
  (void)info;
  FILE *f = fopen("/proc/self/smaps", "re");
  if (f == NULL) return host_throw(env, "/proc/self/smaps", errno);
  char line[4352];
  struct vma v = {0, 0, false};
  unsigned long advised = 0, anon_kb = 0;
  bool have = false;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long start, end, kb;
    char perms[8];
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &path_at) == 3) {
      if (have) advised += drop(&v, anon_kb);
      // Read-only, private, and a file by path ("[heap]", "[vdso]" and anonymous ones are not).
      v = (struct vma){start, end, perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && path_at > 0 && line[path_at] == '/'};
      anon_kb = 0;
      have = true;
    } else if (sscanf(line, "Anonymous: %lu kB", &kb) == 1) {
      anon_kb = kb;
    }
  }
  if (have) advised += drop(&v, anon_kb);
  fclose(f);
  napi_value result;
  napi_create_double(env, (double)advised, &result);
  return result;
}

void register_memory_calls(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mallocTrim", NULL, malloc_trim_fn, NULL, NULL, NULL, napi_default, NULL},
      {"releaseFilePages", NULL, release_file_pages, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
