// Packing media files onto discs: capacity kept, disc 1 first with the boot files and environment, splits in order.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { packDiscs, type Disc } from '../electron/engine/DiscSet.js';
import type { MediaFile, MediaFileRole } from '../electron/engine/MediaPlan.js';
import { discFileName, parseDiscSize } from '../shared/media.js';

const f = (path: string, size: number, role: MediaFileRole = 'package'): MediaFile => ({
  path,
  size,
  sha256: '0'.repeat(64),
  source: { kind: 'buffer', data: Buffer.alloc(0), label: path },
  role,
  packageId: null,
});

/** A stand-in for the ISO planner: data blocks plus a fixed cost per file and folder. */
const exact = (_files: MediaFile[]) => (d: Disc): number => 300 + d.parts.reduce((s, p) => s + Math.ceil(p.size / 2048) + 1, 0) + d.directories.length * 2;

describe('DiscSet', () => {
  test('unlimited: one disc with everything and every parent folder', () => {
    const files = [f('bootmgr', 100, 'boot'), f('SMS/PKG/A/x/y.bin', 10)];
    const discs = packDiscs(files, ['SMS/PKG/A/empty'], Infinity, exact(files));
    assert.equal(discs.length, 1);
    assert.deepEqual(discs[0].directories, ['SMS', 'SMS/PKG', 'SMS/PKG/A', 'SMS/PKG/A/empty', 'SMS/PKG/A/x']);
  });

  test('capacity is kept, the first disc holds boot and environment, split parts are contiguous and in order', () => {
    const MB = 1024 * 1024;
    const files = [
      f('SMS/PKG/A/a.bin', 30 * MB),
      f('bootmgr', 1 * MB, 'boot'),
      f('SMS/data/Variables.dat', 10_000, 'environment'),
      f('SMS/PKG/B/huge.wim', 100 * MB),
      f('SMS/PKG/C/c.bin', 5 * MB),
    ];
    const capacity = (40 * MB) / 2048;
    const discs = packDiscs(files, [], capacity, exact(files));
    for (const d of discs) assert.ok(exact(files)(d) <= capacity, 'each disc fits');
    assert.deepEqual(discs[0].parts.slice(0, 2).map((p) => p.path), ['bootmgr', 'SMS/data/Variables.dat']);
    const huge = discs.flatMap((d, i) => d.parts.filter((p) => p.path.endsWith('huge.wim')).map((p) => ({ ...p, disc: i })));
    assert.ok(huge.length >= 3, 'a 100 MB file over 40 MB discs takes three or more parts');
    let offset = 0;
    for (const p of huge) {
      assert.equal(p.sourceOffset, offset, 'parts follow each other');
      offset += p.size;
    }
    assert.equal(offset, 100 * MB);
    assert.deepEqual(huge.map((p) => p.disc), huge.map((_, i) => huge[0].disc + i), 'on consecutive discs');
    // Every byte of every file is placed exactly once.
    for (const [i, file] of files.entries()) {
      const total = discs.flatMap((d) => d.parts).filter((p) => p.file === i).reduce((s, p) => s + p.size, 0);
      assert.equal(total, file.size, file.path);
    }
  });

  test('boot files that do not fit one disc are refused', () => {
    const files = [f('sources/boot.wim', 50 * 1024 * 1024, 'boot')];
    assert.throws(() => packDiscs(files, [], (10 * 1024 * 1024) / 2048, exact(files)), /boot files and the task sequence environment alone need more than one disc/);
  });

  test('sizes and names', () => {
    assert.equal(parseDiscSize('DVD'), 'dvd');
    assert.equal(parseDiscSize('734003200'), 734003200);
    assert.equal(parseDiscSize('1000'), null, 'under 64 MiB');
    assert.equal(parseDiscSize('floppy'), null);
    assert.equal(discFileName('/x/media.iso', 1), '/x/media.iso');
    assert.equal(discFileName('/x/media.iso', 3), '/x/media-3.iso');
    assert.equal(discFileName('C:\\out.v2\\media', 2), 'C:\\out.v2\\media-2');
  });

});
