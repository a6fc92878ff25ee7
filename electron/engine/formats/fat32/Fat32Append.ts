// "Use the drive as already formatted": adds files to an existing FAT32 volume without reformatting it. The plan holds
// only what changes — the directory sectors that change (new entries, replaced entries marked deleted, new or
// extended directory clusters), the changed FAT sectors in every FAT copy, the FSInfo sector (and its backup) — as
// regions, and the new files' data as extents at the byte offsets of the clusters allocated to them. Write it with
// ImageWriter's gaps 'skip': every other byte of the drive stays as it is (on a drive, the writer reads the sectors
// that a region or a file's end shares with bytes that stay, and writes them back whole).
//
// Choices:
// - A file whose path (ignoring case, as Windows does) already exists is REPLACED: its entries are marked deleted
//   (0xE5), its clusters freed, and the new file gets a new entry. Its freed clusters count as free space and may
//   hold the new data. A path that exists as a folder where a file is to go (or the reverse) is refused.
// - Existing folders are reused (their name keeps the case on the volume); missing ones are created.
// - New entries go after a folder's last entry (deleted slots are not reused); a full folder gets more clusters.
// - Allocation: folders first, then the files in the order given; each takes the first free run long enough for
//   all of it, else free clusters in order (fragmented). The FSInfo free count is recounted from the FAT.
// - Not enough free space is refused with the bytes missing; a volume that is not FAT32 is refused when opened.
import { InputError } from '../../errors.js';
import { refreshState, type RefreshState } from './Fat32Refresh.js';
import { checkLayout, type ContentSource, type ImageExtent, type ImageLayout, type ImageRegion } from '../../io/ImageLayout.js';
import {
  ATTR_DIRECTORY,
  FAT_EOC,
  FAT_MAX_DIR_ENTRIES,
  ShortNameTable,
  displayShortName,
  exactShortName,
  fatFileFacts,
  lfnSlots,
  splitFatPath,
  writeNamedEntry,
  writeShortEntry,
  type FatFile,
} from './Fat32Volume.js';
import type { Fat32Volume, FatDirectoryInfo, FatDirEntryInfo, FatRun } from './Fat32Reader.js';
import { windowsUpper } from '../windowsNames.js';

export interface Fat32AppendPlan extends ImageLayout {
  clusterSize: number;
  /** Clusters given to new files and folders. */
  allocatedClusters: number;
  /** Clusters of replaced files given back. */
  freedClusters: number;
  /** Free bytes on the volume after the write. */
  freeBytes: number;
  /** Existing files replaced (their paths as they were on the volume). */
  replaced: string[];
  /** New files that could not get one contiguous run. */
  fragmented: string[];
}

interface NewFile {
  kind: 'file';
  name: string;
  path: string;
  source: ContentSource;
  size: number;
  mtime: Date;
  attributes: number;
  short: string;
  lfn: boolean;
  runs: FatRun[];
}

interface DirState {
  kind: 'dir';
  name: string;
  path: string;
  parent: DirState | null;
  /** The volume's view of an existing folder; null for a new one. */
  info: FatDirectoryInfo | null;
  adds: (NewFile | DirState)[];
  deletes: FatDirEntryInfo[];
  short: string;
  lfn: boolean;
  /** Clusters allocated here: a new folder's, or an existing one's extension. */
  runs: FatRun[];
  /** First cluster (existing or allocated). */
  cluster: number;
  /** Slots (32-byte entries) when done. */
  slots: number;
  /** Clusters to allocate. */
  extra: number;
}

const chainOf = (runs: FatRun[]): number[] => {
  const out: number[] = [];
  for (const r of runs) for (let i = 0; i < r.count; i++) out.push(r.cluster + i);
  return out;
};

/** Free clusters as sorted runs, taken first-fit. */
class FreePool {
  constructor(private readonly runs: FatRun[]) {}

  get first(): number | null {
    return this.runs.length > 0 ? this.runs[0].cluster : null;
  }

  /** `n` clusters: one run when a free run is long enough (the first such), else free clusters in order. */
  take(n: number): FatRun[] {
    if (n === 0) return [];
    const i = this.runs.findIndex((r) => r.count >= n);
    if (i >= 0) {
      const r = this.runs[i];
      const got = { cluster: r.cluster, count: n };
      r.cluster += n;
      r.count -= n;
      if (r.count === 0) this.runs.splice(i, 1);
      return [got];
    }
    const out: FatRun[] = [];
    let left = n;
    while (left > 0) {
      const r = this.runs[0];
      if (!r) throw new Error('free pool exhausted (space was checked before)');
      const k = Math.min(left, r.count);
      out.push({ cluster: r.cluster, count: k });
      r.cluster += k;
      r.count -= k;
      if (r.count === 0) this.runs.shift();
      left -= k;
    }
    return out;
  }
}

function mergeRuns(runs: FatRun[]): FatRun[] {
  const sorted = [...runs].sort((a, b) => a.cluster - b.cluster);
  const out: FatRun[] = [];
  for (const r of sorted) {
    const prev = out[out.length - 1];
    if (prev && prev.cluster + prev.count === r.cluster) prev.count += r.count;
    else out.push({ ...r });
  }
  return out;
}

/** Adds a byte range to a region list, joining it to the previous region when they touch. */
function pushRegion(list: { offset: number; parts: Buffer[]; end: number }[], offset: number, data: Buffer): void {
  const prev = list[list.length - 1];
  if (prev && prev.end === offset) {
    prev.parts.push(data);
    prev.end += data.length;
  } else list.push({ offset, parts: [data], end: offset + data.length });
}

/**
 * `keepReplaced`: the clusters of files being replaced are not given to new files (they hold the old files whole until
 * the end: Fat32AppendJournal needs that; the space they free counts only after).
 */
export function planFat32Append(volume: Fat32Volume, files: FatFile[], directories: string[] = [], timestamp: Date, keepReplaced = false): Fat32AppendPlan {
  if (!(timestamp instanceof Date) || Number.isNaN(timestamp.getTime())) throw new InputError('timestamp: not a valid date.');
  const cs = volume.clusterSize;
  const bps = volume.bytesPerSector;
  const where = volume.path;
  // A volume an interrupted refresh left is finished by the refresh first: its FATs or files are in between.
  let state: RefreshState = 'old';
  try {
    state = refreshState(volume).state;
  } catch {
    // a boot sector no refresh leaves: another tool's volume, appended to as it is
  }
  if (state === 'old-alone' || state === 'new-alone' || state === 'rewrite') {
    throw new InputError(`${where}: a tsmedia refresh was interrupted on this volume (${state}); run "tsmedia refresh" on it to finish it, or write the whole drive, before adding files.`);
  }

  // ----- The tree of changes
  const newDir = (name: string, path: string, parent: DirState | null, info: FatDirectoryInfo | null): DirState => ({
    kind: 'dir',
    name,
    path,
    parent,
    info,
    adds: [],
    deletes: [],
    short: '',
    lfn: false,
    runs: [],
    cluster: info ? info.cluster : 0,
    slots: 0,
    extra: 0,
  });
  const root = newDir('', '', null, volume.readDirectory('') as FatDirectoryInfo);
  const dirs = new Map<string, DirState>([['', root]]);
  const newFileKeys = new Map<string, string>();
  const order: DirState[] = [root];
  const ensureDir = (parts: string[], forPath: string): DirState => {
    let cur = root;
    let key = '';
    for (const part of parts) {
      key = key === '' ? windowsUpper(part) : `${key}/${windowsUpper(part)}`;
      const known = dirs.get(key);
      if (known) {
        cur = known;
        continue;
      }
      if (newFileKeys.has(key)) throw new InputError(`"${newFileKeys.get(key)}" is a new file, and "${forPath}" needs it to be a folder.`);
      const onVolume = cur.info ? volume.readDirectory(key) : null;
      if (!onVolume) {
        const f = cur.info ? volume.find(key) : null;
        if (f) throw new InputError(`${where}: "${f.path}" is a file on the volume, and "${forPath}" needs it to be a folder.`);
      }
      const path = onVolume ? onVolume.path : cur.path === '' ? part : `${cur.path}/${part}`;
      const d = newDir(part, path, cur, onVolume);
      if (!onVolume) cur.adds.push(d);
      dirs.set(key, d);
      order.push(d);
      cur = d;
    }
    return cur;
  };
  for (const d of directories) ensureDir(splitFatPath(d, 'folder'), d);

  const newFiles: NewFile[] = [];
  const replaced: string[] = [];
  const freed: FatRun[] = [];
  for (const f of files) {
    const parts = splitFatPath(f.path, 'file');
    const path = parts.join('/');
    const facts = fatFileFacts(f, path, timestamp);
    const key = windowsUpper(path);
    const dup = newFileKeys.get(key);
    if (dup !== undefined) throw new InputError(dup === path ? `file "${path}" is given twice.` : `files "${dup}" and "${path}" differ only in case; Windows sees them as the same file. Rename one.`);
    const parent = ensureDir(parts.slice(0, -1), path);
    if (dirs.has(key)) throw new InputError(`"${path}" is to be a file, but it is also a folder (of the new files or folders, or on the volume).`);
    if (volume.readDirectory(key)) throw new InputError(`${where}: "${path}" is to be a file, but it is a folder on the volume.`);
    newFileKeys.set(key, path);
    const node: NewFile = { kind: 'file', name: parts[parts.length - 1], path, source: f.source, ...facts, short: '', lfn: false, runs: [] };
    const old = parent.info ? volume.find(key) : null;
    if (old) {
      const leaf = windowsUpper(node.name);
      const entry = (parent.info as FatDirectoryInfo).entries.find((e) => !(e.attributes & ATTR_DIRECTORY) && windowsUpper(e.name) === leaf);
      if (!entry) throw new Error(`${old.path} is listed but not in its folder`);
      parent.deletes.push(entry);
      replaced.push(old.path);
      freed.push(...old.runs);
    }
    parent.adds.push(node);
    newFiles.push(node);
  }

  // ----- Names and sizes of each folder that changes
  let extraClusters = 0;
  for (const d of order) {
    if (d.info && d.adds.length === 0 && d.deletes.length === 0) continue;
    const table = new ShortNameTable();
    const taken = new Map<string, string>(); // short names of entries that stay, as a name Windows would match
    if (d.info) {
      const deleted = new Set(d.deletes.map((e) => e.slot));
      for (const e of d.info.entries) {
        if (deleted.has(e.slot)) continue;
        table.reserve(e.short11);
        taken.set(windowsUpper(displayShortName(e.short11)), e.name);
      }
    }
    for (const c of d.adds) {
      const clash = taken.get(windowsUpper(c.name));
      if (clash !== undefined) throw new InputError(`${where}: "${c.path}" has the short name of "${clash}" already in its folder; Windows would open that one. Rename it.`);
    }
    for (const c of d.adds) {
      const exact = exactShortName(c.name);
      if (exact !== null) {
        if (table.has(exact)) throw new InputError(`${where}: "${c.path}" is the short name of another entry in its folder. Rename it.`);
        table.reserve(exact);
        c.short = exact;
        c.lfn = false;
      }
    }
    for (const c of d.adds) {
      if (c.short !== '') continue;
      c.short = table.generate(c.name);
      c.lfn = true;
    }
    const addSlots = d.adds.reduce((n, c) => n + 1 + (c.lfn ? lfnSlots(c.name) : 0), 0);
    if (d.info) {
      d.slots = d.info.endSlot + addSlots;
      const have = d.info.chain.length;
      d.extra = Math.max(0, Math.ceil((d.slots * 32) / cs) - have);
    } else {
      d.slots = 2 + addSlots;
      d.extra = Math.max(1, Math.ceil((d.slots * 32) / cs));
    }
    if (d.slots > FAT_MAX_DIR_ENTRIES) {
      throw new InputError(`${where}: folder "${d.path || '/'}" would need ${d.slots} directory entries; FAT allows ${FAT_MAX_DIR_ENTRIES}. Spread the files over more folders.`);
    }
    extraClusters += d.extra;
  }

  // ----- Space
  const freeRuns: FatRun[] = [];
  const freeBefore = volume.scanFree((r) => freeRuns.push(r));
  const freedCount = freed.reduce((n, r) => n + r.count, 0);
  const fileClusters = newFiles.reduce((n, f) => n + Math.ceil(f.size / cs), 0);
  const need = extraClusters + fileClusters;
  const available = freeBefore + (keepReplaced ? 0 : freedCount);
  if (need > available) {
    throw new InputError(
      `${where}: not enough free space: the files need ${need * cs} bytes (${need} clusters of ${cs} bytes), the volume has ${available * cs} free${
        freedCount > 0 && !keepReplaced ? ` (${freedCount * cs} of them from files being replaced)` : ''
      }${keepReplaced && freedCount > 0 ? ` beside the ${freedCount} clusters of the files being replaced` : ''}; ${(need - available) * cs} bytes are missing. Free space on the drive, or format it.`,
    );
  }
  const pool = new FreePool(mergeRuns(keepReplaced ? freeRuns : [...freeRuns, ...freed]));

  // ----- Allocation: folders, then files in order
  for (const d of order) {
    if (d.extra === 0) continue;
    d.runs = pool.take(d.extra);
    if (!d.info) d.cluster = d.runs[0].cluster;
  }
  const fragmented: string[] = [];
  for (const f of newFiles) {
    f.runs = pool.take(Math.ceil(f.size / cs));
    if (f.runs.length > 1) fragmented.push(f.path);
  }

  // ----- FAT: free the replaced, chain the new, link the extended
  const fatSectors = new Map<number, Buffer>();
  const setFat = (c: number, v: number): void => {
    const at = c * 4;
    const s = Math.floor(at / bps);
    let b = fatSectors.get(s);
    if (!b) {
      b = volume.readFat(s * bps, bps);
      fatSectors.set(s, b);
    }
    const old = b.readUInt32LE(at - s * bps);
    b.writeUInt32LE(((old & 0xf0000000) | v) >>> 0, at - s * bps); // the top 4 bits are reserved: kept
  };
  for (const c of chainOf(freed)) setFat(c, 0);
  const chainUp = (runs: FatRun[]): void => {
    const cl = chainOf(runs);
    for (let i = 0; i < cl.length; i++) setFat(cl[i], i + 1 < cl.length ? cl[i + 1] : FAT_EOC);
  };
  let allocated = 0;
  for (const d of order) {
    if (d.runs.length === 0) continue;
    chainUp(d.runs);
    if (d.info) setFat(d.info.chain[d.info.chain.length - 1], d.runs[0].cluster);
    allocated += d.extra;
  }
  for (const f of newFiles) {
    chainUp(f.runs);
    allocated += f.runs.reduce((n, r) => n + r.count, 0);
  }

  const pending: { offset: number; parts: Buffer[]; end: number }[] = [];
  const fatCopies = volume.mirrored ? Array.from({ length: volume.numFats }, (_, i) => i) : [volume.activeFat];
  const sectorIds = [...fatSectors.keys()].sort((a, b) => a - b);
  for (const f of fatCopies) for (const s of sectorIds) pushRegion(pending, volume.fatOffset(f) + s * bps, fatSectors.get(s) as Buffer);

  // ----- Directories
  const childEntry = (c: NewFile | DirState): { short11: string; attributes: number; cluster: number; size: number; time: Date } =>
    c.kind === 'dir'
      ? { short11: c.short, attributes: ATTR_DIRECTORY, cluster: c.cluster, size: 0, time: timestamp }
      : { short11: c.short, attributes: c.attributes, cluster: c.runs.length > 0 ? c.runs[0].cluster : 0, size: c.size, time: c.mtime };
  for (const d of order) {
    if (d.info && d.adds.length === 0 && d.deletes.length === 0) continue;
    const oldChain = d.info ? d.info.chain : [];
    const chain = [...oldChain, ...chainOf(d.runs)];
    const buf = Buffer.alloc(chain.length * cs);
    let off = 0;
    if (d.info) {
      d.info.data.copy(buf);
      for (const e of d.deletes) for (let s = e.firstSlot; s <= e.slot; s++) buf[s * 32] = 0xe5;
      off = d.info.endSlot * 32;
    } else {
      const parentCluster = d.parent && d.parent.parent ? d.parent.cluster : 0;
      writeShortEntry(buf, 0, { short11: '.'.padEnd(11, ' '), attributes: ATTR_DIRECTORY, cluster: d.cluster, size: 0, time: timestamp });
      writeShortEntry(buf, 32, { short11: '..'.padEnd(11, ' '), attributes: ATTR_DIRECTORY, cluster: parentCluster, size: 0, time: timestamp });
      off = 64;
    }
    for (const c of d.adds) off += writeNamedEntry(buf, off, c.name, c.lfn, childEntry(c));
    buf.fill(0, off); // the end mark, and nothing stale behind it
    const oldBytes = oldChain.length * cs;
    for (let p = 0; p < buf.length; p += bps) {
      const sector = buf.subarray(p, p + bps);
      if (p < oldBytes && sector.equals((d.info as FatDirectoryInfo).data.subarray(p, p + bps))) continue;
      pushRegion(pending, volume.clusterOffset(chain[Math.floor(p / cs)]) + (p % cs), sector);
    }
  }

  // ----- FSInfo (and its backup)
  const freeAfter = freeBefore + freedCount - allocated;
  if (volume.fsInfoSectorNumber !== 0) {
    const sectors = [volume.fsInfoSectorNumber];
    if (volume.backupBootSector !== 0) sectors.push(volume.backupBootSector + volume.fsInfoSectorNumber);
    for (const s of sectors) {
      if (s >= volume.reservedSectors) continue;
      const at = volume.offset + s * bps;
      const b = volume.readBytes(at, bps); // the whole sector: the structure is in its first 512 bytes
      if (b.readUInt32LE(0) !== 0x41615252 || b.readUInt32LE(484) !== 0x61417272) continue;
      b.writeUInt32LE(freeAfter >>> 0, 488);
      b.writeUInt32LE((pool.first ?? 0xffffffff) >>> 0, 492);
      pushRegion(pending, at, b);
    }
  }

  // ----- The layout
  const regions: ImageRegion[] = pending
    .map((r) => ({ offset: r.offset, data: r.parts.length === 1 ? r.parts[0] : Buffer.concat(r.parts) }))
    .sort((a, b) => a.offset - b.offset);
  const extents: ImageExtent[] = [];
  for (const f of newFiles) {
    let done = 0;
    for (const r of f.runs) {
      const size = Math.min(f.size - done, r.count * cs);
      extents.push({ offset: volume.clusterOffset(r.cluster), size, sourceOffset: done, source: f.source, path: f.path });
      done += size;
    }
  }
  extents.sort((a, b) => a.offset - b.offset);
  let size = 0;
  for (const r of regions) size = Math.max(size, r.offset + r.data.length);
  for (const e of extents) size = Math.max(size, e.offset + e.size);
  const plan: Fat32AppendPlan = {
    size,
    regions,
    extents,
    // The FSInfo sectors (in the reserved sectors) go last on a drive, after the files, folders and FATs they count.
    bootEnd: volume.fatOffset(0),
    clusterSize: cs,
    allocatedClusters: allocated,
    freedClusters: freedCount,
    freeBytes: freeAfter * cs,
    replaced,
    fragmented,
  };
  checkLayout(plan);
  return plan;
}
