// The FAT32 volume's numbers: sector and partition placement, limits, attributes, and the geometry (cluster size,
// reserved sectors, FAT size, data start) for a drive of a given size and logical sector size (512 or 4096 bytes: the
// MBR's LBAs and every count in the BPB are in the drive's own sectors), as Windows and Rufus choose them.
import { InputError } from '../../errors.js';
import { SECTOR_SIZES } from '../../io/SectorIo.js';

/** The usual logical sector size, and the one image files get unless asked otherwise. */
export const SECTOR = 512;
/** The partition starts at 1 MiB (sector 2048 of 512 bytes, 256 of 4096), as Windows and Rufus place it. */
export const PARTITION_OFFSET = 1024 * 1024;
/** Fewest clusters a FAT32 volume may have (fewer make it FAT16 by definition). */
export const FAT32_MIN_CLUSTERS = 65525;
/** Most clusters: cluster numbers run from 2 to 0x0FFFFFF6. */
export const FAT32_MAX_CLUSTERS = 0x0ffffff5;
/** Largest file FAT32 can hold: 4 GiB − 1 byte. */
export const FAT32_MAX_FILE = 0xffffffff;
/** Most 32-byte entries in one directory (fatgen103: 65,536). */
export const FAT_MAX_DIR_ENTRIES = 65536;
export const FAT_EOC = 0x0fffffff;
export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
export const ATTR_LFN = 0x0f;
export const FILE_ATTRIBUTES = ATTR_READ_ONLY | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_ARCHIVE;
const MIN_RESERVED = 32;
export const FSINFO_SECTOR = 1;
export const BACKUP_BOOT_SECTOR = 6;
export const MEDIA = 0xf8;
export const SECTORS_PER_TRACK = 63;
export const HEADS = 255;

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;

// ---------------------------------------------------------------------------------------------------------------------
// Geometry

/** Cluster size by volume size, as Rufus (and Windows' own table) chooses it. Binary units: 64 MB = 64 MiB. */
export function clusterSizeFor(volumeBytes: number): number {
  if (volumeBytes < 64 * MiB) return 512;
  if (volumeBytes < 128 * MiB) return 1 * KiB;
  if (volumeBytes < 256 * MiB) return 2 * KiB;
  if (volumeBytes < 8 * GiB) return 4 * KiB;
  if (volumeBytes < 16 * GiB) return 8 * KiB;
  if (volumeBytes < 32 * GiB) return 16 * KiB;
  if (volumeBytes < 2 * TiB) return 32 * KiB;
  return 64 * KiB;
}

export interface Fat32Geometry {
  diskBytes: number;
  /** Bytes of a logical sector: every sector count here, in the BPB and in the MBR is in these. */
  sectorSize: number;
  /** The partition's first sector (1 MiB). */
  partitionStartSector: number;
  partitionSectors: number;
  sectorsPerCluster: number;
  clusterSize: number;
  reservedSectors: number;
  fatSectors: number;
  /** Sector of cluster 2, from the start of the partition. */
  dataStartSector: number;
  clusters: number;
}

export const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The smallest FAT big enough for the clusters left beside it, with the data start on a 1 MiB boundary. */
function volumeLayout(totalSectors: number, spc: number, sectorSize: number): { fatSectors: number; reservedSectors: number; dataStartSector: number; clusters: number } {
  const alignSectors = PARTITION_OFFSET / sectorSize; // 1 MiB
  const perSector = sectorSize / 4; // FAT entries in a sector
  const clustersFor = (fat: number): { dataStart: number; clusters: number } => {
    const dataStart = alignUp(MIN_RESERVED + 2 * fat, alignSectors);
    return { dataStart, clusters: dataStart < totalSectors ? Math.floor((totalSectors - dataStart) / spc) : 0 };
  };
  const fits = (fat: number): boolean => fat * perSector >= clustersFor(fat).clusters + 2;
  // Upward from 1 this settles in two or three steps on a FAT that fits; then shrink it while a smaller one still fits
  // (the FAT's own sectors are clusters the table need not describe): at most ~1.6 % of the FAT's sectors.
  let fat = 1;
  for (let i = 0; i < 16 && !fits(fat); i++) fat = Math.ceil((clustersFor(fat).clusters + 2) / perSector);
  while (fat > 1 && fits(fat - 1)) fat--;
  const { dataStart, clusters } = clustersFor(fat);
  return { fatSectors: fat, reservedSectors: dataStart - 2 * fat, dataStartSector: dataStart, clusters };
}

/** The sector size, checked: a volume is laid out for 512- or 4096-byte sectors only. */
function checkedSectorSize(sectorSize: number): number {
  if (!SECTOR_SIZES.includes(sectorSize)) throw new InputError(`a logical sector size of ${sectorSize} bytes: FAT32 volumes are laid out for 512- or 4096-byte sectors only.`);
  return sectorSize;
}

/** Bytes of the smallest drive that holds a FAT32 volume (clusters of one sector, 65,525 of them). */
export function minimumFat32DiskBytes(sectorSize = SECTOR): number {
  // With 512-byte sectors: a FAT for 65,527 entries is 512 sectors; 32 + 2 · 512 rounds up to a 2048-sector data start.
  const start = PARTITION_OFFSET / checkedSectorSize(sectorSize);
  let sectors = start + FAT32_MIN_CLUSTERS;
  while (volumeLayout(sectors - start, 1, sectorSize).clusters < FAT32_MIN_CLUSTERS) sectors += 1;
  return sectors * sectorSize;
}

/**
 * The volume a drive of `diskBytes` with logical sectors of `sectorSize` bytes gets. The cluster size is
 * clusterSizeFor(partition bytes), at least one sector; just above the 64, 128 and 256 MiB steps that size leaves fewer
 * than 65,525 clusters, and the next smaller size that gives enough (down to one sector) is used.
 */
export function fat32Geometry(diskBytes: number, sectorSize = SECTOR): Fat32Geometry {
  if (!Number.isSafeInteger(diskBytes) || diskBytes <= 0) throw new InputError(`drive size ${diskBytes}: not a positive whole number of bytes.`);
  const ss = checkedSectorSize(sectorSize);
  const start = PARTITION_OFFSET / ss;
  const diskSectors = Math.floor(diskBytes / ss);
  // The partition must end by LBA 2^32 − 1 (32-bit MBR fields); a larger drive gets a partition of that size.
  const partitionSectors = Math.min(diskSectors - start, 0xffffffff - start);
  const tooSmall = (): never => {
    const min = minimumFat32DiskBytes(ss);
    throw new InputError(
      `a drive of ${diskBytes} bytes is too small for FAT32: it needs at least ${FAT32_MIN_CLUSTERS} clusters, so the smallest drive is ${min} bytes (${(min / 1e6).toFixed(1)} MB).`,
    );
  };
  if (partitionSectors <= 0) tooSmall();
  let spc = Math.max(1, clusterSizeFor(partitionSectors * ss) / ss);
  let v = volumeLayout(partitionSectors, spc, ss);
  while (v.clusters < FAT32_MIN_CLUSTERS && spc > 1) {
    spc /= 2;
    v = volumeLayout(partitionSectors, spc, ss);
  }
  if (v.clusters < FAT32_MIN_CLUSTERS) tooSmall();
  if (v.clusters > FAT32_MAX_CLUSTERS) {
    throw new InputError(`a drive of ${diskBytes} bytes would need ${v.clusters} clusters of ${spc * ss} bytes; FAT32 allows at most ${FAT32_MAX_CLUSTERS}.`);
  }
  return { diskBytes, sectorSize: ss, partitionStartSector: start, partitionSectors, sectorsPerCluster: spc, clusterSize: spc * ss, ...v };
}

