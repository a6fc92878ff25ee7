// The disc plan of a CD/DVD set, for a real run and for the wizard's check alike: what the ISO planner is given for
// each disc, the discs packed with that planner, and a manifest slot as large as the manifest of that very packing
// needs (it lists a part per disc of every split file, so a large file on small discs makes it grow).
import type { MediaRequestBase } from '../../../shared/media.js';
import { packDiscs, type Disc } from './DiscSet.js';
import { measureIso, type IsoOptions } from '../formats/iso/IsoImage.js';
import { serializeManifest, type ManifestPart } from './Manifest.js';
import type { MediaFile, PlannedContent } from './MediaPlan.js';
import { buildManifest, everyDiscFiles, reserveManifest, type PreparedMedia } from './MediaPreparation.js';
import { packageVersion } from '../paths.js';

export interface DiscIsoBase {
  volumeId: string;
  timestamp: Date;
  /** Media paths of the boot images (on disc 1, the disc that holds them). */
  bootBios: string | null;
  bootEfi: string | null;
  applicationId: string;
}

/** What every disc of a set shares: the label, the time, the boot images and the tool's name and version. */
export function discIsoBase(volumeId: string, timestamp: Date, content: Pick<PlannedContent, 'bootBios' | 'bootEfi'>): DiscIsoBase {
  return { volumeId, timestamp, bootBios: content.bootBios, bootEfi: content.bootEfi, applicationId: `TSMEDIA ${packageVersion()}` };
}

/** What the ISO planner is given for one disc. */
export function discIsoOptions(disc: Disc, files: readonly MediaFile[], base: DiscIsoBase): IsoOptions {
  const holds = (path: string | null): string | null => (path !== null && disc.parts.some((p) => p.path === path) ? path : null);
  return {
    volumeId: base.volumeId,
    files: disc.parts.map((p) => ({ path: p.path, source: files[p.file].source, sourceOffset: p.sourceOffset, size: p.size })),
    directories: disc.directories,
    bootBios: holds(base.bootBios),
    bootEfi: holds(base.bootEfi),
    timestamp: base.timestamp,
    applicationId: base.applicationId,
  };
}

/**
 * Packs the prepared media onto discs of `capacityBlocks` (Infinity: one disc), every disc carrying the manifest.
 * When the manifest of the packing outgrows its slot, the slot grows and the files are packed again.
 */
export function packDiscSet(p: PreparedMedia, req: MediaRequestBase, capacityBlocks: number, iso: DiscIsoBase): Disc[] {
  for (let round = 1; ; round++) {
    const everyDisc = everyDiscFiles(p);
    const discs = packDiscs(p.files, p.content.directories, capacityBlocks, (d) => measureIso(discIsoOptions(d, p.files, iso)).blocks, everyDisc);
    const parts = partsByFile(discs, everyDisc);
    const need = serializeManifest(buildManifest(p, req, discs.length, (i) => parts.get(i) ?? [])).length;
    if (need <= p.manifestSize) return discs;
    if (round === 8) throw new Error(`the manifest slot did not settle: ${need} bytes needed, ${p.manifestSize} reserved`);
    // Headroom for the packing to shift with the larger manifest (a part more, longer numbers).
    reserveManifest(p, need + Math.ceil(need / 8) + 1024);
  }
}

/** Where the parts of each file are (disc numbers from 1), for the manifest; the files every disc carries excluded. */
export function partsByFile(discs: readonly Disc[], onEveryDisc: readonly number[] = []): Map<number, ManifestPart[]> {
  const skip = new Set(onEveryDisc);
  const out = new Map<number, ManifestPart[]>();
  discs.forEach((d, i) =>
    d.parts.forEach((p) => {
      if (skip.has(p.file)) return;
      const list = out.get(p.file) ?? [];
      list.push({ disc: i + 1, offset: p.sourceOffset, size: p.size });
      out.set(p.file, list);
    }),
  );
  return out;
}
