// One rtnetlink request at a time, for netns.c and veth.c: a message built attribute by attribute
// (nests included), sent, and its acknowledgement read (rtnl.c).
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

/** A message of type with flags (NLM_F_REQUEST | NLM_F_ACK added) and a zeroed ifinfomsg: that header. */
struct ifinfomsg *rtnl_link_msg(rtnl_msg *m, unsigned short type, unsigned short flags);
/** Append an attribute; -1 (nothing appended) where it would not fit the message. */
int rtnl_put(rtnl_msg *m, unsigned short type, const void *data, size_t len);
/** Open a nested attribute (its length set by rtnl_nest_end), or NULL where it would not fit. */
struct rtattr *rtnl_nest(rtnl_msg *m, unsigned short type);
void rtnl_nest_end(rtnl_msg *m, struct rtattr *nest);
/** Send m on fd and read its acknowledgement: 0, or the errno the kernel answered. */
int rtnl_request(int fd, rtnl_msg *m);
