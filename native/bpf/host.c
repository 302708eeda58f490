// Host calls without a module of their own: flock(2) on a descriptor we hold and LOOP_GET_STATUS64
// on one loop device (in place of flock(1) and losetup --list), execv(2) for the daemon, _exit(2)
// for a command that is done, a record put in place by renameat2(RENAME_EXCHANGE), the
// descriptors a command inherited closed at its start, and the bench's CPU of waited-for children.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "addon.h"

napi_value error_value(napi_env env, const char *what, int err) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value text, code, error;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_string_utf8(env, strerrorname_np(err) ? strerrorname_np(err) : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, text, &error);
  return error;
}

napi_value host_throw(napi_env env, const char *what, int err) {
  napi_throw(env, error_value(env, what, err));
  return NULL;
}

int get_path(napi_env env, napi_value v, char *buf, size_t size) {
  size_t full = 0, copied = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &full) != napi_ok || full + 1 > size) return -1;
  if (napi_get_value_string_utf8(env, v, buf, size, &copied) != napi_ok || copied != full || strlen(buf) != full) return -1;
  return 0;
}

ssize_t read_line_file(const char *path, char *out, size_t size) {
  return read_line_at(AT_FDCWD, path, out, size);
}

ssize_t read_line_at(int dir, const char *path, char *out, size_t size) {
  int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, out, size - 1);
  close(fd);
  if (n <= 0) return -1;
  if (out[n - 1] == '\n') n--;
  out[n] = '\0';
  return n;
}

// tryFlock(fd: number, exclusive: boolean): boolean (false: another holds it). Never blocks: the
// caller waits between tries, so the event loop keeps running.
static napi_value try_flock(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  bool exclusive;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_bool(env, argv[1], &exclusive) != napi_ok) {
    napi_throw_type_error(env, NULL, "tryFlock(fd: number, exclusive: boolean)");
    return NULL;
  }
  int rc;
  do rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
  while (rc < 0 && errno == EINTR);
  napi_value result;
  if (rc == 0) return napi_get_boolean(env, true, &result), result;
  if (errno == EWOULDBLOCK) return napi_get_boolean(env, false, &result), result;
  return host_throw(env, "flock", errno);
}

static napi_value number(napi_env env, double n) {
  napi_value v;
  napi_create_double(env, n, &v);
  return v;
}

static napi_value text(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

int loop_status_of(const char *dev, struct loop_info64 *li) {
  int fd = open(dev, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  memset(li, 0, sizeof *li);
  int rc = ioctl(fd, LOOP_GET_STATUS64, li);
  int err = errno;
  close(fd);
  return rc < 0 ? err : 0;
}

void put_loop_status(napi_env env, napi_value obj, const struct loop_info64 *li) {
  char ino[24];
  snprintf(ino, sizeof ino, "%llu", (unsigned long long)li->lo_inode);
  napi_set_named_property(env, obj, "backMajor", number(env, major(li->lo_device)));
  napi_set_named_property(env, obj, "backMinor", number(env, minor(li->lo_device)));
  napi_set_named_property(env, obj, "backIno", text(env, ino));
  napi_set_named_property(env, obj, "offset", number(env, (double)li->lo_offset));
  napi_set_named_property(env, obj, "sizeLimit", number(env, (double)li->lo_sizelimit));
}

// loopStatus(dev: string): { backMajor, backMinor, backIno (string), offset, sizeLimit } | null
// (null: not attached, or no such device). What `losetup --list` reads, for one device.
static napi_value loop_status(napi_env env, napi_callback_info info) {
  size_t argc = 1, len;
  napi_value argv[1];
  char path[64];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      strncmp(path, "/dev/loop", 9) != 0) {
    napi_throw_type_error(env, NULL, "loopStatus(dev: /dev/loopN)");
    return NULL;
  }
  struct loop_info64 li;
  int err = loop_status_of(path, &li);
  napi_value result;
  // ENOENT/ENODEV: no such device; ENXIO: not attached.
  if (err == ENOENT || err == ENXIO || err == ENODEV) return napi_get_null(env, &result), result;
  if (err) return host_throw(env, path, err);
  napi_create_object(env, &result);
  put_loop_status(env, result, &li);
  return result;
}

// execv(path: string, argv: string[]): replaces this process (same PID, same environment and
// descriptors) with another program; returns only by throwing. The daemon restarts itself under
// its own V8 flags (Node 20 has no process.execve).
static napi_value exec_v(napi_env env, napi_callback_info info) {
  size_t argc = 2, len;
  napi_value argv[2];
  uint32_t n = 0;
  bool is_array = false;
  char path[4096];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &n) != napi_ok || n == 0 || n > 4096) {
    napi_throw_type_error(env, NULL, "execv(path: string, argv: string[])");
    return NULL;
  }
  char **args = calloc(n + 1, sizeof *args);
  bool ok = args != NULL;
  for (uint32_t i = 0; ok && i < n; i++) {
    napi_value v;
    size_t size;
    ok = napi_get_element(env, argv[1], i, &v) == napi_ok && napi_get_value_string_utf8(env, v, NULL, 0, &size) == napi_ok && (args[i] = malloc(size + 1)) != NULL &&
         napi_get_value_string_utf8(env, v, args[i], size + 1, &size) == napi_ok;
  }
  int err = EINVAL;
  if (ok) {
    // Node marks its stdio close-on-exec: the new image keeps the same stdin, stdout and stderr.
    for (int fd = 0; fd <= 2; fd++) {
      int flags = fcntl(fd, F_GETFD);
      if (flags >= 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    execv(path, args);
    err = errno;
  }
  for (uint32_t i = 0; args && i < n; i++) free(args[i]);
  free(args);
  return host_throw(env, "execv", err);
}

// _exit(2): the process ends with CODE at once, without Node's teardown of V8's heap and threads.
static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &code) != napi_ok) {
    return host_throw(env, "exitNow", EINVAL);
  }
  _exit(code & 0xff);
}

// closeInheritedFds(): [fd, ...] closed. Every descriptor above 2 without FD_CLOEXEC: what the caller
// left open, which Node would pass on to every child (Node opens its own close-on-exec). fcntl(2)
// tells it at once, where /proc/self/fdinfo took a file read per descriptor (1.2 ms a start).
static napi_value close_inherited_fds(napi_env env, napi_callback_info info) {
  (void)info;
  DIR *dir = opendir("/proc/self/fd");
  if (!dir) return host_throw(env, "/proc/self/fd", errno);
  int *open_fds = NULL;
  int n = 0, size = 0;
  struct dirent *e;
  // Listed first, closed after: closing while reading the directory would change what it lists.
  while ((e = readdir(dir))) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end || end == e->d_name || fd <= 2 || fd == dirfd(dir)) continue;
    if (n == size) {
      int *more = realloc(open_fds, (size = size ? size * 2 : 64) * sizeof *open_fds);
      if (!more) {
        free(open_fds);
        closedir(dir);
        return host_throw(env, "/proc/self/fd", ENOMEM);
      }
      open_fds = more;
    }
    open_fds[n++] = (int)fd;
  }
  closedir(dir);
  napi_value closed;
  napi_create_array(env, &closed);
  uint32_t k = 0;
  for (int i = 0; i < n; i++) {
    int flags = fcntl(open_fds[i], F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC) || close(open_fds[i]) != 0) continue;
    napi_value v;
    napi_create_int32(env, open_fds[i], &v);
    napi_set_element(env, closed, k++, v);
  }
  free(open_fds);
  return closed;
}

// publishFile(tmp: string, path: string): tmp's content at path, atomically, and tmp gone. ext4
// (auto_da_alloc) writes a file's data out when it is renamed over another (0.3-0.5 ms on the
// development VM, whose /run is ext4): exchanged instead, the old content is then unlinked under
// tmp's name. A new path, or a filesystem without the exchange, gets rename(2).
static napi_value publish_file(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char tmp[4096], path[4096];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || get_path(env, argv[0], tmp, sizeof tmp) < 0 ||
      get_path(env, argv[1], path, sizeof path) < 0) {
    napi_throw_type_error(env, NULL, "publishFile(tmp: string, path: string)");
    return NULL;
  }
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
    // Published, whatever follows: tmp now names the old content, left (with its folder) if it cannot go.
    unlink(tmp);
    return NULL;
  }
  if (errno != ENOENT && errno != EINVAL && errno != ENOSYS) return host_throw(env, "renameat2", errno);
  if (rename(tmp, path) < 0) return host_throw(env, "rename", errno);
  return NULL;
}

// childrenCpuMicros(): user + system CPU of every child this process has waited for, in µs
// (getrusage(RUSAGE_CHILDREN)); /proc/self/stat gives it in ticks of 10 ms, a fifth of a boot here.
static napi_value children_cpu_micros(napi_env env, napi_callback_info info) {
  (void)info;
  struct rusage ru;
  if (getrusage(RUSAGE_CHILDREN, &ru) != 0) return host_throw(env, "getrusage", errno);
  double us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  napi_value v;
  napi_create_double(env, us, &v);
  return v;
}

void register_host_calls(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"tryFlock", NULL, try_flock, NULL, NULL, NULL, napi_default, NULL},
      {"loopStatus", NULL, loop_status, NULL, NULL, NULL, napi_default, NULL},
      {"execv", NULL, exec_v, NULL, NULL, NULL, napi_default, NULL},
      {"exitNow", NULL, exit_now, NULL, NULL, NULL, napi_default, NULL},
      {"publishFile", NULL, publish_file, NULL, NULL, NULL, napi_default, NULL},
      {"closeInheritedFds", NULL, close_inherited_fds, NULL, NULL, NULL, napi_default, NULL},
      {"childrenCpuMicros", NULL, children_cpu_micros, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
