// BIOS boot from USB, proven under SeaBIOS in QEMU (TCG): the project's own MBR and FAT32 boot code load a BOOTMGR
// stand-in the test assembles with nasm (test/support/bootmgrStandIn.ts), which checks it was loaded whole and the state
// it was handed (DL, segment registers, SP, the BPB at 0:7C00 with the hidden sectors, A20) and prints a marker on the
// serial port. Both ways of writing — a fresh volume (planFat32) and "use the drive as already formatted" (the files
// added and the boot code installed into a volume mkfs.fat made, as UsbMediaBuilder does it: withBiosBoot over
// planFat32Append) — on sparse images of 1, 16 and 64 GiB, attached as an IDE disk and as a USB disk on xHCI.
// SeaBIOS's screen text is copied to the serial port (sercon), so the boot code's messages are read there too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { planFat32Append } from '../electron/engine/formats/fat32/Fat32Append.js';
import { planFat32, type FatFile } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { withBiosBoot } from '../electron/engine/formats/fat32/FatBiosBoot.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { hasCommand, requireOrSkip, skipWhileMutating, tempDir } from './helpers.js';
import { buildBootStandIns, missingBootStandInTools } from './support/bootStandIns.js';
import { STANDIN_FAIL, STANDIN_OK, build4kShim, buildBootmgrStandIn, buildNoExtensionsShim } from './support/bootmgrStandIn.js';
import { MT_ENV, assertFsckClean, fsckVolume, missingFatTools, must, tool } from './support/fat32Tools.js';
import { OVMF, QEMU, bootDisk } from './support/qemu.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** The partition's first sector: 1 MiB of 512-byte sectors, as the planner and sfdisk place it. */
const HIDDEN = 2048;
const T = new Date('2025-06-01T12:00:00Z');
const PRESS = 'Press a key to restart';
const ENDS = [STANDIN_OK, STANDIN_FAIL, PRESS];

function missingTools(): string[] {
  const m = missingFatTools(['mkfs.fat', 'sfdisk', 'mdel']);
  if (!hasCommand('nasm')) m.push('nasm (apt-get install nasm)');
  if (!hasCommand(QEMU)) m.push(`${QEMU} (apt-get install qemu-system-x86)`);
  return m;
}

const buf = (data: Buffer, label: string): FatFile['source'] => ({ kind: 'buffer', data, label });

/** A fresh volume of `diskBytes` (a sparse image file) holding `files`, as the USB writer plans it. */
function freshImage(dir: string, name: string, diskBytes: number, files: FatFile[]): string {
  const img = join(dir, name);
  const plan = planFat32({ diskBytes, label: 'BIOSBOOT', files, timestamp: T });
  const fd = openSync(img, 'w');
  try {
    writeImage(plan, fd, { gaps: 'sparse' });
  } finally {
    closeSync(fd);
  }
  truncateSync(img, diskBytes);
  return img;
}

/**
 * A drive another tool formatted: an MBR from sfdisk whose one partition (at 1 MiB) is not active, and a FAT32 volume
 * from mkfs.fat with a wrong hidden-sectors field (`hidden`).
 */
function foreignImage(dir: string, name: string, diskBytes: number, hidden: number): string {
  const img = join(dir, name);
  writeFileSync(img, '');
  truncateSync(img, diskBytes);
  const sf = spawnSync(tool('sfdisk') ?? 'sfdisk', ['-q', img], { input: 'start=2048, type=c\n', encoding: 'utf8' });
  assert.equal(sf.status, 0, sf.stderr);
  must('mkfs.fat', ['-F', '32', '-n', 'OLDSTICK', '--offset', String(HIDDEN), '-h', String(hidden), img]);
  return img;
}

/** "--no-format" as UsbMediaBuilder runs it: the files added, the BIOS boot code installed; returns what it changed. */
function noFormatWrite(img: string, files: FatFile[]): string[] {
  const v = openFat32(img);
  let plan;
  try {
    plan = withBiosBoot(planFat32Append(v, files, [], T), v);
  } finally {
    v.close();
  }
  const fd = openSync(img, 'r+');
  try {
    writeImage(plan.layout, fd, { gaps: 'skip' });
  } finally {
    closeSync(fd);
  }
  return plan.changes;
}

async function assertBoots(img: string, bus: 'ide' | 'usb', what: string): Promise<void> {
  const r = await bootDisk(img, { bus, markers: ENDS });
  console.log(`# ${what}, ${bus}: ${r.found ? r.output.match(/TSMEDIA-BOOTMGR-STANDIN-\w+[^\r\n]*/)?.[0] ?? 'a message' : 'nothing'} after ${r.ms} ms`);
  assert.ok(r.output.includes(STANDIN_OK), `${what} as a ${bus} disk under SeaBIOS: no ${STANDIN_OK}; serial output:\n${r.output.slice(-1500)}`);
}

function assertFsck(t: TestContext, img: string, dir: string, what: string): void {
  const r = fsckVolume(img, MiB, dir);
  if (r === null) {
    console.log(`# ${t.name}: fsck.fat not run on ${what}: a volume this large is checked through a loop device, which needs root`);
    return;
  }
  assertFsckClean(r, what);
}

describe('BIOS boot from USB under SeaBIOS', () => {
  test('a fresh 1 GiB volume with a 64 KiB BOOTMGR boots as an IDE and as a USB disk; OVMF boots the same image; fsck.fat clean', async (t) => {
    if (!requireOrSkip(t, missingTools().length === 0, `missing ${missingTools().join(', ')}`)) return;
    const dir = tempDir(t, 'tsmedia-biosboot-');
    const uefi = missingBootStandInTools().length === 0 && existsSync(OVMF) ? buildBootStandIns(dir) : null;
    const files: FatFile[] = [{ path: 'bootmgr', source: buf(buildBootmgrStandIn(64 * KiB, HIDDEN), 'BOOTMGR stand-in'), attributes: 0x27 }];
    if (uefi) files.push({ path: 'efi/boot/bootx64.efi', source: buf(uefi.bootx64, 'BOOTX64.EFI stand-in') });
    const img = freshImage(dir, 'fresh1g.img', GiB, files);
    const mbr = readFileSync(img).subarray(0, 512);
    assert.equal(mbr[446], 0x80, 'the partition is active');
    await assertBoots(img, 'ide', 'fresh 1 GiB');
    await assertBoots(img, 'usb', 'fresh 1 GiB');
    if (requireOrSkip(t, uefi !== null, `OVMF part: missing ${[...missingBootStandInTools(), ...(existsSync(OVMF) ? [] : [OVMF])].join(', ')}`)) {
      const r = await bootDisk(img, { bus: 'usb', uefi: true, markers: [(uefi as { uefiMarker: string }).uefiMarker] });
      console.log(`# fresh 1 GiB under OVMF, usb: ${r.found ? 'marker' : 'nothing'} after ${r.ms} ms`);
      assert.ok(r.found, `OVMF did not boot the same image:\n${r.output.slice(-1500)}`);
    }
    assertFsck(t, img, dir, 'fresh 1 GiB');
  });

  test('fresh 16 GiB (USB disk) and 64 GiB (IDE disk) sparse volumes with a 480 KiB BOOTMGR', async (t) => {
    if (!requireOrSkip(t, missingTools().length === 0, `missing ${missingTools().join(', ')}`)) return;
    if (!skipWhileMutating(t)) return;
    const dir = tempDir(t, 'tsmedia-biosboot-');
    const bootmgr = buildBootmgrStandIn(480 * KiB, HIDDEN);
    for (const [size, bus] of [[16, 'usb'], [64, 'ide']] as const) {
      const img = freshImage(dir, `fresh${size}g.img`, size * GiB, [{ path: 'bootmgr', source: buf(bootmgr, 'BOOTMGR stand-in') }]);
      await assertBoots(img, bus, `fresh ${size} GiB`);
      assertFsck(t, img, dir, `fresh ${size} GiB`);
      truncateSync(img, 0);
    }
  });

  test('--no-format on a 1 GiB volume mkfs.fat made (hidden sectors 0, partition not active): the code goes in, BOOTMGR copied by mtools boots as a USB disk', async (t) => {
    if (!requireOrSkip(t, missingTools().length === 0, `missing ${missingTools().join(', ')}`)) return;
    const dir = tempDir(t, 'tsmedia-biosboot-');
    const img = foreignImage(dir, 'foreign1g.img', GiB, 0);
    const before = readFileSync(img).subarray(0, 512);
    writeFileSync(join(dir, 'bootmgr'), buildBootmgrStandIn(64 * KiB, HIDDEN));
    must('mcopy', ['-i', `${img}@@1M`, join(dir, 'bootmgr'), '::/BOOTMGR'], MT_ENV);
    const changes = noFormatWrite(img, [{ path: 'readme.txt', source: buf(Buffer.from('added\r\n'), 'readme') }]);
    assert.deepEqual(changes, ['MBR partition 1 made active', "boot sector: hidden sectors 0 set to 2048, the partition's first sector", "backup boot sector: hidden sectors 0 set to 2048, the partition's first sector"]);
    const after = readFileSync(img).subarray(0, 512);
    assert.ok(after.subarray(440, 446).equals(before.subarray(440, 446)), 'the disk signature is kept');
    assert.ok(after.subarray(447, 512).equals(before.subarray(447, 512)), 'the partition table is kept but for the active flag');
    await assertBoots(img, 'usb', '--no-format 1 GiB');
    assertFsck(t, img, dir, '--no-format 1 GiB');
  });

  test('--no-format on a 16 GiB volume whose BOOTMGR (480 KiB) lies in four fragments beyond the first 8 GiB: boots as an IDE disk', async (t) => {
    if (!requireOrSkip(t, missingTools().length === 0, `missing ${missingTools().join(', ')}`)) return;
    if (!skipWhileMutating(t)) return;
    const dir = tempDir(t, 'tsmedia-biosboot-');
    const img = foreignImage(dir, 'frag16g.img', 16 * GiB, 63);
    // 9 GiB of clusters taken by three fillers (their FAT chains and entries written, their data left as the image's
    // holes), then six 64 KiB files, three of them deleted: holes for BOOTMGR beyond 9 GiB.
    const v = openFat32(img);
    let fill;
    try {
      const filler = (n: number): FatFile => ({ path: `FILL${n}.BIN`, source: { kind: 'file', path: '/dev/zero', size: 3 * GiB, label: 'filler' } });
      fill = planFat32Append(v, [filler(1), filler(2), filler(3)], [], T);
    } finally {
      v.close();
    }
    const fd = openSync(img, 'r+');
    try {
      for (const r of fill.regions) writeSync(fd, r.data, 0, r.data.length, r.offset);
      writeFileSync(join(dir, 's.bin'), Buffer.alloc(64 * KiB, 0x5a));
      for (let i = 1; i <= 6; i++) must('mcopy', ['-i', `${img}@@1M`, join(dir, 's.bin'), `::/S${i}.BIN`], MT_ENV);
      must('mdel', ['-i', `${img}@@1M`, '::/S1.BIN', '::/S3.BIN', '::/S5.BIN'], MT_ENV);
      // FSInfo's next-free hint "unknown": mtools then allocates from the volume's start, into the holes.
      writeSync(fd, Buffer.alloc(4, 0xff), 0, 4, MiB + 512 + 492);
    } finally {
      closeSync(fd);
    }
    writeFileSync(join(dir, 'bootmgr'), buildBootmgrStandIn(480 * KiB, HIDDEN));
    must('mcopy', ['-i', `${img}@@1M`, join(dir, 'bootmgr'), '::/BOOTMGR'], MT_ENV);
    const check = openFat32(img);
    try {
      const f = check.find('BOOTMGR');
      assert.ok(f && f.runs.length >= 3, `BOOTMGR is fragmented: ${JSON.stringify(f?.runs)}`);
      for (const e of f.extents) assert.ok(e.offset > 8 * GiB, `every fragment lies beyond 8 GiB (${e.offset})`);
    } finally {
      check.close();
    }
    const changes = noFormatWrite(img, [{ path: 'readme.txt', source: buf(Buffer.from('added\r\n'), 'readme') }]);
    assert.ok(changes.includes("boot sector: hidden sectors 63 set to 2048, the partition's first sector"), changes.join('; '));
    await assertBoots(img, 'ide', '--no-format 16 GiB, fragmented beyond 8 GiB');
    assertFsck(t, img, dir, '--no-format 16 GiB');
  });

  test('without the INT 13h extensions (a shim hooks them away, as some USB-floppy emulations lack them) the MBR and boot sector read by CHS and boot BOOTMGR', async (t) => {
    if (!requireOrSkip(t, missingTools().length === 0, `missing ${missingTools().join(', ')}`)) return;
    const dir = tempDir(t, 'tsmedia-biosboot-');
    // The stand-in's own read-back through DL uses the extensions, so it is left out here.
    const img = freshImage(dir, 'chs.img', GiB, [{ path: 'bootmgr', source: buf(buildBootmgrStandIn(64 * KiB, HIDDEN, 0x80, 7, false), 'BOOTMGR stand-in') }]);
    const fd = openSync(img, 'r+');
    try {
      const mbr = Buffer.alloc(512);
      readSync(fd, mbr, 0, 512, 0);
      writeSync(fd, mbr, 0, 512, 512); // the real MBR, which the shim starts, in sector 1
      writeSync(fd, buildNoExtensionsShim(), 0, 512, 0);
    } finally {
      closeSync(fd);
    }
    await assertBoots(img, 'ide', 'no INT 13h extensions, 1 GiB');
    await assertBoots(img, 'usb', 'no INT 13h extensions, 1 GiB');
  });

  test('4096-byte sectors: a 16 GiB volume laid out for them (clusters of two sectors) boots through a shim that shows the IDE disk to the boot code as a 4Kn disk', async (t) => {
    if (!requireOrSkip(t, missingTools().length === 0, `missing ${missingTools().join(', ')}`)) return;
    const dir = tempDir(t, 'tsmedia-biosboot-');
    // SeaBIOS cannot boot a 4Kn disk (docs/reference/usb-drives.md), so a shim translates the extensions' reads; the
    // partition starts at 4096-byte sector 256, and the volume's BPB says 4096 bytes per sector.
    const img = join(dir, '4k.img');
    const plan = planFat32({ diskBytes: 16 * GiB, label: 'BIOS4K', sectorSize: 4096, files: [{ path: 'bootmgr', source: buf(buildBootmgrStandIn(480 * KiB, 256), 'BOOTMGR stand-in') }], timestamp: T });
    const fd = openSync(img, 'w+');
    try {
      writeImage(plan, fd, { gaps: 'sparse' });
      const mbr = Buffer.alloc(512);
      readSync(fd, mbr, 0, 512, 0);
      writeSync(fd, mbr, 0, 512, 512); // the real MBR (its LBAs in 4096-byte sectors), which the shim starts
      writeSync(fd, build4kShim(), 0, 512, 0);
    } finally {
      closeSync(fd);
    }
    truncateSync(img, 16 * GiB);
    assert.equal(plan.sectorSize, 4096);
    assert.equal(plan.clusterSize, 2 * 4096);
    await assertBoots(img, 'ide', '4096-byte sectors through the shim, 16 GiB');
  });

  test('a volume without BOOTMGR says "BOOTMGR is missing", one too large for the memory below the EBDA says so, each asking for a key', async (t) => {
    if (!requireOrSkip(t, missingTools().length === 0, `missing ${missingTools().join(', ')}`)) return;
    const dir = tempDir(t, 'tsmedia-biosboot-');
    const cases = [
      { name: 'none.img', files: [{ path: 'bootmgr.efi', source: buf(Buffer.alloc(4096, 1), 'not BOOTMGR') }], message: 'BOOTMGR is missing' },
      // 2000:0000 + 640 KiB reaches past the 639 KiB SeaBIOS reports below its EBDA.
      { name: 'large.img', files: [{ path: 'bootmgr', source: buf(buildBootmgrStandIn(576 * KiB, HIDDEN), 'BOOTMGR stand-in') }], message: 'BOOTMGR is too large for the memory below the EBDA' },
    ];
    for (const c of cases) {
      const img = freshImage(dir, c.name, GiB, c.files);
      const r = await bootDisk(img, { bus: 'usb', markers: [PRESS, STANDIN_OK, STANDIN_FAIL] });
      console.log(`# ${c.name}: ${JSON.stringify(r.output.slice(r.output.indexOf('Booting')).trim())}`);
      assert.ok(r.output.includes(`${c.message}\r\n${PRESS}`), `${c.name}: "${c.message}" then "${PRESS}" expected; serial output:\n${r.output.slice(-1500)}`);
      assert.ok(!r.output.includes('TSMEDIA-BOOTMGR-STANDIN'), 'nothing was started');
    }
  });
});
