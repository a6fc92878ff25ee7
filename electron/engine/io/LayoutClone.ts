// Layouts and sources sent to a worker thread arrive structured-cloned: their Buffers have become Uint8Arrays. These
// make them Buffers again (the same views over the same memory, no copy).
import type { ContentSource, ImageLayout } from './ImageLayout.js';

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function rehydrateSource(s: ContentSource): ContentSource {
  if (s.kind === 'buffer') return { ...s, data: buf(s.data) };
  if (s.kind === 'composite') return { ...s, pieces: s.pieces.map((p) => ('data' in p ? { data: buf(p.data) } : p)) };
  return s;
}

export function rehydrateLayout(layout: ImageLayout): ImageLayout {
  return {
    size: layout.size,
    regions: layout.regions.map((r) => ({ offset: r.offset, data: buf(r.data) })),
    extents: layout.extents.map((e) => ({ ...e, source: rehydrateSource(e.source) })),
    ...(layout.bootEnd !== undefined ? { bootEnd: layout.bootEnd } : {}),
  };
}
