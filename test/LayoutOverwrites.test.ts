// finalLayouts: of layouts written in turn, each keeps exactly the bytes no later one writes over — so comparing them
// with the target afterwards compares what it holds, and every byte written is compared once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ImageLayout } from '../electron/engine/io/ImageLayout.js';
import { finalLayouts } from '../electron/engine/io/LayoutOverwrites.js';

const SIZE = 4096;

test('property: the final layouts hold what the target holds at the end, each written byte once', () => {
  const piece = fc.record({ offset: fc.integer({ min: 0, max: SIZE - 1 }), length: fc.integer({ min: 1, max: 700 }), extent: fc.boolean() });
  fc.assert(
    fc.property(fc.array(fc.array(piece, { maxLength: 6 }), { minLength: 1, maxLength: 6 }), (steps) => {
      const source = Buffer.from(Array.from({ length: 2 * SIZE }, (_, i) => (i * 7 + 3) % 251));
      let fill = 1;
      const layouts: ImageLayout[] = steps.map((pieces) => {
        const l: ImageLayout = { size: SIZE, regions: [], extents: [] };
        const taken: [number, number][] = [];
        for (const p of pieces) {
          const length = Math.min(p.length, SIZE - p.offset);
          // Within one layout pieces never overlap (as a planner makes them); across layouts they may.
          if (taken.some(([a, b]) => p.offset < b && a < p.offset + length)) continue;
          taken.push([p.offset, p.offset + length]);
          if (p.extent) l.extents.push({ offset: p.offset, size: length, sourceOffset: p.offset, source: { kind: 'buffer', data: source, label: 's' }, path: 's' });
          else l.regions.push({ offset: p.offset, data: Buffer.alloc(length, fill++) });
        }
        return l;
      });
      // The target, written in order.
      const target = Buffer.alloc(SIZE);
      const written = new Uint8Array(SIZE);
      for (const l of layouts) {
        for (const r of l.regions) {
          r.data.copy(target, r.offset);
          written.fill(1, r.offset, r.offset + r.data.length);
        }
        for (const e of l.extents) {
          source.copy(target, e.offset, e.sourceOffset, e.sourceOffset + e.size);
          written.fill(1, e.offset, e.offset + e.size);
        }
      }
      const seen = new Uint8Array(SIZE);
      for (const l of finalLayouts(layouts)) {
        for (const r of l.regions) {
          for (let i = 0; i < r.data.length; i++) seen[r.offset + i] += 1;
          assert.ok(r.data.equals(target.subarray(r.offset, r.offset + r.data.length)), `region at ${r.offset} holds what the target holds`);
        }
        for (const e of l.extents) {
          for (let i = 0; i < e.size; i++) seen[e.offset + i] += 1;
          assert.ok(source.subarray(e.sourceOffset, e.sourceOffset + e.size).equals(target.subarray(e.offset, e.offset + e.size)), `extent at ${e.offset} holds what the target holds`);
        }
      }
      for (let i = 0; i < SIZE; i++) {
        if (written[i]) assert.equal(seen[i], 1, `byte ${i}: written, compared once`);
        else assert.equal(seen[i], 0, `byte ${i} compared, never written`);
      }
    }),
    { numRuns: 300 },
  );
});

test('a boot sector written three times is compared once, as the last write left it; a part overwritten is cut out', () => {
  const boot = (fill: number): ImageLayout => ({ size: 8192, regions: [{ offset: 0, data: Buffer.alloc(512, fill) }], extents: [] });
  const middle: ImageLayout = { size: 8192, regions: [{ offset: 1024, data: Buffer.alloc(2048, 9) }], extents: [] };
  const over: ImageLayout = { size: 8192, regions: [{ offset: 1536, data: Buffer.alloc(512, 8) }], extents: [] };
  const f = finalLayouts([boot(1), middle, boot(2), over, boot(3)]);
  assert.deepEqual(f.map((l) => l.regions.map((r) => [r.offset, r.data.length, r.data[0]])), [[], [[1024, 512, 9], [2048, 1024, 9]], [], [[1536, 512, 8]], [[0, 512, 3]]]);
});
