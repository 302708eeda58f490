/* pivot-exec's parts (pivot-exec.c: main, before the pivot; guest-fs.c: the guest's filesystems after it). */
#ifndef PIVOT_EXEC_H
#define PIVOT_EXEC_H
#include "program.h"

/* One line "subhost-init: ..." on stdout (the console): pivot-exec speaks as subhost-init's first part. */
__attribute__((format(printf, 1, 2))) void note(const char *fmt, ...);
char **split_commas(char *list, size_t *count);
int all_digits(const char *s);

/* note, then exit 1: a filesystem without which the guest cannot be protected. */
#define fatal(...) (note(__VA_ARGS__), exit(1))

/* What SUBHOST_INIT_ENV sets up before the guest's sh runs, taken out of PID 1's environment. */
enum { HOSTNAME_, DEVICES, TUN, READONLY, WRITABLE, MASKED, SET_UP };

/* After the pivot: /proc, /sys, /dev and its nodes, devpts, /dev/shm, the protections, /run, the host name. */
void make_filesystems(const char *const *set_up);

#endif
