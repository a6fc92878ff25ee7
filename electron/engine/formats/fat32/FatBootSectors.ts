// The sectors that start the drive and the volume: the MBR with its one partition, the FAT32 boot sector (BPB) and
// FSInfo. Each is one logical sector long; the structures sit in its first 512 bytes at the same offsets whatever the
// sector size (fatgen103: the 0x55AA signature stays at byte 510), the rest is zeros. The MBR and the boot sector carry
// the project's own BIOS boot code (FatBiosBoot); part two of it goes in reserved sectors 2, … (the planner puts it).
import { putBootSectorCode, putMbrCode } from './FatBiosBoot.js';
import { BACKUP_BOOT_SECTOR, FSINFO_SECTOR, HEADS, MEDIA, SECTOR, SECTORS_PER_TRACK, type Fat32Geometry } from './FatGeometry.js';

/** CHS of an LBA for the MBR with 255 heads and 63 sectors a track; past cylinder 1023 the "use LBA" marker FE FF FF. */
function chs(lba: number): [number, number, number] {
  const c = Math.floor(lba / (HEADS * SECTORS_PER_TRACK));
  if (c > 1023) return [0xfe, 0xff, 0xff];
  const h = Math.floor(lba / SECTORS_PER_TRACK) % HEADS;
  const s = (lba % SECTORS_PER_TRACK) + 1;
  return [h, s | ((c >> 8) << 6), c & 0xff];
}

/** The MBR: LBAs and the sector count in the geometry's logical sectors. */
export function mbr(g: Pick<Fat32Geometry, 'sectorSize' | 'partitionStartSector' | 'partitionSectors'>, diskSignature: number): Buffer {
  const b = Buffer.alloc(g.sectorSize);
  putMbrCode(b); // bytes 0–439: finds the active partition and starts its boot sector
  b.writeUInt32LE(diskSignature, 440);
  const p = 446;
  b[p] = 0x80; // active
  b.set(chs(g.partitionStartSector), p + 1);
  b[p + 4] = 0x0c; // FAT32 with LBA
  b.set(chs(g.partitionStartSector + g.partitionSectors - 1), p + 5);
  b.writeUInt32LE(g.partitionStartSector, p + 8);
  b.writeUInt32LE(g.partitionSectors, p + 12);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

export function bootSector(g: Fat32Geometry, volumeId: number, label: string): Buffer {
  const b = Buffer.alloc(g.sectorSize);
  putBootSectorCode(b); // the jump over the BPB, the code behind it (loads BOOTMGR) and the 0x55AA signature
  b.write('MSWIN4.1', 3, 'latin1'); // the OEM name fatgen103 recommends
  b.writeUInt16LE(g.sectorSize, 11);
  b[13] = g.sectorsPerCluster;
  b.writeUInt16LE(g.reservedSectors, 14);
  b[16] = 2; // FATs
  b.writeUInt16LE(0, 17); // root entries: 0 on FAT32
  b.writeUInt16LE(0, 19); // 16-bit sector count: 0, the 32-bit one is used
  b[21] = MEDIA;
  b.writeUInt16LE(0, 22); // 16-bit FAT size: 0 on FAT32
  b.writeUInt16LE(SECTORS_PER_TRACK, 24);
  b.writeUInt16LE(HEADS, 26);
  b.writeUInt32LE(g.partitionStartSector, 28); // hidden sectors: the partition's LBA
  b.writeUInt32LE(g.partitionSectors, 32);
  b.writeUInt32LE(g.fatSectors, 36);
  b.writeUInt16LE(0, 40); // flags: both FATs mirrored
  b.writeUInt16LE(0, 42); // version 0.0
  b.writeUInt32LE(2, 44); // root directory cluster
  b.writeUInt16LE(FSINFO_SECTOR, 48);
  b.writeUInt16LE(BACKUP_BOOT_SECTOR, 50);
  b[64] = 0x80; // drive number
  b[66] = 0x29; // extended boot signature: serial, label and type follow
  b.writeUInt32LE(volumeId, 67);
  b.write((label || 'NO NAME').padEnd(11, ' '), 71, 11, 'latin1');
  b.write('FAT32   ', 82, 8, 'latin1');
  return b;
}

export function fsInfoSector(freeClusters: number, nextFree: number, sectorSize = SECTOR): Buffer {
  const b = Buffer.alloc(sectorSize);
  b.writeUInt32LE(0x41615252, 0);
  b.writeUInt32LE(0x61417272, 484);
  b.writeUInt32LE(freeClusters >>> 0, 488);
  b.writeUInt32LE(nextFree >>> 0, 492);
  b.writeUInt32LE(0xaa550000, 508);
  return b;
}

