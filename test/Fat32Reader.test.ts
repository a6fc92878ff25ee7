// The FAT32 reader: volumes made by mkfs.fat + mcopy read as mtools reads them, and hostile volumes (loops, cross-links,
// out-of-range clusters, directories that never end) end in an InputError naming the file, quickly.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../electron/engine/errors.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { planFat32, FAT_EOC } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { openFat32, type Fat32Volume } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { requireOrSkip, tempDir } from './helpers.js';
import { MT_ENV, listTree, missingFatTools, must, mtoolsCopyAll, mtoolsPaths, pattern, sha256, sha256File } from './support/fat32Tools.js';

const MiB = 1024 * 1024;
const T0 = new Date('2025-06-01T12:00:00Z');

/** A source tree with what mcopy must carry: long, mixed-case and unicode names, nesting, many files, an empty file. */
function sourceTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const put = (rel: string, data: Buffer): void => {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, data);
    files.set(rel, data);
  };
  put('rand.bin', pattern(100_000, 1));
  put('README.TXT', Buffer.from('readme'));
  put('Long File Name With Spaces.txt', Buffer.from('long'));
  put('Ünïcødé ß 日本語.txt', Buffer.from('unicode'));
  put('empty.dat', Buffer.alloc(0));
  put('Sub Folder/Deeper/deepest file.bin', pattern(1_200_000, 2));
  put('Sub Folder/SHORT.DAT', pattern(3000, 3));
  for (let i = 0; i < 150; i++) put(`many/item ${i} of many.txt`, Buffer.from(`item ${i}`));
  return files;
}

function makeMkfsImage(dir: string, partitioned: boolean, files: string): { img: string; offset: number } {
  const img = join(dir, partitioned ? 'part.img' : 'floppy.img');
  if (partitioned) {
    const fd = openSync(img, 'w');
    ftruncateSync(fd, 64 * MiB);
    closeSync(fd);
    must('sh', ['-c', `echo 'start=2048,type=c,bootable' | ${'sfdisk'} -q ${img}`], { PATH: `${process.env.PATH}:/usr/sbin:/sbin` });
    must('mkfs.fat', ['-F', '32', '-s', '1', '--offset', '2048', '-n', 'MKFS LABEL', img]);
  } else {
    must('mkfs.fat', ['-F', '32', '-s', '1', '-n', 'FLOPPY', '-C', img, String(40 * 1024)]);
  }
  const offset = partitioned ? MiB : 0;
  must('mcopy', ['-s', '-i', partitioned ? `${img}@@1M` : img, ...files.split('\n'), '::/'], MT_ENV);
  return { img, offset };
}

describe('reading volumes made by mkfs.fat -F 32 and mcopy', () => {
  for (const partitioned of [false, true]) {
    test(`${partitioned ? 'MBR partition 1 (found from the MBR)' : 'a volume at byte 0'}: the same listing and bytes as mtools`, (t) => {
      const missing = missingFatTools(['mkfs.fat', ...(partitioned ? ['sfdisk'] : [])]);
      if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
      const dir = tempDir(t, 'tsmedia-fat32-read-');
      const src = join(dir, 'src');
      const content = sourceTree(src);
      const { img, offset } = makeMkfsImage(dir, partitioned, ['rand.bin', 'README.TXT', 'Long File Name With Spaces.txt', 'Ünïcødé ß 日本語.txt', 'empty.dat', 'Sub Folder', 'many'].map((n) => join(src, n)).join('\n'));
      const v = openFat32(img);
      try {
        assert.equal(v.offset, offset);
        assert.equal(v.label, partitioned ? 'MKFS LABEL' : 'FLOPPY');
        assert.equal(v.clusterSize, 512);
        const mt = mtoolsPaths(img, offset);
        assert.deepEqual(v.files().map((f) => f.path).sort(), mt.filter((p) => !p.endsWith('/')));
        assert.deepEqual(v.directories().sort(), mt.filter((p) => p.endsWith('/')).map((p) => p.slice(0, -1)));
        assert.deepEqual(v.files().map((f) => f.path).sort(), [...content.keys()].sort());
        const out = join(dir, 'out');
        mkdirSync(out);
        mtoolsCopyAll(img, offset, out);
        const tree = listTree(out);
        for (const f of v.files()) {
          const mine = v.readFileBuffer(f.path);
          assert.equal(f.size, mine.length);
          assert.equal(sha256(mine), sha256File(tree.get(f.path) as string), `${f.path}: our bytes and mcopy's`);
          assert.equal(sha256(mine), sha256(content.get(f.path) as Buffer), `${f.path}: our bytes and the source`);
        }
        const info = must('minfo', ['-i', offset ? `${img}@@1M` : img, '::'], MT_ENV).stdout;
        const free = Number(/free clusters=(\d+)/.exec(info)?.[1]);
        assert.equal(v.freeClusters(), free, 'free clusters counted in the FAT = FSInfo as mtools keeps it');
        assert.equal(v.fsInfo()?.freeClusters, free);
      } finally {
        v.close();
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------------------
// Hostile volumes

interface Base {
  img: string;
  loop: { cluster: number };
  other: { cluster: number };
  dirCluster: number;
  firstFree: number;
  fatOffset: number;
  rootOffset: number;
  longSlots: { first: number; slot: number };
}

function baseImage(dir: string): Base {
  const img = join(dir, 'base.img');
  const plan = planFat32({
    diskBytes: 40 * MiB,
    label: 'hostile',
    files: [
      { path: 'loop.bin', source: { kind: 'buffer', data: pattern(5 * 512, 1), label: 'loop' } },
      { path: 'other.bin', source: { kind: 'buffer', data: pattern(3 * 512, 2), label: 'other' } },
      { path: 'Long Name.txt', source: { kind: 'buffer', data: Buffer.from('long'), label: 'long' } },
      { path: 'dir/inner.txt', source: { kind: 'buffer', data: Buffer.from('inner'), label: 'inner' } },
    ],
    timestamp: T0,
  });
  const fd = openSync(img, 'w');
  writeImage(plan, fd, { gaps: 'sparse' });
  ftruncateSync(fd, 40 * MiB);
  closeSync(fd);
  const v = openFat32(img);
  try {
    const find = (p: string): { cluster: number } => ({ cluster: v.find(p)?.cluster as number });
    const root = v.readDirectory('') ?? assert.fail('no root');
    const dirEntry = root.entries.find((e) => e.name === 'dir') ?? assert.fail('no dir');
    const long = root.entries.find((e) => e.name === 'Long Name.txt') ?? assert.fail('no long name');
    return {
      img,
      loop: find('loop.bin'),
      other: find('other.bin'),
      dirCluster: dirEntry.cluster,
      firstFree: plan.usedClusters + 2,
      fatOffset: v.fatOffset(0),
      rootOffset: v.clusterOffset(v.rootCluster),
      longSlots: { first: long.firstSlot, slot: long.slot },
    };
  } finally {
    v.close();
  }
}

function patched(dir: string, base: Base, name: string, edit: (fd: number) => void): string {
  const p = join(dir, `${name}.img`);
  copyFileSync(base.img, p);
  const fd = openSync(p, 'r+');
  try {
    edit(fd);
  } finally {
    closeSync(fd);
  }
  return p;
}

const setFat = (fd: number, base: Base, cluster: number, value: number): void => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  writeSync(fd, b, 0, 4, base.fatOffset + cluster * 4);
};

function expectRefused(path: string, re: RegExp, use: (v: Fat32Volume) => unknown = (v) => v.files()): void {
  const started = performance.now();
  assert.throws(
    () => {
      const v = openFat32(path);
      try {
        use(v);
      } finally {
        v.close();
      }
    },
    (e: unknown) => {
      assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
      assert.match(e.message, re);
      return true;
    },
  );
  assert.ok(performance.now() - started < 2000, 'refused quickly');
}

test('hostile volumes end in an InputError naming the file, never a hang', (t) => {
  const dir = tempDir(t, 'tsmedia-fat32-hostile-');
  const base = baseImage(dir);
  const L = base.loop.cluster;
  // The clean volume reads.
  const v = openFat32(base.img);
  assert.equal(v.files().length, 4);
  v.close();

  expectRefused(patched(dir, base, 'loop', (fd) => setFat(fd, base, L + 2, L)), /file "loop\.bin": cluster \d+ is in its chain twice.*loop/);
  expectRefused(patched(dir, base, 'range', (fd) => setFat(fd, base, L + 1, 0x0ffffff0)), /file "loop\.bin": its cluster chain reaches cluster 268435440, outside the volume/);
  expectRefused(patched(dir, base, 'short', (fd) => setFat(fd, base, L + 1, FAT_EOC)), /file "loop\.bin": its cluster chain ends after 2 clusters; its size needs 5/);
  expectRefused(patched(dir, base, 'long', (fd) => setFat(fd, base, L + 4, base.firstFree)), /file "loop\.bin": its cluster chain goes on past the 5 clusters/);
  expectRefused(patched(dir, base, 'free', (fd) => setFat(fd, base, L + 1, 0)), /file "loop\.bin": its cluster chain runs into free cluster/);
  expectRefused(patched(dir, base, 'dirloop', (fd) => setFat(fd, base, base.dirCluster, base.dirCluster)), /folder "dir": cluster \d+ is in its chain twice/);
  // A directory whose chain runs on through 5,000 clusters (more than 65,536 entries' worth) without a loop.
  expectRefused(
    patched(dir, base, 'endless', (fd) => {
      const n = 5000;
      const b = Buffer.alloc(n * 4);
      for (let i = 0; i < n; i++) b.writeUInt32LE(base.firstFree + i + 1, i * 4);
      writeSync(fd, b, 0, b.length, base.fatOffset + base.firstFree * 4);
      setFat(fd, base, base.dirCluster, base.firstFree);
    }),
    /folder "dir": the directory never ends/,
  );
  // A subfolder whose entry points at the root: a loop in the tree.
  expectRefused(
    patched(dir, base, 'toroot', (fd) => {
      const root = Buffer.alloc(512);
      const tmp = openFat32(base.img);
      const entry = tmp.readDirectory('')?.entries.find((e) => e.name === 'dir');
      tmp.close();
      const at = base.rootOffset + (entry?.slot as number) * 32;
      root.writeUInt16LE(2, 0);
      writeSync(fd, root, 0, 2, at + 26);
    }),
    /folder "dir": cluster 2 is in its chain twice or also in another file's/,
  );
  // other.bin's entry pointing into loop.bin's clusters: a cross-link.
  expectRefused(
    patched(dir, base, 'cross', (fd) => {
      const tmp = openFat32(base.img);
      const entry = tmp.readDirectory('')?.entries.find((e) => e.name === 'other.bin');
      tmp.close();
      const b = Buffer.alloc(2);
      b.writeUInt16LE(L + 2);
      writeSync(fd, b, 0, 2, base.rootOffset + (entry?.slot as number) * 32 + 26);
    }),
    /file "other\.bin": cluster \d+ is in its chain twice or also in another file's/,
  );
  // Not FAT32 at all, truncated, or GPT.
  expectRefused(
    patched(dir, base, 'garbage', (fd) => writeSync(fd, pattern(512, 7), 0, 512, 0)),
    /neither a FAT boot sector nor an MBR/,
    () => undefined,
  );
  const trunc = patched(dir, base, 'trunc', () => undefined);
  truncateSync(trunc, 20 * MiB);
  expectRefused(trunc, /the image is truncated/, () => undefined);
  expectRefused(
    patched(dir, base, 'gpt', (fd) => writeSync(fd, Buffer.from([0xee]), 0, 1, 446 + 4)),
    /GPT partition table; give the byte offset/,
    () => undefined,
  );
  // A long name whose checksum does not match its short entry: the 8.3 name is used, as Windows would.
  const bad = patched(dir, base, 'checksum', (fd) => writeSync(fd, Buffer.from([0x00]), 0, 1, base.rootOffset + base.longSlots.first * 32 + 13));
  const r = openFat32(bad);
  try {
    assert.deepEqual(r.files().map((f) => f.path).sort(), ['LONGNA~1.TXT', 'dir/inner.txt', 'loop.bin', 'other.bin']);
  } finally {
    r.close();
  }
});

test('a FAT16 volume is refused as not FAT32', (t) => {
  const missing = missingFatTools(['mkfs.fat']);
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t, 'tsmedia-fat16-');
  const img = join(dir, 'fat16.img');
  must('mkfs.fat', ['-F', '16', '-C', img, String(40 * 1024)]);
  expectRefused(img, /FAT12 or FAT16 volume, not FAT32/, () => undefined);
  assert.ok(readFileSync(img).length > 0);
});
