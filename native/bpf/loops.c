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

// The attached loop devices, as listLoops() describes them: every one (ids NULL), or only those
// whose backing file is one of ids ("major:minor:inode", n of them). The status (an open and an
// ioctl, ~9 µs) is read first and sysfs (~20 µs a file) only for a device that is wanted.
static napi_value loops_backed_by(napi_env env, const char (*ids)[72], uint32_t n) {
  DIR *dir = opendir("/sys/block");
  napi_value result;
  napi_create_array(env, &result);
  if (dir == NULL) return result;
  uint32_t count = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (!is_loop_name(e->d_name)) continue;
    char dev[272];
    snprintf(dev, sizeof dev, "/dev/%s", e->d_name);
    struct loop_info64 li;
    if (loop_status_of(dev, &li) != 0) continue;
    if (ids) {
      char id[72];
      snprintf(id, sizeof id, "%u:%u:%llu", major(li.lo_device), minor(li.lo_device), (unsigned long long)li.lo_inode);
      bool wanted = false;
      for (uint32_t i = 0; i < n && !wanted; i++) wanted = strcmp(ids[i], id) == 0;
      if (!wanted) continue;
    }
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
  return loops_backed_by(env, NULL, 0);
}

// listLoopsBacking(files: string[]): listLoops() of the devices whose backing file is one of files,
// each "major:minor:inode" as LOOP_GET_STATUS64 gives them: boot asks whether its own images are
// attached, and with 200 subhosts running that is 400 devices to look at.
static napi_value list_loops_backing(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_array = false;
  uint32_t n = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &n) != napi_ok || n > 64) {
    napi_throw_type_error(env, NULL, "listLoopsBacking(files: string[] of major:minor:inode, at most 64)");
    return NULL;
  }
  char ids[64][72];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    size_t len;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || napi_get_value_string_utf8(env, v, ids[i], sizeof ids[i], &len) != napi_ok || len >= sizeof ids[i] - 1) {
      napi_throw_type_error(env, NULL, "listLoopsBacking(files: string[] of major:minor:inode)");
      return NULL;
    }
  }
  return loops_backed_by(env, (const char (*)[72])ids, n);
}

void register_loop_list(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"listLoops", NULL, list_loops, NULL, NULL, NULL, napi_default, NULL},
      {"listLoopsBacking", NULL, list_loops_backing, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
