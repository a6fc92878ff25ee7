// The FAT12/FAT16 image reader (efisys.bin): images made by mkfs.fat and mtools, and by the project's own floppy
// builder, read back file for file; damaged images give errors naming the image.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSmallFatImage } from '../electron/engine/formats/fat32/FatSmallImage.js';
import { buildFatFloppy } from '../scripts/lib/FatFloppy.js';
import { hasCommand, pattern, requireOrSkip, tempDir } from './helpers.js';

const MKFS = ['mkfs.fat', '/usr/sbin/mkfs.fat', '/sbin/mkfs.fat'].find((c) => (c.includes('/') ? existsSync(c) : hasCommand(c))) ?? null;
const TOOLS = MKFS !== null && hasCommand('mcopy') && hasCommand('mmd');

const FILES = [
  { path: 'EFI/BOOT/BOOTX64.EFI', data: pattern(70_000, 1) },
  { path: 'EFI/Microsoft/Boot/bootmgfw.efi', data: pattern(5_000, 2) },
  { path: 'EFI/Microsoft/Boot/a long name with spaces.txt', data: Buffer.from('long\r\n') },
  { path: 'EMPTY.DAT', data: Buffer.alloc(0) },
  ...Array.from({ length: 40 }, (_, i) => ({ path: `MANY/file number ${i}.bin`, data: pattern(300 + i * 91, 10 + i) })),
];

function sorted(files: { path: string; data: Buffer }[]): string[] {
  return files.map((f) => `${f.path}:${f.data.length}:${f.data.toString('base64').slice(0, 40)}`).sort();
}

for (const [kind, args, sizeKiB] of [['FAT12', ['-F', '12'], 1440], ['FAT16', ['-F', '16'], 20_480]] as const) {
  test(`${kind} made by mkfs.fat and mcopy reads back file for file`, (t) => {
    if (!requireOrSkip(t, TOOLS, 'needs mkfs.fat and mtools (apt-get install dosfstools mtools)')) return;
    const dir = tempDir(t, 'tsmedia-fatsmall-');
    const img = join(dir, 'efisys.bin');
    const r = spawnSync(MKFS as string, ['-C', ...args, '-n', 'EFISECTOR', img, String(sizeKiB)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const src = join(dir, 'src');
    for (const f of FILES) {
      mkdirSync(join(src, f.path, '..'), { recursive: true });
      writeFileSync(join(src, f.path), f.data);
    }
    for (const top of ['EFI', 'EMPTY.DAT', 'MANY']) {
      const m = spawnSync('mcopy', ['-s', '-i', img, join(src, top), '::/'], { encoding: 'utf8', env: { ...process.env, MTOOLS_NO_VFAT: '' } });
      assert.equal(m.status, 0, m.stderr);
    }
    const read = readSmallFatImage(readFileSync(img), img);
    assert.deepEqual(sorted(read), sorted(FILES));
  });
}

test('the project\'s FAT12 floppy reads back, and damaged images are named', () => {
  const files = [{ path: 'EFI/BOOT/BOOTX64.EFI', data: pattern(200_000, 3) }, { path: 'README.TXT', data: Buffer.from('x') }];
  const img = buildFatFloppy(files, 'EFISECTOR');
  assert.deepEqual(sorted(readSmallFatImage(img, 'efisys.bin')), sorted(files));
  assert.throws(() => readSmallFatImage(Buffer.alloc(2048), 'efisys.bin'), /efisys\.bin: no boot sector signature/);
  // A chain that loops: the FAT entry of the file's first cluster points at itself.
  const loop = Buffer.from(img);
  const root = 19 * 512;
  const first = [...Array(224).keys()].map((i) => root + i * 32).find((o) => loop.toString('latin1', o, o + 8) === 'README  ');
  assert.ok(first !== undefined);
  const cluster = loop.readUInt16LE(first + 26);
  const at = 512 + Math.floor((cluster * 3) / 2);
  const v = loop.readUInt16LE(at);
  loop.writeUInt16LE(cluster & 1 ? (v & 0x000f) | (cluster << 4) : (v & 0xf000) | cluster, at);
  assert.throws(() => readSmallFatImage(loop, 'efisys.bin'), /efisys\.bin: .*README\.TXT.*loops at cluster/);
  // A file that claims more bytes than its chain holds.
  const long = Buffer.from(img);
  long.writeUInt32LE(10_000, first + 28);
  assert.throws(() => readSmallFatImage(long, 'efisys.bin'), /README\.TXT: 10000 bytes in 1 clusters/);
  // A FAT32 BPB (no fixed root directory).
  const f32 = Buffer.from(img);
  f32.writeUInt16LE(0, 17);
  assert.throws(() => readSmallFatImage(f32, 'efisys.bin'), /no fixed root directory/);
});
