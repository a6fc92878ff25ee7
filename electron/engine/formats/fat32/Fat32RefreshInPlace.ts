// The refresh that rewrites changed files in their own clusters (a new password, new dates or variables: the task
// sequence environment files and the manifest change, nothing else). Possible when the new tree has exactly the old
// paths, folders and label, and every changed file needs as many clusters as before: then no cluster changes owner,
// the FAT and the folders stay as they are, and only the files' clusters and the sectors holding their entries (size
// and times) are written. Anything else is refreshed beside the old files (Fat32Refresh).
//
// Overwriting in place is made safe by a journal (FatJournal): its body in free clusters, its header in the last
// reserved sector. The FATs and boot sectors are never written:
//   1 journal   the new bytes of every sector to be rewritten, with their places, into a run of free clusters     old
//   2 commit    the header (where the body is, its SHA-256): one sector                                       → rewrite
//   3 rewrite   those sectors where they belong (the files' clusters, their entries' sectors)                   rewrite
//   4 clear     the header sector zeroed                                                                      → old
// Every state is a volume as made, which fsck.fat finds clean (it reads neither reserved sectors nor free clusters nor
// file bytes). Before the commit nothing of the media was touched; from it on, the next refresh applies the journal
// again from the start (the same bytes wherever it had got to) and clears it; verify names it.
import { sourceSize, type ImageRegion } from '../../io/ImageLayout.js';
import { readSource } from '../../io/ImageWriter.js';
import type { Fat32Volume, FatDirectoryInfo, FatFileInfo, FatRun } from './Fat32Reader.js';
import { checkRefreshable, journalSector, readBoot, stepBytes, stepLayout, type Fat32RefreshOptions, type Fat32RefreshPlan, type RefreshStep } from './Fat32Refresh.js';
import { writeShortEntry } from './FatDirectory.js';
import { encodeJournalBody, isJournalHeader, journalBodyBytes, journalHeader, type JournalRecord } from './FatJournal.js';
import { namedTree, type FileNode } from './Fat32Volume.js';

/** The journal is held in memory while it is planned: the environment files and the manifest are far smaller. */
const JOURNAL_LIMIT = 64 * 1024 * 1024;

export type InPlacePlan = { plan: Fat32RefreshPlan; why?: undefined } | { plan: null; why: string };

const parentOf = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const baseOf = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** The file's new bytes, zero-padded to whole clusters. */
function clusterBytes(f: FileNode, clusterSize: number): Buffer {
  const data = Buffer.alloc(f.clusterCount * clusterSize);
  readSource(f.source, 0, f.size, Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, Math.max(f.size, 1))), () => false, (chunk, at) => chunk.copy(data, at));
  return data;
}

/**
 * Plans rewriting `options.files` in place on `vol` (in the 'old' state), or says why it cannot be (then the refresh
 * goes beside the old files). Throws for a volume no refresh can take. Unlike the refresh beside the old files, it
 * takes any FAT size: it never needs the old-alone state. `limitBytes`: the most it may write (the
 * caller's choice against the refresh beside the old files: in place, each changed byte is written twice).
 */
export function planFat32InPlace(vol: Fat32Volume, options: Fat32RefreshOptions, limitBytes = Infinity): InPlacePlan {
  checkRefreshable(vol, 'rewrite');
  const cs = vol.clusterSize;
  const bps = vol.bytesPerSector;
  const label = options.label;
  if (vol.label !== label || vol.bpbLabel !== (label || 'NO NAME')) return { plan: null, why: `the label changes (${vol.label || '(none)'} → ${label || '(none)'})` };
  // Before the tree is built (a third of the planning's time): what is certainly rewritten, the files not kept, is
  // already too much when a large package changed.
  const atLeast = options.files.reduce((n, f) => n + (f.keep ? 0 : Math.ceil((f.size ?? sourceSize(f.source)) / cs) * cs), 0);
  const tooMuch = (fileBytes: number): string | null =>
    fileBytes > JOURNAL_LIMIT
      ? `the changed files take ${fileBytes} bytes of clusters, more than the ${JOURNAL_LIMIT} an in-place rewrite journals`
      : 2 * fileBytes > limitBytes
        ? `rewriting them in place would write ${2 * fileBytes} bytes, more than the ${limitBytes} written beside the old files`
        : null;
  const early = tooMuch(atLeast);
  if (early) return { plan: null, why: early };
  const tree = namedTree(options, label, options.timestamp, cs);
  const oldDirs = new Set(vol.directories());
  const newDirs = tree.dirs.filter((d) => d.parent).map((d) => d.path);
  if (newDirs.length !== oldDirs.size || newDirs.some((d) => !oldDirs.has(d))) return { plan: null, why: 'folders are added or removed' };
  const oldFiles = new Map<string, FatFileInfo>(vol.files().map((f) => [f.path, f]));
  if (tree.files.length !== oldFiles.size || tree.files.some((f) => !oldFiles.has(f.path))) return { plan: null, why: 'files are added, removed or renamed' };

  const records: JournalRecord[] = [];
  const sectors = new Map<number, Buffer>();
  const dirs = new Map<string, FatDirectoryInfo | null>();
  const kept: string[] = [];
  const written: string[] = [];
  const rewrites: { f: FileNode; runs: FatRun[] }[] = [];
  let contentBytes = 0;
  for (const [i, f] of tree.files.entries()) {
    const old = oldFiles.get(f.path) as FatFileInfo;
    const keep = options.files[i].keep;
    if (keep && keep.size === f.size && keep.cluster === old.cluster) {
      kept.push(f.path);
      continue;
    }
    if (f.size === 0 || old.size === 0 || f.clusterCount !== old.runs.reduce((n, r) => n + r.count, 0)) return { plan: null, why: `${f.path} needs another number of clusters` };
    const parent = parentOf(f.path);
    if (!dirs.has(parent)) dirs.set(parent, vol.readDirectory(parent));
    const d = dirs.get(parent);
    const e = d?.entries.find((x) => x.name === baseOf(f.path));
    if (!d || !e || e.short11 !== f.short) return { plan: null, why: `${f.path}'s entry is not as a fresh tree names it` };
    written.push(f.path);
    contentBytes += f.size;
    rewrites.push({ f, runs: old.runs });
    // The entry: the new size, attributes and times; its name, case bits and first cluster stay.
    const byte = e.slot * 32;
    const sectorAt = vol.clusterOffset(d.chain[Math.floor(byte / cs)]) + Math.floor((byte % cs) / bps) * bps;
    let sector = sectors.get(sectorAt);
    if (!sector) {
      const from = Math.floor(byte / bps) * bps;
      sector = Buffer.from(d.data.subarray(from, from + bps));
      sectors.set(sectorAt, sector);
    }
    const entry = Buffer.alloc(32);
    writeShortEntry(entry, 0, { short11: e.short11, attributes: f.attributes, cluster: e.cluster, size: f.size, time: f.mtime });
    const inSector = byte % bps;
    sector[inSector + 11] = entry[11];
    entry.copy(sector, inSector + 13, 13, 20);
    entry.copy(sector, inSector + 22, 22, 26);
    entry.copy(sector, inSector + 28, 28, 32);
  }
  // Sized before anything is read: the journal is held in memory, and each byte is written twice (journal, place).
  const fileBytes = rewrites.reduce((n, x) => n + x.f.clusterCount * cs, 0);
  const why = tooMuch(fileBytes);
  if (why) return { plan: null, why };
  for (const { f, runs } of rewrites) {
    // The bytes, over the old clusters in their order.
    const data = clusterBytes(f, cs);
    let at = 0;
    for (const r of runs) {
      records.push({ offset: vol.clusterOffset(r.cluster), data: data.subarray(at, at + r.count * cs) });
      at += r.count * cs;
    }
  }
  for (const [at, data] of sectors) records.push({ offset: at, data });
  records.sort((a, b) => a.offset - b.offset);
  const need = journalBodyBytes(records, bps);
  const at = journalSector(vol, vol.reservedSectors);
  if (at === null) return { plan: null, why: `the volume has ${vol.reservedSectors} reserved sectors, none free for the journal's header` };
  const header = readBoot(vol, at);
  if (!header.equals(Buffer.alloc(bps)) && !isJournalHeader(header)) return { plan: null, why: `reserved sector ${at} (for the journal's header) holds another tool's data` };
  // The body goes into the first run of free clusters long enough to hold it whole.
  const clusters = Math.ceil(need / cs);
  let run: FatRun | null = null;
  // One scan of the FAT: the body's run, and the free count (it does not change: no cluster changes owner).
  const freeClusters = vol.scanFree((r) => {
    if (!run && r.count >= clusters) run = { ...r };
  });
  const bodyRun = run as FatRun | null;
  if (!bodyRun) return { plan: null, why: `no run of ${clusters * cs} free bytes for the journal` };
  const bodyOffset = vol.clusterOffset(bodyRun.cluster);
  const body = encodeJournalBody(records, bps);
  const layout = (rs: ImageRegion[]): RefreshStep['layout'] => stepLayout(vol, rs);
  const headerAt = vol.offset + at * bps;
  const steps: RefreshStep[] = [
    { name: 'journal', layout: layout([{ offset: bodyOffset, data: body }]) },
    { name: 'commit', layout: layout([{ offset: headerAt, data: journalHeader(body, bodyOffset, bps) }]) },
    { name: 'rewrite', layout: layout(records.map((r) => ({ offset: r.offset, data: r.data }))) },
    { name: 'clear', layout: layout([{ offset: headerAt, data: Buffer.alloc(bps) }]) },
  ];
  return {
    plan: {
      method: 'rewrite',
      steps,
      kept,
      written,
      removed: [],
      bytesToWrite: stepBytes(steps),
      contentBytes,
      clusterSize: cs,
      allocatedClusters: 0,
      freedClusters: 0,
      freeBytesAfter: freeClusters * cs,
      newRootCluster: vol.rootCluster,
    },
  };
}
