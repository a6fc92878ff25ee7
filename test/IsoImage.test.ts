// The ISO planner and reader, checked against tools nobody here wrote: isoinfo (genisoimage), xorriso, udfinfo
// (udftools) and 7z. Images are written with writeImage, so the whole path from plan to bytes is tested.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InputError } from '../electron/engine/errors.js';
import type { ContentSource } from '../electron/engine/io/ImageLayout.js';
import { checkLayout } from '../electron/engine/io/ImageLayout.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { crc16, measureIso, planIso, type IsoFile, type IsoOptions, type IsoPlan } from '../electron/engine/formats/iso/IsoImage.js';
import { openIso, type IsoVolume } from '../electron/engine/formats/iso/IsoReader.js';
import { freeBytesIn, hasCommand, pattern, requireOrSkip, skipWhileMutating, tempDir } from './helpers.js';

const GiB = 1024 ** 3;
const TIME = new Date('2025-01-02T03:04:05Z');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');


const buf = (data: Buffer | string, label = 'test'): ContentSource => ({ kind: 'buffer', data: Buffer.isBuffer(data) ? data : Buffer.from(data), label });

const LONG_A = `${'LongName'.repeat(9)}A.txt`; // 77 characters: Joliet keeps 64
const LONG_B = `${'LongName'.repeat(9)}B.txt`; // same first 64: made unique
const DEEP = 'Deep/Level2/Level3/Level4/Level5/Level6/Level7/Level8/Level9/Level10';

/** The small tree most tests use: boot files first, then the rest, as the media builder orders them. */
function sampleFiles(): IsoFile[] {
  return [
    { path: 'boot/etfsboot.com', source: buf(pattern(4096, 1)) },
    { path: 'efi/microsoft/boot/efisys.bin', source: buf(pattern(1_474_560, 2)) },
    { path: 'bootmgr', source: buf(pattern(9000, 3)) },
    { path: 'MediaLabel.txt', source: buf('label=Configuration Manager\r\n') },
    { path: 'SMS/data/TsmBootstrap.ini', source: buf('[MediaInfo]\r\nMediaType=FullMedia\r\n') },
    { path: 'SMS/PKG/SMP00002/install.wim', source: buf(pattern(300_000, 4)) },
    { path: `${DEEP}/Deep File In Level Ten.txt`, source: buf('deep') },
    { path: `Drivers/${LONG_A}`, source: buf('long a') },
    { path: `Drivers/${LONG_B}`, source: buf('long b') },
    { path: 'Mixed/ReadMe.TXT', source: buf('readme') },
    { path: 'Mixed/a b.txt', source: buf('a space b') },
    { path: 'Mixed/a_b.txt', source: buf('a underscore b') },
    { path: 'Mixed/Äpfel und Birnen.txt', source: buf('umlaut') },
    { path: 'Mixed/日本語.txt', source: buf('japanese') },
    { path: 'Mixed/no_extension', source: buf('no extension') },
    { path: 'Mixed/two.dots.name.txt', source: buf('two dots') },
    { path: 'Mixed/empty.dat', source: buf('') },
    { path: 'Mixed/A Rather Long File Name For ISO Level Two.manifest', source: buf('long iso name') },
  ];
}

function sampleOptions(): IsoOptions {
  return {
    volumeId: 'Configuration Manager',
    files: sampleFiles(),
    directories: ['Empty/Folder', 'SMS/data'],
    bootBios: 'boot/etfsboot.com',
    bootEfi: 'efi/microsoft/boot/efisys.bin',
    timestamp: TIME,
    applicationId: 'TSMEDIA TEST',
  };
}

function writeIso(plan: IsoPlan, path: string, sparse = false): string {
  const fd = openSync(path, 'w');
  try {
    return writeImage(plan, fd, { gaps: sparse ? 'sparse' : 'zero' }).sha256;
  } finally {
    closeSync(fd);
  }
}

function run(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function runUtf8(cmd: string, args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

interface ListedEntry {
  dir: boolean;
  size: number;
  blocks: number[];
  sizes: number[];
  multiExtentFlags: boolean[];
}

/** `isoinfo [-J] -l` parsed: path → entry; the records of a multi-extent file are gathered under one path. */
function isoinfoListing(iso: string, joliet: boolean): Map<string, ListedEntry> {
  const r = run('isoinfo', [...(joliet ? ['-J'] : []), '-l', '-i', iso]);
  assert.equal(r.status, 0, `isoinfo -l failed: ${r.stderr}`);
  const out = new Map<string, ListedEntry>();
  let dir = '';
  for (const line of r.stdout.split('\n')) {
    const d = /^Directory listing of \/(.*)$/.exec(line);
    if (d) {
      dir = d[1];
      continue;
    }
    const m = /^([d-])[-rwx]{9}\s+\d+\s+\d+\s+\d+\s+(\d+)\s+\S+\s+\d+\s+\d+\s+\[\s*(\d+)\s+([0-9A-F]+)\]?\s+(.*?)\s*$/.exec(line);
    if (!m) continue;
    const name = m[5];
    if (name === '.' || name === '..') continue;
    const path = dir + (joliet ? name.replace(/;1$/, '') : name);
    const flags = m[4];
    const multi = /^F+$/.test(flags) || (parseInt(flags, 16) & 0x80) !== 0;
    const e = out.get(path) ?? { dir: m[1] === 'd', size: 0, blocks: [], sizes: [], multiExtentFlags: [] };
    e.size += Number(m[2]);
    e.blocks.push(Number(m[3]));
    e.sizes.push(Number(m[2]));
    e.multiExtentFlags.push(multi);
    out.set(path, e);
  }
  return out;
}

/** `isoinfo [-J] -p` (the L path table) parsed into path → block, paths built from the parent numbers. */
function isoinfoPathTable(iso: string, joliet: boolean): Map<string, number> {
  const r = run('isoinfo', [...(joliet ? ['-J'] : []), '-p', '-i', iso]);
  assert.equal(r.status, 0, r.stderr);
  const paths: string[] = [];
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\d+):\s+(\d+)\s+([0-9a-f]+)\s(.*?)\s*$/.exec(line);
    if (!m) continue;
    const n = Number(m[1]);
    const parent = Number(m[2]);
    assert.equal(n, paths.length + 1, 'path table numbered in order');
    assert.ok(parent <= n, 'a parent comes before its children');
    const path = n === 1 ? '' : paths[parent - 1] === '' ? m[4] : `${paths[parent - 1]}/${m[4]}`;
    paths.push(path);
    out.set(path, parseInt(m[3], 16));
  }
  return out;
}

/** What isoinfo prints for a Joliet name: Latin-1 bytes, other characters as "_". */
const asIsoinfoPrints = (s: string): string => s.replace(/[^\x20-\xff]/g, '_');

function walkFiles(root: string): Map<string, Buffer | null> {
  const out = new Map<string, Buffer | null>();
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const rel = join(e.parentPath, e.name).slice(root.length + 1);
    out.set(rel, e.isDirectory() ? null : readFileSync(join(root, rel)));
  }
  return out;
}

function missing(...cmds: string[]): string[] {
  return cmds.filter((c) => !hasCommand(c));
}

const TOOL_PACKAGES: Record<string, string> = { isoinfo: 'genisoimage', genisoimage: 'genisoimage', xorriso: 'xorriso', udfinfo: 'udftools', '7z': 'p7zip-full' };
const skipReason = (cmds: string[]): string => `missing ${cmds.map((c) => `${c} (apt-get install ${TOOL_PACKAGES[c] ?? c})`).join(', ')}`;

/** The Joliet name of each input path, as the planner is expected to give it (64 characters at most). */
function expectedJolietPaths(files: IsoFile[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of files) m.set(f.path, f.path);
  const dir = 'Drivers/';
  m.set(`${dir}${LONG_A}`, `${dir}${LONG_A.slice(0, 60)}.txt`);
  m.set(`${dir}${LONG_B}`, `${dir}${LONG_B.slice(0, 58)}~1.txt`);
  return m;
}

describe('planIso: the image read by independent tools', () => {
  const options = sampleOptions();
  const plan = planIso(options);
  let dir = '';
  let iso = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsmedia-iso-'));
    iso = join(dir, 'media.iso');
    writeIso(plan, iso);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const blockOf = new Map(plan.extents.map((e) => [e.path, e.offset / 2048]));
  const sizeOf = new Map(options.files.map((f) => [f.path, f.source.kind === 'buffer' ? f.source.data.length : 0]));
  const dataOf = new Map(options.files.map((f) => [f.path, f.source.kind === 'buffer' ? f.source.data : Buffer.alloc(0)]));

  test('plan: layout invariants, descriptors where FORMATS.md puts them', () => {
    checkLayout(plan);
    assert.equal(statSync(iso).size, plan.size);
    assert.equal(plan.size, plan.blocks * 2048);
    const img = readFileSync(iso);
    const block = (n: number): Buffer => img.subarray(n * 2048, (n + 1) * 2048);
    assert.equal(block(16).toString('latin1', 0, 7), '\x01CD001\x01');
    assert.equal(block(17).toString('latin1', 0, 30), '\x00CD001\x01EL TORITO SPECIFICATION');
    assert.equal(block(18).toString('latin1', 0, 7), '\x02CD001\x01');
    assert.equal(block(18).toString('latin1', 88, 91), '%/E');
    assert.equal(block(19).toString('latin1', 0, 7), '\xffCD001\x01');
    assert.deepEqual([20, 21, 22].map((n) => block(n).toString('latin1', 0, 7)), ['\x00BEA01\x01', '\x00NSR02\x01', '\x00TEA01\x01']);
    assert.equal(block(256).readUInt16LE(0), 2, 'AVDP at 256');
    assert.equal(block(plan.blocks - 1).readUInt16LE(0), 2, 'AVDP at the last block');
    // The M path tables hold the L tables' records big-endian.
    for (const vd of [16, 18]) {
      const size = block(vd).readUInt32LE(132);
      const l = img.subarray(block(vd).readUInt32LE(140) * 2048, block(vd).readUInt32LE(140) * 2048 + size);
      const mt = img.subarray(block(vd).readUInt32BE(148) * 2048, block(vd).readUInt32BE(148) * 2048 + size);
      for (let o = 0; o < size; ) {
        assert.equal(mt[o], l[o]);
        assert.equal(mt.readUInt32BE(o + 2), l.readUInt32LE(o + 2));
        assert.equal(mt.readUInt16BE(o + 6), l.readUInt16LE(o + 6));
        assert.ok(mt.subarray(o + 8, o + 8 + l[o]).equals(l.subarray(o + 8, o + 8 + l[o])));
        o += 8 + l[o] + (l[o] % 2);
      }
    }
    // Boot files come first in the data, in the order given.
    const first = Math.min(...plan.extents.map((e) => e.offset));
    assert.equal(plan.extents[0].path, 'boot/etfsboot.com');
    assert.equal(plan.extents[0].offset, first);
    for (let i = 1; i < plan.extents.length; i++) assert.ok(plan.extents[i].offset > plan.extents[i - 1].offset, 'data in input order');
    // Every UDF descriptor tag in the partition checks (tag checksum and CRC-16 of the body).
    let tags = 0;
    for (const r of plan.regions) {
      if (r.offset < 257 * 2048) continue;
      for (let off = 0; off + 16 <= r.data.length; ) {
        const id = r.data.readUInt16LE(off);
        if (id === 0) break;
        let sum = 0;
        for (let i = 0; i < 16; i++) if (i !== 4) sum += r.data[off + i];
        assert.equal(r.data[off + 4], sum & 0xff, `tag checksum at ${r.offset + off}`);
        const len = r.data.readUInt16LE(off + 10);
        assert.equal(r.data.readUInt16LE(off + 8), crc16(r.data, off + 16, off + 16 + len), `CRC at ${r.offset + off}`);
        tags++;
        off += id === 257 ? 16 + len : r.data.length; // only directories hold several descriptors
      }
    }
    assert.ok(tags > 40, `${tags} tags checked`);
  });

  test('isoinfo -d: volume id, Joliet level 3, El Torito with an 8-sector no-emulation default entry', (t) => {
    const m = missing('isoinfo');
    if (!requireOrSkip(t, m.length === 0, skipReason(m))) return;
    const r = run('isoinfo', ['-d', '-i', iso]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Volume id: CONFIGURATION_MANAGER$/m);
    assert.match(r.stdout, /^Logical block size is: 2048$/m);
    assert.match(r.stdout, new RegExp(`^Volume size is: ${plan.blocks}$`, 'm'));
    assert.match(r.stdout, /^Joliet with UCS level 3 found$/m);
    assert.match(r.stdout, /^El Torito VD version 1 found, boot catalog is in sector \d+$/m);
    assert.match(r.stdout, /Arch 0 \(x86\)/);
    assert.match(r.stdout, /Bootid 88 \(bootable\)/);
    assert.match(r.stdout, /Boot media 0 \(No Emulation Boot\)/);
    assert.match(r.stdout, /Load segment 0$/m);
    assert.match(r.stdout, /Nsect 8$/m);
    assert.match(r.stdout, new RegExp(`Bootoff [0-9a-f]+ ${blockOf.get('boot/etfsboot.com')}$`, 'm'));
  });

  test('isoinfo -l: ISO 9660 names are level-2 d-characters, unique, and point at the data', (t) => {
    const m = missing('isoinfo');
    if (!requireOrSkip(t, m.length === 0, skipReason(m))) return;
    const list = isoinfoListing(iso, false);
    const files = [...list].filter(([, e]) => !e.dir);
    const dirs = [...list].filter(([, e]) => e.dir);
    assert.equal(files.length, options.files.length);
    for (const [path, e] of files) {
      const name = path.slice(path.lastIndexOf('/') + 1);
      assert.match(name, /^[A-Z0-9_]+\.[A-Z0-9_]*;1$/, `file id ${path}`);
      assert.ok(name.length <= 30, `${name}: at most 30 characters`);
      if (e.size > 0) assert.ok([...blockOf.values()].includes(e.blocks[0]), `${path} at block ${e.blocks[0]}`);
    }
    for (const [path] of dirs) assert.match(path.slice(path.lastIndexOf('/') + 1), /^[A-Z0-9_]{1,31}$/, `directory id ${path}`);
    assert.ok(list.has('BOOT/ETFSBOOT.COM;1'));
    assert.ok(list.has('MEDIALABEL.TXT;1'));
    assert.ok(list.has('BOOTMGR.;1'), 'a name without extension keeps the dot');
    assert.ok(list.has('MIXED/A_B.TXT;1') && list.has('MIXED/A_B_1.TXT;1'), 'colliding names made unique');
    assert.ok(list.has('MIXED/TWO_DOTS_NAME.TXT;1'));
    assert.equal(list.get('BOOT/ETFSBOOT.COM;1')?.blocks[0], blockOf.get('boot/etfsboot.com'));
    assert.equal(list.get('SMS/PKG/SMP00002/INSTALL.WIM;1')?.size, 300_000);
    assert.ok(list.has('DEEP/LEVEL2/LEVEL3/LEVEL4/LEVEL5/LEVEL6/LEVEL7/LEVEL8/LEVEL9/LEVEL10/DEEP_FILE_IN_LEVEL_TEN.TXT;1'), 'the tree deeper than 8 levels is written');
    assert.ok(list.get('EMPTY/FOLDER')?.dir, 'empty folder');
    // The path tables list every folder at the block its directory record gives, in both trees.
    for (const joliet of [false, true]) {
      const listing = joliet ? isoinfoListing(iso, true) : list;
      const table = isoinfoPathTable(iso, joliet);
      const folders = [...listing].filter(([, e]) => e.dir);
      assert.equal(table.size, folders.length + 1, `${joliet ? 'Joliet' : 'ISO 9660'} path table: every folder and the root`);
      for (const [path, e] of folders) assert.equal(table.get(asIsoinfoPrints(path)), e.blocks[0], `path table entry of ${path}`);
    }
  });

  test('isoinfo -J -l: Joliet keeps the real names (64 characters at most) and shares the data blocks', (t) => {
    const m = missing('isoinfo');
    if (!requireOrSkip(t, m.length === 0, skipReason(m))) return;
    const list = isoinfoListing(iso, true);
    const expected = expectedJolietPaths(options.files);
    for (const f of options.files) {
      const path = asIsoinfoPrints(expected.get(f.path) as string);
      const e = list.get(path);
      assert.ok(e, `Joliet lists ${path}; it has ${[...list.keys()].filter((k) => k.startsWith(path.slice(0, 5))).join(', ')}`);
      assert.equal(e.size, sizeOf.get(f.path), `${path} size`);
      if (e.size > 0) assert.equal(e.blocks[0], blockOf.get(f.path), `${path}: same block as the ISO 9660 record`);
      assert.ok(path.length - path.lastIndexOf('/') - 1 <= 64);
    }
    assert.ok(list.get('Empty/Folder')?.dir);
    assert.ok(list.get(DEEP)?.dir);
    assert.equal([...list.values()].filter((e) => !e.dir).length, options.files.length);
  });

  test('xorriso -report_el_torito: BIOS entry (no emulation, load 0, 8 sectors) and UEFI entry (platform 0xEF)', (t) => {
    const m = missing('xorriso');
    if (!requireOrSkip(t, m.length === 0, skipReason(m))) return;
    const r = run('xorriso', ['-indev', iso, '-report_el_torito', 'plain']);
    assert.equal(r.status, 0, r.stderr);
    const all = r.stdout + r.stderr;
    const bios = /El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+(\d+)\s+(\d+)/.exec(all);
    const uefi = /El Torito boot img :\s+2\s+UEFI\s+y\s+none\s+0x0000\s+0x00\s+(\d+)\s+(\d+)/.exec(all);
    assert.ok(bios, `BIOS entry in:\n${all}`);
    assert.ok(uefi, `UEFI entry in:\n${all}`);
    assert.equal(Number(bios[1]), 8);
    assert.equal(Number(bios[2]), blockOf.get('boot/etfsboot.com'));
    assert.equal(Number(uefi[1]), 2880);
    assert.equal(Number(uefi[2]), blockOf.get('efi/microsoft/boot/efisys.bin'));
    assert.match(all, /El Torito img path :\s+1\s+\/boot\/etfsboot\.com/);
    assert.match(all, /El Torito img path :\s+2\s+\/efi\/microsoft\/boot\/efisys\.bin/);
    assert.doesNotMatch(all, /SORRY|FAILURE|WARNING/);
    // Every file's data where the plan put it (xorriso reads the Joliet tree).
    const lba = run('xorriso', ['-indev', iso, '-find', '/', '-type', 'f', '-exec', 'report_lba', '--']);
    assert.equal(lba.status, 0, lba.stderr);
    const seen = [...(lba.stdout + lba.stderr).matchAll(/File data lba:\s+0 ,\s+(\d+) ,\s+\d+ ,\s+(\d+) ,/g)];
    assert.equal(seen.length, options.files.length);
    for (const [, block, size] of seen) if (Number(size) > 0) assert.ok([...blockOf.values()].includes(Number(block)));
  });

  test('udfinfo: the UDF 1.02 bridge is valid, closed, read-only and carries the label', (t) => {
    const m = missing('udfinfo');
    if (!requireOrSkip(t, m.length === 0, skipReason(m))) return;
    const r = runUtf8('udfinfo', [iso]);
    assert.equal(r.status, 0, `udfinfo failed: ${r.stderr}`);
    assert.match(r.stdout, /^label=Configuration Manager$/m);
    assert.match(r.stdout, /^lvid=Configuration Manager$/m);
    assert.match(r.stdout, /^udfrev=1\.02$/m);
    assert.match(r.stdout, /^integrity=closed$/m);
    assert.match(r.stdout, /^accesstype=readonly$/m);
    assert.match(r.stdout, new RegExp(`^numfiles=${options.files.length}$`, 'm'));
    assert.match(r.stdout, /^start=256, blocks=1, type=ANCHOR$/m);
    assert.match(r.stdout, new RegExp(`^start=${plan.blocks - 1}, blocks=1, type=ANCHOR$`, 'm'));
    assert.match(r.stdout, /type=MVDS$/m);
    assert.match(r.stdout, /type=RVDS$/m);
    // util-linux's prober (libblkid) sees the UDF side too, when it is there.
    if (hasCommand('blkid')) {
      const b = runUtf8('blkid', ['-p', iso]);
      assert.match(b.stdout, / TYPE="udf"/, b.stdout + b.stderr);
      assert.match(b.stdout, / VERSION="1\.02"/);
      assert.match(b.stdout, / LABEL="Configuration Manager"/);
    }
  });

  test('7z extracts every file from UDF with the source SHA-256, long names whole, the empty folder kept', (t) => {
    const m = missing('7z');
    if (!requireOrSkip(t, m.length === 0, skipReason(m))) return;
    const slt = runUtf8('7z', ['l', '-slt', iso]);
    assert.equal(slt.status, 0, slt.stderr);
    assert.match(slt.stdout, /^Type = Udf$/m, '7z reads the UDF side');
    const out = join(dir, 'x');
    const r = runUtf8('7z', ['x', '-y', `-o${out}`, iso]);
    assert.equal(r.status, 0, `7z x failed: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /Everything is Ok/);
    const got = walkFiles(out);
    for (const f of options.files) {
      const data = got.get(f.path);
      assert.ok(data, `7z extracted ${f.path}`);
      assert.equal(sha256(data), sha256(dataOf.get(f.path) as Buffer), `${f.path} SHA-256`);
    }
    assert.equal([...got.values()].filter((v) => v !== null).length, options.files.length);
    assert.equal(got.get('Empty/Folder'), null, 'the empty folder exists');
    assert.deepEqual(readdirSync(join(out, 'Empty/Folder')), []);
    rmSync(out, { recursive: true, force: true });
  });

  test('IsoReader reads our image: Joliet names, sizes, extents, bytes and the boot catalog', () => {
    const v = openIso(iso);
    try {
      assert.equal(v.volumeId, 'CONFIGURATION_MANAGER');
      assert.equal(v.jolietVolumeId, 'Configuration Ma');
      assert.equal(v.blocks, plan.blocks);
      const expected = expectedJolietPaths(options.files);
      const byPath = new Map(v.files().map((f) => [f.path, f]));
      assert.equal(byPath.size, options.files.length);
      for (const f of options.files) {
        const e = byPath.get(expected.get(f.path) as string);
        assert.ok(e, `reader lists ${expected.get(f.path)}`);
        assert.equal(e.size, sizeOf.get(f.path));
        if (e.size > 0) assert.deepEqual(e.extents, [{ offset: (blockOf.get(f.path) as number) * 2048, size: e.size }]);
        assert.ok(v.readFileBuffer(e.path).equals(dataOf.get(f.path) as Buffer), `${f.path} bytes`);
      }
      assert.ok(v.directories().includes('Empty/Folder'));
      assert.ok(v.directories().includes(DEEP));
      assert.deepEqual(v.bootCatalog(), [
        { kind: 'default', platform: 0, bootable: true, mediaType: 0, loadSegment: 0, systemType: 0, sectorCount: 8, imageBlock: blockOf.get('boot/etfsboot.com') },
        { kind: 'section', platform: 0xef, bootable: true, mediaType: 0, loadSegment: 0, systemType: 0, sectorCount: 2880, imageBlock: blockOf.get('efi/microsoft/boot/efisys.bin') },
      ]);
    } finally {
      v.close();
    }
  });
});

describe('planIso: input checks, determinism, speed', () => {
  const opts = (files: IsoFile[], more: Partial<IsoOptions> = {}): IsoOptions => ({ volumeId: 'TEST', files, timestamp: TIME, ...more });
  const f = (path: string, data = 'x'): IsoFile => ({ path, source: buf(data) });
  const inputError = (fn: () => unknown, ...mentions: string[]): void => {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof InputError, `InputError expected, got ${String(err)}`);
      for (const s of mentions) assert.ok(err.message.includes(s), `"${err.message}" names ${s}`);
      return true;
    });
  };

  test('names differing only in case are refused, naming both paths', () => {
    inputError(() => planIso(opts([f('SMS/PKG/A00001/Setup.exe'), f('sms/pkg/a00001/SETUP.EXE')])), 'SMS/PKG/A00001/Setup.exe', 'sms/pkg/a00001/SETUP.EXE');
    inputError(() => planIso(opts([f('x/Äpfel.txt'), f('x/ÄPFEL.TXT')])), 'x/Äpfel.txt', 'x/ÄPFEL.TXT');
    inputError(() => planIso(opts([f('same.txt'), f('same.txt')])), 'same.txt');
  });

  test('a path that is both a file and a folder is refused', () => {
    inputError(() => planIso(opts([f('a/b'), f('a/b/c')])), 'a/b');
    inputError(() => planIso(opts([f('a/b/c'), f('A/B')])), 'A/B');
    inputError(() => planIso(opts([f('Tools')], { directories: ['tools/x'] })), 'Tools');
  });

  test('boot images must be among the files; bad paths and parts are refused', () => {
    inputError(() => planIso(opts([f('a.txt')], { bootBios: 'boot/etfsboot.com' })), 'boot/etfsboot.com');
    inputError(() => planIso(opts([f('a.txt')], { bootEfi: 'efi/microsoft/boot/efisys.bin' })), 'efi/microsoft/boot/efisys.bin');
    inputError(() => planIso(opts([f('../up.txt')])), '../up.txt');
    inputError(() => planIso(opts([f('a//b.txt')])), 'a//b.txt');
    inputError(() => planIso(opts([{ path: 'p.bin', source: buf('12345'), sourceOffset: 3, size: 5 }])), 'p.bin');
    // A boot path given in another case still finds its file (Windows paths are case-insensitive).
    const plan = planIso(opts([f('BOOT/ETFSBOOT.COM', 'x'.repeat(4096))], { bootBios: 'boot/etfsboot.com' }));
    assert.ok(plan.blocks > 257);
  });

  test('UEFI-only and BIOS-only catalogs: one default entry, platform in the validation entry', () => {
    const cat = (p: IsoPlan): Buffer => {
      const br = p.regions[0].data.subarray(2048, 4096); // block 17
      const block = br.readUInt32LE(71);
      const r = p.regions[0];
      return r.data.subarray((block - 16) * 2048, (block - 15) * 2048);
    };
    const efiOnly = cat(planIso(opts([f('efi/microsoft/boot/efisys.bin', 'e'.repeat(1_474_560))], { bootEfi: 'efi/microsoft/boot/efisys.bin' })));
    assert.equal(efiOnly[1], 0xef);
    assert.equal(efiOnly[32], 0x88);
    assert.equal(efiOnly.readUInt16LE(38), 2880);
    assert.equal(efiOnly[64], 0, 'no section header');
    const biosOnly = cat(planIso(opts([f('boot/etfsboot.com', 'b'.repeat(4096))], { bootBios: 'boot/etfsboot.com' })));
    assert.equal(biosOnly[1], 0);
    assert.equal(biosOnly.readUInt16LE(38), 8);
    assert.equal(biosOnly[64], 0);
    // A UEFI image over 65535 sectors gets count 0 ("to the end").
    const bigEfi = cat(planIso(opts([f('e.bin', 'e'.repeat(40 * 1024 * 1024))], { bootEfi: 'e.bin' })));
    assert.equal(bigEfi.readUInt16LE(38), 0);
  });

  test('identical input gives a byte-identical image', (t) => {
    const a = planIso(sampleOptions());
    const b = planIso(sampleOptions());
    assert.equal(a.size, b.size);
    assert.equal(a.regions.length, b.regions.length);
    a.regions.forEach((r, i) => {
      assert.equal(r.offset, b.regions[i].offset);
      assert.ok(r.data.equals(b.regions[i].data), `region at ${r.offset}`);
    });
    assert.deepEqual(
      a.extents.map((e) => [e.offset, e.size, e.path]),
      b.extents.map((e) => [e.offset, e.size, e.path]),
    );
    const dir = tempDir(t, 'tsmedia-iso-det-');
    assert.equal(writeIso(a, join(dir, 'a.iso')), writeIso(b, join(dir, 'b.iso')));
    assert.ok(readFileSync(join(dir, 'a.iso')).equals(readFileSync(join(dir, 'b.iso'))));
    // Folders listed in another order change nothing.
    const c = planIso({ ...sampleOptions(), directories: ['SMS/data', 'Empty/Folder'] });
    assert.ok(c.regions.every((r, i) => r.data.equals(a.regions[i].data)));
  });

  test('10,000 files in 400 folders (planning speed: npm run bench); measureIso agrees with the plan', () => {
    const files: IsoFile[] = [];
    const src = buf(Buffer.alloc(5000, 1));
    for (let i = 0; i < 10_000; i++) files.push({ path: `SMS/PKG/P${String(i % 400).padStart(5, '0')}/Driver Files/file number ${i} of the set.inf`, source: src });
    const o = opts(files, { bootBios: files[0].path });
    const t0 = performance.now();
    const plan = planIso(o);
    const ms = performance.now() - t0;
    const t1 = performance.now();
    const m = measureIso(o);
    const msMeasure = performance.now() - t1;
    console.log(`# 10,000 files: planIso ${ms.toFixed(0)} ms, measureIso ${msMeasure.toFixed(0)} ms, ${plan.blocks} blocks`);
    // Its speed is a benchmark figure (`npm run bench`: "plan an ISO of 10,000 files in 400 folders"), not asserted here.
    assert.equal(m.blocks, plan.blocks);
    assert.equal(m.dataBlocks, 10_000 * 3);
    checkLayout(plan);
  });

  test('CRC-16-CCITT as ECMA-167 computes it', () => {
    assert.equal(crc16(Buffer.from('123456789')), 0x31c3);
    assert.equal(crc16(Buffer.from([0x70, 0x6a, 0x77])), 0x3299); // the example in ECMA-167 1/7.2.6
  });
});

describe('a file over 4 GiB', () => {
  test('multi-extent ISO records, several UDF extents: 7z, isoinfo and IsoReader read it back whole', async (t) => {
    if (!skipWhileMutating(t)) return;
    const m = missing('isoinfo', '7z', 'udfinfo');
    if (!requireOrSkip(t, m.length === 0, skipReason(m))) return;
    // A RAM-backed /dev/shm spares the disk 4.5 GB of writes when there is memory to spare; else the temp folder.
    const shm = '/dev/shm';
    const useShm = freeBytesIn(shm) >= 12 * GiB && freemem() >= 16 * GiB;
    const base = useShm ? shm : tmpdir();
    const free = freeBytesIn(base);
    if (!requireOrSkip(t, free >= 12 * GiB, `only ${(free / GiB).toFixed(1)} GiB free in ${base}; this test needs about 12 GiB`)) return;
    console.log(`# big-file test in ${base} (${(free / GiB).toFixed(0)} GiB free)`);
    const dir = mkdtempSync(join(base, 'tsmedia-iso-big-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const src = join(dir, 'install.wim');
    const iso = join(dir, 'big.iso');
    const size = 4.5 * GiB;
    closeSync(openSync(src, 'w'));
    truncateSync(src, size);
    const markers = [0, 2 ** 32 - 4096, 2 ** 32 - 2048, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 2048, size - 512];
    const sfd = openSync(src, 'r+');
    markers.forEach((off, i) => {
      const mk = Buffer.alloc(Math.min(512, size - off), 0x41 + i);
      writeSync(sfd, mk, 0, mk.length, off);
    });
    closeSync(sfd);
    const srcHash = createHash('sha256');
    {
      const fd = openSync(src, 'r');
      const b = Buffer.alloc(8 * 1024 * 1024);
      for (let pos = 0; pos < size; ) {
        const n = readSync(fd, b, 0, Math.min(b.length, size - pos), pos);
        srcHash.update(b.subarray(0, n));
        pos += n;
      }
      closeSync(fd);
    }
    const expected = srcHash.digest('hex');

    const plan = planIso({
      volumeId: 'Big Media',
      files: [
        { path: 'SMS/PKG/BIG00001/install.wim', source: { kind: 'file', path: src, size, label: 'install.wim' } },
        { path: 'after.txt', source: buf('after the big one') },
      ],
      timestamp: TIME,
    });
    writeIso(plan, iso, true);
    assert.equal(statSync(iso).size, plan.size);

    // isoinfo: two records, the first flagged "another extent follows", split at 4 GiB − 2048, contiguous.
    for (const joliet of [false, true]) {
      const list = isoinfoListing(iso, joliet);
      const e = list.get(joliet ? 'SMS/PKG/BIG00001/install.wim' : 'SMS/PKG/BIG00001/INSTALL.WIM;1');
      assert.ok(e, `isoinfo ${joliet ? '-J ' : ''}lists the big file`);
      assert.deepEqual(e.sizes, [2 ** 32 - 2048, size - (2 ** 32 - 2048)]);
      assert.deepEqual(e.multiExtentFlags, [true, false]);
      assert.equal(e.blocks[1], e.blocks[0] + (2 ** 32 - 2048) / 2048);
      assert.equal(e.blocks[0], plan.extents[0].offset / 2048);
    }
    const u = runUtf8('udfinfo', [iso]);
    assert.equal(u.status, 0, u.stderr);
    assert.match(u.stdout, /^label=Big Media$/m);

    // 7z (UDF): the whole file, its size and SHA-256.
    const l = runUtf8('7z', ['l', '-slt', iso, 'SMS/PKG/BIG00001/install.wim']);
    assert.match(l.stdout, new RegExp(`^Size = ${size}$`, 'm'));
    const got = await new Promise<{ code: number | null; bytes: number; hash: string; err: string }>((resolve, reject) => {
      const p = spawn('7z', ['x', '-so', iso, 'SMS/PKG/BIG00001/install.wim'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const h = createHash('sha256');
      let bytes = 0;
      let err = '';
      p.stdout.on('data', (c: Buffer) => {
        h.update(c);
        bytes += c.length;
      });
      p.stderr.on('data', (c: Buffer) => (err += c.toString()));
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, bytes, hash: h.digest('hex'), err }));
    });
    assert.equal(got.code, 0, `7z x -so: ${got.err}`);
    assert.equal(got.bytes, size);
    assert.equal(got.hash, expected, '7z read the 4.5 GiB file back whole');

    // Our reader: one entry with two extents, the same bytes.
    const v = openIso(iso);
    try {
      const e = v.files().find((x) => x.path === 'SMS/PKG/BIG00001/install.wim');
      assert.ok(e);
      assert.equal(e.size, size);
      assert.deepEqual(e.extents, [
        { offset: plan.extents[0].offset, size: 2 ** 32 - 2048 },
        { offset: plan.extents[0].offset + 2 ** 32 - 2048, size: size - (2 ** 32 - 2048) },
      ]);
      const h = createHash('sha256');
      let n = 0;
      v.readFile(e.path, (c) => {
        h.update(c);
        n += c.length;
      });
      assert.equal(n, size);
      assert.equal(h.digest('hex'), expected, 'IsoReader read the file back whole');
      assert.equal(v.readFileBuffer('after.txt').toString(), 'after the big one');
    } finally {
      v.close();
    }
    rmSync(iso, { force: true });
    rmSync(src, { force: true });
  });
});

describe('IsoReader: images made by other tools, malformed images', () => {
  /** A source tree for the tools: mixed case, deep, long names, an empty folder, boot images. */
  function makeTree(root: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>([
      ['boot/boot.img', pattern(2048, 11)],
      ['efi/efi.img', pattern(64 * 1024, 12)],
      ['Mixed Case/File One.txt', Buffer.from('file one')],
      ['Mixed Case/second.DAT', pattern(5000, 13)],
      ['deep/a/b/c/d/e/f/g/h/i/deep.txt', Buffer.from('deep')],
      ['SMS/PKG/SMP00001/install.wim', pattern(100_000, 14)],
      ['SMS/data/Variables.dat', pattern(3000, 15)],
      ['zero.bin', Buffer.alloc(0)],
    ]);
    for (const [p, data] of files) {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), data);
    }
    mkdirSync(join(root, 'Empty Folder'), { recursive: true });
    return files;
  }

  function compareWithIsoinfo(iso: string, v: IsoVolume, source: Map<string, Buffer>, extra: string[] = []): void {
    const list = isoinfoListing(iso, true);
    const listedFiles = [...list].filter(([, e]) => !e.dir).map(([p]) => p).sort();
    const readFiles = v.files().map((f) => f.path).sort();
    assert.deepEqual(readFiles, listedFiles, 'the same files as isoinfo -J -l');
    const listedDirs = [...list].filter(([, e]) => e.dir).map(([p]) => p).sort();
    assert.deepEqual([...v.directories()].sort(), listedDirs, 'the same folders as isoinfo -J -l');
    for (const f of v.files()) {
      const e = list.get(f.path) as ListedEntry;
      assert.equal(f.size, e.size, `${f.path} size`);
      if (f.size > 0) assert.equal(f.extents[0].offset, e.blocks[0] * 2048, `${f.path} block`);
      const want = source.get(f.path);
      if (want) assert.ok(v.readFileBuffer(f.path).equals(want), `${f.path} bytes`);
      else assert.ok(extra.includes(f.path), `unexpected file ${f.path}`);
    }
    for (const p of source.keys()) assert.ok(readFiles.includes(p), `${p} listed`);
  }

  function xorrisoBootEntries(iso: string): { platform: string; segment: number; count: number; lba: number }[] {
    const r = run('xorriso', ['-indev', iso, '-report_el_torito', 'plain']);
    return [...(r.stdout + r.stderr).matchAll(/El Torito boot img :\s+\d+\s+(\S+)\s+y\s+none\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+(\d+)\s+(\d+)/g)].map((m) => ({
      platform: m[1],
      segment: parseInt(m[2], 16),
      count: Number(m[3]),
      lba: Number(m[4]),
    }));
  }

  test('an image from xorriso -as mkisofs -J -R: the same listing as isoinfo, the boot catalog as xorriso reports it', (t) => {
    const m = missing('xorriso', 'isoinfo');
    if (!requireOrSkip(t, m.length === 0, skipReason(m))) return;
    const dir = tempDir(t, 'tsmedia-iso-xorriso-');
    const root = join(dir, 'tree');
    const source = makeTree(root);
    const iso = join(dir, 'x.iso');
    const r = run('xorriso', [
      '-as', 'mkisofs', '-J', '-R', '-V', 'XORRISO_TEST', '-o', iso,
      '-b', 'boot/boot.img', '-no-emul-boot', '-boot-load-size', '4',
      '-eltorito-alt-boot', '-e', 'efi/efi.img', '-no-emul-boot', root,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const v = openIso(iso);
    try {
      assert.equal(v.volumeId, 'XORRISO_TEST');
      assert.ok(v.joliet);
      compareWithIsoinfo(iso, v, source, ['boot.catalog', 'boot/boot.catalog']);
      const ours = v.bootCatalog();
      const theirs = xorrisoBootEntries(iso);
      assert.equal(ours.length, theirs.length);
      assert.deepEqual(
        ours.map((e) => ({ platform: e.platform === 0 ? 'BIOS' : e.platform === 0xef ? 'UEFI' : String(e.platform), segment: e.loadSegment, count: e.sectorCount, lba: e.imageBlock })),
        theirs,
      );
      assert.equal(ours[1].platform, 0xef);
    } finally {
      v.close();
    }
  });

  test('an image from genisoimage -J -udf: the same listing as isoinfo', (t) => {
    const m = missing('genisoimage', 'isoinfo');
    if (!requireOrSkip(t, m.length === 0, skipReason(m))) return;
    const dir = tempDir(t, 'tsmedia-iso-geniso-');
    const root = join(dir, 'tree');
    const source = makeTree(root);
    const iso = join(dir, 'g.iso');
    const r = run('genisoimage', ['-quiet', '-J', '-udf', '-D', '-V', 'GENISO_TEST', '-o', iso, '-b', 'boot/boot.img', '-no-emul-boot', '-boot-load-size', '4', root]);
    assert.equal(r.status, 0, r.stderr);
    const v = openIso(iso);
    try {
      assert.equal(v.volumeId, 'GENISO_TEST');
      compareWithIsoinfo(iso, v, source, ['boot.catalog', 'boot/boot.catalog']);
      const cat = v.bootCatalog();
      assert.equal(cat.length, 1);
      assert.equal(cat[0].sectorCount, 4);
      assert.equal(cat[0].imageBlock * 2048, v.find('boot/boot.img')?.extents[0].offset);
    } finally {
      v.close();
    }
  });

  /** Our sample image in memory, with where its roots and a subdirectory record are. */
  function sampleImage(): Buffer {
    const plan = planIso({ ...sampleOptions(), files: sampleFiles().map((f) => (f.path.endsWith('efisys.bin') ? { ...f, source: buf(pattern(8192, 2)) } : f)) });
    const img = Buffer.alloc(plan.size);
    for (const r of plan.regions) r.data.copy(img, r.offset);
    for (const e of plan.extents) if (e.source.kind === 'buffer') e.source.data.copy(img, e.offset, e.sourceOffset, e.sourceOffset + e.size);
    return img;
  }

  const expectInputError = (fn: () => unknown, pattern: RegExp): void => {
    assert.throws(fn, (err: unknown) => err instanceof InputError && pattern.test(err.message));
  };

  test('a truncated image and directory extents past the end give InputErrors naming the file', (t) => {
    const dir = tempDir(t, 'tsmedia-iso-bad-');
    const img = sampleImage();
    const path = join(dir, 'bad.iso');

    writeFileSync(path, img.subarray(0, img.length - 4096));
    expectInputError(() => openIso(path), /bad\.iso: the image is truncated/);
    writeFileSync(path, img.subarray(0, 20 * 2048));
    expectInputError(() => openIso(path), /bad\.iso: .*truncated/);
    writeFileSync(path, img.subarray(0, 1000));
    expectInputError(() => openIso(path), /bad\.iso: 1000 bytes is too small/);
    writeFileSync(path, Buffer.alloc(64 * 2048));
    expectInputError(() => openIso(path), /not an ISO image/);

    // The Joliet root (block 18) pointing past the end.
    const bad = Buffer.from(img);
    bad.writeUInt32LE(0x7fffff00, 18 * 2048 + 156 + 2);
    bad.writeUInt32BE(0x7fffff00, 18 * 2048 + 156 + 6);
    writeFileSync(path, bad);
    const v = openIso(path);
    try {
      expectInputError(() => v.files(), /bad\.iso: the root directory: its extent .* is past the end of the file/);
    } finally {
      v.close();
    }

    // A subdirectory record pointing past the end, then at its own parent (a loop).
    const rootBlock = img.readUInt32LE(18 * 2048 + 156 + 2);
    const rootDir = img.subarray(rootBlock * 2048, rootBlock * 2048 + 2048);
    let off = 0;
    let sub = -1;
    for (let i = 0; off < 2048 && rootDir[off] > 0 && i < 100; i++) {
      if (i >= 2 && rootDir[off + 25] & 2) {
        sub = off;
        break;
      }
      off += rootDir[off];
    }
    assert.ok(sub > 0, 'a subdirectory record in the Joliet root');
    const past = Buffer.from(img);
    past.writeUInt32LE(img.length / 2048 + 10, rootBlock * 2048 + sub + 2);
    writeFileSync(path, past);
    let w = openIso(path);
    try {
      expectInputError(() => w.files(), /bad\.iso: directory ".*": its extent .* is past the end of the file/);
    } finally {
      w.close();
    }
    const loop = Buffer.from(img);
    loop.writeUInt32LE(rootBlock, rootBlock * 2048 + sub + 2);
    writeFileSync(path, loop);
    w = openIso(path);
    try {
      expectInputError(() => w.files(), /a loop/);
    } finally {
      w.close();
    }
    // A file record whose data lies past the end.
    const fileRec = Buffer.from(img);
    let fo = 0;
    let fileAt = -1;
    for (let i = 0; fo < 2048 && rootDir[fo] > 0 && i < 100; i++) {
      if (i >= 2 && !(rootDir[fo + 25] & 2)) {
        fileAt = fo;
        break;
      }
      fo += rootDir[fo];
    }
    assert.ok(fileAt > 0, 'a file record in the Joliet root');
    fileRec.writeUInt32LE(img.length / 2048 - 1, rootBlock * 2048 + fileAt + 2);
    fileRec.writeUInt32LE(1_000_000, rootBlock * 2048 + fileAt + 10);
    writeFileSync(path, fileRec);
    w = openIso(path);
    try {
      expectInputError(() => w.files(), /bad\.iso: file ".*": its data .* is past the end of the file/);
    } finally {
      w.close();
    }
  });

  test('random damage to the metadata gives a result or an InputError, never a crash or a hang', (t) => {
    const dir = tempDir(t, 'tsmedia-iso-fuzz-');
    const img = sampleImage();
    const path = join(dir, 'fuzz.iso');
    writeFileSync(path, img);
    const fd = openSync(path, 'r+');
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    // Damage the bytes that mean something: the non-zero bytes of the descriptors, both trees, the path tables and
    // the boot catalog (most of those blocks are zero padding), and now and then any byte of them.
    const catalogEnd = (img.readUInt32LE(17 * 2048 + 71) + 1) * 2048;
    const live: number[] = [];
    for (let i = 16 * 2048; i < catalogEnd; i++) if (img[i] !== 0) live.push(i);
    let ok = 0;
    let refused = 0;
    const started = Date.now();
    try {
      for (let round = 0; round < 400; round++) {
        const changes: { at: number; old: number }[] = [];
        const n = 1 + rnd(8);
        for (let i = 0; i < n; i++) {
          const at = rnd(4) === 0 ? 16 * 2048 + rnd(catalogEnd - 16 * 2048) : live[rnd(live.length)];
          changes.push({ at, old: img[at] });
          writeSync(fd, Buffer.from([rnd(256)]), 0, 1, at);
        }
        try {
          const v = openIso(path);
          try {
            for (const f of v.files()) v.readFile(f.path, () => undefined);
            v.bootCatalog();
            ok++;
          } finally {
            v.close();
          }
        } catch (err) {
          if (!(err instanceof InputError)) throw new Error(`round ${round}: ${String(err)} (changes at ${changes.map((c) => c.at).join(', ')})`);
          assert.match(err.message, /fuzz\.iso/);
          refused++;
        }
        for (const c of changes.reverse()) writeSync(fd, Buffer.from([c.old]), 0, 1, c.at);
      }
    } finally {
      closeSync(fd);
    }
    console.log(`# 400 damaged images: ${ok} read, ${refused} refused with InputError, ${Date.now() - started} ms`);
    assert.ok(refused > 0);
  });
});
