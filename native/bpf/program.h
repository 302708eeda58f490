/* What the static programs beside the addon share (program.c): pivot-exec and supervisor. */
#ifndef PROGRAM_H
#define PROGRAM_H
#include <stdarg.h>
#include <stddef.h>

/* Each program names itself: die's prefix ("pivot-exec: ..."). */
extern const char PROGRAM[];

/* One line "PROGRAM: ..." on stderr, then exit 1. */
__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
/* One line "PROGRAM: ..." on stderr. */
__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);
/* One line "WHO: ..." on fd, written whole (die, warn and pivot-exec's note). */
void say(int fd, const char *who, const char *fmt, va_list ap);
void *grow(void *p, size_t size);
/* A whole file's text (NUL-terminated), or NULL with errno. */
char *read_text(const char *path);

#endif
