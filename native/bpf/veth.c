// A boot's veth pairs by rtnetlink, on a thread of libuv's pool: the `ip -batch` process that made
// them took 11-17 ms of boot's way to PID 1 here (a fork and exec alone cost 4 ms on this VM), the
// kernel's work 1.5 ms. The same two requests as that batch: the pair, with its peer in the
// subhost's namespace (`link add HOST address MAC type veth peer name INSIDE address MAC netns NS`),
// then the host end marked, enslaved and up in one (`link set HOST alias ALIAS master BRIDGE up`).
// The kernel sets no alias on a link it creates, so the mark is always a second request: a boot
// killed between the two leaves an unmarked host end whose peer is in NAME's (marked) namespace,
// and the pair goes with that namespace when stop drops it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <net/if.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "addon.h"
#include "rtnl.h"

// IFALIASZ of <linux/if.h>, which cannot be included beside <net/if.h>.
#define ALIAS_SIZE 256

typedef struct veth_job {
  napi_async_work work;
  napi_deferred deferred;
  int mark;
  char netns[4096];
  char host[IF_NAMESIZE], inside[IF_NAMESIZE], bridge[IF_NAMESIZE];
  unsigned char host_mac[6], mac[6];
  char alias[ALIAS_SIZE];
  const char *failed;
  int err;
} veth_job;

/** RTM_NEWLINK creating HOST (here) and INSIDE (in the namespace open at ns_fd), both down. */
static int add_pair(int fd, veth_job *j, int ns_fd) {
  rtnl_msg m;
  rtnl_link_msg(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  // Every put is checked (a message that does not fit is refused whole, never sent cut).
  int full = rtnl_put(&m, IFLA_IFNAME, j->host, strlen(j->host) + 1);
  full |= rtnl_put(&m, IFLA_ADDRESS, j->host_mac, 6);
  struct rtattr *info = rtnl_nest(&m, IFLA_LINKINFO);
  full |= rtnl_put(&m, IFLA_INFO_KIND, "veth", 4);
  struct rtattr *data = rtnl_nest(&m, IFLA_INFO_DATA);
  struct rtattr *peer = rtnl_nest(&m, VETH_INFO_PEER);
  if (full || !info || !data || !peer || NLMSG_ALIGN(m.h.nlmsg_len) + NLMSG_ALIGN(sizeof(struct ifinfomsg)) > sizeof m.bytes) return EMSGSIZE;
  struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
  // The peer's attributes follow an ifinfomsg of its own, inside VETH_INFO_PEER.
  memcpy(m.bytes + m.h.nlmsg_len, &peer_ifi, sizeof peer_ifi);
  m.h.nlmsg_len += NLMSG_ALIGN(sizeof peer_ifi);
  full |= rtnl_put(&m, IFLA_IFNAME, j->inside, strlen(j->inside) + 1);
  full |= rtnl_put(&m, IFLA_ADDRESS, j->mac, 6);
  unsigned int nsfd = (unsigned int)ns_fd;
  full |= rtnl_put(&m, IFLA_NET_NS_FD, &nsfd, sizeof nsfd);
  if (full) return EMSGSIZE;
  rtnl_nest_end(&m, peer);
  rtnl_nest_end(&m, data);
  rtnl_nest_end(&m, info);
  return rtnl_request(fd, &m);
}

/** RTM_NEWLINK on HOST: alias, master and up in one request. */
static int mark_host(int fd, veth_job *j) {
  unsigned int master = if_nametoindex(j->bridge);
  if (!master) return errno;
  rtnl_msg m;
  struct ifinfomsg *ifi = rtnl_link_msg(&m, RTM_NEWLINK, 0);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  int full = rtnl_put(&m, IFLA_IFNAME, j->host, strlen(j->host) + 1);
  full |= rtnl_put(&m, IFLA_IFALIAS, j->alias, strlen(j->alias));
  full |= rtnl_put(&m, IFLA_MASTER, &master, sizeof master);
  return full ? EMSGSIZE : rtnl_request(fd, &m);
}

static void veth_work(napi_env env, void *data) {
  (void)env;
  veth_job *j = data;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    j->failed = "a netlink socket", j->err = errno;
    return;
  }
  if (j->mark) {
    if ((j->err = mark_host(fd, j))) j->failed = "marking";
  } else {
    int ns = open(j->netns, O_RDONLY | O_CLOEXEC);
    if (ns < 0) j->failed = "opening the namespace of", j->err = errno;
    else if ((j->err = add_pair(fd, j, ns))) j->failed = "adding";
    if (ns >= 0) close(ns);
  }
  close(fd);
}

static void veth_done(napi_env env, napi_status status, void *data) {
  veth_job *j = data;
  char what[4400];
  snprintf(what, sizeof what, "veth %s: %s", j->host, j->err ? j->failed : "queueing");
  settle(env, j->deferred, status, j->err, what);
  napi_delete_async_work(env, j->work);
  free(j);
}

/** "fe:01:23:45:67:89" as 6 bytes: 0, or -1. */
static int get_mac(napi_env env, napi_value v, unsigned char mac[6]) {
  char text[32];
  unsigned int b[6];
  char end;
  if (get_path(env, v, text, sizeof text) != 0) return -1;
  if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6) return -1;
  for (int i = 0; i < 6; i++) mac[i] = (unsigned char)b[i];
  return 0;
}

static int get_ifname(napi_env env, napi_value v, char *buf) {
  return get_path(env, v, buf, IF_NAMESIZE) != 0 || !buf[0] || strchr(buf, '/') ? -1 : 0;
}

// addVeth(netnsPath, host, hostMac, inside, mac) -> Promise: the pair, down, its peer in the namespace.
// markVeth(host, alias, bridge) -> Promise: the host end marked, enslaved and up. Both reject with .code.
static napi_value veth_call(napi_env env, napi_callback_info info, int mark) {
  const char *name = mark ? "markVeth" : "addVeth";
  size_t argc = 5;
  napi_value argv[5];
  veth_job *j = calloc(1, sizeof *j);
  if (!j) return host_throw(env, name, ENOMEM);
  j->mark = mark;
  int bad = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < (mark ? 3u : 5u);
  if (!bad && mark) {
    bad = get_ifname(env, argv[0], j->host) || get_path(env, argv[1], j->alias, sizeof j->alias) || get_ifname(env, argv[2], j->bridge);
  } else if (!bad) {
    bad = get_path(env, argv[0], j->netns, sizeof j->netns) || j->netns[0] != '/' || get_ifname(env, argv[1], j->host) || get_mac(env, argv[2], j->host_mac) ||
          get_ifname(env, argv[3], j->inside) || get_mac(env, argv[4], j->mac);
  }
  if (bad) {
    free(j);
    return host_throw(env, name, EINVAL);
  }
  napi_value promise = queue_promise(env, name, j, veth_work, veth_done, &j->work, &j->deferred);
  if (!promise) free(j);
  return promise;
}

static napi_value add_veth(napi_env env, napi_callback_info info) {
  return veth_call(env, info, 0);
}

static napi_value mark_veth(napi_env env, napi_callback_info info) {
  return veth_call(env, info, 1);
}

void register_veth_calls(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"addVeth", NULL, add_veth, NULL, NULL, NULL, napi_default, NULL},
      {"markVeth", NULL, mark_veth, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
