// The ISO planner's input checks, word for word, at their edges; and a file over 4 GiB planned (nothing written): its
// ISO 9660 and Joliet directory records decoded from the plan as ECMA-119 lays them out (one record per extent of at
// most 4 GiB − 2 KiB, the multi-extent flag on all but the last, the extents back to back).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../electron/engine/errors.js';
import type { ContentSource } from '../electron/engine/io/ImageLayout.js';
import { ISO_BLOCK, ISO_MAX_EXTENT, ISO_MAX_FILE, measureIso, planIso, type IsoFile, type IsoOptions, type IsoPlan } from '../electron/engine/formats/iso/IsoImage.js';

const TIME = new Date('2026-02-03T04:05:06Z');
const buf = (s: string, label = 'L'): ContentSource => ({ kind: 'buffer', data: Buffer.from(s), label });
/** A source planning never reads: only its size matters. */
const sized = (size: number): ContentSource => ({ kind: 'file', path: '/nonexistent/never-read.bin', size, label: 'big' });
const opts = (files: IsoFile[], more: Partial<IsoOptions> = {}): IsoOptions => ({ volumeId: 'TEST', files, timestamp: TIME, ...more });

function refused(o: IsoOptions, message: string): void {
  assert.throws(
    () => planIso(o),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `an InputError, not ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    },
  );
}

/** The bytes the plan writes at `offset` (from its metadata regions). */
function bytesAt(plan: IsoPlan, offset: number, length: number): Buffer {
  const r = plan.regions.find((x) => x.offset <= offset && offset + length <= x.offset + x.data.length);
  assert.ok(r, `the plan writes the bytes at ${offset}`);
  return r.data.subarray(offset - r.offset, offset - r.offset + length);
}

interface Rec {
  extent: number;
  size: number;
  flags: number;
  id: Buffer;
  /** Byte position in its directory, and that directory's recorded size. */
  at: number;
  dirSize: number;
}

/** The records of the root directory a volume descriptor at `block` points to (ECMA-119 9.1). */
function rootRecords(plan: IsoPlan, block: number): Rec[] {
  const vd = bytesAt(plan, block * ISO_BLOCK, ISO_BLOCK);
  const root = vd.subarray(156, 156 + 34);
  const dir = bytesAt(plan, root.readUInt32LE(2) * ISO_BLOCK, root.readUInt32LE(10));
  assert.equal(root.readUInt32BE(6), root.readUInt32LE(2), 'both-endian extent');
  const out: Rec[] = [];
  for (let pos = 0; pos < dir.length; ) {
    const len = dir[pos];
    if (len === 0) {
      pos = (Math.floor(pos / ISO_BLOCK) + 1) * ISO_BLOCK;
      continue;
    }
    const r = dir.subarray(pos, pos + len);
    assert.equal(r.readUInt32BE(6), r.readUInt32LE(2));
    assert.equal(r.readUInt32BE(14), r.readUInt32LE(10));
    // 9.1.12: a padding byte follows an identifier of even length only; 6.8.1.1: no record crosses a block.
    assert.equal(len, 33 + r[32] + (r[32] % 2 === 0 ? 1 : 0), `record length of ${r.subarray(33, 33 + r[32]).toString('latin1')}`);
    assert.ok((pos % ISO_BLOCK) + len <= ISO_BLOCK, 'a record within its block');
    out.push({ extent: r.readUInt32LE(2), size: r.readUInt32LE(10), flags: r[25], id: Buffer.from(r.subarray(33, 33 + r[32])), at: pos, dirSize: dir.length });
    pos += len;
  }
  return out.slice(2); // "." and ".."
}

describe('ISO planner: input checks, word for word', () => {
  test('paths: empty, not below the root, empty or dot components, control characters and backslashes', () => {
    refused(opts([{ path: '', source: buf('x') }]), 'file: an empty path.');
    refused(opts([{ path: '///', source: buf('x') }]), 'file "///": not a path below the root of the disc.');
    for (const p of ['a//b', 'a/./b', 'a/../b', './a', 'a/..']) refused(opts([{ path: p, source: buf('x') }]), `file "${p}": an empty, "." or ".." path component.`);
    for (const p of ['a\\b', 'a/b\u0001c', 'tab\there', 'x\u001f']) {
      refused(opts([{ path: p, source: buf('x') }]), `file "${p}": a control character or "\\" in a name (paths are "/" separated).`);
    }
    refused(opts([{ path: 'a', source: buf('x') }], { directories: [''] }), 'folder: an empty path.');
    refused(opts([{ path: 'a', source: buf('x') }], { directories: ['x/../y'] }), 'folder "x/../y": an empty, "." or ".." path component.');
    // Leading and trailing slashes are not components: "/a/b.txt/" is the file a/b.txt.
    const plan = planIso(opts([{ path: '//Folder/b.txt/', source: buf('x') }], { directories: ['/Empty//', 'Deep/Sub///'] }));
    assert.deepEqual(rootRecords(plan, 17).map((r) => r.id.swap16().toString('utf16le')).sort(), ['Deep', 'Empty', 'Folder']);
  });

  test('a file where a folder is, and a folder where a file is: both paths named as given', () => {
    for (const [dirs, file, message] of [
      [['Top/Sub'], 'top/sub', '"top/sub" is a file and also a folder ("Top/Sub"); a path cannot be both.'],
      [['Top'], 'TOP', '"TOP" is a file and also a folder ("Top"); a path cannot be both.'],
    ] as const) {
      refused(opts([{ path: file, source: buf('x') }], { directories: [...dirs] }), message);
    }
    // Files are placed in order: a later file's folder may be an earlier file.
    refused(opts([{ path: 'Top/Sub', source: buf('x') }, { path: 'top/sub/x.txt', source: buf('y') }]), '"Top/Sub" is a file and also a folder (of "top/sub/x.txt"); a path cannot be both.');
  });

  test('parts of a source: inside it, whole numbers, not negative', () => {
    const ten = buf('0123456789', 'ten bytes');
    planIso(opts([{ path: 'ok', source: ten, sourceOffset: 4, size: 6 }]));
    planIso(opts([{ path: 'ok', source: ten, sourceOffset: 10, size: 0 }]));
    for (const [sourceOffset, size] of [
      [4, 7],
      [-1, 2],
      [0.5, 2],
      [0, 1.5],
      [0, -1],
      [11, 0],
    ]) {
      refused(opts([{ path: 'p', source: ten, sourceOffset, size }]), `file "p": the part ${sourceOffset}+${size} is not inside its source of 10 bytes (ten bytes).`);
    }
    // No size given: the rest of the source after the offset.
    refused(opts([{ path: 'p', source: ten, sourceOffset: 12 }]), 'file "p": the part 12+-2 is not inside its source of 10 bytes (ten bytes).');
  });

  test('the largest file one UDF file entry describes: 234 short allocation descriptors of 1 GiB − 2 KiB', () => {
    assert.equal(ISO_MAX_FILE, 234 * (2 ** 30 - ISO_BLOCK));
    planIso(opts([{ path: 'max.wim', source: sized(ISO_MAX_FILE) }]));
    refused(opts([{ path: 'huge.wim', source: sized(ISO_MAX_FILE + 1) }]), `file "huge.wim": ${ISO_MAX_FILE + 1} bytes is more than the ${ISO_MAX_FILE} bytes one UDF file entry can describe.`);
  });

  test('twice, and differing only in case', () => {
    refused(opts([{ path: 'a/b.txt', source: buf('1') }, { path: 'a/b.txt', source: buf('2') }]), 'file "a/b.txt" is given twice.');
    refused(opts([{ path: 'a/b.txt', source: buf('1') }, { path: 'A/B.TXT', source: buf('2') }]), 'files "a/b.txt" and "A/B.TXT" differ only in case; Windows sees them as the same file. Rename one.');
  });

  test('boot images: none when not given or empty, among the files, not empty, within what El Torito loads', () => {
    const files = [{ path: 'boot/etfsboot.com', source: buf('boot') }];
    for (const none of [null, undefined, '']) {
      const plan = planIso(opts(files, { bootBios: none, bootEfi: none }));
      // No boot record volume descriptor: block 17 is the Joliet supplementary descriptor (type 2).
      assert.equal(bytesAt(plan, 17 * ISO_BLOCK, 1)[0], 2);
    }
    refused(opts(files, { bootBios: 'boot/missing.com' }), 'BIOS boot image "boot/missing.com" is not among the files of the disc.');
    refused(opts(files, { bootEfi: 'efi/efisys.bin' }), 'UEFI boot image "efi/efisys.bin" is not among the files of the disc.');
    refused(opts([{ path: 'e.bin', source: buf('') }], { bootEfi: 'e.bin' }), 'UEFI boot image "e.bin" is empty.');
    refused(opts(files, { bootBios: 'boot//etfsboot.com' }), 'BIOS boot image "boot//etfsboot.com": an empty, "." or ".." path component.');
    // Found whatever the case it is given in.
    planIso(opts(files, { bootBios: 'BOOT/ETFSBOOT.COM' }));
    planIso(opts([{ path: 'b.img', source: sized(65535 * 512) }], { bootBios: 'b.img' }));
    refused(opts([{ path: 'b.img', source: sized(65535 * 512 + 1) }], { bootBios: 'b.img' }), `BIOS boot image "b.img": ${65535 * 512 + 1} bytes is more than an El Torito entry can load (65535 sectors of 512 bytes).`);
  });
});

describe('ISO planner: the path table numbers at most 65,535 folders', () => {
  test('65,534 folders and the root are measured; one more is refused, word for word', () => {
    const folders = (n: number): string[] => Array.from({ length: n }, (_, i) => `F${i}`);
    assert.ok(measureIso(opts([], { directories: folders(65_534) })).blocks > 65_535, 'measured');
    assert.throws(
      () => measureIso(opts([], { directories: folders(65_535) })),
      (e: unknown) => e instanceof InputError && e.message === '65536 folders: more than the 65535 an ISO 9660 path table can number.',
    );
  });
});

describe('ISO 9660 directory records, decoded as ECMA-119 9.1 lays them out', () => {
  // "." and ".." take 68 bytes; an identifier like F000.TXT;1 (10 bytes, even: one padding byte) makes a 44-byte
  // record, so 45 of them fill the 2048-byte block exactly and the 46th starts a second block.
  const files = (n: number): IsoFile[] => Array.from({ length: n }, (_, i) => ({ path: `F${String(i).padStart(3, '0')}.txt`, source: buf('x') }));
  test('45 records fill one block exactly; the 46th opens a second; the size is the blocks holding records', () => {
    const one = rootRecords(planIso(opts(files(45))), 16);
    assert.equal(one.length, 45);
    assert.equal(one[44].id.toString('latin1'), 'F044.TXT;1');
    assert.deepEqual([one[44].at, one[44].dirSize], [2048 - 44, ISO_BLOCK], 'the last record ends the only block');
    const two = rootRecords(planIso(opts(files(46))), 16);
    assert.deepEqual([two[45].at, two[45].dirSize], [ISO_BLOCK, 2 * ISO_BLOCK], 'the 46th record at the start of the second block');
  });
  test('identifiers of odd length have no padding byte; of even length, one', () => {
    const recs = rootRecords(planIso(opts(['ab.c', 'abc.d', 'A_FOLDER/x'].map((p) => ({ path: p, source: buf('y') })))), 16);
    assert.deepEqual(recs.map((r) => r.id.toString('latin1')), ['AB.C;1', 'ABC.D;1', 'A_FOLDER']);
  });
});

describe('a file over 4 GiB, planned', () => {
  test('ISO 9660 and Joliet: one record per extent of 4 GiB − 2 KiB, multi-extent flags, extents back to back', () => {
    assert.equal(ISO_MAX_EXTENT, 2 ** 32 - ISO_BLOCK);
    const size = 2 * ISO_MAX_EXTENT + 12345;
    const plan = planIso(opts([{ path: 'sources/install.wim', source: sized(size) }, { path: 'small.txt', source: buf('small') }, { path: 'empty.txt', source: buf('') }]));
    for (const block of [16, 17]) {
      const sources = rootRecords(plan, block).find((r) => r.flags & 2);
      assert.ok(sources, 'the sources folder');
      const dir = bytesAt(plan, sources.extent * ISO_BLOCK, sources.size);
      const recs: Rec[] = [];
      for (let pos = 0; pos < dir.length && dir[pos] > 0; pos += dir[pos]) recs.push({ extent: dir.readUInt32LE(pos + 2), size: dir.readUInt32LE(pos + 10), flags: dir[pos + 25], id: Buffer.from(dir.subarray(pos + 33, pos + 33 + dir[pos + 32])), at: pos, dirSize: dir.length });
      const wim = recs.slice(2);
      assert.equal(wim.length, 3, `three records in descriptor ${block}'s tree`);
      assert.deepEqual(wim.map((r) => r.size), [ISO_MAX_EXTENT, ISO_MAX_EXTENT, 12345]);
      assert.deepEqual(wim.map((r) => r.flags), [0x80, 0x80, 0]);
      assert.ok(wim.every((r) => r.id.equals(wim[0].id)), 'the same name on every record');
      assert.equal(wim[1].extent, wim[0].extent + ISO_MAX_EXTENT / ISO_BLOCK);
      assert.equal(wim[2].extent, wim[1].extent + ISO_MAX_EXTENT / ISO_BLOCK);
      // The file's data is planned from its source at that block, whole.
      const ext = plan.extents.find((e) => e.offset === wim[0].extent * ISO_BLOCK);
      assert.ok(ext, 'the data extent starts at the first record');
      assert.equal(plan.extents.filter((e) => e.offset >= ext.offset && e.offset < ext.offset + size).reduce((n, e) => n + e.size, 0), size);
      // An empty file points at block 0 with size 0.
      const root = rootRecords(plan, block);
      const empty = root.find((r) => r.size === 0 && !(r.flags & 2));
      assert.ok(empty);
      assert.equal(empty.extent, 0);
    }
  });
});

/** CRC-16-CCITT (x^16 + x^12 + x^5 + 1, initial 0), bit by bit as ECMA-167 1/7.2.6 describes it. */
function crcCcitt(b: Buffer): number {
  let crc = 0;
  for (const byte of b) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

describe('UDF descriptors, decoded as ECMA-167 and UDF 1.02 lay them out', () => {
  // Two folders (one empty) and four files, one of them empty, one with a name outside Latin-1; the plan's own bytes.
  const files: IsoFile[] = ['A/one.txt', 'A/two.txt', 'empty.txt', '日本.txt'].map((p, i) => ({ path: p, source: buf('x'.repeat(i * 1000), p) }));
  const plan = planIso(opts(files, { volumeId: 'Udf Check', directories: ['B'] }));
  const block = (n: number, length = ISO_BLOCK): Buffer => bytesAt(plan, n * ISO_BLOCK, length);

  /** Checks a descriptor tag (ECMA-167 3/7.2) and returns its body's CRC length. */
  function tag(d: Buffer, id: number, location: number, what: string): number {
    assert.equal(d.readUInt16LE(0), id, `${what}: tag identifier`);
    assert.equal(d.readUInt16LE(2), 2, `${what}: descriptor version 2 (NSR02)`);
    let sum = 0;
    for (let i = 0; i < 16; i++) if (i !== 4) sum += d[i];
    assert.equal(d[4], sum & 0xff, `${what}: tag checksum`);
    const crcLength = d.readUInt16LE(10);
    assert.equal(d.readUInt16LE(8), crcCcitt(d.subarray(16, 16 + crcLength)), `${what}: descriptor CRC`);
    assert.equal(d.readUInt32LE(12), location, `${what}: tag location`);
    return crcLength;
  }

  test('the volume descriptors, the integrity descriptor and the anchors: tags, CRC lengths and locations', () => {
    // The main and reserve sequences: PVD, IUVD, PD, LVD, USD, TD, each tag recording its own block.
    for (const start of [32, 48]) {
      assert.equal(tag(block(start), 1, start, `PVD at ${start}`), 512 - 16);
      assert.equal(tag(block(start + 1), 4, start + 1, `IUVD at ${start + 1}`), 512 - 16);
      assert.equal(tag(block(start + 2), 5, start + 2, `PD at ${start + 2}`), 512 - 16);
      const lvd = block(start + 3);
      assert.equal(tag(lvd, 6, start + 3, `LVD at ${start + 3}`), 440 - 16 + lvd.readUInt32LE(264), 'LVD: CRC over its map table');
      assert.equal(lvd.readUInt32LE(212), ISO_BLOCK, 'LVD: logical block size');
      assert.deepEqual([lvd.readUInt32LE(432), lvd.readUInt32LE(436)], [2 * ISO_BLOCK, 64], 'LVD: integrity sequence extent (bytes, block)');
      const usd = block(start + 4);
      assert.equal(tag(usd, 7, start + 4, `USD at ${start + 4}`), 24 - 16 + 8 * usd.readUInt32LE(20));
      assert.equal(tag(block(start + 5), 8, start + 5, `TD at ${start + 5}`), 512 - 16);
    }
    const pd = block(34);
    const partition = pd.readUInt32LE(188);
    const partitionLength = pd.readUInt32LE(192);
    assert.equal(partition + partitionLength + 1, plan.blocks, 'the partition runs to the last anchor');

    // The logical volume integrity descriptor (3/10.10) at 64, closed, then its terminator at 65.
    const lvid = block(64, 2 * ISO_BLOCK);
    assert.equal(tag(lvid, 9, 64, 'LVID'), 80 + 8 - 16 + 46, 'LVID: CRC over 80 bytes, one free-space and one size entry, 46 of implementation use');
    assert.deepEqual(
      [lvid.readUInt16LE(16) >> 12, lvid.readUInt16LE(18), lvid[20], lvid[21], lvid[22], lvid[23], lvid[24], lvid[25]],
      [1, 2026, 2, 3, 4, 5, 6, 0],
      'LVID: recording time, the plan timestamp as UTC',
    );
    assert.equal(lvid.readUInt32LE(28), 1, 'LVID: integrity type close');
    assert.equal(lvid.readUInt32LE(32) + lvid.readUInt32LE(36), 0, 'LVID: no next integrity extent');
    // Unique IDs 0-15 are reserved; the root takes 0, every other folder and file one from 16: 2 + 4 used here.
    assert.equal(Number(lvid.readBigUInt64LE(40)), 16 + 2 + 4, 'LVID: next unique ID');
    assert.deepEqual([lvid.readUInt32LE(72), lvid.readUInt32LE(76)], [1, 46], 'LVID: one partition, 46 bytes of implementation use');
    assert.deepEqual([lvid.readUInt32LE(80), lvid.readUInt32LE(84)], [0, partitionLength], 'LVID: free space 0, size the partition');
    assert.equal(lvid.subarray(89, 97).toString('latin1'), '*tsmedia', 'LVID: implementation identifier');
    assert.deepEqual([lvid.readUInt32LE(120), lvid.readUInt32LE(124)], [4, 3], 'LVID: 4 files, 3 folders with the root');
    assert.deepEqual([lvid.readUInt16LE(128), lvid.readUInt16LE(130), lvid.readUInt16LE(132)], [0x102, 0x102, 0x102], 'LVID: UDF revisions 1.02');
    assert.ok(lvid.subarray(134, ISO_BLOCK).every((x) => x === 0), 'LVID: nothing after its 134 bytes');
    assert.equal(tag(lvid.subarray(ISO_BLOCK), 8, 65, 'integrity terminator'), 512 - 16);

    // Anchors at 256 and the last block, each pointing at both sequences (3/10.2).
    for (const at of [256, plan.blocks - 1]) {
      const a = block(at);
      assert.equal(tag(a, 2, at, `anchor at ${at}`), 512 - 16);
      assert.deepEqual([a.readUInt32LE(16), a.readUInt32LE(20), a.readUInt32LE(24), a.readUInt32LE(28)], [16 * ISO_BLOCK, 32, 16 * ISO_BLOCK, 48], `anchor at ${at}: main and reserve extents`);
    }

    // The file set descriptor and its terminator open the partition; their tags record partition-relative blocks.
    const fsd = block(partition, ISO_BLOCK + 512);
    assert.equal(tag(fsd, 256, 0, 'FSD'), 512 - 16);
    assert.equal(tag(fsd.subarray(ISO_BLOCK), 8, 1, 'FSD terminator'), 512 - 16);
    const rootIcb = fsd.readUInt32LE(404);
    assert.equal(fsd.readUInt32LE(400), ISO_BLOCK, 'FSD: root ICB length');
    // The root's file entry (4/14.9), where the FSD says, a directory whose tag records its partition-relative block.
    const head = block(partition + rootIcb, 176);
    const fe = block(partition + rootIcb, 176 + head.readUInt32LE(168) + head.readUInt32LE(172));
    assert.equal(tag(fe, 261, rootIcb, 'root file entry'), fe.length - 16, 'root file entry: CRC over the whole entry');
    assert.equal(fe[16 + 11], 4, 'root file entry: a directory');
    assert.equal(fe.readUInt16LE(48), 1 + 2, 'root file entry: link count (itself and its two folders)');
    assert.equal(Number(fe.readBigUInt64LE(160)), 0, 'root file entry: unique ID 0');
    // Every file entry (3 folders with the root, 4 files) tagged with its partition-relative block, unique IDs distinct.
    const entries = plan.regions.filter((r) => r.offset > partition * ISO_BLOCK && r.data.length >= 176 && r.data.readUInt16LE(0) === 261);
    assert.equal(entries.length, 7, 'file entries');
    for (const r of entries) assert.equal(tag(r.data, 261, r.offset / ISO_BLOCK - partition, `file entry at ${r.offset / ISO_BLOCK}`), r.data.length - 16);
    assert.deepEqual(entries.map((r) => Number(r.data.readBigUInt64LE(160))).sort((x, y) => x - y), [0, 16, 17, 18, 19, 20, 21], 'unique IDs');

    // The root's identifiers (4/14.4), where its short allocation descriptor says: the parent, then A, B, empty.txt and
    // 日本.txt, names in OSTA CS0: compression 8 (a byte a character) where Latin-1 holds them, else 16 (UCS-2 BE).
    const at = 176 + fe.readUInt32LE(168);
    const data = block(partition + fe.readUInt32LE(at + 4), fe.readUInt32LE(at));
    const names: string[] = [];
    for (let pos = 0; pos < data.length; ) {
      const fid = data.subarray(pos);
      const nameLength = fid[19];
      const name = fid.subarray(38 + fid.readUInt16LE(36), 38 + fid.readUInt16LE(36) + nameLength);
      const crcLength = tag(fid, 257, fe.readUInt32LE(at + 4), `identifier at ${pos}`);
      const length = Math.ceil((38 + fid.readUInt16LE(36) + nameLength) / 4) * 4; // padding included (4/14.4.9)
      assert.equal(crcLength, length - 16, 'identifier: CRC over its own bytes');
      names.push(nameLength === 0 ? '(parent)' : name[0] === 8 ? `8:${name.subarray(1).toString('latin1')}` : `16:${Buffer.from(name.subarray(1)).swap16().toString('utf16le')}`);
      pos += length;
    }
    assert.deepEqual(names.sort(), ['(parent)', '16:日本.txt', '8:A', '8:B', '8:empty.txt'].sort());
  });
});

describe('ISO 9660 and Joliet volume descriptors, decoded as ECMA-119 8.4 and Joliet lay them out', () => {
  const files: IsoFile[] = [{ path: 'a.txt', source: buf('abc') }];
  const ids = { systemId: 'Win32', publisherId: 'Contoso IT', preparerId: 'tsmedia 0.1', applicationId: 'Media Builder' };
  const latin = (b: Buffer, off: number, len: number): string => b.subarray(off, off + len).toString('latin1');
  const ucs2 = (b: Buffer, off: number, len: number): string => Buffer.from(b.subarray(off, off + len)).swap16().toString('utf16le');

  test('identifiers, the root record and the file identifiers: a-characters padded with spaces, UCS-2 padded with zeros', () => {
    const plan = planIso(opts(files, { volumeId: 'My Media', ...ids }));
    const pvd = bytesAt(plan, 16 * ISO_BLOCK, ISO_BLOCK);
    const svd = bytesAt(plan, 17 * ISO_BLOCK, ISO_BLOCK);
    const term = bytesAt(plan, 18 * ISO_BLOCK, ISO_BLOCK);
    for (const [d, type] of [[pvd, 1], [svd, 2], [term, 255]] as const) assert.deepEqual([d[0], latin(d, 1, 5), d[6]], [type, 'CD001', 1], `descriptor type ${type}`);
    assert.equal(latin(svd, 88, 3), '%/E', 'Joliet: UCS-2 level 3 escape');
    assert.equal(latin(pvd, 88, 3), '\0\0\0', 'primary: no escape');
    // Primary: identifiers in upper case, padded with spaces to their field.
    assert.equal(latin(pvd, 8, 32), 'WIN32'.padEnd(32), 'system id');
    assert.equal(latin(pvd, 40, 32), 'MY_MEDIA'.padEnd(32), 'volume id');
    assert.equal(latin(pvd, 190, 128), 'MY MEDIA'.padEnd(128), 'volume set id');
    assert.equal(latin(pvd, 318, 128), 'CONTOSO IT'.padEnd(128), 'publisher id');
    assert.equal(latin(pvd, 446, 128), 'TSMEDIA 0.1'.padEnd(128), 'preparer id');
    assert.equal(latin(pvd, 574, 128), 'MEDIA BUILDER'.padEnd(128), 'application id');
    assert.equal(latin(pvd, 702, 111), ' '.repeat(111), 'copyright, abstract and bibliographic file ids: spaces');
    // Joliet: the same identifiers as given, in UCS-2 big-endian, padded with UCS-2 spaces.
    assert.equal(ucs2(svd, 8, 32), 'Win32'.padEnd(16), 'Joliet system id');
    assert.equal(ucs2(svd, 40, 32), 'My Media'.padEnd(16), 'Joliet volume id');
    assert.equal(ucs2(svd, 190, 128), 'My Media'.padEnd(64), 'Joliet volume set id');
    assert.equal(ucs2(svd, 318, 128), 'Contoso IT'.padEnd(64), 'Joliet publisher id');
    assert.equal(ucs2(svd, 446, 128), 'tsmedia 0.1'.padEnd(64), 'Joliet preparer id');
    assert.equal(ucs2(svd, 574, 128), 'Media Builder'.padEnd(64), 'Joliet application id');
    assert.ok(svd.subarray(702, 813).every((x) => x === 0), 'Joliet file ids: zeros');
    // The root directory record (9.1): 34 bytes, a directory, its identifier the single byte 0.
    for (const d of [pvd, svd]) {
      assert.deepEqual([d[156], d[156 + 25], d[156 + 32], d[156 + 33]], [34, 2, 1, 0], 'root record: length, flags, identifier length and identifier');
      assert.equal(d.readUInt32LE(156 + 2), d.readUInt32BE(156 + 6), 'root record: extent both-endian');
    }
    assert.equal(pvd[881], 1, 'file structure version');
  });

  test('identifiers not given are blank: spaces in both descriptors', () => {
    const plan = planIso(opts(files, { volumeId: 'Plain' }));
    const pvd = bytesAt(plan, 16 * ISO_BLOCK, ISO_BLOCK);
    const svd = bytesAt(plan, 17 * ISO_BLOCK, ISO_BLOCK);
    for (const [off, len] of [[8, 32], [318, 128], [446, 128], [574, 128]]) {
      assert.equal(latin(pvd, off, len), ' '.repeat(len), `primary field at ${off}`);
      assert.equal(ucs2(svd, off, len), ' '.repeat(len / 2), `Joliet field at ${off}`);
    }
  });
});
