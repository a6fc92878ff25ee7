// Running the FAT tools nobody here wrote (dosfstools, mtools, sfdisk, losetup) on images the FAT32 tests make, plus
// hashing and patterned data. Tools in /usr/sbin are found even when it is not on PATH.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { writeImage } from '../../electron/engine/io/ImageWriter.js';
import { openFat32 } from '../../electron/engine/formats/fat32/Fat32Reader.js';
import { planFat32Append, type Fat32AppendPlan } from '../../electron/engine/formats/fat32/Fat32Append.js';
import type { FatFile } from '../../electron/engine/formats/fat32/Fat32Volume.js';
import type { ImageLayout } from '../../electron/engine/io/ImageLayout.js';
import { freeBytesIn } from '../helpers.js';

/** mtools without its geometry check, and UTF-8 so long names come out as they are. */
export const MT_ENV: NodeJS.ProcessEnv = { MTOOLS_SKIP_CHECK: '1', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };

/** A tool on PATH or in the sbin folders, or null. */
export function tool(name: string): string | null {
  if (spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0) return name;
  for (const d of ['/usr/sbin', '/sbin', '/usr/local/sbin']) if (existsSync(join(d, name))) return join(d, name);
  return null;
}

/** The tools the FAT32 tests need that are missing, each with its Debian package. */
export function missingFatTools(extra: string[] = []): string[] {
  const pkgs: Record<string, string> = {
    'fsck.fat': 'dosfstools',
    'mkfs.fat': 'dosfstools',
    mdir: 'mtools',
    mcopy: 'mtools',
    minfo: 'mtools',
    mlabel: 'mtools',
    mdel: 'mtools',
    mattrib: 'mtools',
    sfdisk: 'fdisk',
    losetup: 'mount',
  };
  return ['fsck.fat', 'mdir', 'mcopy', 'minfo', ...extra].filter((t) => tool(t) === null).map((t) => `${t} (apt-get install ${pkgs[t] ?? t})`);
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  /** stdout + stderr, for messages. */
  output: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const r = spawnSync(tool(cmd) ?? cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? (r.error ? String(r.error) : '');
  return { status: r.status ?? -1, stdout, stderr, output: `${stdout}${stderr}` };
}

/** Runs a tool and fails the test with its output unless it exits 0. */
export function must(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const r = run(cmd, args, env);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${r.output}`);
  return r;
}

/** mtools' image spec for a volume at `offset` bytes of `img`. */
export const mspec = (img: string, offset: number): string => (offset === 0 ? img : `${img}@@${offset}`);

/** Every path mtools lists (hidden ones too), folders with a trailing "/", sorted. */
export function mtoolsPaths(img: string, offset: number): string[] {
  const r = must('mdir', ['-/', '-a', '-b', '-i', mspec(img, offset), '::/'], MT_ENV);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('::/'))
    .map((l) => l.slice(3))
    .sort();
}

/** Copies the whole volume out with mcopy -s into `dir`. */
export function mtoolsCopyAll(img: string, offset: number, dir: string): void {
  must('mcopy', ['-s', '-n', '-i', mspec(img, offset), '::', dir], MT_ENV);
}

/** SHA-256 of a file mcopy streams to its stdout. */
export function mtoolsHash(img: string, offset: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    const child = spawn(tool('mcopy') ?? 'mcopy', ['-n', '-i', mspec(img, offset), `::/${path}`, '-'], { env: { ...process.env, ...MT_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stdout.on('data', (c: Buffer) => h.update(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(h.digest('hex')) : reject(new Error(`mcopy ${path} exited ${code}: ${err}`))));
  });
}

export interface FsckResult extends RunResult {
  /** How the volume was reached: "image", "copy" or the loop device. */
  how: string;
}

/**
 * fsck.fat -n -v on the volume at `offset` of `img` (fsck.fat takes no offset): the image itself at offset 0, a
 * sparse copy of the partition for small images, a read-only loop device (losetup -o) for big ones. Null when a loop
 * device is needed and cannot be had (not root).
 */
export function fsckVolume(img: string, offset: number, workDir: string): FsckResult | null {
  if (offset === 0) return { ...run('fsck.fat', ['-n', '-v', img]), how: 'image' };
  const size = statSync(img).size - offset;
  if (size <= 512 * 1024 * 1024) {
    const part = join(workDir, `fsck-part-${process.pid}-${Date.now()}.img`);
    must('dd', [`if=${img}`, `of=${part}`, 'bs=1M', 'iflag=skip_bytes', `skip=${offset}`, 'conv=sparse', 'status=none']);
    try {
      return { ...run('fsck.fat', ['-n', '-v', part]), how: 'copy' };
    } finally {
      spawnSync('rm', ['-f', part]);
    }
  }
  const lo = run('losetup', ['-r', '-f', '--show', '-o', String(offset), img]);
  if (lo.status !== 0) return null;
  const dev = lo.stdout.trim();
  try {
    return { ...run('fsck.fat', ['-n', '-v', dev]), how: dev };
  } finally {
    run('losetup', ['-d', dev]);
  }
}

/** fsck.fat found nothing: exit 0 and no "Leaving filesystem unchanged" (printed after any finding with -n). */
export function assertFsckClean(r: FsckResult | null, what: string): void {
  assert.ok(r, `${what}: fsck.fat could not be run`);
  assert.equal(r.status, 0, `${what}: fsck.fat -n exited ${r.status}:\n${r.output}`);
  assert.doesNotMatch(r.output, /Leaving filesystem unchanged|wrong|Orphan|differ|Dirty bit/i, `${what}: fsck.fat reported something:\n${r.output}`);
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.allocUnsafe(8 * 1024 * 1024);
    for (let pos = 0; ; ) {
      const n = readSync(fd, b, 0, b.length, pos);
      if (n === 0) break;
      h.update(b.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Files under `dir` by "/"-separated relative path. */
export function listTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p).split('\\').join('/'), p);
    }
  };
  walk(dir);
  return out;
}

/** Deterministic bytes. */
export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** A folder with at least `bytes` free: /dev/shm (memory, fast) first, then the temp folder; null when neither has it. */
export function roomyDir(bytes: number): { dir: string; free: number } | null {
  for (const d of ['/dev/shm', tmpdir()]) {
    const free = freeBytesIn(d);
    if (free >= bytes) return { dir: d, free };
  }
  return null;
}

/** Plans an append on the volume of `img` opened read-only, then writes it with gaps 'skip' into the image opened for update. */
export function appendToImage(img: string, files: FatFile[], directories: string[], timestamp: Date): Fat32AppendPlan {
  const v = openFat32(img);
  let plan: Fat32AppendPlan;
  try {
    plan = planFat32Append(v, files, directories, timestamp);
  } finally {
    v.close();
  }
  const fd = openSync(img, 'r+');
  try {
    writeImage(plan, fd, { gaps: 'skip' });
  } finally {
    closeSync(fd);
  }
  return plan;
}

/** Writes a layout (a step of a refresh or an append) into the image, every other byte left as it is. */
export function writeStep(img: string, layout: ImageLayout): void {
  const fd = openSync(img, 'r+');
  try {
    writeImage(layout, fd, { gaps: 'skip', imageHash: false });
  } finally {
    closeSync(fd);
  }
}

/** What the volume of `img` holds, read through the FAT in use: path → SHA-256. */
export function volumeHashes(img: string): Map<string, string> {
  const v = openFat32(img);
  try {
    return new Map(v.files().map((f) => [f.path, sha256(v.readFileBuffer(f.path))]));
  } finally {
    v.close();
  }
}
