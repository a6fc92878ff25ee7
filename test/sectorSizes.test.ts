// Sector-aligned I/O (io/SectorIo) and volumes laid out for 4096-byte logical sectors, without a drive: the sector
// writer and reader on a file against a byte-exact model, the FAT32 geometry and boot sectors for 4096-byte sectors,
// a 4096-byte-sector image checked by fsck.fat, mtools and our reader, the writer's order (boot region last), and the
// named refusal of any other sector size.
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import { WriteError, writeImage } from '../electron/engine/io/ImageWriter.js';
import { readBackImage, type ImageHasher } from '../electron/engine/io/ImageReadBack.js';
import { createHash } from 'node:crypto';
import { SectorReader, SectorWriter, alignedBuffer, checkSectorSize } from '../electron/engine/io/SectorIo.js';
import { fat32Geometry, minimumFat32DiskBytes, planFat32, type FatFile } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { planFat32Append } from '../electron/engine/formats/fat32/Fat32Append.js';
import { pattern, requireOrSkip, tempDir } from './helpers.js';
import { assertFsckClean, fsckVolume, missingFatTools, mtoolsHash, must, sha256 } from './support/fat32Tools.js';

const MiB = 1024 * 1024;
const T0 = new Date('2025-06-01T12:00:00Z');

/** A deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const files = (): FatFile[] => [
  { path: 'EFI/BOOT/BOOTX64.EFI', source: { kind: 'buffer', data: pattern(70_001, 1), label: 'a' } },
  { path: 'SMS/data/TsmBootstrap.ini', source: { kind: 'buffer', data: Buffer.from('[Settings]\r\nUnattended=true\r\n'), label: 'b' } },
  { path: 'SMS/PKG/SMP00002/install.wim', source: { kind: 'buffer', data: pattern(5 * MiB + 77, 2), label: 'c' } },
  { path: 'Long file name with spaces.txt', source: { kind: 'buffer', data: Buffer.from('x'), label: 'd' } },
];

describe('aligned memory and the sector writer and reader', () => {
  test('WebAssembly.Memory gives zeroed memory of the size asked, shared when asked', () => {
    const b = alignedBuffer(10_000);
    assert.equal(b.length, 10_000);
    assert.ok(b.every((x) => x === 0));
    assert.ok(alignedBuffer(4096, true).buffer instanceof SharedArrayBuffer);
  });

  for (const align of [512, 4096]) {
    test(`${align}-byte sectors: ranges in any order, partial sectors kept from what was there (read-modify-write), reads of any range`, (t) => {
      const dir = tempDir(t);
      const path = join(dir, 'disk.img');
      const size = 3 * MiB + 5 * align;
      const model = pattern(size, 7);
      writeFileSync(path, model);
      const fd = openSync(path, 'r+');
      try {
        // Non-overlapping ranges of every kind: inside one sector, across sectors, touching, larger than the stage.
        const next = rng(align);
        const ranges: { at: number; data: Buffer }[] = [];
        let at = 3;
        while (at < size - 10) {
          const len = Math.min(size - at, Math.floor(next() * (next() < 0.1 ? 2 * MiB : 3 * align)) + 1);
          ranges.push({ at, data: pattern(len, at) });
          at += len + (next() < 0.3 ? 0 : Math.floor(next() * 2 * align));
        }
        for (let i = ranges.length - 1; i > 0; i--) {
          const j = Math.floor(next() * (i + 1));
          [ranges[i], ranges[j]] = [ranges[j], ranges[i]];
        }
        // Half in order (gathered), half shuffled.
        const ordered = ranges.slice(0, ranges.length >> 1).sort((a, b) => a.at - b.at);
        const w = new SectorWriter(fd, align, 1 * MiB);
        for (const r of [...ordered, ...ranges.slice(ranges.length >> 1)]) {
          w.put(r.data, r.data.length, r.at);
          r.data.copy(model, r.at);
        }
        w.finish();
        assert.ok(w.rmwReads > 0, 'partial sectors were read first');
        assert.ok(readFileSync(path).equals(model), 'every byte written where asked, every other byte as it was');
        const rd = new SectorReader(fd, align, alignedBuffer(256 * 1024));
        for (let k = 0; k < 200; k++) {
          const pos = Math.floor(next() * size);
          const len = Math.min(size - pos, Math.floor(next() * 600 * 1024));
          const out = Buffer.alloc(len);
          assert.equal(rd.read(out, 0, len, pos), len);
          assert.ok(out.equals(model.subarray(pos, pos + len)), `read at ${pos} (${len} bytes)`);
        }
        const tail = Buffer.alloc(100);
        assert.equal(rd.read(tail, 0, 100, size - 40), 40, 'a read stops where the file ends');
      } finally {
        closeSync(fd);
      }
    });
  }

  test('writing a layout as to a drive (whole sectors, boot region last) gives the same bytes as writing it to a file', (t) => {
    const dir = tempDir(t);
    const plan = planFat32({ diskBytes: 300 * MiB, label: 'ORDER', files: files(), timestamp: T0, sectorSize: 4096 });
    assert.equal(plan.bootEnd, MiB + plan.reservedSectors * 4096, 'the MBR and the reserved sectors');
    const write = (name: string, sectorSize?: number): { bytes: Buffer; sha256: string } => {
      const path = join(dir, name);
      const fd = openSync(path, 'w+');
      try {
        ftruncateSync(fd, 300 * MiB);
        const r = writeImage(plan, fd, { gaps: 'zero', ...(sectorSize ? { sectorSize } : {}) });
        return { bytes: readFileSync(path), sha256: r.sha256 };
      } finally {
        closeSync(fd);
      }
    };
    const asFile = write('file.img');
    const asDrive = write('drive.img', 4096);
    assert.ok(asDrive.bytes.equals(asFile.bytes));
    assert.equal(asDrive.sha256, asFile.sha256, 'the image hash is of the bytes in order, whatever order they were written in');

    // Read back as from a drive (whole sectors through a window): the same hash; a changed byte is named.
    const hasher = (): ImageHasher => {
      const h = createHash('sha256');
      const room = Buffer.alloc(MiB);
      return { slotSize: MiB, buffer: () => room, takeImage: (c) => void h.update(c), digest: () => h.digest('hex') };
    };
    const fd = openSync(join(dir, 'drive.img'), 'r+');
    try {
      const back = readBackImage(plan, fd, 'drive.img', hasher(), { gaps: 'zero', sectorSize: 4096 });
      assert.equal(back.sha256, asFile.sha256);
      const at = plan.extents[1].offset + 3;
      writeSync(fd, Buffer.from([asFile.bytes[at] ^ 0xff]), 0, 1, at);
      assert.throws(() => readBackImage(plan, fd, 'drive.img', hasher(), { gaps: 'zero', sectorSize: 4096 }), (e: unknown) => e instanceof WriteError && e.message.includes(`offset ${at} (${plan.extents[1].path})`));
    } finally {
      closeSync(fd);
    }
  });
});

describe('FAT32 for 4096-byte logical sectors', () => {
  test('geometry: LBAs, reserved sectors, FAT and clusters in 4096-byte sectors; clusters never smaller than a sector', () => {
    const g = fat32Geometry(300 * MiB, 4096);
    assert.equal(g.sectorSize, 4096);
    assert.equal(g.partitionStartSector, 256, '1 MiB in 4096-byte sectors');
    assert.equal(g.partitionSectors, 300 * 256 - 256);
    assert.equal(g.clusterSize, 4096);
    assert.equal(g.sectorsPerCluster, 1);
    assert.equal(g.dataStartSector % 256, 0, 'data start on a 1 MiB boundary');
    assert.ok(g.fatSectors * 1024 >= g.clusters + 2, 'the FAT (1024 entries a sector) holds every cluster');
    const g512 = fat32Geometry(300 * MiB);
    assert.equal(g512.partitionStartSector, 2048);
    assert.equal(g512.clusterSize, 4096);
    // 100 MiB: 1 KiB clusters with 512-byte sectors; with 4096-byte sectors too few 4 KiB clusters: refused, naming the smallest drive.
    assert.equal(fat32Geometry(100 * MiB).clusterSize, 1024);
    const min = minimumFat32DiskBytes(4096);
    assert.ok(min > 65525 * 4096 && min < 270 * MiB, String(min));
    assert.throws(() => fat32Geometry(100 * MiB, 4096), (e: unknown) => e instanceof InputError && e.message.includes(`smallest drive is ${min} bytes`));
    assert.equal(fat32Geometry(min, 4096).clusters >= 65525, true);
    assert.equal(fat32Geometry(64 * 1024 ** 3, 4096).clusterSize, 32 * 1024);
  });

  test('any other sector size is refused with a named error', () => {
    for (const bad of [520, 1024, 2048, 8192]) {
      assert.throws(
        () => checkSectorSize(bad, '/dev/sdz'),
        (e: unknown) => e instanceof InputError && e.code === 'SECTOR_SIZE_UNSUPPORTED' && e.message === `/dev/sdz has logical sectors of ${bad} bytes; tsmedia lays out drives with 512- or 4096-byte sectors only. Use another drive.`,
      );
      assert.throws(() => fat32Geometry(300 * MiB, bad), /512- or 4096-byte sectors only/);
    }
    assert.equal(checkSectorSize(4096, '/dev/sdz'), 4096);
  });

  test('an image laid out for 4096-byte sectors: MBR in 4096-byte LBAs, BPB of 4096, fsck.fat clean, mtools and our reader read every file', async (t) => {
    const missing = missingFatTools(['sfdisk']);
    if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
    const dir = tempDir(t);
    const img = join(dir, 'usb4k.img');
    const diskBytes = 300 * MiB;
    const fs = files();
    const plan = planFat32({ diskBytes, label: 'FOURK', files: fs, timestamp: T0, sectorSize: 4096 });
    const fd = openSync(img, 'w');
    try {
      writeImage(plan, fd, { gaps: 'sparse' });
      ftruncateSync(fd, diskBytes);
    } finally {
      closeSync(fd);
    }
    const b = readFileSync(img);
    assert.equal(b.readUInt32LE(446 + 8), 256, 'partition LBA 256 (of 4096 bytes)');
    assert.equal(b.readUInt32LE(446 + 12), 300 * 256 - 256);
    assert.equal(b.readUInt16LE(MiB + 11), 4096, 'BPB bytes per sector');
    assert.equal(b.readUInt32LE(MiB + 28), 256, 'hidden sectors');
    assert.equal(b.readUInt32LE(MiB + 4096), 0x41615252, 'FSInfo in the next 4096-byte sector');
    assert.ok(b.subarray(MiB, MiB + 8192).equals(b.subarray(MiB + 6 * 4096, MiB + 8 * 4096)), 'backup boot sector and FSInfo at sector 6');
    // sfdisk reads LBAs as 512-byte sectors in a file: 256 then is not the partition; the volume is found at 1 MiB.
    assertFsckClean(fsckVolume(img, MiB, dir), '4096-byte-sector volume');
    for (const f of fs) assert.equal(await mtoolsHash(img, MiB, f.path), sha256((f.source as { data: Buffer }).data), f.path);
    const vol = openFat32(img);
    try {
      assert.equal(vol.offset, MiB, 'our reader takes the LBA in 4096-byte sectors (the BPB says 4096)');
      assert.equal(vol.bytesPerSector, 4096);
      for (const f of fs) assert.ok(vol.readFileBuffer(f.path).equals((f.source as { data: Buffer }).data), f.path);
      // Adding a file plans whole 4096-byte FSInfo sectors, the FSInfo last.
      const add = planFat32Append(vol, [{ path: 'added.txt', source: { kind: 'buffer', data: Buffer.from('added'), label: 'e' } }], [], T0);
      assert.equal(add.bootEnd, vol.fatOffset(0));
      const fsInfo = add.regions.filter((r) => r.offset < vol.fatOffset(0));
      assert.deepEqual(fsInfo.map((r) => [r.offset, r.data.length]), [[MiB + 4096, 4096], [MiB + 7 * 4096, 4096]]);
    } finally {
      vol.close();
    }
    must('sfdisk', ['-d', img]);
  });
});
