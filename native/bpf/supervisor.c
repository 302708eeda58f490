/*
 * supervisor: the one host-side process kept for each subhost started by `subhost boot`. It starts
 * PID 1 in new namespaces (the stage, below), copies the console into a size-bounded log, and when
 * PID 1 ends (the guest powered off or rebooted, or it was killed) hands over to `subhost _reap`,
 * which releases everything or boots again: no resident daemon is needed for a guest's own power
 * off to release its resources. A static program (as pivot-exec): it replaced a dash script whose
 * start and sourcing of the stage took 7 ms of every boot's way to PID 1 on the development VM, and
 * whose console copier was three execs a boot (split, its filter's sh and cat).
 *
 * Usage: supervisor         for `subhost boot` (in a session of its own; stdout and stderr on the
 *                           console log; fd 3 the readiness pipe, passed down to subhost-init)
 *        supervisor stage   the stage alone, in the foreground: `subhost start`
 *
 * The stage: in the subhost's cgroups (PID 1 then starts inside them and its cgroup namespace is
 * rooted there): started in its cgroup2 one by the clone itself (fork_into; run alone, it writes its
 * cgroup.procs), it joins the v1 ones of a hybrid host (exit 112 if one cannot be joined); then it
 * execs the host's unshare, which makes new
 * mount, PID, UTS, IPC and cgroup namespaces and forks PID 1: pivot-exec (native/bpf) joins the
 * subhost's network namespace, drops capabilities, pivots into the root filesystem and runs
 * subhost-init with the guest's own /bin/sh. Its environment (set by the caller):
 *   SUBHOST_CGROUP_PROCS  cgroup.procs of the subhost's cgroups (v2, and v1 on hybrid hosts), space-separated
 *   SUBHOST_NETNS SUBHOST_LIVE SUBHOST_CAPS_DROP SUBHOST_PIVOT SUBHOST_INIT  pivot-exec's arguments
 *   SUBHOST_INIT_ENV      PID 1's whole environment (pivot-exec makes it so)
 *   SUBHOST_SESSION       optional: "new" makes PID 1 a session leader (setsid); "tty" also makes
 *                         stdin (a terminal) its controlling terminal, which a shell needs for job control
 * The supervisor's own (all required):
 *   SUBHOST_NAME SUBHOST_BOOT_ID  which subhost and which boot of it
 *   SUBHOST_MONITOR_PROCS  cgroup.procs of where the supervisor lives, outside the subhost's cgroups
 *   SUBHOST_FIFO SUBHOST_LOG SUBHOST_LOG_MAX  console FIFO (made by boot), log file, rotation size in bytes
 *   SUBHOST_NODE SUBHOST_CLI SUBHOST_ROOT SUBHOST_RUN  how to run `subhost _reap` once PID 1 has ended
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "program.h"

const char PROGRAM[] = "supervisor";

extern char **environ;

static const char *need(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) die("%s is not set", name);
  return v;
}

/*
 * Write text to each file of a space-separated list but skip (a cgroup.procs the process was cloned
 * into); the first that fails is reported (all are tried).
 */
static int write_each(const char *list, const char *skip, const char *text, int quiet) {
  char *copy = strdup(list);
  if (!copy) die("out of memory");
  int failed = 0;
  for (char *save = NULL, *path = strtok_r(copy, " ", &save); path; path = strtok_r(NULL, " ", &save)) {
    if (skip && strcmp(path, skip) == 0) continue;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));
    int e = errno;
    if (fd >= 0) close(fd);
    if (n < 0) {
      if (!quiet) warn("cannot write %s to %s: %s", text, path, strerror(e));
      if (!failed) failed = e;
    }
  }
  free(copy);
  return failed;
}

/* pivot-exec and its arguments, in order (pivot-exec.c: ROOT INIT NETNS CAPS). */
static const char *const PIVOT_ARGS[] = {"SUBHOST_PIVOT", "SUBHOST_LIVE", "SUBHOST_INIT", "SUBHOST_NETNS", "SUBHOST_CAPS_DROP"};

/*
 * The cgroup2 one of a list of cgroup.procs files (on a hybrid host the others are v1), opened as a
 * directory for clone3's CLONE_INTO_CGROUP, its cgroup.procs in procs; -1 (procs untouched) when
 * there is none or it cannot be opened.
 */
static int v2_cgroup(const char *list, char *procs, size_t size) {
  char *copy = strdup(list);
  if (!copy) die("out of memory");
  int fd = -1;
  for (char *save = NULL, *path = strtok_r(copy, " ", &save); path && fd < 0; path = strtok_r(NULL, " ", &save)) {
    char *slash = strrchr(path, '/');
    if (!slash || strcmp(slash, "/cgroup.procs") != 0 || strlen(path) >= size) continue;
    *slash = '\0';
    struct statfs fs;
    if (statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    *slash = '/';
    if (fd >= 0) snprintf(procs, size, "%s", path);
  }
  free(copy);
  return fd;
}

/*
 * fork(2), the child starting in the cgroup2 cgroup of list where the kernel can (clone3's
 * CLONE_INTO_CGROUP, Linux 5.7): a write to cgroup.procs makes the kernel wait for an RCU grace
 * period (cgroup_threadgroup_rwsem's rcu_sync, 6-40 ms measured) when no migration came just
 * before, and holds cgroup_mutex meanwhile; a clone into the cgroup waits for neither. *placed is
 * then that cgroup.procs, which the child need not write; else (an older kernel, a seccomp filter,
 * a cgroup that takes no processes) a plain fork and *placed empty. The raw system call copies the
 * process as fork does, without glibc's fork handlers: this program is single-threaded, and no
 * child of it uses glibc's cached thread ID (raise, abort, pthread_*).
 */
static pid_t fork_into(const char *list, char *placed, size_t size) {
  int fd = list ? v2_cgroup(list, placed, size) : -1;
  if (fd >= 0) {
    struct clone_args args = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (unsigned)fd};
    long pid = syscall(SYS_clone3, &args, sizeof args);
    close(fd);
    if (pid >= 0) return (pid_t)pid;
  }
  placed[0] = '\0';
  return fork();
}

/* The stage: into the subhost's cgroups, then unshare's namespaces and fork, pivot-exec as PID 1. */
static __attribute__((noreturn)) void stage(const char *placed) {
  static const char *const unshare[] = {"unshare", "--fork", "--kill-child", "--pid", "--mount", "--uts", "--ipc", "--cgroup", "--propagation", "private", "--"};
  const char *procs = need("SUBHOST_CGROUP_PROCS"), *session = getenv("SUBHOST_SESSION");
  const char *argv[24];
  int n = 0;
  for (size_t i = 0; i < sizeof unshare / sizeof *unshare; i++) argv[n++] = unshare[i];
  // setsid runs as PID 1 itself (not a group leader, so it does not fork) before pivot_root.
  if (session && strcmp(session, "new") == 0) argv[n++] = "setsid", argv[n++] = "--";
  if (session && strcmp(session, "tty") == 0) argv[n++] = "setsid", argv[n++] = "--ctty", argv[n++] = "--";
  for (size_t i = 0; i < sizeof PIVOT_ARGS / sizeof *PIVOT_ARGS; i++) argv[n++] = need(PIVOT_ARGS[i]);
  argv[n] = NULL;
  // "0" is the writing process: this one, which becomes unshare.
  if (write_each(procs, placed, "0", 0)) exit(112);
  execvp(argv[0], (char *const *)argv);
  warn("cannot run unshare: %s", strerror(errno));
  exit(127);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

/*
 * The console, copied in blocks (never a byte per read(2), never a line held in memory) as split(1)
 * did: the first max bytes go on the log that boot began (after the previous boot's in .log.1), and
 * each next max bytes, once their first byte comes, on a new log, the last one moved to .log.1.
 * Exit 0 at the console's end, 1 when the log cannot be written.
 */
static int copy_console(int in, const char *log, long long max) {
  char old[4096], buf[65536];
  if (snprintf(old, sizeof old, "%s.1", log) >= (int)sizeof old) die("log name too long: %s", log);
  int out = -1;
  long long part = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("cannot read the console: %s", strerror(errno));
    if (n == 0) return 0;
    for (const char *p = buf; n > 0;) {
      if (out < 0 || part == max) {
        if (out >= 0) {
          close(out);
          if (rename(log, old) != 0 && errno != ENOENT) die("cannot move %s to %s: %s", log, old, strerror(errno));
        }
        out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (out < 0) die("cannot open %s: %s", log, strerror(errno));
        part = 0;
      }
      size_t k = (size_t)n < (unsigned long long)(max - part) ? (size_t)n : (size_t)(max - part);
      if (write_all(out, p, k) != 0) die("cannot write %s: %s", log, strerror(errno));
      p += k, n -= (ssize_t)k, part += (long long)k;
    }
  }
}

/* A child's end as a shell's $? gives it: its exit status, or 128 + the signal that ended it. */
static int wait_status(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return 255;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A command at work (its record's "op": poweroff, stop) releases the subhost itself. */
static int op_in_record(const char *run, const char *name) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%s/state.json", run, name) >= (int)sizeof path) return 0;
  char *text = read_text(path);
  if (!text) return 0;
  // The record is indented JSON (writeState), op at depth 1.
  int found = strncmp(text, " \"op\": ", 7) == 0 || strstr(text, "\n \"op\": ") != NULL;
  free(text);
  return found;
}

static void redirect(int fd, const char *path, int flags) {
  int f = open(path, flags | O_CLOEXEC, 0640);
  if (f < 0 || dup2(f, fd) < 0) die("cannot open %s: %s", path, strerror(errno));
  close(f);
}

static int supervise(void) {
  // Every setting first: one missing is one line, and nothing done.
  const char *name = need("SUBHOST_NAME"), *fifo = need("SUBHOST_FIFO"), *log = need("SUBHOST_LOG");
  char *end;
  long long max = strtoll(need("SUBHOST_LOG_MAX"), &end, 10);
  if (*end || max <= 0) die("SUBHOST_LOG_MAX is not a size in bytes: %s", getenv("SUBHOST_LOG_MAX"));
  const char *monitor = need("SUBHOST_MONITOR_PROCS"), *copy_in = need("SUBHOST_CGROUP_PROCS"), *run = need("SUBHOST_RUN");
  char status[16] = "";
  const char *reap[] = {need("SUBHOST_NODE"), need("SUBHOST_CLI"), "_reap", name, "--boot-id", need("SUBHOST_BOOT_ID"), "--status", status, "--root", need("SUBHOST_ROOT"), NULL};
  for (size_t i = 0; i < sizeof PIVOT_ARGS / sizeof *PIVOT_ARGS; i++) need(PIVOT_ARGS[i]);
  // The console's FIFO, both ends: the stage's writer exists before anyone reads, so the copier's
  // first read cannot find no writer (an end of file); without blocking on the rendezvous of open(2).
  int in = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) die("cannot open %s: %s", fifo, strerror(errno));
  int out = open(fifo, O_WRONLY | O_CLOEXEC);
  if (out < 0) die("cannot open %s: %s", fifo, strerror(errno));
  if (fcntl(in, F_SETFL, 0) != 0) die("cannot make %s blocking: %s", fifo, strerror(errno));

  char placed[4096];
  pid_t pid1 = fork_into(copy_in, placed, sizeof placed);
  if (pid1 < 0) die("cannot fork: %s", strerror(errno));
  if (pid1 == 0) {
    if (dup2(out, 1) < 0 || dup2(out, 2) < 0) die("cannot open %s: %s", fifo, strerror(errno));
    redirect(0, "/dev/null", O_RDONLY);
    stage(placed);
  }
  close(out);
  close(3);
  // The log exists even if the console says nothing.
  int touch = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (touch >= 0) close(touch);

  // The copier runs in the subhost's cgroups: a guest's console flood is the guest's cost. Killed
  // there (the guest is being stopped, or OOM-killed), it starts again outside and copies until
  // PID 1's output ends.
  pid_t copier = fork_into(copy_in, placed, sizeof placed);
  for (int joined = 0;;) {
    if (copier < 0) die("cannot fork: %s", strerror(errno));
    if (copier == 0) {
      prctl(PR_SET_NAME, "console-copy", 0, 0, 0);
      if (copy_in) write_each(copy_in, placed, "0", 1);
      exit(copy_console(in, log, max));
    }
    if (joined++ == 0) {
      // The supervisor's own cost is not the guest's: it lives outside the subhost's cgroups. Joined
      // only now, after both clones (each takes the cgroup_mutex that a migration holds through its
      // wait, see fork_into): that wait is then beside PID 1's start, not before it.
      char self[24];
      snprintf(self, sizeof self, "%d", (int)getpid());
      write_each(monitor, NULL, self, 0);
    }
    if (wait_status(copier) == 0 || !copy_in) break;
    copy_in = NULL;
    copier = fork();
  }
  close(in);

  snprintf(status, sizeof status, "%d", wait_status(pid1));
  // A command at work releases the subhost itself, and `_reap` would only wait for its lock to do
  // nothing: no Node started beside that command on the host's CPUs.
  if (op_in_record(run, name)) return 0;
  redirect(1, log, O_WRONLY | O_APPEND | O_CREAT);
  if (dup2(1, 2) < 0) die("cannot open %s: %s", log, strerror(errno));
  redirect(0, "/dev/null", O_RDONLY);
  execve(reap[0], (char *const *)reap, environ);
  die("cannot run %s: %s", reap[0], strerror(errno));
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "stage") == 0) stage(NULL);
  if (argc != 1) die("usage: supervisor [stage]");
  return supervise();
}
