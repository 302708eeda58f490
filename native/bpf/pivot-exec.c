/*
 * pivot-exec: the last host program on the way into a subhost (share/pid1-stage.sh runs it as PID 1
 * of the new namespaces, by way of unshare's fork), and the first part of subhost-init. In this one
 * process, with no exec in between, it joins the subhost's network namespace and drops capabilities
 * (what nsenter --net and setpriv did in an exec each), pivots into the guest's root, detaches the
 * host's root, makes the guest's filesystems (/proc, /sys, /dev and its nodes, devpts, /dev/shm, the
 * protections of /proc and /sys, /run) and its host name, and only then runs the guest's /bin/sh on
 * subhost-init's text (`sh -c 'eval ...' subhost-init`): no file of the guest is run, and no library
 * of it loaded, while the host's root is reachable, and none before the protections are in place.
 * Linked statically: after the pivot no loader or library of the host is within reach, and none is
 * needed (no locale, no NSS: the C locale's messages only). A static C program starts in a third of
 * perl-base's time here (3 ms against 12 with the script's compiling), on every boot's critical path.
 *
 * Usage: pivot-exec ROOT INIT NETNS CAPS
 *   ROOT   the guest's mounted root filesystem; INIT  the host's share/subhost-init (read before the pivot)
 *   NETNS  the network namespace's file (/run/netns/NAME)
 *   CAPS   the capabilities' numbers to drop from the bounding set, comma-separated
 *          (src/core/guest/capabilities.ts)
 * Environment: SUBHOST_INIT_ENV, PID 1's whole environment (NAME=value words; nothing else of ours
 * reaches the guest), of which it reads and drops SUBHOST_INIT_HOSTNAME, _DEVICES, _TUN, _READONLY,
 * _WRITABLE and _MASKED (share/subhost-init's header says what they hold).
 * Exit status 1 with one line on stderr ("pivot-exec: ...") when it cannot go on before the pivot's
 * filesystems, or on stdout ("subhost-init: cannot ...") when a filesystem the guest's protection
 * needs cannot be made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* One line, written whole with write(2): stdout and stderr are the console's FIFO, never buffered. */
static void say(int fd, const char *prefix, const char *fmt, va_list ap) {
  char line[4096];
  int n = snprintf(line, sizeof line, "%s", prefix);
  n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  ssize_t w = write(fd, line, (size_t)n);
  (void)w;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say(2, "pivot-exec: ", fmt, ap);
  va_end(ap);
  exit(1);
}

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say(1, "subhost-init: ", fmt, ap);
  va_end(ap);
}

#define fatal(...) (note(__VA_ARGS__), exit(1))

static void *grow(void *p, size_t size) {
  void *q = realloc(p, size);
  if (!q) die("out of memory");
  return q;
}

/* A whole file's text (NUL-terminated), or NULL with errno. */
static char *read_text(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  size_t size = 0, cap = 8192;
  char *text = grow(NULL, cap);
  for (;;) {
    if (cap - size < 4096) text = grow(text, cap *= 2);
    ssize_t n = read(fd, text + size, cap - size - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      free(text);
      close(fd);
      errno = e;
      return NULL;
    }
    if (n == 0) break;
    size += (size_t)n;
  }
  close(fd);
  text[size] = '\0';
  return text;
}

/*
 * The comma-separated parts of list (split in place), as perl's split /,/ gave them: trailing empty
 * parts dropped. Every part, however many: a protection left out would be a path left unprotected.
 */
static char **split_commas(char *list, size_t *count) {
  size_t n = 1;
  for (const char *c = list; *c; c++) n += *c == ',';
  char **parts = grow(NULL, n * sizeof(char *));
  n = 0;
  for (char *p = list; p;) parts[n++] = strsep(&p, ",");
  while (n > 0 && parts[n - 1][0] == '\0') n--;
  *count = n;
  return parts;
}

static int all_digits(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

/* --- before the pivot: network namespace, capabilities, environment, subhost-init's text --- */

static void join_netns(const char *netns) {
  int fd = open(netns, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("cannot open %s: %s", netns, strerror(errno));
  // Before /sys is mounted: sysfs shows the mounter's namespace's interfaces.
  if (setns(fd, CLONE_NEWNET) != 0) die("cannot enter the network namespace %s: %s", netns, strerror(errno));
  close(fd);
}

/*
 * setpriv --bounding-set -CAP,... --inh-caps=-all --ambient-caps=-all. We keep what we hold (the pivot
 * and the mounts need it); the guest's /bin/sh, exec'd by root, gets the bounding set only, since the
 * inheritable and ambient sets (which would bring back any capability, as root's files have full
 * inheritable sets) are empty.
 */
static void drop_capabilities(char *caps) {
  size_t n;
  char **parts = split_commas(caps, &n);
  for (size_t i = 0; i < n; i++) {
    unsigned long cap = strtoul(parts[i], NULL, 10);
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) die("cannot drop capability %s from the bounding set: %s", parts[i], strerror(errno));
  }
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct sets[2];
  if (syscall(SYS_capget, &header, sets) != 0) die("cannot read our capabilities: %s", strerror(errno));
  sets[0].inheritable = sets[1].inheritable = 0;
  if (syscall(SYS_capset, &header, sets) != 0) die("cannot empty the inheritable set: %s", strerror(errno));
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) die("cannot empty the ambient set: %s", strerror(errno));
  free(parts);
}

/* What SUBHOST_INIT_ENV sets up before the guest's sh runs, taken out of PID 1's environment. */
enum { HOSTNAME_, DEVICES, TUN, READONLY, WRITABLE, MASKED, SET_UP };
static const char *const SET_UP_NAMES[SET_UP] = {"HOSTNAME", "DEVICES", "TUN", "READONLY", "WRITABLE", "MASKED"};

struct environment {
  char **words; /* NAME=value, one per name (the last word of a name wins), NULL-terminated */
  size_t count;
  const char *set_up[SET_UP];
};

static size_t name_length(const char *word) {
  size_t i = 0;
  if (!((word[0] >= 'A' && word[0] <= 'Z') || (word[0] >= 'a' && word[0] <= 'z') || word[0] == '_')) return 0;
  for (i = 1; (word[i] >= 'A' && word[i] <= 'Z') || (word[i] >= 'a' && word[i] <= 'z') || (word[i] >= '0' && word[i] <= '9') || word[i] == '_'; i++)
    ;
  return word[i] == '=' ? i : 0;
}

/* PID 1's environment is SUBHOST_INIT_ENV's words and nothing else (split at blanks, as perl's split ' '). */
static void parse_environment(struct environment *env) {
  const char *given = getenv("SUBHOST_INIT_ENV");
  char *text = strdup(given ? given : "");
  if (!text) die("out of memory");
  size_t max = strlen(text) / 2 + 3;
  env->words = grow(NULL, max * sizeof(char *));
  env->count = 0;
  for (size_t i = 0; i < SET_UP; i++) env->set_up[i] = "";
  for (char *p = text, *word; (word = strsep(&p, " \t\n\r\f\v"));) {
    if (!*word) continue;
    size_t len = name_length(word);
    if (!len) die("not NAME=value in SUBHOST_INIT_ENV: %s", word);
    if (len > 13 && strncmp(word, "SUBHOST_INIT_", 13) == 0) {
      size_t k;
      for (k = 0; k < SET_UP; k++)
        if (strlen(SET_UP_NAMES[k]) == len - 13 && strncmp(word + 13, SET_UP_NAMES[k], len - 13) == 0) break;
      if (k < SET_UP) {
        env->set_up[k] = word + len + 1;
        continue;
      }
    }
    size_t j;
    for (j = 0; j < env->count; j++)
      if (strncmp(env->words[j], word, len + 1) == 0) break;
    env->words[j] = word;
    if (j == env->count) env->count++;
  }
}

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

static void make_filesystems(const char *const *set_up) {
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

int main(int argc, char **argv) {
  if (argc != 5) die("usage: ROOT INIT NETNS CAPS");
  const char *root = argv[1], *init = argv[2], *netns = argv[3];
  char *caps = argv[4];
  for (const char *c = caps, *start = caps;; c++) {
    if (*c == ',' || *c == '\0') {
      if (c == start || c - start > 3) die("usage: ROOT INIT NETNS CAPS (CAPS: numbers, comma-separated): %s", caps);
      if (*c == '\0') break;
      start = c + 1;
    } else if (*c < '0' || *c > '9') {
      die("usage: ROOT INIT NETNS CAPS (CAPS: numbers, comma-separated): %s", caps);
    }
  }

  join_netns(netns);
  drop_capabilities(caps);

  // A background job of a non-interactive shell (the supervisor's) ignores SIGINT and SIGQUIT, and a
  // shell cannot trap what it was started ignoring: the guest's sh must get them at their defaults.
  signal(SIGINT, SIG_DFL);
  signal(SIGQUIT, SIG_DFL);
  struct environment env;
  parse_environment(&env);

  char *script = read_text(init);
  if (!script) die("cannot read %s: %s", init, strerror(errno));

  if (chdir(root) != 0) die("cannot enter %s: %s", root, strerror(errno));
  // pivot_root(".", "."): the host's root ends up stacked over the guest's, and umount2 detaches it.
  if (syscall(SYS_pivot_root, ".", ".") != 0) die("pivot_root into %s: %s", root, strerror(errno));
  if (umount2(".", MNT_DETACH) != 0) die("cannot detach the host's root: %s", strerror(errno));
  if (chdir("/") != 0) die("cd /: %s", strerror(errno));
  // Nothing of the host may be left above the guest's root.
  struct stat top, up;
  if (stat("/", &top) != 0 || stat("/..", &up) != 0 || top.st_dev != up.st_dev || top.st_ino != up.st_ino) die("the host's root is still reachable");

  make_filesystems(env.set_up);

  // The text goes in the environment, not in argv, so that ps shows PID 1 as one short line.
  static const char PREFIX[] = "SUBHOST_INIT_TEXT=";
  char *text = grow(NULL, sizeof PREFIX + strlen(script));
  memcpy(text, PREFIX, sizeof PREFIX - 1);
  strcpy(text + sizeof PREFIX - 1, script);
  env.words[env.count++] = text;
  env.words[env.count] = NULL;
  char *const sh[] = {"/bin/sh", "-c", "init=$SUBHOST_INIT_TEXT; unset SUBHOST_INIT_TEXT; eval \"$init\"", "subhost-init", NULL};
  execve("/bin/sh", sh, env.words);
  die("cannot run the guest's /bin/sh: %s", strerror(errno));
}
