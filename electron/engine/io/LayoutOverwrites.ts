// Several layouts written in turn to one target (a refresh's steps: its boot sector three times; a journal's header,
// then zeros over it): what the target holds at the end is each layout less what later ones wrote over it. A read-back
// compares that, not bytes a later step replaced.
import type { ImageExtent, ImageLayout, ImageRegion } from './ImageLayout.js';

/** Sorted, disjoint [start, end) spans. */
class Spans {
  private readonly list: [number, number][] = [];

  /** The parts of [from, to) no span covers. */
  outside(from: number, to: number): [number, number][] {
    const out: [number, number][] = [];
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.list[mid][1] <= from) lo = mid + 1;
      else hi = mid;
    }
    let at = from;
    for (let i = lo; i < this.list.length && this.list[i][0] < to; i++) {
      const [a, b] = this.list[i];
      if (a > at) out.push([at, a]);
      at = Math.max(at, b);
    }
    if (at < to) out.push([at, to]);
    return out;
  }

  add(from: number, to: number): void {
    if (from >= to) return;
    const kept: [number, number][] = [];
    let a = from;
    let b = to;
    for (const s of this.list) {
      if (s[1] < a || s[0] > b) kept.push(s);
      else {
        a = Math.min(a, s[0]);
        b = Math.max(b, s[1]);
      }
    }
    kept.push([a, b]);
    kept.sort((x, y) => x[0] - y[0]);
    this.list.splice(0, this.list.length, ...kept);
  }
}

/** The layouts as the target holds them once all are written in order: from each, what later ones write over is left out. */
export function finalLayouts(layouts: readonly ImageLayout[]): ImageLayout[] {
  const later = new Spans();
  const out: ImageLayout[] = [];
  for (let i = layouts.length - 1; i >= 0; i--) {
    const l = layouts[i];
    const regions: ImageRegion[] = l.regions.flatMap((r) => later.outside(r.offset, r.offset + r.data.length).map(([a, b]) => ({ offset: a, data: r.data.subarray(a - r.offset, b - r.offset) })));
    const extents: ImageExtent[] = l.extents.flatMap((e) => later.outside(e.offset, e.offset + e.size).map(([a, b]) => ({ ...e, offset: a, size: b - a, sourceOffset: e.sourceOffset + (a - e.offset) })));
    out.unshift({ ...l, regions, extents });
    for (const r of l.regions) later.add(r.offset, r.offset + r.data.length);
    for (const e of l.extents) later.add(e.offset, e.offset + e.size);
  }
  return out;
}
