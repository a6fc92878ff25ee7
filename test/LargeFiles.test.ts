// The 4 GiB rule's planning (electron/engine/media/LargeFiles.ts) on small limits: what stays whole, what is split
// into .swm parts and how the parts are named and sourced, what is refused and how the refusal reads. The parts'
// bytes, assembled from the sources planLargeFiles gives them, are those splitWimToFolder writes; that writer is
// checked against wimlib in WimSplit.test. Sparse WIMs: nothing here writes more than a few hundred kilobytes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import type { CompositePiece, ContentSource, ImageLayout } from '../electron/engine/io/ImageLayout.js';
import { planWimSplit, splitWimToFolder } from '../electron/engine/formats/wim/WimSplit.js';
import { layoutAsSource, planLargeFiles, refuseLargeFiles } from '../electron/engine/media/LargeFiles.js';
import type { MediaFile } from '../electron/engine/media/MediaPlan.js';
import { tempDir } from './helpers.js';
import { writeSparseWim } from './support/sparseWim.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The bytes a composite source stands for, read piece by piece. */
function compositeBytes(s: ContentSource): Buffer {
  assert.equal(s.kind, 'composite');
  if (s.kind !== 'composite') return Buffer.alloc(0);
  const read = (p: CompositePiece): Buffer => {
    if ('data' in p) return p.data;
    const b = Buffer.alloc(p.size);
    const fd = openSync(p.path, 'r');
    try {
      assert.equal(readSync(fd, b, 0, p.size, p.offset), p.size);
    } finally {
      closeSync(fd);
    }
    return b;
  };
  const out = Buffer.concat(s.pieces.map(read));
  assert.equal(out.length, s.size, 'the pieces add up to the size');
  return out;
}

const file = (path: string, size: number, source: ContentSource, packageId: string | null = 'SMP00001'): MediaFile => ({ path, size, sha256: 'AB'.repeat(32), source, role: 'package', packageId });

describe('planLargeFiles', () => {
  test('up to the limit whole; over it, WIMs split into parts named after them beside them, the rest refused', (t) => {
    const dir = tempDir(t);
    const blob = join(dir, 'blob-in-the-library');
    const wim = writeSparseWim(blob, [30_000, 30_000, 30_000]);
    const max = 70_000;
    const lib: ContentSource = { kind: 'library', blobPath: blob, size: wim.size, sha256: 'CD'.repeat(32), label: 'SMP00002 install' };
    const fromFile: ContentSource = { kind: 'file', path: blob, size: wim.size, label: 'boot image' };
    const files: MediaFile[] = [
      file('SMS/PKG/SMP00001/exact.bin', max, { kind: 'file', path: '/nonexistent', size: max, label: 'exact' }),
      file('SMS/PKG/SMP00001/over.iso', max + 1, { kind: 'file', path: '/nonexistent', size: max + 1, label: 'over' }),
      { ...file('SMS/PKG/SMP00002/sources/Install.WIM', wim.size, lib, 'SMP00002'), role: 'package' },
      { ...file('boot.wim', wim.size, fromFile, null), role: 'boot' },
      file('SMS/PKG/SMP00003/in-memory.wim', max + 1, { kind: 'buffer', data: Buffer.alloc(max + 1), label: 'memory' }, 'SMP00003'),
      file('SMS/PKG/SMP00003/a.wim.bak', max + 1, { kind: 'file', path: blob, size: max + 1, label: 'bak' }, 'SMP00003'),
      file('SMS/PKG/SMP00003/small.wim', 100, { kind: 'file', path: blob, size: 100, label: 'small' }, 'SMP00003'),
    ];
    const { report, files: out, splitSources } = planLargeFiles(files, max);

    const installPlan = planWimSplit(blob, max, 'Install');
    const bootPlan = planWimSplit(blob, max, 'boot');
    assert.ok(installPlan.length >= 2, `${installPlan.length} parts`);
    const installParts = installPlan.map((p) => `SMS/PKG/SMP00002/sources/${p.fileName}`);
    const bootParts = bootPlan.map((p) => p.fileName);
    assert.deepEqual(installParts.slice(0, 2), ['SMS/PKG/SMP00002/sources/Install000.swm', 'SMS/PKG/SMP00002/sources/Install001.swm']);
    assert.deepEqual(bootParts.slice(0, 2), ['boot000.swm', 'boot001.swm'], 'a WIM at the root: its parts at the root');

    assert.deepEqual(
      out.map((f) => f.path),
      ['SMS/PKG/SMP00001/exact.bin', ...installParts, ...bootParts, 'SMS/PKG/SMP00003/small.wim'],
      'files in plan order, each WIM replaced by its parts where it was',
    );
    assert.equal(out[0], files[0], 'a file within the limit is passed on as it is');
    assert.deepEqual(report.refused, [
      { path: 'SMS/PKG/SMP00001/over.iso', packageId: 'SMP00001', size: max + 1 },
      { path: 'SMS/PKG/SMP00003/in-memory.wim', packageId: 'SMP00003', size: max + 1 },
      { path: 'SMS/PKG/SMP00003/a.wim.bak', packageId: 'SMP00003', size: max + 1 },
    ]);
    assert.deepEqual(report.wims, [
      { path: 'SMS/PKG/SMP00002/sources/Install.WIM', packageId: 'SMP00002', size: wim.size, parts: installParts },
      { path: 'boot.wim', packageId: null, size: wim.size, parts: bootParts },
    ]);
    assert.deepEqual(splitSources.map((s) => [s.wim, s.parts.map((p) => p.path)]), [
      [files[2], installParts],
      [files[3], bootParts],
    ]);

    // Each part: its size, the WIM's role and package, no hash yet, and a source whose bytes are the written part.
    const written = splitWimToFolder(blob, join(dir, 'written'), 'Install', max);
    const installFiles = out.slice(1, 1 + installParts.length);
    installFiles.forEach((p, i) => {
      assert.equal(p.size, installPlan[i].size);
      assert.equal(p.role, 'package');
      assert.equal(p.packageId, 'SMP00002');
      assert.equal(p.sha256, '');
      assert.equal(p.source.kind === 'composite' ? p.source.label : null, `SMP00002 install → ${installPlan[i].fileName}`);
      assert.equal(sha256(compositeBytes(p.source)), written[i].sha256, `${p.path}: the bytes written by splitWimToFolder`);
    });
    const bootFiles = out.slice(1 + installParts.length, -1);
    assert.deepEqual(bootFiles.map((p) => [p.role, p.packageId, p.size]), bootPlan.map((p) => ['boot', null, p.size]));
    assert.deepEqual(bootFiles.map((p) => (p.source.kind === 'composite' ? p.source.label : null)), bootPlan.map((p) => `boot image → ${p.fileName}`));

    // Only the last ".wim" is taken off for the parts' names.
    const twice = planLargeFiles([file('SMS/PKG/SMP00004/my.wim.v2.wim', wim.size, fromFile)], max);
    assert.equal(twice.report.wims[0].parts[0], 'SMS/PKG/SMP00004/my.wim.v2000.swm');
  });

  test('the default limit is FAT32\'s: a WIM of a few hundred kilobytes stays whole', (t) => {
    const dir = tempDir(t);
    const blob = join(dir, 'x.wim');
    const wim = writeSparseWim(blob, [300_000]);
    const f = file('x.wim', wim.size, { kind: 'file', path: blob, size: wim.size, label: 'x' });
    const r = planLargeFiles([f]);
    assert.deepEqual(r, { report: { wims: [], refused: [] }, files: [f], splitSources: [] });
  });
});

describe('layoutAsSource', () => {
  test('regions as data, extents as ranges of their files, gaps as zeros, in image order', (t) => {
    const dir = tempDir(t);
    const a = join(dir, 'a');
    writeFileSync(a, 'abcdefghijklmnopqrstuvwxyz');
    const layout: ImageLayout = {
      size: 40,
      regions: [
        { offset: 30, data: Buffer.from('TAIL') },
        { offset: 0, data: Buffer.from('HEAD') },
      ],
      extents: [
        { offset: 10, size: 5, sourceOffset: 3, source: { kind: 'file', path: a, size: 26, label: 'a' }, path: 'x' },
        { offset: 15, size: 2, sourceOffset: 0, source: { kind: 'library', blobPath: a, size: 26, sha256: '', label: 'lib' }, path: 'x' },
      ],
    };
    const s = layoutAsSource(layout, 'label');
    assert.deepEqual(s, {
      kind: 'composite',
      size: 40,
      label: 'label',
      pieces: [
        { data: Buffer.from('HEAD') },
        { data: Buffer.alloc(6) },
        { path: a, offset: 3, size: 5 },
        { path: a, offset: 0, size: 2 },
        { data: Buffer.alloc(13) },
        { data: Buffer.from('TAIL') },
        { data: Buffer.alloc(6) },
      ],
    });
    assert.equal(compositeBytes(s).toString('latin1'), `HEAD${'\0'.repeat(6)}defghab${'\0'.repeat(13)}TAIL${'\0'.repeat(6)}`);
    // Ending where the image ends: no empty piece after it.
    const exact = layoutAsSource({ ...layout, size: 34 }, 'l');
    assert.deepEqual(exact.kind === 'composite' ? exact.pieces.at(-1) : null, { data: Buffer.from('TAIL') });
    assert.equal(exact.kind === 'composite' ? exact.pieces.length : 0, 6);
  });

  test('an extent from a source with no path is a bug, named', () => {
    const layout: ImageLayout = { size: 4, regions: [], extents: [{ offset: 0, size: 4, sourceOffset: 0, source: { kind: 'buffer', data: Buffer.alloc(4), label: 'b' }, path: 'x' }] };
    assert.throws(() => layoutAsSource(layout, 'part.swm'), { message: 'layout bug: part.swm copies from a source with no path' });
  });
});

describe('refuseLargeFiles', () => {
  test('nothing refused: nothing thrown', () => {
    assert.equal(refuseLargeFiles({ wims: [{ path: 'a.wim', packageId: null, size: 5, parts: ['a000.swm'] }], refused: [] }), undefined);
  });

  test('refused files: one coded InputError naming each with its package and size, and what to do', () => {
    let caught: unknown;
    try {
      refuseLargeFiles({
        wims: [],
        refused: [
          { path: 'SMS/PKG/P1/a.iso', packageId: 'P1', size: 5_000_000_000 },
          { path: 'b.vhd', packageId: null, size: 4_294_967_296 },
        ],
      });
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof InputError);
    assert.equal(caught.code, 'FAT32_FILE_TOO_LARGE');
    assert.deepEqual(caught.params, { files: ['SMS/PKG/P1/a.iso', 'b.vhd'], count: 2 });
    assert.equal(
      caught.message,
      'FAT32 cannot hold a file of 4 GiB or more, and only WIM files can be split: SMS/PKG/P1/a.iso (P1, 5000000000 bytes); b.vhd (no package, 4294967296 bytes). Make the media as a CD/DVD set (--media iso, where UDF holds large files), or make those files smaller in their packages (e.g. split the archive) and redistribute them.',
    );
  });
});
