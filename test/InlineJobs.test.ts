// Small image jobs run in the calling thread (io/InlineJobs): which ones do, and that they give what the workers give —
// the same bytes written with gaps left alone, the same hashes in the same spelling, the same errors naming the
// package, and a cancel that stops them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContentIntegrityError } from '../electron/engine/errors.js';
import { runImageJobs, type WorkerJob } from '../electron/engine/io/ImageJobs.js';
import type { ImageLayout } from '../electron/engine/io/ImageLayout.js';
import { CancelledError } from '../electron/engine/io/ImageWriter.js';
import { INLINE_BYTES, runsInline } from '../electron/engine/io/InlineJobs.js';
import { pattern, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** An image of 8 MiB filled with 0xEE and a layout writing a region, a 5 MiB blob and a composite into parts of it. */
function setup(dir: string, blobHash?: string): { image: string; layout: ImageLayout; blob: Buffer; expected: Buffer } {
  const image = join(dir, 'media.img');
  const before = Buffer.alloc(8 * MiB, 0xee);
  writeFileSync(image, before);
  const blob = pattern(5 * MiB + 777, 1);
  const blobPath = join(dir, 'blob');
  writeFileSync(blobPath, blob);
  const sidecar = pattern(300_000, 2);
  const sidePath = join(dir, 'side');
  writeFileSync(sidePath, sidecar);
  const head = Buffer.from('HEAD');
  const region = Buffer.alloc(4096, 0x11);
  const layout: ImageLayout = {
    size: before.length,
    regions: [{ offset: 512, data: region }],
    extents: [
      { offset: 2 * MiB, size: blob.length, sourceOffset: 0, path: 'SMS/PKG/DRV00001/driver.cab', source: { kind: 'library', blobPath, size: blob.length, sha256: (blobHash ?? sha(blob)).toUpperCase(), label: 'package DRV00001' } },
      {
        offset: 64 * 1024,
        size: head.length + 200_000,
        sourceOffset: 0,
        path: 'SMS/data/composite.bin',
        source: { kind: 'composite', size: head.length + 200_000, label: 'composite', pieces: [{ data: head }, { path: sidePath, offset: 100_000, size: 200_000 }] },
      },
    ],
  };
  const expected = Buffer.from(before);
  region.copy(expected, 512);
  blob.copy(expected, 2 * MiB);
  head.copy(expected, 64 * 1024);
  sidecar.copy(expected, 64 * 1024 + head.length, 100_000, 300_000);
  return { image, layout, blob, expected };
}

test('which jobs run in this thread: small file writes that skip gaps and hashes, not drives, zero-filled gaps, shares or large runs', (t) => {
  const dir = tempDir(t);
  const { image, layout } = setup(dir);
  const write: WorkerJob = { kind: 'write', path: image, layout, gaps: 'skip' };
  assert.equal(runsInline([write, { kind: 'hash', path: image }], {}), true);
  assert.equal(runsInline([{ ...write, gaps: 'zero' }], {}), false, 'a whole image with its gaps written');
  assert.equal(runsInline([{ ...write, target: 'device' }], {}), false, 'a drive');
  assert.equal(runsInline([{ ...write, sectorSize: 4096 }], {}), false, 'aligned writes');
  assert.equal(runsInline([write], { confirmedProgress: true }), false, 'a share');
  assert.equal(runsInline([{ kind: 'compare', path: image, layout }], {}), false, 'a read-back comparing with its layout');
  const big: ImageLayout = { size: INLINE_BYTES + MiB, regions: [], extents: [{ ...layout.extents[0], size: INLINE_BYTES + 1, source: { kind: 'file', path: image, size: INLINE_BYTES + 1, label: 'big' } }] };
  assert.equal(runsInline([{ kind: 'write', path: image, layout: big, gaps: 'skip' }], {}), false, 'more than INLINE_BYTES');
});

test('a write that skips gaps, then hashes: the bytes and results the workers give', async (t) => {
  const dir = tempDir(t);
  const { image, layout, blob, expected } = setup(dir);
  const seen: number[] = [];
  const results = await runImageJobs(
    [
      { kind: 'write', path: image, layout, gaps: 'skip' },
      { kind: 'hash', path: image },
      { kind: 'hash-source', source: layout.extents[0].source, label: 'package DRV00001' },
    ],
    { onProgress: (_i, _b, _p, done) => seen.push(done) },
  );
  assert.ok(readFileSync(image).equals(expected), 'the layout written, every gap left as it was');
  assert.deepEqual(results[0], { sha256: null, bytes: 4096 + blob.length + 4 + 200_000 });
  assert.deepEqual(results[1], { sha256: sha(expected), bytes: expected.length });
  assert.deepEqual(results[2], { sha256: sha(blob).toUpperCase(), bytes: blob.length });
  assert.equal(seen.at(-1), results[0].bytes + results[1].bytes + results[2].bytes);
  assert.ok(seen.every((n, i) => i === 0 || n >= seen[i - 1]), 'progress only goes forward');
});

test('a library blob that does not match its hash is a ContentIntegrityError naming the package; a tolerant hash reports it', async (t) => {
  const dir = tempDir(t);
  const { image, layout } = setup(dir, 'ab'.repeat(32));
  await assert.rejects(runImageJobs([{ kind: 'write', path: image, layout, gaps: 'skip' }]), (err: Error) => err instanceof ContentIntegrityError && /package DRV00001/.test(err.message) && /redistribute/.test(err.message));
  const gone = { kind: 'library' as const, blobPath: join(dir, 'missing'), size: 10, sha256: 'AB'.repeat(32), label: 'package GONE0001' };
  const [r] = await runImageJobs([{ kind: 'hash-source', source: gone, label: 'package GONE0001', tolerant: true }]);
  assert.equal(r.sha256, null);
  assert.match(r.error ?? '', /GONE0001|missing/);
});

test('a cancel stops the run with CancelledError', async (t) => {
  const dir = tempDir(t);
  const { image, layout } = setup(dir);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(runImageJobs([{ kind: 'write', path: image, layout, gaps: 'skip' }], { signal: ac.signal }), CancelledError);
});

test('hundreds of small files between regions, read ahead across files and jobs: every byte in place, every hash right, a tolerant failure in the middle named alone', async (t) => {
  const dir = tempDir(t);
  const image = join(dir, 'media.img');
  const size = 16 * MiB;
  writeFileSync(image, Buffer.alloc(size, 0xee));
  const expected = Buffer.alloc(size, 0xee);
  const extents: ImageLayout['extents'] = [];
  const regions: ImageLayout['regions'] = [];
  const sources: { path: string; data: Buffer }[] = [];
  let at = 4096;
  for (let i = 0; i < 300; i++) {
    const data = pattern(1 + ((i * 7919) % 30000), 100 + i);
    const path = join(dir, `f${i}.bin`);
    writeFileSync(path, data);
    sources.push({ path, data });
    extents.push({ offset: at, size: data.length, sourceOffset: 0, path: `SMS/PKG/P/f${i}.bin`, source: { kind: 'library', blobPath: path, size: data.length, sha256: sha(data).toUpperCase(), label: `f${i}` } });
    data.copy(expected, at);
    at += data.length;
    const region = Buffer.alloc(100, i & 0xff);
    regions.push({ offset: at, data: region });
    region.copy(expected, at);
    at += 100 + 512;
  }
  const layout: ImageLayout = { size, regions, extents };
  const hashJobs: WorkerJob[] = sources.slice(0, 20).map((s, i) => ({
    kind: 'hash-source',
    label: `f${i}`,
    tolerant: true,
    source: i === 7 ? { kind: 'file', path: join(dir, 'gone.bin'), size: 10, label: 'gone' } : { kind: 'file', path: s.path, size: s.data.length, label: `f${i}` },
  }));
  const results = await runImageJobs([{ kind: 'write', path: image, layout, gaps: 'skip' }, { kind: 'hash', path: image }, ...hashJobs]);
  assert.ok(readFileSync(image).equals(expected), 'every file and region at its offset, the gaps untouched');
  assert.equal(results[1].sha256, sha(expected), 'the hash after the write reads what was written');
  for (let i = 0; i < 20; i++) {
    const r = results[2 + i];
    if (i === 7) {
      assert.equal(r.sha256, null);
      assert.match(r.error ?? '', /gone/);
    } else assert.deepEqual(r, { sha256: sha(sources[i].data).toUpperCase(), bytes: sources[i].data.length }, `f${i}`);
  }
});
