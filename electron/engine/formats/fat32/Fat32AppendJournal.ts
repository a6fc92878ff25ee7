// "Use the drive as already formatted" made safe to interrupt. An append (Fat32Append) writes two kinds of bytes: new
// files and new folder clusters, into clusters the FAT calls free (nothing reads them until the FAT and the folders
// point there), and the volume's own structures in place — FAT sectors in every copy, the folder sectors that get the
// new entries, FSInfo, the boot code. Written as they come, an interruption leaves lost clusters or entries pointing
// into free space. Here the structures go through the journal of FatJournal instead:
//   1 content   the new files and folder clusters, into free clusters                                    as it was
//   2 journal   every structure sector's new bytes, with its place, into other free clusters             as it was
//   3 commit    the journal's header, one sector (the last reserved one)                                 → rewrite
//   4 rewrite   those sectors where they belong                                                          rewrite
//   5 clear     the header zeroed                                                                        → as made
// Up to the commit the volume is exactly as it was, every file whole (files being replaced keep their clusters until
// the end: the append is planned not to reuse them). From the commit on, `verify` names the state and the next
// refresh or append applies the journal again from the start and clears it. While step 4 runs (a few small writes) the
// volume is in between; that is the only moment it is.
import type { ImageExtent, ImageLayout, ImageRegion } from '../../io/ImageLayout.js';
import type { Fat32Volume, FatRun } from './Fat32Reader.js';
import { journalSector, readBoot, stepLayout, type RefreshStep } from './Fat32Refresh.js';
import { encodeJournalBody, isJournalHeader, journalBodyBytes, journalHeader, type JournalRecord } from './FatJournal.js';

/** The structures' journal is held in memory: an append of tens of gigabytes changes a few megabytes of FAT. */
const JOURNAL_LIMIT = 64 * 1024 * 1024;

export type JournaledAppend = { steps: RefreshStep[]; journalBytes: number; why?: undefined } | { steps: null; why: string };

/** Clusters lo … hi − 1 (sorted, merged). */
function mergeSpans(spans: [number, number][]): [number, number][] {
  spans.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else out.push([...s]);
  }
  return out;
}

/** Splits an append's layout (on `vol`, as it is now) into the journaled steps, or says why it cannot be. */
export function journalAppend(vol: Fat32Volume, layout: ImageLayout): JournaledAppend {
  const bps = vol.bytesPerSector;
  const cs = vol.clusterSize;
  const at = journalSector(vol, vol.reservedSectors);
  if (at === null) return { steps: null, why: `the volume has ${vol.reservedSectors} reserved sectors, none free for the journal's header` };
  const header = readBoot(vol, at);
  if (!header.equals(Buffer.alloc(bps)) && !isJournalHeader(header)) return { steps: null, why: `reserved sector ${at} (for the journal's header) holds another tool's data` };

  const dataStart = vol.clusterOffset(2);
  const dataEnd = vol.clusterOffset(vol.clusters + 2);
  const clusterOf = (offset: number): number => 2 + Math.floor((offset - dataStart) / cs);
  const freshSpans: [number, number][] = [];
  /** Whether [offset, offset + length) lies in clusters the FAT calls free now. */
  const inFree = (offset: number, length: number): boolean => {
    if (offset < dataStart || offset + length > dataEnd) return false;
    for (let c = clusterOf(offset); c <= clusterOf(offset + length - 1); c++) if (vol.fatEntry(c) !== 0) return false;
    return true;
  };
  const fresh: ImageRegion[] = [];
  const structures: ImageRegion[] = [];
  for (const r of layout.regions) {
    if (inFree(r.offset, r.data.length)) {
      fresh.push(r);
      freshSpans.push([clusterOf(r.offset), clusterOf(r.offset + r.data.length - 1) + 1]);
    } else structures.push(r);
  }
  const extents: ImageExtent[] = [];
  for (const e of layout.extents) {
    if (e.size === 0) continue;
    if (!inFree(e.offset, e.size)) return { steps: null, why: `${e.path} would be written over clusters in use` };
    extents.push(e);
    freshSpans.push([clusterOf(e.offset), clusterOf(e.offset + e.size - 1) + 1]);
  }

  // The structures as whole sectors (their bytes that stay read from the volume), consecutive ones as one record.
  const sectors = new Map<number, Buffer>();
  for (const r of structures) {
    const end = r.offset + r.data.length;
    for (let s = Math.floor(r.offset / bps) * bps; s < end; s += bps) {
      let b = sectors.get(s);
      if (!b) {
        b = vol.readBytes(s, bps);
        sectors.set(s, b);
      }
      const from = Math.max(r.offset, s);
      const to = Math.min(end, s + bps);
      r.data.copy(b, from - s, from - r.offset, to - r.offset);
    }
  }
  const records: JournalRecord[] = [];
  let run: { offset: number; parts: Buffer[] } | null = null;
  for (const s of [...sectors.keys()].sort((a, b) => a - b)) {
    if (run && run.offset + run.parts.length * bps === s) run.parts.push(sectors.get(s) as Buffer);
    else {
      if (run) records.push({ offset: run.offset, data: Buffer.concat(run.parts) });
      run = { offset: s, parts: [sectors.get(s) as Buffer] };
    }
  }
  if (run) records.push({ offset: run.offset, data: Buffer.concat(run.parts) });
  const need = journalBodyBytes(records, bps);
  if (need > JOURNAL_LIMIT) return { steps: null, why: `its structures need a journal of ${need} bytes, more than ${JOURNAL_LIMIT}` };

  // The body: the first free run, less the clusters the content takes, long enough to hold it whole.
  const clusters = Math.ceil(need / cs);
  const taken = mergeSpans(freshSpans);
  let body: FatRun | null = null;
  vol.scanFree((r) => {
    if (body) return;
    let from = r.cluster;
    const end = r.cluster + r.count;
    for (const [a, b] of taken) {
      if (b <= from || a >= end) continue;
      if (a - from >= clusters) break;
      from = Math.max(from, b);
    }
    if (end - from >= clusters) body = { cluster: from, count: clusters };
  });
  const bodyRun = body as FatRun | null;
  if (!bodyRun) return { steps: null, why: `no run of ${clusters * cs} free bytes beside the new files for the journal` };
  const bodyBytes = encodeJournalBody(records, bps);
  const bodyAt = vol.clusterOffset(bodyRun.cluster);
  const headerAt = vol.offset + at * bps;
  const steps: RefreshStep[] = [
    { name: 'content', layout: stepLayout(vol, fresh, extents) },
    { name: 'journal', layout: stepLayout(vol, [{ offset: bodyAt, data: bodyBytes }]) },
    { name: 'commit', layout: stepLayout(vol, [{ offset: headerAt, data: journalHeader(bodyBytes, bodyAt, bps) }]) },
    { name: 'rewrite', layout: stepLayout(vol, records.map((r) => ({ offset: r.offset, data: r.data }))) },
    { name: 'clear', layout: stepLayout(vol, [{ offset: headerAt, data: Buffer.alloc(bps) }]) },
  ];
  return { steps, journalBytes: need };
}
