// A boot's network namespace, on a thread of libuv's pool: `ip netns add` and `ip netns exec NAME
// ip link set lo up` cost two processes and a sysfs mount (20-30 ms here) where the kernel needs
// 0.2 ms. Each namespace is made on a thread of its own: unshare(CLONE_NEWNET) moves only that
// thread, which ends afterwards, so no thread of the pool is ever left in another namespace.
// (The veths into it: veth.c.)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "addon.h"
#include "rtnl.h"

// IFALIASZ of <linux/if.h>, which cannot be included beside <net/if.h>.
#define ALIAS_SIZE 256

/** `ip link set lo up alias ALIAS` in the caller's namespace (one RTM_NEWLINK): 0, or the errno. */
static int lo_up(const char *alias) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return errno;
  rtnl_msg m;
  struct ifinfomsg *ifi = rtnl_link_msg(&m, RTM_NEWLINK, 0);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  int full = rtnl_put(&m, IFLA_IFNAME, "lo", 3);
  if (alias[0]) full |= rtnl_put(&m, IFLA_IFALIAS, alias, strlen(alias));
  int err = full ? EMSGSIZE : rtnl_request(fd, &m);
  close(fd);
  return err;
}

typedef struct netns_job {
  napi_async_work work;
  napi_deferred deferred;
  char path[4096];
  char alias[ALIAS_SIZE];
  const char *failed;
  int err;
} netns_job;

static void *make_netns(void *data) {
  netns_job *j = data;
  char self[64];
  snprintf(self, sizeof self, "/proc/self/task/%d/ns/net", gettid());
  if (unshare(CLONE_NEWNET) < 0) j->failed = "unshare", j->err = errno;
  else if ((j->err = lo_up(j->alias))) j->failed = "setting lo up";
  // Bound to its file only once marked: a namespace of that name without the mark is never ours.
  else if (mount(self, j->path, "none", MS_BIND, NULL) < 0) j->failed = "mount", j->err = errno;
  return NULL;
}

/** What `ip netns add` does to its folder: a mount of its own, shared, so the bind mounts in it reach every mount namespace. */
static int share_folder(const char *dir) {
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) return errno;
  if (mount("", dir, "none", MS_SHARED | MS_REC, NULL) == 0) return 0;
  if (errno != EINVAL) return errno;
  if (mount(dir, dir, "none", MS_BIND | MS_REC, NULL) < 0) return errno;
  return mount("", dir, "none", MS_SHARED | MS_REC, NULL) < 0 ? errno : 0;
}

static void netns_work(napi_env env, void *data) {
  (void)env;
  netns_job *j = data;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", j->path);
  if ((j->err = share_folder(dirname(dir)))) {
    j->failed = "preparing the folder of";
    return;
  }
  int fd = open(j->path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) {
    j->failed = "creating", j->err = errno;
    return;
  }
  close(fd);
  pthread_t t;
  if ((j->err = pthread_create(&t, NULL, make_netns, j))) j->failed = "starting a thread for";
  else pthread_join(t, NULL);
  if (j->err) {
    umount2(j->path, MNT_DETACH);
    unlink(j->path);
  }
}

static void netns_done(napi_env env, napi_status status, void *data) {
  netns_job *j = data;
  char what[4200];
  snprintf(what, sizeof what, "network namespace %s: %s", j->path, j->err ? j->failed : "queueing");
  settle(env, j->deferred, status, j->err, what);
  napi_delete_async_work(env, j->work);
  free(j);
}

// addNetns(path, alias) -> Promise: `ip netns add` at path with lo up and alias set before the
// file is bound; the file is removed again on failure; rejects with .code (EEXIST: the file exists).
static napi_value add_netns(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  netns_job *j = calloc(1, sizeof *j);
  if (!j) return host_throw(env, "addNetns", ENOMEM);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      get_path(env, argv[0], j->path, sizeof j->path) != 0 || j->path[0] != '/' || get_path(env, argv[1], j->alias, sizeof j->alias) != 0) {
    free(j);
    return host_throw(env, "addNetns", EINVAL);
  }
  napi_value promise = queue_promise(env, "addNetns", j, netns_work, netns_done, &j->work, &j->deferred);
  if (!promise) free(j);
  return promise;
}

void register_netns_call(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"addNetns", NULL, add_netns, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
