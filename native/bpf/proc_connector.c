// The netlink proc connector: the kernel tells of each exec, so the daemon finds a new VM process
// without reading /proc for every new PID. A classic BPF filter on the socket drops every event but
// exec (and our subscription's ack) in the kernel; libuv polls the socket on Node's own loop.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "addon.h"


#define MAX_BATCH 4096

typedef struct {
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  uv_poll_t poll;
  uv_timer_t timer;
  int fd;
  uint32_t delay_ms;
  int open_handles;
  int closed;
  bool error;
  int32_t pids[MAX_BATCH];
} exec_watch;

#define CN_DATA (NLMSG_LENGTH(0) + offsetof(struct cn_msg, data))

// Accept CN_IDX_PROC messages whose event is EXEC or NONE (the ack); drop the rest in the kernel.
static struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0 /* htons(NLMSG_DONE), set at run time */, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NLMSG_LENGTH(0) + offsetof(struct cn_msg, id) + offsetof(struct cb_id, idx)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0 /* htonl(CN_IDX_PROC) */, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, CN_DATA + offsetof(struct proc_event, what)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0 /* htonl(PROC_EVENT_EXEC) */, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0 /* htonl(PROC_EVENT_NONE) */, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
};

static void on_timer(uv_timer_t *t);

static void on_handle_closed(uv_handle_t *h) {
  exec_watch *w = h->data;
  if (--w->open_handles == 0) free(w);
}

static void watch_close(exec_watch *w) {
  if (w->closed) return;
  w->closed = 1;
  uv_poll_stop(&w->poll);
  uv_timer_stop(&w->timer);
  close(w->fd);
  napi_delete_reference(w->env, w->callback);
  napi_async_destroy(w->env, w->context);
  uv_close((uv_handle_t *)&w->poll, on_handle_closed);
  uv_close((uv_handle_t *)&w->timer, on_handle_closed);
}

static void on_readable(uv_poll_t *h, int status, int events);

// What a VM process is told by: its executable and comm (read after the batch's pause, when most
// short-lived processes have ended: those are left out, they are no VM to place).
static bool describe(int pid, char *exe, size_t exe_size, char *comm, size_t comm_size) {
  char path[48];
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  ssize_t n = readlink(path, exe, exe_size - 1);
  if (n < 0) return false;
  exe[n] = 0;
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  return read_line_file(path, comm, comm_size) > 0;
}

// callback(pids: number[], exes: string[], comms: string[], overrun: boolean, ack: number): the
// exec'd processes still running; ack is -1 when no ack came in this batch.
static void deliver(exec_watch *w, int count, bool overrun, int ack) {
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, argv[5], result;
  napi_get_reference_value(env, w->callback, &cb);
  napi_get_global(env, &recv);
  napi_create_array(env, &argv[0]);
  napi_create_array(env, &argv[1]);
  napi_create_array(env, &argv[2]);
  char exe[PATH_MAX], comm[64];
  uint32_t k = 0;
  for (int i = 0; i < count; i++) {
    if (!describe(w->pids[i], exe, sizeof exe, comm, sizeof comm)) continue;
    napi_value v;
    napi_create_int32(env, w->pids[i], &v);
    napi_set_element(env, argv[0], k, v);
    napi_create_string_utf8(env, exe, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, argv[1], k, v);
    napi_create_string_utf8(env, comm, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, argv[2], k, v);
    k++;
  }
  napi_get_boolean(env, overrun, &argv[3]);
  napi_create_int32(env, ack, &argv[4]);
  if ((k || overrun || ack >= 0) && napi_make_callback(env, w->context, recv, cb, 5, argv, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

// Everything queued, without blocking: exec PIDs (thread group ids), whether the kernel dropped
// events (ENOBUFS: the receive buffer overran), and our ack's error.
static void drain(exec_watch *w, bool overrun) {
  int count = 0, ack = -1;
  char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
  for (;;) {
    ssize_t n = recv(w->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        overrun = true;
        continue;
      }
      if (errno != EAGAIN) overrun = true;
      break;
    }
    for (struct nlmsghdr *nl = (struct nlmsghdr *)buf; NLMSG_OK(nl, (size_t)n); nl = NLMSG_NEXT(nl, n)) {
      struct cn_msg *cn = NLMSG_DATA(nl);
      if (nl->nlmsg_len < CN_DATA + sizeof(struct proc_event) || cn->id.idx != CN_IDX_PROC) continue;
      struct proc_event *ev = (struct proc_event *)cn->data;
      if (ev->what == PROC_EVENT_EXEC) {
        if (count < MAX_BATCH) w->pids[count++] = ev->event_data.exec.process_tgid;
        else overrun = true;
      } else if (ev->what == PROC_EVENT_NONE && cn->ack == 1) {
        // The kernel's ack of a subscription (its seq is not ours on every kernel: any ack will do).
        ack = (int)ev->event_data.ack.err;
      }
    }
  }
  deliver(w, count, overrun, ack);
}

// The first event of a batch: a pause (delayMs), then everything that came meanwhile in one call into JS.
static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  exec_watch *w = h->data;
  if (status < 0) w->error = true;
  if (!w->delay_ms) {
    bool error = w->error;
    w->error = false;
    drain(w, error);
    return;
  }
  uv_poll_stop(&w->poll);
  uv_timer_start(&w->timer, on_timer, w->delay_ms, 0);
}

static void on_timer(uv_timer_t *t) {
  exec_watch *w = t->data;
  if (w->closed) return;
  bool error = w->error;
  w->error = false;
  drain(w, error);
  // The callback may have closed the watch.
  if (!w->closed) uv_poll_start(&w->poll, UV_READABLE, on_readable);
}

static napi_value close_fn(napi_env env, napi_callback_info info) {
  napi_value self, undefined;
  exec_watch *w = NULL;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  // The wrap is taken off once: a second close() finds none; the watch is freed when libuv has closed its handles.
  if (napi_remove_wrap(env, self, (void **)&w) == napi_ok && w) watch_close(w);
  napi_get_undefined(env, &undefined);
  return undefined;
}

// watchExecs(callback, delayMs): { fd, close() }. Throws with the errno's code (EPROTONOSUPPORT,
// EPERM ...) where the connector cannot be had; the ack (callback's third argument, 0 or an errno)
// says whether the kernel took the subscription.
static napi_value watch_execs(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_valuetype type;
  uint32_t delay = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function ||
      napi_get_value_uint32(env, argv[1], &delay) != napi_ok) {
    napi_throw_type_error(env, NULL, "watchExecs(callback: function, delayMs: number)");
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) return host_throw(env, "socket(NETLINK_CONNECTOR)", errno);
  struct sock_filter prog[sizeof filter / sizeof filter[0]];
  memcpy(prog, filter, sizeof filter);
  prog[1].k = htons(NLMSG_DONE);
  prog[4].k = htonl(CN_IDX_PROC);
  prog[7].k = htonl(PROC_EVENT_EXEC);
  prog[8].k = htonl(PROC_EVENT_NONE);
  struct sock_fprog fprog = {.len = sizeof prog / sizeof prog[0], .filter = prog};
  // Room for bursts (root may exceed rmem_max); an overrun is still caught as ENOBUFS.
  int rcvbuf = 1 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
  const char *what = NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) < 0) what = "SO_ATTACH_FILTER";
  else if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) what = "bind(CN_IDX_PROC)";
  if (!what) {
    struct {
      struct nlmsghdr nl;
      struct cn_msg cn;
      enum proc_cn_mcast_op op;
    } __attribute__((packed)) req;
    memset(&req, 0, sizeof req);
    req.nl.nlmsg_len = sizeof req;
    req.nl.nlmsg_type = NLMSG_DONE;
    req.cn.id.idx = CN_IDX_PROC;
    req.cn.id.val = CN_VAL_PROC;
    req.cn.len = sizeof req.op;
    req.op = PROC_CN_MCAST_LISTEN;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) what = "PROC_CN_MCAST_LISTEN";
  }
  if (what) {
    int err = errno;
    close(fd);
    return host_throw(env, what, err);
  }
  uv_loop_t *loop;
  exec_watch *w = calloc(1, sizeof *w);
  napi_value name, handle, closer, resource;
  if (!w || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    free(w);
    close(fd);
    return host_throw(env, "watchExecs", ENOMEM);
  }
  w->env = env;
  w->fd = fd;
  w->delay_ms = delay;
  napi_create_reference(env, argv[0], 1, &w->callback);
  napi_create_string_utf8(env, "subhost:proc-connector", NAPI_AUTO_LENGTH, &name);
  napi_create_object(env, &resource);
  napi_async_init(env, resource, name, &w->context);
  uv_poll_init(loop, &w->poll, fd);
  uv_timer_init(loop, &w->timer);
  w->poll.data = w->timer.data = w;
  w->open_handles = 2;
  // Like fs.watch({ persistent: false }): the watch alone does not keep the process running.
  uv_unref((uv_handle_t *)&w->poll);
  uv_unref((uv_handle_t *)&w->timer);
  uv_poll_start(&w->poll, UV_READABLE, on_readable);
  napi_create_object(env, &handle);
  napi_wrap(env, handle, w, NULL, NULL, NULL);
  napi_create_function(env, "close", NAPI_AUTO_LENGTH, close_fn, NULL, &closer);
  napi_set_named_property(env, handle, "close", closer);
  napi_value fdv;
  napi_create_int32(env, fd, &fdv);
  napi_set_named_property(env, handle, "fd", fdv);
  return handle;
}

void register_proc_connector(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"watchExecs", NULL, watch_execs, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
