{
  "targets": [
    {
      "target_name": "subhost_bpf",
      "sources": ["bpf.c", "host.c", "spawn.c", "spawn-args.c", "proc_connector.c", "memory.c", "pread_text.c", "loops.c", "session.c", "teardown.c", "loop-attach.c", "mount.c", "netns.c", "netns-addrs.c", "veth.c", "rtnl.c", "blkid.c", "pipe-read.c", "read-file.c"],
      "libraries": ["-lblkid"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-std=gnu11"]
    },
    {
      "target_name": "pivot-exec",
      "type": "executable",
      "sources": ["pivot-exec.c", "program.c", "guest-fs.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-std=gnu11", "-O2"],
      "ldflags": ["-static", "-s"]
    },
    {
      "target_name": "supervisor",
      "type": "executable",
      "sources": ["supervisor.c", "program.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-std=gnu11", "-O2"],
      "ldflags": ["-static", "-s"]
    }
  ]
}
