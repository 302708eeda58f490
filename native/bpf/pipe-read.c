// The read end of a child's pipe, read on the event loop without node:net: a net.Socket over a
// pipe loads node:net and node:stream, 7 ms of `subhost boot`'s main thread on the development VM,
// for the config's bash and the supervisor's readiness pipe. A uv_poll on the descriptor, made
// non-blocking, and read(2) until it would block; each turn's bytes go to JS as one Buffer.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "addon.h"

#define CHUNK (64 << 10)
// What one callback carries at most: a flood is handed over in parts, never held whole here.
#define TURN_MAX (1 << 20)

// closeRead takes only what readPipe gave: another external of the addon is not a reader.
static const napi_type_tag READER_TAG = {0x7375626873747265ull, 0x7265616470697065ull};

typedef struct reader {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  napi_async_cleanup_hook_handle cleanup;
  int fd;
  int open;       // the poll handle is started and the descriptor ours
  int refs;       // freed when both the handle has closed and JS's handle object is collected
  int tearing_down;
} reader;

static void release(reader *r) {
  if (--r->refs == 0) free(r);
}

static void reader_closed(uv_handle_t *handle) {
  reader *r = handle->data;
  if (r->tearing_down) napi_remove_async_cleanup_hook(r->cleanup);
  release(r);
}

// Stop reading: the descriptor closed (before JS hears of the end), no more callbacks, the handle off the loop.
static void stop_reading(reader *r) {
  r->open = 0;
  uv_poll_stop(&r->poll);
  close(r->fd);
}

static void drop(reader *r) {
  if (!r->tearing_down) {
    napi_remove_async_cleanup_hook(r->cleanup);
    napi_delete_reference(r->env, r->callback);
    napi_async_destroy(r->env, r->context);
  }
  uv_close((uv_handle_t *)&r->poll, reader_closed);
}

static void finish(reader *r) {
  if (!r->open) return;
  stop_reading(r);
  drop(r);
}

// The environment ends (a worker exits) with the pipe still open.
static void reader_cleanup(napi_async_cleanup_hook_handle handle, void *data) {
  (void)handle;
  reader *r = data;
  r->tearing_down = 1;
  napi_delete_reference(r->env, r->callback);
  napi_async_destroy(r->env, r->context);
  finish(r);
}

static void handle_collected(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release(data);
}

// callback(buffer) for bytes, then callback(null) at EOF or callback(null, error) with its .code.
static void call(reader *r, napi_value chunk, int err) {
  napi_env env = r->env;
  napi_value args[2], callback, resource, ignored;
  args[0] = chunk;
  if (err) args[1] = error_value(env, "read", err);
  else napi_get_undefined(env, &args[1]);
  napi_get_reference_value(env, r->callback, &callback);
  napi_create_object(env, &resource);
  // make_callback: the promise jobs the callback queues run before the loop goes on.
  napi_make_callback(env, r->context, resource, callback, 2, args, &ignored);
}

static void reader_ready(uv_poll_t *poll, int status, int events) {
  (void)status;
  (void)events;
  reader *r = poll->data;
  char *data = NULL;
  size_t size = 0;
  int end = 0, err = 0;
  // A status error (the descriptor hung up, EBADF) is found by read(2) too.
  while (size < TURN_MAX) {
    char *grown = realloc(data, size + CHUNK);
    if (!grown) {
      err = ENOMEM;
      break;
    }
    data = grown;
    ssize_t n = read(r->fd, data + size, CHUNK);
    if (n > 0) size += (size_t)n;
    else if (n == 0) end = 1;
    else if (errno != EAGAIN && errno != EINTR) err = errno;
    if (n == 0 || (n < 0 && errno != EINTR)) break;
  }
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  // Held across the callbacks: JS may destroy the reader from one of them.
  r->refs++;
  if (size > 0) {
    napi_value chunk;
    void *copy;
    if (napi_create_buffer_copy(env, size, data, &copy, &chunk) == napi_ok) call(r, chunk, 0);
    else err = ENOMEM;
  }
  free(data);
  if ((end || err) && r->open) {
    napi_value null;
    napi_get_null(env, &null);
    stop_reading(r);
    call(r, null, err);
    drop(r);
  }
  release(r);
  napi_close_handle_scope(env, scope);
}

// readPipe(fd, callback(buffer | null, error | undefined)) -> handle. The descriptor becomes ours: closed at
// its end, on an error, or by closeRead(handle).
static napi_value read_pipe(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  int32_t fd = -1;
  napi_valuetype type = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 2 || napi_get_value_int32(env, args[0], &fd) != napi_ok || fd < 0 ||
      napi_typeof(env, args[1], &type) != napi_ok || type != napi_function) {
    return host_throw(env, "readPipe", EINVAL);
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return host_throw(env, "readPipe", errno);
  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return host_throw(env, "readPipe", EINVAL);
  reader *r = calloc(1, sizeof *r);
  if (!r) return host_throw(env, "readPipe", ENOMEM);
  r->env = env;
  r->fd = fd;
  int err = -uv_poll_init(loop, &r->poll, fd);
  if (err) {
    free(r);
    return host_throw(env, "readPipe", err);
  }
  r->poll.data = r;
  napi_value handle, name;
  if (napi_create_external(env, r, handle_collected, NULL, &handle) != napi_ok) {
    // Not started: closing the handle frees it (one reference, the handle's).
    r->refs = 1;
    uv_close((uv_handle_t *)&r->poll, reader_closed);
    return host_throw(env, "readPipe", ENOMEM);
  }
  napi_type_tag_object(env, handle, &READER_TAG);
  r->refs = 2;
  r->open = 1;
  napi_create_string_utf8(env, "subhost.readPipe", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &r->context);
  napi_create_reference(env, args[1], 1, &r->callback);
  napi_add_async_cleanup_hook(env, reader_cleanup, r, &r->cleanup);
  uv_poll_start(&r->poll, UV_READABLE | UV_DISCONNECT, reader_ready);
  return handle;
}

// closeRead(handle): no more callbacks, the descriptor closed. Again, or after the end: nothing.
static napi_value close_read(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  void *data = NULL;
  bool ours = false;
  napi_valuetype type = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, &arg, NULL, NULL) != napi_ok || argc < 1 || napi_typeof(env, arg, &type) != napi_ok || type != napi_external ||
      napi_check_object_type_tag(env, arg, &READER_TAG, &ours) != napi_ok || !ours ||
      napi_get_value_external(env, arg, &data) != napi_ok) {
    return host_throw(env, "closeRead", EINVAL);
  }
  finish(data);
  return NULL;
}

void register_pipe_read(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"readPipe", NULL, read_pipe, NULL, NULL, NULL, napi_default, NULL},
      {"closeRead", NULL, close_read, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
