/* The static programs' messages, memory and text helpers (program.h): pivot-exec's and the supervisor's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "program.h"

/* One line, written whole with write(2): the console's FIFO (or the log) gets it unbuffered, in one piece. */
void say(int fd, const char *who, const char *fmt, va_list ap) {
  char line[4096];
  int n = snprintf(line, sizeof line, "%s: ", who);
  n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
  if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  ssize_t w = write(fd, line, (size_t)n);
  (void)w;
}

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say(2, PROGRAM, fmt, ap);
  va_end(ap);
  exit(1);
}

void warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  say(2, PROGRAM, fmt, ap);
  va_end(ap);
}

void *grow(void *p, size_t size) {
  void *q = realloc(p, size);
  if (!q) die("out of memory");
  return q;
}

/* A whole file's text (NUL-terminated), or NULL with errno. */
char *read_text(const char *path) {
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
