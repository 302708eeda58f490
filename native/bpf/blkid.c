// The image probes of boot's host checks as libblkid calls, on a thread of libuv's pool: partx
// --show and blkid -p are two processes (14-18 ms here) on the way of every boot before its host
// lock, for two library calls. The calls and flags are theirs (util-linux's partx.c and blkid.c),
// so the answers are the same; no partition table or superblock is parsed here.
#define _GNU_SOURCE
#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "addon.h"

#define MAX_PARTITIONS 256

typedef struct probe_job {
  napi_async_work work;
  napi_deferred deferred;
  char path[4096];
  bool table;
  uint64_t offset;
  uint64_t size;
  /* table: the scheme of the last partition's table (partx's SCHEME column), or "" without one */
  char scheme[32];
  int count;
  struct { int index; int64_t start, sectors; } parts[MAX_PARTITIONS];
  bool truncated;
  /* type: blkid -p's TYPE, or "" when it prints none (nothing found, ambivalent, an error) */
  char type[64];
} probe_job;

/** What partx --show lists: blkid_probe_get_partitions on the whole file (partx.c's get_partlist). */
static void probe_table(probe_job *j, blkid_probe pr) {
  blkid_partlist ls = blkid_probe_get_partitions(pr);
  int n = ls ? blkid_partlist_numof_partitions(ls) : 0;
  for (int i = 0; i < n; i++) {
    blkid_partition par = blkid_partlist_get_partition(ls, i);
    if (!par) continue;
    if (j->count == MAX_PARTITIONS) {
      j->truncated = true;
      break;
    }
    j->parts[j->count].index = blkid_partition_get_partno(par);
    j->parts[j->count].start = blkid_partition_get_start(par);
    j->parts[j->count].sectors = blkid_partition_get_size(par);
    j->count++;
    blkid_parttable tab = blkid_partition_get_table(par);
    const char *t = tab ? blkid_parttable_get_type(tab) : NULL;
    snprintf(j->scheme, sizeof j->scheme, "%s", t ? t : "");
  }
}

/** What blkid -p -o export --offset --size prints as TYPE (blkid.c's lowprobe_superblocks). */
static void probe_type(probe_job *j, blkid_probe pr, int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return;
  blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE | BLKID_SUBLKS_SECTYPE | BLKID_SUBLKS_USAGE | BLKID_SUBLKS_VERSION);
  blkid_probe_enable_partitions(pr, 1);
  // A small whole disk with a partition table is not probed for filesystems.
  if (!S_ISCHR(st.st_mode) && blkid_probe_get_size(pr) <= 1024 * 1440 && blkid_probe_is_wholedisk(pr)) {
    blkid_probe_enable_superblocks(pr, 0);
    int rc = blkid_do_fullprobe(pr);
    if (rc < 0 || (rc == 0 && blkid_probe_lookup_value(pr, "PTTYPE", NULL, NULL) == 0)) return;
  }
  blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
  blkid_probe_enable_superblocks(pr, 1);
  const char *type = NULL;
  // 1: nothing found, -2: ambivalent (blkid exits 2 or 8 and prints no TYPE).
  if (blkid_do_safeprobe(pr) == 0 && blkid_probe_lookup_value(pr, "TYPE", &type, NULL) == 0 && type) snprintf(j->type, sizeof j->type, "%s", type);
}

static void probe_work(napi_env env, void *data) {
  (void)env;
  probe_job *j = data;
  // partx opens O_RDONLY, blkid also O_NONBLOCK (a FIFO never blocks it).
  int fd = open(j->path, O_RDONLY | O_CLOEXEC | (j->table ? 0 : O_NONBLOCK));
  if (fd < 0) return;
  blkid_probe pr = blkid_new_probe();
  if (pr && blkid_probe_set_device(pr, fd, j->table ? 0 : (blkid_loff_t)j->offset, j->table ? 0 : (blkid_loff_t)j->size) == 0) {
    if (j->table) probe_table(j, pr);
    else probe_type(j, pr, fd);
  }
  if (pr) blkid_free_probe(pr);
  close(fd);
}

static void probe_done(napi_env env, napi_status status, void *data) {
  probe_job *j = data;
  napi_value result;
  if (status != napi_ok) {
    napi_reject_deferred(env, j->deferred, error_value(env, j->table ? "partitionTable" : "filesystemType", ECANCELED));
  } else if (j->table) {
    napi_value parts, scheme;
    napi_create_object(env, &result);
    napi_create_array_with_length(env, (size_t)j->count, &parts);
    for (int i = 0; i < j->count; i++) {
      napi_value p, v;
      napi_create_object(env, &p);
      napi_create_int32(env, j->parts[i].index, &v);
      napi_set_named_property(env, p, "index", v);
      napi_create_double(env, (double)j->parts[i].start, &v);
      napi_set_named_property(env, p, "start", v);
      napi_create_double(env, (double)j->parts[i].sectors, &v);
      napi_set_named_property(env, p, "sectors", v);
      napi_set_element(env, parts, (uint32_t)i, p);
    }
    napi_create_string_utf8(env, j->scheme, NAPI_AUTO_LENGTH, &scheme);
    napi_set_named_property(env, result, "scheme", scheme);
    napi_set_named_property(env, result, "partitions", parts);
    napi_get_boolean(env, j->truncated, &scheme);
    napi_set_named_property(env, result, "truncated", scheme);
    napi_resolve_deferred(env, j->deferred, result);
  } else {
    napi_create_string_utf8(env, j->type, NAPI_AUTO_LENGTH, &result);
    napi_resolve_deferred(env, j->deferred, result);
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

static napi_value start(napi_env env, napi_callback_info info, bool table) {
  size_t argc = 3;
  napi_value argv[3];
  double offset = 0, size = 0;
  const char *name = table ? "partitionTable" : "filesystemType";
  probe_job *j = calloc(1, sizeof *j);
  if (!j) return host_throw(env, name, ENOMEM);
  j->table = table;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < (table ? 1u : 3u) || get_path(env, argv[0], j->path, sizeof j->path) != 0 ||
      (!table && (napi_get_value_double(env, argv[1], &offset) != napi_ok || napi_get_value_double(env, argv[2], &size) != napi_ok || offset < 0 || size < 0))) {
    free(j);
    return host_throw(env, name, EINVAL);
  }
  j->offset = (uint64_t)offset;
  j->size = (uint64_t)size;
  napi_value promise = queue_promise(env, name, j, probe_work, probe_done, &j->work, &j->deferred);
  if (!promise) free(j);
  return promise;
}

// partitionTable(path) -> Promise<{scheme, partitions: [{index, start, sectors}], truncated}>: partx's
// NR, START, SECTORS and SCHEME (512-byte sectors); scheme "" and none where partx fails.
static napi_value partition_table(napi_env env, napi_callback_info info) {
  return start(env, info, true);
}

// filesystemType(path, offset, size) -> Promise<string>: blkid -p's TYPE of those bytes ("" for none).
static napi_value filesystem_type(napi_env env, napi_callback_info info) {
  return start(env, info, false);
}

void register_blkid_calls(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"partitionTable", NULL, partition_table, NULL, NULL, NULL, napi_default, NULL},
      {"filesystemType", NULL, filesystem_type, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
