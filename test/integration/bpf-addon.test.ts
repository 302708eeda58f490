import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachDevicePolicy, devicePrograms, PROGRAM_NAME, programLoaded } from '../../src/core/cgroups/device-bpf';
import { deviceProgram } from '../../src/core/cgroups/device-program';
import { encode, exit, jneImm, movImm } from '../../src/host/bpf-insn';
import { addonCandidates, bpfAddon, type SpawnCalls } from '../../src/host/bpf-addon';
import { childrenOf } from '../helpers/procs';
import { findCgroup2Mount } from '../../src/host/cgroupfs';
import { makeTestRoot, removeTestRoot, testName, waitFor } from '../helpers/env';
import { acquireLock, isLocked } from '../../src/host/flock';
import { writeFileAtomic } from '../../src/host/atomic-file';
import { attachLoop, detachLoop } from '../../src/host/loop';
import { listLoopIdentities, loopsBackedBy, losetupIdentities } from '../../src/host/loop-identity';
import { identityOf } from '../../src/host/file-identity';

// The addon (native/bpf) against the kernel: each of its calls, and the errors it turns into
// exceptions. The programs' effect on a guest is in devices-bpf.test.ts and hardening.test.ts.
describe('the bpf(2) addon', () => {
  // Under subhost/ with a test name: the leak check finds it if the test dies before its cleanup.
  const cg = join(findCgroup2Mount(), 'subhost', testName('a'));
  beforeAll(() => mkdirSync(join(cg, 'leaf'), { recursive: true }));
  afterAll(() => {
    for (const d of [join(cg, 'leaf'), cg]) rmdirSync(d, { recursive: false });
  });

  it('loads a program, attaches it with ALLOW_MULTI, and the kernel reports it attached there and in force below', () => {
    const { id, tag } = attachDevicePolicy(cg, [{ type: 'c', major: 1, minor: 3 }]);
    expect(bpfAddon().programInfo({ id })).toEqual({ id, type: 15, name: PROGRAM_NAME, tag });
    expect(devicePrograms(cg, false)).toEqual([id]);
    expect(bpfAddon().queryDevicePrograms(cg, false).flags).toBe(bpfAddon().flags.ALLOW_MULTI);
    expect(devicePrograms(join(cg, 'leaf'), false)).toEqual([]);
    expect(devicePrograms(join(cg, 'leaf'), true)).toEqual([id]);
    // A second one beside it (ALLOW_MULTI): both run.
    const second = attachDevicePolicy(cg, []);
    expect(devicePrograms(join(cg, 'leaf'), true).sort()).toEqual([id, second.id].sort());
  });

  it("frees the cgroup's programs when the cgroup goes", async () => {
    const dir = join(cg, 'gone');
    mkdirSync(dir);
    const { id } = attachDevicePolicy(dir, []);
    rmdirSync(dir);
    await waitFor(`program ${id} to be freed`, () => !programLoaded(id), 10_000);
  });

  it("says why: the verifier's log, a missing cgroup, a bad argument, an unknown id", () => {
    // A jump past the end: the verifier refuses it, and its log is in the message.
    expect(() => bpfAddon().loadDeviceProgram(encode([jneImm(2, 1, 5), movImm(0, 1), exit()]), 'bad', 'MIT')).toThrow(/^BPF_PROG_LOAD: Invalid argument\n.*jump/s);
    expect(() => attachDevicePolicy(join(cg, 'missing'), [])).toThrow(/^attaching the device eBPF program to .*\/missing: open: No such file or directory$/);
    expect(() => devicePrograms(join(cg, 'missing'), true)).toThrow(/No such file or directory$/);
    expect(() => bpfAddon().loadDeviceProgram(Buffer.alloc(5), 'x', 'MIT')).toThrow(TypeError);
    expect(bpfAddon().programInfo({ id: 0x7ffffff0 })).toBeNull();
    expect(encode(deviceProgram([])).length).toBe(6 * 8);
  });

  it('loads while signals keep arriving: the verifier, which gives up with EAGAIN on a pending signal, runs with them blocked', () => {
    // --cpu-prof sends the main thread SIGPROF every 20 µs; a 200-rule program takes the verifier
    // over a millisecond. Before signals were blocked, every one of these loads failed.
    const root = makeTestRoot();
    try {
      const prog = join(root, 'prog.bin');
      writeFileSync(prog, encode(deviceProgram(Array.from({ length: 200 }, (_, minor) => ({ type: 'c' as const, major: 1, minor })))));
      const file = addonCandidates().find((f) => existsSync(f))!;
      const script = `const m={exports:{}};process.dlopen(m,${JSON.stringify(file)});const fs=require('fs');const p=fs.readFileSync(${JSON.stringify(prog)});
let failed=[];for(let i=0;i<50;i++){try{fs.closeSync(m.exports.loadDeviceProgram(p,'sig','MIT'))}catch(e){failed.push(e.message.split('\\n')[0])}}
process.stdout.write(JSON.stringify(failed))`;
      const out = execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${join(root, 'prof')}`, '--cpu-prof-interval', '20', '-e', script], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual([]);
    } finally {
      removeTestRoot(root);
    }
  });
});

// host.c: the two calls boot and stop make instead of spawning flock(1) and `losetup --list`.
describe("the addon's host calls", () => {
  let root: string;
  beforeAll(() => (root = makeTestRoot()));
  afterAll(() => removeTestRoot(root));

  it('tryFlock takes an exclusive or shared flock(2) without blocking, per open file description, as flock(1) did', async () => {
    const path = join(root, 'lock');
    const a = openSync(path, 'a+');
    const b = openSync(path, 'a+');
    const c = openSync(path, 'r');
    try {
      expect(bpfAddon().tryFlock(a, true)).toBe(true);
      expect(bpfAddon().tryFlock(b, true)).toBe(false);
      expect(bpfAddon().tryFlock(c, false)).toBe(false);
      expect(await isLocked(path)).toBe(true);
      await expect(acquireLock(path, { waitSeconds: 0, subject: 'subhost x', holder: 'boot x' })).rejects.toThrow('subhost x is busy');
      // A waiter gets it once the holder lets go.
      setTimeout(() => closeSync(a), 100);
      const lock = await acquireLock(path, { waitSeconds: 5, subject: 'subhost x', holder: 'boot x' });
      expect(readFileSync(path, 'utf8')).toBe(`\`subhost boot x\` (pid ${process.pid})\n`);
      expect(bpfAddon().tryFlock(c, false)).toBe(false);
      lock.release();
      expect(bpfAddon().tryFlock(c, false)).toBe(true);
      expect(bpfAddon().tryFlock(b, false)).toBe(true);
      expect(() => bpfAddon().tryFlock(9999, true)).toThrow(expect.objectContaining({ code: 'EBADF', message: 'flock: Bad file descriptor' }));
    } finally {
      for (const fd of [b, c]) closeSync(fd);
    }
  });

  it("a lock's holder line is written over the last one without truncating the file: padded to its length, read back trimmed", async () => {
    const path = join(root, 'holder');
    const long = await acquireLock(path, { waitSeconds: 0, subject: 'subhost y', holder: 'poweroff a-rather-long-name' });
    const size = statSync(path).size;
    expect(readFileSync(path, 'utf8')).toBe(`\`subhost poweroff a-rather-long-name\` (pid ${process.pid})\n`);
    long.release();
    const short = await acquireLock(path, { waitSeconds: 0, subject: 'subhost y', holder: 'stop y' });
    try {
      const text = readFileSync(path, 'utf8');
      expect(text.length).toBe(size);
      expect(text).toMatch(new RegExp(`^\`subhost stop y\` \\(pid ${process.pid}\\) +\n$`));
      await expect(acquireLock(path, { waitSeconds: 0, subject: 'subhost y', holder: 'boot y' })).rejects.toThrow(`subhost y is busy: \`subhost stop y\` (pid ${process.pid}) is working on it`);
    } finally {
      short.release();
    }
  });

  it('signalGroup signals a whole process group and says false, without an exception, once none of it is left', async () => {
    const calls = bpfAddon() as unknown as Required<SpawnCalls>;
    // sh leads its own group, with a sleep of its own in it.
    const leader = spawn('sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    const gone = new Promise((r) => leader.on('exit', r));
    await waitFor('the sleep in the group', () => childrenOf(leader.pid!).length > 0);
    expect(calls.signalGroup(leader.pid!, 0)).toBe(true);
    expect(calls.signalGroup(leader.pid!, 9)).toBe(true);
    await gone;
    // The killed sleep, reparented, is reaped by its new parent a moment later.
    await waitFor('the group gone', () => !calls.signalGroup(leader.pid!, 0));
    expect(calls.signalGroup(leader.pid!, 0)).toBe(false);
    for (const bad of [[1, 0], [0, 9], [leader.pid!, -1], [leader.pid!, 65]]) expect(() => calls.signalGroup(bad[0], bad[1])).toThrow(TypeError);
  });

  it('closeInheritedFds closes what the process inherited without FD_CLOEXEC (as /proc/self/fdinfo tells it) and leaves its own descriptors', () => {
    const file = addonCandidates().find((f) => existsSync(f))!;
    // Descriptors 40 (a socket) and 41 (a file) are inherited, as a careless caller leaves them (Node itself marks the
    // first few, up to about 10, close-on-exec at its start); the child opens one of its own (close-on-exec).
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const own = fs.openSync('/proc/self/status', 'r');
const byFdinfo = fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => fd > 2).filter((fd) => {
  try { return !(parseInt(/^flags:\\s*(\\d+)/m.exec(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'))[1], 8) & 0o2000000); } catch { return false; }
});
const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(file)});
const closed = m.exports.closeInheritedFds().sort((a, b) => a - b);
const open = (fd) => { try { fs.fstatSync(fd); return true; } catch { return false; } };
process.stdout.write(JSON.stringify({ closed, byFdinfo, inherited: [40, 41].map(open), own: open(own), std: [0, 1, 2].map(open) }));`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit', ...new Array(37).fill('ignore'), 'pipe', openSync('/proc/self/cmdline', 'r')] },
    );
    const r = JSON.parse(out) as { closed: number[]; byFdinfo: number[] };
    // What the fdinfo reading would close, and no more (the test's own runner may pass on a descriptor of its caller too).
    expect(r.closed).toEqual(r.byFdinfo.sort((a, b) => a - b));
    expect(r).toMatchObject({ inherited: [false, false], own: true, std: [true, true, true] });
    expect(r.closed).toEqual(expect.arrayContaining([40, 41]));
  });

  it("childrenCpuMicros gives a waited-for child's CPU in µs: what /proc/self/stat's cutime and cstime give in ticks of 10 ms", () => {
    const ticksMs = () => {
      const text = readFileSync('/proc/self/stat', 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return (Number(f[13]) + Number(f[14])) * 10;
    };
    const us0 = bpfAddon().childrenCpuMicros!();
    const t0 = ticksMs();
    execFileSync('sh', ['-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done']);
    const ms = (bpfAddon().childrenCpuMicros!() - us0) / 1000;
    expect(ms).toBeGreaterThan(30);
    expect(Math.abs(ms - (ticksMs() - t0))).toBeLessThanOrEqual(20);
    // Finer than a tick: not a multiple of 10 ms.
    expect((ms * 1000) % 10_000).not.toBe(0);
  });

  it("readAscii and readBytes read a file whole (bin/load-bundle.cjs's bundle and caches): the same text and bytes as fs, its identity as fstat gives it", () => {
    const calls = bpfAddon() as unknown as { readAscii(path: string): [string, string] | null; readBytes(path: string): Buffer };
    const dir = join(root, 'read-file');
    mkdirSync(dir, { recursive: true });
    const ascii = join(dir, 'ascii.js');
    // Larger than a page, not a whole number of them.
    writeFileSync(ascii, 'const a = "x";\n'.repeat(40_000) + 'end');
    const [text, identity] = calls.readAscii(ascii)!;
    expect(text).toBe(readFileSync(ascii, 'utf8'));
    const st = statSync(ascii, { bigint: true });
    expect(identity).toBe(`${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}`);
    // One byte above 127 anywhere: null, for the caller to read it as UTF-8.
    const utf8 = join(dir, 'utf8.js');
    writeFileSync(utf8, 'x'.repeat(9000) + '→');
    expect(calls.readAscii(utf8)).toBeNull();
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff));
    const binary = join(dir, 'cache');
    writeFileSync(binary, bytes);
    expect(calls.readBytes(binary).equals(bytes)).toBe(true);
    expect(calls.readBytes(utf8).equals(readFileSync(utf8))).toBe(true);
    expect(() => calls.readAscii(join(dir, 'missing'))).toThrow(/ENOENT|No such file/);
    expect(() => calls.readBytes(join(dir, 'missing'))).toThrow(/No such file/);
    // An empty file cannot be mapped: refused (the loader then reads it with fs).
    writeFileSync(join(dir, 'empty'), '');
    expect(() => calls.readBytes(join(dir, 'empty'))).toThrow();
    expect(() => calls.readAscii(1 as unknown as string)).toThrow(TypeError);
  });

  it('publishFile puts a file in place atomically and leaves no temp: renameat2 exchange over an old file, rename(2) for a new one', () => {
    const dir = join(root, 'publish');
    mkdirSync(dir);
    const [path, tmp] = [join(dir, 'state.json'), join(dir, 'state.json.tmp')];
    const publish = bpfAddon().publishFile!;
    writeFileSync(tmp, 'first\n');
    publish(tmp, path);
    expect([readFileSync(path, 'utf8'), existsSync(tmp)]).toEqual(['first\n', false]);
    // Exchanged: the new content is the temp's inode, and a reader holding the old file still reads it whole.
    const old = openSync(path, 'r');
    try {
      writeFileSync(tmp, 'second\n', { mode: 0o640 });
      const ino = statSync(tmp).ino;
      publish(tmp, path);
      expect([readFileSync(path, 'utf8'), statSync(path).ino, statSync(path).mode & 0o777, existsSync(tmp)]).toEqual(['second\n', ino, 0o640, false]);
      expect([readFileSync(old, 'utf8'), fstatSync(old).nlink]).toEqual(['first\n', 0]);
    } finally {
      closeSync(old);
    }
    expect(() => publish(join(dir, 'gone'), path)).toThrow(expect.objectContaining({ code: 'ENOENT', message: 'rename: No such file or directory' }));
    expect(() => publish(tmp, 'x\0y')).toThrow(TypeError);
    // writeFileAtomic without fsync goes this way: the mode asked for, nothing else left in the folder.
    writeFileAtomic(path, 'third\n', 0o600, false);
    expect([readFileSync(path, 'utf8'), statSync(path).mode & 0o777, readdirSync(dir)]).toEqual(['third\n', 0o600, ['state.json']]);
  });

  it('a reader never misses a record rewritten by writeFileAtomic: the old or the new text, whole, on every read', async () => {
    const path = join(root, 'record.json');
    const texts = ['a'.repeat(5000), 'b'.repeat(300)].map((t) => `${JSON.stringify({ t })}\n`);
    writeFileAtomic(path, texts[0], 0o644, false);
    const reader = spawn(process.execPath, ['-e', `
      const fs = require('fs'); const ok = new Set(${JSON.stringify(texts)}); let reads = 0, bad = 0;
      const end = Date.now() + 20000;
      while (!fs.existsSync(${JSON.stringify(`${path}.done`)}) && Date.now() < end) {
        reads++;
        try { if (!ok.has(fs.readFileSync(${JSON.stringify(path)}, 'utf8'))) bad++; } catch { bad++; }
      }
      process.stdout.write(JSON.stringify({ reads, bad }));`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    reader.stdout.on('data', (d: Buffer) => (out += d));
    const ended = new Promise((r) => reader.on('close', r));
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 1; i <= 400; i++) writeFileAtomic(path, texts[i % 2], 0o644, false);
    writeFileSync(`${path}.done`, '');
    await ended;
    const { reads, bad } = JSON.parse(out);
    expect(reads).toBeGreaterThan(100);
    expect(bad).toBe(0);
    expect(readdirSync(root).filter((f) => f.startsWith('record.json.tmp'))).toEqual([]);
  });

  it('loopStatus reads what losetup --list reads: every loop identity is the same as from `losetup --list --json`, a renamed image still known', async () => {
    const image = join(root, 'img');
    writeFileSync(image, Buffer.alloc(4 << 20));
    const dev = await attachLoop(image, { offset: 1 << 20, sizeLimit: 2 << 20 });
    try {
      renameSync(image, `${image}.moved`);
      const ours = await listLoopIdentities();
      const theirs = await losetupIdentities();
      // Other programs attach and detach loops meanwhile: each device both saw on the same file must read the same.
      const same = ours.filter((l) => theirs.some((t) => t.dev === l.dev && t.backingFile === l.backingFile));
      expect(same.length).toBeGreaterThan(0);
      for (const l of same) expect(l).toEqual(theirs.find((t) => t.dev === l.dev));
      const mine = ours.find((l) => l.dev === dev);
      expect(mine).toEqual(theirs.find((t) => t.dev === dev));
      expect(mine).toMatchObject({ backingFile: `${image}.moved`, identity: identityOf(`${image}.moved`), offset: 1 << 20, sizeLimit: 2 << 20 });
      expect(bpfAddon().loopStatus('/dev/loop999999')).toBeNull();
      expect(() => bpfAddon().loopStatus('/etc/passwd')).toThrow(TypeError);
    } finally {
      await detachLoop(dev);
    }
    expect(bpfAddon().loopStatus(dev)).toBeNull();
  });

  it('listLoops reads every loop in one call: a deleted image by the numbers the kernel kept, a block device by its own, as losetup does', async () => {
    const image = join(root, 'gone');
    writeFileSync(image, Buffer.alloc(2 << 20));
    const want = identityOf(image);
    const file = await attachLoop(image);
    const onDevice = await attachLoop(file);
    try {
      unlinkSync(image);
      const listed = bpfAddon().listLoops!();
      expect(listed.find((l) => l.dev === file)).toMatchObject({ backingFile: image, offset: 0 });
      expect(listed.find((l) => l.dev === file)!.blockMajor).toBeUndefined();
      const ours = await listLoopIdentities();
      const theirs = await losetupIdentities();
      expect(ours.find((l) => l.dev === file)).toEqual({ ...theirs.find((t) => t.dev === file), identity: want });
      expect(ours.find((l) => l.dev === onDevice)).toEqual({ ...theirs.find((t) => t.dev === onDevice), identity: identityOf(file) });
      expect(identityOf(file)).toMatch(/^b:7:\d+$/);
    } finally {
      await detachLoop(onDevice);
      await detachLoop(file);
    }
    expect(bpfAddon().listLoops!().some((l) => l.dev === file || l.dev === onDevice)).toBe(false);
  });

  it('listLoopsBacking lists only the loops of the files asked for, as listLoops describes them; loopsBackedBy falls back for a block device', async () => {
    const [a, b] = ['backed-a', 'backed-b'].map((n) => join(root, n));
    for (const f of [a, b]) writeFileSync(f, Buffer.alloc(2 << 20));
    const loopA = await attachLoop(a);
    const loopA2 = await attachLoop(a, { offset: 1 << 20 });
    const loopB = await attachLoop(b);
    const onDevice = await attachLoop(loopB);
    try {
      const id = (f: string) => identityOf(f)!.replace(/^f:/, '');
      const listed = await bpfAddon().listLoopsBacking!([id(a)]);
      expect(listed.map((l) => l.dev).sort()).toEqual([loopA, loopA2].sort());
      const all = bpfAddon().listLoops!();
      for (const l of listed) expect(l).toEqual(all.find((x) => x.dev === l.dev));
      expect(await bpfAddon().listLoopsBacking!([])).toEqual([]);
      expect(() => bpfAddon().listLoopsBacking!('x' as unknown as string[])).toThrow(TypeError);
      // By identity, as the full list gives them: a file's, and a block device's (its st_rdev, through the full list).
      const full = await listLoopIdentities();
      const of = (...devs: string[]) => full.filter((l) => devs.includes(l.dev));
      expect(await loopsBackedBy([identityOf(b)!])).toEqual(of(loopB));
      expect(await loopsBackedBy([identityOf(loopB)!])).toEqual(of(onDevice));
      expect(await loopsBackedBy([identityOf(join(root, 'not-attached')) ?? 'f:0:0:1'])).toEqual([]);
    } finally {
      for (const l of [onDevice, loopB, loopA2, loopA]) await detachLoop(l);
    }
  });

  it("listLoopsBacking also lists the loops of any file under a folder (stop's rule for NAME's folder), a deleted one too, by sysfs's path", async () => {
    const folder = join(root, 'sub');
    mkdirSync(join(folder, 'deep'), { recursive: true });
    const [inside, deep, gone, beside, outside] = [join(folder, 'x.img'), join(folder, 'deep', 'y.img'), join(folder, 'gone.img'), `${folder}-twin.img`, join(root, 'z.img')];
    for (const f of [inside, deep, gone, beside, outside]) writeFileSync(f, Buffer.alloc(1 << 20));
    const loops = await Promise.all([inside, deep, gone, beside, outside].map((f) => attachLoop(f)));
    const [lInside, lDeep, lGone, , lOutside] = loops;
    unlinkSync(gone);
    try {
      const id = (f: string) => identityOf(f)!.replace(/^f:/, '');
      const devs = (l: { dev: string }[]) => l.map((x) => x.dev).sort();
      // A prefix ends with /: the folder's twin beside it is not under it.
      expect(devs(await bpfAddon().listLoopsBacking!([], [`${folder}/`]))).toEqual([lInside, lDeep, lGone].sort());
      expect(devs(await bpfAddon().listLoopsBacking!([id(outside)], [`${folder}/`]))).toEqual([lInside, lDeep, lGone, lOutside].sort());
      const all = await listLoopIdentities();
      const expected = all.filter((l) => l.backingFile.startsWith(`${folder}/`) || l.dev === lOutside);
      expect(await loopsBackedBy([identityOf(outside)!], [`${folder}/`])).toEqual(expected);
      expect(() => bpfAddon().listLoopsBacking!([], [''])).toThrow(TypeError);
      expect(() => bpfAddon().listLoopsBacking!([], Array(65).fill('/x/'))).toThrow(TypeError);
    } finally {
      for (const l of loops) await detachLoop(l);
    }
  });

  it('listLoopsBacking walks on the pool: several walks at once, each answering as listLoops filtered by its rule, the same refusals', async () => {
    const folder = join(root, 'async');
    mkdirSync(folder);
    const [x, y, z] = ['x.img', 'y.img', 'z.img'].map((n) => join(folder, n));
    for (const f of [x, y, z]) writeFileSync(f, Buffer.alloc(1 << 20));
    const loops = await Promise.all([x, y, z, x].map((f, i) => attachLoop(f, { offset: i === 3 ? 4096 : 0 })));
    try {
      const id = (f: string) => identityOf(f)!.replace(/^f:/, '');
      const addon = bpfAddon();
      const asks: [string[], string[]][] = [[[id(x)], []], [[id(y), id(z)], []], [[], [`${folder}/`]], [[id(z)], [`${root}/none/`]], [[], []]];
      // Started together: each walk has its own buffers.
      const answers = await Promise.all(asks.map(([files, prefixes]) => addon.listLoopsBacking!(files, prefixes)));
      const all = addon.listLoops!();
      asks.forEach(([files, prefixes], i) => {
        const wanted = files.length || prefixes.length ? all.filter((l) => files.includes(`${l.backMajor}:${l.backMinor}:${l.backIno}`) || prefixes.some((p) => l.backingFile.startsWith(p))) : [];
        const byDev = (l: { dev: string }[]) => [...l].sort((a, b) => a.dev.localeCompare(b.dev));
        expect(byDev(answers[i]), JSON.stringify(asks[i])).toEqual(byDev(wanted));
      });
      expect(answers.map((a) => a.length)).toEqual([2, 2, 4, 1, 0]);
      expect(() => addon.listLoopsBacking!([], [''])).toThrow(TypeError);
      expect(() => addon.listLoopsBacking!(Array(65).fill('1:2:3'))).toThrow(TypeError);
      expect(() => addon.listLoopsBacking!('x' as unknown as string[])).toThrow(TypeError);
    } finally {
      for (const l of loops) await detachLoop(l);
    }
  });
});
