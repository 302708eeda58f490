// See rtnl.h.
#include "rtnl.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

void *rtnl_start(rtnl_msg *m, unsigned short type, unsigned short flags, size_t size) {
  memset(m, 0, sizeof *m);
  m->h.nlmsg_len = NLMSG_LENGTH(size);
  m->h.nlmsg_type = type;
  m->h.nlmsg_flags = NLM_F_REQUEST | flags;
  return NLMSG_DATA(&m->h);
}

struct ifinfomsg *rtnl_link_msg(rtnl_msg *m, unsigned short type, unsigned short flags) {
  struct ifinfomsg *ifi = rtnl_start(m, type, NLM_F_ACK | flags, sizeof *ifi);
  ifi->ifi_family = AF_UNSPEC;
  return ifi;
}

int rtnl_put(rtnl_msg *m, unsigned short type, const void *data, size_t len) {
  size_t at = NLMSG_ALIGN(m->h.nlmsg_len);
  if (at + RTA_SPACE(len) > sizeof m->bytes) return -1;
  struct rtattr *a = (struct rtattr *)(m->bytes + at);
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  m->h.nlmsg_len = at + RTA_ALIGN(a->rta_len);
  return 0;
}

struct rtattr *rtnl_nest(rtnl_msg *m, unsigned short type) {
  struct rtattr *a = (struct rtattr *)(m->bytes + NLMSG_ALIGN(m->h.nlmsg_len));
  return rtnl_put(m, type, NULL, 0) == 0 ? a : NULL;
}

void rtnl_nest_end(rtnl_msg *m, struct rtattr *nest) {
  nest->rta_len = (unsigned short)((m->bytes + m->h.nlmsg_len) - (char *)nest);
}

/** Send m, then read until its answer ends: an NLMSG_ERROR (an acknowledgement when 0) or a dump's NLMSG_DONE; each() gets the rest. */
static int exchange(int fd, rtnl_msg *m, int (*each)(const struct nlmsghdr *h, void *arg), void *arg) {
  m->h.nlmsg_seq = 1;
  if (send(fd, m, m->h.nlmsg_len, 0) < 0) return errno;
  for (;;) {
    static __thread char buf[32768];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != m->h.nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
        return e < 0 ? -e : 0;
      }
      int e = each ? each(h, arg) : 0;
      if (e) return e;
    }
  }
}

int rtnl_request(int fd, rtnl_msg *m) {
  return exchange(fd, m, NULL, NULL);
}

int rtnl_dump(int fd, rtnl_msg *m, int (*each)(const struct nlmsghdr *h, void *arg), void *arg) {
  m->h.nlmsg_flags |= NLM_F_DUMP;
  return exchange(fd, m, each, arg);
}
