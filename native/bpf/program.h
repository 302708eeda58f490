/* What the static programs beside the addon share (program.c): pivot-exec and supervisor. */
#ifndef PROGRAM_H
#define PROGRAM_H
#include <stddef.h>

/* Each program names itself: die's prefix ("pivot-exec: ..."). */
extern const char PROGRAM[];

/* One line "PROGRAM: ..." on stderr, then exit 1. */
__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
/* One line "PROGRAM: ..." on stderr. */
__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);
/* One line "subhost-init: ..." on stdout (the console): pivot-exec speaks as subhost-init's first part. */
__attribute__((format(printf, 1, 2))) void note(const char *fmt, ...);
void *grow(void *p, size_t size);
char *read_text(const char *path);
char **split_commas(char *list, size_t *count);
int all_digits(const char *s);

#endif
