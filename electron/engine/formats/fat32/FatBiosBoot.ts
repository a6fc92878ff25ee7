// The project's own BIOS boot code (boot/mbr.asm, boot/fat32boot.asm; the bytes in BiosBootCode.ts) put into a drive:
// the MBR's code area (bytes 0–439; the disk signature and partition table are the drive's), the FAT32 boot sector's
// code (the jump at 0–2 and bytes 90–509 around the BPB) and part two of the code in reserved sectors 2, 3, … of the
// volume (1,024 bytes: two sectors of 512 bytes, one of 4,096). The backup boot region at sector 6 carries the same:
// the boot sector at 6, part two at 8, …, as the boot region holds them at 0 and 2.
//
// For a fresh volume the planner puts them in itself; for "use the drive as already formatted" planBiosBootInstall
// plans the same change on the existing volume, and what it changes beside the code: the partition made active (the
// only active one), and a hidden-sectors field another tool left different from the partition's first sector.
import { InputError } from '../../errors.js';
import { checkLayout, type ImageLayout, type ImageRegion } from '../../io/ImageLayout.js';
import { FAT32_BOOT_BASE64, MBR_CODE_BASE64 } from './BiosBootCode.js';
import type { Fat32Volume } from './Fat32Reader.js';

/** Bytes of code an MBR holds (the disk signature follows at 440). */
export const MBR_CODE_BYTES = 440;
/** The reserved sector part two of the boot code starts at (after the boot sector at 0 and FSInfo at 1). */
export const BOOT_CODE_SECTOR = 2;

const MBR_CODE = Buffer.from(MBR_CODE_BASE64, 'base64');
const FAT32_BOOT = Buffer.from(FAT32_BOOT_BASE64, 'base64');
/** Where the BPB ends and the boot sector's code starts (the jump at byte 0 goes there). */
const BPB_END = 90;

/** Puts the MBR code into bytes 0–439 of an MBR sector; the rest of the sector stays. */
export function putMbrCode(sector: Buffer): void {
  MBR_CODE.copy(sector, 0, 0, MBR_CODE_BYTES);
}

/** Puts the boot code around the BPB of a FAT32 boot sector (the jump, bytes 90–509, the 55AAh signature). */
export function putBootSectorCode(sector: Buffer): void {
  FAT32_BOOT.copy(sector, 0, 0, 3);
  FAT32_BOOT.copy(sector, BPB_END, BPB_END, 510);
  sector[510] = 0x55;
  sector[511] = 0xaa;
}

/** Sectors part two takes at this sector size. */
export function bootCodeSectorCount(sectorSize: number): number {
  return Math.ceil((FAT32_BOOT.length - 512) / sectorSize);
}

/** Part two of the boot code, in whole sectors (for reserved sectors 2, 3, …). */
export function bootCodeSectors(sectorSize: number): Buffer {
  const b = Buffer.alloc(bootCodeSectorCount(sectorSize) * sectorSize);
  FAT32_BOOT.copy(b, 0, 512);
  return b;
}

export interface BiosBootInstall {
  regions: ImageRegion[];
  /** What changes beside the code, in words for the log and the user. */
  changes: string[];
}

/**
 * The regions that make an existing FAT32 volume boot by BIOS: the code in the MBR (when the volume is in a partition),
 * the boot sector and its backup, and part two in reserved sectors 2, … (and behind the backup). Refused, naming the
 * drive, when the reserved sectors those need hold FSInfo or the backup, or are too few.
 */
export function planBiosBootInstall(volume: Fat32Volume): BiosBootInstall {
  const bps = volume.bytesPerSector;
  const where = volume.path;
  const n = bootCodeSectorCount(bps);
  const changes: string[] = [];
  const taken = new Set([0, volume.fsInfoSectorNumber, volume.backupBootSector]);
  if (volume.backupBootSector !== 0 && volume.fsInfoSectorNumber !== 0) taken.add(volume.backupBootSector + volume.fsInfoSectorNumber);
  const free = (first: number): boolean => {
    for (let s = first; s < first + n; s++) if (s >= volume.reservedSectors || taken.has(s)) return false;
    return true;
  };
  if (!free(BOOT_CODE_SECTOR)) {
    throw new InputError(
      `${where}: the FAT32 volume has no room for the BIOS boot code in reserved sectors ${BOOT_CODE_SECTOR}–${BOOT_CODE_SECTOR + n - 1} (it has ${volume.reservedSectors} reserved sectors, FSInfo at ${volume.fsInfoSectorNumber}, the backup boot sector at ${volume.backupBootSector}). Write the whole drive (without --no-format) to make it boot by BIOS.`,
    );
  }
  if (volume.offset % bps !== 0) throw new InputError(`${where}: the FAT32 volume starts at byte ${volume.offset}, not on a ${bps}-byte sector.`);
  const hidden = volume.offset / bps;
  const regions: ImageRegion[] = [];

  if (volume.offset > 0) {
    const mbr = volume.readBytes(0, bps);
    const entries = [0, 1, 2, 3].map((i) => 446 + 16 * i);
    const ours = entries.find((e) => mbr[e + 4] !== 0 && mbr.readUInt32LE(e + 8) === hidden);
    if (ours === undefined) throw new InputError(`${where}: no MBR partition starts at sector ${hidden}, where the FAT32 volume is.`);
    putMbrCode(mbr);
    for (const e of entries) {
      const active = e === ours ? 0x80 : 0x00;
      if (mbr[e + 4] !== 0 && (mbr[e] & 0x80) !== (active & 0x80)) changes.push(`MBR partition ${(e - 446) / 16 + 1} made ${active ? 'active' : 'inactive'}`);
      mbr[e] = active;
    }
    regions.push({ offset: 0, data: mbr });
  }

  const fix = (at: number, what: string): Buffer => {
    const s = volume.readBytes(volume.offset + at * bps, bps);
    putBootSectorCode(s);
    const was = s.readUInt32LE(28);
    if (was !== hidden) {
      s.writeUInt32LE(hidden, 28);
      changes.push(`${what}: hidden sectors ${was} set to ${hidden}, the partition's first sector`);
    }
    return s;
  };
  regions.push({ offset: volume.offset, data: fix(0, 'boot sector') });
  regions.push({ offset: volume.offset + BOOT_CODE_SECTOR * bps, data: bootCodeSectors(bps) });
  const backup = volume.backupBootSector;
  if (backup !== 0 && backup < volume.reservedSectors) {
    regions.push({ offset: volume.offset + backup * bps, data: fix(backup, 'backup boot sector') });
    if (free(backup + BOOT_CODE_SECTOR)) regions.push({ offset: volume.offset + (backup + BOOT_CODE_SECTOR) * bps, data: bootCodeSectors(bps) });
  }
  return { regions: regions.sort((a, b) => a.offset - b.offset), changes };
}

/** A plan for the volume (files added with --no-format) with the boot code's regions added to it. */
export function withBiosBoot<T extends ImageLayout>(plan: T, volume: Fat32Volume): { layout: T; changes: string[] } {
  const boot = planBiosBootInstall(volume);
  const layout = { ...plan, regions: [...plan.regions, ...boot.regions].sort((a, b) => a.offset - b.offset) };
  checkLayout(layout);
  return { layout, changes: boot.changes };
}
