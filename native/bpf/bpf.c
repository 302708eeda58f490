// subhost's way to bpf(2): load a cgroup device program from instructions made in TypeScript
// (src/bpf/), attach it to a cgroup, and read what is attached. Node-API only, no libbpf.
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <node_api.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "addon.h"
#include <unistd.h>

#define LOG_SIZE 65536
#define MAX_IDS 64

static int sys_bpf(int cmd, union bpf_attr *attr) {
  return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

// Throws "<what>: <strerror>" with the errno as `code` (EPERM, EINVAL…) and returns NULL.
static napi_value throw_errno(napi_env env, const char *what, int err, const char *detail) {
  char msg[LOG_SIZE + 256];
  snprintf(msg, sizeof msg, "%s: %s%s%s", what, strerror(err), detail && *detail ? "\n" : "", detail ? detail : "");
  napi_value code, text, error;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  const char *name = err == EPERM ? "EPERM" : err == EINVAL ? "EINVAL" : err == ENOENT ? "ENOENT" : err == EACCES ? "EACCES" : err == ENOSYS ? "ENOSYS" : err == EBADF ? "EBADF" : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, NULL, text, &error);
  napi_set_named_property(env, error, "code", code);
  napi_value errnoValue;
  napi_create_int32(env, err, &errnoValue);
  napi_set_named_property(env, error, "errno", errnoValue);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_usage(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return -1;
  return 0;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok ? 0 : -1;
}

static napi_value int_value(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

// The verifier gives up with EAGAIN whenever a signal is pending for the thread (Node gets SIGCHLD
// as children end; --cpu-prof sends SIGPROF every few µs): the load runs with every signal
// blocked, which the kernel then leaves pending until the mask is restored.
static int load_unsignalled(union bpf_attr *attr, int *err) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int fd = sys_bpf(BPF_PROG_LOAD, attr);
  *err = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return fd;
}

// loadDeviceProgram(insns: Buffer, name: string, license: string): number (fd)
static napi_value load_device_program(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  void *insns;
  size_t size;
  char name[BPF_OBJ_NAME_LEN] = {0}, license[32] = {0};
  if (get_args(env, info, 3, argv) || napi_get_buffer_info(env, argv[0], &insns, &size) != napi_ok || size == 0 || size % sizeof(struct bpf_insn) ||
      get_string(env, argv[1], name, sizeof name) || get_string(env, argv[2], license, sizeof license))
    return throw_usage(env, "loadDeviceProgram(insns: Buffer of 8-byte instructions, name: string, license: string)");
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uintptr_t)insns;
  attr.insn_cnt = size / sizeof(struct bpf_insn);
  attr.license = (uintptr_t)license;
  memcpy(attr.prog_name, name, sizeof attr.prog_name);  // NUL-terminated by get_string
  int err, fd = load_unsignalled(&attr, &err);
  if (fd >= 0) return int_value(env, fd);
  // Refused: load again with the verifier's log (a logged load takes it several times longer), for the message.
  char *log = calloc(1, LOG_SIZE);
  if (log) {
    attr.log_buf = (uintptr_t)log;
    attr.log_size = LOG_SIZE;
    attr.log_level = 1;
    int again, fd2 = load_unsignalled(&attr, &again);
    if (fd2 >= 0) {
      free(log);
      return int_value(env, fd2);
    }
    err = again;
  }
  napi_value r = throw_errno(env, "BPF_PROG_LOAD", err, log);
  free(log);
  return r;
}

static int open_cgroup(napi_env env, napi_value v, char *path, size_t size) {
  if (get_string(env, v, path, size)) return -2;
  return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

// attachDeviceProgram(cgroupPath: string, progFd: number, flags: number): void
static napi_value attach_device_program(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char path[4096];
  int32_t prog, flags;
  if (get_args(env, info, 3, argv) || napi_get_value_int32(env, argv[1], &prog) != napi_ok || napi_get_value_int32(env, argv[2], &flags) != napi_ok)
    return throw_usage(env, "attachDeviceProgram(cgroupPath: string, progFd: number, flags: number)");
  int cg = open_cgroup(env, argv[0], path, sizeof path);
  if (cg == -2) return throw_usage(env, "attachDeviceProgram: cgroupPath must be a string");
  if (cg < 0) return throw_errno(env, "open", errno, NULL);
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = cg;
  attr.attach_bpf_fd = prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = flags;
  int rc = sys_bpf(BPF_PROG_ATTACH, &attr);
  int err = errno;
  close(cg);
  if (rc < 0) return throw_errno(env, "BPF_PROG_ATTACH", err, NULL);
  return NULL;
}

// queryDevicePrograms(cgroupPath: string, effective: boolean): { flags: number, ids: number[] }
static napi_value query_device_programs(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[4096];
  bool effective;
  if (get_args(env, info, 2, argv) || napi_get_value_bool(env, argv[1], &effective) != napi_ok)
    return throw_usage(env, "queryDevicePrograms(cgroupPath: string, effective: boolean)");
  int cg = open_cgroup(env, argv[0], path, sizeof path);
  if (cg == -2) return throw_usage(env, "queryDevicePrograms: cgroupPath must be a string");
  if (cg < 0) return throw_errno(env, "open", errno, NULL);
  __u32 ids[MAX_IDS];
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.query.target_fd = cg;
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.query_flags = effective ? BPF_F_QUERY_EFFECTIVE : 0;
  attr.query.prog_ids = (uintptr_t)ids;
  attr.query.prog_cnt = MAX_IDS;
  int rc = sys_bpf(BPF_PROG_QUERY, &attr);
  int err = errno;
  close(cg);
  if (rc < 0) return throw_errno(env, "BPF_PROG_QUERY", err, NULL);
  napi_value result, list;
  napi_create_object(env, &result);
  napi_create_array_with_length(env, attr.query.prog_cnt, &list);
  for (__u32 i = 0; i < attr.query.prog_cnt && i < MAX_IDS; i++) napi_set_element(env, list, i, int_value(env, ids[i]));
  napi_set_named_property(env, result, "flags", int_value(env, attr.query.attach_flags));
  napi_set_named_property(env, result, "ids", list);
  return result;
}

// programInfo(fd: number) or programInfo({ id }): { id, name, tag, type } — null when no such id.
static napi_value program_info(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  napi_valuetype t;
  if (get_args(env, info, 1, argv) || napi_typeof(env, argv[0], &t) != napi_ok) return throw_usage(env, "programInfo(fd: number | { id: number })");
  int fd, own = 0;
  if (t == napi_number) {
    if (napi_get_value_int32(env, argv[0], &fd) != napi_ok) return throw_usage(env, "programInfo: fd");
  } else {
    napi_value idv;
    uint32_t id;
    if (napi_get_named_property(env, argv[0], "id", &idv) != napi_ok || napi_get_value_uint32(env, idv, &id) != napi_ok) return throw_usage(env, "programInfo: { id: number }");
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (fd < 0) {
      if (errno == ENOENT) {
        napi_value nul;
        napi_get_null(env, &nul);
        return nul;
      }
      return throw_errno(env, "BPF_PROG_GET_FD_BY_ID", errno, NULL);
    }
    own = 1;
  }
  struct bpf_prog_info pi;
  memset(&pi, 0, sizeof pi);
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.info.bpf_fd = fd;
  attr.info.info_len = sizeof pi;
  attr.info.info = (uintptr_t)&pi;
  int rc = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &attr);
  int err = errno;
  if (own) close(fd);
  if (rc < 0) return throw_errno(env, "BPF_OBJ_GET_INFO_BY_FD", err, NULL);
  char tag[2 * BPF_TAG_SIZE + 1];
  for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
  napi_value result, name, tagv;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, pi.name, strnlen(pi.name, sizeof pi.name), &name);
  napi_create_string_utf8(env, tag, NAPI_AUTO_LENGTH, &tagv);
  napi_set_named_property(env, result, "id", int_value(env, pi.id));
  napi_set_named_property(env, result, "type", int_value(env, pi.type));
  napi_set_named_property(env, result, "name", name);
  napi_set_named_property(env, result, "tag", tagv);
  return result;
}


static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"loadDeviceProgram", NULL, load_device_program, NULL, NULL, NULL, napi_default, NULL},
      {"attachDeviceProgram", NULL, attach_device_program, NULL, NULL, NULL, napi_default, NULL},
      {"queryDevicePrograms", NULL, query_device_programs, NULL, NULL, NULL, napi_default, NULL},
      {"programInfo", NULL, program_info, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value flags;
  napi_create_object(env, &flags);
  napi_set_named_property(env, flags, "ALLOW_OVERRIDE", int_value(env, BPF_F_ALLOW_OVERRIDE));
  napi_set_named_property(env, flags, "ALLOW_MULTI", int_value(env, BPF_F_ALLOW_MULTI));
  napi_set_named_property(env, exports, "flags", flags);
  register_host_calls(env, exports);
  register_spawn_calls(env, exports);
  register_proc_connector(env, exports);
  register_memory_calls(env, exports);
  register_pread_text(env, exports);
  register_loop_list(env, exports);
  register_session_calls(env, exports);
  register_teardown_calls(env, exports);
  register_loop_attach(env, exports);
  register_mount_call(env, exports);
  register_netns_call(env, exports);
  register_netns_addresses(env, exports);
  register_veth_calls(env, exports);
  register_blkid_calls(env, exports);
  register_pipe_read(env, exports);
  register_read_file(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
