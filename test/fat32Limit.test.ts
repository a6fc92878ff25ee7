// The 4 GiB rule at its edge (issue 16): FAT32 holds a file of 4 GiB − 1 byte, not one of 4 GiB. One constant
// (FAT32_MAX_FILE) decides both what a USB run refuses or splits and how large a .swm part may grow, so a limit that is
// one byte too high lets a file or a part of exactly 4 GiB through. The content is sparse: nothing here writes gigabytes.
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import { FAT32_MAX_FILE } from '../electron/engine/formats/fat32/FatGeometry.js';
import { planFat32 } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { planWimSplit } from '../electron/engine/formats/wim/WimSplit.js';
import { planLargeFiles, type LargeFileReport } from '../electron/engine/media/LargeFiles.js';
import type { MediaFile } from '../electron/engine/media/MediaPlan.js';
import { createUsbMedia } from '../electron/engine/media/UsbMediaBuilder.js';
import { Site } from '../electron/engine/site/Site.js';
import type { UsbMediaRequest } from '../shared/media.js';
import { tempDir } from './helpers.js';
import { addLargeNonWimPackage, copySampleSite } from './support/sites.js';
import { sparseWimOverhead, writeSparseWim } from './support/sparseWim.js';

const GiB = 1024 ** 3;
const FOUR_GIB = 4 * GiB;

/** A sparse WIM of exactly `total` bytes: the data resources given, then one that fills it up. */
function sparseWim(path: string, firstSizes: readonly number[], total: number): void {
  const last = total - firstSizes.reduce((a, b) => a + b, 0) - sparseWimOverhead(firstSizes.length + 1);
  assert.ok(last > 0, 'the last resource has room');
  assert.equal(writeSparseWim(path, [...firstSizes, last]).size, total);
  assert.equal(statSync(path).size, total);
}

const mediaFile = (path: string, source: string): MediaFile => {
  const size = statSync(source).size;
  return { path, size, sha256: '', source: { kind: 'file', path: source, size, label: source }, role: 'package', packageId: 'SMP00098' };
};

/** planLargeFiles, then the FAT32 planner on what it gives (a 16 GiB drive): the files and their sizes on the volume. */
function throughFat32(files: MediaFile[]): { report: LargeFileReport; sizes: Map<string, number> } {
  const large = planLargeFiles(files);
  const plan = planFat32({ diskBytes: 16 * GiB, label: 'EDGE', files: large.files.map((f) => ({ path: f.path, source: f.source })), timestamp: new Date('2026-01-01T00:00:00Z') });
  assert.ok(plan.size > 0);
  return { report: large.report, sizes: new Map(large.files.map((f) => [f.path, f.size])) };
}

/** The sample site's SMP00010 with package SMP00098, to a 16 GiB image file. */
const usbRequest = (site: string, img: string): UsbMediaRequest => ({
  site, taskSequenceId: 'SMP00010', distributionPoints: [], password: null, unattended: false, startDate: null, expireDate: null,
  label: 'Edge', autorun: false, i386Binaries: false, variables: [], prestartCommand: null, prestartFiles: null, applications: [],
  packages: ['SMP00098'], driverPackages: [], staging: null, detectDependencies: true, timestamp: null, skipVerify: true,
  target: { kind: 'image', path: img, sizeBytes: 16 * GiB, replace: null }, format: true,
});

/** A USB image run of the sample site and package SMP00098, stopped once planned (nothing written). */
async function planUsb(site: string, dir: string): Promise<LargeFileReport> {
  const img = join(dir, 'usb.img');
  const req = usbRequest(site, img);
  const stop = new AbortController();
  const planned: { report: LargeFileReport | null } = { report: null };
  await assert.rejects(
    createUsbMedia(await Site.open(site), req, { userLogDir: null, signal: stop.signal, onPlan: (p) => { planned.report = p.largeFiles; stop.abort(); } }),
    (err: unknown) => err instanceof Error && err.name === 'CancelledError',
  );
  assert.ok(!existsSync(img), 'nothing left under the image name');
  assert.ok(planned.report, 'the run got as far as its plan');
  return planned.report;
}

describe('the 4 GiB rule at its edge', () => {
  test('the limit is 4 GiB − 1 byte', () => {
    assert.equal(FAT32_MAX_FILE, FOUR_GIB - 1);
  });

  test('USB run: a file that is no WIM of exactly 4 GiB is refused before anything is written, naming it', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    await addLargeNonWimPackage(site, dir, { size: FOUR_GIB });
    const img = join(dir, 'usb.img');
    const req = usbRequest(site, img);
    await assert.rejects(createUsbMedia(await Site.open(site), req, { userLogDir: null }), (err: unknown) =>
      err instanceof InputError && err.code === 'FAT32_FILE_TOO_LARGE' && err.message.includes(`SMS/PKG/SMP00098/archive.7z (SMP00098, ${FOUR_GIB} bytes)`));
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('usb.img')), [], 'nothing written');
  });

  test('USB run: a file that is no WIM of 4 GiB − 1 is taken whole', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    await addLargeNonWimPackage(site, dir, { size: FOUR_GIB - 1 });
    assert.deepEqual(await planUsb(site, dir), { wims: [], refused: [] });
  });

  test('planLargeFiles + the FAT32 planner: a WIM of exactly 4 GiB is split into .swm parts; one of 4 GiB − 1 is taken whole', (t) => {
    const dir = tempDir(t);
    const wim = join(dir, 'install.wim');
    sparseWim(wim, [3 * GiB], FOUR_GIB);
    const split = throughFat32([mediaFile('SMS/PKG/SMP00098/install.wim', wim)]);
    assert.deepEqual(split.report.refused, []);
    assert.deepEqual(split.report.wims.map((w) => [w.path, w.size, w.parts.length]), [['SMS/PKG/SMP00098/install.wim', FOUR_GIB, 2]]);
    for (const p of split.report.wims[0].parts) assert.ok((split.sizes.get(p) ?? Infinity) <= FAT32_MAX_FILE, `${p}: ${split.sizes.get(p)} bytes`);
    sparseWim(wim, [3 * GiB], FOUR_GIB - 1);
    const whole = throughFat32([mediaFile('SMS/PKG/SMP00098/install.wim', wim)]);
    assert.deepEqual(whole.report, { wims: [], refused: [] });
    assert.equal(whole.sizes.get('SMS/PKG/SMP00098/install.wim'), FOUR_GIB - 1);
  });

  test('planLargeFiles + the FAT32 planner: a .swm part holds at most 4 GiB − 2 bytes, the largest under the limit', (t) => {
    // Part 1 holds the metadata and, while it stays under the limit, the first data resource. The resource is sized so
    // part 1 would be exactly `target` bytes (its overhead measured once); the second resource fills the WIM to 5 GiB.
    const dir = tempDir(t);
    const wim = join(dir, 'install.wim');
    const total = 5 * GiB;
    sparseWim(wim, [3 * GiB], total);
    const overhead = planWimSplit(wim, FOUR_GIB, 'install')[0].size - 3 * GiB;
    for (const [target, parts] of [[FAT32_MAX_FILE - 1, 2], [FAT32_MAX_FILE, 3]] as const) {
      sparseWim(wim, [target - overhead], total);
      const { report, sizes } = throughFat32([mediaFile('SMS/PKG/SMP00098/install.wim', wim)]);
      const names = report.wims[0]?.parts ?? [];
      assert.equal(names.length, parts, `part 1 of ${target} bytes: ${parts} parts`);
      if (parts === 2) assert.equal(sizes.get(names[0]), FAT32_MAX_FILE - 1, 'part 1 as large as a part may be');
      for (const p of names) assert.ok((sizes.get(p) ?? Infinity) < FAT32_MAX_FILE, `${p}: ${sizes.get(p)} bytes`);
    }
  });

  test('the FAT32 planner alone: 4 GiB − 1 is placed, 4 GiB is refused naming the file', (t) => {
    const dir = tempDir(t);
    const edge = join(dir, 'edge.bin');
    const fd = openSync(edge, 'w');
    writeSync(fd, Buffer.from([1]), 0, 1, FOUR_GIB - 1); // a sparse file of exactly 4 GiB
    closeSync(fd);
    const plan = (size: number) => () =>
      planFat32({ diskBytes: 16 * GiB, label: 'EDGE', files: [{ path: 'a/edge.bin', source: { kind: 'file', path: edge, size: FOUR_GIB, label: edge }, size }], timestamp: new Date('2026-01-01T00:00:00Z') });
    assert.ok(plan(FOUR_GIB - 1)().size > FOUR_GIB - 1);
    assert.throws(plan(FOUR_GIB), (err: unknown) => err instanceof InputError && /file "a\/edge\.bin" is 4294967296 bytes: FAT32 holds files up to 4 GiB − 1 byte/.test(err.message));
  });
});
