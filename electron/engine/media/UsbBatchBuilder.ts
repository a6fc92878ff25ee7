// Several USB drives from one run ("write several drives"): the media prepared once, a FAT32 volume planned once per
// distinct drive geometry (sector size and capacity: cluster size and layout follow from them), every content chunk
// read and hash-checked once and written to every drive (drives/DriveSequence.runDriveBatch over io/FanOutWrite), then
// each drive read back and verified against the manifest on its own. A drive that fails, is pulled out or is cancelled
// ends with its own result and error; the others go on. Several drives are always formatted: a batch is for handing
// out identical sticks, and adding files to volumes that differ would make every drive a different plan.
import type { DriveInfo } from '../../../shared/drives.js';
import type { DriveProgress, UsbDriveResult, UsbDriveTarget, UsbMediaRequest } from '../../../shared/media.js';
import type { ErrorDetail } from '../../../shared/messages.js';
import { userLogFolder } from './CmTraceLog.js';
import { canReadDrive, driveIoPath, sameDriveName } from '../drives/DriveAccess.js';
import { checkDriveChoice } from '../drives/DriveChoice.js';
import { writeDrives, type DriveJob } from '../drives/DriveSequence.js';
import { findDrive, listDrives } from '../drives/Drives.js';
import { InputError } from '../errors.js';
import { fatLabel, type Fat32Plan } from '../formats/fat32/Fat32Volume.js';
import { CancelledError, WriteError } from '../io/ImageWriter.js';
import { runImageJobs } from '../io/ImageJobs.js';
import { checkSectorSize, linuxSectorSize } from '../io/SectorIo.js';
import { driveBytesNeeded, driveReportBase, layoutBytes, planVolume, readyForFat32, wholeDriveWrites, writeUsbReport } from './UsbPreparation.js';
import { openMediaLog, prepareMedia, validateBaseRequest } from './MediaPreparation.js';
import { verifyFat32Media } from './MediaVerifier.js';
import { sourceFolders } from './OutputPlace.js';
import { ProgressReporter } from './Progress.js';
import { mediaStart } from './RuntimeFiles.js';
import { commit, removeQuietly } from './SafeOutput.js';
import type { Site } from '../site/Site.js';
import type { CreateUsbOptions, CreateUsbResult } from './UsbMediaBuilder.js';

/** Drives read back side by side (see the read-back below). */
export const VERIFY_AT_ONCE = 2;

export interface CreateUsbBatchOptions extends CreateUsbOptions {
  /** Cancels one drive only (the wizard's per-drive cancel); the run's `signal` cancels every drive. */
  driveSignal?: (device: string) => AbortSignal | undefined;
  /** Tests: the fan-out ring's slots. */
  slots?: number;
}

export interface CreateUsbBatchResult extends CreateUsbResult {
  drives: UsbDriveResult[];
}

/** Every drive of a several-drive request, `target` first; refused before anything is read when it cannot be one. */
export function batchDrives(req: UsbMediaRequest): UsbDriveTarget[] {
  if (req.target.kind !== 'drive') throw new InputError('several drives are written with --drive DEVICE given once for each drive; --image writes one image file.');
  const drives = [req.target, ...(req.moreDrives ?? [])];
  if (!req.format) throw new InputError('several drives are always formatted: --no-format adds files to one drive\'s existing volume; write those drives one at a time.');
  drives.forEach((d, i) => {
    const twice = drives.findIndex((o) => sameDriveName(o.device, d.device));
    if (twice !== i) throw new InputError(`drive ${d.device} is chosen twice (as ${drives[twice].device} too): choose each drive once.`);
  });
  return drives;
}

function sectorSizeOf(drive: DriveInfo, device: string): number {
  return checkSectorSize(linuxSectorSize(device) ?? drive.logicalBlockSize ?? 512, device);
}

/** What the system says of a failed drive now: gone, read-only (after errors, or a switch), or nothing. */
function driveNow(device: string, now: DriveInfo[] | null): 'gone' | 'readOnly' | '' {
  const d = now ? findDrive(now, device) : null;
  return now && d === undefined ? 'gone' : d?.isReadOnly ? 'readOnly' : '';
}

/**
 * A drive's failed write as a code and values (DRIVE_WRITE_FAILED: the device, the system's error code, what was being
 * done, what the drive is now), from the writer's WRITE_FAILED; null for a failure without a system code.
 */
function driveFailureDetail(detail: ErrorDetail | null | undefined, device: string, now: DriveInfo[] | null): ErrorDetail | null {
  if (detail?.code !== 'WRITE_FAILED') return null;
  return { code: 'DRIVE_WRITE_FAILED', params: { device, error: detail.params.error, during: detail.params.during, now: driveNow(device, now) } };
}

/** A drive's failure with what the system says of it now: gone, or read-only after errors. */
function explainDriveFailure(message: string, device: string, now: DriveInfo[] | null): string {
  let m = message.includes(device) ? message : `${device}: ${message}`;
  const state = driveNow(device, now);
  if (state === 'gone') m += ` ${device} is no longer connected.`;
  else if (state === 'readOnly') m += ` ${device} is read-only now (a write-protect switch, or the system made it read-only after errors).`;
  return `${m} The drive holds an incomplete volume: write it again before using it.`;
}

export async function createUsbBatch(site: Site, req: UsbMediaRequest, options: CreateUsbBatchOptions = {}): Promise<CreateUsbBatchResult> {
  const checked = validateBaseRequest(req);
  const targets = batchDrives(req);
  const list = options.listDrives ?? (() => listDrives({ showAll: true }));
  const sourcePaths = sourceFolders(site);
  // Every drive judged (and its sector size known) before anything is read; again with the bytes needed before writing.
  const listed = await list();
  const sectorSizes = targets.map((t) => sectorSizeOf(checkDriveChoice(t, listed, { neededBytes: 0, sourcePaths }).drive, t.device));
  const userDir = options.userLogDir === undefined ? userLogFolder() : options.userLogDir;
  const log = openMediaLog(null, userDir, req);
  const progress = new ProgressReporter((p) => options.onProgress?.(p), undefined, options.progressIntervalMs);
  const temps: string[] = [];
  const devices = targets.map((t) => t.device);
  try {
    progress.begin('plan', 0);
    const prepared = await prepareMedia(site, req, checked, log, `USB drives ${devices.join(', ')}`);
    const ready = await readyForFat32(prepared, req, log, progress, options);
    const { manifest } = ready;
    const label = fatLabel(checked.label);
    const timestamp = checked.timestamp;

    // One plan per geometry: sticks of one model share it (and its FATs and directories in memory).
    const now = await list();
    const plans = new Map<string, Fat32Plan>();
    const planned = targets.map((t, i) => {
      const sectorSize = sectorSizes[i];
      const drive = checkDriveChoice(t, now, { neededBytes: driveBytesNeeded(ready, label, sectorSize), sourcePaths }).drive;
      const diskBytes = drive.sizeBytes ?? 0;
      const key = `${sectorSize}:${diskBytes}`;
      let plan = plans.get(key);
      if (!plan) {
        plan = planVolume(ready, { diskBytes, label, timestamp, sectorSize, target: t.device, what: 'drive', advice: 'Use a larger drive, or leave this one out.' });
        plans.set(key, plan);
      }
      return { device: t.device, diskBytes, sectorSize, plan };
    });
    options.onPlan?.({
      warnings: prepared.content.warnings,
      largeFiles: ready.largeFiles,
      target: devices.join(', '),
      diskBytes: planned[0].diskBytes,
      totalBytes: layoutBytes(planned[0].plan),
      clusterSize: planned[0].plan.clusterSize,
      passwordProtected: req.password !== null,
      format: true,
      bootChanges: [],
      output: null,
    });
    for (const p of planned) log.info(`plan for ${p.device}: FAT32 volume of ${p.diskBytes} bytes, ${p.sectorSize}-byte sectors, clusters of ${p.plan.clusterSize} bytes, ${layoutBytes(p.plan)} bytes to write`);
    log.info(`${plans.size} volume plan(s) for ${planned.length} drives; the content is read once for all of them`);

    const jobs: DriveJob[] = planned.map((p) => ({ device: p.device, mode: 'erase', writes: wholeDriveWrites(p.plan, p.diskBytes), readBack: false, sectorSize: p.sectorSize }));

    // Each drive's own progress, carried in the run's events (paced as one: ≤ 4 a second whatever the number of drives).
    const states: DriveProgress[] = planned.map((p) => ({ device: p.device, state: 'waiting', bytesDone: 0, bytesTotal: p.plan.size, bytesPerSecond: 0, etaSeconds: null, error: null }));
    const started = states.map(() => Date.now());
    const move = (i: number, bytes: number): void => {
      const s = states[i];
      s.bytesDone = bytes;
      const seconds = (Date.now() - started[i]) / 1000;
      s.bytesPerSecond = seconds > 0.2 ? bytes / seconds : s.bytesPerSecond;
      s.etaSeconds = s.bytesPerSecond > 0 ? Math.max(0, (s.bytesTotal - bytes) / s.bytesPerSecond) : null;
    };
    progress.setDrives(states);
    const total = states.reduce((n, s) => n + s.bytesTotal, 0);
    progress.begin('write', total);
    for (const s of states) s.state = 'writing';
    const { results: batch, elevated } = await writeDrives(jobs, {
      signal: options.signal,
      driveSignals: devices.map((d) => options.driveSignal?.(d)),
      privileged: options.privileged,
      slots: options.slots,
      onStep: (i, step, detail) => log.info(`${devices[i]}: ${step}: ${detail}`),
      onProgress: (i, bytes, step) => {
        // The privileged writer's own read-back (a batch it wrote): the drive's bar starts again, as "verifying".
        if (step === 'read-back' && states[i].state !== 'verifying') {
          Object.assign(states[i], { state: 'verifying', bytesDone: 0 });
          started[i] = Date.now();
        }
        move(i, bytes);
        progress.update(
          states.reduce((n, s) => n + s.bytesDone, 0),
          null,
        );
      },
      // A drive that fails or is cancelled says so on its row with the next event (the other drives' progress brings
      // one within the interval), while the others are still written; its error is completed (gone, read-only now)
      // once the batch is over.
      onDriveEnd: (i, outcome) => {
        Object.assign(states[i], {
          state: outcome.cancelled ? 'cancelled' : 'failed',
          error: outcome.error ? explainDriveFailure(outcome.error, devices[i], null) : null,
          errorDetail: outcome.error ? driveFailureDetail(outcome.detail, devices[i], null) : null,
          bytesPerSecond: 0,
          etaSeconds: null,
        });
      },
    });
    progress.flush();
    const after = batch.some((r) => r.error) ? await list().catch(() => null) : null;
    const results: UsbDriveResult[] = batch.map((r, i) => ({
      device: r.device,
      status: r.error ? 'failed' : r.cancelled ? 'cancelled' : 'written',
      error: r.error ? explainDriveFailure(r.error, r.device, after) : null,
      errorDetail: r.error ? driveFailureDetail(r.errorDetail, r.device, after) : null,
      bytesWritten: r.bytes,
      // Read back by the privileged writer: every written byte compared with the layout and the files' sources.
      verified: r.readBack !== null && !r.error && !r.cancelled,
      sha256: r.readBack?.sha256 ?? null,
      diskBytes: planned[i].diskBytes,
      clusterSize: planned[i].plan.clusterSize,
      sectorSize: planned[i].sectorSize,
    }));
    results.forEach((r, i) => {
      states[i].state = r.status;
      states[i].error = r.error;
      states[i].errorDetail = r.errorDetail;
      if (r.status === 'written') log.info(`wrote ${r.bytesWritten} bytes to ${r.device}${r.verified ? `; the privileged writer read every written byte back: it matches (SHA-256 ${r.sha256})` : ''}`);
      else if (r.status === 'cancelled') log.warning(`${r.device}: cancelled by the user; it holds an incomplete volume now and must be written again`);
      else log.error(`${r.device}: ${r.error}`);
    });

    // Each written drive read back on its own, side by side: its files against the manifest's hashes.
    if (!req.skipVerify) {
      // A drive the privileged writer wrote may be unreadable here (Windows without elevation): said, not failed.
      const unreadable = results.filter((r) => r.status === 'written' && elevated && !canReadDrive(driveIoPath(r.device)));
      for (const r of unreadable.filter((u) => !u.verified)) log.warning(`${r.device}: the written drive cannot be read back without administrator rights: run "tsmedia verify ${r.device}" as administrator to verify it.`);
      const verifying = results.map((r, i) => (r.status === 'written' && !unreadable.includes(r) ? i : -1)).filter((i) => i >= 0);
      const filesBytes = manifest.files.reduce((n, f) => n + f.size, 0);
      // Two reads per drive: its written bytes in disc order (the structures compared with the plan, the image hashed),
      // then its files through the FAT, each against the manifest's hash. Neither reads the content library again.
      const readBytes = (i: number): number => layoutBytes(planned[i].plan);
      // A drive waits ('waiting') until its turn to be read back comes.
      verifying.forEach((i, k) => Object.assign(states[i], { state: k < VERIFY_AT_ONCE ? 'verifying' : 'waiting', bytesDone: 0, bytesTotal: readBytes(i) + filesBytes, bytesPerSecond: 0, etaSeconds: null }));
      progress.begin('verify', verifying.reduce((n, i) => n + states[i].bytesTotal, 0));
      // Read back at most VERIFY_AT_ONCE drives at a time: each read-back has its own threads and buffers, and memory
      // must stay within its target whatever the number of drives. Reading is faster than writing on USB drives, so
      // this costs less than it seems; a queue starts the next drive as soon as one ends.
      const queue = [...verifying];
      const verifyOne = async (i: number): Promise<void> => {
        states[i].state = 'verifying';
        started[i] = Date.now();
        const r = results[i];
        const signal = options.driveSignal?.(r.device);
        const either = signal && options.signal ? AbortSignal.any([signal, options.signal]) : (signal ?? options.signal);
        const ioPath = driveIoPath(r.device);
        const moved = (bytes: number): void => {
          move(i, bytes);
          progress.update(
            verifying.reduce((n, k) => n + states[k].bytesDone, 0),
            null,
          );
        };
        try {
          const [image] = await runImageJobs([{ kind: 'compare', path: ioPath, layout: jobs[i].writes[0].layout, gaps: 'skip', sectorSize: planned[i].sectorSize, extents: 'hash' }], {
            signal: either,
            lean: true,
            onProgress: (_k, bytes) => moved(bytes),
          });
          r.sha256 = image.sha256;
          log.info(`${r.device}: read back ${image.bytes} written bytes, the structures as planned; SHA-256 ${image.sha256}`);
          const v = await verifyFat32Media(ioPath, {
            checkExtraFiles: true,
            signal: either,
            lean: true,
            onProgress: (bytes) => {
              move(i, readBytes(i) + bytes);
              progress.update(
                verifying.reduce((n, k) => n + states[k].bytesDone, 0),
                null,
              );
            },
          });
          if (v.status !== 0) {
            const what = [...v.unreadable, ...v.problems.map((p) => `${p.path}: ${p.problem}`)].join('; ');
            Object.assign(r, { status: 'failed', error: `${r.device}: reading the media back found differences: ${what}. Write the drive again, or use another.` });
          } else {
            r.verified = true;
            log.info(`${r.device}: verified: ${v.filesChecked} files, ${v.bytesChecked} bytes read back match the manifest`);
          }
        } catch (err) {
          if (err instanceof CancelledError) r.status = 'cancelled';
          else Object.assign(r, { status: 'failed', error: `${r.device}: reading the media back failed: ${(err as Error).message.replace(/;? ?[Nn]othing was replaced\.?/, '').trim()} Write the drive again, or use another.` });
        }
        states[i].state = r.status;
        states[i].error = r.error;
        states[i].errorDetail = r.errorDetail;
        if (r.error) log.error(r.error);
      };
      await Promise.all(
        Array.from({ length: Math.min(VERIFY_AT_ONCE, queue.length) }, async () => {
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) await verifyOne(i);
        }),
      );
      progress.flush();
    }
    if (options.signal?.aborted && results.every((r) => r.status !== 'written')) throw new CancelledError();

    progress.begin('finalize', 0);
    const written = results.filter((r) => r.status === 'written');
    const reportPairs = writeUsbReport(
      { req, checked, prepared, manifest, discs: written.map((r) => ({ path: r.device, bytes: r.bytesWritten, sha256: r.sha256 })), verified: written.length > 0 && written.every((r) => r.verified), drives: results },
      driveReportBase(userDir, checked.timestamp),
      temps,
    );
    commit(reportPairs);
    temps.length = 0;
    log.info(`done: ${written.length} of ${results.length} drives written${written.length < results.length ? `; not written: ${results.filter((r) => r.status !== 'written').map((r) => `${r.device} (${r.status})`).join(', ')}` : ''}`);
    progress.begin('done', total);
    progress.update(total, null);
    progress.flush();
    await progress.close();
    return {
      target: devices[0],
      mediaGuid: prepared.mediaGuid,
      manifest,
      bytesWritten: written.reduce((n, r) => n + r.bytesWritten, 0),
      reportFiles: reportPairs.map((p) => p.final),
      logFiles: [...log.paths],
      warnings: prepared.content.warnings,
      largeFiles: ready.largeFiles,
      verified: written.length === results.length && written.every((r) => r.verified),
      start: mediaStart(prepared.content.analysis.start, prepared.runtime),
      drives: results,
    };
  } catch (err) {
    progress.cancel();
    removeQuietly(temps);
    if (err instanceof CancelledError) log.warning(`cancelled by the user; the drives ${devices.join(', ')} hold incomplete volumes now and must be written again`);
    else log.error(`failed: ${(err as Error).message}`);
    if (err instanceof WriteError && !devices.some((d) => err.message.includes(d))) throw new WriteError(`${devices.join(', ')}: ${err.message}`);
    throw err;
  } finally {
    log.close();
  }
}
