// One target of a fan-out write: its own layout, written from content chunks that arrive in the reader's order. What is
// the target's alone — its regions (FAT, directories), its gaps and the files held in memory ('buffer' sources) — is
// written as the chunks move the target forward, so a target whose layout follows the reader's order is written front
// to back as writeImage writes it; a chunk that lands before that point is simply written there (nothing else covers
// those bytes). On a drive (or with a sector size) the regions in [0, bootEnd) go last, as in writeImage, and only once
// the whole content is verified: a drive is never made mountable with content that failed its check.
import { writeSync } from 'node:fs';
import { describeWriteError, writeFailureDetail } from '../errors.js';
import type { ImageLayout } from './ImageLayout.js';
import { CancelledError, WriteError, describeDriveWrite } from './ImageWriter.js';
import { SectorWriter, deviceAlignment } from './SectorIo.js';

/**
 * A target's writing plan in flat arrays over shared memory, compiled once per layout in the parent: every writer of
 * that layout (drives of one geometry) reads the same memory, so a writer thread holds no copy of the file list, the
 * FATs or the directories whatever the number of targets or files.
 */
export interface CompiledTarget {
  size: number;
  /** What only this target writes, in offset order: (offset, length, dataAt) triples; dataAt −1 is a gap. */
  items: Float64Array;
  /** Regions written last on a drive (the boot region): (offset, length, dataAt) triples. */
  deferred: Float64Array;
  /** Where each shared source's bytes land: source id's (offset, from, to) triples are landings[3·landStart[id] …]. */
  landStart: Int32Array;
  landings: Float64Array;
  /** Every byte this target writes from memory (regions, files held in memory), each distinct Buffer once. */
  data: Uint8Array;
  /** Bytes that come from shared sources. */
  contentBytes: number;
}

const sharedF64 = (values: number[]): Float64Array => {
  const a = new Float64Array(new SharedArrayBuffer(Math.max(8, values.length * 8)), 0, values.length);
  a.set(values);
  return a;
};

/**
 * Compiles `layout` for a writer: `sourceIds[i]` is the shared source of extent i (null: written from memory).
 * `sectored`: the target is written in whole sectors (a drive), so the regions before `bootEnd` go last.
 */
export function compileTarget(layout: ImageLayout, sourceIds: readonly (number | null)[], sectored: boolean): CompiledTarget {
  const own: Buffer[] = [];
  const at = new Map<Buffer, number>();
  let dataBytes = 0;
  const place = (b: Buffer): number => {
    let p = at.get(b);
    if (p === undefined) {
      p = dataBytes;
      at.set(b, p);
      own.push(b);
      dataBytes += b.length;
    }
    return p;
  };
  const bootEnd = sectored ? (layout.bootEnd ?? 0) : 0;
  const deferred: number[] = [];
  // [offset, length (negative: a shared extent's marker), dataAt]
  const spans: [number, number, number][] = [];
  for (const r of layout.regions) {
    if (r.offset + r.data.length <= bootEnd) {
      deferred.push(r.offset, r.data.length, place(r.data));
      // Until then it is part of the gap (zeros on a drive being formatted, so a stale layout is gone).
      spans.push([r.offset, r.data.length, -1]);
    } else spans.push([r.offset, r.data.length, place(r.data)]);
  }
  const bySource = new Map<number, number[]>();
  let contentBytes = 0;
  let sources = 0;
  layout.extents.forEach((e, i) => {
    const id = sourceIds[i];
    if (id === null) {
      if (e.source.kind !== 'buffer') throw new Error(`fan-out: ${e.path} has no shared source`);
      const piece = e.sourceOffset === 0 && e.size === e.source.data.length ? e.source.data : e.source.data.subarray(e.sourceOffset, e.sourceOffset + e.size);
      spans.push([e.offset, e.size, place(piece)]);
      return;
    }
    const list = bySource.get(id) ?? [];
    list.push(e.offset, e.sourceOffset, e.sourceOffset + e.size);
    bySource.set(id, list);
    sources = Math.max(sources, id + 1);
    contentBytes += e.size;
    // A marker with no length: the gap before it ends where the extent begins.
    spans.push([e.offset, -e.size, -1]);
  });
  spans.sort((a, b) => a[0] - b[0]);
  const items: number[] = [];
  let pos = 0;
  for (const [offset, length, dataAt] of spans) {
    if (offset > pos) items.push(pos, offset - pos, -1);
    if (length >= 0) items.push(offset, length, dataAt);
    pos = Math.max(pos, offset + Math.abs(length));
  }
  if (pos < layout.size) items.push(pos, layout.size - pos, -1);

  const landStart = new Int32Array(new SharedArrayBuffer(4 * (sources + 1)));
  const landings: number[] = [];
  for (let id = 0; id < sources; id++) {
    landStart[id] = landings.length / 3;
    for (const v of bySource.get(id) ?? []) landings.push(v);
  }
  landStart[sources] = landings.length / 3;
  const data = new Uint8Array(new SharedArrayBuffer(Math.max(1, dataBytes)), 0, dataBytes);
  for (const b of own) data.set(b, at.get(b));
  return { size: layout.size, items: sharedF64(items), deferred: sharedF64(deferred), landStart, landings: sharedF64(landings), data, contentBytes };
}

export interface TargetWriterOptions {
  gaps: 'zero' | 'sparse' | 'skip';
  /** The drive's logical sector size (whole aligned sectors); found from the descriptor when it is a drive. */
  sectorSize?: number;
  targetName: string;
  cancelled: () => boolean;
}

/** Zeros for gaps: small, since every write of them goes through the sector stage (or writes in pieces) anyway. */
const ZEROS = 64 * 1024;
/** The sector stage of a drive: whole aligned sectors gathered before each write. */
const STAGE = 1024 * 1024;

export class TargetWriter {
  private readonly zeros = Buffer.alloc(ZEROS);
  private readonly sectors: SectorWriter | null;
  private readonly data: Buffer;
  private next = 0;
  private contentLeft: number;
  /** Bytes of the image done: written, or gaps passed. */
  done = 0;

  constructor(
    private readonly plan: CompiledTarget,
    private readonly fd: number,
    private readonly options: TargetWriterOptions,
  ) {
    const align = deviceAlignment(fd, options.sectorSize);
    this.sectors = align === null ? null : new SectorWriter(fd, align, STAGE);
    this.data = Buffer.from(plan.data.buffer, plan.data.byteOffset, plan.data.byteLength);
    this.contentLeft = plan.contentBytes;
  }

  /** Writes the parts of a chunk of source `id` (its bytes from `at`) that this target holds, at its own offsets. */
  content(id: number, at: number, chunk: Buffer): void {
    const { landStart, landings } = this.plan;
    if (id + 1 >= landStart.length) return;
    const end = at + chunk.length;
    for (let k = landStart[id]; k < landStart[id + 1]; k++) {
      const l = 3 * k;
      const lOffset = landings[l];
      const lFrom = landings[l + 1];
      const from = Math.max(at, lFrom);
      const to = Math.min(end, landings[l + 2]);
      if (from >= to) continue;
      const offset = lOffset + (from - lFrom);
      this.advance(offset);
      this.put(chunk.subarray(from - at, to - at), offset);
      this.done += to - from;
      this.contentLeft -= to - from;
    }
  }

  /** Writes the rest: what follows the last chunk, then the boot region; returns the image bytes. */
  finish(): number {
    if (this.contentLeft !== 0) throw new Error(`fan-out: ${this.options.targetName} is missing ${this.contentLeft} bytes of content (a reader bug)`);
    this.advance(Infinity);
    if (this.options.cancelled()) throw new CancelledError();
    const d = this.plan.deferred;
    for (let k = 0; k < d.length; k += 3) this.put(this.data.subarray(d[k + 2], d[k + 2] + d[k + 1]), d[k]);
    try {
      this.sectors?.finish();
    } catch (err) {
      throw new WriteError(describeDriveWrite(err, this.options.targetName), writeFailureDetail(err, this.options.targetName, 'write'));
    }
    return this.done;
  }

  /** Writes every item of this target's own that lies before `offset`. */
  private advance(offset: number): void {
    const items = this.plan.items;
    while (this.next < items.length && items[this.next] < offset) {
      const itemOffset = items[this.next];
      const length = items[this.next + 1];
      const dataAt = items[this.next + 2];
      this.next += 3;
      if (dataAt >= 0) {
        if (this.options.cancelled()) throw new CancelledError();
        this.put(this.data.subarray(dataAt, dataAt + length), itemOffset);
      } else if (this.options.gaps === 'zero') {
        for (let off = 0; off < length; off += this.zeros.length) {
          if (this.options.cancelled()) throw new CancelledError();
          const n = Math.min(this.zeros.length, length - off);
          this.put(n === this.zeros.length ? this.zeros : this.zeros.subarray(0, n), itemOffset + off);
        }
      }
      this.done += length;
    }
  }

  private put(data: Buffer, at: number): void {
    if (this.options.cancelled()) throw new CancelledError();
    if (this.sectors) {
      try {
        this.sectors.put(data, data.length, at);
      } catch (err) {
        throw new WriteError(describeDriveWrite(err, this.options.targetName), writeFailureDetail(err, this.options.targetName, 'write'));
      }
      return;
    }
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd, data, off, data.length - off, at + off);
      } catch (err) {
        throw new WriteError(describeWriteError(err, this.options.targetName, 'write'), writeFailureDetail(err, this.options.targetName, 'write'));
      }
    }
  }
}
