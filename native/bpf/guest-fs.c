/*
 * pivot-exec's second part: subhost-init's filesystems, made after the pivot with the host's root
 * detached and before the guest's sh runs (see pivot-exec.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pivot-exec.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* --- after the pivot: subhost-init's filesystems, as its mount(8), mknod(1), ln(1), mkdir(1) calls made them --- */

/* mount(2) with mount(8)'s MS_SILENT. */
static int mnt(const char *source, const char *target, const char *type, unsigned long flags, const char *data) {
  return mount(source, target, type, flags | MS_SILENT, data) == 0;
}

/* mountinfo's \ooo escapes (a space, a tab, a newline, a backslash in a path) undone in place. */
static void unescape(char *s) {
  char *out = s;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
      *out++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
      s += 3;
    } else {
      *out++ = *s;
    }
  }
  *out = '\0';
}

/* The current per-mount flags of the mount at point (the last one there), from our own mountinfo. */
static unsigned long flags_of(const char *point) {
  static const struct {
    const char *name;
    unsigned long flag;
  } PER_MOUNT[] = {{"ro", MS_RDONLY}, {"nosuid", MS_NOSUID}, {"nodev", MS_NODEV}, {"noexec", MS_NOEXEC}, {"noatime", MS_NOATIME}, {"nodiratime", MS_NODIRATIME}, {"relatime", MS_RELATIME}, {"nosymfollow", MS_NOSYMFOLLOW}};
  char *info = read_text("/proc/self/mountinfo");
  if (!info) return 0;
  char *options = NULL;
  for (char *rest = info, *line; (line = strsep(&rest, "\n"));) {
    char *fields[6];
    size_t n = 0;
    for (char *p = line; p && n < 6;) fields[n++] = strsep(&p, " ");
    if (n < 6) continue;
    unescape(fields[4]);
    if (strcmp(fields[4], point) == 0) options = fields[5];
  }
  unsigned long flags = 0;
  for (char *p = options, *o; p && (o = strsep(&p, ","));)
    for (size_t i = 0; i < sizeof PER_MOUNT / sizeof PER_MOUNT[0]; i++)
      if (strcmp(o, PER_MOUNT[i].name) == 0) flags |= PER_MOUNT[i].flag;
  free(info);
  return flags;
}

/* `mount -o remount,bind,OPT`: the mount's own flags, OPT's set and cleared. */
static int remount_bind(const char *point, unsigned long set, unsigned long clear) {
  return mnt(NULL, point, NULL, ((flags_of(point) & ~clear) | set | MS_REMOUNT | MS_BIND), NULL);
}

static void node(const char *path, mode_t mode, unsigned major, unsigned minor) {
  if (mknodat(AT_FDCWD, path, mode, makedev(major, minor)) != 0) note("cannot create %s: %s", path, strerror(errno));
}

static void link_(const char *target, const char *path) {
  if (symlink(target, path) != 0) note("cannot link %s: %s", path, strerror(errno));
}

static void dir(const char *path, mode_t mode) {
  if (mkdir(path, mode) != 0 || chmod(path, mode) != 0) note("cannot make %s: %s", path, strerror(errno));
}

static int exists(const char *path, int directory) {
  struct stat st;
  return stat(path, &st) == 0 && (!directory || S_ISDIR(st.st_mode));
}

/*
 * Before any guest program runs, what reaches the host kernel becomes read-only or masked (the table
 * and the reasons are subhost's src/core/guest/hardening.ts). A path this kernel lacks is skipped.
 */
static int protect(const char *how, const char *path) {
  if (!exists(path, 0)) return 1;
  if (strcmp(how, "read-only") == 0) return mnt(path, path, NULL, MS_BIND, NULL) && remount_bind(path, MS_RDONLY, 0);
  if (strcmp(how, "writable") == 0) return mnt(path, path, NULL, MS_BIND, NULL) && remount_bind(path, 0, MS_RDONLY);
  if (exists(path, 1)) return mnt("subhost-mask", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=555,size=4k");
  return mnt("/dev/null", path, NULL, MS_BIND, NULL);
}

void make_filesystems(const char *const *set_up) {
  char path[4096];
  // Modes are given whole, as mknod -m and mkdir -m give them; the guest's sh gets our umask back.
  mode_t umask_ = umask(0);

  // /proc first: this PID namespace's own.
  if (!mnt("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) fatal("cannot mount /proc: %s", strerror(errno));
  // The host mounts our root nosuid, so that host users cannot run our setuid programs; inside they work.
  if (!remount_bind("/", 0, MS_NOSUID)) note("cannot allow setuid programs on /: %s", strerror(errno));

  // /proc, /sys and /dev must be ours: without them the protections below would see nothing to protect.
  if (!mnt("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) fatal("cannot mount /sys: %s", strerror(errno));
  if (!mnt("devtmp", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1m")) fatal("cannot mount /dev: %s", strerror(errno));
  static const struct {
    const char *name;
    unsigned major, minor;
  } NODES[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  for (size_t i = 0; i < sizeof NODES / sizeof NODES[0]; i++) {
    snprintf(path, sizeof path, "/dev/%s", NODES[i].name);
    node(path, S_IFCHR | 0666, NODES[i].major, NODES[i].minor);
  }
  link_("/proc/self/fd", "/dev/fd");
  link_("/proc/self/fd/0", "/dev/stdin");
  link_("/proc/self/fd/1", "/dev/stdout");
  link_("/proc/self/fd/2", "/dev/stderr");
  // The console is PID 1's output, which subhost keeps in the subhost's log.
  link_("/proc/1/fd/1", "/dev/console");
  dir("/dev/pts", 0755);
  dir("/dev/shm", 01777);
  // A devpts instance of our own: the host's ptys stay invisible.
  if (!mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5")) note("cannot mount /dev/pts: %s", strerror(errno));
  link_("pts/ptmx", "/dev/ptmx");
  if (!mnt("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")) note("cannot mount /dev/shm: %s", strerror(errno));
  if (strcmp(set_up[TUN], "yes") == 0) {
    dir("/dev/net", 0755);
    node("/dev/net/tun", S_IFCHR | 0666, 10, 200);
  }
  char *devices = strdup(set_up[DEVICES]);
  if (!devices) die("out of memory");
  size_t n;
  char **parts = split_commas(devices, &n);
  for (size_t i = 0; i < n; i++) {
    char *spec = parts[i];
    char *name = strsep(&spec, ":");
    char *major = spec ? strsep(&spec, ":") : NULL;
    char *minor = spec;
    if (minor && all_digits(major) && all_digits(minor) && strlen(major) < 10 && strlen(minor) < 10) {
      snprintf(path, sizeof path, "/dev/%s", name);
      node(path, S_IFBLK | 0660, (unsigned)strtoul(major, NULL, 10), (unsigned)strtoul(minor, NULL, 10));
    } else {
      note("cannot create /dev/%s: not NODE:MAJOR:MINOR", name);
    }
  }
  free(parts);
  free(devices);

  // Read-only first, so that a writable path below one (/proc/sys/net) is bound from it and made
  // writable again; then the masks, over files with /dev/null, over directories with an empty
  // read-only tmpfs. A protection that cannot be applied stops the boot.
  static const struct {
    const char *how;
    int list;
  } PROTECTIONS[] = {{"read-only", READONLY}, {"writable", WRITABLE}, {"masked", MASKED}};
  for (size_t k = 0; k < 3; k++) {
    char *list = strdup(set_up[PROTECTIONS[k].list]);
    if (!list) die("out of memory");
    size_t count;
    char **paths = split_commas(list, &count);
    for (size_t i = 0; i < count; i++)
      if (!protect(PROTECTIONS[k].how, paths[i])) fatal("cannot make %s %s: %s", paths[i], PROTECTIONS[k].how, strerror(errno));
    free(paths);
    free(list);
  }

  if (!mnt("run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")) note("cannot mount /run: %s", strerror(errno));
  // mkdir -p: what exists is left as it is.
  if (!exists("/run", 1)) mkdir("/run", 0755);
  if (mkdir("/run/lock", 01777) == 0 ? chmod("/run/lock", 01777) != 0 : !exists("/run/lock", 1)) note("cannot make /run/lock: %s", strerror(errno));
  if (mknodat(AT_FDCWD, "/run/initctl", S_IFIFO | 0600, 0) != 0) note("cannot create /run/initctl: %s", strerror(errno));

  if (set_up[HOSTNAME_][0] && sethostname(set_up[HOSTNAME_], strlen(set_up[HOSTNAME_])) != 0) note("cannot set the host name: %s", strerror(errno));
  umask(umask_);
}
