// Refreshes a FAT32 volume in place: the files that did not change stay in their clusters, new and changed files and
// every folder are written into clusters the old volume leaves free, and the volume switches from old to new with
// single-sector writes of its boot sector. At every moment the volume is either the old one, the new one, or one of
// two named in-between states — and each of them is a valid FAT32 volume that fsck.fat finds clean:
//
//   state         boot sector (primary; the backup at sector 6 keeps the old one until the end)   which media
//   old           2 FATs of F sectors after R reserved sectors, the old root                       old
//   old-alone     1 FAT: R + F reserved sectors, so the second copy is the only FAT; the first      old (the first copy's
//                 copy's sectors are reserved sectors, free to be written                           sectors being written)
//   new-alone     1 FAT of 2F sectors after R: the first copy (now the new FAT) is the FAT, its     new (the second copy's
//                 second half lies past the last cluster's entry and means nothing; the new root    sectors being written)
//   new           2 FATs of F sectors after R, the new root                                         new
//
// The steps (each flushed before the next begins):
//   1 free-count   FSInfo's free count and hint set to "unknown" (fsck and Windows recount them)   state old
//   2 old-alone    the boot sector                                                                 → old-alone
//   3 content      new and changed files, every folder (a new tree: the root too), and the FAT
//                  sectors that change, into the first copy                                        old-alone
//   4 switch       the boot sector: one FAT of 2F sectors, the new root, the new label              → new-alone
//   5 fat-copy     the same FAT sectors into the second copy                                       new-alone
//   6 two-fats     the boot sector: two FATs, as a freshly made volume                             → new
//   7 backups      the backup boot sector, then FSInfo and its backup with the exact counts         new
//
// An interruption leaves one of the four states; the next refresh recognises it from the boot sector (and its backup,
// which holds the old one until step 7): old-alone is rolled back (the second copy, the old FAT, copied over the first;
// then the old boot sector), new-alone and new are finished (steps 5–7). Why these states are clean: the FAT in use is
// always a complete FAT whose chains belong to the directory tree in use; content written for the other tree sits in
// clusters that FAT calls free; FATs never differ (there is one at a time while they would); a boot sector that differs
// from its backup is "mostly harmless" to fsck.fat and ignored by Windows; FSInfo's "unknown" is valid.
//
// A fifth state, 'rewrite', belongs to the other way of refreshing (Fat32RefreshInPlace, for changed files that keep
// their clusters): a volume as made whose last reserved sector commits a journal; it is finished from the journal.
//
// Limits: the old-alone state needs R + F reserved sectors in a 16-bit field, so a volume whose FAT is longer than
// 65535 − R sectors (about 250 GB with 512-byte sectors and 32 KiB clusters) cannot be refreshed; nor can a volume
// whose FATs are not mirrored, or that is not two FATs to begin with.
import { InputError } from '../../errors.js';
import type { ImageExtent, ImageLayout, ImageRegion } from '../../io/ImageLayout.js';
import type { Fat32Volume, FatFileInfo, FatRun } from './Fat32Reader.js';
import { readJournal, type Journal } from './FatJournal.js';
import { directoryBytes, FAT_EOC, namedTree, type DirNode, type FatFile, type FileNode } from './Fat32Volume.js';

/** 'rewrite': a volume as made, with a committed journal of an in-place rewrite (Fat32RefreshInPlace) to apply. */
export type RefreshState = 'old' | 'old-alone' | 'rewrite' | 'new-alone' | 'new';

export type RefreshStepName = 'free-count' | 'old-alone' | 'content' | 'journal' | 'commit' | 'rewrite' | 'clear' | 'switch' | 'fat-copy' | 'two-fats' | 'backups';

export interface RefreshStep {
  name: RefreshStepName;
  /** What the step writes, at byte offsets of the image or drive (gaps are left as they are). */
  layout: ImageLayout;
}

export interface RefreshFile extends FatFile {
  /** The volume's file of the same path, size and SHA-256: it stays in its clusters. */
  keep?: FatFileInfo | null;
}

export interface Fat32RefreshOptions {
  files: RefreshFile[];
  directories?: string[];
  /** The FAT label as stored (fatLabel). */
  label: string;
  timestamp: Date;
}

export interface Fat32RefreshPlan {
  /** 'beside': new and changed files written into free clusters, a new folder tree, the switch of boot sectors;
   * 'rewrite': changed files rewritten in their own clusters through a journal (Fat32RefreshInPlace). */
  method: 'beside' | 'rewrite';
  steps: RefreshStep[];
  /** Paths as they will be on the volume. */
  kept: string[];
  written: string[];
  /** The volume's files that are not in the new tree. */
  removed: string[];
  /** Bytes every step writes, together. */
  bytesToWrite: number;
  /** Bytes of file content written (new and changed files). */
  contentBytes: number;
  clusterSize: number;
  /** Clusters given to folders and written files; clusters given back (old folders, removed and changed files). */
  allocatedClusters: number;
  freedClusters: number;
  freeBytesAfter: number;
  newRootCluster: number;
}

/** A FAT's boot sector fields that the refresh states change. */
interface BootFields {
  fats: number;
  reserved: number;
  fatSectors: number;
}

export const readBoot = (vol: Fat32Volume, sector: number): Buffer => vol.readBytes(vol.offset + sector * vol.bytesPerSector, vol.bytesPerSector);
const fieldsOf = (b: Buffer): BootFields => ({ fats: b[16], reserved: b.readUInt16LE(14), fatSectors: b.readUInt32LE(36) });

/**
 * Which state the volume is in: from its boot sector against its backup (which holds the old layout until the last
 * step). `reserved`/`fatSectors` are the standard layout's R and F.
 */
export function refreshState(vol: Fat32Volume): { state: RefreshState; reserved: number; fatSectors: number; backupDiffers: boolean } {
  const primary = readBoot(vol, 0);
  const p = fieldsOf(primary);
  const backup = vol.backupBootSector > 0 ? readBoot(vol, vol.backupBootSector) : null;
  const b = backup ? fieldsOf(backup) : null;
  const backupDiffers = backup !== null && !backup.equals(primary);
  if (p.fats === 2 && journalOf(vol, p.reserved) !== null) return { state: 'rewrite', reserved: p.reserved, fatSectors: p.fatSectors, backupDiffers };
  if (p.fats === 2) return { state: backupDiffers ? 'new' : 'old', reserved: p.reserved, fatSectors: p.fatSectors, backupDiffers };
  if (p.fats === 1 && b && b.fats === 2 && p.reserved === b.reserved + b.fatSectors && p.fatSectors === b.fatSectors) {
    return { state: 'old-alone', reserved: b.reserved, fatSectors: b.fatSectors, backupDiffers };
  }
  if (p.fats === 1 && b && b.fats === 2 && p.reserved === b.reserved && p.fatSectors === 2 * b.fatSectors) {
    return { state: 'new-alone', reserved: b.reserved, fatSectors: b.fatSectors, backupDiffers };
  }
  throw new InputError(`${vol.path}: the volume has ${p.fats} FAT(s) and its boot sector matches no state a tsmedia refresh leaves; it was not made by tsmedia, or another tool changed it. Write the whole drive again.`);
}

/** The sector that commits an in-place rewrite's journal: the last reserved sector, when it lies past the boot code. */
export function journalSector(vol: Fat32Volume, reserved: number): number | null {
  const n = reserved - 1;
  return n > vol.backupBootSector + 3 ? n : null;
}

/** The in-place rewrite's journal the volume holds: whole, 'damaged' (its body changed since), or null. */
export function journalOf(vol: Fat32Volume, reserved: number): Journal | 'damaged' | null {
  const n = journalSector(vol, reserved);
  if (n === null) return null;
  return readJournal(readBoot(vol, n), (o, l) => vol.readBytes(o, l), vol.offset + vol.totalSectors * vol.bytesPerSector);
}

/** Whether every sector of the volume's whole journal already holds the journal's bytes (the rewrite is done). */
export function journalApplied(vol: Fat32Volume, reserved: number): boolean {
  const j = journalOf(vol, reserved);
  return j !== null && j !== 'damaged' && j.records.every((r) => vol.readBytes(r.offset, r.data.length).equals(r.data));
}

/** The steps that finish a whole journal an interrupted write left (an append or an in-place refresh); none otherwise. */
export function journalRepairSteps(vol: Fat32Volume): RefreshStep[] {
  let state: RefreshState;
  try {
    state = refreshState(vol).state;
  } catch {
    return []; // a boot sector no refresh leaves: another tool's volume
  }
  return state === 'rewrite' ? planFat32Repair(vol).steps : [];
}

/**
 * What a refresh needs of the volume, throwing with what to do: no refresh left in between, FSInfo and a backup boot
 * sector (as tsmedia makes them); for one beside the old files ('beside') also two mirrored FATs and room for R + F
 * reserved sectors (its old-alone state).
 */
export function checkRefreshable(vol: Fat32Volume, method: 'beside' | 'rewrite' = 'beside'): void {
  const st = refreshState(vol);
  if (st.state !== 'old' || st.backupDiffers) throw new InputError(`${vol.path}: a refresh was interrupted on this volume (${st.state}); run "tsmedia refresh" on it again: it finishes or rolls back the interrupted one first.`);
  if (method === 'rewrite') {
    if (vol.fsInfoSectorNumber === 0 || vol.backupBootSector === 0) throw new InputError(`${vol.path}: the volume has no FSInfo sector or no backup boot sector; it was not made by tsmedia. Write the whole drive instead.`);
    return;
  }
  if (vol.numFats !== 2 || !vol.mirrored) throw new InputError(`${vol.path}: the volume has ${vol.numFats} FAT(s)${vol.mirrored ? '' : ', not mirrored'}; only a volume with two mirrored FATs (as tsmedia and Windows make them) can be refreshed in place. Write the whole drive instead.`);
  if (vol.fsInfoSectorNumber === 0 || vol.backupBootSector === 0) throw new InputError(`${vol.path}: the volume has no FSInfo sector or no backup boot sector; it was not made by tsmedia. Write the whole drive instead.`);
  const R = vol.reservedSectors;
  const F = vol.fatSectors;
  if (R + F > 0xffff) throw new InputError(`${vol.path}: its FAT (${F} sectors) is too large to refresh in place safely (the volume would need ${R + F} reserved sectors for a moment; FAT32 counts them in 16 bits). Write the whole drive instead.`);
}

/** A layout of the volume's regions and file pieces, in offset order. */
export function stepLayout(vol: Fat32Volume, regions: ImageRegion[], extents: ImageExtent[] = []): ImageLayout {
  return { size: vol.offset + vol.totalSectors * vol.bytesPerSector, regions: [...regions].sort((a, b) => a.offset - b.offset), extents: [...extents].sort((a, b) => a.offset - b.offset) };
}

/** Bytes the steps write, together. */
export const stepBytes = (steps: RefreshStep[]): number => steps.reduce((n, s) => n + s.layout.regions.reduce((m, r) => m + r.data.length, 0) + s.layout.extents.reduce((m, e) => m + e.size, 0), 0);

/** A boot sector with the state's fields (and the new root and label for the new states). */
export function bootFor(base: Buffer, f: BootFields, root?: number, label?: string): Buffer {
  const b = Buffer.from(base);
  b[16] = f.fats;
  b.writeUInt16LE(f.reserved, 14);
  b.writeUInt32LE(f.fatSectors, 36);
  if (root !== undefined) b.writeUInt32LE(root, 44);
  if (label !== undefined && b[66] === 0x29) b.write((label || 'NO NAME').padEnd(11, ' '), 71, 11, 'latin1');
  return b;
}

/** FSInfo with the counts given (0xFFFFFFFF: unknown). */
function fsInfoWith(base: Buffer, free: number, next: number): Buffer {
  const b = Buffer.from(base);
  b.writeUInt32LE(free >>> 0, 488);
  b.writeUInt32LE(next >>> 0, 492);
  return b;
}

/** The backup boot sector, FSInfo, and FSInfo's backup where the volume has one (the sector after the backup boot sector). */
function backupRegions(vol: Fat32Volume, bootSector: Buffer, info: Buffer): ImageRegion[] {
  const sector = (n: number): number => vol.offset + n * vol.bytesPerSector;
  const regions: ImageRegion[] = [
    { offset: sector(vol.fsInfoSectorNumber), data: info },
    { offset: sector(vol.backupBootSector), data: bootSector },
  ];
  const next = vol.backupBootSector + 1;
  if (next < vol.reservedSectors && readBoot(vol, next).readUInt32LE(0) === 0x41615252) regions.push({ offset: sector(next), data: info });
  return regions;
}

/** A change to the FAT: clusters made free, or a chain piece (each entry points to the next; the last to `last`). */
type FatChange = { cluster: number; count: number; last: number } | { cluster: number; count: number; free: true };

/** FAT entries for runs in chain order: within a run each to the next, a run's last to the next run, the end EOC. */
function chainChanges(runs: FatRun[]): FatChange[] {
  return runs.map((r, i) => ({ cluster: r.cluster, count: r.count, last: i + 1 < runs.length ? runs[i + 1].cluster : FAT_EOC }));
}

/**
 * The FAT sectors that change, each with its new bytes: read from the FAT in use (the old one), changed, and given
 * at offset 0 of the FAT (the caller places them in either copy).
 */
function changedFatSectors(vol: Fat32Volume, changes: FatChange[]): { at: number; data: Buffer }[] {
  const bps = vol.bytesPerSector;
  const perSector = bps / 4;
  const sorted = [...changes].sort((a, b) => a.cluster - b.cluster);
  // Spans of sectors touched, merged.
  const spans: [number, number][] = [];
  for (const c of sorted) {
    const from = Math.floor(c.cluster / perSector);
    const to = Math.floor((c.cluster + c.count - 1) / perSector) + 1;
    const last = spans[spans.length - 1];
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else spans.push([from, to]);
  }
  const out: { at: number; data: Buffer }[] = [];
  let k = 0;
  for (const [from, to] of spans) {
    const data = vol.readFat(from * bps, (to - from) * bps);
    const first = from * perSector;
    const end = to * perSector;
    while (k < sorted.length && sorted[k].cluster < end) {
      const c = sorted[k++];
      for (let i = 0; i < c.count; i++) {
        const cl = c.cluster + i;
        const at = (cl - first) * 4;
        const keepHigh = data.readUInt32LE(at) & 0xf0000000; // the top 4 bits are reserved: kept as they are
        const value = 'free' in c ? 0 : i + 1 < c.count ? cl + 1 : c.last;
        data.writeUInt32LE((keepHigh | value) >>> 0, at);
      }
    }
    out.push({ at: from * bps, data });
  }
  return out;
}

/** Free runs of the FAT in use, handed out first-fit: a file gets one run long enough, else the first runs in order. */
class FreeClusters {
  private readonly runs: FatRun[] = [];
  free = 0;
  constructor(vol: Fat32Volume) {
    this.free = vol.scanFree((r) => this.runs.push({ ...r }));
  }

  take(count: number, what: string, clusterSize: number): FatRun[] {
    if (count === 0) return [];
    if (count > this.free) {
      throw new InputError(`not enough free space to refresh in place: ${what} needs ${count * clusterSize} more bytes than the ${this.free * clusterSize} the volume has free beside the old files (old and new files must fit together until the switch). Write the whole drive instead.`);
    }
    this.free -= count;
    const whole = this.runs.findIndex((r) => r.count >= count);
    if (whole >= 0) {
      const r = this.runs[whole];
      const got = { cluster: r.cluster, count };
      r.cluster += count;
      r.count -= count;
      if (r.count === 0) this.runs.splice(whole, 1);
      return [got];
    }
    const got: FatRun[] = [];
    let left = count;
    while (left > 0) {
      const r = this.runs[0];
      const n = Math.min(left, r.count);
      got.push({ cluster: r.cluster, count: n });
      r.cluster += n;
      r.count -= n;
      if (r.count === 0) this.runs.shift();
      left -= n;
    }
    return got;
  }
}

const runsOf = (chain: number[]): FatRun[] => {
  const runs: FatRun[] = [];
  for (const c of chain) {
    const last = runs[runs.length - 1];
    if (last && last.cluster + last.count === c) last.count += 1;
    else runs.push({ cluster: c, count: 1 });
  }
  return runs;
};

/**
 * Plans the refresh of `vol` (in the 'old' state, see refreshState) to hold `options.files`: the steps to write, in
 * order, and what changes. Nothing is written here.
 */
export function planFat32Refresh(vol: Fat32Volume, options: Fat32RefreshOptions): Fat32RefreshPlan {
  checkRefreshable(vol);
  const R = vol.reservedSectors;
  const F = vol.fatSectors;

  const cs = vol.clusterSize;
  const bps = vol.bytesPerSector;
  const tree = namedTree(options, options.label, options.timestamp, cs);
  // The tree's files are the options' files, in their order.
  const keepOf = new Map<FileNode, FatFileInfo>();
  options.files.forEach((f, i) => f.keep && keepOf.set(tree.files[i], f.keep));
  const free = new FreeClusters(vol);
  const changes: FatChange[] = [];
  const dirRuns = new Map<DirNode, FatRun[]>();
  for (const d of tree.dirs) {
    const runs = free.take(d.clusterCount, `folder "${d.path || '/'}"`, cs);
    dirRuns.set(d, runs);
    d.cluster = runs[0].cluster;
    changes.push(...chainChanges(runs));
  }
  const extents: ImageExtent[] = [];
  const kept: string[] = [];
  const written: string[] = [];
  let contentBytes = 0;
  let allocated = [...dirRuns.values()].flat().reduce((n, r) => n + r.count, 0);
  const keptClusters = new Set<number>();
  for (const f of tree.files) {
    const k = keepOf.get(f);
    if (k && k.size === f.size) {
      f.cluster = k.cluster;
      keptClusters.add(k.cluster);
      kept.push(f.path);
      continue;
    }
    written.push(f.path);
    const runs = free.take(f.clusterCount, `file "${f.path}"`, cs);
    f.cluster = runs.length ? runs[0].cluster : 0;
    allocated += f.clusterCount;
    changes.push(...chainChanges(runs));
    let done = 0;
    for (const r of runs) {
      const n = Math.min(r.count * cs, f.size - done);
      extents.push({ offset: vol.clusterOffset(r.cluster), size: n, sourceOffset: done, source: f.source, path: f.path });
      done += n;
    }
    contentBytes += f.size;
  }

  // Given back: every old folder, and every old file not kept.
  const removed: string[] = [];
  let freed = 0;
  const freeRuns = (runs: FatRun[]): void => {
    for (const r of runs) {
      changes.push({ cluster: r.cluster, count: r.count, free: true });
      freed += r.count;
    }
  };
  for (const path of ['', ...vol.directories()]) {
    const d = vol.readDirectory(path);
    if (d) freeRuns(runsOf(d.chain));
  }
  const newPaths = new Set(tree.files.map((f) => f.path.toUpperCase()));
  for (const f of vol.files()) {
    if (f.cluster !== 0 && keptClusters.has(f.cluster)) continue;
    if (!newPaths.has(f.path.toUpperCase())) removed.push(f.path);
    freeRuns(f.runs);
  }

  const regions: ImageRegion[] = [];
  for (const d of tree.dirs) {
    const data = directoryBytes(d, cs, options.label, options.timestamp);
    let off = 0;
    for (const r of dirRuns.get(d) ?? []) {
      regions.push({ offset: vol.clusterOffset(r.cluster), data: data.subarray(off, off + r.count * cs) });
      off += r.count * cs;
    }
  }
  const fatSectors = changedFatSectors(vol, changes);
  const fat1 = vol.offset + R * bps;
  const fat2 = vol.offset + (R + F) * bps;
  const layout = (rs: ImageRegion[], xs: ImageExtent[] = []): ImageLayout => stepLayout(vol, rs, xs);
  const sector = (n: number): number => vol.offset + n * bps;

  const boot = readBoot(vol, 0);
  const fsInfo = readBoot(vol, vol.fsInfoSectorNumber);
  const newRoot = tree.root.cluster;
  const freeAfter = free.free + freed;
  const steps: RefreshStep[] = [
    { name: 'free-count', layout: layout([{ offset: sector(vol.fsInfoSectorNumber), data: fsInfoWith(fsInfo, 0xffffffff, 0xffffffff) }]) },
    { name: 'old-alone', layout: layout([{ offset: sector(0), data: bootFor(boot, { fats: 1, reserved: R + F, fatSectors: F }) }]) },
    { name: 'content', layout: layout([...regions, ...fatSectors.map((s) => ({ offset: fat1 + s.at, data: s.data }))], extents) },
    { name: 'switch', layout: layout([{ offset: sector(0), data: bootFor(boot, { fats: 1, reserved: R, fatSectors: 2 * F }, newRoot, options.label) }]) },
    { name: 'fat-copy', layout: layout(fatSectors.map((s) => ({ offset: fat2 + s.at, data: s.data }))) },
    { name: 'two-fats', layout: layout([{ offset: sector(0), data: bootFor(boot, { fats: 2, reserved: R, fatSectors: F }, newRoot, options.label) }]) },
  ];
  const finalBoot = bootFor(boot, { fats: 2, reserved: R, fatSectors: F }, newRoot, options.label);
  const finalInfo = fsInfoWith(fsInfo, freeAfter, 0xffffffff);
  steps.push({ name: 'backups', layout: layout(backupRegions(vol, finalBoot, finalInfo)) });
  const bytesToWrite = stepBytes(steps);
  return { method: 'beside', steps, kept, written, removed, bytesToWrite, contentBytes, clusterSize: cs, allocatedClusters: allocated, freedClusters: freed, freeBytesAfter: freeAfter * cs, newRootCluster: newRoot };
}

export interface Fat32Repair {
  /** What the volume was found in. */
  state: RefreshState;
  /** 'none': a volume as made; 'roll-back': the old media made whole again; 'finish': the new media made whole. */
  action: 'none' | 'roll-back' | 'finish';
  steps: RefreshStep[];
}

/**
 * What ends an interrupted refresh: old-alone is rolled back (the old FAT copied over the first copy, then the old boot
 * sector from its backup); rewrite (a committed journal) is finished from its journal; new-alone and new are finished (the new FAT copied over the second copy, two FATs, then the
 * backups). Each step again leaves one of the four states. FSInfo gets the exact free count at the end.
 */
export function planFat32Repair(vol: Fat32Volume): Fat32Repair {
  const st = refreshState(vol);
  const bps = vol.bytesPerSector;
  const R = st.reserved;
  const F = st.fatSectors;
  const layout = (regions: ImageRegion[]): ImageLayout => stepLayout(vol, regions);
  const fatAt = (index: number): number => vol.offset + (R + index * F) * bps;
  const fsInfo = readBoot(vol, vol.fsInfoSectorNumber);
  const exact = (): Buffer => fsInfoWith(fsInfo, vol.freeClusters(), 0xffffffff);
  if (st.state === 'old' && !st.backupDiffers) {
    // Interrupted after the first step (the free count made "unknown"): only the count is left to put back.
    if (fsInfo.readUInt32LE(488) !== 0xffffffff) return { state: 'old', action: 'none', steps: [] };
    return { state: 'old', action: 'finish', steps: [{ name: 'backups', layout: layout([{ offset: vol.offset + vol.fsInfoSectorNumber * bps, data: exact() }]) }] };
  }
  if (st.state === 'rewrite') {
    // A whole journal is applied again from the start (the same bytes wherever it had got to), then cleared.
    const journal = journalOf(vol, R);
    const at = journalSector(vol, R);
    if (journal === 'damaged') {
      throw new InputError(`${vol.path}: a tsmedia write (a refresh in place, or files added) was interrupted here, and its journal (in free space) has been overwritten since, by another tool writing to the volume: what it was changing may be part old, part new. Write the whole drive with "tsmedia create".`);
    }
    if (!journal || at === null) throw new Error('refresh: the journal vanished');
    return {
      state: st.state,
      action: 'finish',
      steps: [
        { name: 'rewrite', layout: layout(journal.records.map((r) => ({ offset: r.offset, data: r.data }))) },
        { name: 'clear', layout: layout([{ offset: vol.offset + at * bps, data: Buffer.alloc(bps) }]) },
      ],
    };
  }
  if (st.state === 'old-alone') {
    const backup = readBoot(vol, vol.backupBootSector);
    return {
      state: st.state,
      action: 'roll-back',
      steps: [
        { name: 'fat-copy', layout: layout([{ offset: fatAt(0), data: vol.readBytes(fatAt(1), F * bps) }]) },
        { name: 'two-fats', layout: layout([{ offset: vol.offset, data: backup }]) },
        { name: 'backups', layout: layout([{ offset: vol.offset + vol.fsInfoSectorNumber * bps, data: exact() }]) },
      ],
    };
  }
  const boot = readBoot(vol, 0);
  const twoFats = bootFor(boot, { fats: 2, reserved: R, fatSectors: F });
  const steps: RefreshStep[] = [];
  if (st.state === 'new-alone') {
    steps.push({ name: 'fat-copy', layout: layout([{ offset: fatAt(1), data: vol.readBytes(fatAt(0), F * bps) }]) });
    steps.push({ name: 'two-fats', layout: layout([{ offset: vol.offset, data: twoFats }]) });
  }
  steps.push({ name: 'backups', layout: layout(backupRegions(vol, twoFats, exact())) });
  return { state: st.state, action: 'finish', steps };
}
