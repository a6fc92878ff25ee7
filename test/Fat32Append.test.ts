// Adding files to a FAT32 volume that is already formatted (mkfs.fat + mcopy, or ours): only the changed sectors and
// the new data are written, fsck.fat stays clean, mtools sees old and new files byte-identical; replacing, fragmented
// free space, and the refusals (full, not FAT32, a file where a folder is).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../electron/engine/errors.js';
import type { ImageLayout } from '../electron/engine/io/ImageLayout.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { estimateFat32Fits, planFat32, type FatFile } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { planFat32Append, type Fat32AppendPlan } from '../electron/engine/formats/fat32/Fat32Append.js';
import { requireOrSkip, tempDir } from './helpers.js';
import { MT_ENV, appendToImage, assertFsckClean, fsckVolume, listTree, missingFatTools, must, mtoolsCopyAll, mtoolsHash, mtoolsPaths, pattern, sha256, sha256File } from './support/fat32Tools.js';

const MiB = 1024 * 1024;
const T1 = new Date('2025-07-01T08:30:00Z');
const buf = (data: Buffer | string, label = 'new'): FatFile['source'] => ({ kind: 'buffer', data: Buffer.isBuffer(data) ? data : Buffer.from(data), label });

const append = (img: string, files: FatFile[], directories: string[] = []): Fat32AppendPlan => appendToImage(img, files, directories, T1);

/** Every 512-byte sector that changed lies inside a region or an extent of the plan. */
function assertOnlyPlannedSectorsChanged(before: Buffer, after: Buffer, plan: ImageLayout): number {
  const spans = [...plan.regions.map((r) => [r.offset, r.offset + r.data.length]), ...plan.extents.map((e) => [e.offset, e.offset + e.size])];
  let changed = 0;
  for (let s = 0; s < before.length; s += 512) {
    if (before.subarray(s, s + 512).equals(after.subarray(s, s + 512))) continue;
    changed++;
    assert.ok(
      spans.some(([a, b]) => s + 512 > a && s < b),
      `sector at byte ${s} changed but is not in the plan`,
    );
  }
  return changed;
}

test('adds files to a mkfs.fat + mcopy volume: only changed sectors written, fsck clean, old and new files identical', (t) => {
  const missing = missingFatTools(['mkfs.fat', 'sfdisk']);
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t, 'tsmedia-fat32-append-');
  const img = join(dir, 'usb.img');
  const fd = openSync(img, 'w');
  ftruncateSync(fd, 64 * MiB);
  closeSync(fd);
  must('sh', ['-c', `echo 'start=2048,type=c,bootable' | sfdisk -q ${img}`], { PATH: `${process.env.PATH}:/usr/sbin:/sbin` });
  must('mkfs.fat', ['-F', '32', '-s', '1', '--offset', '2048', '-n', 'OLD MEDIA', img]);
  // Old content: a few files, and a folder whose directory is nearly full (it must grow).
  const src = join(dir, 'src');
  const old = new Map<string, Buffer>();
  const put = (rel: string, data: Buffer): void => {
    mkdirSync(join(src, rel, '..'), { recursive: true });
    writeFileSync(join(src, rel), data);
    old.set(rel, data);
  };
  put('old.bin', pattern(50_000, 1));
  put('Old Folder/keep me.txt', Buffer.from('keep'));
  put('Old Folder/Replace Me.txt', Buffer.from('the old content, longer than the new'));
  for (let i = 0; i < 20; i++) put(`Old Folder/existing file ${i}.txt`, Buffer.from(`existing ${i}`));
  must('mcopy', ['-s', '-i', `${img}@@1M`, join(src, 'old.bin'), join(src, 'Old Folder'), '::/'], MT_ENV);
  const before = readFileSync(img);
  const chainBefore = (() => {
    const v = openFat32(img);
    try {
      return v.readDirectory('Old Folder')?.chain.length ?? 0;
    } finally {
      v.close();
    }
  })();

  const added = new Map<string, Buffer>([
    ['Old Folder/replace me.txt', Buffer.from('new content')],
    ['New Folder/Deep/Path/file.bin', pattern(100_000, 2)],
    ['NEW.TXT', Buffer.from('new')],
    ['EFI/BOOT/BOOTX64.EFI', pattern(30_000, 3)],
    ['empty new.dat', Buffer.alloc(0)],
    ['Ünïcødé nëw.txt', Buffer.from('unicode')],
  ]);
  for (let i = 0; i < 40; i++) added.set(`Old Folder/new file number ${i}.txt`, Buffer.from(`new ${i}`));
  const plan = append(
    img,
    [...added].map(([path, data]) => ({ path, source: buf(data, path) })),
    ['Empty New Folder'],
  );
  assert.deepEqual(plan.replaced, ['Old Folder/Replace Me.txt']);
  assert.deepEqual(plan.fragmented, []);
  const after = readFileSync(img);
  const changed = assertOnlyPlannedSectorsChanged(before, after, plan);
  console.log(`# append: ${plan.regions.length} regions (${plan.regions.reduce((n, r) => n + r.data.length, 0)} bytes), ${plan.extents.length} extents, ${changed} sectors changed`);
  assert.ok(changed < 600, `${changed} sectors changed`);

  assertFsckClean(fsckVolume(img, MiB, dir), 'after the append');
  // Expected: old files (the replaced one under its new name and content) and the new ones.
  const want = new Map(old);
  want.delete('Old Folder/Replace Me.txt');
  for (const [p, d] of added) want.set(p, d);
  const paths = mtoolsPaths(img, MiB);
  assert.deepEqual(
    paths.filter((p) => !p.endsWith('/')),
    [...want.keys()].sort(),
  );
  for (const f of ['Empty New Folder/', 'New Folder/Deep/Path/', 'EFI/BOOT/', 'Old Folder/']) assert.ok(paths.includes(f), f);
  const out = join(dir, 'out');
  mkdirSync(out);
  mtoolsCopyAll(img, MiB, out);
  const tree = listTree(out);
  for (const [p, d] of want) assert.equal(sha256File(tree.get(p) as string), sha256(d), p);
  // mkfs.fat's volume keeps its label; our reader agrees with mtools and counts free space as FSInfo now says.
  const v = openFat32(img);
  try {
    assert.equal(v.label, 'OLD MEDIA');
    const grown = v.readDirectory('old folder')?.chain.length ?? 0;
    assert.ok(grown > chainBefore, `the folder's directory grew from ${chainBefore} to ${grown} clusters`);
    assert.equal(v.fsInfo()?.freeClusters, v.freeClusters());
    assert.equal(v.freeClusters() * 512, plan.freeBytes);
    for (const [p, d] of want) assert.ok(v.readFileBuffer(p).equals(d), p);
    const info = must('minfo', ['-i', `${img}@@1M`, '::'], MT_ENV).stdout;
    assert.match(info, new RegExp(`free clusters=${v.freeClusters()}\\b`));
  } finally {
    v.close();
  }
});

/** Our own volume, filled with `n` equal files that leave `tail` bytes free. */
function fullVolume(dir: string, n: number, tail: number): { img: string; size: number; cs: number } {
  const diskBytes = 40 * MiB;
  const probe = estimateFat32Fits({ diskBytes, label: 'full', files: [] });
  const cs = probe.clusterSize;
  const size = Math.floor((probe.capacityBytes - probe.requiredBytes - tail) / n / cs) * cs;
  const files: FatFile[] = Array.from({ length: n }, (_, i) => ({ path: `fill/F${String(i).padStart(2, '0')}.BIN`, source: buf(Buffer.alloc(size, i + 1)) }));
  const plan = planFat32({ diskBytes, label: 'full', files, timestamp: T1 });
  const img = join(dir, 'full.img');
  const fd = openSync(img, 'w');
  writeImage(plan, fd, { gaps: 'sparse' });
  ftruncateSync(fd, diskBytes);
  closeSync(fd);
  return { img, size, cs };
}

test('fragmented free space: a file bigger than every hole is spread over the holes, fsck clean', async (t) => {
  const missing = missingFatTools(['mdel']);
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t, 'tsmedia-fat32-frag-');
  const { img, size } = fullVolume(dir, 30, 64 * 1024);
  // Delete every other file: 15 holes of `size` bytes.
  must('mdel', ['-i', `${img}@@1M`, ...Array.from({ length: 15 }, (_, i) => `::/fill/F${String(i * 2 + 1).padStart(2, '0')}.BIN`)], MT_ENV);
  const data = pattern(3 * size + 1000, 5);
  const plan = append(img, [
    { path: 'sources/install.swm', source: buf(data) },
    { path: 'small.txt', source: buf('fits in a hole') },
  ]);
  assert.deepEqual(plan.fragmented, ['sources/install.swm']);
  assertFsckClean(fsckVolume(img, MiB, dir), 'fragmented append');
  assert.equal(await mtoolsHash(img, MiB, 'sources/install.swm'), sha256(data));
  assert.equal(await mtoolsHash(img, MiB, 'fill/F00.BIN'), sha256(Buffer.alloc(size, 1)), 'an old file is untouched');
  const v = openFat32(img);
  try {
    const f = v.find('sources/install.swm');
    assert.ok((f?.runs.length ?? 0) >= 4, `${f?.runs.length} runs`);
    assert.ok(v.readFileBuffer('sources/install.swm').equals(data));
    assert.equal(v.readFileBuffer('small.txt').toString(), 'fits in a hole');
  } finally {
    v.close();
  }
});

test('replacing a file may reuse its own clusters: a same-size file on a full volume', async (t) => {
  const missing = missingFatTools();
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t, 'tsmedia-fat32-replace-');
  const { img, size } = fullVolume(dir, 1, 2048);
  const data = pattern(size, 6);
  const plan = append(img, [{ path: 'FILL/f00.bin', source: buf(data) }]);
  assert.deepEqual(plan.replaced, ['fill/F00.BIN']);
  assert.equal(plan.freedClusters, plan.allocatedClusters);
  assertFsckClean(fsckVolume(img, MiB, dir), 'replaced in place');
  assert.equal(await mtoolsHash(img, MiB, 'fill/f00.bin'), sha256(data));
  const v = openFat32(img);
  try {
    assert.deepEqual(
      v.files().map((f) => f.path),
      ['fill/f00.bin'],
    );
  } finally {
    v.close();
  }
});

test('refusals: not enough space (with the bytes missing), a file where a folder is, a FAT16 volume', (t) => {
  const dir = tempDir(t, 'tsmedia-fat32-refuse-');
  const { img, cs } = fullVolume(dir, 4, 256 * 1024);
  const v = openFat32(img);
  try {
    const free = v.freeClusters() * cs;
    const refused = (files: FatFile[], dirs: string[], re: RegExp): void => {
      assert.throws(
        () => planFat32Append(v, files, dirs, T1),
        (e: unknown) => e instanceof InputError && re.test(e.message),
      );
    };
    refused([{ path: 'too big.bin', source: { kind: 'file', path: '/nonexistent', size: free + 1, label: 'big' } }], [], new RegExp(`not enough free space.*; ${cs} bytes are missing`));
    refused([{ path: 'fill', source: buf('x') }], [], /"fill" is to be a file, but it is a folder on the volume/);
    refused([{ path: 'fill/F00.BIN/x.txt', source: buf('x') }], [], /"fill\/F00\.BIN" is a file on the volume/);
    refused([{ path: 'big.bin', source: { kind: 'file', path: '/nonexistent', size: 2 ** 32, label: 'big' } }], [], /4 GiB/);
    refused([{ path: 'a.txt', source: buf('x') }, { path: 'A.TXT', source: buf('y') }], [], /differ only in case/);
    // Exactly the free space fits.
    const ok = planFat32Append(v, [{ path: 'exact.bin', source: { kind: 'file', path: '/nonexistent', size: free, label: 'exact' } }], [], T1);
    assert.equal(ok.freeBytes, 0);
  } finally {
    v.close();
  }
  const missing = missingFatTools(['mkfs.fat']);
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const fat16 = join(dir, 'fat16.img');
  must('mkfs.fat', ['-F', '16', '-C', fat16, String(40 * 1024)]);
  assert.throws(() => openFat32(fat16), (e: unknown) => e instanceof InputError && /not FAT32/.test(e.message));
});
