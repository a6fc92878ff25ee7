// What one USB drive and a batch of them prepare alike: the media's files made FAT32-ready (the 4 GiB rule: WIMs
// split into .swm parts, hashed), the manifest finished for one volume, a volume planned for a drive size once it is
// known to fit, and the clearing of a drive's last sectors.
import { InputError, codedInputError } from '../errors.js';
import { estimateFat32Fits, planFat32, type Fat32Plan } from '../formats/fat32/Fat32Volume.js';
import type { DriveWrite } from '../drives/DriveSequence.js';
import type { ContentSource } from '../io/ImageLayout.js';
import type { CmTraceLog } from './CmTraceLog.js';
import { hashSplitParts, planLargeFiles, refuseLargeFiles, type LargeFileReport } from './LargeFiles.js';
import type { MediaManifest } from './Manifest.js';
import { join } from 'node:path';
import { finalizeManifest, type CheckedOptions, type PreparedMedia } from './MediaPreparation.js';
import { MediaReport, writeReportFiles, type ReportInput } from './MediaReport.js';
import type { ProgressReporter } from './Progress.js';
import { tempPathFor } from './SafeOutput.js';
import type { MediaRequestBase, UsbDriveResult, UsbMediaRequest } from '../../../shared/media.js';

export interface Fat32Ready {
  largeFiles: LargeFileReport;
  manifest: MediaManifest;
  /** The volume's files, in the FAT32 planner's terms. */
  fatFiles: { path: string; source: ContentSource }[];
  directories: string[];
}

/** Applies the 4 GiB rule to `prepared` (in place: its files become the volume's) and finishes its manifest. */
export async function readyForFat32(prepared: PreparedMedia, req: MediaRequestBase, log: CmTraceLog, progress: ProgressReporter, options: { maxFileBytes?: number; signal?: AbortSignal }): Promise<Fat32Ready> {
  const large = planLargeFiles(prepared.files, options.maxFileBytes);
  for (const w of large.report.wims) log.info(`${w.path} (${w.size} bytes) is split into ${w.parts.join(', ')} for FAT32`);
  refuseLargeFiles(large.report);
  const manifestPath = prepared.files[prepared.manifestIndex].path;
  prepared.files = large.files;
  prepared.manifestIndex = prepared.files.findIndex((f) => f.path === manifestPath);
  await hashSplitParts(large, options.signal, progress);
  const manifest = finalizeManifest(prepared, req, 1, (i) => [{ disc: 1, offset: 0, size: prepared.files[i].size }]);
  return { largeFiles: large.report, manifest, fatFiles: prepared.files.map((f) => ({ path: f.path, source: f.source })), directories: prepared.content.directories };
}

/** Bytes a drive must have for the media, whatever its size: its clusters, the FATs and the first MiB, generously. */
export function driveBytesNeeded(ready: Fat32Ready, label: string, sectorSize: number): number {
  const needed = estimateFat32Fits({ diskBytes: 64 * 1024 ** 3, label, files: ready.fatFiles, directories: ready.directories, sectorSize });
  return Math.ceil(needed.requiredBytes * 1.01) + 16 * 1024 * 1024;
}

/** The volume for a disk of `diskBytes`; DRIVE_TOO_SMALL names `target` and what it lacks when the files do not fit. */
export function planVolume(ready: Fat32Ready, o: { diskBytes: number; label: string; timestamp: Date; sectorSize: number; target: string; what: 'drive' | 'image'; advice: string }): Fat32Plan {
  const options = { diskBytes: o.diskBytes, label: o.label, files: ready.fatFiles, directories: ready.directories, timestamp: o.timestamp, sectorSize: o.sectorSize };
  const fit = estimateFat32Fits(options);
  if (!fit.fits) {
    throw codedInputError(
      'DRIVE_TOO_SMALL',
      { target: o.target, neededBytes: fit.requiredBytes, hasBytes: o.diskBytes, shortBytes: fit.shortBytes },
      `${o.target}: the media needs ${fit.requiredBytes} bytes of clusters; the ${o.diskBytes}-byte ${o.what} is ${fit.shortBytes} bytes short. ${o.advice}`,
    );
  }
  return planFat32(options);
}

/** Bytes a layout puts on the disk: its regions and its files (gaps are not counted). */
export function layoutBytes(layout: { regions: { data: Buffer }[]; extents: { size: number }[] }): number {
  return layout.regions.reduce((n, r) => n + r.data.length, 0) + layout.extents.reduce((n, e) => n + e.size, 0);
}

/**
 * A whole drive written: the volume, gaps zeroed, then its last MiB cleared — a drive that held a GPT keeps its backup
 * table in its last sectors, which the volume never reaches, and firmware and systems may still see old partitions.
 */
export function wholeDriveWrites(plan: Fat32Plan, diskBytes: number): DriveWrite[] {
  if (diskBytes < plan.size) throw new InputError(`the volume (${plan.size} bytes) is larger than the drive (${diskBytes} bytes)`);
  const writes: DriveWrite[] = [{ layout: { size: plan.size, regions: plan.regions, extents: plan.extents, bootEnd: plan.bootEnd }, gaps: 'zero' }];
  if (diskBytes > 2 * 1024 * 1024) {
    const tail = 1024 * 1024;
    writes.push({ gaps: 'skip', layout: { size: diskBytes, regions: [{ offset: diskBytes - tail, data: Buffer.alloc(tail) }], extents: [] } });
  }
  return writes;
}

/**
 * The report of USB media (one drive, an image, or a batch of drives), written as temporary files beside their final
 * names (`temps` collects them, for removal if the run fails before they are committed); none with no `reportBase`.
 */
export function writeUsbReport(
  o: { req: UsbMediaRequest; checked: CheckedOptions; prepared: PreparedMedia; manifest: MediaManifest; discs: ReportInput['discs']; verified: boolean; drives?: UsbDriveResult[] },
  reportBase: string | null,
  temps: string[],
): { temp: string; final: string }[] {
  const { req, checked, prepared } = o;
  const report = new MediaReport({
    request: { ...req, size: 'unlimited' },
    label: checked.label,
    mediaGuid: prepared.mediaGuid,
    content: prepared.content,
    manifest: o.manifest,
    startsFrom: prepared.content.analysis.start,
    secureBoot: prepared.content.analysis.secureBoot,
    runtime: prepared.runtime,
    discs: o.discs,
    start: checked.start,
    expire: checked.expire,
    timestamp: checked.timestamp,
    verified: o.verified,
    mediaType: 'usb',
    ...(o.drives ? { drives: o.drives } : {}),
  });
  if (reportBase === null) return [];
  return writeReportFiles(report, reportBase, (final) => {
    const t = tempPathFor(final);
    temps.push(t);
    return t;
  });
}

/** Where a drive run's report goes: the user's log folder, named by the run's time; null without one. */
export function driveReportBase(userDir: string | null, timestamp: Date): string | null {
  return userDir === null ? null : join(userDir, `tsmedia-usb-${timestamp.toISOString().replace(/[:.]/g, '-')}.img`);
}
