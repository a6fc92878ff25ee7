// Plans a bootable USB drive (or an image of one): an MBR with one FAT32 partition filling the drive from 1 MiB, as an
// ImageLayout whose metadata is generated here and whose file data ImageWriter streams from the sources. Pure and
// fast: no file is read, and no buffer grows with the drive — only with what is written.
//
// Byte map (in the drive's logical sectors, 512 or 4096 bytes — image files get 512; P = partition start = 1 MiB,
// sector 2048 of 512 bytes or 256 of 4096):
//   sector 0        MBR: the project's BIOS boot code in bytes 0–439 (FatBiosBoot), disk signature at
//                   440, partition 1 at 446 (active 0x80, type 0x0C FAT32 LBA, LBA of P, to the end of the drive or
//                   the MBR's 2^32-sector limit), 0x55AA at 510
//   1 … P − 1       zeros
//   P + 0           FAT32 boot sector (BPB, and boot code around it that loads BOOTMGR by BIOS), 0x55AA
//   P + 1           FSInfo (free cluster count and next-free hint, exact)
//   P + 2 …         part two of the boot code (1 KiB: two sectors of 512 bytes, one of 4096)
//   P + 6, P + 7, P + 8 …  backup boot sector, backup FSInfo, backup of part two
//   P + reserved    FAT 1, then FAT 2 (only the used prefix is generated; the rest of the FAT area is a gap the
//                   writer zeroes on a drive and leaves as a hole in a new image file)
//   data start      cluster 2 = the root directory, then every other directory (breadth first), then each file in
//                   the order given, each contiguous. "reserved" (≥ 32) is grown so the data start is a multiple of
//                   1 MiB from the start of the drive.
// The layout ends with the last used cluster: the rest of the drive is never touched (free clusters may hold anything).
// Its bootEnd (the end of the reserved sectors) tells a drive writer to write the MBR and boot region last.
//
// Names: every name is stored as an 8.3 short entry; a name that is not already a valid upper-case 8.3 name also gets
// VFAT long-name entries (UCS-2) in front of it. Short names are made as Windows makes them (fatgen103 "basis name"):
// upper case, spaces and embedded periods dropped, characters 8.3 forbids become "_", 8 + 3 characters; a "~n" tail
// (the lowest n free in the folder) whenever characters were lost, the name was cut, or the name is already taken.
// Times are the UTC fields of `timestamp` (or a file's `mtime`), clamped to 1980–2107.
//
// Its parts: FatGeometry (numbers and geometry), FatBootSectors (MBR, boot sector, FSInfo), FatNames (long and short
// names), FatDirectory (directory entries); this module builds the tree and plans the volume.
import { createHash } from 'node:crypto';
import { InputError } from '../../errors.js';
import { sourceSize, type ContentSource, type ImageExtent, type ImageLayout, type ImageRegion } from '../../io/ImageLayout.js';
import { windowsUpper } from '../windowsNames.js';
import { alignUp, ATTR_ARCHIVE, ATTR_DIRECTORY, ATTR_VOLUME_ID, BACKUP_BOOT_SECTOR, FAT32_MAX_FILE, fat32Geometry, FAT_EOC, FAT_MAX_DIR_ENTRIES, FILE_ATTRIBUTES, MEDIA, PARTITION_OFFSET, type Fat32Geometry } from './FatGeometry.js';
import { bootSector, fsInfoSector, mbr } from './FatBootSectors.js';
import { bootCodeSectors } from './FatBiosBoot.js';
import { assignShortNames, fatLabel, lfnSlots, splitFatPath } from './FatNames.js';
import { writeNamedEntry, writeShortEntry, type ShortEntry } from './FatDirectory.js';

export * from './FatGeometry.js';
export * from './FatBootSectors.js';
export * from './FatNames.js';
export * from './FatDirectory.js';


export interface FatFile {
  /** "/" separated, original case, no leading slash, e.g. "SMS/PKG/SMP00002/install.wim". */
  path: string;
  source: ContentSource;
  /** Bytes of the source stored; default the whole source. */
  size?: number;
  /** Write (and creation/access) time; default `timestamp`. */
  mtime?: Date;
  /** DOS attributes: read-only 0x01, hidden 0x02, system 0x04, archive 0x20; default 0x20. */
  attributes?: number;
}

export interface Fat32Options {
  /** Bytes of the whole drive (or image); the partition fills it from 1 MiB. */
  diskBytes: number;
  /** FAT volume label: the media label's first 11 characters, upper-cased, characters FAT forbids replaced by "_". */
  label: string;
  files: FatFile[];
  /** Extra (empty) folders, "/" separated. */
  directories?: string[];
  /** Every time in the volume (deterministic output for identical input). */
  timestamp: Date;
  /** Volume serial number; default derived from timestamp + label (deterministic). */
  volumeId?: number;
  /** The drive's logical sector size, 512 (default) or 4096: the MBR's LBAs and the BPB's counts are in these. */
  sectorSize?: number;
}

export interface Fat32Plan extends ImageLayout {
  /** Bytes of a logical sector (512 or 4096). */
  sectorSize: number;
  clusterSize: number;
  /** Clusters in the volume (data area). */
  clusters: number;
  /** Byte offset of the partition (1 MiB). */
  partitionOffset: number;
  partitionBytes: number;
  /** Byte offset in the image of cluster 2 (the data area), a multiple of 1 MiB. */
  dataStart: number;
  /** Bytes of the clusters left free. */
  freeBytes: number;
  /** Clusters used by directories and files. */
  usedClusters: number;
  /** Reserved sectors (boot sector, FSInfo, backups) in logical sectors. */
  reservedSectors: number;
  /** Logical sectors of each of the two FATs. */
  fatSectors: number;
  /** The label as stored (11 characters or fewer, "" for none). */
  label: string;
  volumeId: number;
  diskSignature: number;
}

// ---------------------------------------------------------------------------------------------------------------------
// The tree

export interface FileNode {
  kind: 'file';
  name: string;
  path: string;
  source: ContentSource;
  size: number;
  mtime: Date;
  attributes: number;
  short: string;
  lfn: boolean;
  cluster: number;
  clusterCount: number;
}

export interface DirNode {
  kind: 'dir';
  name: string;
  path: string;
  parent: DirNode | null;
  children: (FileNode | DirNode)[];
  short: string;
  lfn: boolean;
  cluster: number;
  clusterCount: number;
  slots: number;
}

type Child = FileNode | DirNode;

function checkDate(d: unknown, what: string): Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new InputError(`${what}: not a valid date.`);
  return d;
}

/** Checks a file's size and attributes; returns them. */
export function fatFileFacts(f: FatFile, path: string, timestamp: Date): { size: number; mtime: Date; attributes: number } {
  const total = sourceSize(f.source);
  const size = f.size ?? total;
  if (!Number.isSafeInteger(size) || size < 0 || size > total) throw new InputError(`file "${path}": size ${size} is not within its source of ${total} bytes (${f.source.label}).`);
  if (size > FAT32_MAX_FILE) {
    throw new InputError(`file "${path}" is ${size} bytes: FAT32 holds files up to 4 GiB − 1 byte (${FAT32_MAX_FILE}). Split it first (a WIM into .swm parts).`);
  }
  const attributes = f.attributes ?? ATTR_ARCHIVE;
  if (!Number.isInteger(attributes) || (attributes & ~FILE_ATTRIBUTES) !== 0) {
    throw new InputError(`file "${path}": attributes 0x${attributes.toString(16)}; only read-only 0x01, hidden 0x02, system 0x04 and archive 0x20 may be set.`);
  }
  return { size, mtime: f.mtime === undefined ? timestamp : checkDate(f.mtime, `file "${path}": mtime`), attributes };
}

function buildTree(options: { files: FatFile[]; directories?: string[] }, timestamp: Date): { root: DirNode; dirs: DirNode[]; files: FileNode[] } {
  const newDir = (name: string, path: string, parent: DirNode | null): DirNode => ({ kind: 'dir', name, path, parent, children: [], short: '', lfn: false, cluster: 0, clusterCount: 0, slots: 0 });
  const root = newDir('', '', null);
  const byKey = new Map<string, Child>();
  const ensureDir = (parts: string[], forPath: string): DirNode => {
    let cur = root;
    let key = '';
    for (const part of parts) {
      key = key === '' ? windowsUpper(part) : `${key}/${windowsUpper(part)}`;
      const found = byKey.get(key);
      if (found && found.kind === 'file') throw new InputError(`"${found.path}" is a file and also a folder (of "${forPath}"); a path cannot be both.`);
      if (found) {
        cur = found as DirNode;
        continue;
      }
      const d = newDir(part, cur.path === '' ? part : `${cur.path}/${part}`, cur);
      cur.children.push(d);
      byKey.set(key, d);
      cur = d;
    }
    return cur;
  };
  for (const d of options.directories ?? []) ensureDir(splitFatPath(d, 'folder'), d);
  const files: FileNode[] = [];
  for (const f of options.files) {
    const parts = splitFatPath(f.path, 'file');
    const path = parts.join('/');
    const facts = fatFileFacts(f, path, timestamp);
    const parent = ensureDir(parts.slice(0, -1), path);
    const key = windowsUpper(path);
    const dup = byKey.get(key);
    if (dup) {
      if (dup.kind === 'dir') throw new InputError(`"${path}" is a file and also a folder ("${dup.path}"); a path cannot be both.`);
      throw new InputError(dup.path === path ? `file "${path}" is given twice.` : `files "${dup.path}" and "${path}" differ only in case; Windows sees them as the same file. Rename one.`);
    }
    const node: FileNode = { kind: 'file', name: parts[parts.length - 1], path, source: f.source, ...facts, short: '', lfn: false, cluster: 0, clusterCount: 0 };
    byKey.set(key, node);
    parent.children.push(node);
    files.push(node);
  }
  const dirs: DirNode[] = [root];
  for (let i = 0; i < dirs.length; i++) for (const c of dirs[i].children) if (c.kind === 'dir') dirs.push(c);
  return { root, dirs, files };
}

// ---------------------------------------------------------------------------------------------------------------------
// Planning

interface Allocation {
  geometry: Fat32Geometry;
  label: string;
  timestamp: Date;
  root: DirNode;
  dirs: DirNode[];
  files: FileNode[];
  /** First cluster after everything allocated (clusters 2 … next − 1 are used). */
  next: number;
}

/** The tree with its names: short names, long-name slots, each folder's entries and clusters, each file's clusters. */
export interface FatTree {
  root: DirNode;
  /** Breadth first, the root first. */
  dirs: DirNode[];
  files: FileNode[];
}

/** Builds and names the tree for clusters of `clusterSize` (no cluster is assigned yet). */
export function namedTree(options: { files: FatFile[]; directories?: string[] }, label: string, timestamp: Date, clusterSize: number): FatTree {
  const { root, dirs, files } = buildTree(options, timestamp);
  for (const d of dirs) {
    const names = assignShortNames(d.children.map((c) => c.name));
    d.children.forEach((c, i) => {
      c.short = names[i].short;
      c.lfn = names[i].lfn;
    });
    d.slots = (d.parent ? 2 : label ? 1 : 0) + d.children.reduce((n, c) => n + 1 + (c.lfn ? lfnSlots(c.name) : 0), 0);
    if (d.slots > FAT_MAX_DIR_ENTRIES) {
      throw new InputError(`folder "${d.path || '/'}" would need ${d.slots} directory entries; FAT allows ${FAT_MAX_DIR_ENTRIES} (long names take several). Spread its files over more folders.`);
    }
    d.clusterCount = Math.max(1, Math.ceil((d.slots * 32) / clusterSize));
  }
  for (const f of files) f.clusterCount = Math.ceil(f.size / clusterSize);
  return { root, dirs, files };
}

function allocate(options: { diskBytes: number; label: string; files: FatFile[]; directories?: string[]; sectorSize?: number }, timestamp: Date): Allocation {
  const geometry = fat32Geometry(options.diskBytes, options.sectorSize);
  const label = fatLabel(options.label ?? '');
  const { root, dirs, files } = namedTree(options, label, timestamp, geometry.clusterSize);
  let next = 2;
  for (const d of dirs) {
    d.cluster = next;
    next += d.clusterCount;
  }
  for (const f of files) {
    f.cluster = f.clusterCount > 0 ? next : 0;
    next += f.clusterCount;
  }
  return { geometry, label, timestamp, root, dirs, files, next };
}

export interface Fat32Fit {
  fits: boolean;
  clusterSize: number;
  clusters: number;
  usedClusters: number;
  /** Bytes the directories and files take (whole clusters). */
  requiredBytes: number;
  /**
   * Bytes from the start of the drive to the end of the last used cluster: what planFat32 writes, and so the least a
   * drive must have (with this drive's cluster size).
   */
  neededBytes: number;
  /** Bytes of the volume's data area. */
  capacityBytes: number;
  /** Bytes left free afterwards (0 when it does not fit). */
  freeBytes: number;
  /** Bytes missing (0 when it fits). */
  shortBytes: number;
}

/**
 * Whether the files fit a drive of `diskBytes`, before anything is written. Throws InputError for what no drive size
 * would fix (bad names, a file of 4 GiB or more, a drive too small for FAT32).
 */
export function estimateFat32Fits(options: Omit<Fat32Options, 'timestamp' | 'volumeId'> & { timestamp?: Date }): Fat32Fit {
  const a = allocate(options, options.timestamp ?? new Date(Date.UTC(2000, 0, 1)));
  const g = a.geometry;
  const used = a.next - 2;
  const fits = used <= g.clusters;
  return {
    fits,
    clusterSize: g.clusterSize,
    clusters: g.clusters,
    usedClusters: used,
    requiredBytes: used * g.clusterSize,
    neededBytes: PARTITION_OFFSET + g.dataStartSector * g.sectorSize + used * g.clusterSize,
    capacityBytes: g.clusters * g.clusterSize,
    freeBytes: fits ? (g.clusters - used) * g.clusterSize : 0,
    shortBytes: fits ? 0 : (used - g.clusters) * g.clusterSize,
  };
}

/** A folder's entries (".", "..", or the root's label first), in its clusters' bytes; its clusters are assigned. */
export function directoryBytes(d: DirNode, clusterSize: number, label: string, timestamp: Date): Buffer {
  const b = Buffer.alloc(d.clusterCount * clusterSize);
  const t = timestamp;
  let off = 0;
  if (d.parent) {
    writeShortEntry(b, 0, { short11: '.'.padEnd(11, ' '), attributes: ATTR_DIRECTORY, cluster: d.cluster, size: 0, time: t });
    writeShortEntry(b, 32, { short11: '..'.padEnd(11, ' '), attributes: ATTR_DIRECTORY, cluster: d.parent.parent ? d.parent.cluster : 0, size: 0, time: t });
    off = 64;
  } else if (label) {
    writeShortEntry(b, 0, { short11: label.padEnd(11, ' '), attributes: ATTR_VOLUME_ID, cluster: 0, size: 0, time: t });
    off = 32;
  }
  for (const c of d.children) {
    const e: ShortEntry =
      c.kind === 'dir'
        ? { short11: c.short, attributes: ATTR_DIRECTORY, cluster: c.cluster, size: 0, time: t }
        : { short11: c.short, attributes: c.attributes, cluster: c.cluster, size: c.size, time: c.mtime };
    off += writeNamedEntry(b, off, c.name, c.lfn, e);
  }
  return b;
}

export function planFat32(options: Fat32Options): Fat32Plan {
  const timestamp = checkDate(options.timestamp, 'timestamp');
  const a = allocate(options, timestamp);
  const g = a.geometry;
  const cs = g.clusterSize;
  const used = a.next - 2;
  if (used > g.clusters) {
    throw new InputError(
      `the files do not fit: they need ${used * cs} bytes (${used} clusters of ${cs} bytes) and a drive of ${g.diskBytes} bytes holds ${g.clusters * cs}; ${(used - g.clusters) * cs} bytes are missing. Use a larger drive.`,
    );
  }
  const hash = createHash('sha256').update(`tsmedia-fat32\0${a.label}\0${timestamp.toISOString()}\0${options.volumeId ?? ''}`).digest();
  const volumeId = options.volumeId === undefined ? hash.readUInt32LE(0) : options.volumeId >>> 0;
  const diskSignature = hash.readUInt32LE(4) || 1; // 0 would make Windows write one on first sight

  const ss = g.sectorSize;
  const part = PARTITION_OFFSET;
  const fatOffset = part + g.reservedSectors * ss;
  const dataStart = part + g.dataStartSector * ss;
  const clusterOffset = (c: number): number => dataStart + (c - 2) * cs;

  // The FAT's used prefix: entries 0 … next − 1, whole sectors.
  const fat = Buffer.alloc(alignUp(a.next * 4, ss));
  fat.writeUInt32LE(0x0fffff00 | MEDIA, 0);
  fat.writeUInt32LE(0x0fffffff, 4); // clean shutdown, no disk errors
  const chain = (start: number, count: number): void => {
    for (let c = start; c < start + count - 1; c++) fat.writeUInt32LE(c + 1, c * 4);
    fat.writeUInt32LE(FAT_EOC, (start + count - 1) * 4);
  };
  for (const d of a.dirs) chain(d.cluster, d.clusterCount);
  for (const f of a.files) if (f.clusterCount > 0) chain(f.cluster, f.clusterCount);

  const boot = bootSector(g, volumeId, a.label);
  const info = fsInfoSector(g.clusters - used, a.next <= g.clusters + 1 ? a.next : 0xffffffff, ss);
  const bootRegion = Buffer.concat([boot, info, bootCodeSectors(ss)]);
  const regions: ImageRegion[] = [
    { offset: 0, data: mbr(g, diskSignature) },
    { offset: part, data: bootRegion },
    { offset: part + BACKUP_BOOT_SECTOR * ss, data: bootRegion },
    { offset: fatOffset, data: fat },
    { offset: fatOffset + g.fatSectors * ss, data: fat },
  ];
  for (const d of a.dirs) regions.push({ offset: clusterOffset(d.cluster), data: directoryBytes(d, cs, a.label, a.timestamp) });
  const extents: ImageExtent[] = [];
  for (const f of a.files) {
    if (f.size > 0) extents.push({ offset: clusterOffset(f.cluster), size: f.size, sourceOffset: 0, source: f.source, path: f.path });
  }
  return {
    size: clusterOffset(a.next),
    regions,
    extents,
    // The MBR and the reserved sectors (boot sector, FSInfo, their backups) go last on a drive.
    bootEnd: fatOffset,
    sectorSize: ss,
    clusterSize: cs,
    clusters: g.clusters,
    partitionOffset: part,
    partitionBytes: g.partitionSectors * ss,
    dataStart,
    freeBytes: (g.clusters - used) * cs,
    usedClusters: used,
    reservedSectors: g.reservedSectors,
    fatSectors: g.fatSectors,
    label: a.label,
    volumeId,
    diskSignature,
  };
}
