// The media files and ISO settings the disc-packing tests share: files whose sources are never read (the planner needs
// only their sizes), the boot files every disc carries, and the measure the media builder packs with.
import type { Disc } from '../../electron/engine/media/DiscSet.js';
import { discIsoBase, discIsoOptions, type DiscIsoBase } from '../../electron/engine/media/DiscSetPlan.js';
import { measureIso } from '../../electron/engine/formats/iso/IsoImage.js';
import type { MediaFile, MediaFileRole } from '../../electron/engine/media/MediaPlan.js';

export const BIOS = 'boot/etfsboot.com';
export const EFI = 'efi/microsoft/boot/efisys.bin';
export const MANIFEST = 'SMS/data/tsmedia-manifest.json';

/** A media file whose source is never read: the planner needs only its size. */
export const f = (path: string, size: number, role: MediaFileRole = 'package'): MediaFile => ({
  path,
  size,
  sha256: '0'.repeat(64),
  source: { kind: 'file', path: `/nonexistent/${path}`, size, label: path },
  role,
  packageId: null,
});

export const ISO: DiscIsoBase = discIsoBase('TSMEDIA', new Date('2026-01-01T00:00:00Z'), { bootBios: BIOS, bootEfi: EFI });
/** The blocks a disc needs, as the builder measures it while packing. */
export const measure = (files: readonly MediaFile[]) => (d: Disc): number => measureIso(discIsoOptions(d, files, ISO)).blocks;
