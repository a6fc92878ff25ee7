// The BIOS boot code's bytes in BiosBootCode.ts are what nasm makes of the .asm sources in the repository, byte for
// byte; the MBR code keeps out of the disk signature and the partition table; and "--no-format" refuses a volume whose
// reserved sectors leave no room for part two of the code, naming the drive, before anything is written, and makes the
// FAT32 partition the only active one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FAT32_BOOT_BASE64, MBR_CODE_BASE64 } from '../electron/engine/formats/fat32/BiosBootCode.js';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { bootCodeSectorCount, planBiosBootInstall, putBootSectorCode, putMbrCode } from '../electron/engine/formats/fat32/FatBiosBoot.js';
import { InputError } from '../electron/engine/errors.js';
import { assembleBootCode } from '../scripts/lib/bootCode.js';
import { ROOT, hasCommand, requireOrSkip, tempDir } from './helpers.js';
import { tool } from './support/fat32Tools.js';

test('BiosBootCode.ts holds exactly what nasm assembles from boot/mbr.asm and boot/fat32boot.asm', (t) => {
  if (!requireOrSkip(t, hasCommand('nasm'), 'nasm is missing (apt-get install nasm): the committed bytes cannot be re-assembled here')) return;
  const code = assembleBootCode(ROOT);
  assert.equal(code.mbr.length, 440);
  assert.ok(Buffer.from(MBR_CODE_BASE64, 'base64').equals(code.mbr), 'MBR code: run node dist/scripts/assemble-boot-code.js after changing mbr.asm');
  assert.ok(Buffer.from(FAT32_BOOT_BASE64, 'base64').equals(code.fat32), 'FAT32 boot code: run node dist/scripts/assemble-boot-code.js after changing fat32boot.asm');
});

test('the code goes around what belongs to the drive: the disk signature, the partition table and the BPB stay', () => {
  const mbr = Buffer.alloc(512, 0xcc);
  putMbrCode(mbr);
  assert.ok(mbr.subarray(440).every((b) => b === 0xcc), 'bytes 440–511 untouched');
  assert.ok(!mbr.subarray(0, 440).every((b) => b === 0xcc));
  const boot = Buffer.alloc(4096, 0xcc);
  putBootSectorCode(boot);
  assert.deepEqual([...boot.subarray(0, 3)], [0xeb, 0x58, 0x90], 'a short jump to byte 90');
  assert.ok(boot.subarray(3, 90).every((b) => b === 0xcc), 'the OEM name and BPB untouched');
  assert.equal(boot.readUInt16LE(510), 0xaa55);
  assert.ok(boot.subarray(512).every((b) => b === 0xcc), 'the rest of a 4096-byte sector untouched');
  assert.equal(bootCodeSectorCount(512), 2);
  assert.equal(bootCodeSectorCount(4096), 1);
});

test('--no-format: a volume with its backup boot sector where part two of the code would go is refused by name', (t) => {
  const sfdisk = tool('sfdisk');
  const mkfs = tool('mkfs.fat');
  if (!requireOrSkip(t, process.platform !== 'win32', 'sfdisk and mkfs.fat are Linux programs node.exe cannot start')) return;
  if (!requireOrSkip(t, sfdisk !== null && mkfs !== null, 'sfdisk and mkfs.fat are missing (apt-get install fdisk dosfstools)')) return;
  const dir = tempDir(t);
  const img = join(dir, 'odd.img');
  writeFileSync(img, '');
  truncateSync(img, 64 * 1024 * 1024);
  assert.equal(spawnSync(sfdisk as string, ['-q', img], { input: 'start=2048, type=c\n' }).status, 0);
  assert.equal(spawnSync(mkfs as string, ['-F', '32', '-s', '1', '-b', '3', '--offset', '2048', img], { encoding: 'utf8' }).status, 0);
  const before = readFileSync(img);
  const v = openFat32(img);
  try {
    assert.equal(v.backupBootSector, 3);
    assert.throws(
      () => planBiosBootInstall(v),
      (e: unknown) => e instanceof InputError && /odd\.img: the FAT32 volume has no room for the BIOS boot code in reserved sectors 2–3 .*the backup boot sector at 3\)\. Write the whole drive \(without --no-format\)/.test(e.message),
    );
  } finally {
    v.close();
  }
  assert.ok(readFileSync(img).equals(before), 'nothing written');
});

test('--no-format on a drive of two partitions, the other one active: the FAT32 one becomes the only active one; a volume already right changes nothing else', (t) => {
  const sfdisk = tool('sfdisk');
  const mkfs = tool('mkfs.fat');
  if (!requireOrSkip(t, process.platform !== 'win32', 'sfdisk and mkfs.fat are Linux programs node.exe cannot start')) return;
  if (!requireOrSkip(t, sfdisk !== null && mkfs !== null, 'sfdisk and mkfs.fat are missing (apt-get install fdisk dosfstools)')) return;
  const dir = tempDir(t);
  const img = join(dir, 'two.img');
  writeFileSync(img, '');
  truncateSync(img, 80 * 1024 * 1024);
  assert.equal(spawnSync(sfdisk as string, ['-q', img], { input: 'start=2048, size=131072, type=c\nstart=133120, type=83, bootable\n' }).status, 0);
  assert.equal(spawnSync(mkfs as string, ['-F', '32', '-s', '1', '--offset', '2048', '-h', '2048', img], { encoding: 'utf8' }).status, 0);
  const v = openFat32(img);
  try {
    const plan = planBiosBootInstall(v);
    assert.deepEqual(plan.changes, ['MBR partition 1 made active', 'MBR partition 2 made inactive'], 'hidden sectors were right (2048): not named');
    const mbr = plan.regions[0];
    assert.equal(mbr.offset, 0);
    assert.deepEqual([mbr.data[446], mbr.data[462]], [0x80, 0x00]);
    assert.deepEqual(plan.regions.map((r) => [r.offset / 512, r.data.length / 512]), [[0, 1], [2048, 1], [2048 + 2, 2], [2048 + 6, 1], [2048 + 8, 2]], 'the MBR, the boot sector, part two and their backups');
  } finally {
    v.close();
  }
});
