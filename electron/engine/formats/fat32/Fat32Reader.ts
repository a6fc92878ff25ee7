// Reads a FAT32 volume written by anyone (ours, mkfs.fat, Windows) from an image file or a block device, with
// synchronous calls: the boot sector, the file tree (VFAT long names assembled and their checksums checked, else the
// 8.3 name), each file's clusters as byte extents, file data and the free space. Every offset is checked and every
// loop is bounded — chains by the volume's cluster count and a bitmap of clusters already seen, directories by
// FAT's 65,536 entries, nesting by depth — so a hostile volume gives an InputError naming the file, never a hang.
// A drive is read uncached in whole sectors from aligned memory (SectorIo), as raw devices require; the MBR's LBAs are
// in the drive's logical sectors (512 or 4096 bytes).
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { InputError, describeFsError } from '../../errors.js';
import { readExtents, readFully, streamExtents, type Extent } from '../../io/PositionedRead.js';
import { DEFAULT_DEVICE_ALIGN, SECTOR_SIZES, SectorReader, directFlag, isDevicePath, linuxSectorSize } from '../../io/SectorIo.js';
import { ATTR_DIRECTORY, FAT32_MAX_CLUSTERS, FAT32_MIN_CLUSTERS, FAT_MAX_DIR_ENTRIES } from './Fat32Volume.js';
import { parseDirectory, type FatDirEntryInfo } from './FatDirectoryParse.js';

export type { FatDirEntryInfo } from './FatDirectoryParse.js';
import { windowsUpper } from '../windowsNames.js';

const MAX_DEPTH = 256;
const MAX_ENTRIES = 5_000_000;
const CHUNK = 1024 * 1024;
/**
 * FAT entries per cached chunk (1 MiB: the FAT of a 32 GiB volume of 32 KiB clusters in one read) and chunks kept.
 * A walk looks up every cluster of every file: entries are held as 32-bit words, the last chunk used at hand.
 */
const FAT_CHUNK_ENTRIES = 262144;
const FAT_CACHE_CHUNKS = 16;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** FAT bytes as 28-bit-or-more entries (the caller masks them), without a copy where the bytes allow it. */
function fatWords(b: Buffer): Uint32Array {
  const n = b.length >>> 2;
  if (LITTLE_ENDIAN && b.byteOffset % 4 === 0) return new Uint32Array(b.buffer, b.byteOffset, n);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = b.readUInt32LE(i * 4);
  return out;
}
const EOC_MIN = 0x0ffffff8;
const BAD_CLUSTER = 0x0ffffff7;

export interface Fat32OpenOptions {
  /** Byte offset of the volume in the file or device. Default: a volume at byte 0, else partition `partition` of the MBR. */
  offset?: number;
  /** MBR partition (1–4) used when no offset is given and byte 0 is not a volume; default 1. */
  partition?: number;
  /**
   * Bytes of the logical sectors the MBR's LBAs count. Default: what the system reports for a drive; else the size
   * (512, then 4096) whose sector at the partition's LBA holds a boot sector with that many bytes per sector.
   */
  sectorSize?: number;
  /** Bytes read as if written already (absolute offsets): the volume as an interrupted refresh's journal will leave it. */
  overlay?: { offset: number; data: Buffer }[];
}

/** Clusters `cluster` … `cluster + count − 1`. */
export interface FatRun {
  cluster: number;
  count: number;
}

/** Bytes of a file at a byte offset of the image or device (not of the partition). */
export type FatExtent = Extent;

export interface FatFileInfo {
  /** "/" separated, no leading slash; long names where the volume has valid ones, else 8.3 names. */
  path: string;
  size: number;
  attributes: number;
  /** Last write time, read as UTC. */
  mtime: Date;
  /** First cluster (0 for an empty file). */
  cluster: number;
  runs: FatRun[];
  extents: FatExtent[];
}

export interface FatDirectoryInfo {
  path: string;
  /** First cluster. */
  cluster: number;
  /** Every cluster of the directory, in order. */
  chain: number[];
  /** The directory's bytes (all its clusters). */
  data: Buffer;
  /** Live entries ("." and ".." and the volume label excluded). */
  entries: FatDirEntryInfo[];
  /** Slot of the first 0x00 entry (the end), or the slot count when there is none. */
  endSlot: number;
}

interface Listing {
  files: FatFileInfo[];
  directories: { path: string; cluster: number }[];
  byPath: Map<string, FatFileInfo>;
  dirByPath: Map<string, { path: string; cluster: number }>;
  label: string | null;
}

/**
 * A FAT boot sector (of any FAT type) rather than an MBR: a jump, a plausible BPB and a media byte. MBR code does not
 * pass: Windows' and Syslinux' start with other instructions, GRUB's keeps zeros where the BPB would be.
 */
function looksLikeBootSector(s: Buffer): boolean {
  const bps = s.readUInt16LE(11);
  const spc = s[13];
  return (
    s[510] === 0x55 &&
    s[511] === 0xaa &&
    (s[0] === 0xeb || s[0] === 0xe9) &&
    [512, 1024, 2048, 4096].includes(bps) &&
    spc > 0 &&
    (spc & (spc - 1)) === 0 &&
    s.readUInt16LE(14) > 0 &&
    s[16] >= 1 &&
    s[16] <= 4 &&
    (s[21] === 0xf0 || s[21] >= 0xf8)
  );
}

export class Fat32Volume {
  readonly path: string;
  /** Byte offset of the volume (its boot sector) in the file or device. */
  readonly offset: number;
  readonly bytesPerSector: number;
  readonly sectorsPerCluster: number;
  readonly clusterSize: number;
  readonly reservedSectors: number;
  readonly numFats: number;
  readonly fatSectors: number;
  readonly totalSectors: number;
  /** Clusters in the data area (numbered 2 … clusters + 1). */
  readonly clusters: number;
  readonly rootCluster: number;
  /** FSInfo sector (from the volume start), or 0 when there is none. */
  readonly fsInfoSectorNumber: number;
  /** Backup boot sector, or 0 when there is none. */
  readonly backupBootSector: number;
  /** false when the BPB says only the active FAT is used (extended flags bit 7). */
  readonly mirrored: boolean;
  readonly activeFat: number;
  readonly volumeId: number;
  /** The label in the boot sector, trailing spaces removed. */
  readonly bpbLabel: string;
  /** Byte offset of cluster 2 in the file or device. */
  readonly dataOffset: number;
  /** For a drive, the alignment every read is made with (its sector size, or 4096 when unknown); null for a file. */
  readonly deviceAlign: number | null;
  private readonly sectors: SectorReader | null;
  private fd: number | null;
  /** Size of an image file; null for a block device (its size is not known to fstat). */
  private readonly fileSize: number | null;
  private readonly fatCache = new Map<number, Uint32Array>();
  private lastChunk = -1;
  private lastWords: Uint32Array | null = null;
  private readonly overlay: { offset: number; data: Buffer }[];
  private listing: Listing | null = null;

  constructor(path: string, options: Fat32OpenOptions = {}) {
    this.path = path;
    this.overlay = options.overlay ?? [];
    const device = isDevicePath(path);
    let fd: number;
    try {
      fd = openSync(path, device ? constants.O_RDONLY | directFlag() : 'r');
    } catch (err) {
      throw new InputError(`cannot open the FAT32 volume ${describeFsError(err, path)}`);
    }
    this.fd = fd;
    try {
      const st = fstatSync(fd);
      this.fileSize = st.isFile() ? st.size : null;
      const systemSectorSize = device ? linuxSectorSize(fd) : null;
      this.deviceAlign = device ? (systemSectorSize ?? DEFAULT_DEVICE_ALIGN) : null;
      this.sectors = this.deviceAlign === null ? null : new SectorReader(fd, this.deviceAlign);
      let offset: number;
      if (options.offset !== undefined) {
        if (!Number.isSafeInteger(options.offset) || options.offset < 0) this.fail(`offset ${options.offset} is not a byte offset`);
        offset = options.offset;
      } else {
        const s0 = this.read(0, 512);
        if (looksLikeBootSector(s0)) {
          offset = 0; // a volume without a partition table
        } else {
          if (s0[510] !== 0x55 || s0[511] !== 0xaa) this.fail('sector 0 holds neither a FAT boot sector nor an MBR (no 0x55AA signature)');
          const n = options.partition ?? 1;
          if (!Number.isInteger(n) || n < 1 || n > 4) this.fail(`partition ${n}: the MBR has partitions 1 to 4`);
          const e = 446 + (n - 1) * 16;
          const type = s0[e + 4];
          if (type === 0xee) this.fail('the drive has a GPT partition table; give the byte offset of the FAT32 volume');
          if (type === 0) this.fail(`the MBR has no partition ${n}`);
          const start = s0.readUInt32LE(e + 8);
          if (start === 0) this.fail(`MBR partition ${n} starts at sector 0`);
          offset = this.partitionOffset(start, options.sectorSize ?? systemSectorSize);
        }
      }
      this.offset = offset;
      const b = this.read(offset, 512);
      if (b[510] !== 0x55 || b[511] !== 0xaa) this.fail(`no FAT boot sector at byte ${offset} (no 0x55AA signature)`);
      const bps = b.readUInt16LE(11);
      const spc = b[13];
      const reserved = b.readUInt16LE(14);
      const fats = b[16];
      const rootEntries = b.readUInt16LE(17);
      const total16 = b.readUInt16LE(19);
      const fat16 = b.readUInt16LE(22);
      const total32 = b.readUInt32LE(32);
      const fat32 = b.readUInt32LE(36);
      if (![512, 1024, 2048, 4096].includes(bps)) this.fail(`bytes per sector ${bps} (512, 1024, 2048 or 4096 expected): not a FAT volume`);
      if (spc === 0 || (spc & (spc - 1)) !== 0) this.fail(`sectors per cluster ${spc} (a power of two expected): not a FAT volume`);
      if (reserved === 0) this.fail('0 reserved sectors: not a FAT volume');
      if (fats < 1 || fats > 4) this.fail(`${fats} FATs: not a FAT volume`);
      if (rootEntries !== 0 || fat16 !== 0 || fat32 === 0) this.fail('this is a FAT12 or FAT16 volume, not FAT32 (it has a fixed root directory or a 16-bit FAT size)');
      const total = total16 || total32;
      const dataStart = reserved + fats * fat32;
      if (total === 0 || dataStart >= total) this.fail(`the BPB is inconsistent: ${total} sectors, data from sector ${dataStart}`);
      const clusters = Math.floor((total - dataStart) / spc);
      if (clusters < FAT32_MIN_CLUSTERS) this.fail(`${clusters} clusters: fewer than ${FAT32_MIN_CLUSTERS} makes this FAT16 or FAT12 by definition, not FAT32`);
      if (clusters > FAT32_MAX_CLUSTERS) this.fail(`${clusters} clusters: more than FAT32's ${FAT32_MAX_CLUSTERS}`);
      if ((fat32 * bps) / 4 < clusters + 2) this.fail(`the FAT (${fat32} sectors) is too small for ${clusters} clusters`);
      this.bytesPerSector = bps;
      this.sectorsPerCluster = spc;
      this.clusterSize = bps * spc;
      this.reservedSectors = reserved;
      this.numFats = fats;
      this.fatSectors = fat32;
      this.totalSectors = total;
      this.clusters = clusters;
      this.dataOffset = offset + dataStart * bps;
      const flags = b.readUInt16LE(40);
      this.mirrored = (flags & 0x80) === 0;
      this.activeFat = this.mirrored ? 0 : flags & 0x0f;
      if (this.activeFat >= fats) this.fail(`the active FAT is ${this.activeFat} of ${fats}`);
      this.rootCluster = b.readUInt32LE(44);
      if (this.rootCluster < 2 || this.rootCluster > clusters + 1) this.fail(`the root directory cluster ${this.rootCluster} is outside the volume`);
      const fsi = b.readUInt16LE(48);
      this.fsInfoSectorNumber = fsi > 0 && fsi < reserved ? fsi : 0;
      const bk = b.readUInt16LE(50);
      this.backupBootSector = bk > 0 && bk < reserved ? bk : 0;
      this.volumeId = b[66] === 0x29 ? b.readUInt32LE(67) : 0;
      this.bpbLabel = b[66] === 0x29 ? b.toString('latin1', 71, 82).replace(/ +$/, '') : '';
      const end = offset + total * bps;
      if (this.fileSize !== null && end > this.fileSize) {
        this.fail(`the image is truncated: the volume ends at byte ${end} but the file has ${this.fileSize} bytes`);
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * Byte offset of a partition starting at LBA `start`: in the sector size given, else in the size whose sector there
   * holds a boot sector of that many bytes per sector (512 first), else any boot sector found, else 512-byte sectors.
   */
  private partitionOffset(start: number, sectorSize: number | null): number {
    if (sectorSize !== null) return start * sectorSize;
    const bootAt = (unit: number): Buffer | null => {
      const at = start * unit;
      if (this.fileSize !== null && at + 512 > this.fileSize) return null;
      try {
        const b = this.read(at, 512);
        return looksLikeBootSector(b) ? b : null;
      } catch {
        return null; // past the end of a drive
      }
    };
    const exact = SECTOR_SIZES.find((u) => bootAt(u)?.readUInt16LE(11) === u);
    return start * (exact ?? SECTOR_SIZES.find((u) => bootAt(u) !== null) ?? 512);
  }

  /** The volume label: the root directory's label entry, else the boot sector's ("NO NAME" counts as none). */
  get label(): string {
    let l: string | null;
    if (this.listing) l = this.listing.label;
    else {
      const runs = this.chainRuns(this.rootCluster, null, 'the root directory', null);
      l = parseDirectory(this.readRuns(runs), 'the root directory', (w) => this.fail(w)).label;
    }
    if (l !== null) return l;
    return this.bpbLabel === 'NO NAME' ? '' : this.bpbLabel;
  }

  /** Byte offset of FAT `index` (0-based) in the file or device. */
  fatOffset(index: number): number {
    return this.offset + (this.reservedSectors + index * this.fatSectors) * this.bytesPerSector;
  }

  clusterOffset(cluster: number): number {
    return this.dataOffset + (cluster - 2) * this.clusterSize;
  }

  /** A FAT entry (28 bits) from the FAT in use. */
  fatEntry(cluster: number): number {
    if (cluster < 0 || cluster > this.clusters + 1) this.fail(`FAT entry ${cluster} is outside the volume`);
    const chunk = Math.floor(cluster / FAT_CHUNK_ENTRIES);
    let w = chunk === this.lastChunk ? this.lastWords : this.fatCache.get(chunk);
    if (!w) {
      const first = chunk * FAT_CHUNK_ENTRIES;
      const count = Math.min(FAT_CHUNK_ENTRIES, this.clusters + 2 - first);
      w = fatWords(this.read(this.fatOffset(this.activeFat) + first * 4, count * 4));
      if (this.fatCache.size >= FAT_CACHE_CHUNKS) this.fatCache.delete(this.fatCache.keys().next().value as number);
      this.fatCache.set(chunk, w);
    }
    this.lastChunk = chunk;
    this.lastWords = w;
    return w[cluster - chunk * FAT_CHUNK_ENTRIES] & 0x0fffffff;
  }

  /** Raw bytes of the FAT in use, from byte `offset` of it. */
  readFat(offset: number, length: number): Buffer {
    return this.read(this.fatOffset(this.activeFat) + offset, length);
  }

  /** Reads bytes of the volume's file or device (absolute offsets). */
  readBytes(offset: number, length: number): Buffer {
    return this.read(offset, length);
  }

  /** Calls `fn` for each run of free clusters, in order (the whole FAT is read, 1 MiB at a time). */
  scanFree(fn: (run: FatRun) => void): number {
    const last = this.clusters + 1;
    let free = 0;
    let runStart = -1;
    const perChunk = CHUNK / 4;
    for (let first = 0; first <= last; first += perChunk) {
      const count = Math.min(perChunk, last + 1 - first);
      const w = fatWords(this.readFat(first * 4, count * 4));
      for (let i = 0; i < count; i++) {
        const c = first + i;
        const isFree = c >= 2 && (w[i] & 0x0fffffff) === 0;
        if (isFree) {
          free++;
          if (runStart < 0) runStart = c;
        } else if (runStart >= 0) {
          fn({ cluster: runStart, count: c - runStart });
          runStart = -1;
        }
      }
    }
    if (runStart >= 0) fn({ cluster: runStart, count: last + 1 - runStart });
    return free;
  }

  /** Free clusters, counted in the FAT (not taken from FSInfo). */
  freeClusters(): number {
    return this.scanFree(() => undefined);
  }

  /** The FSInfo sector's free count and next-free hint, or null without a valid FSInfo sector. */
  fsInfo(): { freeClusters: number; nextFree: number } | null {
    if (this.fsInfoSectorNumber === 0) return null;
    const b = this.read(this.offset + this.fsInfoSectorNumber * this.bytesPerSector, 512);
    if (b.readUInt32LE(0) !== 0x41615252 || b.readUInt32LE(484) !== 0x61417272) return null;
    return { freeClusters: b.readUInt32LE(488), nextFree: b.readUInt32LE(492) };
  }

  /** Every file, in directory order (parents before children). */
  files(): FatFileInfo[] {
    return this.walk().files;
  }

  /** Every folder (root excluded), parents first. */
  directories(): string[] {
    return this.walk().directories.map((d) => d.path);
  }

  /** Finds a file ignoring case, as Windows does. */
  find(path: string): FatFileInfo | null {
    return this.walk().byPath.get(windowsUpper(path.replace(/^\/+/, ''))) ?? null;
  }

  /** A directory's clusters, bytes and entries ("" or "/" for the root); null when there is no such folder. */
  readDirectory(path: string): FatDirectoryInfo | null {
    const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
    const d = p === '' ? { path: '', cluster: this.rootCluster } : this.walk().dirByPath.get(windowsUpper(p));
    if (!d) return null;
    const where = d.path === '' ? 'the root directory' : `folder "${d.path}"`;
    const runs = this.chainRuns(d.cluster, null, where, null);
    const chain: number[] = [];
    for (const r of runs) for (let i = 0; i < r.count; i++) chain.push(r.cluster + i);
    const data = this.readRuns(runs);
    const parsed = parseDirectory(data, where, (w) => this.fail(w));
    return { path: d.path, cluster: d.cluster, chain, data, entries: parsed.entries, endSlot: parsed.endSlot };
  }

  /** Streams a file's bytes to `onChunk` (each chunk a fresh Buffer of at most 1 MiB). */
  readFile(path: string, onChunk: (chunk: Buffer) => void): void {
    streamExtents(this.extentsOf(path), (o, n) => this.read(o, n), onChunk);
  }

  /** A whole file in memory. */
  readFileBuffer(path: string): Buffer {
    return readExtents(this.extentsOf(path), (o, n) => this.read(o, n));
  }

  private extentsOf(path: string): FatExtent[] {
    const f = this.find(path);
    if (!f) throw new InputError(`${this.path}: no file "${path}" in the volume.`);
    return f.extents;
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private fail(what: string): never {
    throw new InputError(`${this.path}: ${what}.`);
  }

  private read(offset: number, length: number): Buffer {
    if (this.fd === null) throw new Error(`${this.path}: the volume is closed`);
    if (this.fileSize !== null && offset + length > this.fileSize) this.fail(`a read at byte ${offset} (${length} bytes) is past the end of the file (${this.fileSize} bytes)`);
    const b = Buffer.allocUnsafe(length); // filled below, or the read fails
    let got: number;
    try {
      got = this.sectors ? this.sectors.read(b, 0, length, offset) : readFully(this.fd, b, 0, length, offset);
    } catch (err) {
      throw new InputError(`cannot read the FAT32 volume ${describeFsError(err, this.path)}`);
    }
    if (got < length) this.fail(`the ${this.fileSize === null ? 'device' : 'file'} ended at byte ${offset + got}, inside the volume`);
    for (const o of this.overlay) {
      const from = Math.max(offset, o.offset);
      const to = Math.min(offset + length, o.offset + o.data.length);
      if (from < to) o.data.copy(b, from - offset, from - o.offset, to - o.offset);
    }
    return b;
  }

  private readRuns(runs: FatRun[]): Buffer {
    return Buffer.concat(runs.map((r) => this.read(this.clusterOffset(r.cluster), r.count * this.clusterSize)));
  }

  /**
   * Follows a chain from `start`. With `need` it takes exactly that many clusters and requires the chain to end
   * there (a file); without, it runs to the end-of-chain mark, at most a directory's worth of clusters. `seen` marks
   * clusters already in a chain (loops and cross-links).
   */
  private chainRuns(start: number, need: number | null, what: string, seen: Uint8Array | null): FatRun[] {
    const last = this.clusters + 1;
    const limit = need ?? Math.ceil((FAT_MAX_DIR_ENTRIES * 32) / this.clusterSize);
    const runs: FatRun[] = [];
    let c = start;
    for (let count = 1; ; count++) {
      if (c < 2 || c > last) this.fail(`${what}: its cluster chain reaches cluster ${c}, outside the volume (2–${last})`);
      if (seen) {
        const bit = 1 << (c & 7);
        if (seen[c >> 3] & bit) this.fail(`${what}: cluster ${c} is in its chain twice or also in another file's (a loop or a cross-link)`);
        seen[c >> 3] |= bit;
      }
      const prev = runs[runs.length - 1];
      if (prev && prev.cluster + prev.count === c) prev.count++;
      else runs.push({ cluster: c, count: 1 });
      const v = this.fatEntry(c);
      const end = v >= EOC_MIN;
      if (need !== null && count === need) {
        if (!end) this.fail(`${what}: its cluster chain goes on past the ${need} clusters its size needs`);
        return runs;
      }
      if (end) {
        if (need !== null) this.fail(`${what}: its cluster chain ends after ${count} clusters; its size needs ${need}`);
        return runs;
      }
      if (count >= limit) this.fail(`${what}: the directory never ends (its chain is longer than ${limit} clusters, the most ${FAT_MAX_DIR_ENTRIES} entries take)`);
      if (v === 0) this.fail(`${what}: its cluster chain runs into free cluster ${c}`);
      if (v === BAD_CLUSTER) this.fail(`${what}: its cluster chain runs into a cluster marked bad (after ${c})`);
      c = v;
    }
  }

  private walk(): Listing {
    if (this.listing) return this.listing;
    const seen = new Uint8Array(Math.ceil((this.clusters + 2) / 8));
    const files: FatFileInfo[] = [];
    const directories: { path: string; cluster: number }[] = [];
    const byPath = new Map<string, FatFileInfo>();
    const dirByPath = new Map<string, { path: string; cluster: number }>();
    let label: string | null = null;
    let total = 0;
    const queue: { path: string; cluster: number; depth: number }[] = [{ path: '', cluster: this.rootCluster, depth: 0 }];
    for (let qi = 0; qi < queue.length; qi++) {
      const { path, cluster, depth } = queue[qi];
      const where = path === '' ? 'the root directory' : `folder "${path}"`;
      if (depth > MAX_DEPTH) this.fail(`${where} is nested more than ${MAX_DEPTH} levels deep`);
      const runs = this.chainRuns(cluster, null, where, seen);
      const parsed = parseDirectory(this.readRuns(runs), where, (w) => this.fail(w));
      if (depth === 0) label = parsed.label;
      total += parsed.entries.length;
      if (total > MAX_ENTRIES) this.fail(`more than ${MAX_ENTRIES} directory entries`);
      for (const e of parsed.entries) {
        const childPath = path === '' ? e.name : `${path}/${e.name}`;
        if (e.attributes & ATTR_DIRECTORY) {
          if (e.cluster === 0) this.fail(`folder "${childPath}": its first cluster is 0`);
          const d = { path: childPath, cluster: e.cluster };
          directories.push(d);
          if (!dirByPath.has(windowsUpper(childPath))) dirByPath.set(windowsUpper(childPath), d);
          queue.push({ path: childPath, cluster: e.cluster, depth: depth + 1 });
          continue;
        }
        const what = `file "${childPath}"`;
        const need = Math.ceil(e.size / this.clusterSize);
        const runs2 = need === 0 ? [] : this.chainRuns(e.cluster, need, what, seen);
        const extents: FatExtent[] = [];
        let left = e.size;
        for (const r of runs2) {
          const size = Math.min(left, r.count * this.clusterSize);
          extents.push({ offset: this.clusterOffset(r.cluster), size });
          left -= size;
        }
        const f: FatFileInfo = { path: childPath, size: e.size, attributes: e.attributes, mtime: e.mtime, cluster: need === 0 ? 0 : e.cluster, runs: runs2, extents };
        files.push(f);
        if (!byPath.has(windowsUpper(childPath))) byPath.set(windowsUpper(childPath), f);
      }
    }
    this.listing = { files, directories, byPath, dirByPath, label };
    return this.listing;
  }
}

/** Opens a FAT32 volume read-only: at `options.offset`, else at byte 0, else MBR partition 1. close() it when done. */
export function openFat32(path: string, options: Fat32OpenOptions = {}): Fat32Volume {
  return new Fat32Volume(path, options);
}
