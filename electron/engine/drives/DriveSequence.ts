// One whole-drive write, in the order every platform needs, run the same way by this process and by the privileged
// writer (which gets the very same job over its channel):
//   rights     first: may this process write the drive? Windows: an elevated token (PowerShell); macOS: root (raw
//              devices are root:operator 0640); Linux: whether the device opens for writing. Without them the privileged
//              writer starts before anything else is done, and does every step below itself.
//   take       every volume out of the operating system's hands for the whole write: umount/udisksctl (Linux),
//              diskutil unmountDisk (macOS), the layout cleared or the partitions offline (Windows, WindowsDisk.ts)
//   write      the layouts, opened exclusively (io/deviceFlags), through the writer's worker with each write's gap mode
//              ('skip' keeps every byte the layout does not name: adding files to an existing volume)
//   flush      fsync, and the kernel's buffers dropped (Linux) so what is read back comes from the drive
//   announce   the new layout told to the operating system, so the volume appears without replugging
//   read-back  every written byte read again and compared with the layout (when asked: always in the helper, where
//              this process may be unable to read the drive afterwards)
import type { ErrorDetail } from '../../../shared/messages.js';
import type { ImageLayout } from '../io/ImageLayout.js';
import { finalLayouts } from '../io/LayoutOverwrites.js';
import { runImageJobs, type JobResult, type RunJobsOptions, type WorkerJob } from '../io/ImageJobs.js';
import { runFanOutWrite, type FanOutTarget } from '../io/FanOutWrite.js';
import { CancelledError } from '../io/ImageWriter.js';
import {
  closeDevice,
  darwinDiskName,
  driveIoPath,
  flushDevice,
  needsElevation,
  openDevice,
  rereadPartitionTable,
  runCommand,
  unmountDrive,
  type CommandRunner,
  type RereadResult,
} from './DriveAccess.js';
import { PrivilegedWriter, type ElevationMethod } from './PrivilegedWriter.js';
import { announceWindowsDisk, releaseWindowsDisk, takeWindowsDisk, windowsIsElevated, type WindowsTaken } from './WindowsDisk.js';

/** 'erase': the whole drive is written (format); 'append': files are added to the volume it holds (--no-format). */
export type DriveWriteMode = 'erase' | 'append';

export interface DriveWrite {
  layout: ImageLayout;
  gaps: 'zero' | 'skip';
}

export interface DriveJob {
  /** The drive as listed (\\.\PhysicalDriveN, /dev/sdX, /dev/diskN or /dev/rdiskN). */
  device: string;
  mode: DriveWriteMode;
  writes: DriveWrite[];
  /** Compare every written byte afterwards (the helper always does). */
  readBack: boolean;
  /** The drive's logical sector size: every read and write is whole sectors of it (default: what the system reports). */
  sectorSize?: number;
}

export type DriveStep = 'rights' | 'helper' | 'take' | 'write' | 'flush' | 'announce' | 'read-back';

export interface TakenDrive {
  /** What the operating system no longer has: mountpoints, drive letters, partitions, or the disk (macOS). */
  released: string[];
  tool: string | null;
  windows: WindowsTaken | null;
}

export interface DriveJobResult {
  /** The path written (macOS: /dev/rdiskN). */
  ioPath: string;
  taken: TakenDrive;
  /** The first write's bytes (the volume; later writes clear old tables). */
  written: { bytes: number; sha256: string | null };
  announced: RereadResult;
  readBack: { bytes: number; sha256: string | null } | null;
}

export interface DriveSequenceOptions {
  platform?: NodeJS.Platform;
  /** The operating system's tools (tests: a stand-in answering as their documentation shows). */
  run?: CommandRunner;
  /** The writer (tests: a stand-in that records the jobs). */
  runJobs?: (jobs: WorkerJob[], options: RunJobsOptions) => Promise<JobResult[]>;
  signal?: AbortSignal;
  /** Bytes of the first write, then of its read-back. */
  onProgress?: (step: 'write' | 'read-back', bytes: number, path: string | null) => void;
  /** Each step as it begins, with what it did for the log. */
  onStep?: (step: DriveStep, detail: string) => void;
  /** The flush step (tests: a stand-in; default: fsync, and blockdev --flushbufs on Linux). */
  flushDrive?: (ioPath: string) => Promise<void>;
}

/** Whether this process may write the drive itself; false: the privileged writer must. Nothing on the drive changes. */
export async function hasDriveRights(device: string, options: DriveSequenceOptions = {}): Promise<boolean> {
  const platform = options.platform ?? process.platform;
  if (platform === 'win32') return windowsIsElevated(options.run ?? runCommand, device);
  if (platform === 'darwin') return process.geteuid?.() === 0;
  try {
    closeDevice(openDevice(driveIoPath(device, platform), { platform, exclusive: false }));
    return true;
  } catch (err) {
    if (needsElevation(err)) return false;
    throw err;
  }
}

async function flushPath(ioPath: string, platform: NodeJS.Platform, run: CommandRunner): Promise<void> {
  const dev = openDevice(ioPath, { platform, exclusive: false });
  try {
    await flushDevice(dev, { platform, run });
  } finally {
    closeDevice(dev);
  }
}

async function takeDrive(job: DriveJob, platform: NodeJS.Platform, run: CommandRunner): Promise<TakenDrive> {
  if (platform === 'win32') {
    const w = await takeWindowsDisk(job.device, job.mode, run);
    return { released: w.released, tool: w.how === 'cleared' ? 'Clear-Disk' : w.how === 'offline' ? 'Set-Partition -IsOffline' : null, windows: w };
  }
  const u = await unmountDrive(platform === 'darwin' ? darwinDiskName(job.device) : job.device, { platform, run });
  return { released: u.unmounted, tool: u.tool, windows: null };
}

async function announce(job: DriveJob, ioPath: string, taken: TakenDrive, platform: NodeJS.Platform, run: CommandRunner): Promise<RereadResult> {
  if (platform === 'win32' && taken.windows) return announceWindowsDisk(job.device, taken.windows, run);
  return rereadPartitionTable(ioPath, { platform, run });
}

/** Runs the job's steps from "take" on, in order; a failure names the step and the drive (DriveAccessError or WriteError). */
export async function runDriveJob(job: DriveJob, options: DriveSequenceOptions = {}): Promise<DriveJobResult> {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  const runJobs = options.runJobs ?? runImageJobs;
  const step = options.onStep ?? (() => undefined);
  const ioPath = driveIoPath(job.device, platform);

  const taken = await takeDrive(job, platform, run);
  step('take', taken.released.length ? `${taken.released.join(', ')} (${taken.tool})` : 'nothing was mounted');
  let written: JobResult;
  try {
    step('write', `${ioPath}, opened exclusively`);
    const aligned = job.sectorSize ? { sectorSize: job.sectorSize } : {};
    const writes: WorkerJob[] = job.writes.map((w) => ({ kind: 'write', path: ioPath, target: 'device', layout: w.layout, gaps: w.gaps, ...aligned }));
    // Progress counts every write of the job (a refresh is several); the result is the first's (the volume).
    [written] = await runJobs(writes, { signal: options.signal, onProgress: (_i, _bytes, path, all) => options.onProgress?.('write', all, path) });
    step('flush', ioPath);
    await (options.flushDrive ?? ((path) => flushPath(path, platform, run)))(ioPath);
  } catch (err) {
    // Offline partitions hold the volume as it was (or half-written): give them back, so the error is the only change.
    if (taken.windows) await releaseWindowsDisk(taken.windows, run);
    throw err;
  }
  const announced = await announce(job, ioPath, taken, platform, run);
  step('announce', announced.ok ? `the new layout is read (${announced.tool})` : (announced.warning ?? 'not read'));

  let readBack: DriveJobResult['readBack'] = null;
  if (job.readBack) {
    step('read-back', ioPath);
    // Gaps are not read back: with 'skip' they are not the writer's, with 'zero' they hold no content. Of several
    // writes, what the drive holds at the end is compared (a refresh writes its boot sector more than once).
    const finals = finalLayouts(job.writes.map((w) => w.layout));
    const compares: WorkerJob[] = finals.map((layout) => ({ kind: 'compare', path: ioPath, layout, gaps: 'skip', ...(job.sectorSize ? { sectorSize: job.sectorSize } : {}) }));
    const results = await runJobs(compares, { signal: options.signal, onProgress: (_i, _bytes, path, all) => options.onProgress?.('read-back', all, path) });
    // The bytes of all; the hash of the first (the volume), as for `written`.
    readBack = { bytes: results.reduce((n, r) => n + r.bytes, 0), sha256: results[0].sha256 };
  }
  return { ioPath, taken, written: { bytes: written.bytes, sha256: written.sha256 }, announced, readBack };
}

/** The privileged writer as the sequence uses it (PrivilegedWriter; tests: a stand-in). */
export interface DriveHelper {
  runDriveJob(job: DriveJob, options?: { signal?: AbortSignal; onProgress?: DriveSequenceOptions['onProgress']; onStep?: DriveSequenceOptions['onStep'] }): Promise<DriveJobResult>;
  close(): Promise<unknown>;
  dispose(): Promise<void>;
}

export interface WriteDriveOptions extends DriveSequenceOptions {
  /** How the privileged writer starts (default: the platform's prompt); `always` uses it even with rights (tests). */
  privileged?: { method?: ElevationMethod; always?: boolean };
  /** Starts the privileged writer for the drive (default PrivilegedWriter.start). */
  startHelper?: (device: string) => Promise<DriveHelper>;
}

/**
 * The whole sequence: rights first; then this process runs the job, or the privileged writer — started before
 * anything touches the drive — runs the same job itself, reading every written byte back.
 */
export async function writeDrive(job: DriveJob, options: WriteDriveOptions = {}): Promise<DriveJobResult & { elevated: boolean }> {
  const step = options.onStep ?? (() => undefined);
  const own = options.privileged?.always !== true && (await hasDriveRights(job.device, options));
  step('rights', own ? 'this process may write the drive' : 'administrator rights are needed: the privileged writer does the rest');
  if (own) return { ...(await runDriveJob(job, options)), elevated: false };
  const start = options.startHelper ?? ((device: string) => PrivilegedWriter.start(device, { method: options.privileged?.method }));
  const helper = await start(job.device);
  step('helper', 'the privileged writer is running');
  try {
    const r = await helper.runDriveJob({ ...job, readBack: true }, { signal: options.signal, onProgress: options.onProgress, onStep: options.onStep });
    await helper.close();
    return { ...r, elevated: true };
  } finally {
    await helper.dispose();
  }
}

/** How one drive of a batch ended: written (flushed and announced), or its own error while the others went on. */
export interface DriveBatchResult {
  device: string;
  ioPath: string;
  /** Bytes of the first write (the volume) done. */
  bytes: number;
  error: string | null;
  /** The write's failure as a code and values (WRITE_FAILED), when it has one. */
  errorDetail?: ErrorDetail;
  cancelled: boolean;
  announced: RereadResult | null;
  released: string[];
  /** When the job asked for it (always in the privileged writer): every written byte compared with the layout. */
  readBack: { bytes: number; sha256: string | null } | null;
}

export interface DriveBatchOptions extends Omit<DriveSequenceOptions, 'onProgress' | 'onStep' | 'runJobs'> {
  /** Per drive, in the jobs' order: cancels that drive only. */
  driveSignals?: (AbortSignal | undefined)[];
  /** Bytes of a drive's volume written, then (`step` 'read-back') read back. */
  onProgress?: (index: number, bytes: number, step?: 'write' | 'read-back') => void;
  onStep?: (index: number, step: DriveStep, detail: string) => void;
  /**
   * Drive `index` failed (its error) or was cancelled while the batch goes on: said as soon as its write ends, before
   * the batch's results. A drive that could not be taken is said before anything is written.
   */
  onDriveEnd?: (index: number, outcome: { error: string | null; cancelled: boolean; detail?: ErrorDetail }) => void;
  /** Tests: the ring's slots (default FanOutWrite's 8 × 2 MiB). */
  slots?: number;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Several drives, one read (io/FanOutWrite): each drive taken, then every volume written from the same chunks, then
 * each flushed and announced on its own. A drive that cannot be taken, fails its write (pulled out, read-only, I/O
 * errors) or is cancelled ends with its own result while the others go on; a failure of the content itself (a source
 * unreadable, a hash that does not match) is every drive's and rejects the batch, each drive's partitions given back.
 * Rights are the caller's (writeDrives): this process must be able to write every drive.
 */
export async function runDriveBatch(jobs: readonly DriveJob[], options: DriveBatchOptions = {}): Promise<DriveBatchResult[]> {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  const step = options.onStep ?? (() => undefined);
  const results: DriveBatchResult[] = jobs.map((j) => ({ device: j.device, ioPath: driveIoPath(j.device, platform), bytes: 0, error: null, cancelled: false, announced: null, released: [], readBack: null }));
  const taken: (TakenDrive | null)[] = [];
  for (const [i, job] of jobs.entries()) {
    try {
      const t = await takeDrive(job, platform, run);
      step(i, 'take', t.released.length ? `${t.released.join(', ')} (${t.tool})` : 'nothing was mounted');
      results[i].released = t.released;
      taken.push(t);
    } catch (err) {
      results[i].error = messageOf(err);
      taken.push(null);
      options.onDriveEnd?.(i, { error: results[i].error, cancelled: false });
    }
  }
  const live = jobs.map((_, i) => i).filter((i) => taken[i] !== null);
  const giveBack = async (i: number): Promise<void> => {
    const w = taken[i]?.windows;
    if (w) await releaseWindowsDisk(w, run).catch(() => undefined);
  };
  if (live.length > 0) {
    const targets: FanOutTarget[] = live.map((i) => {
      const first = jobs[i].writes[0];
      step(i, 'write', `${results[i].ioPath}, opened exclusively`);
      return { path: results[i].ioPath, layout: first.layout, target: 'device', gaps: first.gaps, ...(jobs[i].sectorSize ? { sectorSize: jobs[i].sectorSize } : {}), ...(options.driveSignals?.[i] ? { signal: options.driveSignals[i] } : {}) };
    });
    let fan;
    try {
      fan = await runFanOutWrite(targets, {
        signal: options.signal,
        slots: options.slots,
        onProgress: (k, bytes) => options.onProgress?.(live[k], bytes),
        onTargetEnd: (k, r) => (r.error !== null || r.cancelled) && options.onDriveEnd?.(live[k], { error: r.error, cancelled: r.cancelled, ...(r.detail ? { detail: r.detail } : {}) }),
      });
    } catch (err) {
      // The content failed (or everything was cancelled): every drive is given back as it is, half-written.
      for (const i of live) await giveBack(i);
      throw err;
    }
    fan.targets.forEach((r, k) => {
      const i = live[k];
      results[i].bytes = r.bytes;
      results[i].error = r.error;
      results[i].cancelled = r.cancelled;
      if (r.detail) results[i].errorDetail = r.detail;
    });
    for (const i of live) {
      const job = jobs[i];
      if (results[i].error || results[i].cancelled) {
        await giveBack(i);
        continue;
      }
      try {
        // What else the drive needs (a GPT's backup cleared at its end) is small and its own: written here, by itself.
        const rest: WorkerJob[] = job.writes.slice(1).map((w) => ({ kind: 'write', path: results[i].ioPath, target: 'device', layout: w.layout, gaps: w.gaps, ...(job.sectorSize ? { sectorSize: job.sectorSize } : {}) }));
        if (rest.length) await runImageJobs(rest, { signal: options.driveSignals?.[i] ?? options.signal });
        step(i, 'flush', results[i].ioPath);
        await (options.flushDrive ?? ((path) => flushPath(path, platform, run)))(results[i].ioPath);
      } catch (err) {
        if (err instanceof CancelledError) results[i].cancelled = true;
        else results[i].error = messageOf(err);
        await giveBack(i);
        continue;
      }
      const t = taken[i] as TakenDrive;
      results[i].announced = await announce(job, results[i].ioPath, t, platform, run);
      step(i, 'announce', results[i].announced?.ok ? `the new layout is read (${results[i].announced?.tool})` : (results[i].announced?.warning ?? 'not read'));
    }
    // Read-back where asked (the privileged writer: this process may be unable to read the drives afterwards): every
    // written byte compared with the layout, the files with their sources; two drives at a time, as the batch's own
    // verification, so memory stays bounded whatever the number of drives.
    const reading = live.filter((i) => jobs[i].readBack && results[i].error === null && !results[i].cancelled);
    const readOne = async (i: number): Promise<void> => {
      const job = jobs[i];
      step(i, 'read-back', results[i].ioPath);
      try {
        const [r] = await runImageJobs([{ kind: 'compare', path: results[i].ioPath, layout: job.writes[0].layout, gaps: 'skip', ...(job.sectorSize ? { sectorSize: job.sectorSize } : {}) }], {
          signal: options.driveSignals?.[i] ?? options.signal,
          lean: true,
          onProgress: (_k, bytes) => options.onProgress?.(i, bytes, 'read-back'),
        });
        results[i].readBack = { bytes: r.bytes, sha256: r.sha256 };
      } catch (err) {
        if (err instanceof CancelledError) results[i].cancelled = true;
        else results[i].error = `${results[i].ioPath}: reading the drive back failed: ${messageOf(err)}`;
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(READ_BACK_AT_ONCE, reading.length) }, async () => {
        for (let i = reading.shift(); i !== undefined; i = reading.shift()) await readOne(i);
      }),
    );
  }
  return results;
}

/** Drives of a batch read back side by side (each read-back has its own threads and buffers). */
export const READ_BACK_AT_ONCE = 2;

/** The privileged writer as a batch uses it (PrivilegedWriter started for every drive; tests: a stand-in). */
export interface DriveBatchHelper {
  runDriveBatch(jobs: readonly DriveJob[], options?: Pick<DriveBatchOptions, 'signal' | 'driveSignals' | 'onProgress' | 'onStep' | 'onDriveEnd'>): Promise<DriveBatchResult[]>;
  close(): Promise<unknown>;
  dispose(): Promise<void>;
}

export interface WriteDrivesOptions extends DriveBatchOptions {
  privileged?: WriteDriveOptions['privileged'];
  /** Starts one privileged writer for every drive of the batch (default PrivilegedWriter.start with `devices`). */
  startBatchHelper?: (devices: string[]) => Promise<DriveBatchHelper>;
}

/**
 * Rights for every drive first. A batch this process may write is run here; otherwise one privileged writer — one
 * prompt — is started for all the drives before anything touches them, and runs the same batch itself.
 */
export async function writeDrives(jobs: readonly DriveJob[], options: WriteDrivesOptions = {}): Promise<{ results: DriveBatchResult[]; elevated: boolean }> {
  let own = options.privileged?.always !== true;
  for (const [i, job] of jobs.entries()) {
    const may = own && (await hasDriveRights(job.device, { platform: options.platform, run: options.run }));
    options.onStep?.(i, 'rights', may ? 'this process may write the drive' : 'administrator rights are needed: the privileged writer writes the batch');
    own &&= may;
  }
  if (own) return { results: await runDriveBatch(jobs, options), elevated: false };
  const devices = jobs.map((j) => j.device);
  const start = options.startBatchHelper ?? ((d: string[]) => PrivilegedWriter.start(d[0], { method: options.privileged?.method, devices: d }));
  const helper = await start(devices);
  jobs.forEach((_, i) => options.onStep?.(i, 'helper', 'the privileged writer is running (one for every drive of the batch)'));
  try {
    // The helper reads every drive back itself, as for one drive: this process may not be able to read them.
    const results = await helper.runDriveBatch(
      jobs.map((j) => ({ ...j, readBack: true })),
      { signal: options.signal, driveSignals: options.driveSignals, onProgress: options.onProgress, onStep: options.onStep, onDriveEnd: options.onDriveEnd },
    );
    await helper.close();
    return { results, elevated: true };
  } finally {
    await helper.dispose();
  }
}
