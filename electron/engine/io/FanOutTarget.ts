// One target of a fan-out write: its own layout, written from content chunks that arrive in the reader's order. What is
// the target's alone — its regions (FAT, directories), its gaps and the files held in memory ('buffer' sources) — is
// written as the chunks move the target forward, so a target whose layout follows the reader's order is written front
// to back as writeImage writes it; a chunk that lands before that point is simply written there (nothing else covers
// those bytes). On a drive (or with a sector size) the regions in [0, bootEnd) go last, as in writeImage, and only once
// the whole content is verified: a drive is never made mountable with content that failed its check.
import { writeSync } from 'node:fs';
import { describeWriteError } from '../errors.js';
import type { ImageLayout } from './ImageLayout.js';
import { CancelledError, WriteError, describeDriveWrite } from './ImageWriter.js';
import { SectorWriter, deviceAlignment } from './SectorIo.js';

/** Bytes of a shared source that land in this target: source bytes [from, to) at image offset `offset`. */
interface Landing {
  offset: number;
  from: number;
  to: number;
}

/** Something only this target writes: a region, a file from memory, or a gap (zeros, a hole or left alone). */
interface OwnItem {
  offset: number;
  length: number;
  data: Buffer | null;
}

export interface TargetWriterOptions {
  gaps: 'zero' | 'sparse' | 'skip';
  /** The drive's logical sector size (whole aligned sectors); found from the descriptor when it is a drive. */
  sectorSize?: number;
  targetName: string;
  cancelled: () => boolean;
}

export class TargetWriter {
  private readonly landings = new Map<number, Landing[]>();
  private readonly items: OwnItem[] = [];
  private readonly deferred: OwnItem[] = [];
  private readonly zeros = Buffer.alloc(1024 * 1024);
  private readonly sectors: SectorWriter | null;
  private next = 0;
  private contentLeft = 0;
  /** Bytes of the image done: written, or gaps passed. */
  done = 0;

  /** `sourceIds[i]`: the shared source of extent i, or null for one this target writes from memory. */
  constructor(
    layout: ImageLayout,
    sourceIds: readonly (number | null)[],
    private readonly fd: number,
    private readonly options: TargetWriterOptions,
  ) {
    const align = deviceAlignment(fd, options.sectorSize);
    this.sectors = align === null ? null : new SectorWriter(fd, align);
    const bootEnd = this.sectors ? (layout.bootEnd ?? 0) : 0;
    const spans: OwnItem[] = [];
    for (const r of layout.regions) {
      if (r.offset + r.data.length <= bootEnd) {
        this.deferred.push({ offset: r.offset, length: r.data.length, data: r.data });
        // Until then it is part of the gap (zeros on a drive being formatted, so a stale layout is gone).
        spans.push({ offset: r.offset, length: r.data.length, data: null });
      } else spans.push({ offset: r.offset, length: r.data.length, data: r.data });
    }
    layout.extents.forEach((e, i) => {
      const id = sourceIds[i];
      if (id === null) {
        if (e.source.kind !== 'buffer') throw new Error(`fan-out: ${e.path} has no shared source`);
        spans.push({ offset: e.offset, length: e.size, data: e.source.data.subarray(e.sourceOffset, e.sourceOffset + e.size) });
        return;
      }
      const list = this.landings.get(id) ?? [];
      list.push({ offset: e.offset, from: e.sourceOffset, to: e.sourceOffset + e.size });
      this.landings.set(id, list);
      this.contentLeft += e.size;
      // A marker with no length: the gap before it ends where the extent begins.
      spans.push({ offset: e.offset, length: -e.size, data: null });
    });
    spans.sort((a, b) => a.offset - b.offset);
    let pos = 0;
    for (const s of spans) {
      if (s.offset > pos) this.items.push({ offset: pos, length: s.offset - pos, data: null });
      if (s.length >= 0) this.items.push(s);
      pos = Math.max(pos, s.offset + Math.abs(s.length));
    }
    if (pos < layout.size) this.items.push({ offset: pos, length: layout.size - pos, data: null });
  }

  /** Writes the parts of a chunk of source `id` (its bytes from `at`) that this target holds, at its own offsets. */
  content(id: number, at: number, chunk: Buffer): void {
    const list = this.landings.get(id);
    if (!list) return;
    const end = at + chunk.length;
    for (const l of list) {
      const from = Math.max(at, l.from);
      const to = Math.min(end, l.to);
      if (from >= to) continue;
      const offset = l.offset + (from - l.from);
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
    for (const r of this.deferred) this.put(r.data as Buffer, r.offset);
    try {
      this.sectors?.finish();
    } catch (err) {
      throw new WriteError(describeDriveWrite(err, this.options.targetName));
    }
    return this.done;
  }

  /** Writes every item of this target's own that lies before `offset`. */
  private advance(offset: number): void {
    while (this.next < this.items.length && this.items[this.next].offset < offset) {
      const item = this.items[this.next++];
      if (item.data) {
        if (this.options.cancelled()) throw new CancelledError();
        this.put(item.data, item.offset);
      } else if (this.options.gaps === 'zero') {
        for (let off = 0; off < item.length; off += this.zeros.length) {
          if (this.options.cancelled()) throw new CancelledError();
          const n = Math.min(this.zeros.length, item.length - off);
          this.put(n === this.zeros.length ? this.zeros : this.zeros.subarray(0, n), item.offset + off);
        }
      }
      this.done += item.length;
    }
  }

  private put(data: Buffer, at: number): void {
    if (this.options.cancelled()) throw new CancelledError();
    if (this.sectors) {
      try {
        this.sectors.put(data, data.length, at);
      } catch (err) {
        throw new WriteError(describeDriveWrite(err, this.options.targetName));
      }
      return;
    }
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.fd, data, off, data.length - off, at + off);
      } catch (err) {
        throw new WriteError(describeWriteError(err, this.options.targetName, 'write'));
      }
    }
  }
}
