// The FAT32 planner: geometry by the Rufus table, names, refusals, and written images checked by tools nobody here
// wrote (fsck.fat, mtools, sfdisk) and by our own reader; a volume over 32 GB, a 3.9 GiB file, and a UEFI boot.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { InputError } from '../electron/engine/errors.js';
import { checkLayout, type ContentSource } from '../electron/engine/io/ImageLayout.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import {
  assignShortNames,
  clusterSizeFor,
  estimateFat32Fits,
  fat32Geometry,
  fatLabel,
  lfnChecksum,
  minimumFat32DiskBytes,
  planFat32,
  FAT32_MIN_CLUSTERS,
  type Fat32Options,
  type Fat32Plan,
  type FatFile,
} from '../electron/engine/formats/fat32/Fat32Volume.js';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { bootCodeSectors, putMbrCode } from '../electron/engine/formats/fat32/FatBiosBoot.js';
import { hasCommand, requireOrSkip, skipWhileMutating, tempDir } from './helpers.js';
import { OVMF, QEMU, bootIso } from './support/qemu.js';
import { buildBootStandIns, missingBootStandInTools } from './support/bootStandIns.js';
import {
  MT_ENV,
  assertFsckClean,
  fsckVolume,
  listTree,
  missingFatTools,
  must,
  mtoolsCopyAll,
  mtoolsHash,
  mtoolsPaths,
  pattern,
  roomyDir,
  sha256,
  sha256File,
  tool,
} from './support/fat32Tools.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const T0 = new Date('2025-06-01T12:00:00Z');
const buf = (data: Buffer | string, label = 'test'): ContentSource => ({ kind: 'buffer', data: Buffer.isBuffer(data) ? data : Buffer.from(data), label });

/** Writes a plan as a new image file: sparse gaps, then truncated to the drive size (what the app does). */
function writeSparse(plan: Fat32Plan, path: string, diskBytes: number): string {
  const fd = openSync(path, 'w');
  try {
    const r = writeImage(plan, fd, { gaps: 'sparse' });
    ftruncateSync(fd, diskBytes);
    return r.sha256;
  } finally {
    closeSync(fd);
  }
}

function expectInputError(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  });
}

describe('cluster size and geometry', () => {
  const table: [number, number][] = [
    [64 * MiB, 512],
    [128 * MiB, 1 * KiB],
    [256 * MiB, 2 * KiB],
    [8 * GiB, 4 * KiB],
    [16 * GiB, 8 * KiB],
    [32 * GiB, 16 * KiB],
    [2 * TiB, 32 * KiB],
  ];

  test('clusterSizeFor follows the table on both sides of every boundary', () => {
    const next = new Map([
      [512, 1 * KiB],
      [1 * KiB, 2 * KiB],
      [2 * KiB, 4 * KiB],
      [4 * KiB, 8 * KiB],
      [8 * KiB, 16 * KiB],
      [16 * KiB, 32 * KiB],
      [32 * KiB, 64 * KiB],
    ]);
    for (const [boundary, below] of table) {
      assert.equal(clusterSizeFor(boundary - 1), below, `just under ${boundary}`);
      assert.equal(clusterSizeFor(boundary), next.get(below), `at ${boundary}`);
    }
    assert.equal(clusterSizeFor(40 * MiB), 512);
    assert.equal(clusterSizeFor(4 * TiB), 64 * KiB);
  });

  test('planned drives around each boundary: the table size, 1 MiB-aligned data, reserved ≥ 32, a FAT that fits', () => {
    // The partition is the drive less 1 MiB: drive = boundary + 1 MiB puts the partition exactly on the boundary.
    for (const [boundary, below] of table.slice(3, 6)) {
      for (const [disk, want] of [
        [boundary + MiB - 512, below],
        [boundary + MiB, below * 2],
      ] as [number, number][]) {
        const g = fat32Geometry(disk);
        assert.equal(g.clusterSize, want, `drive ${disk}`);
        assert.ok(g.reservedSectors >= 32 && g.reservedSectors < 32 + 2048, `reserved ${g.reservedSectors}`);
        assert.equal((2048 + g.reservedSectors + 2 * g.fatSectors) % 2048, 0, 'data area on a 1 MiB boundary of the drive');
        assert.equal(g.dataStartSector, g.reservedSectors + 2 * g.fatSectors);
        assert.ok(g.fatSectors * 128 >= g.clusters + 2, 'FAT holds every cluster');
        assert.ok((g.fatSectors - 1) * 128 < g.clusters + 2 + 2 * 128 * 16, 'FAT not much bigger than needed');
        assert.ok(g.clusters >= FAT32_MIN_CLUSTERS);
        assert.equal(g.dataStartSector + g.clusters * g.sectorsPerCluster <= g.partitionSectors, true);
      }
    }
    // Drives above 2 TiB: the MBR partition stops at its 2^32-sector limit (so 32 KiB clusters, never 64 KiB).
    for (const disk of [2 * TiB - MiB, 2 * TiB + MiB, 4 * TiB]) {
      const g = fat32Geometry(disk);
      assert.equal(g.clusterSize, 32 * KiB, `drive ${disk}`);
      assert.ok(2048 + g.partitionSectors <= 0xffffffff, 'partition inside the MBR limit');
    }
  });

  test('just above 64, 128 and 256 MiB the table size leaves < 65,525 clusters: the next smaller size is used', () => {
    for (const [disk, table, used] of [
      [65 * MiB, 1024, 512],
      [129 * MiB, 2048, 1024],
      [257 * MiB, 4096, 2048],
    ]) {
      assert.equal(clusterSizeFor(disk - MiB), table);
      const g = fat32Geometry(disk);
      assert.equal(g.clusterSize, used, `drive ${disk}`);
      assert.ok(g.clusters >= FAT32_MIN_CLUSTERS);
    }
    // Well above the steps the table's own size has room.
    assert.equal(fat32Geometry(100 * MiB).clusterSize, 1024);
    assert.equal(fat32Geometry(200 * MiB).clusterSize, 2048);
    assert.equal(fat32Geometry(1 * GiB).clusterSize, 4096);
  });

  test('a drive too small for FAT32 is refused, naming the smallest drive; that drive works', () => {
    const min = minimumFat32DiskBytes();
    assert.equal(min, 35_645_952);
    expectInputError(() => fat32Geometry(min - 512), new RegExp(`too small for FAT32.*smallest drive is ${min} bytes \\(35\\.6 MB\\)`));
    expectInputError(() => planFat32({ diskBytes: 16 * MiB, label: 'X', files: [], timestamp: T0 }), /too small for FAT32/);
    const g = fat32Geometry(min);
    assert.equal(g.clusters, FAT32_MIN_CLUSTERS);
    assert.equal(g.clusterSize, 512);
  });

  test('a 2 TB drive with 10,000 files plans (its speed: npm run bench), writing only the used part of the FATs', () => {
    const files: FatFile[] = [];
    const data = Buffer.alloc(100);
    for (let i = 0; i < 10_000; i++) files.push({ path: `SMS/PKG/P${Math.floor(i / 1000)}/file number ${i}.dat`, source: buf(data) });
    const started = performance.now();
    const plan = planFat32({ diskBytes: 2e12, label: 'Big drive', files, timestamp: T0 });
    const ms = performance.now() - started;
    checkLayout(plan);
    assert.equal(plan.clusterSize, 32 * KiB);
    const regionBytes = plan.regions.reduce((n, r) => n + r.data.length, 0);
    assert.ok(regionBytes < 8 * MiB, `regions take ${regionBytes} bytes`);
    assert.ok(plan.fatSectors * 512 > 200 * MiB, 'the whole FAT is large…');
    assert.ok(plan.size < plan.dataStart + 400 * MiB, `…but the layout ends after the used clusters (${plan.size})`);
    console.log(`# 2 TB drive, 10,000 files: planned in ${ms.toFixed(0)} ms, ${plan.regions.length} regions, ${regionBytes} bytes of metadata, FAT ${plan.fatSectors} sectors each`);
  });
});

describe('names', () => {
  test('fatLabel: 11 characters, upper case, forbidden characters as "_"', () => {
    assert.equal(fatLabel('Configuration Manager'), 'CONFIGURATI');
    assert.equal(fatLabel('my.media*disk'), 'MY_MEDIA_DI');
    assert.equal(fatLabel('Ünï 2025'), '_N_ 2025');
    assert.equal(fatLabel('cm   '), 'CM');
    assert.equal(fatLabel(''), '');
  });

  test('no label: "NO NAME" in the boot sector and no label entry', () => {
    const plan = planFat32({ diskBytes: 40 * MiB, label: '', files: [{ path: 'A.TXT', source: buf('a') }], timestamp: T0 });
    assert.equal(plan.label, '');
    const boot = plan.regions.find((r) => r.offset === MiB)?.data as Buffer;
    assert.equal(boot.toString('latin1', 71, 82), 'NO NAME    ');
    const root = plan.regions.find((r) => r.offset === plan.dataStart)?.data as Buffer;
    assert.equal(root[11] & 0x08, 0, 'the first root entry is not a label');
    assert.equal(root.toString('latin1', 0, 11), 'A       TXT');
  });

  test('short names as Windows makes them: exact 8.3 names kept, others with ~n tails and long-name entries', () => {
    const names = [
      'SMS',
      'README.TXT',
      'readme2.txt',
      'Long File Name.txt',
      'Long File Name 2.txt',
      'a+b.c.d.txt',
      '.bashrc',
      'verylongextension.html',
      'LONGFI~3.TXT',
      'Ünïcødé.txt',
      'x y',
    ];
    const got = assignShortNames(names).map((s) => `${s.short}${s.lfn ? '+lfn' : ''}`);
    assert.deepEqual(got, [
      'SMS        ',
      'README  TXT',
      'README2 TXT+lfn',
      'LONGFI~1TXT+lfn',
      'LONGFI~2TXT+lfn',
      'A_BCD~1 TXT+lfn',
      'BASHRC~1   +lfn',
      'VERYLO~1HTM+lfn',
      'LONGFI~3TXT', // an exact 8.3 name keeps itself: generated tails skip it
      '_N_C_D~1TXT+lfn',
      'XY~1       +lfn',
    ]);
    const many = assignShortNames(Array.from({ length: 10_000 }, (_, i) => `install part ${i}.swm`)).map((s) => s.short);
    assert.equal(new Set(many).size, 10_000, 'unique per folder');
    assert.equal(many[0], 'INSTAL~1SWM');
    assert.equal(many[9999], 'IN~10000SWM');
    // fatgen103's checksum, as every long-name entry of "LONGFI~1.TXT" carries it.
    let sum = 0;
    for (const c of Buffer.from('LONGFI~1TXT')) sum = (((sum & 1) << 7) + (sum >> 1) + c) & 0xff;
    assert.equal(lfnChecksum('LONGFI~1TXT'), sum);
  });

  test('names Windows cannot create are refused', () => {
    const plan = (path: string): unknown => planFat32({ diskBytes: 40 * MiB, label: 'X', files: [{ path, source: buf('x') }], timestamp: T0 });
    expectInputError(() => plan('a/b:c.txt'), /":"/);
    expectInputError(() => plan('what?.txt'), /"\?"/);
    expectInputError(() => plan('trailing.'), /ends with a period/);
    expectInputError(() => plan('dir /x.txt'), /ends with a period or a space/);
    expectInputError(() => plan('CON.txt'), /device name/);
    expectInputError(() => plan(`${'n'.repeat(256)}.txt`), /longer than 255/);
    expectInputError(
      () => planFat32({ diskBytes: 40 * MiB, label: 'X', files: [{ path: 'A.txt', source: buf('x') }, { path: 'a.TXT', source: buf('y') }], timestamp: T0 }),
      /differ only in case/,
    );
    expectInputError(
      () => planFat32({ diskBytes: 40 * MiB, label: 'X', files: [{ path: 'A', source: buf('x') }, { path: 'a/b', source: buf('y') }], timestamp: T0 }),
      /a file and also a folder/,
    );
  });
});

describe('refusals and estimates', () => {
  test('a file of 4 GiB or more is refused, naming it; 4 GiB − 1 byte is accepted', () => {
    const big = (size: number): FatFile => ({ path: 'sources/install.wim', source: { kind: 'file', path: '/nonexistent/install.wim', size, label: 'install.wim' } });
    expectInputError(() => planFat32({ diskBytes: 8 * GiB, label: 'X', files: [big(4 * GiB)], timestamp: T0 }), /file "sources\/install\.wim" is 4294967296 bytes.*Split it/);
    const plan = planFat32({ diskBytes: 8 * GiB, label: 'X', files: [big(4 * GiB - 1)], timestamp: T0 });
    assert.equal(plan.extents[0].size, 4 * GiB - 1);
  });

  test('estimateFat32Fits says what is free or missing; planFat32 refuses with the same numbers', () => {
    const files: FatFile[] = [{ path: 'a.bin', source: { kind: 'file', path: '/nonexistent', size: 30 * MiB, label: 'a' } }];
    const ok = estimateFat32Fits({ diskBytes: 64 * MiB, label: 'X', files });
    assert.equal(ok.fits, true);
    assert.equal(ok.shortBytes, 0);
    assert.equal(ok.freeBytes, ok.capacityBytes - ok.requiredBytes);
    assert.equal(ok.requiredBytes, 512 + 30 * MiB, 'the root directory cluster and the file');
    assert.ok(ok.neededBytes > ok.requiredBytes && ok.neededBytes < 64 * MiB);
    const plan = planFat32({ diskBytes: 64 * MiB, label: 'X', files, timestamp: T0 });
    assert.equal(plan.freeBytes, ok.freeBytes);
    assert.equal(plan.size, ok.neededBytes);
    const tooBig: FatFile[] = [{ path: 'a.bin', source: { kind: 'file', path: '/nonexistent', size: 60 * MiB, label: 'a' } }];
    const no = estimateFat32Fits({ diskBytes: 40 * MiB, label: 'X', files: tooBig });
    assert.equal(no.fits, false);
    assert.equal(no.freeBytes, 0);
    assert.equal(no.shortBytes, no.requiredBytes - no.capacityBytes);
    expectInputError(() => planFat32({ diskBytes: 40 * MiB, label: 'X', files: tooBig, timestamp: T0 }), new RegExp(`${no.shortBytes} bytes are missing`));
  });

  test('a folder needing more than 65,536 entries is refused', () => {
    const files: FatFile[] = Array.from({ length: 33_000 }, (_, i) => ({ path: `many/long name ${i}.txt`, source: buf('') }));
    expectInputError(() => planFat32({ diskBytes: 1 * GiB, label: 'X', files, timestamp: T0 }), /folder "many" would need 99002 directory entries/);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// A written image with everything a Configuration Manager medium has, and the awkward names

interface Rich {
  options: Fat32Options;
  /** Expected content by path (files) and the folder list. */
  content: Map<string, Buffer>;
  folders: string[];
}

function richMedia(dir: string): Rich {
  const content = new Map<string, Buffer>();
  const files: FatFile[] = [];
  const add = (path: string, data: Buffer, extra: Partial<FatFile> = {}, fromFile = false): void => {
    content.set(path, data);
    if (fromFile) {
      const p = join(dir, `src-${content.size}.bin`);
      writeFileSync(p, data);
      files.push({ path, source: { kind: 'file', path: p, size: data.length, label: path }, ...extra });
    } else files.push({ path, source: buf(data, path), ...extra });
  };
  add('README.TXT', Buffer.from('tsmedia FAT32 test\r\n'));
  add('EFI/BOOT/BOOTX64.EFI', pattern(200_000, 1), {}, true);
  add('Long File Name.txt', Buffer.from('long'));
  add('Long File Name 2.txt', Buffer.from('long 2'));
  add('mixed.Txt', Buffer.from('mixed'));
  add('Ünïcødé ß 日本語.txt', Buffer.from('unicode'));
  add('empty.bin', Buffer.alloc(0));
  add('cluster-1.bin', pattern(1023, 2));
  add('cluster.bin', pattern(1024, 3));
  add('cluster+1.bin', pattern(1025, 4));
  add('SMS/PKG/SMP00002/install.wim', pattern(3 * MiB + 17, 5), {}, true);
  add('hidden.sys', Buffer.from('hidden'), { attributes: 0x27 });
  add('dated.txt', Buffer.from('old'), { mtime: new Date('2001-02-03T04:05:06Z') });
  add(`${'n'.repeat(251)}.txt`, Buffer.from('255 characters'));
  add('d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/deep file.bin', pattern(5000, 6));
  for (let i = 0; i < 700; i++) add(`Many Files/file number ${String(i).padStart(4, '0')}.dat`, Buffer.from(`file ${i}\n`));
  const folders = ['Empty Folder', 'EFI', 'EFI/BOOT', 'SMS', 'SMS/PKG', 'SMS/PKG/SMP00002', 'Many Files'];
  for (let i = 1; i <= 10; i++) folders.push(Array.from({ length: i }, (_, k) => `d${k + 1}`).join('/'));
  return { options: { diskBytes: 100 * MiB, label: 'Configuration Manager', files, directories: ['Empty Folder'], timestamp: T0 }, content, folders };
}

describe('a written image, checked by sfdisk, fsck.fat, mtools and our reader', () => {
  const missing = missingFatTools(['mlabel', 'mattrib']); // sfdisk is checked by its own test
  let dir = '';
  let img = '';
  let rich: Rich;
  let plan: Fat32Plan;
  let imageSha = '';
  before(() => {
    dir = mkdtempSync(join(roomyDir(200 * MiB)?.dir ?? '/tmp', 'tsmedia-fat32-'));
    rich = richMedia(dir);
    plan = planFat32(rich.options);
    checkLayout(plan);
    img = join(dir, 'usb.img');
    imageSha = writeSparse(plan, img, rich.options.diskBytes);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the plan: written bytes end at the last used cluster; the image is sparse beyond', () => {
    assert.equal(statSync(img).size, rich.options.diskBytes);
    assert.equal(plan.partitionOffset, MiB);
    assert.equal(plan.dataStart % MiB, 0);
    const used = [...rich.content.values()].reduce((n, b) => n + Math.ceil(b.length / plan.clusterSize), 0);
    assert.ok(plan.usedClusters > used, 'directories take clusters too');
    assert.equal(plan.size, plan.dataStart + plan.usedClusters * plan.clusterSize);
    assert.equal(plan.freeBytes, (plan.clusters - plan.usedClusters) * plan.clusterSize);
    assert.ok(statSync(img).blocks * 512 < 12 * MiB, `${statSync(img).blocks * 512} bytes allocated`);
    // Identical input, identical image.
    const again = planFat32(rich.options);
    const fd = openSync(join(dir, 'again.img'), 'w');
    const r = writeImage(again, fd, { gaps: 'sparse' });
    closeSync(fd);
    rmSync(join(dir, 'again.img'));
    assert.equal(r.sha256, imageSha);
  });

  test('sfdisk: one partition at 2048, type c, bootable, to the end of the drive', (t) => {
    if (!requireOrSkip(t, tool('sfdisk') !== null, 'sfdisk missing (apt-get install fdisk)')) return;
    const out = must('sfdisk', ['-d', img]).stdout;
    console.log(`# sfdisk -d:\n${out.replace(/^/gm, '#   ')}`);
    const parts = out.split('\n').filter((l) => l.includes(' : start='));
    assert.equal(parts.length, 1, out);
    assert.match(parts[0], new RegExp(`start=\\s*2048, size=\\s*${rich.options.diskBytes / 512 - 2048}, type=c, bootable`));
    assert.match(out, /label: dos/);
  });

  test('fsck.fat -n -v finds nothing; the data area starts on a 1 MiB boundary', (t) => {
    if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
    const r = fsckVolume(img, MiB, dir);
    assertFsckClean(r, 'the written image');
    const out = (r as NonNullable<typeof r>).output;
    console.log(`# fsck.fat -n -v:\n${out.trim().replace(/^/gm, '#   ')}`);
    const m = /Data area starts at byte (\d+)/.exec(out);
    assert.ok(m, out);
    assert.equal((Number(m[1]) + MiB) % MiB, 0);
    assert.match(out, new RegExp(`${plan.reservedSectors} reserved sectors`));
    assert.match(out, /2 FATs, 32 bit entries/);
    assert.match(out, /Root directory start at cluster 2/);
    assert.match(out, new RegExp(`${plan.usedClusters}/${plan.clusters} clusters`));
  });

  test('minfo and mlabel: BPB, FSInfo and label', (t) => {
    if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
    const info = must('minfo', ['-i', `${img}@@1M`, '::'], MT_ENV).stdout;
    assert.match(info, /sector size: 512 bytes/);
    assert.match(info, new RegExp(`cluster size: ${plan.clusterSize / 512} sectors`));
    assert.match(info, new RegExp(`reserved \\(boot\\) sectors: ${plan.reservedSectors}`));
    assert.match(info, /fats: 2/);
    assert.match(info, /media descriptor byte: 0xf8/);
    assert.match(info, /hidden sectors: 2048/);
    assert.match(info, new RegExp(`Big fatlen=${plan.fatSectors}`));
    assert.match(info, /rootCluster=2/);
    assert.match(info, /infoSector location=1/);
    assert.match(info, /backup boot sector=6/);
    assert.match(info, /disk type="FAT32 {3}"/);
    assert.match(info, /disk label="CONFIGURATI"/);
    assert.match(info, new RegExp(`free clusters=${plan.clusters - plan.usedClusters}\\b`));
    const label = must('mlabel', ['-s', '-i', `${img}@@1M`, '::'], MT_ENV).stdout;
    assert.match(label, /Volume label is CONFIGURATI/);
    console.log(`# ${label.trim()}`);
  });

  test('mdir lists every name (long, mixed case, unicode, deep, 700 in one folder, empty, hidden)', (t) => {
    if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
    const got = mtoolsPaths(img, MiB);
    const want = [...rich.content.keys(), ...rich.folders.map((f) => `${f}/`)].sort();
    assert.deepEqual(got, want);
    const root = must('mdir', ['-a', '-i', `${img}@@1M`, '::/'], MT_ENV).stdout;
    assert.match(root, /LONGFI~1 TXT\s+4 2025-06-01\s+12:00\s+Long File Name\.txt/);
    assert.match(root, /README\s+TXT\s+20 2025-06-01/);
    assert.match(root, /DATED\s+TXT\s+3 2001-02-03\s+4:05\s+dated\.txt/);
    assert.match(root, /Ünïcødé ß 日本語\.txt/);
    const attrs = must('mattrib', ['-i', `${img}@@1M`, '::/hidden.sys', '::/README.TXT'], MT_ENV).stdout;
    assert.match(attrs, /A\s+SHR\s+::\/hidden\.sys/);
    assert.match(attrs, /A\s+::\/README\.TXT/);
  });

  test('mcopy reads every file back byte-identical', (t) => {
    if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
    const out = join(dir, 'out');
    mkdirSync(out);
    mtoolsCopyAll(img, MiB, out);
    const tree = listTree(out);
    assert.equal(tree.size, rich.content.size);
    for (const [path, data] of rich.content) {
      const p = tree.get(path);
      assert.ok(p, `mcopy did not produce ${path}`);
      assert.equal(sha256File(p), sha256(data), path);
    }
    rmSync(out, { recursive: true, force: true });
  });

  test('our reader: names, sizes, times, attributes, bytes, free space', () => {
    const v = openFat32(img);
    try {
      assert.equal(v.offset, MiB);
      assert.equal(v.label, 'CONFIGURATI');
      assert.equal(v.clusterSize, plan.clusterSize);
      assert.equal(v.freeClusters(), plan.clusters - plan.usedClusters);
      assert.deepEqual(v.fsInfo(), { freeClusters: plan.clusters - plan.usedClusters, nextFree: plan.usedClusters + 2 });
      const files = v.files();
      assert.deepEqual(files.map((f) => f.path).sort(), [...rich.content.keys()].sort());
      assert.deepEqual(v.directories().sort(), [...rich.folders].sort());
      for (const f of files) {
        const data = rich.content.get(f.path) as Buffer;
        assert.equal(f.size, data.length);
        assert.equal(f.runs.length, data.length > 0 ? 1 : 0, `${f.path} is contiguous`);
        assert.ok(v.readFileBuffer(f.path).equals(data), f.path);
      }
      const byPath = new Map(files.map((f) => [f.path, f]));
      assert.equal(byPath.get('hidden.sys')?.attributes, 0x27);
      assert.equal(byPath.get('README.TXT')?.attributes, 0x20);
      assert.equal(byPath.get('dated.txt')?.mtime.toISOString(), '2001-02-03T04:05:06.000Z');
      assert.equal(byPath.get('README.TXT')?.mtime.toISOString(), T0.toISOString());
      assert.equal(byPath.get('empty.bin')?.cluster, 0);
      assert.ok(v.readFileBuffer('sms/pkg/smp00002/INSTALL.WIM').equals(rich.content.get('SMS/PKG/SMP00002/install.wim') as Buffer), 'lookup ignores case');
      // The files sit in the order given, right after the directories.
      const clusters = rich.options.files.filter((f) => (rich.content.get(f.path) as Buffer).length > 0).map((f) => byPath.get(f.path)?.cluster as number);
      assert.deepEqual(clusters, [...clusters].sort((a, b) => a - b));
    } finally {
      v.close();
    }
  });
});

test('on a drive (gaps "zero"): the layout ends at the last used cluster and the rest of the drive is untouched', (t) => {
  const missing = missingFatTools();
  const dir = tempDir(t, 'tsmedia-fat32-drive-');
  const diskBytes = 48 * MiB;
  const drive = join(dir, 'drive.img');
  const fd = openSync(drive, 'w');
  const junk = Buffer.alloc(MiB, 0xaa);
  for (let i = 0; i < diskBytes / MiB; i++) writeSync(fd, junk, 0, MiB, i * MiB);
  const files: FatFile[] = [
    { path: 'EFI/BOOT/BOOTX64.EFI', source: buf(pattern(70_000, 9)) },
    { path: 'SMS/data/Variables.dat', source: buf(pattern(3000, 10)) },
  ];
  const plan = planFat32({ diskBytes, label: 'drive', files, timestamp: T0 });
  writeImage(plan, fd, { gaps: 'zero' });
  closeSync(fd);
  const img = readFileSync(drive);
  assert.ok(img.subarray(512, MiB).every((b) => b === 0), 'sectors 1–2047 zeroed');
  // Reserved sectors 2–3 hold part two of the BIOS boot code (and 8–9 its backup); 4–5 and 10 on are zeroed.
  assert.ok(img.subarray(MiB + 2 * 512, MiB + 4 * 512).equals(bootCodeSectors(512)), 'boot code part two in sectors 2–3');
  assert.ok(img.subarray(MiB + 8 * 512, MiB + 10 * 512).equals(bootCodeSectors(512)), 'its backup in sectors 8–9');
  assert.ok(img.subarray(MiB + 4 * 512, MiB + 6 * 512).every((b) => b === 0), 'reserved sectors 4–5 zeroed');
  assert.ok(img.subarray(MiB + 10 * 512, MiB + 32 * 512).every((b) => b === 0), 'reserved sectors 10–31 zeroed');
  assert.ok(img.subarray(MiB, MiB + 512).equals(img.subarray(MiB + 6 * 512, MiB + 7 * 512)), 'the backup boot sector is the boot sector');
  assert.ok(img.subarray(plan.dataStart - 512, plan.dataStart).every((b) => b === 0), 'the end of the FAT area zeroed');
  assert.ok(img.subarray(plan.size).every((b) => b === 0xaa), 'nothing written after the last used cluster');
  assert.equal(img.readUInt16LE(510), 0xaa55);
  const mbrCode = Buffer.alloc(512);
  putMbrCode(mbrCode);
  assert.ok(img.subarray(0, 440).equals(mbrCode.subarray(0, 440)), 'the MBR boot code in bytes 0–439');
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  assertFsckClean(fsckVolume(drive, MiB, dir), 'a drive with junk in its free clusters');
  const v = openFat32(drive);
  try {
    for (const f of files) assert.ok(v.readFileBuffer(f.path).equals((f.source as { data: Buffer }).data));
  } finally {
    v.close();
  }
});

test('one FAT32 volume over 32 GB: a 40 GiB sparse image, only the used prefix written', async (t) => {
  const missing = missingFatTools();
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const room = roomyDir(64 * MiB);
  if (!requireOrSkip(t, room !== null, 'no folder with 64 MiB free')) return;
  const dir = mkdtempSync(join((room as { dir: string }).dir, 'tsmedia-fat32-40g-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const diskBytes = 40 * GiB;
  const data = pattern(5 * MiB, 11);
  const plan = planFat32({
    diskBytes,
    label: 'BIG MEDIA',
    files: [
      { path: 'EFI/BOOT/BOOTX64.EFI', source: buf(pattern(100_000, 12)) },
      { path: 'sources/boot.wim', source: buf(data) },
    ],
    timestamp: T0,
  });
  assert.equal(plan.clusterSize, 32 * KiB);
  assert.ok(plan.clusters > 1_300_000);
  const img = join(dir, 'big.img');
  const started = performance.now();
  writeSparse(plan, img, diskBytes);
  const ms = performance.now() - started;
  const st = statSync(img);
  assert.equal(st.size, diskBytes);
  assert.ok(plan.size < 20 * MiB, `layout size ${plan.size}`);
  console.log(`# 40 GiB image: ${plan.clusters} clusters of 32 KiB, FATs of ${plan.fatSectors} sectors; layout ${plan.size} bytes, ${st.blocks * 512} allocated; written in ${ms.toFixed(0)} ms`);
  const r = fsckVolume(img, MiB, dir);
  if (r === null) {
    requireOrSkip(t, false, 'fsck.fat of a 40 GiB image needs a loop device (losetup, as root)');
    return;
  }
  assertFsckClean(r, '40 GiB image');
  console.log(`# fsck.fat via ${r.how}: ${r.output.trim().split('\n').pop()}`);
  assert.match(r.output, /32768 bytes per cluster/);
  assert.equal(await mtoolsHash(img, MiB, 'sources/boot.wim'), sha256(data));
  const v = openFat32(img);
  try {
    assert.equal(v.freeClusters(), plan.clusters - plan.usedClusters);
    assert.ok(v.readFileBuffer('sources/boot.wim').equals(data));
  } finally {
    v.close();
  }
});

test('a 3.9 GiB file (sparse source) is stored whole and reads back with the same SHA-256', async (t) => {
  if (!skipWhileMutating(t)) return;
  const missing = missingFatTools();
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const size = Math.floor(3.9 * GiB);
  const diskBytes = 4300 * MiB;
  const room = roomyDir(size + 512 * MiB);
  if (!requireOrSkip(t, room !== null, `needs ${((size + 512 * MiB) / GiB).toFixed(1)} GiB free in /dev/shm or the temp folder for the image`)) return;
  const dir = mkdtempSync(join((room as { dir: string }).dir, 'tsmedia-fat32-3g9-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'install.wim');
  const sfd = openSync(src, 'w');
  ftruncateSync(sfd, size);
  for (const at of [0, 1e9, 2e9, 3e9, size - 64]) writeSync(sfd, Buffer.from(`marker at ${at}`), 0, undefined, Math.floor(at));
  closeSync(sfd);
  const expected = sha256File(src);
  const plan = planFat32({
    diskBytes,
    label: 'big file',
    files: [
      { path: 'sources/install.wim', source: { kind: 'file', path: src, size, label: 'install.wim' } },
      { path: 'after.txt', source: buf('after the big one') },
    ],
    timestamp: T0,
  });
  const img = join(dir, 'usb.img');
  let started = performance.now();
  writeSparse(plan, img, diskBytes);
  const writeMs = performance.now() - started;
  rmSync(src);
  assertFsckClean(fsckVolume(img, MiB, dir), '3.9 GiB file');
  started = performance.now();
  assert.equal(await mtoolsHash(img, MiB, 'sources/install.wim'), expected, 'mcopy');
  const mcopyMs = performance.now() - started;
  started = performance.now();
  const v = openFat32(img);
  try {
    const f = v.find('sources/install.wim');
    assert.equal(f?.size, size);
    assert.equal(f?.runs.length, 1);
    const h = createHash('sha256');
    v.readFile('sources/install.wim', (c) => h.update(c));
    assert.equal(h.digest('hex'), expected, 'our reader');
    assert.equal(v.readFileBuffer('after.txt').toString(), 'after the big one');
  } finally {
    v.close();
  }
  console.log(`# 3.9 GiB file in ${room?.dir}: written in ${writeMs.toFixed(0)} ms, mcopy hash ${mcopyMs.toFixed(0)} ms, reader hash ${(performance.now() - started).toFixed(0)} ms`);
});

// ---------------------------------------------------------------------------------------------------------------------
// UEFI boot

test('the USB image boots under OVMF: the firmware starts EFI/BOOT/BOOTX64.EFI from the FAT32 partition', async (t) => {
  if (!skipWhileMutating(t)) return;
  const missing = [...missingBootStandInTools()];
  if (!hasCommand(QEMU)) missing.push(`${QEMU} (apt-get install qemu-system-x86)`);
  if (!existsSync(OVMF)) missing.push(`${OVMF} (apt-get install ovmf)`);
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t, 'tsmedia-fat32-boot-');
  const s = buildBootStandIns(dir);
  const efi = readFileSync(join(dir, 'BOOTX64.EFI')); // the GRUB stand-in that buildBootStandIns put in efisys.bin
  const diskBytes = 64 * MiB;
  const plan = planFat32({
    diskBytes,
    label: 'Configuration Manager',
    files: [
      { path: 'EFI/BOOT/BOOTX64.EFI', source: buf(efi, 'BOOTX64.EFI stand-in') },
      { path: 'SMS/data/TsmBootstrap.ini', source: buf('[MediaInfo]\r\nMediaType=FullMedia\r\n') },
      { path: 'MediaLabel.txt', source: buf('label=Configuration Manager\r\n') },
    ],
    timestamp: T0,
  });
  const img = join(dir, 'usb.img');
  writeSparse(plan, img, diskBytes);
  const r = await bootIso(img, s.uefiMarker, true, 'disk');
  console.log(`# OVMF boot of the FAT32 USB image: ${r.found ? 'marker seen' : 'NO MARKER'} after ${r.ms} ms`);
  assert.ok(r.found, `OVMF did not print ${s.uefiMarker}; serial output:\n${r.output.slice(-3000)}`);
});
