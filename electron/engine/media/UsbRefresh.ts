// Refreshes USB media in place (tsmedia refresh, the wizard's "refresh existing media"): the media is prepared from
// the site exactly as `create` prepares it, compared with the manifest the volume holds, and only what changed is
// written — through the steps of formats/fat32/Fat32Refresh, each flushed before the next, so an interruption leaves
// the old media, the new media, or a state the next refresh rolls back or finishes by itself. The change list is given
// (onChanges) before anything is written; a dry run stops there.
//
// Refused, each with what to do (usually: write the whole drive with create): a volume without a tsmedia manifest, a
// manifest for another task sequence, a manifest the volume does not match (a file missing or of another size), too
// little free space for the new files beside the old ones, a volume the refresh states cannot express.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MediaStart, RefreshChanges, UsbMediaRequest } from '../../../shared/media.js';
import { userLogFolder } from './CmTraceLog.js';
import { canReadDrive, driveIoPath } from '../drives/DriveAccess.js';
import { checkDriveChoice } from '../drives/DriveChoice.js';
import { writeDrive } from '../drives/DriveSequence.js';
import { listDrives } from '../drives/Drives.js';
import { ContentIntegrityError, InputError } from '../errors.js';
import { openFat32, type Fat32Volume, type FatFileInfo } from '../formats/fat32/Fat32Reader.js';
import { planFat32Refresh, planFat32Repair, type Fat32RefreshPlan, type RefreshStep } from '../formats/fat32/Fat32Refresh.js';
import { planFat32InPlace } from '../formats/fat32/Fat32RefreshInPlace.js';
import { fatLabel } from '../formats/fat32/Fat32Volume.js';
import { windowsUpper } from '../formats/windowsNames.js';
import { CancelledError } from '../io/ImageWriter.js';
import { runImageJobs, type WorkerJob } from '../io/ImageJobs.js';
import { checkSectorSize, linuxSectorSize } from '../io/SectorIo.js';
import { MANIFEST_PATH, parseManifest, type MediaManifest } from './Manifest.js';
import { openMediaLog, prepareMedia, validateBaseRequest } from './MediaPreparation.js';
import { verifyFat32Media } from './MediaVerifier.js';
import { sourceFolders } from './OutputPlace.js';
import { ProgressReporter } from './Progress.js';
import { mediaStart } from './RuntimeFiles.js';
import { commit, removeQuietly } from './SafeOutput.js';
import { driveReportBase, readyForFat32, writeUsbReport } from './UsbPreparation.js';
import type { CreateUsbOptions } from './UsbMediaBuilder.js';
import type { Site } from '../site/Site.js';

/** Bytes an in-place rewrite may always write, whatever the refresh beside the old files would (journal and place). */
const IN_PLACE_ANYWAY = 8 * 1024 * 1024;

export interface RefreshUsbOptions extends CreateUsbOptions {
  /** The change list, before anything is written. */
  onChanges?: (c: RefreshChanges) => void;
  /** Stop after the change list: nothing is written. */
  dryRun?: boolean;
}

export interface RefreshUsbResult {
  target: string;
  changes: RefreshChanges;
  /** False for a dry run. */
  written: boolean;
  bytesWritten: number;
  verified: boolean;
  manifest: MediaManifest;
  reportFiles: string[];
  logFiles: string[];
  /** How the refreshed media is started (the wizard's Completion page). */
  start: MediaStart;
}

/** The manifest on the volume, or why the volume cannot be refreshed. */
function readOldManifest(vol: Fat32Volume, target: string): MediaManifest {
  const m = vol.find(MANIFEST_PATH);
  if (!m) throw new InputError(`${target}: no ${MANIFEST_PATH} on the volume: it was not made by tsmedia (or by an older version), so there is nothing to compare with. Write the whole drive with "tsmedia create".`);
  return parseManifest(vol.readFileBuffer(m.path).toString('utf8').trimEnd(), `${target}:${MANIFEST_PATH}`);
}

/** Every file of the manifest is on the volume with the manifest's size; otherwise the volume is not what it says. */
function checkVolumeMatches(vol: Fat32Volume, manifest: MediaManifest, target: string): Map<string, FatFileInfo> {
  const byPath = new Map<string, FatFileInfo>();
  const wrong: string[] = [];
  for (const f of manifest.files) {
    const e = vol.find(f.path);
    if (!e) wrong.push(`${f.path} is missing`);
    else if (e.size !== f.size) wrong.push(`${f.path} has ${e.size} bytes, the manifest says ${f.size}`);
    else byPath.set(windowsUpper(f.path), e);
  }
  if (wrong.length) {
    throw new InputError(`${target}: the volume does not match its manifest (${wrong.slice(0, 5).join('; ')}${wrong.length > 5 ? `; and ${wrong.length - 5} more` : ''}): it was changed since tsmedia wrote it. Write the whole drive with "tsmedia create".`);
  }
  return byPath;
}

export async function refreshUsbMedia(site: Site, req: UsbMediaRequest, options: RefreshUsbOptions = {}): Promise<RefreshUsbResult> {
  const checked = validateBaseRequest(req);
  if (req.moreDrives?.length) throw new InputError('refresh one drive at a time.');
  const t = req.target;
  let ioPath: string;
  let sectorSize: number | undefined;
  if (t.kind === 'drive') {
    const list = options.listDrives ?? (() => listDrives({ showAll: true }));
    // A dry run writes nothing: the drive's rules apply (no system or read-only drive), its confirmations are not asked.
    const asked = options.dryRun ? { ...t, confirmations: [t.device, t.device, t.device] } : t;
    const drive = checkDriveChoice(asked, await list(), { neededBytes: 0, sourcePaths: sourceFolders(site) }).drive;
    ioPath = driveIoPath(t.device);
    sectorSize = checkSectorSize(linuxSectorSize(t.device) ?? drive.logicalBlockSize ?? 512, t.device);
  } else {
    ioPath = resolve(t.path);
    try {
      if (!statSync(ioPath).isFile()) throw new InputError(`${ioPath} is not an image file.`);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`${ioPath}: no such image file to refresh. "tsmedia create --image" makes one.`);
    }
  }
  const target = t.kind === 'drive' ? t.device : ioPath;
  const userDir = options.userLogDir === undefined ? userLogFolder() : options.userLogDir;
  const log = openMediaLog(null, userDir, req);
  const progress = new ProgressReporter((p) => options.onProgress?.(p), undefined, options.progressIntervalMs);
  const temps: string[] = [];
  // The volume read at the start, closed however the run ends.
  let closeKept = (): void => undefined;
  try {
    progress.begin('plan', 0);
    let vol = openFat32(ioPath, sectorSize ? { sectorSize } : {});
    let old: MediaManifest;
    let onVolume: Map<string, FatFileInfo>;
    let repair;
    try {
      repair = planFat32Repair(vol);
      if (repair.state === 'rewrite') {
        // An in-place rewrite was cut short: its files are part old, part new. They are compared as its journal (whole,
        // applied first) will leave them.
        vol.close();
        vol = openFat32(ioPath, { ...(sectorSize ? { sectorSize } : {}), overlay: repair.steps[0].layout.regions });
      }
      old = readOldManifest(vol, target);
      const tsWanted = req.taskSequenceId.toUpperCase();
      if ((old.taskSequence.packageId ?? '').toUpperCase() !== tsWanted) {
        throw new InputError(`${target}: the media is for task sequence ${old.taskSequence.packageId ?? '(none)'} ("${old.taskSequence.name}"), not ${req.taskSequenceId}: a refresh keeps the task sequence. Write the whole drive with "tsmedia create" for another one.`);
      }
      onVolume = checkVolumeMatches(vol, old, target);
    } catch (err) {
      vol.close();
      throw err;
    }
    // Kept open to plan on (its walk of the folders is done once), unless a repair will change it first.
    let kept: Fat32Volume | null = vol;
    if (repair.action !== 'none') {
      vol.close();
      kept = null;
    }
    closeKept = () => kept?.close();
    log.info(`refresh of ${target}: the media holds "${old.label}" for task sequence ${old.taskSequence.packageId}, ${old.files.length} files${repair.action === 'none' ? '' : `; an earlier refresh was interrupted (${repair.state}): it is ${repair.action === 'roll-back' ? 'rolled back' : 'finished'} first`}`);

    // Cancel is honoured between the planning steps too (a dry run is cancelled from the wizard's change list).
    const stopIfCancelled = (): void => {
      if (options.signal?.aborted) throw new CancelledError();
    };
    stopIfCancelled();
    const prepared = await prepareMedia(site, req, checked, log, `refresh of ${target}`);
    stopIfCancelled();
    const ready = await readyForFat32(prepared, req, log, progress, options);
    stopIfCancelled();
    const oldByPath = new Map(old.files.map((f) => [windowsUpper(f.path), f]));
    const newPaths = new Set(prepared.files.map((f) => windowsUpper(f.path)));
    const changes: RefreshChanges = {
      target,
      oldLabel: old.label,
      taskSequence: `${old.taskSequence.packageId} (${old.taskSequence.name})`,
      interrupted: repair.action,
      added: [],
      replaced: [],
      removed: old.files.filter((f) => !newPaths.has(windowsUpper(f.path))).map((f) => ({ path: f.path, size: f.size })),
      keptFiles: 0,
      keptBytes: 0,
      bytesToWrite: 0,
      fullBytes: prepared.files.reduce((n, f) => n + f.size, 0),
      freeBytesAfter: 0,
    };
    const keep = new Map<string, FatFileInfo>();
    for (const f of prepared.files) {
      const key = windowsUpper(f.path);
      const was = oldByPath.get(key);
      if (f.path === MANIFEST_PATH) continue; // always written: it describes the new media
      if (was && was.size === f.size && was.sha256.toUpperCase() === f.sha256.toUpperCase()) {
        const e = onVolume.get(key);
        if (e) keep.set(key, e);
        changes.keptFiles += 1;
        changes.keptBytes += f.size;
      } else (was ? changes.replaced : changes.added).push({ path: f.path, size: f.size });
    }

    // Plan on the volume as it is; an interrupted refresh is planned on the volume it leaves once repaired.
    // Changed files that keep their paths and sizes in clusters (new password, dates, variables) are rewritten where
    // they are, through a journal; anything else goes beside the old files.
    const planOn = (v: Fat32Volume): Fat32RefreshPlan => {
      const opts = { files: prepared.files.map((f) => ({ path: f.path, source: f.source, keep: keep.get(windowsUpper(f.path)) ?? null })), directories: ready.directories, label: fatLabel(checked.label), timestamp: checked.timestamp };
      // In place (each changed byte written twice: journal, then place) when that writes less than beside the old
      // files, or little in any case (the environment alone: it leaves every folder, the FAT and the boot sectors be).
      let beside: Fat32RefreshPlan | InputError;
      try {
        beside = planFat32Refresh(v, opts);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        beside = err;
      }
      const inPlace = planFat32InPlace(v, opts, beside instanceof InputError ? Infinity : Math.max(beside.bytesToWrite, IN_PLACE_ANYWAY));
      if (inPlace.plan) {
        log.info('method: the changed files are rewritten in their own clusters, through a journal');
        return inPlace.plan;
      }
      if (beside instanceof InputError) throw beside;
      log.info(`method: new and changed files are written beside the old ones (not in their own clusters: ${inPlace.why})`);
      return beside;
    };
    let plan: Fat32RefreshPlan | null = null;
    if (kept) {
      try {
        plan = planOn(kept);
      } finally {
        kept.close();
        kept = null;
      }
      changes.bytesToWrite = plan.bytesToWrite;
      changes.freeBytesAfter = plan.freeBytesAfter;
      changes.method = plan.method;
    } else {
      changes.bytesToWrite = [...changes.added, ...changes.replaced].reduce((n, f) => n + f.size, 0);
    }
    log.info(`changes: ${changes.added.length} added, ${changes.replaced.length} replaced, ${changes.removed.length} removed, ${changes.keptFiles} kept (${changes.keptBytes} bytes); ${changes.bytesToWrite} bytes to write, ${changes.fullBytes} for the whole media`);
    log.infoLines([...changes.added.map((f) => `  added: ${f.path} (${f.size} bytes)`), ...changes.replaced.map((f) => `  replaced: ${f.path} (${f.size} bytes)`), ...changes.removed.map((f) => `  removed: ${f.path}`)]);
    stopIfCancelled();
    options.onChanges?.(changes);
    if (options.dryRun) {
      log.info('dry run: nothing was written');
      await progress.close();
      return { target, changes, written: false, bytesWritten: 0, verified: false, manifest: ready.manifest, reportFiles: [], logFiles: [...log.paths], start: mediaStart(prepared.content.analysis.start, prepared.runtime) };
    }

    // Written by the privileged writer (which reads every written byte back itself): this process may not read the drive.
    let elevated = false;
    // Each step is its own write, flushed before the next begins: the order is what keeps every moment safe.
    const writeSteps = async (steps: RefreshStep[], what: string): Promise<number> => {
      const total = steps.reduce((n, s) => n + s.layout.regions.reduce((m, r) => m + r.data.length, 0) + s.layout.extents.reduce((m, e) => m + e.size, 0), 0);
      progress.begin('write', total);
      for (const s of steps) log.info(`${what}: step ${s.name}: ${s.layout.regions.length} region(s), ${s.layout.extents.length} file piece(s)`);
      if (t.kind === 'drive') {
        const r = await writeDrive(
          { device: t.device, mode: 'append', writes: steps.map((s) => ({ layout: s.layout, gaps: 'skip' })), readBack: false, ...(sectorSize ? { sectorSize } : {}) },
          { signal: options.signal, privileged: options.privileged, onStep: (step, detail) => log.info(`${t.device}: ${step}: ${detail}`), onProgress: (step, bytes, path) => step === 'write' && progress.update(bytes, path) },
        );
        if (r.announced.warning) log.warning(r.announced.warning);
        if (r.elevated) elevated = true;
      } else {
        const jobs: WorkerJob[] = steps.map((s) => ({ kind: 'write', path: ioPath, target: 'file', layout: s.layout, gaps: 'skip' }));
        await runImageJobs(jobs, { signal: options.signal, onProgress: (_i, _b, path, all) => progress.update(all, path) });
      }
      progress.flush();
      return total;
    };
    let bytesWritten = 0;
    if (repair.action !== 'none') {
      bytesWritten += await writeSteps(repair.steps, repair.action === 'roll-back' ? 'rolling back the interrupted refresh' : 'finishing the interrupted refresh');
      vol = openFat32(ioPath, sectorSize ? { sectorSize } : {});
      try {
        plan = planOn(vol);
      } finally {
        vol.close();
      }
    }
    if (!plan) throw new Error('refresh: no plan');
    bytesWritten += await writeSteps(plan.steps, 'refresh');
    log.info(`refreshed ${target}: ${plan.written.length} files written (${plan.contentBytes} bytes), ${plan.kept.length} kept in place, ${plan.removed.length} removed; ${bytesWritten} bytes written in all`);

    let verified = false;
    if (!req.skipVerify && elevated && !canReadDrive(ioPath)) {
      verified = true;
      log.warning(`${target}: read back by the privileged writer (every written byte compared); this process cannot read the drive without administrator rights: run "tsmedia verify ${target}" as administrator to check every file against the manifest.`);
    } else if (!req.skipVerify) {
      // What this run wrote is read back and hashed; the files it kept are checked in place (entry, size, first
      // cluster) without reading them again — they were not touched. "tsmedia verify" reads every file.
      const written = new Set(plan.written.map((p) => windowsUpper(p)));
      const hashOnly = (p: string): boolean => written.has(windowsUpper(p));
      progress.begin('verify', ready.manifest.files.filter((f) => hashOnly(f.path)).reduce((n, f) => n + f.size, 0));
      const v = await verifyFat32Media(ioPath, { checkExtraFiles: true, signal: options.signal, hashOnly, inPlace: (p) => keep.get(windowsUpper(p)), onProgress: (b, p) => progress.update(b, p) });
      progress.flush();
      if (v.status !== 0) {
        const what = [...v.unreadable, ...v.problems.map((p) => `${p.path}: ${p.problem}`)].join('; ');
        throw new ContentIntegrityError(`${target}: reading the refreshed media back found differences: ${what}`, target);
      }
      verified = true;
      log.info(`verified: ${v.filesChecked} files: the ${plan.written.length} written (${v.bytesChecked} bytes) read back match the manifest, the ${plan.kept.length} kept are in place`);
    }

    progress.begin('finalize', 0);
    const reportPairs = writeUsbReport({ req, checked, prepared, manifest: ready.manifest, discs: [{ path: target, bytes: bytesWritten, sha256: null }], verified }, driveReportBase(userDir, checked.timestamp), temps);
    commit(reportPairs);
    temps.length = 0;
    progress.begin('done', 1);
    progress.update(1, null);
    await progress.close();
    return { target, changes, written: true, bytesWritten, verified, manifest: ready.manifest, reportFiles: reportPairs.map((p) => p.final), logFiles: [...log.paths], start: mediaStart(prepared.content.analysis.start, prepared.runtime) };
  } catch (err) {
    progress.cancel();
    removeQuietly(temps);
    log.error(`refresh failed: ${(err as Error).message}`);
    throw err;
  } finally {
    closeKept();
    log.close();
  }
}
