// The FAT32 planner's input checks, word for word, at their edges: sizes within the source and under 4 GiB, attributes,
// dates, files given twice or differing only in case, a file that is also a folder, a volume that does not fit; the
// volume serial number and the MBR's disk signature as FORMATS.md derives them.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { InputError } from '../electron/engine/errors.js';
import type { ContentSource } from '../electron/engine/io/ImageLayout.js';
import { FAT32_MAX_FILE } from '../electron/engine/formats/fat32/FatGeometry.js';
import { planFat32, type Fat32Options, type FatFile } from '../electron/engine/formats/fat32/Fat32Volume.js';

const MiB = 1024 * 1024;
const T = new Date('2026-03-04T05:06:08Z');
const buf = (s: string, label = 'L'): ContentSource => ({ kind: 'buffer', data: Buffer.from(s), label });
const sized = (size: number): ContentSource => ({ kind: 'file', path: '/nonexistent/never-read.bin', size, label: 'big' });
const opts = (files: FatFile[], more: Partial<Fat32Options> = {}): Fat32Options => ({ diskBytes: 64 * MiB, label: 'TEST', files, timestamp: T, ...more });

function refused(o: Fat32Options, message: string): void {
  assert.throws(
    () => planFat32(o),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `an InputError, not ${String(e)}`);
      assert.equal(e.message, message);
      return true;
    },
  );
}

describe('FAT32 planner: input checks, word for word', () => {
  test('a file part within its source, whole and not negative', () => {
    const ten = buf('0123456789', 'ten bytes');
    planFat32(opts([{ path: 'ok', source: ten, size: 10 }, { path: 'none', source: ten, size: 0 }]));
    for (const size of [11, -1, 1.5]) refused(opts([{ path: 'p', source: ten, size }]), `file "p": size ${size} is not within its source of 10 bytes (ten bytes).`);
  });

  test('4 GiB − 1 byte is the largest file: exactly that passes the check, one byte more is refused', () => {
    assert.equal(FAT32_MAX_FILE, 2 ** 32 - 1);
    // On a drive too small for it the check that follows is the space check, not the size rule.
    refused(opts([{ path: 'max.wim', source: sized(FAT32_MAX_FILE) }]), /* the size rule passed: */ planFat32Message(FAT32_MAX_FILE));
    refused(
      opts([{ path: 'sources/big.wim', source: sized(FAT32_MAX_FILE + 1) }]),
      `file "sources/big.wim" is ${FAT32_MAX_FILE + 1} bytes: FAT32 holds files up to 4 GiB − 1 byte (${FAT32_MAX_FILE}). Split it first (a WIM into .swm parts).`,
    );
  });

  test('attributes: read-only, hidden, system and archive only, whole numbers', () => {
    planFat32(opts([{ path: 'a', source: buf('x'), attributes: 0x27 }, { path: 'b', source: buf('x'), attributes: 0 }]));
    for (const [a, hex] of [
      [0x08, '8'],
      [0x10, '10'],
      [0x40, '40'],
      [0x21 | 0x80, 'a1'],
    ] as const) {
      refused(opts([{ path: 'p', source: buf('x'), attributes: a }]), `file "p": attributes 0x${hex}; only read-only 0x01, hidden 0x02, system 0x04 and archive 0x20 may be set.`);
    }
    refused(opts([{ path: 'p', source: buf('x'), attributes: 1.5 }]), 'file "p": attributes 0x1.8; only read-only 0x01, hidden 0x02, system 0x04 and archive 0x20 may be set.');
  });

  test('dates: the timestamp and each mtime must be valid dates', () => {
    refused(opts([{ path: 'a', source: buf('x') }], { timestamp: new Date('nonsense') }), 'timestamp: not a valid date.');
    refused(opts([{ path: 'a', source: buf('x') }], { timestamp: '2026-01-01' as unknown as Date }), 'timestamp: not a valid date.');
    refused(opts([{ path: 'dir/a', source: buf('x'), mtime: new Date(Number.NaN) }]), 'file "dir/a": mtime: not a valid date.');
    planFat32(opts([{ path: 'a', source: buf('x'), mtime: new Date('1999-12-31T23:59:58Z') }]));
  });

  test('twice, differing only in case, a file that is also a folder, paths', () => {
    refused(opts([{ path: 'a/b.txt', source: buf('1') }, { path: 'a/b.txt', source: buf('2') }]), 'file "a/b.txt" is given twice.');
    refused(opts([{ path: 'a/b.txt', source: buf('1') }, { path: 'A/B.TXT', source: buf('2') }]), 'files "a/b.txt" and "A/B.TXT" differ only in case; Windows sees them as the same file. Rename one.');
    refused(opts([{ path: 'a', source: buf('1') }], { directories: ['A'] }), '"a" is a file and also a folder ("A"); a path cannot be both.');
    refused(opts([{ path: '', source: buf('1') }]), 'file: an empty path.');
    refused(opts([{ path: '/', source: buf('1') }]), 'file "/": not a path below the root of the volume.');
    refused(opts([{ path: 'a', source: buf('1') }], { directories: ['x//y'] }), 'folder "x//y": an empty, "." or ".." path component.');
  });

  test('a volume that does not fit names the bytes needed, held and missing', () => {
    const plan = planFat32(opts([]));
    const cs = plan.clusterSize;
    const free = plan.freeBytes;
    // Exactly the free space fits; one byte more needs one more cluster.
    planFat32(opts([{ path: 'exact.bin', source: sized(free) }]));
    const used = plan.usedClusters + free / cs + 1;
    refused(
      opts([{ path: 'exact.bin', source: sized(free + 1) }]),
      `the files do not fit: they need ${used * cs} bytes (${used} clusters of ${cs} bytes) and a drive of ${64 * MiB} bytes holds ${plan.clusters * cs}; ${cs} bytes are missing. Use a larger drive.`,
    );
  });

  test('serial number and disk signature: from the label, timestamp and volume id given, as FORMATS.md says', () => {
    const read = (o: Fat32Options): { serial: number; signature: number } => {
      const p = planFat32(o);
      const mbr = p.regions.find((r) => r.offset === 0)?.data;
      const boot = p.regions.find((r) => r.offset === p.partitionOffset)?.data;
      assert.ok(mbr && boot);
      return { serial: boot.readUInt32LE(67), signature: mbr.readUInt32LE(440) };
    };
    const files = [{ path: 'a', source: buf('x') }];
    const h = createHash('sha256').update(`tsmedia-fat32\0TEST\0${T.toISOString()}\0`).digest();
    assert.deepEqual(read(opts(files)), { serial: h.readUInt32LE(0), signature: h.readUInt32LE(4) || 1 });
    const g = createHash('sha256').update(`tsmedia-fat32\0TEST\0${T.toISOString()}\0${0x1234abcd}`).digest();
    assert.deepEqual(read(opts(files, { volumeId: 0x1234abcd })), { serial: 0x1234abcd, signature: g.readUInt32LE(4) || 1 });
    assert.equal(read(opts(files, { volumeId: -1 })).serial, 0xffffffff, 'a negative id taken as its 32-bit pattern');
    assert.notEqual(read(opts(files, { label: 'OTHER' })).serial, read(opts(files)).serial);
  });
});

/** What planFat32 says when a 4 GiB − 1 file passes the size rule but not the 64 MiB drive. */
function planFat32Message(size: number): string {
  const empty = planFat32(opts([]));
  const cs = empty.clusterSize;
  const used = empty.usedClusters + Math.ceil(size / cs);
  return `the files do not fit: they need ${used * cs} bytes (${used} clusters of ${cs} bytes) and a drive of ${64 * MiB} bytes holds ${empty.clusters * cs}; ${(used - empty.clusters) * cs} bytes are missing. Use a larger drive.`;
}
