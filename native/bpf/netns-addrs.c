// The addresses inside network namespaces, as `ip -n NAME -json addr show` gives them, for `subhost
// list`, `status` and the daemon's /api/v1/subhosts: one ip process per running subhost (200 of them
// took a second of `list` here) where a netlink dump inside each namespace takes microseconds. One
// thread of its own visits the namespaces in turn (setns moves only that thread) and then ends, so
// no thread of libuv's pool is ever left in another namespace.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "addon.h"
#include "rtnl.h"

/** A growing text: one line per address. */
typedef struct text {
  char *s;
  size_t len, cap;
} text;

typedef struct addrs_job {
  napi_async_work work;
  napi_deferred deferred;
  size_t count;
  char **paths;
  text *out;
  int *err;
  int failed;
} addrs_job;

static int append(text *t, const char *line) {
  size_t n = strlen(line);
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    while (cap < t->len + n + 1) cap *= 2;
    char *s = realloc(t->s, cap);
    if (!s) return ENOMEM;
    t->s = s, t->cap = cap;
  }
  memcpy(t->s + t->len, line, n + 1);
  t->len += n;
  return 0;
}

static const char *scope_name(unsigned char scope, char *buf, size_t size) {
  switch (scope) {
  case RT_SCOPE_UNIVERSE: return "global";
  case RT_SCOPE_SITE: return "site";
  case RT_SCOPE_LINK: return "link";
  case RT_SCOPE_HOST: return "host";
  case RT_SCOPE_NOWHERE: return "nowhere";
  default: snprintf(buf, size, "%u", scope); return buf;
  }
}

/** One address message as "IFNAME FAMILY LOCAL PREFIXLEN SCOPE\n" (ip shows IFA_LOCAL, else IFA_ADDRESS, as local). */
static int add_line(const struct nlmsghdr *h, void *arg) {
  text *t = arg;
  if (h->nlmsg_type != RTM_NEWADDR) return 0;
  const struct ifaddrmsg *ifa = NLMSG_DATA(h);
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return 0;
  const void *local = NULL, *address = NULL;
  int len = IFA_PAYLOAD(h);
  for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFA_LOCAL) local = RTA_DATA(a);
    else if (a->rta_type == IFA_ADDRESS) address = RTA_DATA(a);
  }
  if (!local) local = address;
  if (!local) return 0;
  char name[IF_NAMESIZE], ip[INET6_ADDRSTRLEN], scope[8], line[IF_NAMESIZE + INET6_ADDRSTRLEN + 32];
  if (!if_indextoname(ifa->ifa_index, name)) snprintf(name, sizeof name, "if%u", ifa->ifa_index);
  if (!inet_ntop(ifa->ifa_family, local, ip, sizeof ip)) return errno;
  snprintf(line, sizeof line, "%s %s %s %u %s\n", name, ifa->ifa_family == AF_INET ? "inet" : "inet6", ip, ifa->ifa_prefixlen,
           scope_name(ifa->ifa_scope, scope, sizeof scope));
  return append(t, line);
}

/** RTM_GETADDR dumped in the calling thread's namespace: 0, or the errno. */
static int dump_addresses(text *t) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  rtnl_msg m;
  struct ifaddrmsg *ifa = rtnl_start(&m, RTM_GETADDR, 0, sizeof *ifa);
  ifa->ifa_family = AF_UNSPEC;
  int err = rtnl_dump(fd, &m, add_line, t);
  close(fd);
  return err;
}

static void *visit(void *data) {
  addrs_job *j = data;
  for (size_t i = 0; i < j->count; i++) {
    int fd = open(j->paths[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) j->err[i] = errno;
    else if (setns(fd, CLONE_NEWNET) < 0) j->err[i] = errno;
    else j->err[i] = dump_addresses(&j->out[i]);
    if (fd >= 0) close(fd);
  }
  return NULL;
}

static void addrs_work(napi_env env, void *data) {
  (void)env;
  addrs_job *j = data;
  pthread_t t;
  if ((j->failed = pthread_create(&t, NULL, visit, j)) == 0) pthread_join(t, NULL);
}

static void free_job(addrs_job *j) {
  for (size_t i = 0; i < j->count; i++) {
    free(j->paths ? j->paths[i] : NULL);
    free(j->out ? j->out[i].s : NULL);
  }
  free(j->paths);
  free(j->out);
  free(j->err);
  free(j);
}

static void addrs_done(napi_env env, napi_status status, void *data) {
  addrs_job *j = data;
  if (status != napi_ok || j->failed) {
    napi_reject_deferred(env, j->deferred, error_value(env, "netnsAddresses: a thread", status != napi_ok ? ECANCELED : j->failed));
  } else {
    napi_value result;
    napi_create_array_with_length(env, j->count, &result);
    for (size_t i = 0; i < j->count; i++) {
      napi_value v;
      if (j->err[i]) {
        char what[4200];
        snprintf(what, sizeof what, "network namespace %s", j->paths[i]);
        v = error_value(env, what, j->err[i]);
      } else {
        napi_create_string_utf8(env, j->out[i].s ? j->out[i].s : "", j->out[i].len, &v);
      }
      napi_set_element(env, result, i, v);
    }
    napi_resolve_deferred(env, j->deferred, result);
  }
  napi_delete_async_work(env, j->work);
  free_job(j);
}

// netnsAddresses(paths) -> Promise<(string | Error)[]>: for each namespace file, its addresses as
// lines "IFNAME FAMILY LOCAL PREFIXLEN SCOPE", or an Error with .code where it cannot be entered.
static napi_value netns_addresses(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_array = false;
  uint32_t count = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &count) != napi_ok)
    return host_throw(env, "netnsAddresses", EINVAL);
  addrs_job *j = calloc(1, sizeof *j);
  if (!j) return host_throw(env, "netnsAddresses", ENOMEM);
  j->count = count;
  j->paths = calloc(count ? count : 1, sizeof *j->paths);
  j->out = calloc(count ? count : 1, sizeof *j->out);
  j->err = calloc(count ? count : 1, sizeof *j->err);
  if (!j->paths || !j->out || !j->err) {
    free_job(j);
    return host_throw(env, "netnsAddresses", ENOMEM);
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value v;
    char path[4096];
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || get_path(env, v, path, sizeof path) != 0 || path[0] != '/' || !(j->paths[i] = strdup(path))) {
      free_job(j);
      return host_throw(env, "netnsAddresses", EINVAL);
    }
  }
  napi_value promise = queue_promise(env, "netnsAddresses", j, addrs_work, addrs_done, &j->work, &j->deferred);
  if (!promise) free_job(j);
  return promise;
}

void register_netns_addresses(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"netnsAddresses", NULL, netns_addresses, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
