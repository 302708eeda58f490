// One rtnetlink request at a time, for netns.c, veth.c and netns-addrs.c: a message built
// attribute by attribute (nests included), sent, and its acknowledgement or its dump read (rtnl.c).
#pragma once
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stddef.h>

typedef struct rtnl_msg {
  union {
    struct nlmsghdr h;
    char bytes[1024];
  };
} rtnl_msg;

/** A message of type with flags (NLM_F_REQUEST added) and a zeroed family header of size bytes: that header. */
void *rtnl_start(rtnl_msg *m, unsigned short type, unsigned short flags, size_t size);
/** A link request (NLM_F_ACK added) with a zeroed ifinfomsg: that header. */
struct ifinfomsg *rtnl_link_msg(rtnl_msg *m, unsigned short type, unsigned short flags);
/** Append an attribute; -1 (nothing appended) where it would not fit the message. */
int rtnl_put(rtnl_msg *m, unsigned short type, const void *data, size_t len);
/** Open a nested attribute (its length set by rtnl_nest_end), or NULL where it would not fit. */
struct rtattr *rtnl_nest(rtnl_msg *m, unsigned short type);
void rtnl_nest_end(rtnl_msg *m, struct rtattr *nest);
/** Send m on fd and read its acknowledgement: 0, or the errno the kernel answered. */
int rtnl_request(int fd, rtnl_msg *m);
/** Send a dump request (NLM_F_DUMP) and give each answer to each() until the dump ends: 0, or the first errno (the kernel's or each()'s). */
int rtnl_dump(int fd, rtnl_msg *m, int (*each)(const struct nlmsghdr *h, void *arg), void *arg);
