// Sources sent to a worker thread arrive structured-cloned: their Buffers have become Uint8Arrays. These
// make them Buffers again (the same views over the same memory, no copy).
import type { ContentSource } from './ImageLayout.js';

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function rehydrateSource(s: ContentSource): ContentSource {
  if (s.kind === 'buffer') return { ...s, data: buf(s.data) };
  if (s.kind === 'composite') return { ...s, pieces: s.pieces.map((p) => ('data' in p ? { data: buf(p.data) } : p)) };
  return s;
}
