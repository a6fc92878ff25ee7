// The FAT32 append planner's decisions, asserted exactly on a small volume with known holes (our planner's volume,
// files deleted by mdel): which free run each file gets (first fit, an exact fit, runs joined with a replaced file's
// clusters, fragmented in order), the FSInfo free count and next-free hint, regions sorted and joined, only the sectors
// that change written, FAT copies and FSInfo backups as the boot sector says, and each refusal word for word.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../electron/engine/errors.js';
import type { ContentSource } from '../electron/engine/io/ImageLayout.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { FAT_MAX_DIR_ENTRIES } from '../electron/engine/formats/fat32/FatGeometry.js';
import { planFat32, type FatFile } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { openFat32, type Fat32Volume, type FatRun } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { planFat32Append, type Fat32AppendPlan } from '../electron/engine/formats/fat32/Fat32Append.js';
import { MT_ENV, appendToImage, missingFatTools, must } from './support/fat32Tools.js';

const MiB = 1024 * 1024;
const T = new Date('2026-02-03T04:05:06Z');
const DISK = 40 * MiB;
const bytes = (n: number, fill = 1): ContentSource => ({ kind: 'buffer', data: Buffer.alloc(n, fill), label: `${n} bytes` });
const sized = (n: number): ContentSource => ({ kind: 'file', path: '/nonexistent/never-read.bin', size: n, label: 'sized' });

interface Layout {
  cs: number;
  bps: number;
  /** Free runs after the holes: h1 (1 cluster), h2 (3), h3 (2), the tail (2). */
  h1: number;
  h2: number;
  h3: number;
  tail: number;
  s1: number;
  late: number;
  keepCluster: number;
  keepChain: number[];
}

const missing = missingFatTools(['mdel']);
let work = '';
let fixture = '';
let L: Layout;

function withVolume<R>(img: string, fn: (v: Fat32Volume) => R): R {
  const v = openFat32(img);
  try {
    return fn(v);
  } finally {
    v.close();
  }
}

let copies = 0;
/** A fresh copy of the fixture volume, optionally patched at byte offsets of the volume. */
function copy(patch: [number, Buffer][] = []): string {
  const img = join(work, `v${copies++}.img`);
  copyFileSync(fixture, img);
  if (patch.length > 0) {
    const off = withVolume(img, (v) => v.offset);
    const fd = openSync(img, 'r+');
    try {
      for (const [at, b] of patch) writeSync(fd, b, 0, b.length, off + at);
    } finally {
      closeSync(fd);
    }
  }
  return img;
}

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

function runsOf(img: string, path: string): FatRun[] {
  return withVolume(img, (v) => v.find(path)?.runs ?? []);
}

/** Plans on the volume read-only, then writes; returns the plan and the image before and after. */
function appendAndDiff(img: string, files: FatFile[], dirs: string[] = []): { plan: Fat32AppendPlan; before: Buffer; after: Buffer } {
  const beforeImg = readFileSync(img);
  const plan = appendToImage(img, files, dirs, T);
  return { plan, before: beforeImg, after: readFileSync(img) };
}

/**
 * The regions are sorted, do not touch each other (touching ones are joined), and are exactly the sectors that change
 * outside the files' data: a sector written unchanged, or changed but not planned, fails.
 */
function assertRegionsExact(r: { plan: Fat32AppendPlan; before: Buffer; after: Buffer }, bps: number): void {
  const { plan, before: b, after: a } = r;
  for (let i = 1; i < plan.regions.length; i++) {
    const prev = plan.regions[i - 1];
    assert.ok(prev.offset + prev.data.length < plan.regions[i].offset, `region ${i} at ${plan.regions[i].offset} is sorted after, and apart from, the one before`);
  }
  for (let i = 1; i < plan.extents.length; i++) assert.ok(plan.extents[i - 1].offset < plan.extents[i].offset, 'extents sorted');
  const inExtent = (s: number): boolean => plan.extents.some((e) => s + bps > e.offset && s < e.offset + e.size);
  const planned = new Set<number>();
  for (const reg of plan.regions) {
    assert.equal(reg.data.length % bps, 0, 'whole sectors');
    for (let s = reg.offset; s < reg.offset + reg.data.length; s += bps) planned.add(s);
  }
  const changed = new Set<number>();
  for (let s = 0; s < b.length; s += bps) if (!inExtent(s) && !b.subarray(s, s + bps).equals(a.subarray(s, s + bps))) changed.add(s);
  // The FSInfo sectors are written whole even when their counts are what they were (a backup may already say so).
  for (const s of planned) if (s < plan.bootEnd!) changed.add(s);
  assert.deepEqual([...planned].sort((x, y) => x - y), [...changed].sort((x, y) => x - y), 'the sectors written are the sectors that change');
}

before(() => {
  if (missing.length > 0) return;
  work = mkdtempSync(join(tmpdir(), 'tsmedia-fat32-appendplan-'));
  const base = join(work, 'base.img');
  // Probe the cluster size, then lay out: H1 S1 H2 S2 H3 S3 PAD LATE, a long name, the folder Keep (20 long names).
  const files: FatFile[] = [];
  const add = (path: string, clusters: number, cs: number): void => void files.push({ path, source: bytes(clusters * cs - 7, files.length + 1) });
  const img0 = join(work, 'probe.img');
  const writeVol = (img: string, fs: FatFile[]): void => {
    const plan = planFat32({ diskBytes: DISK, label: 'PLAN', files: fs, timestamp: T });
    const fd = openSync(img, 'w');
    try {
      writeImage(plan, fd, { gaps: 'sparse' });
      ftruncateSync(fd, DISK);
    } finally {
      closeSync(fd);
    }
  };
  writeVol(img0, []);
  const cs = withVolume(img0, (v) => v.clusterSize);
  add('H1.BIN', 1, cs);
  // S1's data is an FSInfo sector by its signatures: a BPB pointing there must not make the planner write it.
  const s1 = Buffer.alloc(cs, 0x33);
  s1.writeUInt32LE(0x41615252, 0);
  s1.writeUInt32LE(0x61417272, 484);
  files.push({ path: 'S1.BIN', source: { kind: 'buffer', data: s1, label: 'S1' } });
  add('H2.BIN', 3, cs);
  add('S2.BIN', 1, cs);
  add('H3.BIN', 2, cs);
  add('S3.BIN', 1, cs);
  add('PAD.BIN', 130, cs);
  add('LATE.BIN', 1, cs);
  add('Long File Name.txt', 1, cs);
  for (let i = 0; i < 6; i++) files.push({ path: `E${i}.TXT`, source: bytes(0) });
  files.push({ path: 'Keep/Inner/A.TXT', source: bytes(0) });
  for (let i = 0; i < 19; i++) files.push({ path: `Keep/Long File Name ${String(i).padStart(2, '0')}.txt`, source: bytes(0) });
  writeVol(base, files);
  // Fill the rest but 2 clusters (the root has room for FILL.BIN's entry).
  const free = withVolume(base, (v) => v.freeClusters());
  appendToImage(base, [{ path: 'FILL.BIN', source: bytes((free - 2) * cs, 0) }], [], T);
  must('mdel', ['-i', `${base}@@${MiB}`, '::/H1.BIN', '::/H2.BIN', '::/H3.BIN'], MT_ENV);
  fixture = base;
  L = withVolume(base, (v) => {
    const runs: FatRun[] = [];
    v.scanFree((r) => runs.push(r));
    const at = (p: string): number => (v.find(p) as { cluster: number }).cluster;
    const keep = v.readDirectory('Keep');
    assert.ok(keep);
    const rootDir = v.readDirectory('');
    console.log(`# root ${rootDir?.endSlot} ${JSON.stringify(rootDir?.chain)} keep ${keep.endSlot} reserved ${v.reservedSectors} fsinfo ${v.fsInfoSectorNumber} backup ${v.backupBootSector}`);
    return {
      cs: v.clusterSize,
      bps: v.bytesPerSector,
      h1: runs[0].cluster,
      h2: runs[1].cluster,
      h3: runs[2].cluster,
      tail: runs[3].cluster,
      s1: at('S1.BIN'),
      late: at('LATE.BIN'),
      keepCluster: keep.cluster,
      keepChain: keep.chain,
    };
  });
  console.log(`# fixture: ${JSON.stringify(L)}`);
});

after(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('FAT32 append planner: decisions on a volume with known holes', { skip: missing.length > 0 ? `missing ${missing.join(', ')}` : false }, () => {
  test('the fixture has the holes it is made for', () => {
    const runs = withVolume(fixture, (v) => {
      const r: FatRun[] = [];
      v.scanFree((x) => r.push(x));
      return r;
    });
    assert.deepEqual(
      runs.map((r) => r.count),
      [1, 3, 2, 2],
    );
    assert.equal(L.s1, L.h1 + 1);
    assert.ok(L.h1 < L.h2 && L.h2 < L.h3 && L.h3 < L.tail);
  });

  const fsInfoOf = (img: string): { freeClusters: number; nextFree: number } | null => withVolume(img, (v) => v.fsInfo());
  const bootRegions = (plan: Fat32AppendPlan, img: string): number[][] =>
    withVolume(img, (v) => plan.regions.filter((r) => r.offset < v.fatOffset(0)).map((r) => [(r.offset - v.offset) / v.bytesPerSector, r.data.length]));

  test('first fit: a 3-cluster file skips the 1-cluster hole for the 3-cluster one; both holes used up exactly; extents sorted', () => {
    const img = copy();
    const r = appendAndDiff(img, [
      { path: 'Keep/X.BIN', source: bytes(3 * L.cs) },
      { path: 'Keep/Y.BIN', source: bytes(L.cs - 1) },
    ]);
    assert.deepEqual(runsOf(img, 'Keep/X.BIN'), [{ cluster: L.h2, count: 3 }]);
    assert.deepEqual(runsOf(img, 'Keep/Y.BIN'), [{ cluster: L.h1, count: 1 }]);
    assert.deepEqual(r.plan.fragmented, []);
    assert.deepEqual(
      r.plan.extents.map((e) => [e.path, e.size]),
      [
        ['Keep/Y.BIN', L.cs - 1],
        ['Keep/X.BIN', 3 * L.cs],
      ],
    );
    assert.equal(r.plan.allocatedClusters, 4);
    assert.equal(r.plan.freeBytes, 4 * L.cs);
    // FSInfo: 4 free, the next free cluster is the 2-cluster hole (both holes before it are gone).
    assert.deepEqual(fsInfoOf(img), { freeClusters: 4, nextFree: L.h3 });
    assertRegionsExact(r, L.bps);
  });

  test('fragmented: a file longer than every hole takes the holes in order, the rest of a hole stays for the next file', () => {
    const img = copy();
    const r = appendAndDiff(img, [
      { path: 'Keep/BIG.BIN', source: bytes(5 * L.cs) },
      { path: 'Keep/SMALL.BIN', source: bytes(10) },
    ]);
    assert.deepEqual(runsOf(img, 'Keep/BIG.BIN'), [
      { cluster: L.h1, count: 1 },
      { cluster: L.h2, count: 3 },
      { cluster: L.h3, count: 1 },
    ]);
    assert.deepEqual(runsOf(img, 'Keep/SMALL.BIN'), [{ cluster: L.h3 + 1, count: 1 }]);
    assert.deepEqual(r.plan.fragmented, ['Keep/BIG.BIN']);
    assert.deepEqual(
      r.plan.extents.map((e) => [e.offset, e.size, e.sourceOffset]),
      withVolume(img, (v) => [
        [v.clusterOffset(L.h1), L.cs, 0],
        [v.clusterOffset(L.h2), 3 * L.cs, L.cs],
        [v.clusterOffset(L.h3), L.cs, 4 * L.cs],
        [v.clusterOffset(L.h3 + 1), 10, 0],
      ]),
    );
    assert.deepEqual(fsInfoOf(img), { freeClusters: 2, nextFree: L.tail });
    assertRegionsExact(r, L.bps);
  });

  test("a replaced file's clusters join the holes around it: one run of 5 where the free space had 1 and 3", () => {
    const img = copy();
    const r = appendAndDiff(img, [{ path: 's1.bin', source: bytes(5 * L.cs) }]);
    assert.deepEqual(r.plan.replaced, ['S1.BIN']);
    assert.equal(r.plan.freedClusters, 1);
    assert.deepEqual(r.plan.fragmented, []);
    assert.deepEqual(runsOf(img, 's1.bin'), [{ cluster: L.h1, count: 5 }]);
    assert.deepEqual(fsInfoOf(img), { freeClusters: 4, nextFree: L.h3 });
    assertRegionsExact(r, L.bps);
  });

  test('FAT sectors are written in order: the freed entry one sector after the new one makes one region per FAT copy', () => {
    const img = copy();
    const r = appendAndDiff(img, [{ path: 'LATE.BIN', source: bytes(L.cs) }]);
    assert.deepEqual(r.plan.replaced, ['LATE.BIN']);
    assert.deepEqual(runsOf(img, 'LATE.BIN'), [{ cluster: L.h1, count: 1 }]);
    withVolume(img, (v) => {
      assert.equal(Math.floor((L.late * 4) / v.bytesPerSector), Math.floor((L.h1 * 4) / v.bytesPerSector) + 1);
      const fat = r.plan.regions.filter((x) => x.offset >= v.fatOffset(0) && x.offset < v.dataOffset).map((x) => [x.offset, x.data.length]);
      assert.deepEqual(fat, [
        [v.fatOffset(0), 2 * v.bytesPerSector],
        [v.fatOffset(1), 2 * v.bytesPerSector],
      ]);
    });
    assert.deepEqual(bootRegions(r.plan, img), [
      [1, L.bps],
      [7, L.bps],
    ]);
    assert.deepEqual(fsInfoOf(img), { freeClusters: 8, nextFree: L.h2 });
    assertRegionsExact(r, L.bps);
  });

  test("a full folder grows, a new folder of three clusters, its '..' is the folder's first cluster, 8.3 names without long entries", () => {
    const img = copy();
    const files: FatFile[] = [
      { path: 'Keep/NEW.TXT', source: bytes(0) },
      { path: 'Keep/more name.txt', source: bytes(0) },
    ];
    // 15 names of 3 slots each, with '.' and '..': 47 slots, three clusters.
    for (let i = 0; i < 15; i++) files.push({ path: `Keep/Sub/file number ${String(i).padStart(2, '0')}.txt`, source: bytes(0) });
    const r = appendAndDiff(img, files, ['Keep/Sub']);
    assert.equal(r.plan.allocatedClusters, 4);
    withVolume(img, (v) => {
      const keep = v.readDirectory('Keep');
      const sub = v.readDirectory('Keep/Sub');
      assert.ok(keep && sub);
      assert.deepEqual(keep.chain, [...L.keepChain, L.h1]);
      assert.deepEqual(sub.chain, [L.h2, L.h2 + 1, L.h2 + 2]);
      // Its three clusters are one region.
      assert.ok(r.plan.regions.some((x) => x.offset === v.clusterOffset(L.h2) && x.data.length === 3 * L.cs));
      assert.equal(sub.entries.length, 15);
      const clusterAt = (d: Buffer, slot: number): number => (d.readUInt16LE(slot * 32 + 20) << 16) | d.readUInt16LE(slot * 32 + 26);
      assert.equal(sub.data.toString('latin1', 0, 11), '.          ');
      assert.equal(clusterAt(sub.data, 0), L.h2);
      assert.equal(sub.data.toString('latin1', 32, 43), '..         ');
      assert.equal(clusterAt(sub.data, 1), L.keepCluster);
      const byName = new Map(keep.entries.map((e) => [e.name, e]));
      const exact = byName.get('NEW.TXT');
      const long = byName.get('more name.txt');
      assert.ok(exact && long);
      assert.equal(exact.short11, 'NEW     TXT');
      assert.equal(exact.firstSlot, exact.slot);
      assert.equal(long.firstSlot, long.slot - 1);
      assert.equal(long.short11, 'MORENA~1TXT');
      assert.equal(keep.endSlot, 66);
    });
    assert.deepEqual(fsInfoOf(img), { freeClusters: 4, nextFree: L.h3 });
    assertRegionsExact(r, L.bps);
    // The folder's first three clusters did not change and were not written.
    withVolume(img, (v) => {
      for (const c of L.keepChain.slice(0, 3)) assert.ok(!r.plan.regions.some((x) => x.offset <= v.clusterOffset(c) && v.clusterOffset(c) < x.offset + x.data.length), `cluster ${c}`);
    });
  });

  test('a folder passed through but unchanged is not rewritten: bytes after its end mark stay', () => {
    const probe = withVolume(fixture, (v) => v.clusterOffset(L.keepChain[3]) + 15 * 32 - v.offset);
    const junk = Buffer.alloc(32, 0x58);
    const img = copy([[probe, junk]]);
    const abs = withVolume(img, (v) => v.offset + probe);
    const r = appendAndDiff(img, [{ path: 'Keep/Inner/B.TXT', source: bytes(10) }]);
    assert.ok(r.after.subarray(abs, abs + 32).equals(junk));
    assert.ok(!r.plan.regions.some((x) => x.offset <= abs && abs < x.offset + x.data.length), 'no region over the folder');
    assertRegionsExact(r, L.bps);
  });

  test('only the active FAT is written when the boot sector says the FATs are not mirrored', () => {
    const img = copy([[40, u16(0x81)]]);
    const r = appendAndDiff(img, [{ path: 'Keep/Inner/B.TXT', source: bytes(10) }]);
    withVolume(img, (v) => {
      assert.equal(v.mirrored, false);
      const fat = r.plan.regions.filter((x) => x.offset >= v.fatOffset(0) && x.offset < v.dataOffset).map((x) => [x.offset, x.data.length]);
      assert.deepEqual(fat, [[v.fatOffset(1), v.bytesPerSector]]);
    });
    assertRegionsExact(r, L.bps);
  });

  test('FSInfo: no backup boot sector, one FSInfo written; a backup whose signatures are wrong is left alone', () => {
    const img = copy([[50, u16(0)]]);
    const r = appendAndDiff(img, [{ path: 'Keep/Inner/B.TXT', source: bytes(10) }]);
    assert.deepEqual(bootRegions(r.plan, img), [[1, L.bps]]);
    assert.deepEqual(fsInfoOf(img), { freeClusters: 7, nextFree: L.h2 });
    for (const at of [0, 484]) {
      const bad = copy([[7 * L.bps + at, u32(0x12345678)]]);
      const p = appendAndDiff(bad, [{ path: 'Keep/Inner/B.TXT', source: bytes(10) }]);
      assert.deepEqual(bootRegions(p.plan, bad), [[1, L.bps]], `signature at ${at}`);
      assertRegionsExact(p, L.bps);
    }
  });

  test('an FSInfo sector number past the reserved sectors is not written, even where the bytes look like FSInfo', () => {
    const s1Sector = withVolume(fixture, (v) => (v.clusterOffset(L.s1) - v.offset) / v.bytesPerSector);
    assert.ok(s1Sector < 65536);
    const img = copy([
      [48, u16(s1Sector)],
      [50, u16(0)],
    ]);
    const r = appendAndDiff(img, [{ path: 'Keep/Inner/B.TXT', source: bytes(10) }]);
    assert.deepEqual(bootRegions(r.plan, img), []);
    withVolume(img, (v) => assert.ok(!r.plan.regions.some((x) => x.offset === v.clusterOffset(L.s1))));
  });

  test('a volume without an FSInfo sector gets none, even where the backup boot sector has its signatures', () => {
    const sig = Buffer.alloc(L.bps);
    sig.writeUInt32LE(0x41615252, 0);
    sig.writeUInt32LE(0x61417272, 484);
    const img = copy([
      [48, u16(0)],
      [6 * L.bps, sig],
    ]);
    const r = appendAndDiff(img, [{ path: 'Keep/Inner/B.TXT', source: bytes(10) }]);
    assert.deepEqual(bootRegions(r.plan, img), []);
  });

  test('an FSInfo sector number equal to the reserved sectors (the first FAT sector, unused here) is not written', () => {
    const reserved = withVolume(fixture, (v) => v.reservedSectors);
    const sig = Buffer.alloc(L.bps);
    sig.writeUInt32LE(0x41615252, 0);
    sig.writeUInt32LE(0x61417272, 484);
    // FAT 1 is the active one and the FATs are not mirrored: FAT 0's first sector is not read, and holds the signatures.
    const img = copy([
      [40, u16(0x81)],
      [48, u16(reserved)],
      [50, u16(0)],
      [reserved * L.bps, sig],
    ]);
    const r = appendAndDiff(img, [{ path: 'Keep/Inner/B.TXT', source: bytes(10) }]);
    assert.deepEqual(bootRegions(r.plan, img), []);
    withVolume(img, (v) => assert.ok(!r.plan.regions.some((x) => x.offset < v.fatOffset(1)), 'nothing written before FAT 1'));
  });

  test('directories defaults to none', () => {
    withVolume(fixture, (v) => {
      const plan = planFat32Append(v, [{ path: 'Keep/Inner/ONE.BIN', source: bytes(L.cs) }], undefined, T);
      assert.equal(plan.allocatedClusters, 1);
      assert.deepEqual(
        plan.extents.map((e) => e.path),
        ['Keep/Inner/ONE.BIN'],
      );
    });
  });
});

describe('FAT32 append planner: refusals, word for word', { skip: missing.length > 0 ? `missing ${missing.join(', ')}` : false }, () => {
  const refused = (files: FatFile[], dirs: string[], message: string, timestamp: Date = T): void =>
    withVolume(fixture, (v) =>
      assert.throws(
        () => planFat32Append(v, files, dirs, timestamp),
        (e: unknown) => {
          assert.ok(e instanceof InputError, `an InputError, not ${String(e)}`);
          assert.equal(e.message, message.replaceAll('<img>', fixture));
          return true;
        },
      ),
    );
  const one = (path: string): FatFile => ({ path, source: bytes(1) });

  test('the timestamp', () => {
    refused([], [], 'timestamp: not a valid date.', new Date('not a date'));
    refused([], [], 'timestamp: not a valid date.', '2026-01-01' as unknown as Date);
  });

  test('paths: empty components, twice, differing in case, a file where a folder is (new or on the volume)', () => {
    refused([], ['a//b'], 'folder "a//b": an empty, "." or ".." path component.');
    refused([one('a//b')], [], 'file "a//b": an empty, "." or ".." path component.');
    refused([one('x.txt'), one('x.txt')], [], 'file "x.txt" is given twice.');
    refused([one('a.txt'), one('A.TXT')], [], 'files "a.txt" and "A.TXT" differ only in case; Windows sees them as the same file. Rename one.');
    refused([one('a.txt'), one('A.TXT/b.txt')], [], '"a.txt" is a new file, and "A.TXT/b.txt" needs it to be a folder.');
    refused([one('Keep/Inner/A.TXT/c.txt')], [], '<img>: "Keep/Inner/A.TXT" is a file on the volume, and "Keep/Inner/A.TXT/c.txt" needs it to be a folder.');
    refused([one('S1.BIN/x.txt')], [], '<img>: "S1.BIN" is a file on the volume, and "S1.BIN/x.txt" needs it to be a folder.');
    refused([one('DOCS')], ['Docs'], '"DOCS" is to be a file, but it is also a folder (of the new files or folders, or on the volume).');
    refused([one('new/x.txt'), one('NEW')], [], '"NEW" is to be a file, but it is also a folder (of the new files or folders, or on the volume).');
    refused([one('keep/inner')], [], '<img>: "keep/inner" is to be a file, but it is a folder on the volume.');
  });

  test("a new name that is an existing entry's short name", () => {
    const msg = (path: string, other: string): string => `<img>: "${path}" has the short name of "${other}" already in its folder; Windows would open that one. Rename it.`;
    refused([one('longfi~1.txt')], [], msg('longfi~1.txt', 'Long File Name.txt'));
    refused([], ['longfi~1.txt'], msg('longfi~1.txt', 'Long File Name.txt'));
    refused([], ['keep/LONGFI~1.TXT'], msg('Keep/LONGFI~1.TXT', 'Long File Name 00.txt'));
  });

  test('a folder of more than 65536 entries, the root and a new one', () => {
    const rootEnd = withVolume(fixture, (v) => (v.readDirectory('') as { endSlot: number }).endSlot);
    const many = (dir: string, n: number): FatFile[] => Array.from({ length: n }, (_, i) => ({ path: `${dir}F${String(i).padStart(6, '0')}`, source: bytes(0) }));
    const max = FAT_MAX_DIR_ENTRIES;
    refused(many('', max + 1 - rootEnd), [], `<img>: folder "/" would need ${max + 1} directory entries; FAT allows ${max}. Spread the files over more folders.`);
    refused(many('big/', max - 1), [], `<img>: folder "big" would need ${max + 1} directory entries; FAT allows ${max}. Spread the files over more folders.`);
    // Exactly 65536 passes that rule; the volume is then too small for the folder.
    const need = (max * 32) / L.cs;
    refused(
      many('big/', max - 2),
      [],
      `<img>: not enough free space: the files need ${need * L.cs} bytes (${need} clusters of ${L.cs} bytes), the volume has ${8 * L.cs} free; ${(need - 8) * L.cs} bytes are missing. Free space on the drive, or format it.`,
    );
  });

  test('not enough space: a new folder counts; a replaced file is counted, and said', () => {
    refused(
      [{ path: 'D/N.BIN', source: sized(8 * L.cs) }],
      [],
      `<img>: not enough free space: the files need ${9 * L.cs} bytes (9 clusters of ${L.cs} bytes), the volume has ${8 * L.cs} free; ${L.cs} bytes are missing. Free space on the drive, or format it.`,
    );
    refused(
      [{ path: 'S2.BIN', source: sized(10 * L.cs) }],
      [],
      `<img>: not enough free space: the files need ${10 * L.cs} bytes (10 clusters of ${L.cs} bytes), the volume has ${9 * L.cs} free (${L.cs} of them from files being replaced); ${L.cs} bytes are missing. Free space on the drive, or format it.`,
    );
  });
});
