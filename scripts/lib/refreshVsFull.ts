// The `refresh-vs-full` benchmark figure (issue 20): on a 2 GiB USB image whose content fills a good part of it
// (several packages, one of them a 50 MB driver package), a full write (`tsmedia create --media usb --image …
// --image-size 2GiB`) against a refresh (`tsmedia refresh IMAGE`, the same options) after the driver package got new
// bytes (a new content version, the catalog's source version bumped). Both run as a user runs them, with their
// read-back; the same pair is also measured with `--no-verify`, shown beside, not a target.
//
// For each run: its wall time, `sync` included (as the other figures: what the image's writes left in the page cache is
// written inside the time), and the bytes the process wrote: write_bytes of its /proc/<pid>/io sampled every 50 ms
// until it exits, and, exactly at its exit, GNU time's file-system outputs (ru_oublock: the same counter, in 512-byte
// units; the figure takes the larger of the two). Before every run the content library and the image are written back
// and dropped from the page cache (`dd iflag=nocache count=0`, as several-drives does), so both runs start equally
// cold: the full write reads the library from storage, the refresh reads the volume it compares and verifies.
//
// After every refresh the bench checks the image, and throws if any check fails: `tsmedia verify`, `fsck.fat -n` on the
// partition (a read-only loop device at 1 MiB), and mtools (`mcopy -s` of the whole volume) reads every file of the
// manifest with the manifest's SHA-256, the driver package's files with the new bytes' hashes.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ContentLibraryWriter } from '../../electron/engine/site/ContentLibraryWriter.js';
import { fsckVolume, missingFatTools, mspec, MT_ENV } from '../../test/support/fat32Tools.js';
import { cannotThrottle, throttledStick } from './throttledStick.js';

const MiB = 1024 ** 2;
const PARTITION = MiB;
const TS = 'SMP00010';
const DRIVERS = 'SMP00095';

export interface RefreshRun {
  seconds: number;
  /** Bytes the process wrote (write_bytes, exact at its exit). */
  writeBytes: number;
  /** The last 50 ms sample of /proc/<pid>/io write_bytes before it exited. */
  sampledWriteBytes: number;
  /** Bytes the process read from storage (read_bytes, last sample). */
  readBytes: number;
  /** Sectors written to the disk holding the image during the run, sync included (everything on it: informative). */
  diskBytes: number | null;
  peakMiB: number;
  /** Where the time went, from the run's lines in CreateTSMedia.log: start, prepare, write, read back, finish. */
  phases: { phase: string; seconds: number }[];
}

export interface RefreshPair {
  full: number;
  refresh: number;
  fullBytes: number;
  refreshBytes: number;
  timeRatio: number;
  bytesRatio: number;
  fullRuns: RefreshRun[];
  refreshRuns: RefreshRun[];
}

export interface RefreshFigure {
  imageBytes: number;
  contentBytes: number;
  driverBytes: number;
  runs: number;
  /** What a user runs: both with their read-back. The targets. */
  verified: RefreshPair;
  /** Both with --no-verify. */
  noVerify: RefreshPair | null;
  /** A second refresh with read-back right after the first (the image in the page cache), against the same full writes. */
  warmRefresh: number;
  warmRefreshRuns: RefreshRun[];
  /** What the last refresh said it would write. */
  changes: { replaced: number; added: number; removed: number; keptFiles: number; bytesToWrite: number; fullBytes: number } | null;
  checks: { files: number; bytes: number };
  /** The machine's 1-minute load average when the runs began and when they ended (another job's CPU shows here). */
  load: [number, number];
  /**
   * The same on a 2 GiB USB stick stand-in (a loop device held to `stickMBps` MB/s by the block I/O controller), with
   * read-back: the bytes the stick was given (the kernel's count). Null where no throttled loop device can be made.
   */
  stick: (RefreshPair & { mbps: number }) | null;
}

export interface RefreshOptions {
  work: string;
  cli: string;
  /** The bundled sample site, copied as the site's base. */
  sampleSite: string;
  /** Content of the site's payload packages, the driver package's included. */
  contentBytes: number;
  driverBytes: number;
  imageSize: string;
  runs: number;
  noVerifyPair: boolean;
  /** The stick's write speed, MB/s (10^6 bytes a second); 0 for no stick pair. */
  stickMBps: number;
  log: (s: string) => void;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Why the figure cannot be measured here, or null. */
export function cannotRefreshFigure(): string | null {
  if (process.platform !== 'linux') return 'the figure reads /proc/<pid>/io: Linux only';
  if (process.getuid?.() !== 0) return 'fsck.fat on the partition needs a loop device: root only';
  if (!existsSync('/usr/bin/time')) return 'GNU time (/usr/bin/time) is missing';
  const missing = missingFatTools();
  return missing.length ? `missing ${missing.join(', ')}` : null;
}

/** Deterministic random file of `bytes`, 8 MiB at a time. */
function randomFile(path: string, bytes: number, buf: Buffer): string {
  mkdirSync(join(path, '..'), { recursive: true });
  const h = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(buf.length, bytes - done);
      randomFillSync(buf, 0, n);
      writeSync(fd, buf, 0, n);
      h.update(buf.subarray(0, n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

interface PackageSpec {
  id: string;
  name: string;
  kind: 'Package' | 'DriverPackage';
  /** [relative path, bytes] */
  files: [string, number][];
}

/** The payload: an OS image package, an applications package, language packs, and the driver package of `driverBytes`. */
function packageSpecs(contentBytes: number, driverBytes: number): PackageSpec[] {
  let seed = 20;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const rest = contentBytes - driverBytes;
  if (rest < 64 * MiB) throw new Error(`refresh-vs-full: content ${contentBytes} bytes leaves no room beside a ${driverBytes}-byte driver package`);
  // The driver package: one 20 MB cab and many small .inf/.sys/.cat/.dll files, in folders, the rest of its bytes.
  const drivers: [string, number][] = [['Cab/Contoso-Laptop-14-A06.cab', Math.round(driverBytes * 0.4)]];
  let left = driverBytes - drivers[0][1];
  for (let i = 0; left > 0; i++) {
    const n = Math.min(left, 16 * 1024 + Math.floor(rnd() * 300 * 1024));
    drivers.push([`${['Audio', 'Chipset', 'Network', 'Video', 'Storage'][i % 5]}/x64/driver${i}.${['inf', 'sys', 'cat', 'dll'][i % 4]}`, n]);
    left -= n;
  }
  // Applications: 30 % of the rest, 1,000 small files (1–64 KiB) and three large installers.
  const appBytes = Math.round(rest * 0.3);
  const apps: [string, number][] = [];
  let small = 0;
  for (let i = 0; i < 1000; i++) {
    const n = 1024 + Math.floor(rnd() * 63 * 1024);
    apps.push([`Apps/app${i % 40}/file${i}.bin`, n]);
    small += n;
  }
  const big = Math.floor((appBytes - small) / 3);
  for (let i = 0; i < 3; i++) apps.push([`Installers/setup${i}.msi`, big]);
  // Language packs: 8 % of the rest in 20 files; the OS image: the rest, one WIM (under 4 GiB, no split).
  const langBytes = Math.round(rest * 0.08);
  const langs: [string, number][] = Array.from({ length: 20 }, (_, i) => [`LP/lp${i}.cab`, Math.floor(langBytes / 20)]);
  const wim = rest - apps.reduce((n, f) => n + f[1], 0) - langs.reduce((n, f) => n + f[1], 0);
  return [
    { id: 'SMP00092', name: 'Windows 11 image (bench)', kind: 'Package', files: [['Images/install.wim', wim]] },
    { id: 'SMP00093', name: 'Applications (bench)', kind: 'Package', files: apps },
    { id: 'SMP00094', name: 'Language packs (bench)', kind: 'Package', files: langs },
    { id: DRIVERS, name: 'Contoso Laptop 14 drivers (bench)', kind: 'DriverPackage', files: drivers },
  ];
}

/** Writes a package's files with new random bytes into `dir`; their SHA-256 by relative path. */
function writePackageFiles(dir: string, spec: PackageSpec, buf: Buffer): Map<string, string> {
  rmSync(dir, { recursive: true, force: true });
  const hashes = new Map<string, string>();
  for (const [rel, size] of spec.files) hashes.set(rel, randomFile(join(dir, rel), size, buf));
  return hashes;
}

/** The site: the sample site with the payload packages in DP01's library and the catalog. */
async function makeRefreshSite(root: string, sampleSite: string, specs: PackageSpec[]): Promise<{ site: string; driverHashes: Map<string, string> }> {
  const site = join(root, 'site');
  cpSync(sampleSite, site, { recursive: true });
  const library = new ContentLibraryWriter(join(site, 'SCCMContentLib_DP01'));
  const buf = Buffer.allocUnsafe(8 * MiB);
  let driverHashes = new Map<string, string>();
  const descPath = join(site, 'tsmedia-site.json');
  const desc = JSON.parse(readFileSync(descPath, 'utf8')) as { catalog: unknown[] };
  for (const spec of specs) {
    const src = join(root, 'src', spec.id);
    const hashes = writePackageFiles(src, spec, buf);
    if (spec.id === DRIVERS) driverHashes = hashes;
    await library.addContentFromFolder(spec.id, 1, src);
    rmSync(src, { recursive: true, force: true });
    desc.catalog.push({ packageId: spec.id, name: spec.name, kind: spec.kind, version: '1', sourceVersion: 1 });
  }
  writeFileSync(descPath, JSON.stringify(desc, null, 2));
  return { site, driverHashes };
}

/** A new version of the driver package with new bytes (new content version, the catalog's source version bumped). */
async function updateDrivers(root: string, site: string, spec: PackageSpec): Promise<Map<string, string>> {
  const descPath = join(site, 'tsmedia-site.json');
  const desc = JSON.parse(readFileSync(descPath, 'utf8')) as { catalog: { packageId: string; sourceVersion: number; version: string }[] };
  const entry = desc.catalog.find((c) => c.packageId === spec.id);
  if (!entry) throw new Error(`refresh-vs-full: ${spec.id} is not in the catalog`);
  entry.sourceVersion += 1;
  entry.version = String(entry.sourceVersion);
  const src = join(root, 'src', spec.id);
  const hashes = writePackageFiles(src, spec, Buffer.allocUnsafe(8 * MiB));
  await new ContentLibraryWriter(join(site, 'SCCMContentLib_DP01')).addContentFromFolder(spec.id, entry.sourceVersion, src);
  rmSync(src, { recursive: true, force: true });
  writeFileSync(descPath, JSON.stringify(desc, null, 2));
  return hashes;
}

/** Writes back, then drops from the page cache every file under each path (a file or a folder). */
function dropFromCache(paths: string[]): void {
  execFileSync('sync');
  for (const p of paths) {
    if (!existsSync(p)) continue;
    execFileSync('sh', ['-c', 'find "$1" -type f -exec sh -c \'for f; do dd if="$f" iflag=nocache count=0 status=none; done\' sh {} +', 'sh', p]);
  }
}

function procField(text: string, key: string): number | null {
  const m = new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** The block device (whole disk) a path lives on, for /sys/block/<dev>/stat; null when it cannot be told. */
function diskOf(path: string): string | null {
  try {
    const st = statSync(path);
    const major = Math.floor(st.dev / 256) & 0xfff;
    const minor = (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00);
    const link = readFileSync(`/sys/dev/block/${major}:${minor}/uevent`, 'utf8');
    const name = /^DEVNAME=(.+)$/m.exec(link)?.[1];
    if (!name) return null;
    // A partition: its disk is the parent folder in /sys/class/block.
    const part = existsSync(`/sys/class/block/${name}/partition`);
    const disk = part ? execFileSync('sh', ['-c', `basename "$(readlink -f /sys/class/block/${name}/..)"`], { encoding: 'utf8' }).trim() : name;
    return existsSync(`/sys/block/${disk}/stat`) ? disk : null;
  } catch {
    return null;
  }
}

const diskWritten = (disk: string | null): number | null => (disk ? Number(readFileSync(`/sys/block/${disk}/stat`, 'utf8').trim().split(/\s+/)[6]) * 512 : null);

/** The phases of a run: the first log line matching each marker, in order, between the process's start and its end (sync included). */
const PHASES: Record<'create' | 'refresh', [RegExp, string][]> = {
  // start: Node, the modules, the media key, the site read (and for a refresh, the volume's FAT, directories and manifest).
  create: [[/creating stand-alone media/, 'start'], [/^plan: FAT32/, 'prepare'], [/^wrote \d+ bytes/, 'write'], [/^verified: /, 'read back']],
  refresh: [[/^refresh of /, 'start'], [/^changes: /, 'prepare'], [/^refreshed /, 'write'], [/^verified: /, 'read back']],
};

/** The run's lines in the log (from byte `from`), timed; the phases between its start, the markers, and its end. */
function logPhases(logFile: string, from: number, kind: 'create' | 'refresh', startMs: number, endMs: number): { phase: string; seconds: number }[] {
  if (!existsSync(logFile)) return [];
  const text = readFileSync(logFile).subarray(from).toString('utf8');
  const rows: { t: number; text: string }[] = [];
  // CMTrace lines: <![LOG[text]LOG]!><time="HH:MM:SS.mmm+bias" date="MM-DD-YYYY" …>, in local time.
  for (const m of text.matchAll(/<!\[LOG\[([\s\S]*?)\]LOG\]!><time="(\d+):(\d+):(\d+)\.(\d+)[^"]*" date="(\d+)-(\d+)-(\d+)"/g)) {
    const [, msg, hh, mm, ss, ms, mo, dd, yy] = m;
    rows.push({ t: new Date(Number(yy), Number(mo) - 1, Number(dd), Number(hh), Number(mm), Number(ss), Number(ms.padEnd(3, '0').slice(0, 3))).getTime(), text: msg });
  }
  const phases: { phase: string; seconds: number }[] = [];
  let at = startMs;
  let i = 0;
  for (const [re, phase] of PHASES[kind]) {
    const j = rows.findIndex((r, k) => k >= i && re.test(r.text));
    if (j < 0) continue;
    phases.push({ phase, seconds: (rows[j].t - at) / 1000 });
    at = rows[j].t;
    i = j;
  }
  phases.push({ phase: 'finish, sync', seconds: (endMs - at) / 1000 });
  return phases;
}

/**
 * Runs the CLI under GNU time, sampling the CLI's /proc/<pid>/io and status every 50 ms until it exits; then `sync`,
 * inside the time, as the other figures do.
 */
async function measuredRun(cli: string, args: string[], env: NodeJS.ProcessEnv, disk: string | null, logFile: string, kind: 'create' | 'refresh'): Promise<RefreshRun & { stdout: string }> {
  execFileSync('sync');
  const logFrom = existsSync(logFile) ? statSync(logFile).size : 0;
  const diskBefore = diskWritten(disk);
  const t0 = process.hrtime.bigint();
  const startMs = Date.now();
  const child = spawn('/usr/bin/time', ['-f', 'BENCH-RUSAGE %M %O', process.execPath, cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8000)));
  let nodePid: number | null = null;
  let writeBytes = 0;
  let readBytes = 0;
  let hwmKiB = 0;
  const sample = (): void => {
    try {
      if (nodePid === null) {
        const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
        if (!kids) return;
        nodePid = Number(kids.split(/\s+/)[0]);
      }
      const io = readFileSync(`/proc/${nodePid}/io`, 'utf8');
      const status = readFileSync(`/proc/${nodePid}/status`, 'utf8');
      writeBytes = procField(io, 'write_bytes') ?? writeBytes;
      readBytes = procField(io, 'read_bytes') ?? readBytes;
      hwmKiB = Math.max(hwmKiB, procField(status, 'VmHWM') ?? 0);
    } catch {
      // Not started yet, or gone between two samples: the last values stand.
    }
  };
  sample();
  const timer = setInterval(sample, 50);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  }).finally(() => clearInterval(timer));
  execFileSync('sync');
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const diskAfter = diskWritten(disk);
  if (code !== 0) throw new Error(`refresh-vs-full: the CLI exited ${code}: node ${cli} ${args.join(' ')}\n${stderr}`);
  const ru = /BENCH-RUSAGE (\d+) (\d+)\s*$/.exec(stderr);
  const exact = ru ? Number(ru[2]) * 512 : 0;
  return {
    seconds,
    writeBytes: Math.max(exact, writeBytes),
    sampledWriteBytes: writeBytes,
    readBytes,
    diskBytes: diskBefore === null || diskAfter === null ? null : diskAfter - diskBefore,
    peakMiB: Math.max(hwmKiB, ru ? Number(ru[1]) : 0) / 1024,
    phases: logPhases(logFile, logFrom, kind, startMs, Date.now()),
    stdout,
  };
}

function hashFile(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(4 * MiB);
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** The checks of a refreshed image, each throwing with what failed: tsmedia verify, fsck.fat -n, mtools and the manifest's hashes. */
function checkImage(cli: string, env: NodeJS.ProcessEnv, img: string, scratch: string, driverHashes: Map<string, string>, log: (s: string) => void): { files: number; bytes: number } {
  const v = spawnChecked(process.execPath, [cli, 'verify', img, '--json'], env, 'tsmedia verify');
  const vr = JSON.parse(v.slice(v.indexOf('{'))) as { status?: number };
  if (vr.status !== undefined && vr.status !== 0) throw new Error(`refresh-vs-full: tsmedia verify of the refreshed image: ${v.slice(0, 2000)}`);
  const fsck = fsckVolume(img, PARTITION, scratch);
  if (!fsck) throw new Error('refresh-vs-full: fsck.fat could not be run on the partition (losetup -r -o 1MiB failed)');
  if (fsck.status !== 0 || /Leaving filesystem unchanged|wrong|Orphan|FATs differ|Reclaimed/i.test(fsck.output)) {
    throw new Error(`refresh-vs-full: fsck.fat -n on the refreshed partition (${fsck.how}) exited ${fsck.status}:\n${fsck.output.slice(-3000)}`);
  }
  const out = join(scratch, 'mtools-copy');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  try {
    spawnChecked('mcopy', ['-s', '-n', '-i', mspec(img, PARTITION), '::', out], { ...process.env, ...MT_ENV }, 'mcopy -s');
    const manifestPath = join(out, 'SMS', 'data', 'tsmedia-manifest.json');
    if (!existsSync(manifestPath)) throw new Error(`refresh-vs-full: mtools finds no SMS/data/tsmedia-manifest.json on the refreshed image (${readdirSync(out).join(', ')})`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: { path: string; size: number; sha256: string; packageId: string | null }[] };
    const bad: string[] = [];
    let bytes = 0;
    for (const f of manifest.files) {
      const p = join(out, ...f.path.split('/'));
      if (!existsSync(p)) {
        bad.push(`${f.path}: mtools does not find it`);
        continue;
      }
      const got = hashFile(p);
      bytes += statSync(p).size;
      if (got.toLowerCase() !== f.sha256.toLowerCase()) bad.push(`${f.path}: mtools reads SHA-256 ${got}, the manifest says ${f.sha256}`);
    }
    // The driver package holds the new bytes, not the old ones.
    for (const [rel, sha] of driverHashes) {
      const f = manifest.files.find((m) => m.path.toUpperCase() === `SMS/PKG/${DRIVERS}/${rel}`.toUpperCase());
      if (!f) bad.push(`SMS/PKG/${DRIVERS}/${rel}: not in the manifest`);
      else if (f.sha256.toLowerCase() !== sha) bad.push(`${f.path}: the manifest has ${f.sha256}, the new version's bytes are ${sha}`);
    }
    if (bad.length) throw new Error(`refresh-vs-full: the refreshed image does not hold what its manifest says: ${bad.slice(0, 10).join('; ')}${bad.length > 10 ? `; and ${bad.length - 10} more` : ''}`);
    log(`bench: refresh-vs-full: checked the refreshed image: tsmedia verify, fsck.fat -n (${fsck.how}), mtools read ${manifest.files.length} files (${(bytes / MiB).toFixed(0)} MiB) with the manifest's hashes`);
    return { files: manifest.files.length, bytes };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function spawnChecked(cmd: string, args: string[], env: NodeJS.ProcessEnv, what: string): string {
  try {
    return execFileSync(cmd, args, { env, encoding: 'utf8', maxBuffer: 256 * MiB, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`refresh-vs-full: ${what} exited ${e.status}: ${(e.stdout ?? '').slice(0, 2000)}${(e.stderr ?? '').slice(-2000)}`);
  }
}

function pair(fullRuns: RefreshRun[], refreshRuns: RefreshRun[]): RefreshPair {
  const full = median(fullRuns.map((r) => r.seconds));
  const refresh = median(refreshRuns.map((r) => r.seconds));
  const fullBytes = median(fullRuns.map((r) => r.writeBytes));
  const refreshBytes = median(refreshRuns.map((r) => r.writeBytes));
  return { full, refresh, fullBytes, refreshBytes, timeRatio: refresh / full, bytesRatio: refreshBytes / fullBytes, fullRuns, refreshRuns };
}

/** The figure, or null (logged with the reason) where it cannot be measured here. */
export async function refreshVsFullFigure(o: RefreshOptions): Promise<RefreshFigure | null> {
  const why = cannotRefreshFigure();
  if (why) {
    o.log(`bench: refresh-vs-full not measured: ${why}`);
    return null;
  }
  const root = join(o.work, 'refresh');
  mkdirSync(root, { recursive: true });
  try {
    const specs = packageSpecs(o.contentBytes, o.driverBytes);
    const drivers = specs.find((s) => s.id === DRIVERS) as PackageSpec;
    o.log(`bench: refresh-vs-full: making a site of ${(o.contentBytes / MiB).toFixed(0)} MiB in ${specs.length} packages (driver package ${DRIVERS}: ${(o.driverBytes / 1e6).toFixed(0)} MB in ${drivers.files.length} files)`);
    const made = await makeRefreshSite(root, o.sampleSite, specs);
    const site = made.site;
    let driverHashes = made.driverHashes;
    const library = join(site, 'SCCMContentLib_DP01');
    const img = join(root, 'stick.img');
    const state = join(root, 'state');
    const env = { ...process.env, XDG_STATE_HOME: state };
    const logFile = join(state, 'tsmedia', 'logs', 'CreateTSMedia.log');
    const disk = diskOf(root);
    const base = ['--site', site, '--task-sequence', TS, '--dp', 'DP01', ...specs.flatMap((s) => (s.kind === 'DriverPackage' ? ['--driver-package', s.id] : ['--package', s.id]))];
    const describe = (r: RefreshRun): string =>
      `${r.seconds.toFixed(2)} s, write_bytes ${(r.writeBytes / MiB).toFixed(1)} MiB (sampled ${(r.sampledWriteBytes / MiB).toFixed(1)}), read_bytes ${(r.readBytes / MiB).toFixed(0)} MiB${r.diskBytes === null ? '' : `, disk (every writer) ${(r.diskBytes / MiB).toFixed(0)} MiB`}, VmHWM ${r.peakMiB.toFixed(0)} MiB; ${r.phases.map((p) => `${p.phase} ${p.seconds.toFixed(2)} s`).join(', ')}`;
    const verified = { full: [] as RefreshRun[], refresh: [] as RefreshRun[] };
    const bare = { full: [] as RefreshRun[], refresh: [] as RefreshRun[] };
    const warm: RefreshRun[] = [];
    let changes: RefreshFigure['changes'] = null;
    let checks = { files: 0, bytes: 0 };
    const strip = (r: RefreshRun & { stdout: string }): RefreshRun => ({ seconds: r.seconds, writeBytes: r.writeBytes, sampledWriteBytes: r.sampledWriteBytes, readBytes: r.readBytes, diskBytes: r.diskBytes, peakMiB: r.peakMiB, phases: r.phases });
    const onePair = async (r: number, verify: boolean): Promise<void> => {
      const extra = verify ? [] : ['--no-verify'];
      const what = verify ? 'with read-back' : '--no-verify';
      rmSync(img, { force: true });
      dropFromCache([library]);
      const f = await measuredRun(o.cli, ['create', ...base, '--media', 'usb', '--image', img, '--image-size', o.imageSize, '--json', ...extra], env, disk, logFile, 'create');
      (verify ? verified : bare).full.push(strip(f));
      o.log(`bench: run ${r}/${o.runs} refresh-vs-full: full write (${what}) ${describe(f)}`);
      driverHashes = await updateDrivers(root, site, drivers);
      dropFromCache([library, img]);
      const x = await measuredRun(o.cli, ['refresh', img, ...base, '--json', ...extra], env, disk, logFile, 'refresh');
      (verify ? verified : bare).refresh.push(strip(x));
      const result = JSON.parse(x.stdout.slice(x.stdout.indexOf('{'))) as { written: boolean; changes: { replaced: unknown[]; added: unknown[]; removed: unknown[]; keptFiles: number; bytesToWrite: number; fullBytes: number } };
      if (!result.written) throw new Error(`refresh-vs-full: the refresh wrote nothing: ${x.stdout.slice(0, 2000)}`);
      const c = result.changes;
      changes = { replaced: c.replaced.length, added: c.added.length, removed: c.removed.length, keptFiles: c.keptFiles, bytesToWrite: c.bytesToWrite, fullBytes: c.fullBytes };
      o.log(`bench: run ${r}/${o.runs} refresh-vs-full: refresh (${what}) ${describe(x)}; ${c.replaced.length} replaced, ${c.added.length} added, ${c.removed.length} removed, ${c.keptFiles} kept, ${(c.bytesToWrite / MiB).toFixed(1)} MiB to write`);
      if (!verify) return;
      checks = checkImage(o.cli, env, img, root, driverHashes, o.log);
      // Again at once, the image in the page cache (the checks just read all of it): the read-back's cost without the disk.
      driverHashes = await updateDrivers(root, site, drivers);
      dropFromCache([library]);
      const w = await measuredRun(o.cli, ['refresh', img, ...base, '--json'], env, disk, logFile, 'refresh');
      warm.push(strip(w));
      o.log(`bench: run ${r}/${o.runs} refresh-vs-full: refresh again, the image in the page cache (with read-back) ${describe(w)}`);
    };
    const loadBefore = loadavg()[0];
    for (let r = 1; r <= o.runs; r++) {
      await onePair(r, true);
      if (o.noVerifyPair) await onePair(r, false);
    }
    // The pair on a USB stick's speed: where the time a full write takes is the stick's, as an administrator meets it.
    let stick: RefreshFigure['stick'] = null;
    const noStick = o.stickMBps > 0 ? cannotThrottle() : 'not asked for';
    if (noStick) o.log(`bench: refresh-vs-full: no USB stick pair: ${noStick}`);
    else {
      const dev = throttledStick(join(root, 'stick-device.img'), 2 * 1024 ** 3, o.stickMBps * 1e6);
      try {
        const runs = { full: [] as RefreshRun[], refresh: [] as RefreshRun[] };
        const onStick = async (args: string[], kind: 'create' | 'refresh'): Promise<RefreshRun & { stdout: string }> => {
          const before = dev.bytesWritten();
          const run = await measuredRun(o.cli, args, env, null, logFile, kind);
          // What the stick was given, by the kernel's count: the process's write_bytes does not see O_DIRECT writes.
          return { ...run, writeBytes: dev.bytesWritten() - before };
        };
        for (let r = 1; r <= o.runs; r++) {
          dropFromCache([library]);
          const f = await onStick(['create', ...base, '--media', 'usb', '--drive', dev.device, '--all', '--yes-erase', dev.device, '--json'], 'create');
          runs.full.push(strip(f));
          o.log(`bench: run ${r}/${o.runs} refresh-vs-full: USB stick (${o.stickMBps} MB/s) full write (with read-back) ${describe(f)}; the stick was given ${(f.writeBytes / MiB).toFixed(1)} MiB`);
          driverHashes = await updateDrivers(root, site, drivers);
          dropFromCache([library]);
          const x = await onStick(['refresh', dev.device, ...base, '--all', '--yes-refresh', dev.device, '--json'], 'refresh');
          runs.refresh.push(strip(x));
          o.log(`bench: run ${r}/${o.runs} refresh-vs-full: USB stick (${o.stickMBps} MB/s) refresh (with read-back) ${describe(x)}; the stick was given ${(x.writeBytes / MiB).toFixed(1)} MiB`);
          const v = spawnChecked(process.execPath, [o.cli, 'verify', dev.device], env, 'tsmedia verify of the refreshed stick');
          if (!/^OK: /m.test(v)) throw new Error(`refresh-vs-full: the refreshed stick does not verify: ${v.slice(0, 2000)}`);
        }
        stick = { ...pair(runs.full, runs.refresh), mbps: o.stickMBps };
      } finally {
        dev.remove();
      }
    }
    return {
      imageBytes: statSync(img).size,
      contentBytes: o.contentBytes,
      driverBytes: o.driverBytes,
      runs: o.runs,
      verified: pair(verified.full, verified.refresh),
      noVerify: o.noVerifyPair ? pair(bare.full, bare.refresh) : null,
      warmRefresh: median(warm.map((r) => r.seconds)),
      warmRefreshRuns: warm,
      changes,
      checks,
      load: [loadBefore, loadavg()[0]],
      stick,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The two targets (null values: not measured): the pair a user runs, with read-back. */
export function refreshTargets(f: RefreshFigure | null): { name: string; value: number | null; limit: string; met: boolean | null }[] {
  return [
    { name: 'refresh-vs-full-bytes', value: f ? f.verified.bytesRatio : null, limit: '<= 0.10 (write_bytes)', met: f ? f.verified.bytesRatio <= 0.1 : null },
    { name: 'refresh-vs-full-time', value: f ? f.verified.timeRatio : null, limit: '<= 0.15 (image file)', met: f ? f.verified.timeRatio <= 0.15 : null },
    { name: 'refresh-vs-full-time-stick', value: f?.stick ? f.stick.timeRatio : null, limit: '<= 0.15 (USB stick)', met: f?.stick ? f.stick.timeRatio <= 0.15 : null },
    { name: 'refresh-vs-full-bytes-stick', value: f?.stick ? f.stick.bytesRatio : null, limit: '<= 0.10 (USB stick)', met: f?.stick ? f.stick.bytesRatio <= 0.1 : null },
  ];
}

/** Each phase's median over the runs, as "start 0.80 s, prepare 0.40 s, …". */
function phaseLine(runs: RefreshRun[]): string {
  const names = [...new Set(runs.flatMap((r) => r.phases.map((p) => p.phase)))];
  return names.map((n) => `${n} ${median(runs.map((r) => r.phases.find((p) => p.phase === n)?.seconds ?? 0)).toFixed(2)} s`).join(', ');
}

/** Lines for the console. */
export function refreshLines(f: RefreshFigure): string[] {
  const mb = (b: number): string => `${(b / MiB).toFixed(1)} MiB`;
  const row = (p: RefreshPair, what: string): string[] => [
    `  ${what}: full write ${p.full.toFixed(2)} s, ${mb(p.fullBytes)} written; refresh ${p.refresh.toFixed(2)} s, ${mb(p.refreshBytes)} written: time × ${p.timeRatio.toFixed(3)}, bytes × ${p.bytesRatio.toFixed(3)}`,
  ];
  const lines = [
    `refresh vs full: a ${(f.imageBytes / 1024 ** 3).toFixed(2)} GiB image, ${(f.contentBytes / MiB).toFixed(0)} MiB of content, a ${(f.driverBytes / 1e6).toFixed(0)} MB driver package changed; medians of ${f.runs} run(s), cold page cache, sync inside the time; load ${f.load[0].toFixed(1)} → ${f.load[1].toFixed(1)}`,
    ...row(f.verified, 'with read-back (as a user runs them)'),
    ...(f.noVerify ? row(f.noVerify, '--no-verify') : []),
  ];
  if (f.stick) lines.push(...row(f.stick, `on a 2 GiB USB stick at ${f.stick.mbps} MB/s (a throttled loop device), with read-back`));
  lines.push(`  a second refresh at once, the image in the page cache (with read-back): ${f.warmRefresh.toFixed(2)} s, time × ${(f.warmRefresh / f.verified.full).toFixed(3)}`);
  if (f.changes) lines.push(`  the refresh's change list: ${f.changes.replaced} replaced, ${f.changes.added} added, ${f.changes.removed} removed, ${f.changes.keptFiles} kept; ${mb(f.changes.bytesToWrite)} to write of ${mb(f.changes.fullBytes)}`);
  lines.push(`  checked after every refresh: tsmedia verify, fsck.fat -n, mtools read ${f.checks.files} files (${mb(f.checks.bytes)}) with the manifest's hashes`);
  lines.push('  where the time goes (medians of each phase, from the log):');
  lines.push(`    full write with read-back: ${phaseLine(f.verified.fullRuns)}`, `    refresh with read-back: ${phaseLine(f.verified.refreshRuns)}`, `    refresh with read-back, image in the page cache: ${phaseLine(f.warmRefreshRuns)}`);
  if (f.noVerify) lines.push(`    full write --no-verify: ${phaseLine(f.noVerify.fullRuns)}`, `    refresh --no-verify: ${phaseLine(f.noVerify.refreshRuns)}`);
  return lines;
}
