/**
 * The few eBPF instructions a cgroup device program needs, encoded as the kernel reads them
 * (struct bpf_insn: opcode, dst/src registers in one byte, 16-bit offset, 32-bit immediate;
 * little-endian, as on every host subhost runs on). Constants from linux/bpf_common.h and bpf.h.
 */
export interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const BPF_LDX = 0x01;
const BPF_ALU64 = 0x07;
const BPF_JMP = 0x05;
const BPF_MEM = 0x60;
const BPF_W = 0x00;
const BPF_K = 0x00;
const BPF_AND = 0x50;
const BPF_MOV = 0xb0;
const BPF_JNE = 0x50;
const BPF_EXIT = 0x90;

export const OP = {
  loadWord: BPF_LDX | BPF_MEM | BPF_W,
  andImm: BPF_ALU64 | BPF_AND | BPF_K,
  movImm: BPF_ALU64 | BPF_MOV | BPF_K,
  jneImm: BPF_JMP | BPF_JNE | BPF_K,
  exit: BPF_JMP | BPF_EXIT,
} as const;

/** dst = *(u32 *)(src + off) */
export const loadWord = (dst: number, src: number, off: number): Insn => ({ code: OP.loadWord, dst, src, off, imm: 0 });
/** dst &= imm */
export const andImm = (dst: number, imm: number): Insn => ({ code: OP.andImm, dst, src: 0, off: 0, imm });
/** dst = imm */
export const movImm = (dst: number, imm: number): Insn => ({ code: OP.movImm, dst, src: 0, off: 0, imm });
/** if dst != imm: skip `off` instructions */
export const jneImm = (dst: number, imm: number, off: number): Insn => ({ code: OP.jneImm, dst, src: 0, off, imm });
export const exit = (): Insn => ({ code: OP.exit, dst: 0, src: 0, off: 0, imm: 0 });

/** The bytes BPF_PROG_LOAD takes: 8 per instruction. */
export function encode(insns: Insn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((i, n) => {
    if (i.dst > 10 || i.src > 10 || i.off !== (i.off << 16) >> 16 || i.imm !== (i.imm | 0)) throw new RangeError(`bad instruction ${n}: ${JSON.stringify(i)}`);
    buf.writeUInt8(i.code, n * 8);
    buf.writeUInt8((i.src << 4) | i.dst, n * 8 + 1);
    buf.writeInt16LE(i.off, n * 8 + 2);
    buf.writeInt32LE(i.imm, n * 8 + 4);
  });
  return buf;
}
