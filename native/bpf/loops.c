// Every attached loop device in one call: boot and stop each look at all of them (is this image
// attached already? which loops are NAME's?), and at 200 running subhosts that is 400 loops.
// Per device, from JS, that was a sysfs stat and read, an ioctl and a stat of the backing file
// (33 ms warm here); in C it is the same syscalls without the layers around each.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/loop.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "addon.h"

static bool is_loop_name(const char *n) {
  if (strncmp(n, "loop", 4) != 0 || n[4] == '\0') return false;
  for (const char *c = n + 4; *c; c++)
    if (*c < '0' || *c > '9') return false;
  return true;
}

// The backing file's path as sysfs prints it, without " (deleted)"; false when the device is free
// (no loop/backing_file) or the read fails. blocks: the devices' sysfs folder (see collect).
static bool backing_file(int blocks, const char *name, char *out, size_t size) {
  char path[320];
  snprintf(path, sizeof path, "%s/loop/backing_file", name);
  ssize_t n = read_line_at(blocks, path, out, size);
  if (n <= 0) return false;
  const char *deleted = " (deleted)";
  size_t dl = strlen(deleted);
  if ((size_t)n > dl && strcmp(out + n - dl, deleted) == 0) out[n - dl] = '\0';
  return true;
}

static void set_number(napi_env env, napi_value obj, const char *key, double n) {
  napi_value v;
  napi_create_double(env, n, &v);
  napi_set_named_property(env, obj, key, v);
}

static void set_text(napi_env env, napi_value obj, const char *key, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, key, v);
}

#define MAX_WANTED 64

// One device a walk found: its name, status, backing file (from sysfs) and that file's st_rdev
// where it is a block device.
typedef struct found {
  char name[32];
  struct loop_info64 li;
  char backing[PATH_MAX + 32];
  bool block;
  unsigned block_major, block_minor;
} found;

// A walk over the loops: what it wants (every device: no ids and no prefixes; else those whose
// backing file is one of ids, "major:minor:inode", or whose sysfs path starts with one of
// prefixes) and what it found. Its own buffers: walks may run on several threads at once.
typedef struct walk {
  char (*ids)[72];
  uint32_t n_ids;
  char (*prefixes)[PATH_MAX];
  uint32_t n_prefixes;
  found *items;
  size_t count, cap;
} walk;

static bool is_wanted(const walk *w, int blocks, found *f) {
  if (w->n_ids == 0 && w->n_prefixes == 0) return true;
  char id[72];
  snprintf(id, sizeof id, "%u:%u:%llu", major(f->li.lo_device), minor(f->li.lo_device), (unsigned long long)f->li.lo_inode);
  for (uint32_t i = 0; i < w->n_ids; i++)
    if (strcmp(w->ids[i], id) == 0) return true;
  if (w->n_prefixes == 0 || !backing_file(blocks, f->name, f->backing, sizeof f->backing)) return false;
  for (uint32_t i = 0; i < w->n_prefixes; i++)
    if (strncmp(f->backing, w->prefixes[i], strlen(w->prefixes[i])) == 0) return true;
  return false;
}

// The attached loop devices that w wants, into w->items (no JS: it may run off the main thread).
// The status (an open and an ioctl, ~9 µs) is read first, sysfs (~20 µs a file) only where a
// prefix asks for the path or the device is wanted. 0, or ENOMEM.
static int collect(walk *w) {
  // Listed, and every name looked up, from /sys/devices/virtual/block, where /sys/block's entries
  // (symbolic links) lead: following /sys/block/loopN made each stat three times as dear (2.2
  // against 0.75 ms for 400 devices here).
  DIR *dir = opendir("/sys/devices/virtual/block");
  if (dir == NULL) dir = opendir("/sys/block");
  if (dir == NULL) return 0;
  int blocks = dirfd(dir), err = 0;
  found f;
  struct dirent *e;
  while (!err && (e = readdir(dir)) != NULL) {
    if (!is_loop_name(e->d_name) || strlen(e->d_name) >= sizeof f.name) continue;
    char path[320];
    // The kernel gives a bound device its loop/ attributes and takes them at the detach: an unbound
    // one (the kernel keeps every /dev/loopN once made) costs a stat here, not an open and an ioctl.
    snprintf(path, sizeof path, "%s/loop", e->d_name);
    struct stat st;
    if (fstatat(blocks, path, &st, 0) != 0) continue;
    snprintf(path, sizeof path, "/dev/%s", e->d_name);
    memset(&f, 0, sizeof f);
    snprintf(f.name, sizeof f.name, "%s", e->d_name);
    if (loop_status_of(path, &f.li) != 0 || !is_wanted(w, blocks, &f)) continue;
    // Detached between the reads: left out.
    if (!f.backing[0] && !backing_file(blocks, f.name, f.backing, sizeof f.backing)) continue;
    if (stat(f.backing, &st) == 0 && S_ISBLK(st.st_mode)) f.block = true, f.block_major = major(st.st_rdev), f.block_minor = minor(st.st_rdev);
    if (w->count == w->cap) {
      size_t cap = w->cap ? w->cap * 2 : 4;
      found *items = realloc(w->items, cap * sizeof *items);
      if (!items) {
        err = ENOMEM;
        break;
      }
      w->items = items, w->cap = cap;
    }
    w->items[w->count++] = f;
  }
  closedir(dir);
  return err;
}

// listLoops()'s objects of what a walk found.
static napi_value found_objects(napi_env env, const walk *w) {
  napi_value result;
  napi_create_array_with_length(env, w->count, &result);
  for (size_t i = 0; i < w->count; i++) {
    const found *f = &w->items[i];
    char dev[64];
    snprintf(dev, sizeof dev, "/dev/%s", f->name);
    napi_value l;
    napi_create_object(env, &l);
    set_text(env, l, "dev", dev);
    set_text(env, l, "backingFile", f->backing);
    put_loop_status(env, l, &f->li);
    if (f->block) {
      set_number(env, l, "blockMajor", f->block_major);
      set_number(env, l, "blockMinor", f->block_minor);
    }
    napi_set_element(env, result, (uint32_t)i, l);
  }
  return result;
}

static void free_walk(walk *w) {
  free(w->ids);
  free(w->prefixes);
  free(w->items);
  free(w);
}

// listLoops(): [{ dev, backingFile, backMajor, backMinor, backIno (string), offset, sizeLimit,
// blockMajor?, blockMinor? }] for each attached loop device: sysfs for the name of the backing
// file, LOOP_GET_STATUS64 for its st_dev and st_ino (what `losetup --list` shows), and where the
// backing file is a block device, its st_rdev (blockMajor, blockMinor). A device detached
// between the reads is left out.
static napi_value list_loops(napi_env env, napi_callback_info info) {
  (void)info;
  walk all = {0};
  if (collect(&all) != 0) {
    free(all.items);
    return host_throw(env, "listLoops", ENOMEM);
  }
  napi_value result = found_objects(env, &all);
  free(all.items);
  return result;
}

// A string[] argument of at most MAX_WANTED non-empty strings shorter than size each, into a new
// buffer *out of n strings (NULL for none); false otherwise. An absent (undefined) one is empty.
static bool string_list(napi_env env, napi_value v, size_t size, char **out, uint32_t *n) {
  napi_valuetype type;
  bool is_array = false;
  *n = 0;
  *out = NULL;
  if (napi_typeof(env, v, &type) == napi_ok && type == napi_undefined) return true;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, n) != napi_ok || *n > MAX_WANTED) return false;
  if (*n == 0) return true;
  if (!(*out = calloc(*n, size))) return false;
  for (uint32_t i = 0; i < *n; i++) {
    napi_value s;
    size_t len;
    if (napi_get_element(env, v, i, &s) != napi_ok || napi_get_value_string_utf8(env, s, *out + i * size, size, &len) != napi_ok || len >= size - 1 || len == 0) return false;
  }
  return true;
}

// The walk listLoopsBacking's arguments ask for; NULL (a TypeError thrown) when they are not.
static walk *wanted_walk(napi_env env, napi_callback_info info, const char *usage) {
  size_t argc = 2;
  napi_value argv[2];
  walk *w = calloc(1, sizeof *w);
  char *ids = NULL, *prefixes = NULL;
  bool ok = w && napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1 && string_list(env, argv[0], 72, &ids, &w->n_ids);
  if (w) w->ids = (char (*)[72])ids;
  ok = ok && (argc < 2 || string_list(env, argv[1], PATH_MAX, &prefixes, &w->n_prefixes));
  if (w) w->prefixes = (char (*)[PATH_MAX])prefixes;
  if (!ok) {
    if (w) free_walk(w);
    else free(ids);
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  return w;
}

#define BACKING_USAGE "(files: string[] of major:minor:inode, prefixes?: string[] of paths; at most 64 each)"

typedef struct walk_job {
  napi_async_work work;
  napi_deferred deferred;
  walk *w;
  int err;
} walk_job;

static void walk_work(napi_env env, void *data) {
  (void)env;
  walk_job *j = data;
  if (j->w->n_ids || j->w->n_prefixes) j->err = collect(j->w);
}

static void walk_done(napi_env env, napi_status status, void *data) {
  walk_job *j = data;
  if (status != napi_ok && !j->err) j->err = ECANCELED;
  if (j->err) napi_reject_deferred(env, j->deferred, error_value(env, "listLoopsBacking", j->err));
  else napi_resolve_deferred(env, j->deferred, found_objects(env, j->w));
  napi_delete_async_work(env, j->work);
  free_walk(j->w);
  free(j);
}

// listLoopsBacking(files: string[], prefixes?: string[]) -> Promise: listLoops() of the devices
// whose backing file is one of files, each "major:minor:inode" as LOOP_GET_STATUS64 gives them, or
// whose path (as sysfs gives it) starts with one of prefixes; nothing asked for, nothing wanted.
// Boot asks whether its own images are attached, stop which loops are NAME's (its images', or a
// file's under its folder): with 200 subhosts running, 400 devices (10-15 ms) of which one or two
// become objects, walked on a thread of libuv's pool while the main thread goes on.
static napi_value list_loops_backing(napi_env env, napi_callback_info info) {
  walk *w = wanted_walk(env, info, "listLoopsBacking" BACKING_USAGE);
  if (!w) return NULL;
  walk_job *j = calloc(1, sizeof *j);
  if (!j) {
    free_walk(w);
    return host_throw(env, "listLoopsBacking", ENOMEM);
  }
  j->w = w;
  napi_value promise = queue_promise(env, "listLoopsBacking", j, walk_work, walk_done, &j->work, &j->deferred);
  if (!promise) {
    free_walk(w);
    free(j);
  }
  return promise;
}

void register_loop_list(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"listLoops", NULL, list_loops, NULL, NULL, NULL, napi_default, NULL},
      {"listLoopsBacking", NULL, list_loops_backing, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
