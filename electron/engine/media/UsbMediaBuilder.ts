// Creates stand-alone media on a USB drive — or on a raw image of one, with the same code: the media plan of the ISO
// path, the 4 GiB rule (WIMs split into .swm parts, other large files refused before a byte is written), a FAT32
// volume that UEFI and BIOS firmware boot (a volume used as already formatted gets the BIOS boot code too), written by
// the worker, flushed, and read back against the manifest.
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Finding } from '../../../shared/analysis.js';
import type { DriveInfo } from '../../../shared/drives.js';
import type { MediaProgress, MediaStart, UsbDriveResult, UsbDriveTarget, UsbMediaRequest } from '../../../shared/media.js';
import { createUsbBatch, type CreateUsbBatchOptions } from './UsbBatchBuilder.js';
import { userLogFolder } from './CmTraceLog.js';
import { canReadDrive, driveIoPath } from '../drives/DriveAccess.js';
import { writeDrive, type DriveWrite } from '../drives/DriveSequence.js';
import type { ElevationMethod } from '../drives/PrivilegedWriter.js';
import { findDrive, listDrives } from '../drives/Drives.js';
import { checkDriveChoice } from '../drives/DriveChoice.js';
import { ContentIntegrityError, InputError } from '../errors.js';
import { fatLabel, type Fat32Plan } from '../formats/fat32/Fat32Volume.js';
import { openFat32 } from '../formats/fat32/Fat32Reader.js';
import { planFat32Append } from '../formats/fat32/Fat32Append.js';
import { journalAppend } from '../formats/fat32/Fat32AppendJournal.js';
import { journalRepairSteps } from '../formats/fat32/Fat32Refresh.js';
import { withBiosBoot } from '../formats/fat32/FatBiosBoot.js';
import type { ImageLayout } from '../io/ImageLayout.js';
import { CancelledError, WriteError, reportedBytes } from '../io/ImageWriter.js';
import { runImageJobs, type WorkerJob } from '../io/ImageJobs.js';
import { checkSectorSize, linuxSectorSize } from '../io/SectorIo.js';
import type { LargeFileReport } from './LargeFiles.js';
import { driveBytesNeeded, driveReportBase, layoutBytes, planVolume, readyForFat32, wholeDriveWrites, writeUsbReport } from './UsbPreparation.js';
import type { MediaManifest } from './Manifest.js';
import { openMediaLog, prepareMedia, validateBaseRequest, type PreparedMedia } from './MediaPreparation.js';
import { mediaStart } from './RuntimeFiles.js';
import { checkImageTarget, sourceFolders } from './OutputPlace.js';
import { ProgressReporter } from './Progress.js';
import { BESIDE_MEDIA_BYTES, checkFreeSpace, commit, logVolume, nameShareFailure, refuseUnwritable, removeQuietly, removeStalePartials, tempPathFor } from './SafeOutput.js';
import type { OutputVolume } from '../io/OutputVolume.js';
import type { Site } from '../site/Site.js';
import { verifyFat32Media } from './MediaVerifier.js';

export interface UsbPlanSummary {
  warnings: Finding[];
  largeFiles: LargeFileReport;
  target: string;
  diskBytes: number;
  totalBytes: number;
  clusterSize: number | null;
  passwordProtected: boolean;
  format: boolean;
  /**
   * With --no-format, what is written beside the files: the BIOS boot code into the MBR and boot sectors, and each
   * change to the drive's own fields (the partition made active, the hidden sectors set). Empty for a whole drive.
   */
  bootChanges: string[];
  /** For an image file: the folder written to (a network share, free space not reported). Null for a drive. */
  output: OutputVolume | null;
}

export interface CreateUsbOptions {
  signal?: AbortSignal;
  onProgress?: (p: MediaProgress) => void;
  /**
   * Progress events at least this far apart (ms; default 260, at most four a second, for a window). 0 delivers each at
   * once and ends the run without waiting for the last one's turn: for a consumer that only notes phase changes.
   */
  progressIntervalMs?: number;
  onPlan?: (s: UsbPlanSummary) => void;
  userLogDir?: string | null;
  /**
   * The computer's drives, virtual ones included (default: drivelist). Only tests replace it: a listing shaped from
   * recorded drivelist output with a loop device in place of a real drive.
   */
  listDrives?: () => Promise<DriveInfo[]>;
  /** Largest file the volume takes whole (default FAT32's 4 GiB − 1); tests lower it to split small WIMs. */
  maxFileBytes?: number;
  /**
   * How the privileged writer is started when the drive needs it (default: the platform's prompt). Tests set method
   * 'none' and `always`, so the helper's path runs here as the elevated one would.
   */
  privileged?: { method?: ElevationMethod; always?: boolean };
}

export interface CreateUsbResult {
  target: string;
  mediaGuid: string;
  manifest: MediaManifest;
  bytesWritten: number;
  reportFiles: string[];
  logFiles: string[];
  warnings: Finding[];
  largeFiles: LargeFileReport;
  verified: boolean;
  start: MediaStart;
}

const MIN_IMAGE = 64 * 1024 * 1024;

/**
 * A failed write of the media: the writer's sentence (which names the file or drive and the cause, see
 * errors.describeWriteError), and for a drive whether it is gone or read-only now and that it holds an incomplete volume.
 */
async function explainWriteFailure(err: WriteError, req: UsbMediaRequest, target: string, writePath: string, list: () => Promise<DriveInfo[]>): Promise<WriteError> {
  let message = err.message;
  if (!message.includes(target) && !message.includes(writePath)) message = `${target}: ${message}`;
  if (req.target.kind === 'drive') {
    const device = req.target.device;
    let now: DriveInfo | undefined | null = null;
    try {
      now = findDrive(await list(), device);
    } catch {
      now = null;
    }
    if (now === undefined) message += ` ${device} is no longer connected.`;
    else if (now?.isReadOnly) message += ` ${device} is read-only now (a write-protect switch, or the system made it read-only after errors).`;
    message += ' The drive holds an incomplete volume: write it again before using it.';
  }
  return new WriteError(message);
}

/** What can be checked of an image target before anything is read: its name, place and size, what it would replace. */
function checkTarget(req: UsbMediaRequest, site: Site): void {
  if (req.target.kind === 'image') {
    checkImageTarget(req.target, req.format, site);
    const dir = dirname(resolve(req.target.path));
    if (req.format && (!Number.isSafeInteger(req.target.sizeBytes) || req.target.sizeBytes < MIN_IMAGE)) {
      throw new InputError(`--image-size must be at least ${MIN_IMAGE} bytes (64 MiB); FAT32 needs 65,525 clusters.`);
    }
    if (!req.format && !existsSync(req.target.path)) throw new InputError(`--image ${req.target.path}: --no-format writes into an existing FAT32 image, and there is none.`);
    refuseUnwritable(req.format ? dir : req.target.path, `--image ${req.target.path}`);
  }
}

/**
 * The logical sector size the volume is laid out for: a drive's as the operating system reports it (Linux: sysfs, as
 * BLKSSZGET; elsewhere the drive listing's), an image's as asked (512 by default); 512 and 4096 only, else a named error.
 */
function targetSectorSize(req: UsbMediaRequest, drive: DriveInfo | null): number {
  if (req.target.kind === 'image') return checkSectorSize(req.target.sectorSize ?? 512, `--image ${req.target.path}`);
  return checkSectorSize(linuxSectorSize(req.target.device) ?? drive?.logicalBlockSize ?? 512, req.target.device);
}

/** The drive as the operating system lists it now, judged with the request's own choices (DriveChoice) before any write. */
async function checkDrive(target: UsbDriveTarget, neededBytes: number, site: Site, list: () => Promise<DriveInfo[]>): Promise<DriveInfo> {
  return checkDriveChoice(target, await list(), { neededBytes, sourcePaths: sourceFolders(site) }).drive;
}

export async function createUsbMedia(site: Site, req: UsbMediaRequest, options: CreateUsbBatchOptions = {}): Promise<CreateUsbResult & { drives?: UsbDriveResult[] }> {
  // Several drives: one read, every drive written (UsbBatchBuilder).
  if (req.moreDrives && req.moreDrives.length > 0) return createUsbBatch(site, req, options);
  const checked = validateBaseRequest(req);
  checkTarget(req, site);
  const list = options.listDrives ?? (() => listDrives({ showAll: true }));
  // A drive is judged before anything is read or written (and again, with the bytes the media needs, just before writing).
  // The sector size is checked before anything is read (a drive with sectors of another size cannot be laid out).
  const sectorSize = targetSectorSize(req, req.target.kind === 'drive' ? await checkDrive(req.target, 0, site, list) : null);
  const imagePath = req.target.kind === 'image' ? resolve(req.target.path) : null;
  const userDir = options.userLogDir === undefined ? userLogFolder() : options.userLogDir;
  const log = openMediaLog(imagePath ? dirname(imagePath) : null, userDir, req);
  const progress = new ProgressReporter((p) => options.onProgress?.(p), undefined, options.progressIntervalMs);
  const temps: string[] = [];
  let place: OutputVolume | null = null;
  try {
    progress.begin('plan', 0);
    const prepared: PreparedMedia = await prepareMedia(site, req, checked, log, req.target.kind === 'image' ? `USB image ${imagePath}` : `USB drive ${req.target.device}`);
    // The 4 GiB rule, before anything is written.
    const ready = await readyForFat32(prepared, req, log, progress, options);
    const { manifest, fatFiles, directories } = ready;
    const timestamp = checked.timestamp;
    const target = imagePath ?? (req.target.kind === 'drive' ? req.target.device : '');
    // What is read and written: macOS's raw /dev/rdiskN for either name of the disk.
    const ioPath = req.target.kind === 'drive' ? driveIoPath(req.target.device) : null;

    let layout: ImageLayout;
    let plan: Fat32Plan | null = null;
    // --no-format: the writes in order, each flushed before the next (null: the one layout, as before).
    let appendSteps: ImageLayout[] | null = null;
    const bootChanges: string[] = [];
    let diskBytes: number;
    if (req.format) {
      if (req.target.kind === 'image') diskBytes = req.target.sizeBytes;
      else {
        const drive = await checkDrive(req.target, driveBytesNeeded(ready, fatLabel(checked.label), sectorSize), site, list);
        diskBytes = drive.sizeBytes ?? 0;
      }
      plan = planVolume(ready, { diskBytes, label: fatLabel(checked.label), timestamp, sectorSize, target, what: req.target.kind === 'image' ? 'image' : 'drive', advice: 'Use a larger drive.' });
      layout = plan;
    } else {
      if (req.target.kind === 'drive') await checkDrive(req.target, 0, site, list);
      const openOptions = req.target.kind === 'drive' ? { sectorSize } : {};
      let vol = openFat32(ioPath ?? target, openOptions);
      try {
        diskBytes = statSync(ioPath ?? target).size;
        // A journaled write an earlier run left cut short (files added, or a refresh in place) is finished first; the
        // files are added to the volume as that leaves it.
        const repair = journalRepairSteps(vol);
        if (repair.length) {
          vol.close();
          vol = openFat32(ioPath ?? target, { ...openOptions, overlay: repair.flatMap((s) => s.layout.regions) });
          log.info('--no-format: an earlier write to this volume was interrupted once its journal was whole: it is finished first');
        }
        // The files being replaced keep their clusters until the end, so an interruption leaves them whole; where the
        // space is short, they give their clusters to the new files, as before (and without the journal's safety).
        let appended;
        let keep = true;
        try {
          appended = planFat32Append(vol, fatFiles, directories, timestamp, true);
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          appended = planFat32Append(vol, fatFiles, directories, timestamp);
          keep = false;
        }
        // The drive is made to boot by BIOS too: the boot code goes into its MBR and boot sectors (FatBiosBoot).
        const boot = withBiosBoot(appended, vol);
        bootChanges.push(`the BIOS boot code goes into ${vol.offset > 0 ? 'the MBR (its partition table and disk signature kept) and ' : ''}the boot sector and reserved sectors (the BPB kept), so BIOS computers start the drive too`, ...boot.changes);
        for (const c of bootChanges) log.info(`--no-format: ${c}`);
        layout = boot.layout;
        const journaled = keep ? journalAppend(vol, boot.layout) : { steps: null, why: 'the new files need the clusters of the files they replace' };
        if (journaled.steps) log.info(`--no-format: the new files first, then the volume's structures through a journal of ${journaled.journalBytes} bytes: an interruption leaves the volume as it was, or a journal the next run finishes`);
        else log.warning(`--no-format: written without a journal (${journaled.why}): an interruption may leave lost clusters; "fsck" or "chkdsk" repairs them`);
        appendSteps = journaled.steps ? [...repair.map((s) => s.layout), ...journaled.steps.map((s) => s.layout)] : repair.length ? [...repair.map((s) => s.layout), layout] : null;
      } finally {
        vol.close();
      }
    }
    const bytesToWrite = layoutBytes(layout);
    place = imagePath && req.format ? checkFreeSpace(dirname(imagePath), layout.size + BESIDE_MEDIA_BYTES, `--image ${imagePath}`) : null;
    options.onPlan?.({ warnings: prepared.content.warnings, largeFiles: ready.largeFiles, target, diskBytes, totalBytes: bytesToWrite, clusterSize: plan?.clusterSize ?? null, passwordProtected: req.password !== null, format: req.format, bootChanges, output: place });
    log.info(`plan: ${req.format ? `FAT32 volume of ${diskBytes} bytes, ${sectorSize}-byte sectors, clusters of ${plan?.clusterSize} bytes` : 'files added to the existing FAT32 volume'}, ${bytesToWrite} bytes to write`);

    // Write: an image file under a temporary name (renamed when complete and verified), a drive in place through the
    // drive sequence (rights first; the privileged writer runs the same job when this process may not write it).
    let writePath = ioPath ?? target;
    if (imagePath && req.format) {
      if (place) logVolume(log, place);
      const stale = removeStalePartials([imagePath]);
      for (const p of stale.removed) log.info(`removed a partial file an interrupted run left: ${p}`);
      for (const p of stale.kept) log.warning(`left alone: ${p}, another computer's partial file, changed within a day (its run may still be going)`);
      writePath = tempPathFor(imagePath);
      temps.push(writePath);
    }
    // On a drive every read and write is whole sectors, and the MBR and the volume's boot region go last (bootEnd): a
    // whole drive's first write is zeros over its old MBR, so no old or half-written volume is ever mounted.
    const volume = { size: layout.size, regions: layout.regions, extents: layout.extents, bootEnd: layout.bootEnd };
    // Adding to the volume leaves every byte it does not name as it is (each journaled step its own write, flushed before
    // the next: the order is what makes an interruption safe); a whole drive is written gaps and all.
    const writes: { layout: ImageLayout; gaps: 'zero' | 'sparse' | 'skip' }[] =
      req.target.kind === 'drive' && plan && req.format
        ? wholeDriveWrites(plan, diskBytes)
        : appendSteps
          ? appendSteps.map((l) => ({ layout: l, gaps: 'skip' }))
          : [{ layout: volume, gaps: req.target.kind === 'drive' || !req.format ? 'skip' : 'sparse' }];
    progress.begin('write', writes.reduce((n, w) => n + reportedBytes(w.layout, w.gaps), 0));
    let written: { sha256: string | null; bytes: number };
    let elevated = false;
    let readBack = false;
    try {
      if (req.target.kind === 'drive') {
        const driveWrites = writes as DriveWrite[];
        const device = req.target.device;
        let verifying = false;
        const r = await writeDrive(
          { device, mode: req.format ? 'erase' : 'append', writes: driveWrites, readBack: false, sectorSize },
          {
            signal: options.signal,
            privileged: options.privileged,
            onStep: (step, detail) => log.info(`${device}: ${step}: ${detail}`),
            onProgress: (step, bytes, path) => {
              if (step === 'read-back' && !verifying) {
                verifying = true;
                progress.flush();
                // What the drive holds at the end is read back: at most every write's bytes (less where they overlap).
                progress.begin('verify', driveWrites.reduce((n, w) => n + layoutBytes(w.layout), 0));
              }
              progress.update(bytes, path);
            },
          },
        );
        written = r.written;
        elevated = r.elevated;
        readBack = r.readBack !== null;
        if (r.announced.warning) log.warning(r.announced.warning);
        if (r.readBack) log.info(`the privileged writer read back ${r.readBack.bytes} written bytes of ${device}: they match what was written`);
      } else {
        const jobs: WorkerJob[] = writes.map((w) => ({ kind: 'write', path: writePath, layout: w.layout, target: 'file', gaps: w.gaps, fileSize: w.gaps === 'sparse' ? diskBytes : undefined }));
        const done = await runImageJobs(jobs, { signal: options.signal, onProgress: (_i, _b, path, all) => progress.update(all, path), confirmedProgress: place?.share != null });
        // One write: its image hash (the report's); journaled steps: their bytes, no single hash.
        written = jobs.length === 1 ? done[0] : { bytes: done.reduce((n, r) => n + r.bytes, 0), sha256: null };
      }
    } catch (err) {
      if (err instanceof WriteError) throw await explainWriteFailure(err, req, target, writePath, list);
      throw err;
    }
    progress.flush();
    log.info(`wrote ${written.bytes} bytes to ${target}`);

    let verified = readBack;
    if (!req.skipVerify && elevated && !canReadDrive(writePath)) {
      if (!readBack) log.warning(`the written drive cannot be read back without administrator rights: run "tsmedia verify ${target}" as administrator to verify it.`);
    } else if (!req.skipVerify) {
      progress.begin('verify', manifest.files.reduce((n, f) => n + f.size, 0));
      const v = await verifyFat32Media(writePath, { onProgress: (bytes, path) => progress.update(bytes, path), checkExtraFiles: req.format, signal: options.signal });
      progress.flush();
      if (v.status !== 0) {
        const what = [...v.unreadable, ...v.problems.map((p) => `${p.path}: ${p.problem}`)].join('; ');
        throw new ContentIntegrityError(`${target}: reading the media back found differences: ${what}`, target);
      }
      verified = true;
      log.info(`verified: ${v.filesChecked} files, ${v.bytesChecked} bytes read back match the manifest`);
    }

    progress.begin('finalize', 0);
    // A drive's report goes to the user's log folder; with none (userLogDir null: the caller keeps user folders out),
    // a drive run writes no report files rather than put them anywhere the user did not choose.
    const reportBase = imagePath ?? driveReportBase(userDir, checked.timestamp);
    const reportPairs = writeUsbReport({ req, checked, prepared, manifest, discs: [{ path: target, bytes: written.bytes, sha256: written.sha256 }], verified }, reportBase, temps);
    if (reportBase === null) log.info('no report files: no log folder was given for a drive run');
    commit([...(imagePath && req.format ? [{ temp: writePath, final: imagePath }] : []), ...reportPairs]);
    temps.length = 0;
    log.info(`done: ${target}`);
    progress.begin('done', layout.size);
    progress.update(layout.size, null);
    progress.flush();
    await progress.close();
    return {
      target,
      mediaGuid: prepared.mediaGuid,
      manifest,
      bytesWritten: written.bytes,
      reportFiles: reportPairs.map((p) => p.final),
      logFiles: [...log.paths],
      warnings: prepared.content.warnings,
      largeFiles: ready.largeFiles,
      verified,
      start: mediaStart(prepared.content.analysis.start, prepared.runtime),
    };
  } catch (caught) {
    progress.cancel();
    const err = await nameShareFailure(caught, place, removeQuietly(temps));
    if (err instanceof CancelledError) log.warning(`cancelled by the user${req.target.kind === 'drive' ? `; the drive ${req.target.device} holds an incomplete volume now and must be written again` : '; nothing was replaced and the partial files were removed.'}`);
    else log.error(`failed: ${(err as Error).message}`);
    throw err;
  } finally {
    log.close();
  }
}

