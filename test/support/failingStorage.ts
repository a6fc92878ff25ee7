// Storage that fails, for the failing-disk tests: a small ext4 file system on a loop device (filled up, or mounted
// read-only), a FUSE mirror whose daemon can be killed, and a runner that starts the real CLI and injects a fault
// once it is writing — measured by the bytes the process has written (/proc/PID/io), so the fault lands mid-write.
// Everything set up here is undone by the Scratch's after hook (lazy unmounts, loop devices detached), even when a
// test fails half-way.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { ROOT } from '../helpers.js';
import { tool } from './fat32Tools.js';

export const isRoot = (): boolean => process.getuid?.() === 0;

/** The tools of `names` that are missing (sbin folders searched too). */
export const missingTools = (names: string[]): string[] => names.filter((n) => tool(n) === null);

/** Runs a tool to completion; never throws. */
export function sh(cmd: string, args: string[]): { status: number; out: string } {
  const r = spawnSync(tool(cmd) ?? cmd, args, { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

function must(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.out}`);
  return r.out;
}

/** A temporary folder and a stack of clean-ups run last in first out by one after hook, then the folder removed. */
export class Scratch {
  readonly dir: string;
  private readonly cleanups: { what: string; fn: () => void }[] = [];

  /** With a test context, cleaned up by its after hook; with null, the caller calls cleanup(). */
  constructor(t: Pick<TestContext, 'after'> | null, prefix = 'tsmedia-faults-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    t?.after(() => this.cleanup());
  }

  defer(what: string, fn: () => void): void {
    this.cleanups.push({ what, fn });
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  cleanup(): void {
    while (this.cleanups.length) {
      const c = this.cleanups.pop() as { what: string; fn: () => void };
      try {
        c.fn();
      } catch (err) {
        console.log(`# clean-up "${c.what}" failed: ${(err as Error).message}`);
      }
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (err) {
      console.log(`# could not remove ${this.dir}: ${(err as Error).message}`);
    }
  }
}

function isMounted(mountpoint: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === mountpoint.replace(/ /g, '\\040'));
}

/** Unmounts (lazily, so a busy or dead mount goes too) until nothing is mounted there. */
function unmountAll(mountpoint: string): void {
  for (let i = 0; i < 5 && isMounted(mountpoint); i++) sh('umount', ['-l', mountpoint]);
}

/** An ext4 file system in an image file on a loop device, mounted at `mountpoint`. */
export class Ext4Volume {
  device = '';
  readOnly = false;
  private readonly fillers: string[] = [];

  private constructor(
    private readonly scratch: Scratch,
    readonly image: string,
    readonly mountpoint: string,
  ) {}

  /** Makes and mounts a `mib` MiB ext4 (no blocks reserved for root, so "full" is full for everyone). */
  static create(scratch: Scratch, name: string, mib: number): Ext4Volume {
    const v = new Ext4Volume(scratch, scratch.path(`${name}.ext4`), scratch.path(name));
    mkdirSync(v.mountpoint);
    must('truncate', ['-s', `${mib}M`, v.image]);
    must('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=0,lazy_journal_init=0', v.image]);
    v.attach(false);
    return v;
  }

  private attach(readOnly: boolean): void {
    this.device = must('losetup', [...(readOnly ? ['-r'] : []), '-f', '--show', this.image]).split('\n')[0];
    const dev = this.device;
    this.scratch.defer(`losetup -d ${dev}`, () => sh('losetup', ['-d', dev]));
    must('mount', ['-t', 'ext4', ...(readOnly ? ['-o', 'ro'] : []), dev, this.mountpoint]);
    const mnt = this.mountpoint;
    this.scratch.defer(`umount ${mnt}`, () => unmountAll(mnt));
    this.readOnly = readOnly;
  }

  /** Unmounts, detaches, and attaches the image again as a read-only loop device (losetup -r) mounted read-only. */
  remountReadOnly(): void {
    must('umount', [this.mountpoint]);
    must('losetup', ['-d', this.device]);
    this.attach(true);
  }

  freeBytes(): number {
    const s = statfsSync(this.mountpoint);
    return Number(s.bavail) * Number(s.bsize);
  }

  /** Fills the file system (files at its root, outside any output folder) until writes fail with ENOSPC. */
  fill(): number {
    const before = this.freeBytes();
    for (const [name, bs] of [['.filler-1', '1M'], ['.filler-2', '4k'], ['.filler-3', '512']] as const) {
      const p = join(this.mountpoint, name);
      this.fillers.push(p);
      sh('dd', ['if=/dev/zero', `of=${p}`, `bs=${bs}`, 'status=none']);
    }
    return before - this.freeBytes();
  }

  /** Takes all but `leaveBytes` of the free space. */
  fillLeaving(leaveBytes: number): void {
    const p = join(this.mountpoint, `.filler-${this.fillers.length + 1}`);
    this.fillers.push(p);
    must('fallocate', ['-l', String(Math.max(4096, this.freeBytes() - leaveBytes)), p]);
  }

  unfill(): void {
    for (const p of this.fillers.splice(0)) rmSync(p, { force: true });
  }
}

/** The Python that has the fuse module (Debian's python3-fuse lives in the system Python), or null. */
export function fusePython(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import fuse'], { encoding: 'utf8' }).status === 0) return py;
  }
  return null;
}

/**
 * test/support/passthroughfs.py mirroring `backing` at `mountpoint`, in the foreground: killing it makes the mount dead.
 * `unknownSize` makes it report a size of 0 blocks, as smbnetfs does (free space not reported); `subtype` names the
 * mount's type (fuse.<subtype>): 'smbnetfs' makes <mountpoint>/<server>/<share> a share, as smbnetfs shows one.
 */
export class FuseMirror {
  private daemon: ChildProcess | null = null;
  stderr = '';

  constructor(
    private readonly scratch: Scratch,
    private readonly python: string,
    readonly backing: string,
    readonly mountpoint: string,
    private readonly options: { unknownSize?: boolean; subtype?: string } = {},
  ) {
    mkdirSync(backing, { recursive: true });
    mkdirSync(mountpoint, { recursive: true });
  }

  async mount(): Promise<void> {
    const args = [join(ROOT, 'test', 'support', 'passthroughfs.py'), this.backing, this.mountpoint, ...(this.options.unknownSize ? ['--unknown-size'] : []), ...(this.options.subtype ? [`--subtype=${this.options.subtype}`] : [])];
    const d = spawn(this.python, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.daemon = d;
    d.stderr?.on('data', (c: Buffer) => (this.stderr += c.toString()));
    const mnt = this.mountpoint;
    this.scratch.defer(`unmount FUSE ${mnt}`, () => {
      if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
      unmountAll(mnt);
    });
    for (let i = 0; i < 300 && !isMounted(mnt); i++) {
      if (d.exitCode !== null) throw new Error(`the FUSE daemon exited ${d.exitCode}: ${this.stderr}`);
      await sleep(10);
    }
    if (!isMounted(mnt)) throw new Error(`the FUSE file system did not mount in 3 s: ${this.stderr}`);
  }

  /** SIGKILL to the daemon: the mount stays, every call on it fails (ENOTCONN). */
  kill(): void {
    this.daemon?.kill('SIGKILL');
  }

  /** Lazy unmount (the daemon is dead or stops). */
  unmount(): void {
    this.daemon?.kill('SIGKILL');
    unmountAll(this.mountpoint);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Bytes a process has handed to write calls so far (all its threads), or -1 once it is gone. */
export function bytesWritten(pid: number): number {
  try {
    const m = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : -1;
  } catch {
    return -1;
  }
}

export interface FaultRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From start to exit. */
  ms: number;
  /** Whether the fault was injected while the run was still writing (false: the run ended first). */
  injected: boolean;
  /** Bytes the process had written when the fault was injected. */
  injectedAfterBytes: number;
  timedOut: boolean;
}

export interface FaultRunOptions {
  /** The command and its arguments (e.g. fiu-run -x node bin/tsmedia.js create …). */
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** Inject once the process has written this many bytes; null: never (the fault is set up beforehand). */
  afterBytes: number | null;
  inject?: (pid: number) => void;
  /** The run is killed (and counted as a hang) after this long. */
  timeoutMs?: number;
}

/** Runs the CLI, injects the fault mid-write, and waits for the end. */
export async function runWithFault(o: FaultRunOptions): Promise<FaultRun> {
  const t0 = Date.now();
  const p = spawn(o.argv[0], o.argv.slice(1), { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  p.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => p.on('close', () => r()));
  let injected = false;
  let injectedAfterBytes = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    p.kill('SIGKILL');
  }, o.timeoutMs ?? 30_000);
  try {
    if (o.afterBytes !== null && o.inject) {
      while (p.exitCode === null && p.signalCode === null && p.pid !== undefined) {
        const n = bytesWritten(p.pid);
        if (n >= o.afterBytes) {
          o.inject(p.pid);
          injected = true;
          injectedAfterBytes = n;
          break;
        }
        await sleep(2);
      }
    } else injected = true;
    await exited;
  } finally {
    clearTimeout(timer);
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    }
  }
  return { status: p.exitCode, signal: p.signalCode, stdout, stderr, ms: Date.now() - t0, injected, injectedAfterBytes, timedOut };
}

/** SHA-256 of every file under a final name in `dir` (the log, which every run appends to, left out). */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) {
    if (n.startsWith('.') || n === 'CreateTSMedia.log') continue;
    const p = join(dir, n);
    if (!statSync(p).isFile()) continue;
    out[n] = fileSha256(p);
  }
  return out;
}

export function fileSha256(path: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Temporary (partial) files in `dir`. */
export const partials = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.partial'));
