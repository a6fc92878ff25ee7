// The `several-drives` benchmark figure (issue 19): three loop devices, each throttled by the block I/O controller to
// its own speed (by default 20, 40 and 60 MB/s, see throttledStick.ts), written in one run of the CLI (`--drive`
// repeated) against the slowest of them written alone. While the batch runs, its process's /proc/<pid>/io (read_bytes:
// what it made the kernel read from storage; rchar: every byte its read calls returned, the page cache's included) and
// its /proc/<pid>/status (VmHWM: peak resident memory) are sampled every 50 ms, the last sample kept: the content library
// must be read once (read_bytes ≈ the content, not 3×) and memory must stay bounded. The content's pages are dropped
// from the page cache before every run (`dd iflag=nocache count=0` on each file), so read_bytes counts real reads and
// both runs start equally cold. Linux and root only; the loop devices and their throttle entries are removed whatever
// happens.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cannotThrottle, throttledStick, type ThrottledStick } from './throttledStick.js';

const MiB = 1024 ** 2;

export interface DrivesRun {
  seconds: number;
  /** The last sample of the CLI process's /proc/<pid>/io before it exited. */
  readBytes: number;
  rchar: number;
  /** VmHWM of the CLI process, MiB (last sample). */
  peakMiB: number;
  /** The kernel's count of bytes written to each device during the run. */
  bytesWritten: number[];
  samples: number;
}

export interface DrivesFigure {
  contentBytes: number;
  mbps: number[];
  runs: number;
  /** Medians over `runs`: the slowest drive alone and the batch of all, both `--no-verify`. */
  alone: number;
  batch: number;
  ratio: number;
  /** The batch's read figures: the median run's read_bytes and rchar, and the highest VmHWM of all batch runs. */
  readBytes: number;
  rchar: number;
  readRatio: number;
  peakMiB: number;
  aloneRuns: DrivesRun[];
  batchRuns: DrivesRun[];
  /** The batch with verification (read-back of every drive), once; null when skipped. */
  batchVerify: DrivesRun | null;
}

export interface DrivesOptions {
  work: string;
  contentBytes: number;
  /** Each drive's write speed, MB/s (10^6 bytes a second); the slowest is also written alone. */
  mbps: number[];
  runs: number;
  verifyRun: boolean;
  cli: string;
  /** Makes a site whose package SMP00090 holds `contentBytes` of content, under `root`; returns the site's folder. */
  makeSite: (root: string, contentBytes: number) => Promise<string>;
  log: (s: string) => void;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Drops every file under `dir` from the page cache (written back first), so the next read of it comes from storage. */
function dropFromCache(dir: string): void {
  execFileSync('sync');
  execFileSync('sh', ['-c', 'find "$1" -type f -exec sh -c \'for f; do dd if="$f" iflag=nocache count=0 status=none; done\' sh {} +', 'sh', dir]);
}

function procField(text: string, key: string): number | null {
  const m = new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** Runs the CLI, sampling its /proc files every 50 ms until it exits; then `sync`, inside the time, as the stick figure does. */
async function measuredRun(cli: string, args: string[], sticks: ThrottledStick[]): Promise<DrivesRun & { stdout: string }> {
  const before = sticks.map((s) => s.bytesWritten());
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  let readBytes = 0;
  let rchar = 0;
  let hwmKiB = 0;
  let samples = 0;
  const sample = (): void => {
    try {
      const io = readFileSync(`/proc/${child.pid}/io`, 'utf8');
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      readBytes = procField(io, 'read_bytes') ?? readBytes;
      rchar = procField(io, 'rchar') ?? rchar;
      hwmKiB = Math.max(hwmKiB, procField(status, 'VmHWM') ?? 0);
      samples++;
    } catch {
      // Gone between two samples: the last values stand.
    }
  };
  sample();
  const timer = setInterval(sample, 50);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c) => resolve(c));
  }).finally(() => clearInterval(timer));
  execFileSync('sync');
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`several-drives: the CLI exited ${code}: node ${cli} ${args.join(' ')}\n${stderr}`);
  return { seconds, readBytes, rchar, peakMiB: hwmKiB / 1024, bytesWritten: sticks.map((s, i) => s.bytesWritten() - before[i]), samples, stdout };
}

/** The figure, or null (logged with the reason) where loop devices cannot be throttled here. */
export async function severalDrivesFigure(o: DrivesOptions): Promise<DrivesFigure | null> {
  const why = cannotThrottle();
  if (why) {
    o.log(`bench: several-drives not measured: ${why}`);
    return null;
  }
  const root = join(o.work, 'drives');
  mkdirSync(root, { recursive: true });
  const sticks: ThrottledStick[] = [];
  const removeAll = (): void => {
    for (const s of sticks.splice(0)) {
      try {
        s.remove();
      } catch (err) {
        o.log(`bench: several-drives: could not remove ${s.device}: ${(err as Error).message}`);
      }
    }
  };
  // An interrupted benchmark leaves no throttled loop device behind either.
  const onSignal = (sig: NodeJS.Signals): void => {
    removeAll();
    rmSync(root, { recursive: true, force: true });
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const site = await o.makeSite(root, o.contentBytes);
    const library = join(site, 'SCCMContentLib_DP01');
    const deviceBytes = Math.ceil((o.contentBytes * 1.3) / MiB) * MiB + 512 * MiB;
    o.mbps.forEach((m, i) => sticks.push(throttledStick(join(root, `drive${i}.img`), deviceBytes, m * 1e6)));
    const slowest = o.mbps.indexOf(Math.min(...o.mbps));
    const base = ['create', '--site', site, '--media', 'usb', '--task-sequence', 'SMP00010', '--dp', 'DP01', '--package', 'SMP00090', '--all', '--json'];
    const driveArgs = (ss: ThrottledStick[]): string[] => ss.flatMap((s) => ['--drive', s.device, '--yes-erase', s.device]);
    const describe = (r: DrivesRun): string =>
      `${r.seconds.toFixed(2)} s, read_bytes ${(r.readBytes / MiB).toFixed(0)} MiB, rchar ${(r.rchar / MiB).toFixed(0)} MiB, VmHWM ${r.peakMiB.toFixed(0)} MiB, written ${r.bytesWritten.map((b) => (b / MiB).toFixed(0)).join('/')} MiB`;
    const checkBatch = (stdout: string): void => {
      const result = JSON.parse(stdout) as { drives?: { device: string; status: string; error?: string }[] };
      const bad = (result.drives ?? []).filter((d) => d.status !== 'written');
      if (!result.drives || result.drives.length !== sticks.length || bad.length) throw new Error(`several-drives: the batch did not write every drive: ${stdout.slice(0, 2000)}`);
    };
    const aloneRuns: DrivesRun[] = [];
    const batchRuns: DrivesRun[] = [];
    for (let r = 1; r <= o.runs; r++) {
      dropFromCache(library);
      const a = await measuredRun(o.cli, [...base, ...driveArgs([sticks[slowest]]), '--no-verify'], [sticks[slowest]]);
      aloneRuns.push(a);
      o.log(`bench: run ${r}/${o.runs} several-drives: ${o.mbps[slowest]} MB/s drive alone ${describe(a)}`);
      dropFromCache(library);
      const b = await measuredRun(o.cli, [...base, ...driveArgs(sticks), '--no-verify'], sticks);
      checkBatch(b.stdout);
      batchRuns.push(b);
      o.log(`bench: run ${r}/${o.runs} several-drives: batch of ${sticks.length} (${o.mbps.join(', ')} MB/s) ${describe(b)}`);
    }
    let batchVerify: DrivesRun | null = null;
    if (o.verifyRun) {
      dropFromCache(library);
      const v = await measuredRun(o.cli, [...base, ...driveArgs(sticks)], sticks);
      checkBatch(v.stdout);
      batchVerify = { seconds: v.seconds, readBytes: v.readBytes, rchar: v.rchar, peakMiB: v.peakMiB, bytesWritten: v.bytesWritten, samples: v.samples };
      o.log(`bench: several-drives: batch with verification ${describe(v)}`);
    }
    const strip = (r: DrivesRun): DrivesRun => ({ seconds: r.seconds, readBytes: r.readBytes, rchar: r.rchar, peakMiB: r.peakMiB, bytesWritten: r.bytesWritten, samples: r.samples });
    const alone = median(aloneRuns.map((r) => r.seconds));
    const batch = median(batchRuns.map((r) => r.seconds));
    const readBytes = median(batchRuns.map((r) => r.readBytes));
    return {
      contentBytes: o.contentBytes,
      mbps: o.mbps,
      runs: o.runs,
      alone,
      batch,
      ratio: batch / alone,
      readBytes,
      rchar: median(batchRuns.map((r) => r.rchar)),
      readRatio: readBytes / o.contentBytes,
      peakMiB: Math.max(...batchRuns.map((r) => r.peakMiB)),
      aloneRuns: aloneRuns.map(strip),
      batchRuns: batchRuns.map(strip),
      batchVerify,
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    removeAll();
    rmSync(root, { recursive: true, force: true });
  }
}

const peakOf = (f: DrivesFigure): number => Math.max(f.peakMiB, f.batchVerify?.peakMiB ?? 0);

/** The three targets of the figure (null values: not measured). */
export function severalDrivesTargets(f: DrivesFigure | null): { name: string; value: number | null; limit: string; met: boolean | null }[] {
  return [
    { name: 'several-drives', value: f ? f.ratio : null, limit: '<= 1.10', met: f ? f.ratio <= 1.1 : null },
    { name: 'several-drives-read', value: f ? f.readRatio : null, limit: '<= 1.2 (read_bytes/content)', met: f ? f.readRatio <= 1.2 : null },
    // The highest peak of any batch run, the one that reads every drive back included: what a user's run needs.
    { name: 'several-drives-memory', value: f ? peakOf(f) : null, limit: '<= 200 MiB', met: f ? peakOf(f) <= 200 : null },
  ];
}

/** Lines for the console: the runs' medians and the batch's read and memory figures. */
export function severalDrivesLines(f: DrivesFigure): string[] {
  const slow = Math.min(...f.mbps);
  const lines = [
    `several drives: ${(f.contentBytes / MiB).toFixed(0)} MiB of content, drives at ${f.mbps.join(', ')} MB/s, medians of ${f.runs} run(s), --no-verify`,
    `  ${slow} MB/s drive alone ${f.alone.toFixed(2)} s; batch of ${f.mbps.length} ${f.batch.toFixed(2)} s (× ${f.ratio.toFixed(2)})`,
    `  batch read_bytes ${(f.readBytes / MiB).toFixed(0)} MiB (× ${f.readRatio.toFixed(2)} the content), rchar ${(f.rchar / MiB).toFixed(0)} MiB (× ${(f.rchar / f.contentBytes).toFixed(2)}), peak RSS ${f.peakMiB.toFixed(0)} MiB`,
  ];
  if (f.batchVerify) {
    const v = f.batchVerify;
    lines.push(`  batch with verification ${v.seconds.toFixed(2)} s (× ${(v.seconds / f.alone).toFixed(2)} the drive alone without), read_bytes ${(v.readBytes / MiB).toFixed(0)} MiB, rchar ${(v.rchar / MiB).toFixed(0)} MiB, peak RSS ${v.peakMiB.toFixed(0)} MiB`);
  }
  return lines;
}
