// "Use the drive as already formatted" through the privileged writer (issue 13, item 5): the helper runs the same job
// as this process would — gaps left untouched, read back — so adding files keeps every byte outside them but the boot
// code it installs: the partition table, the BPB and every earlier file, byte for byte. A loop device stands in for the
// USB stick; the helper is started without a prompt (method 'none', a child process with this process's rights), as
// the elevated one would run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { DriveInfo } from '../shared/drives.js';
import type { MediaProgress, UsbMediaRequest } from '../shared/media.js';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { createUsbMedia } from '../electron/engine/media/UsbMediaBuilder.js';
import { refreshUsbMedia } from '../electron/engine/media/UsbRefresh.js';
import type { MediaManifest } from '../electron/engine/media/Manifest.js';
import { Site } from '../electron/engine/site/Site.js';
import { putMbrCode } from '../electron/engine/formats/fat32/FatBiosBoot.js';
import { hasCommand, pattern, requireOrSkip, runCli, SAMPLE_SITE, tempDir } from './helpers.js';
import { fixtureDrive } from './support/driveFixtures.js';
import { checkWritePhase } from './support/progressChecks.js';
import { baseRequest } from './support/hostClient.js';
import { addPackage, copySampleSite, randomFile, updatePackage } from './support/sites.js';

const MT = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
const BYTES = 256 * 1024 * 1024;
const TOOLS = ['losetup', 'sfdisk', 'mkfs.fat', 'mcopy', 'dd'];
const canRun = (): boolean => process.platform === 'linux' && process.getuid?.() === 0 && TOOLS.every(hasCommand);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex').toUpperCase();

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(length);
    readSync(fd, b, 0, length, offset);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Every earlier file's bytes as they lie in its clusters on the drive (Fat32Reader's extents, read raw). */
function clusterBytes(dev: string, paths: string[]): Map<string, Buffer> {
  const vol = openFat32(dev);
  try {
    const out = new Map<string, Buffer>();
    for (const p of paths) {
      assert.ok(vol.find(p), `${p} is on the volume`);
      out.set(p, vol.readFileBuffer(p));
    }
    return out;
  } finally {
    vol.close();
  }
}

describe('the privileged writer adds files to an existing volume and keeps everything else', () => {
  test('--no-format through the helper: MBR, boot sector and every earlier file unchanged; the new files verify', async (t) => {
    if (!requireOrSkip(t, canRun(), `needs Linux, root and ${TOOLS.join(', ')} (a loop device stands in for the USB stick)`)) return;
    const dir = tempDir(t);
    const img = join(dir, 'stick.img');
    writeFileSync(img, '');
    truncateSync(img, BYTES);
    // A stick as a person has it: one FAT32 partition at 1 MiB (mkfs.fat, not tsmedia), with their own files on it.
    spawnSync('sfdisk', ['-q', img], { input: 'start=2048, type=c, bootable\n' });
    const part = join(dir, 'p.img');
    spawnSync('dd', [`if=${img}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
    assert.equal(spawnSync('mkfs.fat', ['-F', '32', '-n', 'OLDSTICK', part]).status, 0);
    spawnSync('dd', [`if=${part}`, `of=${img}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
    spawnSync('rm', ['-f', part]);
    const own = join(dir, 'own');
    mkdirSync(own);
    const earlier: Record<string, Buffer> = { 'keep.txt': Buffer.from('my own file\n'), 'photos/big.bin': pattern(3 * 1024 * 1024 + 123, 7), 'notes.md': Buffer.from('# notes\n'.repeat(900)) };
    assert.equal(spawnSync('mmd', ['-i', `${img}@@1M`, '::/photos'], { env: MT }).status, 0);
    for (const [p, data] of Object.entries(earlier)) {
      const f = join(own, p.replace('/', '_'));
      writeFileSync(f, data);
      const r = spawnSync('mcopy', ['-i', `${img}@@1M`, f, `::/${p}`], { env: MT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }

    const lo = spawnSync('losetup', ['-f', '--show', img], { encoding: 'utf8' });
    assert.equal(lo.status, 0, lo.stderr);
    const dev = lo.stdout.trim();
    t.after(() => spawnSync('losetup', ['-d', dev]));
    const mbr = readAt(dev, 0, 512);
    const bootSector = readAt(dev, 1024 * 1024, 512);
    const backupBoot = readAt(dev, 1024 * 1024 + 6 * 512, 512);
    const before = clusterBytes(dev, Object.keys(earlier));
    for (const [p, data] of Object.entries(earlier)) assert.equal(sha(before.get(p) as Buffer), sha(data), `${p} as mtools wrote it`);

    // The listing shows the loop device as the recorded USB stick it stands in for (one confirmation).
    const stick = await fixtureDrive('win32-usb-fit-sata-nvme.drivelist.json', '\\\\.\\PhysicalDrive3');
    const drives: DriveInfo[] = [{ ...stick, device: dev, rawDevice: null, sizeBytes: BYTES, mountpoints: [] }];
    const site = await Site.open(SAMPLE_SITE);
    const req: UsbMediaRequest = { ...baseRequest(), target: { kind: 'drive', device: dev, showAll: true, confirmations: [dev] }, format: false };
    const result = await createUsbMedia(site, req, { listDrives: async () => drives, userLogDir: null, privileged: { method: 'none', always: true } });
    spawnSync('sync');

    // The BIOS boot code goes in (the MBR's bytes 0–439, the boot sector's code around the BPB); the partition table,
    // the disk signature and the BPB stay, but for the hidden sectors mkfs.fat left 0 (it formatted a partition file).
    const mbrNow = readAt(dev, 0, 512);
    const code = Buffer.alloc(512);
    putMbrCode(code);
    assert.ok(mbrNow.subarray(0, 440).equals(code.subarray(0, 440)), 'the MBR holds the boot code');
    assert.equal(sha(mbrNow.subarray(440)), sha(mbr.subarray(440)), 'the disk signature and the partition table are unchanged (partition 1 was active)');
    const bootNow = readAt(dev, 1024 * 1024, 512);
    assert.equal(bootSector.readUInt32LE(28), 0, 'mkfs.fat wrote 0 hidden sectors');
    assert.equal(bootNow.readUInt32LE(28), 2048, 'hidden sectors: the partition\'s first sector');
    assert.ok(bootNow.subarray(3, 28).equals(bootSector.subarray(3, 28)) && bootNow.subarray(32, 90).equals(bootSector.subarray(32, 90)), 'the rest of the BPB is unchanged');
    assert.equal(sha(readAt(dev, 1024 * 1024 + 6 * 512, 512)), sha(bootNow), 'the backup boot sector is the boot sector');
    assert.equal(sha(backupBoot), sha(bootSector), 'as it was before');
    const after = clusterBytes(dev, Object.keys(earlier));
    for (const [p, data] of Object.entries(earlier)) assert.equal(sha(after.get(p) as Buffer), sha(data), `${p} is unchanged`);
    assert.equal(result.verified, true, 'the elevated write was read back and verified');

    // The new files, read by an independent reader (mtools) against the manifest the media carries.
    const x = join(dir, 'x');
    mkdirSync(x);
    const r = spawnSync('mcopy', ['-s', '-n', '-i', `${dev}@@1M`, '::/*', x], { encoding: 'utf8', env: MT });
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(readFileSync(join(x, 'SMS/data/tsmedia-manifest.json'), 'utf8')) as MediaManifest;
    assert.ok(m.files.length > 10, `${m.files.length} files`);
    for (const f of m.files) assert.equal(sha(readFileSync(join(x, f.path))), f.sha256, f.path);
    for (const [p, data] of Object.entries(earlier)) assert.equal(sha(readFileSync(join(x, p))), sha(data), `${p} read by mtools`);
    const v = runCli(['verify', dev]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });

  test('tsmedia refresh through the helper: a changed package (its boot sector written three times) and a new password (its journal header written, then cleared), each read back by the helper as the drive holds it at the end', async (t) => {
    if (!requireOrSkip(t, canRun(), `needs Linux, root and ${TOOLS.join(', ')} (a loop device stands in for the USB stick)`)) return;
    const dir = tempDir(t);
    const img = join(dir, 'stick.img');
    writeFileSync(img, '');
    truncateSync(img, BYTES);
    const lo = spawnSync('losetup', ['-f', '--show', img], { encoding: 'utf8' });
    assert.equal(lo.status, 0, lo.stderr);
    const dev = lo.stdout.trim();
    t.after(() => spawnSync('losetup', ['-d', dev]));
    const stick = await fixtureDrive('win32-usb-fit-sata-nvme.drivelist.json', '\\\\.\\PhysicalDrive3');
    const drives: DriveInfo[] = [{ ...stick, device: dev, rawDevice: null, sizeBytes: BYTES, mountpoints: [] }];
    const sitePath = copySampleSite(join(dir, 'site'));
    const v1 = join(dir, 'v1.bin');
    randomFile(v1, 2 * 1024 * 1024);
    await addPackage(sitePath, 'SMP00091', [{ relativePath: 'drivers.cab', sourcePath: v1 }], 'Drivers');
    const req: UsbMediaRequest = { ...baseRequest({ packages: ['SMP00091'] }), target: { kind: 'drive', device: dev, showAll: true, confirmations: [dev] }, format: true };
    const options = { listDrives: async () => drives, userLogDir: null, privileged: { method: 'none' as const, always: true } };
    await createUsbMedia(await Site.open(sitePath), req, { listDrives: options.listDrives, userLogDir: null });
    const v2 = join(dir, 'v2.bin');
    randomFile(v2, 2 * 1024 * 1024 + 99);
    await updatePackage(sitePath, 'SMP00091', [{ relativePath: 'drivers.cab', sourcePath: v2 }]);

    const besideProgress: MediaProgress[] = [];
    const beside = await refreshUsbMedia(await Site.open(sitePath), { ...req, format: false }, { ...options, onProgress: (p) => besideProgress.push(p), progressIntervalMs: 0 });
    assert.equal(beside.changes.method, 'beside');
    assert.equal(beside.verified, true, 'the helper read back what the drive holds at the end');
    // The helper's progress counts every step's bytes, up to what the refresh writes.
    assert.equal(checkWritePhase(besideProgress, 'refresh beside, through the helper'), beside.bytesWritten);
    const pwProgress: MediaProgress[] = [];
    const pw = await refreshUsbMedia(await Site.open(sitePath), { ...req, format: false, password: 'An0ther-Passw0rd' }, { ...options, onProgress: (p) => pwProgress.push(p), progressIntervalMs: 0 });
    assert.equal(pw.changes.method, 'rewrite');
    assert.equal(pw.verified, true);
    assert.equal(checkWritePhase(pwProgress, 'refresh in place, through the helper'), pw.bytesWritten);
    const v = runCli(['verify', dev]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.doesNotMatch(v.stdout, /interrupted/);
  });
});
