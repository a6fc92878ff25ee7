// Creates a stand-alone CD/DVD set: plan → environment → discs → write (worker) → read back → commit by rename, with
// the CMTrace log, the manifest and the media report. Earlier output is never touched until the new set is complete.
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Finding } from '../../../shared/analysis.js';
import type { IsoMediaRequest, MediaProgress, MediaStart } from '../../../shared/media.js';
import { discBlocks, discFileName } from '../../../shared/media.js';
import type { Disc } from './DiscSet.js';
import { discIsoBase, discIsoOptions, packDiscSet, partsByFile } from './DiscSetPlan.js';
import { CancelledError } from '../io/ImageWriter.js';
import { runImageJobs, type WorkerJob } from '../io/ImageJobs.js';
import { planIso, type IsoOptions, type IsoPlan } from '../formats/iso/IsoImage.js';
import type { MediaManifest } from './Manifest.js';
import { everyDiscFiles, finalizeManifest, openMediaLog, prepareMedia, validateBaseRequest, type CheckedOptions } from './MediaPreparation.js';
import { mediaStart } from './RuntimeFiles.js';
import type { PlannedContent } from './MediaPlan.js';
import { MediaReport, writeReportFiles } from './MediaReport.js';
import { isoTargetRefusal, refuseInsideSources } from './OutputPlace.js';
import { ProgressReporter } from './Progress.js';
import { BESIDE_MEDIA_BYTES, checkFreeSpace, commit, logVolume, nameShareFailure, refuseUnwritable, removeQuietly, removeStalePartials, tempPathFor, writeTempFile } from './SafeOutput.js';
import type { OutputVolume } from '../io/OutputVolume.js';
import type { Site } from '../site/Site.js';

export interface CreateMediaOptions {
  signal?: AbortSignal;
  onProgress?: (p: MediaProgress) => void;
  /**
   * Progress events at least this far apart (ms; default 260, at most four a second, for a window). 0 delivers each at
   * once and ends the run without waiting for the last one's turn: for a consumer that only notes phase changes.
   */
  progressIntervalMs?: number;
  /** Called once the plan is known, before anything is written (the CLI prints warnings and the disc plan). */
  onPlan?: (summary: PlanSummary) => void;
  /** Where CreateTSMedia.log also goes besides the output folder; default the user's log folder. */
  userLogDir?: string | null;
}

export interface PlanSummary {
  warnings: Finding[];
  discs: { file: string; bytes: number; files: number }[];
  packages: PlannedContent['packages'];
  totalBytes: number;
  passwordProtected: boolean;
  /** The folder written to: a network share, and free space its file system does not report, are said in the plan. */
  output: OutputVolume;
}

export interface CreatedDisc {
  path: string;
  bytes: number;
  /** SHA-256 of the image as read back (also in its .sha256 file); null with --no-verify. */
  sha256: string | null;
}

export interface CreateMediaResult {
  discs: CreatedDisc[];
  mediaGuid: string;
  manifest: MediaManifest;
  reportFiles: string[];
  logFiles: string[];
  warnings: Finding[];
  verified: boolean;
  start: MediaStart;
}

/** Checks what can be checked before any content is read. */
export function validateRequest(req: IsoMediaRequest): CheckedOptions {
  const checked = validateBaseRequest(req);
  const what = `--out ${req.out}`;
  const refused = isoTargetRefusal(req.out, what);
  if (refused) throw refused;
  refuseUnwritable(dirname(resolve(req.out)), what);
  return checked;
}

export async function createIsoSet(site: Site, req: IsoMediaRequest, options: CreateMediaOptions = {}): Promise<CreateMediaResult> {
  const checked = validateRequest(req);
  refuseInsideSources(req.out, site, `--out ${req.out}`);
  const { label, start, expire, timestamp } = checked;
  const out = resolve(req.out);
  const outDir = dirname(out);
  const log = openMediaLog(outDir, options.userLogDir, req);
  const progress = new ProgressReporter((p) => options.onProgress?.(p), undefined, options.progressIntervalMs);
  const temps: string[] = [];
  let volume: OutputVolume | null = null;
  try {
    progress.begin('plan', 0);
    const prepared = await prepareMedia(site, req, checked, log, 'CD/DVD set');
    const { content, files, mediaGuid } = prepared;

    // Every disc carries the manifest, so any one of them tells what the set holds.
    const iso = discIsoBase(label, timestamp, content);
    const discs = packDiscSet(prepared, req, discBlocks(req.size), iso);
    const isoOptions = (disc: Disc): IsoOptions => discIsoOptions(disc, files, iso);
    const partsOf = partsByFile(discs, everyDiscFiles(prepared));
    const manifest = finalizeManifest(prepared, req, discs.length, (i) => partsOf.get(i) ?? []);
    const plans: IsoPlan[] = discs.map((d) => planIso(isoOptions(d)));
    const capacity = discBlocks(req.size);
    plans.forEach((p, i) => {
      if (p.blocks > capacity) throw new Error(`disc ${i + 1} needs ${p.blocks} blocks, more than its ${capacity}`);
    });

    const finals = discs.map((_, i) => discFileName(out, i + 1));
    const totalBytes = plans.reduce((s, p) => s + p.size, 0);
    volume = checkFreeSpace(outDir, totalBytes + BESIDE_MEDIA_BYTES, `--out ${req.out}`);
    options.onPlan?.({
      warnings: content.warnings,
      discs: plans.map((p, i) => ({ file: finals[i], bytes: p.size, files: discs[i].parts.length })),
      packages: content.packages,
      totalBytes,
      passwordProtected: req.password !== null,
      output: volume,
    });
    log.info(`plan: ${discs.length} disc(s), ${totalBytes} bytes: ${finals.map((f, i) => `${basename(f)} ${plans[i].size} bytes`).join(', ')}`);
    logVolume(log, volume);
    const stale = removeStalePartials(finals);
    for (const p of stale.removed) log.info(`removed a partial file an interrupted run left: ${p}`);
    for (const p of stale.kept) log.warning(`left alone: ${p}, another computer's partial file, changed within a day (its run may still be going)`);

    // Write every disc under a temporary name, in one worker so a file split across discs is checked whole.
    const discTemps = finals.map((f) => tempPathFor(f));
    const share = volume.share !== null;
    temps.push(...discTemps);
    const layouts = plans.map((p) => ({ size: p.size, regions: p.regions, extents: p.extents }));
    progress.begin('write', totalBytes, discs.length);
    const offsets = plans.map((_, i) => plans.slice(0, i).reduce((s, p) => s + p.size, 0));
    const written = await runImageJobs(
      layouts.map((layout, i): WorkerJob => ({ kind: 'write', path: discTemps[i], layout })),
      { signal: options.signal, onProgress: (i, bytes, path) => progress.update(offsets[i] + bytes, path, i + 1), confirmedProgress: share },
    );
    progress.flush();
    written.forEach((w, i) => log.info(`wrote ${basename(finals[i])}: ${w.bytes} bytes, content hashes checked`));

    // The read-back compares every byte with what was meant to be written (structures from memory, content from its
    // source) and hashes each image for its .sha256 file: checksums describe what is on the disk.
    let verified = false;
    let sums: (string | null)[] = finals.map(() => null);
    if (!req.skipVerify) {
      progress.begin('verify', totalBytes, discs.length);
      const reread = await runImageJobs(
        // On a share the read-back reads what the server holds, past this computer's cache (OutputVolume, deviceFlags).
        layouts.map((layout, i): WorkerJob => ({ kind: 'compare', path: discTemps[i], layout, ...(share ? { uncached: true, sectorSize: 4096 } : {}) })),
        { signal: options.signal, onProgress: (i, bytes) => progress.update(offsets[i] + bytes, basename(finals[i]), i + 1) },
      );
      progress.flush();
      sums = reread.map((r) => r.sha256);
      verified = true;
      reread.forEach((r, i) => log.info(`verified ${basename(finals[i])}: ${r.bytes} bytes read back identical, SHA-256 ${r.sha256}`));
    } else {
      log.info('not read back (--no-verify): no .sha256 files are written');
    }

    progress.begin('finalize', 0, discs.length);
    const created = finals.map((f, i) => ({ path: f, bytes: written[i].bytes, sha256: sums[i] }));
    const report = new MediaReport({ request: req, label, mediaGuid, content, manifest, startsFrom: content.analysis.start, runtime: prepared.runtime, secureBoot: content.analysis.secureBoot, discs: created, start, expire, timestamp, verified });
    const extra: { temp: string; final: string }[] = [];
    finals.forEach((f, i) => {
      const sum = sums[i];
      if (sum === null) return;
      const temp = tempPathFor(`${f}.sha256`);
      temps.push(temp);
      writeTempFile(temp, `${sum}  ${basename(f)}\n`);
      extra.push({ temp, final: `${f}.sha256` });
    });
    const reportPairs = writeReportFiles(report, out, (final) => {
      const t = tempPathFor(final);
      temps.push(t);
      return t;
    });
    commit([...finals.map((f, i) => ({ temp: discTemps[i], final: f })), ...extra, ...reportPairs]);
    temps.length = 0;
    // An earlier run's checksum beside a new, unread image would not match it.
    finals.forEach((f, i) => {
      if (sums[i] === null && existsSync(`${f}.sha256`)) {
        removeQuietly([`${f}.sha256`]);
        log.info(`removed ${basename(f)}.sha256 of an earlier run (this image was not read back)`);
      }
    });
    log.info(`done: ${finals.join(', ')}`);
    progress.begin('done', totalBytes, discs.length);
    progress.update(totalBytes, null);
    progress.flush();
    await progress.close();
    return {
      discs: created,
      mediaGuid,
      manifest,
      reportFiles: reportPairs.map((p) => p.final),
      logFiles: [...log.paths],
      warnings: content.warnings,
      verified,
      start: mediaStart(content.analysis.start, prepared.runtime),
    };
  } catch (caught) {
    progress.cancel();
    const err = await nameShareFailure(caught, volume, removeQuietly(temps));
    if (err instanceof CancelledError) log.warning('cancelled by the user; nothing was replaced and the partial files were removed.');
    else log.error(`failed: ${(err as Error).message}`);
    throw err;
  } finally {
    log.close();
  }
}
