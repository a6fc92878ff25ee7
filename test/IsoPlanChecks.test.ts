// The ISO planner's input checks, word for word, at their edges; and a file over 4 GiB planned (nothing written): its
// ISO 9660 and Joliet directory records decoded from the plan as ECMA-119 lays them out (one record per extent of at
// most 4 GiB − 2 KiB, the multi-extent flag on all but the last, the extents back to back).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../electron/engine/errors.js';
import type { ContentSource } from '../electron/engine/io/ImageLayout.js';
import { ISO_BLOCK, ISO_MAX_EXTENT, ISO_MAX_FILE, planIso, type IsoFile, type IsoOptions, type IsoPlan } from '../electron/engine/formats/iso/IsoImage.js';

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
    out.push({ extent: r.readUInt32LE(2), size: r.readUInt32LE(10), flags: r[25], id: Buffer.from(r.subarray(33, 33 + r[32])) });
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
    const plan = planIso(opts([{ path: '//Folder/b.txt/', source: buf('x') }], { directories: ['/Empty/'] }));
    assert.deepEqual(rootRecords(plan, 17).map((r) => r.id.swap16().toString('utf16le')).sort(), ['Empty', 'Folder']);
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
      for (let pos = 0; pos < dir.length && dir[pos] > 0; pos += dir[pos]) recs.push({ extent: dir.readUInt32LE(pos + 2), size: dir.readUInt32LE(pos + 10), flags: dir[pos + 25], id: Buffer.from(dir.subarray(pos + 33, pos + 33 + dir[pos + 32])) });
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
