// `npm run bench`: tsmedia against the physical limit (cat + sync) and its peers (genisoimage, xorriso, mkfs.fat +
// mcopy, sha256sum) on one content tree, commands alternating over several runs, medians reported; plus peak memory,
// the analysis of a large task sequence, the progress rate, the cancel latency and the wizard's long tasks during a
// write (`--only-ui`: that last figure alone); as root, a USB drive write to a loop device throttled to a stick's speed
// against dd of the same bytes, and an ISO written to a real SMB share (Samba through smbnetfs) against cp of the same
// bytes; and a 5,000-package, 300-task-sequence live site opened from the test administration service
// (`--only-live`: that figure alone); as root, several drives in one run (`several-drives`: three loop devices throttled
// to 20, 40 and 60 MB/s written at once against the slowest alone, the content read once, memory bounded;
// `--only-drives`: that figure alone, `--drives-content MiB`, `--drives-mbps 20,40,60`, `--drives-skip-verify`); as root,
// a refresh against a full write (`refresh-vs-full`: a 2 GiB USB image of ~1.3 GiB content, one 50 MB driver package
// changed, scripts/lib/refreshVsFull.ts; `--only-refresh`: that figure alone, `--refresh-content MiB`).
// Not part of `npm test`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ContentLibraryWriter } from '../electron/engine/site/ContentLibraryWriter.js';
import { writeExportZip } from '../electron/engine/site/ExportWriter.js';
import { createIsoSet } from '../electron/engine/media/MediaBuilder.js';
import { packageRoot, sampleSitePath } from '../electron/engine/paths.js';
import { Site } from '../electron/engine/site/Site.js';
import { planIso } from '../electron/engine/formats/iso/IsoImage.js';
import { planFat32 } from '../electron/engine/formats/fat32/Fat32Volume.js';
import type { IsoMediaRequest } from '../shared/media.js';
import { cannotShare, sambaShare } from './lib/sambaShare.js';
import { cannotThrottle, throttledStick } from './lib/throttledStick.js';
import { severalDrivesFigure, severalDrivesLines, severalDrivesTargets, type DrivesFigure } from './lib/severalDrives.js';
import { refreshLines, refreshTargets, refreshVsFullFigure, type RefreshFigure } from './lib/refreshVsFull.js';
import { cannotMeasureWizard, measureWizardLongTasks, type WizardLongTasks } from './lib/wizardLongTasks.js';
import { loadFolderSite } from '../test/adminService/AdminServiceData.js';
import { startAdminService } from '../test/adminService/AdminServiceServer.js';
import { syntheticSite } from '../test/adminService/SyntheticSite.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const CLI = join(packageRoot(), 'bin', 'tsmedia.js');

interface Result {
  name: string;
  seconds: number;
  mbPerSecond: number | null;
  peakMiB: number | null;
}
interface Target {
  name: string;
  value: number | null;
  limit: string;
  met: boolean | null;
}

function parseSize(t: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(GiB|MiB|G|M)?$/i.exec(t.trim());
  if (!m) throw new Error(`--size "${t}": use e.g. 2GiB or 512MiB`);
  return Math.round(Number(m[1]) * (/^m/i.test(m[2] ?? 'G') ? MiB : GiB));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs a shell command under GNU time: seconds (wall), CPU seconds (user, system) and peak resident memory of the largest process. */
function timed(cmd: string): { seconds: number; peakMiB: number; user: number; system: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', 'sh', '-c', `${cmd} && sync`], { encoding: 'utf8', maxBuffer: 64 * MiB });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`bench command failed (${r.status}): ${cmd}\n${r.stderr.slice(-2000)}`);
  const [kib, user, system] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number);
  return { seconds, peakMiB: Number.isFinite(kib) ? kib / 1024 : NaN, user, system };
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A content tree: a few large files (300–900 MiB) and about 2,000 small ones (1–64 KiB). */
function makeContent(dir: string, size: number): number {
  mkdirSync(join(dir, 'small'), { recursive: true });
  const buf = Buffer.allocUnsafe(8 * MiB);
  let seed = 1;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  let smallBytes = 0;
  for (let i = 0; i < 2000; i++) {
    const n = 1024 + Math.floor(rnd() * 63 * 1024);
    randomFillSync(buf, 0, n);
    writeFileSync(join(dir, 'small', `file${String(i).padStart(4, '0')}.bin`), buf.subarray(0, n));
    smallBytes += n;
  }
  let left = size - smallBytes;
  let i = 0;
  while (left > 0) {
    const want = Math.min(left, Math.round((300 + rnd() * 600) * MiB));
    const fd = openSync(join(dir, `large${i++}.bin`), 'w');
    for (let done = 0; done < want; ) {
      const n = Math.min(buf.length, want - done);
      randomFillSync(buf, 0, n);
      writeSync(fd, buf, 0, n);
      done += n;
    }
    closeSync(fd);
    left -= want;
  }
  return size;
}

/** The planners alone, in this process (median of three): the time before the first byte of a large set is written. */
function planningSeconds(): { iso: number; fat32: number } {
  const source = { kind: 'buffer' as const, data: Buffer.alloc(5000, 1), label: 'bench' };
  const files = Array.from({ length: 10_000 }, (_, i) => ({ path: `SMS/PKG/P${String(i % 400).padStart(5, '0')}/Driver Files/file number ${i} of the set.inf`, source }));
  const timestamp = new Date('2026-01-01T00:00:00Z');
  const time = (fn: () => unknown): number => {
    const runs = [0, 1, 2].map(() => {
      const t0 = performance.now();
      fn();
      return (performance.now() - t0) / 1000;
    });
    return runs.sort((a, b) => a - b)[1];
  };
  return {
    iso: time(() => planIso({ volumeId: 'BENCH', files, timestamp })),
    fat32: time(() => planFat32({ diskBytes: 2e12, label: 'BENCH', files, timestamp })),
  };
}

async function makeSite(root: string, content: string): Promise<string> {
  const site = join(root, 'site');
  cpSync(sampleSitePath(), site, { recursive: true });
  await new ContentLibraryWriter(join(site, 'SCCMContentLib_DP01')).addContentFromFolder('SMP00090', 1, content);
  const descPath = join(site, 'tsmedia-site.json');
  const desc = JSON.parse(readFileSync(descPath, 'utf8')) as { catalog: unknown[] };
  desc.catalog.push({ packageId: 'SMP00090', name: 'Benchmark payload', kind: 'Package', version: '1', sourceVersion: 1 });
  writeFileSync(descPath, JSON.stringify(desc));
  return site;
}

/** A task sequence of 2,000 steps and a content library of 10,000 files, for the analysis figure. */
async function analysisSite(root: string): Promise<string> {
  const site = join(root, 'analysis-site');
  mkdirSync(join(site, 'exports'), { recursive: true });
  const w = new ContentLibraryWriter(join(site, 'SCCMContentLib_DP01'));
  const ids: string[] = [];
  for (let p = 0; p < 50; p++) {
    const id = `BEN${(0x100 + p).toString(16).toUpperCase().padStart(5, '0')}`;
    ids.push(id);
    await w.addContent(id, 1, Array.from({ length: 200 }, (_, i) => ({ relativePath: `d${i % 10}/f${i}.txt`, data: Buffer.from(`${id} ${i}`) })));
  }
  const steps = Array.from({ length: 2000 }, (_, i) =>
    i === 0
      ? `<step type="SMS_TaskSequence_ApplyOperatingSystemAction" name="Apply"><action>OSDApplyOS.exe /image:${ids[0]},1</action><defaultVarList><variable name="ImagePackageID" property="ImagePackageID">${ids[0]}</variable></defaultVarList></step>`
      : `<step type="SMS_TaskSequence_RunCommandLineAction" name="Step ${i}"><action>cmd /c echo ${i}</action><defaultVarList><variable name="PackageID" property="PackageID">${ids[i % ids.length]}</variable></defaultVarList></step>`,
  );
  const xml = `<sequence version="3.10"><group name="Big">${steps.join('')}</group></sequence>`;
  await writeExportZip(join(site, 'exports', 'big.zip'), [{ packageId: 'BEN00010', name: 'Two thousand steps', bootImageId: ids[1], sequenceXml: xml, sourceSite: 'BEN', references: [], appReferences: [] }]);
  return site;
}

interface StickFigure {
  tsmedia: number;
  dd: number;
  bytes: number;
  mbps: number;
  peakMiB: number;
}

/**
 * tsmedia writing a USB drive against `dd oflag=direct bs=4M` of the same number of bytes to the same drive: a loop
 * device throttled to a stick's speed, its content a site of its own (`contentBytes`, so the figure takes seconds, not
 * minutes). The bytes tsmedia wrote are the kernel's count for the device; medians of `runs` alternating runs.
 */
async function stickFigure(work: string, contentBytes: number, bytesPerSecond: number, runs: number, log: (s: string) => void): Promise<StickFigure | null> {
  const why = cannotThrottle();
  if (why) {
    log(`bench: usb-drive-vs-dd not measured: ${why}`);
    return null;
  }
  const root = join(work, 'stick');
  const content = join(root, 'content');
  makeContent(content, contentBytes);
  const site = await makeSite(root, content);
  rmSync(content, { recursive: true, force: true });
  const stick = throttledStick(join(root, 'stick.img'), Math.ceil((contentBytes * 1.3) / MiB) * MiB + 512 * MiB, bytesPerSecond);
  try {
    const ts: number[] = [];
    const dd: number[] = [];
    let peak = 0;
    let bytes = 0;
    for (let r = 1; r <= runs; r++) {
      execFileSync('sync');
      const before = stick.bytesWritten();
      const d = stick.device;
      const t = timed(`node ${q(CLI)} create --site ${q(site)} --media usb --task-sequence SMP00010 --dp DP01 --package SMP00090 --drive ${d} --yes-erase ${d} --all --no-verify > /dev/null 2>&1`);
      bytes = stick.bytesWritten() - before;
      ts.push(t.seconds);
      peak = Math.max(peak, t.peakMiB);
      const blocks = Math.ceil(bytes / (4 * MiB));
      const e = timed(`dd if=/dev/zero of=${d} bs=4M count=${blocks} oflag=direct status=none`);
      dd.push(e.seconds);
      log(`bench: run ${r}/${runs} stick: tsmedia ${t.seconds.toFixed(2)} s for ${(bytes / MiB).toFixed(0)} MiB, dd ${e.seconds.toFixed(2)} s for ${blocks * 4} MiB`);
    }
    return { tsmedia: median(ts), dd: median(dd), bytes, mbps: bytesPerSecond / 1e6, peakMiB: peak };
  } finally {
    stick.remove();
    rmSync(root, { recursive: true, force: true });
  }
}

/** The several-drives figure (scripts/lib/severalDrives.ts) on a site of its own of `--drives-content` (default 256 MiB). */
async function drivesFigure(work: string, values: { 'drives-content'?: string; 'drives-mbps'?: string; 'drives-skip-verify'?: boolean }, runs: number, log: (s: string) => void): Promise<DrivesFigure | null> {
  const mib = values['drives-content'] ?? '256';
  const contentBytes = parseSize(/^\d+(\.\d+)?$/.test(mib.trim()) ? `${mib}MiB` : mib);
  const mbps = (values['drives-mbps'] ?? '20,40,60').split(',').map(Number);
  if (mbps.length < 2 || mbps.some((m) => !(m > 0))) throw new Error(`--drives-mbps "${values['drives-mbps']}": use e.g. 20,40,60`);
  return severalDrivesFigure({
    work,
    contentBytes,
    mbps,
    runs,
    verifyRun: values['drives-skip-verify'] !== true,
    cli: CLI,
    makeSite: async (root, bytes) => {
      const content = join(root, 'content');
      makeContent(content, bytes);
      const site = await makeSite(root, content);
      rmSync(content, { recursive: true, force: true });
      return site;
    },
    log,
  });
}

/** The refresh-vs-full figure (scripts/lib/refreshVsFull.ts): a 2 GiB image, `--refresh-content` (default 1,350 MiB) in four packages, one a 50 MB driver package. */
async function refreshFigure(work: string, values: { 'refresh-content'?: string; 'refresh-stick-mbps'?: string }, runs: number, log: (s: string) => void): Promise<RefreshFigure | null> {
  const mib = values['refresh-content'] ?? '1350';
  const contentBytes = parseSize(/^\d+(\.\d+)?$/.test(mib.trim()) ? `${mib}MiB` : mib);
  if (contentBytes > 1700 * MiB) throw new Error(`--refresh-content "${mib}": at most 1700 MiB, the image is 2 GiB and the refresh writes the new package beside the old one`);
  // The stick pair at 30 MB/s by default (a USB 3 stick's sustained write); --refresh-stick-mbps 0 leaves it out.
  const stickMBps = Number(values['refresh-stick-mbps'] ?? '30');
  if (!(stickMBps >= 0)) throw new Error(`--refresh-stick-mbps "${values['refresh-stick-mbps']}": MB/s, or 0 for none`);
  return refreshVsFullFigure({ work, cli: CLI, sampleSite: sampleSitePath(), contentBytes, driverBytes: 50e6, imageSize: '2GiB', runs, noVerifyPair: true, stickMBps, log });
}

interface ShareFigure {
  /** tsmedia create --media iso --no-verify to the share. */
  tsmedia: number;
  /** The same with the read-back (the default run). */
  readBack: number;
  /** cp of a file of the ISO's bytes to the share. */
  cp: number;
  bytes: number;
  peakMiB: number;
  /** smbnetfs's mount: as by default (4 KiB writes), or with big_writes. */
  mount: 'default' | 'big_writes';
  runs: { tsmedia: number; readBack: number; cp: number }[];
}

/**
 * An ISO written to an SMB share against `cp` of the same bytes to it: Samba's smbd on 127.0.0.1 mounted through
 * smbnetfs (scripts/lib/sambaShare.ts), its content a site of its own (`contentBytes`). tsmedia runs with --no-verify
 * (cp reads nothing back) and, for the read-back's cost, as by default; cp copies the ISO tsmedia made, from this
 * computer's disk. Every output is removed on the server's own folder between commands; medians of `runs` alternating
 * runs. `parent` is where the share's folder goes (beside the work folder, never inside it: that is removed whole).
 * smbnetfs is mounted as it mounts by default (FUSE hands it 4 KiB writes: a slow share) unless `bigWrites` (a fast one).
 */
async function shareFigure(work: string, parent: string, contentBytes: number, runs: number, bigWrites: boolean, log: (s: string) => void): Promise<ShareFigure | null> {
  const why = cannotShare();
  if (why) {
    log(`bench: iso-to-share-vs-cp not measured: ${why}`);
    return null;
  }
  const root = join(work, 'share-site');
  const content = join(root, 'content');
  makeContent(content, contentBytes);
  const site = await makeSite(root, content);
  rmSync(content, { recursive: true, force: true });
  const share = await sambaShare({ parent, bigWrites });
  try {
    const copy = join(root, 'same-bytes.iso');
    const clean = (): void => {
      for (const n of readdirSync(share.folder)) rmSync(join(share.folder, n), { recursive: true, force: true });
    };
    const iso = (out: string, verify: boolean): string =>
      `node ${q(CLI)} create --site ${q(site)} --media iso --task-sequence SMP00010 --dp DP01 --package SMP00090 --out ${q(join(share.path, out))}${verify ? '' : ' --no-verify'} > /dev/null 2>&1`;
    const rows: ShareFigure['runs'] = [];
    let peak = 0;
    let bytes = 0;
    for (let r = 1; r <= runs; r++) {
      clean();
      execFileSync('sync');
      const t = timed(iso('t.iso', false));
      bytes = statSync(join(share.folder, 't.iso')).size;
      peak = Math.max(peak, t.peakMiB);
      // cp's source: the ISO just made, on this computer's disk (untimed), as tsmedia's content is.
      if (r === 1) execFileSync('cp', ['--sparse=never', join(share.folder, 't.iso'), copy]);
      clean();
      execFileSync('sync');
      // Every byte written, as tsmedia writes it: cp's hole detection would end a file that ends in zeros with an
      // ftruncate, which smbnetfs fails with EIO on a file opened write-only.
      const c = timed(`cp --sparse=never ${q(copy)} ${q(join(share.path, 'cp.iso'))}`);
      clean();
      execFileSync('sync');
      const v = timed(iso('v.iso', true));
      peak = Math.max(peak, v.peakMiB);
      rows.push({ tsmedia: t.seconds, readBack: v.seconds, cp: c.seconds });
      log(`bench: run ${r}/${runs} share: tsmedia --no-verify ${t.seconds.toFixed(2)} s, cp ${c.seconds.toFixed(2)} s, tsmedia with read-back ${v.seconds.toFixed(2)} s, ${(bytes / MiB).toFixed(0)} MiB`);
    }
    clean();
    return {
      tsmedia: median(rows.map((x) => x.tsmedia)),
      readBack: median(rows.map((x) => x.readBack)),
      cp: median(rows.map((x) => x.cp)),
      bytes,
      peakMiB: peak,
      mount: bigWrites ? 'big_writes' : 'default',
      runs: rows,
    };
  } finally {
    share.remove();
    rmSync(root, { recursive: true, force: true });
  }
}

function shareLines(sh: ShareFigure): string[] {
  const mbps = (sec: number): string => (sh.bytes / 1e6 / sec).toFixed(1);
  return [
    `smbnetfs mounted ${sh.mount === 'default' ? 'as by default (4 KiB writes)' : 'with big_writes'}`,
    `tsmedia iso to the share (--no-verify) ${sh.tsmedia.toFixed(2)} s (${mbps(sh.tsmedia)} MB/s), cp of the same ${(sh.bytes / MiB).toFixed(0)} MiB ${sh.cp.toFixed(2)} s (${mbps(sh.cp)} MB/s)`,
    `tsmedia iso to the share with its read-back (the default) ${sh.readBack.toFixed(2)} s: the read-back adds ${(sh.readBack - sh.tsmedia).toFixed(2)} s (${(((sh.readBack - sh.tsmedia) / sh.tsmedia) * 100).toFixed(0)} %)`,
  ];
}

const shareTarget = (sh: ShareFigure | null): Target => ({ name: 'iso-to-share-vs-cp', value: sh ? sh.tsmedia / sh.cp : null, limit: '<= 1.25', met: sh ? sh.tsmedia / sh.cp <= 1.25 : null });

/** Opens a 5,000-package, 300-task-sequence live site through the CLI (`sequences`): seconds, median of `runs`. */
async function liveSiteOpen(work: string, runs: number, log: (s: string) => void): Promise<{ seconds: number; requests: number; megabytes: number } | null> {
  const template = await loadFolderSite(sampleSitePath());
  const data = syntheticSite(template, { packages: 5000, taskSequences: 300, applications: 500 });
  const user = 'CONTOSO\\bench';
  const password = 'bench-password';
  const server = await startAdminService({ data, users: { [user]: { password, admin: true } } });
  const env = { ...process.env, TSMEDIA_CONFIG_DIR: join(work, 'live-config'), TSMEDIA_SITE_USER: user, TSMEDIA_SITE_PASSWORD: password };
  const run = (extra: string[]): Promise<{ seconds: number; status: number; stdout: string }> =>
    new Promise((resolvePromise) => {
      const t0 = process.hrtime.bigint();
      const child = spawn(process.execPath, [CLI, 'sequences', '--site', server.url, '--json', ...extra], { env });
      let stdout = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.resume();
      child.on('close', (code) => resolvePromise({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, status: code ?? -1, stdout }));
    });
  try {
    const first = await run(['--trust-certificate', server.thumbprint]);
    if (first.status !== 0) throw new Error(`live-site-open: tsmedia sequences failed (${first.status})`);
    const listed = (JSON.parse(first.stdout) as unknown[]).length;
    if (listed !== 300) throw new Error(`live-site-open: ${listed} task sequences listed, expected 300`);
    const times: number[] = [];
    server.counters.reset();
    for (let i = 0; i < runs; i++) times.push((await run([])).seconds);
    const figure = { seconds: median(times), requests: server.counters.requests / runs, megabytes: server.counters.bytesSent / runs / 1e6 };
    log(`live-site-open: ${figure.seconds.toFixed(2)} s (median of ${runs}), ${figure.requests.toFixed(0)} requests, ${figure.megabytes.toFixed(1)} MB per open`);
    return figure;
  } finally {
    await server.close();
  }
}

const liveTarget = (f: { seconds: number } | null): Target => ({ name: 'live-site-open', value: f ? f.seconds : null, limit: '< 5 s', met: f ? f.seconds < 5 : null });

function nodeSha256Throughput(): number {
  const b = Buffer.allocUnsafe(256 * MiB);
  randomFillSync(b);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < 4; i++) createHash('sha256').update(b).digest();
  return (4 * b.length) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function progressRate(site: string, out: string): Promise<number> {
  const times: number[] = [];
  const req: IsoMediaRequest = {
    site, taskSequenceId: 'SMP00010', size: 'unlimited', out, distributionPoints: ['DP01'], password: null, unattended: false, startDate: null, expireDate: null,
    label: 'Bench', autorun: false, i386Binaries: false, variables: [], prestartCommand: null, prestartFiles: null, applications: [], packages: ['SMP00090'], driverPackages: [], staging: null,
    detectDependencies: true, timestamp: null, skipVerify: true,
  };
  await createIsoSet(await Site.open(site), req, { onProgress: () => times.push(Date.now()), userLogDir: null });
  // The most events in any one-second window.
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

function cancelLatency(site: string, out: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, 'create', '--site', site, '--task-sequence', 'SMP00010', '--dp', 'DP01', '--package', 'SMP00090', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let t0 = 0;
    p.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      if (t0 === 0 && /writing/.test(err)) {
        setTimeout(() => {
          t0 = Date.now();
          p.kill('SIGINT');
        }, 300);
      }
    });
    p.on('exit', (code) => (code === 130 && t0 ? resolve((Date.now() - t0) / 1000) : reject(new Error(`cancel run ended with ${code}: ${err.slice(-500)}`))));
  });
}

/**
 * The wizard in the loopback host during a write of the payload (scripts/lib/wizardLongTasks.ts). Null, with the
 * reason printed, when Chromium or the built page is missing here, or (unless `strict`) when the run fails.
 */
async function wizardDuringWrite(site: string, work: string, size: number, log: (s: string) => void, strict: boolean, trace?: string): Promise<WizardLongTasks | null> {
  const why = cannotMeasureWizard();
  if (why !== null) {
    log(`bench: long-tasks-p95 not measured: ${why}`);
    return null;
  }
  log('bench: the wizard in the loopback host, writing an ISO with the payload in Chromium');
  try {
    const r = await measureWizardLongTasks({ site, work, timeoutMs: 120_000 + Math.ceil(size / GiB) * 120_000, log, trace });
    log(
      `bench: wizard during a write: ${r.seconds.toFixed(1)} s, ${r.count} long task(s), p95 ${r.p95.toFixed(0)} ms, max ${r.max.toFixed(0)} ms, ` +
        `${r.progressRenders} progress update(s) rendered${r.count === 0 ? ' (no long tasks at all: p95 is 0)' : ''}; ${r.before} long task(s) before the write`,
    );
    return r;
  } catch (err) {
    if (strict) throw err;
    log(`bench: long-tasks-p95 not measured: ${(err as Error).message}`);
    return null;
  }
}

const targetLine = (t: Target): string => `${t.name.padEnd(24)} ${(t.value === null ? 'n/a' : t.value.toFixed(2)).padEnd(8)} ${t.limit.padEnd(26)} ${t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met'}`;
const WIZARD_ROW = 'wizard during a write (long tasks)';
const wizardRow = (w: WizardLongTasks): Result => ({ name: WIZARD_ROW, seconds: w.seconds, mbPerSecond: null, peakMiB: null });
const LONG_TASKS_LIMIT = '<= 50 ms (p95)';
const longTasksFigures = (w: WizardLongTasks | null): unknown =>
  w && { p95Ms: w.p95, maxMs: w.max, count: w.count, seconds: w.seconds, progressRenders: w.progressRenders, durationsMs: w.durations };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { size: { type: 'string' }, runs: { type: 'string' }, json: { type: 'string' }, work: { type: 'string' }, 'large-factor': { type: 'string' }, 'skip-large': { type: 'boolean' }, 'only-ui': { type: 'boolean' }, trace: { type: 'string' }, 'only-stick': { type: 'boolean' }, 'stick-mbps': { type: 'string' }, 'stick-content': { type: 'string' }, 'only-share': { type: 'boolean' }, 'share-content': { type: 'string' }, 'share-big-writes': { type: 'boolean' }, 'only-live': { type: 'boolean' }, 'only-drives': { type: 'boolean' }, 'drives-content': { type: 'string' }, 'drives-mbps': { type: 'string' }, 'drives-skip-verify': { type: 'boolean' }, 'only-refresh': { type: 'boolean' }, 'refresh-content': { type: 'string' }, 'refresh-stick-mbps': { type: 'string' } },
  });
  const size = parseSize(values.size ?? '2GiB');
  if (size > 20 * GiB) throw new Error('--size is at most 20 GiB');
  const runs = Number(values.runs ?? 5);
  const largeFactor = Number(values['large-factor'] ?? 4);
  const work = mkdtempSync(join(values.work ?? tmpdir(), 'tsmedia-bench-'));
  const free = Number(statfsSync(work).bavail) * Number(statfsSync(work).bsize);
  const onlyUi = values['only-ui'] === true;
  const needed = onlyUi ? size * 3 : size * 6 + (values['skip-large'] ? 0 : size * largeFactor * 3);
  if (free < needed) throw new Error(`${work} has ${(free / GiB).toFixed(1)} GiB free; the benchmark needs about ${(needed / GiB).toFixed(1)} GiB (use --size or --skip-large).`);
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  try {
    if (values['only-stick']) {
      const st = await stickFigure(work, parseSize(values['stick-content'] ?? '1GiB'), Number(values['stick-mbps'] ?? 50) * 1e6, runs, log);
      const t: Target = { name: 'usb-drive-vs-dd', value: st ? st.tsmedia / st.dd : null, limit: '<= 1.10', met: st ? st.tsmedia / st.dd <= 1.1 : null };
      if (st) console.log(`tsmedia usb --drive ${st.tsmedia.toFixed(2)} s, dd oflag=direct bs=4M ${st.dd.toFixed(2)} s, ${(st.bytes / MiB).toFixed(0)} MiB at ${st.mbps} MB/s`);
      console.log(targetLine(t));
      if (values.json) writeFileSync(values.json, `${JSON.stringify({ targets: [t], stick: st }, null, 2)}\n`);
      return;
    }
    if (values['only-drives']) {
      const f = await drivesFigure(work, values, runs, log);
      const ts = severalDrivesTargets(f);
      if (f) console.log(severalDrivesLines(f).join('\n'));
      console.log(ts.map(targetLine).join('\n'));
      if (values.json) writeFileSync(values.json, `${JSON.stringify({ targets: ts, drives: f }, null, 2)}\n`);
      return;
    }
    if (values['only-refresh']) {
      const f = await refreshFigure(work, values, runs, log);
      const ts = refreshTargets(f);
      if (f) console.log(refreshLines(f).join('\n'));
      console.log(ts.map(targetLine).join('\n'));
      if (values.json) writeFileSync(values.json, `${JSON.stringify({ targets: ts, refresh: f }, null, 2)}\n`);
      return;
    }
    if (values['only-live']) {
      const f = await liveSiteOpen(work, runs, log);
      console.log(targetLine(liveTarget(f)));
      if (values.json) writeFileSync(values.json, `${JSON.stringify({ targets: [liveTarget(f)], live: f }, null, 2)}\n`);
      return;
    }
    if (values['only-share']) {
      const sh = await shareFigure(work, values.work ?? tmpdir(), parseSize(values['share-content'] ?? '512MiB'), runs, values['share-big-writes'] === true, log);
      const t = shareTarget(sh);
      if (sh) console.log(shareLines(sh).join('\n'));
      console.log(targetLine(t));
      if (values.json) writeFileSync(values.json, `${JSON.stringify({ targets: [t], share: sh }, null, 2)}\n`);
      return;
    }
    log(`bench: making ${(size / GiB).toFixed(2)} GiB of content in ${work}`);
    const content = join(work, 'content');
    makeContent(content, size);
    const site = await makeSite(work, content);
    if (onlyUi) {
      const w = await wizardDuringWrite(site, work, size, log, true, values.trace);
      const t: Target = { name: 'long-tasks-p95', value: w ? w.p95 : null, limit: LONG_TASKS_LIMIT, met: w ? w.p95 <= 50 : null };
      const extra = w ? ` (max ${w.max.toFixed(0)} ms, ${w.count} long task(s)${w.count === 0 ? ': none at all, p95 is 0' : ''}; ${w.progressRenders} progress updates rendered in ${w.seconds.toFixed(1)} s)` : '';
      console.log(`${targetLine(t)}${extra}`);
      if (values.json) writeFileSync(values.json, `${JSON.stringify({ sizeBytes: size, results: w ? [wizardRow(w)] : [], targets: [t], longTasks: longTasksFigures(w) }, null, 2)}\n`);
      return;
    }
    const out = (n: string): string => join(work, n);
    const rm = (p: string): void => rmSync(p, { force: true, recursive: true });
    const commands: { name: string; cmd: string; clean: string[] }[] = [
      { name: 'cat + sync', cmd: `find ${q(content)} -type f -print0 | xargs -0 cat > ${q(out('cat.bin'))}`, clean: [out('cat.bin')] },
      { name: 'tsmedia iso', cmd: `node ${q(CLI)} create --site ${q(site)} --task-sequence SMP00010 --dp DP01 --package SMP00090 --out ${q(out('t.iso'))} --no-verify > /dev/null 2>&1`, clean: [out('t.iso'), out('t.iso.sha256')] },
      // The default run also reads every byte back and hashes the image for its .sha256 file: shown, not a target.
      { name: 'tsmedia iso (read back)', cmd: `node ${q(CLI)} create --site ${q(site)} --task-sequence SMP00010 --dp DP01 --package SMP00090 --out ${q(out('v.iso'))} > /dev/null 2>&1`, clean: [out('v.iso'), out('v.iso.sha256')] },
      { name: 'genisoimage -J -r -udf', cmd: `genisoimage -quiet -J -r -udf -o ${q(out('g.iso'))} ${q(content)}`, clean: [out('g.iso')] },
      { name: 'xorriso -as mkisofs -J -r', cmd: `xorriso -as mkisofs -quiet -J -r -o ${q(out('x.iso'))} ${q(content)} 2>/dev/null`, clean: [out('x.iso')] },
      {
        name: 'tsmedia usb --image',
        cmd: `node ${q(CLI)} create --site ${q(site)} --media usb --task-sequence SMP00010 --dp DP01 --package SMP00090 --image ${q(out('t.img'))} --image-size ${Math.ceil((size * 1.2) / MiB) + 256}MiB --no-verify > /dev/null 2>&1`,
        clean: [out('t.img')],
      },
      { name: 'mkfs.fat -F 32 + mcopy -s', cmd: `mkfs.fat -F 32 -C ${q(out('m.img'))} ${Math.ceil((size * 1.2) / 1024) + 262144} > /dev/null && MTOOLS_SKIP_CHECK=1 mcopy -s -i ${q(out('m.img'))} ${q(content)}/* ::/`, clean: [out('m.img')] },
    ];
    const times = new Map<string, number[]>(commands.map((c) => [c.name, []]));
    const peaks = new Map<string, number>();
    for (let r = 1; r <= runs; r++) {
      for (const c of commands) {
        c.clean.forEach(rm);
        // Untimed: what the previous command left for the disk is written before this one starts.
        execFileSync('sync');
        const t = timed(c.cmd);
        times.get(c.name)?.push(t.seconds);
        peaks.set(c.name, Math.max(peaks.get(c.name) ?? 0, t.peakMiB));
        log(`bench: run ${r}/${runs} ${c.name}: ${t.seconds.toFixed(2)} s (CPU ${t.user.toFixed(2)} user, ${t.system.toFixed(2)} system), ${t.peakMiB.toFixed(0)} MiB`);
        // Each command starts from the same memory: earlier outputs left in the page cache would push the content out
        // of it and make the next command read from the disk. The last ISO stays for the verify figure.
        if (!(r === runs && c.name === 'tsmedia iso')) c.clean.forEach(rm);
      }
    }
    // Verification: tsmedia verify of the last ISO, sha256sum of the content, Node's own SHA-256 on one core.
    const verifyTimes: number[] = [];
    const sumTimes: number[] = [];
    let verifyPeak = 0;
    const isoBytes = Number(execFileSync('stat', ['-c', '%s', out('t.iso')], { encoding: 'utf8' }));
    for (let r = 1; r <= runs; r++) {
      const v = timed(`node ${q(CLI)} verify ${q(out('t.iso'))} > /dev/null`);
      verifyTimes.push(v.seconds);
      verifyPeak = Math.max(verifyPeak, v.peakMiB);
      sumTimes.push(timed(`find ${q(content)} -type f -print0 | xargs -0 sha256sum > /dev/null`).seconds);
    }
    const nodeSha = nodeSha256Throughput();
    const aSite = await analysisSite(work);
    const analysisRun = timed(`node ${q(CLI)} analyze --site ${q(aSite)} --task-sequence BEN00010 --json > /dev/null`);
    const planning = planningSeconds();
    const analysisSiteRun = timed(`node ${q(CLI)} catalog --site ${q(aSite)} --json > /dev/null`);
    const rate = await progressRate(site, out('p.iso'));
    rm(out('p.iso'));
    const cancel = await cancelLatency(site, out('c.iso'));
    // Before the large figure: its 8 GiB would push this site's content out of the page cache.
    const wizard = await wizardDuringWrite(site, work, size, log, false, values.trace);

    const stick = await stickFigure(work, parseSize(values['stick-content'] ?? '1GiB'), Number(values['stick-mbps'] ?? 50) * 1e6, runs, log);
    const share = await shareFigure(work, values.work ?? tmpdir(), parseSize(values['share-content'] ?? '512MiB'), runs, values['share-big-writes'] === true, log);
    const live = await liveSiteOpen(work, runs, log);
    const drives = await drivesFigure(work, values, runs, log);
    const refresh = await refreshFigure(work, values, runs, log);

    let largePeak: number | null = null;
    if (!values['skip-large']) {
      for (const c of commands) c.clean.forEach(rm);
      log(`bench: making ${((size * largeFactor) / GiB).toFixed(1)} GiB for the memory figure`);
      const big = join(work, 'content-large');
      makeContent(big, size * largeFactor);
      rm(content);
      const bigSite = await makeSite(join(work, 'large'), big);
      rm(big);
      const t = timed(`node ${q(CLI)} create --site ${q(bigSite)} --task-sequence SMP00010 --dp DP01 --package SMP00090 --out ${q(out('l.iso'))} > /dev/null 2>&1`);
      largePeak = t.peakMiB;
      rm(out('l.iso'));
    }

    const med = (n: string): number => median(times.get(n) ?? []);
    const catS = med('cat + sync');
    const isoPeer = Math.min(med('genisoimage -J -r -udf'), med('xorriso -as mkisofs -J -r'));
    const usbPeer = med('mkfs.fat -F 32 + mcopy -s');
    // The honest limit of a write that hashes what it copies: the copy (cat + sync) and the SHA-256 of the same bytes on
    // one core, whichever is slower, as if the two overlapped perfectly.
    const limit = Math.max(catS, size / nodeSha);
    const results: Result[] = [
      ...commands.map((c) => ({ name: c.name, seconds: med(c.name), mbPerSecond: size / 1e6 / med(c.name), peakMiB: peaks.get(c.name) ?? null })),
      { name: 'tsmedia verify', seconds: median(verifyTimes), mbPerSecond: isoBytes / 1e6 / median(verifyTimes), peakMiB: verifyPeak },
      { name: 'sha256sum (content)', seconds: median(sumTimes), mbPerSecond: size / 1e6 / median(sumTimes), peakMiB: null },
      { name: 'node sha256 (one core)', seconds: size / nodeSha, mbPerSecond: nodeSha / 1e6, peakMiB: null },
      { name: 'analyze 2,000 steps', seconds: analysisRun.seconds, mbPerSecond: null, peakMiB: analysisRun.peakMiB },
      { name: 'catalog, 10,000-file library', seconds: analysisSiteRun.seconds, mbPerSecond: null, peakMiB: analysisSiteRun.peakMiB },
      { name: 'plan an ISO of 10,000 files in 400 folders', seconds: planning.iso, mbPerSecond: null, peakMiB: null },
      { name: 'plan FAT32 on a 2 TB drive, 10,000 files', seconds: planning.fat32, mbPerSecond: null, peakMiB: null },
      { name: 'cancel latency', seconds: cancel, mbPerSecond: null, peakMiB: null },
      { name: 'limit: max(cat + sync, SHA-256 one core)', seconds: limit, mbPerSecond: size / 1e6 / limit, peakMiB: null },
      ...(stick
        ? [
            { name: `tsmedia usb --drive (${stick.mbps} MB/s stick)`, seconds: stick.tsmedia, mbPerSecond: stick.bytes / 1e6 / stick.tsmedia, peakMiB: stick.peakMiB },
            { name: `dd oflag=direct bs=4M, same bytes`, seconds: stick.dd, mbPerSecond: stick.bytes / 1e6 / stick.dd, peakMiB: null },
          ]
        : []),
      ...(share
        ? [
            { name: 'share: tsmedia iso --no-verify', seconds: share.tsmedia, mbPerSecond: share.bytes / 1e6 / share.tsmedia, peakMiB: share.peakMiB },
            { name: 'share: tsmedia iso (read back)', seconds: share.readBack, mbPerSecond: share.bytes / 1e6 / share.readBack, peakMiB: null },
            { name: 'share: cp, same bytes', seconds: share.cp, mbPerSecond: share.bytes / 1e6 / share.cp, peakMiB: null },
          ]
        : []),
      ...(drives
        ? [
            { name: `usb: ${Math.min(...drives.mbps)} MB/s drive alone`, seconds: drives.alone, mbPerSecond: drives.contentBytes / 1e6 / drives.alone, peakMiB: null },
            { name: `usb: ${drives.mbps.length} drives (${drives.mbps.join('/')} MB/s)`, seconds: drives.batch, mbPerSecond: drives.contentBytes / 1e6 / drives.batch, peakMiB: drives.peakMiB },
            ...(drives.batchVerify ? [{ name: `usb: ${drives.mbps.length} drives, verified`, seconds: drives.batchVerify.seconds, mbPerSecond: drives.contentBytes / 1e6 / drives.batchVerify.seconds, peakMiB: drives.batchVerify.peakMiB }] : []),
          ]
        : []),
      ...(wizard ? [wizardRow(wizard)] : []),
    ];
    const verifyRate = isoBytes / median(verifyTimes);
    const target = (name: string, value: number | null, limit: string, ok: (v: number) => boolean): Target => ({ name, value, limit, met: value === null ? null : ok(value) });
    const targets: Target[] = [
      target('iso-vs-cat', med('tsmedia iso') / catS, '<= 1.15', (v) => v <= 1.15),
      target('iso-vs-peer', med('tsmedia iso') / isoPeer, '<= 1.0', (v) => v <= 1.0),
      target('usb-vs-cat', med('tsmedia usb --image') / catS, '<= 1.2', (v) => v <= 1.2),
      target('usb-vs-peer', med('tsmedia usb --image') / usbPeer, '<= 1.0', (v) => v <= 1.0),
      target('iso-vs-limit', med('tsmedia iso') / limit, '<= 1.25', (v) => v <= 1.25),
      target('usb-image-vs-limit', med('tsmedia usb --image') / limit, '<= 1.25', (v) => v <= 1.25),
      target('usb-drive-vs-dd', stick ? stick.tsmedia / stick.dd : null, '<= 1.10', (v) => v <= 1.1),
      shareTarget(share),
      liveTarget(live),
      ...severalDrivesTargets(drives),
      ...refreshTargets(refresh),
      target('verify-vs-node-sha256', verifyRate / nodeSha, '>= 0.9', (v) => v >= 0.9),
      target('verify-vs-sha256sum', median(sumTimes) / median(verifyTimes) * (isoBytes / size), '> 1.0 (throughput ratio)', (v) => v > 1.0),
      target('memory-default', Math.max(peaks.get('tsmedia iso') ?? 0, peaks.get('tsmedia usb --image') ?? 0, verifyPeak), '<= 200 MiB', (v) => v <= 200),
      target('memory-large', largePeak, '<= 200 MiB', (v) => v <= 200),
      target('progress-rate', rate, '<= 4 events/s', (v) => v <= 4),
      target('long-tasks-p95', wizard ? wizard.p95 : null, LONG_TASKS_LIMIT, (v) => v <= 50),
      target('cancel-latency', cancel, '<= 1 s', (v) => v <= 1),
    ];
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / GiB), node: process.version, date: new Date().toISOString(), work };
    const pad = (s: string, n: number): string => s.padEnd(n);
    const lines = [
      `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}; content ${(size / GiB).toFixed(2)} GiB; medians of ${runs} alternating runs`,
      `${pad('command', 35)} ${pad('seconds', 9)} ${pad('MB/s', 8)} ${pad('× cat', 7)} ${pad('× peer', 7)} peak MiB`,
      ...results.map((r) => {
        const peer = r.name.startsWith('tsmedia iso') ? isoPeer : r.name.startsWith('tsmedia usb') ? usbPeer : null;
        return `${pad(r.name, 35)} ${pad(r.seconds.toFixed(2), 9)} ${pad(r.mbPerSecond === null ? '-' : r.mbPerSecond.toFixed(0), 8)} ${pad(r.mbPerSecond === null ? '-' : (r.seconds / catS).toFixed(2), 7)} ${pad(peer ? (r.seconds / peer).toFixed(2) : '-', 7)} ${r.peakMiB === null ? '-' : r.peakMiB.toFixed(0)}`;
      }),
      '',
      ...targets.map(targetLine),
    ];
    if (refresh) lines.splice(lines.length - targets.length - 1, 0, '', ...refreshLines(refresh));
    console.log(lines.join('\n'));
    if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine, sizeBytes: size, results, targets, longTasks: longTasksFigures(wizard), drives, refresh }, null, 2)}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(1);
});
