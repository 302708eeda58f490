import { describe, expect, it } from 'vitest';
import { deviceProgram, DEV_TYPE } from '../../src/core/cgroups/device-program';
import { encode, exit, jneImm, loadWord, movImm, OP, type Insn } from '../../src/host/bpf-insn';
import { deviceRules } from '../../src/core/cgroups/devices';

const ACCESS = { mknod: 1, read: 2, write: 4 };

/** Runs the instructions deviceProgram emits, as the kernel would, on one device access. */
function run(prog: Insn[], type: 'b' | 'c', major: number, minor: number, access: number): number {
  const ctx = [(access << 16) | DEV_TYPE[type], major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0, steps = 0; steps < 10_000; pc++, steps++) {
    const i = prog[pc];
    if (!i) throw new Error(`ran off the end at ${pc}`);
    if (i.code === OP.loadWord) r[i.dst] = ctx[i.off / 4];
    else if (i.code === OP.andImm) r[i.dst] &= i.imm;
    else if (i.code === OP.movImm) r[i.dst] = i.imm;
    else if (i.code === OP.jneImm) pc += r[i.dst] !== i.imm ? i.off : 0;
    else if (i.code === OP.exit) return r[0];
    else throw new Error(`unknown opcode ${i.code}`);
  }
  throw new Error('did not end');
}

describe('the device eBPF program', () => {
  const disks = [
    { node: 'vda1', major: 7, minor: 6 },
    { node: 'vdb1', major: 259, minor: 3 },
  ];
  const prog = deviceProgram(deviceRules(disks, false));
  const withTun = deviceProgram(deviceRules(disks, true));

  it('allows the standard nodes, the pty slaves and the guest disks, for mknod, read and write', () => {
    const allowed: ['b' | 'c', number, number][] = [['c', 1, 3], ['c', 1, 5], ['c', 1, 7], ['c', 1, 8], ['c', 1, 9], ['c', 5, 0], ['c', 5, 2], ['c', 136, 0], ['c', 136, 4711], ['b', 7, 6], ['b', 259, 3]];
    for (const [t, ma, mi] of allowed) for (const a of [ACCESS.mknod, ACCESS.read, ACCESS.write, ACCESS.read | ACCESS.write]) expect(run(prog, t, ma, mi, a), `${t} ${ma}:${mi} ${a}`).toBe(1);
  });

  it('denies everything else: host disks, a neighbouring minor, the same numbers of the other type, /dev/mem, tun without TUN=yes', () => {
    const denied: ['b' | 'c', number, number][] = [['b', 254, 0], ['b', 8, 0], ['b', 7, 5], ['b', 7, 7], ['c', 7, 6], ['b', 1, 3], ['c', 1, 1], ['c', 1, 2], ['c', 10, 200], ['c', 137, 0], ['b', 136, 0], ['c', 4, 1]];
    for (const [t, ma, mi] of denied) for (const a of [ACCESS.mknod, ACCESS.read, ACCESS.write]) expect(run(prog, t, ma, mi, a), `${t} ${ma}:${mi} ${a}`).toBe(0);
    expect(run(withTun, 'c', 10, 200, ACCESS.read | ACCESS.write)).toBe(1);
    expect(run(withTun, 'c', 10, 201, ACCESS.read)).toBe(0);
  });

  it('with no rules, denies all; every jump lands inside the program', () => {
    expect(run(deviceProgram([]), 'c', 1, 3, ACCESS.read)).toBe(0);
    withTun.forEach((i, pc) => {
      if (i.code === OP.jneImm) expect(pc + 1 + i.off).toBeLessThan(withTun.length);
    });
    expect(withTun[withTun.length - 1].code).toBe(OP.exit);
  });

  it('encodes struct bpf_insn as the kernel reads it', () => {
    // The same bytes as linux/filter.h's BPF_MOV64_IMM(BPF_REG_0, 1), BPF_EXIT_INSN(),
    // BPF_LDX_MEM(BPF_W, BPF_REG_4, BPF_REG_1, 4), BPF_JMP_IMM(BPF_JNE, BPF_REG_2, 2, 3).
    expect(encode([movImm(0, 1), exit(), loadWord(4, 1, 4), jneImm(2, 2, 3)]).toString('hex')).toBe('b700000001000000' + '9500000000000000' + '6114040000000000' + '5502030002000000');
    expect(encode([jneImm(5, 0x7fffffff, -1)]).toString('hex')).toBe('5505ffffffffff7f');
    expect(() => encode([jneImm(2, 1, 40000)])).toThrow(RangeError);
    expect(() => encode([movImm(11, 1)])).toThrow(RangeError);
  });
});
