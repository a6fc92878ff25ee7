// Plans a bootable USB drive (or an image of one): an MBR with one FAT32 partition filling the drive from 1 MiB, as an
// ImageLayout whose metadata is generated here and whose file data ImageWriter streams from the sources. Pure and
// fast: no file is read, and no buffer grows with the drive — only with what is written.
//
// Byte map (512-byte sectors; P = partition start = sector 2048 = 1 MiB):
//   sector 0        MBR: no boot code (BIOS boot from USB is not done — bytes 0–439 stay zero), disk signature at
//                   440, partition 1 at 446 (active 0x80, type 0x0C FAT32 LBA, LBA 2048, to the end of the drive or
//                   the MBR's 2^32-sector limit), 0x55AA at 510
//   1 … 2047        zeros
//   P + 0           FAT32 boot sector (BPB; no boot code), 0x55AA
//   P + 1           FSInfo (free cluster count and next-free hint, exact)
//   P + 6, P + 7    backup boot sector and backup FSInfo
//   P + reserved    FAT 1, then FAT 2 (only the used prefix is generated; the rest of the FAT area is a gap the
//                   writer zeroes on a drive and leaves as a hole in a new image file)
//   data start      cluster 2 = the root directory, then every other directory (breadth first), then each file in
//                   the order given, each contiguous. "reserved" (≥ 32) is grown so the data start is a multiple of
//                   1 MiB from the start of the drive.
// The layout ends with the last used cluster: the rest of the drive is never touched (free clusters may hold anything).
//
// Names: every name is stored as an 8.3 short entry; a name that is not already a valid upper-case 8.3 name also gets
// VFAT long-name entries (UCS-2) in front of it. Short names are made as Windows makes them (fatgen103 "basis name"):
// upper case, spaces and embedded periods dropped, characters 8.3 forbids become "_", 8 + 3 characters; a "~n" tail
// (the lowest n free in the folder) whenever characters were lost, the name was cut, or the name is already taken.
// Times are the UTC fields of `timestamp` (or a file's `mtime`), clamped to 1980–2107.
import { createHash } from 'node:crypto';
import { InputError } from '../../errors.js';
import { sourceSize, type ContentSource, type ImageExtent, type ImageLayout, type ImageRegion } from '../../io/ImageLayout.js';
import { windowsUpper } from '../iso/IsoImage.js';

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
}

export interface Fat32Plan extends ImageLayout {
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
  reservedSectors: number;
  /** Sectors of each of the two FATs. */
  fatSectors: number;
  /** The label as stored (11 characters or fewer, "" for none). */
  label: string;
  volumeId: number;
  diskSignature: number;
}

export const SECTOR = 512;
/** The partition starts at sector 2048 (1 MiB), as Windows and Rufus place it. */
export const PARTITION_START_SECTOR = 2048;
export const PARTITION_OFFSET = PARTITION_START_SECTOR * SECTOR;
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
const FILE_ATTRIBUTES = ATTR_READ_ONLY | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_ARCHIVE;
const ALIGN_SECTORS = 2048; // 1 MiB
const MIN_RESERVED = 32;
const FSINFO_SECTOR = 1;
const BACKUP_BOOT_SECTOR = 6;
/** The partition must end by LBA 2^32 − 1 (32-bit MBR fields); a larger drive gets a partition of this size. */
const MAX_PARTITION_SECTORS = 0xffffffff - PARTITION_START_SECTOR;
const MEDIA = 0xf8;
const SECTORS_PER_TRACK = 63;
const HEADS = 255;

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
  partitionSectors: number;
  sectorsPerCluster: number;
  clusterSize: number;
  reservedSectors: number;
  fatSectors: number;
  /** Sector of cluster 2, from the start of the partition. */
  dataStartSector: number;
  clusters: number;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The smallest FAT big enough for the clusters left beside it, with the data start on a 1 MiB boundary. */
function volumeLayout(totalSectors: number, spc: number): { fatSectors: number; reservedSectors: number; dataStartSector: number; clusters: number } {
  const clustersFor = (fat: number): { dataStart: number; clusters: number } => {
    const dataStart = alignUp(MIN_RESERVED + 2 * fat, ALIGN_SECTORS);
    return { dataStart, clusters: dataStart < totalSectors ? Math.floor((totalSectors - dataStart) / spc) : 0 };
  };
  const fits = (fat: number): boolean => fat * (SECTOR / 4) >= clustersFor(fat).clusters + 2;
  // Upward from 1 this settles in two or three steps on a FAT that fits; then shrink it while a smaller one still fits
  // (the FAT's own sectors are clusters the table need not describe): at most ~1.6 % of the FAT's sectors.
  let fat = 1;
  for (let i = 0; i < 16 && !fits(fat); i++) fat = Math.ceil((clustersFor(fat).clusters + 2) / (SECTOR / 4));
  while (fat > 1 && fits(fat - 1)) fat--;
  const { dataStart, clusters } = clustersFor(fat);
  return { fatSectors: fat, reservedSectors: dataStart - 2 * fat, dataStartSector: dataStart, clusters };
}

/** Bytes of the smallest drive that holds a FAT32 volume (512-byte clusters, 65,525 of them). */
export function minimumFat32DiskBytes(): number {
  // A FAT for 65,527 entries is 512 sectors; 32 + 2 · 512 rounds up to a 2048-sector data start.
  let sectors = PARTITION_START_SECTOR + FAT32_MIN_CLUSTERS;
  while (volumeLayout(sectors - PARTITION_START_SECTOR, 1).clusters < FAT32_MIN_CLUSTERS) sectors += 1;
  return sectors * SECTOR;
}

/**
 * The volume a drive of `diskBytes` gets. The cluster size is clusterSizeFor(partition bytes); just above the 64, 128
 * and 256 MiB steps that size leaves fewer than 65,525 clusters, and the next smaller size that gives enough is used.
 */
export function fat32Geometry(diskBytes: number): Fat32Geometry {
  if (!Number.isSafeInteger(diskBytes) || diskBytes <= 0) throw new InputError(`drive size ${diskBytes}: not a positive whole number of bytes.`);
  const diskSectors = Math.floor(diskBytes / SECTOR);
  const partitionSectors = Math.min(diskSectors - PARTITION_START_SECTOR, MAX_PARTITION_SECTORS);
  const tooSmall = (): never => {
    const min = minimumFat32DiskBytes();
    throw new InputError(
      `a drive of ${diskBytes} bytes is too small for FAT32: it needs at least ${FAT32_MIN_CLUSTERS} clusters, so the smallest drive is ${min} bytes (${(min / 1e6).toFixed(1)} MB).`,
    );
  };
  if (partitionSectors <= 0) tooSmall();
  let spc = clusterSizeFor(partitionSectors * SECTOR) / SECTOR;
  let v = volumeLayout(partitionSectors, spc);
  while (v.clusters < FAT32_MIN_CLUSTERS && spc > 1) {
    spc /= 2;
    v = volumeLayout(partitionSectors, spc);
  }
  if (v.clusters < FAT32_MIN_CLUSTERS) tooSmall();
  if (v.clusters > FAT32_MAX_CLUSTERS) {
    throw new InputError(`a drive of ${diskBytes} bytes would need ${v.clusters} clusters of ${spc * SECTOR} bytes; FAT32 allows at most ${FAT32_MAX_CLUSTERS}.`);
  }
  return { diskBytes, partitionSectors, sectorsPerCluster: spc, clusterSize: spc * SECTOR, ...v };
}

// ---------------------------------------------------------------------------------------------------------------------
// Names

// eslint-disable-next-line no-control-regex
const LONG_FORBIDDEN = /[\x00-\x1f"*/:<>?\\|]/;
const DEVICE_NAME = /^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$/i;
const SHORT_CHAR = /^[A-Z0-9!#$%&'()\-@^_`{}~]$/;
const EXACT_83 = /^[A-Z0-9!#$%&'()\-@^_`{}~]{1,8}(\.[A-Z0-9!#$%&'()\-@^_`{}~]{1,3})?$/;
/** Most UTF-16 code units in a long name. */
export const FAT_MAX_NAME = 255;

/** The FAT volume label for a media label: first 11 characters, upper case, anything FAT forbids → "_" ("" for none). */
export function fatLabel(label: string): string {
  let out = '';
  for (const ch of Array.from(label).slice(0, 11)) {
    const u = windowsUpper(ch);
    out += u === ' ' || SHORT_CHAR.test(u) ? u : '_';
  }
  return out.replace(/ +$/, '');
}

/** Throws unless `name` is a long name Windows can create (the path is for the message). */
export function checkFatName(name: string, path: string): void {
  if (name.length > FAT_MAX_NAME) throw new InputError(`"${path}": the name "${name}" is longer than ${FAT_MAX_NAME} characters, the most FAT allows.`);
  const bad = LONG_FORBIDDEN.exec(name);
  if (bad) throw new InputError(`"${path}": the name "${name}" contains ${/[\x20-\x7e]/.test(bad[0]) ? `"${bad[0]}"` : 'a control character'}, which FAT does not allow.`);
  if (/[. ]$/.test(name)) throw new InputError(`"${path}": the name "${name}" ends with a period or a space; Windows would drop it. Rename it.`);
  if (DEVICE_NAME.test(name)) throw new InputError(`"${path}": "${name}" is a device name Windows reserves (CON, PRN, AUX, NUL, COM1–9, LPT1–9).`);
}

/** "/"-separated path → components (leading/trailing "/" ignored); throws on empty, "." or ".." components and bad names. */
export function splitFatPath(p: string, what: string): string[] {
  if (typeof p !== 'string' || p === '') throw new InputError(`${what}: an empty path.`);
  const trimmed = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') throw new InputError(`${what} "${p}": not a path below the root of the volume.`);
  const parts = trimmed.split('/');
  for (const c of parts) {
    if (c === '' || c === '.' || c === '..') throw new InputError(`${what} "${p}": an empty, "." or ".." path component.`);
    checkFatName(c, p);
  }
  return parts;
}

/** The 11-character short name when `name` already is a valid upper-case 8.3 name (stored without long-name entries). */
export function exactShortName(name: string): string | null {
  if (!EXACT_83.test(name)) return null;
  const dot = name.indexOf('.');
  return dot < 0 ? name.padEnd(11, ' ') : name.slice(0, dot).padEnd(8, ' ') + name.slice(dot + 1).padEnd(3, ' ');
}

/** "BOOTX64 EFI" → "BOOTX64.EFI". */
export function displayShortName(short11: string): string {
  const base = short11.slice(0, 8).replace(/ +$/, '');
  const ext = short11.slice(8, 11).replace(/ +$/, '');
  return ext ? `${base}.${ext}` : base;
}

/** Short names of one folder: those taken, and new ones made as Windows makes them. */
export class ShortNameTable {
  private readonly used = new Set<string>();
  /** Next tail number to try per basis name, so 10,000 similar names cost 10,000 steps, not 50 million. */
  private readonly nextTail = new Map<string, number>();

  has(short11: string): boolean {
    return this.used.has(short11);
  }

  reserve(short11: string): void {
    this.used.add(short11);
  }

  /** A unique short name for a long name that is not itself an exact 8.3 name. */
  generate(name: string): string {
    let lossy = false;
    const upper = windowsUpper(name);
    const noSpaces = upper.replace(/ /g, '');
    const stripped = noSpaces.replace(/^\.+/, '');
    const dot = stripped.lastIndexOf('.');
    const rawBase = dot < 0 ? stripped : stripped.slice(0, dot);
    const rawExt = dot < 0 ? '' : stripped.slice(dot + 1);
    const map = (s: string): string => {
      let out = '';
      for (const ch of s) {
        if (ch === '.') continue;
        if (SHORT_CHAR.test(ch)) out += ch;
        else {
          out += '_';
          lossy = true;
        }
      }
      return out;
    };
    const base = map(rawBase) || '_';
    const ext = map(rawExt).slice(0, 3);
    const fits = !lossy && noSpaces === upper && stripped === noSpaces && !rawBase.includes('.') && rawBase.length <= 8 && rawExt.length <= 3;
    const ext3 = ext.padEnd(3, ' ');
    if (fits) {
      const plain = base.padEnd(8, ' ') + ext3;
      if (!this.used.has(plain)) {
        this.used.add(plain);
        return plain;
      }
    }
    const key = `${base.slice(0, 8)}.${ext}`;
    for (let n = this.nextTail.get(key) ?? 1; n <= 999_999; n++) {
      const tail = `~${n}`;
      const cand = (base.slice(0, 8 - tail.length) + tail).padEnd(8, ' ') + ext3;
      if (!this.used.has(cand)) {
        this.used.add(cand);
        this.nextTail.set(key, n + 1);
        return cand;
      }
    }
    throw new InputError(`"${name}": no free short name is left for it in its folder.`);
  }
}

/**
 * Short names for the names of one folder, in order: exact 8.3 names keep themselves (they are reserved first), the
 * rest are generated. `lfn` says whether the name needs long-name entries.
 */
export function assignShortNames(names: string[], table = new ShortNameTable()): { short: string; lfn: boolean }[] {
  const exact = names.map(exactShortName);
  for (const e of exact) if (e !== null) table.reserve(e);
  return names.map((n, i) => {
    const e = exact[i];
    return e !== null ? { short: e, lfn: false } : { short: table.generate(n), lfn: true };
  });
}

/** Long-name entries a name takes (13 UTF-16 code units each). */
export const lfnSlots = (name: string): number => Math.ceil(name.length / 13);

/** fatgen103's checksum of an 11-byte short name, stored in each of its long-name entries. */
export function lfnChecksum(short11: Buffer | string): number {
  const b = typeof short11 === 'string' ? Buffer.from(short11, 'latin1') : short11;
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((sum & 1 ? 0x80 : 0) + (sum >> 1) + b[i]) & 0xff;
  return sum;
}

// ---------------------------------------------------------------------------------------------------------------------
// Directory entries

export interface DosDateTime {
  date: number;
  time: number;
  /** Creation time's 10 ms units (0–199) beyond the 2-second resolution of `time`. */
  centis: number;
}

/** A time in FAT's encoding from the Date's UTC fields, clamped to the years 1980–2107. */
export function dosDateTime(d: Date): DosDateTime {
  const y = d.getUTCFullYear();
  if (y < 1980) return { date: (1 << 5) | 1, time: 0, centis: 0 };
  if (y > 2107) return { date: (127 << 9) | (12 << 5) | 31, time: (23 << 11) | (59 << 5) | 29, centis: 199 };
  const s = d.getUTCSeconds();
  return {
    date: ((y - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (s >> 1),
    centis: (s & 1) * 100 + Math.floor(d.getUTCMilliseconds() / 10),
  };
}

/** Decodes a FAT date and time (as UTC). */
export function fromDosDateTime(date: number, time: number): Date {
  const y = 1980 + (date >> 9);
  const m = Math.max(1, Math.min(12, (date >> 5) & 0x0f));
  const day = Math.max(1, date & 0x1f);
  return new Date(Date.UTC(y, m - 1, day, Math.min(23, time >> 11), Math.min(59, (time >> 5) & 0x3f), Math.min(59, (time & 0x1f) * 2)));
}

export interface ShortEntry {
  short11: string;
  attributes: number;
  cluster: number;
  size: number;
  time: Date;
}

/** Writes one 32-byte short (8.3) entry: name, attributes, creation/access/write times, first cluster, size. */
export function writeShortEntry(buf: Buffer, off: number, e: ShortEntry): void {
  buf.fill(0, off, off + 32);
  buf.write(e.short11, off, 11, 'latin1');
  buf[off + 11] = e.attributes;
  const t = dosDateTime(e.time);
  buf[off + 13] = t.centis;
  buf.writeUInt16LE(t.time, off + 14);
  buf.writeUInt16LE(t.date, off + 16);
  buf.writeUInt16LE(t.date, off + 18);
  buf.writeUInt16LE((e.cluster >>> 16) & 0xffff, off + 20);
  buf.writeUInt16LE(t.time, off + 22);
  buf.writeUInt16LE(t.date, off + 24);
  buf.writeUInt16LE(e.cluster & 0xffff, off + 26);
  buf.writeUInt32LE(e.size, off + 28);
}

const LFN_CHAR_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

/** Writes the long-name entries of `name` (last part first, as stored) at `off`; returns the bytes written. */
export function writeLfnEntries(buf: Buffer, off: number, name: string, checksum: number): number {
  const n = lfnSlots(name);
  for (let k = 0; k < n; k++) {
    const seq = n - k; // physical order: highest sequence first
    const p = off + k * 32;
    buf.fill(0, p, p + 32);
    buf[p] = seq | (seq === n ? 0x40 : 0);
    buf[p + 11] = ATTR_LFN;
    buf[p + 13] = checksum;
    for (let j = 0; j < 13; j++) {
      const i = (seq - 1) * 13 + j;
      const unit = i < name.length ? name.charCodeAt(i) : i === name.length ? 0x0000 : 0xffff;
      buf.writeUInt16LE(unit, p + LFN_CHAR_OFFSETS[j]);
    }
  }
  return n * 32;
}

/** Writes a name's long-name entries (when it needs them) and its short entry; returns the bytes written. */
export function writeNamedEntry(buf: Buffer, off: number, name: string, lfn: boolean, e: ShortEntry): number {
  let p = off;
  if (lfn) p += writeLfnEntries(buf, p, name, lfnChecksum(e.short11));
  writeShortEntry(buf, p, e);
  return p + 32 - off;
}

// ---------------------------------------------------------------------------------------------------------------------
// The tree

interface FileNode {
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

interface DirNode {
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

function allocate(options: { diskBytes: number; label: string; files: FatFile[]; directories?: string[] }, timestamp: Date): Allocation {
  const geometry = fat32Geometry(options.diskBytes);
  const label = fatLabel(options.label ?? '');
  const { root, dirs, files } = buildTree(options, timestamp);
  const cs = geometry.clusterSize;
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
    d.clusterCount = Math.max(1, Math.ceil((d.slots * 32) / cs));
  }
  let next = 2;
  for (const d of dirs) {
    d.cluster = next;
    next += d.clusterCount;
  }
  for (const f of files) {
    f.clusterCount = Math.ceil(f.size / cs);
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
    neededBytes: PARTITION_OFFSET + g.dataStartSector * SECTOR + used * g.clusterSize,
    capacityBytes: g.clusters * g.clusterSize,
    freeBytes: fits ? (g.clusters - used) * g.clusterSize : 0,
    shortBytes: fits ? 0 : (used - g.clusters) * g.clusterSize,
  };
}

/** CHS of an LBA for the MBR with 255 heads and 63 sectors a track; past cylinder 1023 the "use LBA" marker FE FF FF. */
function chs(lba: number): [number, number, number] {
  const c = Math.floor(lba / (HEADS * SECTORS_PER_TRACK));
  if (c > 1023) return [0xfe, 0xff, 0xff];
  const h = Math.floor(lba / SECTORS_PER_TRACK) % HEADS;
  const s = (lba % SECTORS_PER_TRACK) + 1;
  return [h, s | ((c >> 8) << 6), c & 0xff];
}

function mbr(partitionSectors: number, diskSignature: number): Buffer {
  // Bytes 0–439 (boot code) stay zero: this drive boots by UEFI only (BIOS boot from USB is not done), and the
  // public MBR boot programs are GPL.
  const b = Buffer.alloc(SECTOR);
  b.writeUInt32LE(diskSignature, 440);
  const p = 446;
  b[p] = 0x80; // active
  b.set(chs(PARTITION_START_SECTOR), p + 1);
  b[p + 4] = 0x0c; // FAT32 with LBA
  b.set(chs(PARTITION_START_SECTOR + partitionSectors - 1), p + 5);
  b.writeUInt32LE(PARTITION_START_SECTOR, p + 8);
  b.writeUInt32LE(partitionSectors, p + 12);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

function bootSector(g: Fat32Geometry, volumeId: number, label: string): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.set([0xeb, 0x58, 0x90], 0); // jump over the BPB (there is no boot code behind it: the volume boots by UEFI)
  b.write('MSWIN4.1', 3, 'latin1'); // the OEM name fatgen103 recommends
  b.writeUInt16LE(SECTOR, 11);
  b[13] = g.sectorsPerCluster;
  b.writeUInt16LE(g.reservedSectors, 14);
  b[16] = 2; // FATs
  b.writeUInt16LE(0, 17); // root entries: 0 on FAT32
  b.writeUInt16LE(0, 19); // 16-bit sector count: 0, the 32-bit one is used
  b[21] = MEDIA;
  b.writeUInt16LE(0, 22); // 16-bit FAT size: 0 on FAT32
  b.writeUInt16LE(SECTORS_PER_TRACK, 24);
  b.writeUInt16LE(HEADS, 26);
  b.writeUInt32LE(PARTITION_START_SECTOR, 28); // hidden sectors: the partition's LBA
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
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

export function fsInfoSector(freeClusters: number, nextFree: number): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.writeUInt32LE(0x41615252, 0);
  b.writeUInt32LE(0x61417272, 484);
  b.writeUInt32LE(freeClusters >>> 0, 488);
  b.writeUInt32LE(nextFree >>> 0, 492);
  b.writeUInt32LE(0xaa550000, 508);
  return b;
}

function dirBuffer(d: DirNode, a: Allocation): Buffer {
  const cs = a.geometry.clusterSize;
  const b = Buffer.alloc(d.clusterCount * cs);
  const t = a.timestamp;
  let off = 0;
  if (d.parent) {
    writeShortEntry(b, 0, { short11: '.'.padEnd(11, ' '), attributes: ATTR_DIRECTORY, cluster: d.cluster, size: 0, time: t });
    writeShortEntry(b, 32, { short11: '..'.padEnd(11, ' '), attributes: ATTR_DIRECTORY, cluster: d.parent.parent ? d.parent.cluster : 0, size: 0, time: t });
    off = 64;
  } else if (a.label) {
    writeShortEntry(b, 0, { short11: a.label.padEnd(11, ' '), attributes: ATTR_VOLUME_ID, cluster: 0, size: 0, time: t });
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

  const part = PARTITION_OFFSET;
  const fatOffset = part + g.reservedSectors * SECTOR;
  const dataStart = part + g.dataStartSector * SECTOR;
  const clusterOffset = (c: number): number => dataStart + (c - 2) * cs;

  // The FAT's used prefix: entries 0 … next − 1, whole sectors.
  const fat = Buffer.alloc(alignUp(a.next * 4, SECTOR));
  fat.writeUInt32LE(0x0fffff00 | MEDIA, 0);
  fat.writeUInt32LE(0x0fffffff, 4); // clean shutdown, no disk errors
  const chain = (start: number, count: number): void => {
    for (let c = start; c < start + count - 1; c++) fat.writeUInt32LE(c + 1, c * 4);
    fat.writeUInt32LE(FAT_EOC, (start + count - 1) * 4);
  };
  for (const d of a.dirs) chain(d.cluster, d.clusterCount);
  for (const f of a.files) if (f.clusterCount > 0) chain(f.cluster, f.clusterCount);

  const boot = bootSector(g, volumeId, a.label);
  const info = fsInfoSector(g.clusters - used, a.next <= g.clusters + 1 ? a.next : 0xffffffff);
  const regions: ImageRegion[] = [
    { offset: 0, data: mbr(g.partitionSectors, diskSignature) },
    { offset: part, data: Buffer.concat([boot, info]) },
    { offset: part + BACKUP_BOOT_SECTOR * SECTOR, data: Buffer.concat([boot, info]) },
    { offset: fatOffset, data: fat },
    { offset: fatOffset + g.fatSectors * SECTOR, data: fat },
  ];
  for (const d of a.dirs) regions.push({ offset: clusterOffset(d.cluster), data: dirBuffer(d, a) });
  const extents: ImageExtent[] = [];
  for (const f of a.files) {
    if (f.size > 0) extents.push({ offset: clusterOffset(f.cluster), size: f.size, sourceOffset: 0, source: f.source, path: f.path });
  }
  return {
    size: clusterOffset(a.next),
    regions,
    extents,
    clusterSize: cs,
    clusters: g.clusters,
    partitionOffset: part,
    partitionBytes: g.partitionSectors * SECTOR,
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
