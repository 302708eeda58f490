/*
 * pivot-exec: the last host program on the way into a subhost (the supervisor's stage runs it as PID 1
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
 * This file: the arguments, the network namespace, the capabilities, PID 1's environment, the pivot
 * and the exec, and the console's messages and list splitting that guest-fs.c also uses; guest-fs.c:
 * the guest's filesystems after the pivot; program.c: what it shares with the supervisor.
 * Exit status 1 with one line on stderr ("pivot-exec: ...") when it cannot go on before the pivot's
 * filesystems, or on stdout ("subhost-init: cannot ...") when a filesystem the guest's protection
 * needs cannot be made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#include "pivot-exec.h"

const char PROGRAM[] = "pivot-exec";

void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say(1, "subhost-init", fmt, ap);
  va_end(ap);
}

/*
 * The comma-separated parts of list (split in place), as perl's split /,/ gave them: trailing empty
 * parts dropped. Every part, however many: a protection left out would be a path left unprotected.
 */
char **split_commas(char *list, size_t *count) {
  size_t n = 1;
  for (const char *c = list; *c; c++) n += *c == ',';
  char **parts = grow(NULL, n * sizeof(char *));
  n = 0;
  for (char *p = list; p;) parts[n++] = strsep(&p, ",");
  while (n > 0 && parts[n - 1][0] == '\0') n--;
  *count = n;
  return parts;
}

int all_digits(const char *s) {
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

  // Whatever ran us may have left SIGINT and SIGQUIT ignored (a shell's background job does), and a
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
