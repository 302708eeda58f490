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
// (no loop/backing_file) or the read fails.
static bool backing_file(const char *name, char *out, size_t size) {
  char path[320];
  snprintf(path, sizeof path, "/sys/block/%s/loop/backing_file", name);
  ssize_t n = read_line_file(path, out, size);
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

// The backing file's name of the device loop_object last described.
static char backing[PATH_MAX + 32];

// The object listLoops() gives for one device, its backing file read from sysfs (false: detached meanwhile).
static bool loop_object(napi_env env, const char *name, const struct loop_info64 *li, napi_value *out) {
  if (!backing_file(name, backing, sizeof backing)) return false;
  char dev[272];
  snprintf(dev, sizeof dev, "/dev/%s", name);
  napi_create_object(env, out);
  set_text(env, *out, "dev", dev);
  set_text(env, *out, "backingFile", backing);
  put_loop_status(env, *out, li);
  return true;
}

// Which devices a walk over the loops describes: every one (no ids, no prefixes), or those whose
// backing file is one of ids ("major:minor:inode") or whose sysfs path starts with one of prefixes.
struct wanted {
  const char (*ids)[72];
  uint32_t n_ids;
  char **prefixes;
  uint32_t n_prefixes;
};

static bool is_wanted(const struct wanted *w, const char *name, const struct loop_info64 *li) {
  if (w->n_ids == 0 && w->n_prefixes == 0) return true;
  char id[72];
  snprintf(id, sizeof id, "%u:%u:%llu", major(li->lo_device), minor(li->lo_device), (unsigned long long)li->lo_inode);
  for (uint32_t i = 0; i < w->n_ids; i++)
    if (strcmp(w->ids[i], id) == 0) return true;
  if (w->n_prefixes == 0 || !backing_file(name, backing, sizeof backing)) return false;
  for (uint32_t i = 0; i < w->n_prefixes; i++)
    if (strncmp(backing, w->prefixes[i], strlen(w->prefixes[i])) == 0) return true;
  return false;
}

// The attached loop devices, as listLoops() describes them, that w wants. The status (an open and
// an ioctl, ~9 µs) is read first, sysfs (~20 µs a file) only where a prefix asks for the path or
// the device is wanted.
static napi_value loops_wanted(napi_env env, const struct wanted *w) {
  DIR *dir = opendir("/sys/block");
  napi_value result;
  napi_create_array(env, &result);
  if (dir == NULL) return result;
  uint32_t count = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (!is_loop_name(e->d_name)) continue;
    char dev[272];
    // The kernel gives a bound device its loop/ attributes and takes them at the detach: an unbound
    // one (the kernel keeps every /dev/loopN once made) costs a stat here, not an open and an ioctl.
    snprintf(dev, sizeof dev, "/sys/block/%s/loop", e->d_name);
    struct stat bound;
    if (stat(dev, &bound) != 0) continue;
    snprintf(dev, sizeof dev, "/dev/%s", e->d_name);
    struct loop_info64 li;
    if (loop_status_of(dev, &li) != 0 || !is_wanted(w, e->d_name, &li)) continue;
    napi_value l;
    if (!loop_object(env, e->d_name, &li, &l)) continue;
    struct stat st;
    if (stat(backing, &st) == 0 && S_ISBLK(st.st_mode)) {
      set_number(env, l, "blockMajor", major(st.st_rdev));
      set_number(env, l, "blockMinor", minor(st.st_rdev));
    }
    napi_set_element(env, result, count++, l);
  }
  closedir(dir);
  return result;
}

// listLoops(): [{ dev, backingFile, backMajor, backMinor, backIno (string), offset, sizeLimit,
// blockMajor?, blockMinor? }] for each attached loop device: sysfs for the name of the backing
// file, LOOP_GET_STATUS64 for its st_dev and st_ino (what `losetup --list` shows), and where the
// backing file is a block device, its st_rdev (blockMajor, blockMinor). A device detached
// between the reads is left out.
static napi_value list_loops(napi_env env, napi_callback_info info) {
  (void)info;
  struct wanted all = {0};
  return loops_wanted(env, &all);
}

#define MAX_WANTED 64

// A string[] argument of at most MAX_WANTED strings shorter than size each, into out; false (a
// TypeError thrown) otherwise. An absent (undefined) one is empty.
static bool string_list(napi_env env, napi_value v, char *out, size_t size, uint32_t *n) {
  napi_valuetype type;
  bool is_array = false;
  *n = 0;
  if (napi_typeof(env, v, &type) == napi_ok && type == napi_undefined) return true;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, n) != napi_ok || *n > MAX_WANTED) return false;
  for (uint32_t i = 0; i < *n; i++) {
    napi_value s;
    size_t len;
    if (napi_get_element(env, v, i, &s) != napi_ok || napi_get_value_string_utf8(env, s, out + i * size, size, &len) != napi_ok || len >= size - 1 || len == 0) return false;
  }
  return true;
}

// listLoopsBacking(files: string[], prefixes?: string[]): listLoops() of the devices whose backing
// file is one of files, each "major:minor:inode" as LOOP_GET_STATUS64 gives them, or whose path
// (as sysfs gives it) starts with one of prefixes. Boot asks whether its own images are attached,
// stop which loops are NAME's (its images', or a file's under its folder); with 200 subhosts
// running that is 400 devices to look at, and only the few wanted become objects.
static napi_value list_loops_backing(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  static char ids[MAX_WANTED][72];
  static char prefix_text[MAX_WANTED][PATH_MAX];
  char *prefixes[MAX_WANTED];
  struct wanted w = {.ids = (const char (*)[72])ids, .prefixes = prefixes};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !string_list(env, argv[0], ids[0], sizeof ids[0], &w.n_ids) ||
      (argc > 1 && !string_list(env, argv[1], prefix_text[0], sizeof prefix_text[0], &w.n_prefixes))) {
    napi_throw_type_error(env, NULL, "listLoopsBacking(files: string[] of major:minor:inode, prefixes?: string[] of paths; at most 64 each)");
    return NULL;
  }
  for (uint32_t i = 0; i < w.n_prefixes; i++) prefixes[i] = prefix_text[i];
  // Nothing asked for is nothing wanted (not every device).
  if (w.n_ids == 0 && w.n_prefixes == 0) {
    napi_value empty;
    napi_create_array(env, &empty);
    return empty;
  }
  return loops_wanted(env, &w);
}

void register_loop_list(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"listLoops", NULL, list_loops, NULL, NULL, NULL, napi_default, NULL},
      {"listLoopsBacking", NULL, list_loops_backing, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
