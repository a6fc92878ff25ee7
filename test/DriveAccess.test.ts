// Preparing a drive: unmounting (a no-op when nothing is mounted), opening exclusively, flushing, re-reading the
// partition table, and the words for a drive that is missing, busy or failing. Loop devices stand in for USB drives;
// macOS and Windows commands are checked as the commands they would run.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import {
  closeDevice,
  describeDeviceError,
  DriveAccessError,
  flushDevice,
  openDevice,
  rereadPartitionTable,
  runCommand,
  unmountDrive,
  driveIoPath,
  sameDriveName,
  type CommandRunner,
} from '../electron/engine/drives/DriveAccess.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { hasCommand, requireOrSkip, tempDir } from './helpers.js';

const canLoop = (): boolean => process.platform === 'linux' && process.getuid?.() === 0 && hasCommand('losetup') && hasCommand('lsblk');
const NO_LOOP = 'needs Linux, root, losetup and lsblk (loop devices stand in for USB drives)';

function attachLoop(t: TestContext, img: string, extra: string[] = []): { dev: string; detach: () => void } {
  const dev = execFileSync('losetup', [...extra, '-f', '--show', img], { encoding: 'utf8' }).trim();
  let attached = true;
  const detach = (): void => {
    if (!attached) return;
    attached = false;
    spawnSync('losetup', ['-d', dev], { stdio: 'ignore' });
  };
  t.after(detach);
  return { dev, detach };
}

function image(t: TestContext, bytes: number, dir = tempDir(t)): string {
  const img = join(dir, 'drive.img');
  writeFileSync(img, '');
  truncateSync(img, bytes);
  return img;
}

/** Records every command while running it for real. */
function recording(): { run: CommandRunner; calls: string[] } {
  const calls: string[] = [];
  return { calls, run: async (cmd, args) => (calls.push([cmd, ...args].join(' ')), runCommand(cmd, args)) };
}

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === path);
}

function tryMount(args: string[]): boolean {
  return spawnSync('mount', args, { stdio: 'ignore' }).status === 0;
}

describe('unmounting', () => {
  test('a drive with nothing mounted: a no-op that runs no unmount tool', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP)) return;
    const { dev } = attachLoop(t, image(t, 8 * 1024 * 1024));
    const r = recording();
    assert.deepEqual(await unmountDrive(dev, { run: r.run }), { unmounted: [], tool: null });
    assert.deepEqual(r.calls.filter((c) => !c.startsWith('lsblk ')), [], 'only lsblk looked');
  });

  test('a mounted drive: every mountpoint comes off; O_EXCL refuses the drive while mounted', async (t) => {
    const ok = canLoop() && hasCommand('mkfs.ext4');
    if (!requireOrSkip(t, ok, `${NO_LOOP}, and mkfs.ext4`)) return;
    // One clean-up, in order: unmount what is still mounted, detach, remove (after hooks run in registration order).
    const dir = mkdtempSync(join(tmpdir(), 'tsmedia-mnt-'));
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    let detach = (): void => undefined;
    t.after(() => {
      for (const p of [b, a]) if (mounted(p)) spawnSync('umount', [p]);
      detach();
      rmSync(dir, { recursive: true, force: true });
    });
    const loop = attachLoop(t, image(t, 32 * 1024 * 1024));
    const dev = loop.dev;
    detach = loop.detach;
    execFileSync('mkfs.ext4', ['-q', dev]);
    mkdirSync(a);
    mkdirSync(b);
    if (!requireOrSkip(t, tryMount([dev, a]), 'this kernel cannot mount ext4 here')) return;
    assert.ok(tryMount(['--bind', a, b]), 'bind mount');
    assert.throws(
      () => openDevice(dev),
      (e: unknown) => e instanceof DriveAccessError && e.code === 'EBUSY' && /is in use: a partition is still mounted/.test(e.message),
    );
    const r = await unmountDrive(dev, { asRoot: true });
    assert.equal(r.tool, 'umount');
    assert.deepEqual([...r.unmounted].sort(), [a, b].sort());
    assert.equal(mounted(a) || mounted(b), false);
    const opened = openDevice(dev);
    assert.equal(opened.exclusive, true);
    closeDevice(opened);
  });

  test('a device that does not exist: a clear error, from every step', async () => {
    const missing = '/dev/tsmedia-no-such-drive';
    const isMissing = (e: unknown): boolean => e instanceof DriveAccessError && e.code === 'ENOENT' && e.message === `${missing} does not exist: the drive was removed, or the device name is wrong.`;
    await assert.rejects(unmountDrive(missing, { platform: 'linux' }), isMissing);
    assert.throws(() => openDevice(missing), isMissing);
    await assert.rejects(rereadPartitionTable(missing, { platform: 'linux' }), (e: unknown) => e instanceof DriveAccessError && /disappeared .*removed or disconnected/.test(e.message));
  });

  test('a file is not a drive', (t) => {
    if (!requireOrSkip(t, process.platform !== 'win32', 'POSIX device checks')) return;
    const img = image(t, 1024 * 1024);
    assert.throws(() => openDevice(img), (e: unknown) => e instanceof DriveAccessError && e.code === 'ENOTBLK' && /is not a drive \(a block device\)/.test(e.message));
  });
});

describe('writing, flushing, re-reading', () => {
  test('a drive that fails under the write ends in an error that says so (EIO at flush)', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP)) return;
    // A sparse 64 MiB image on an 8 MiB tmpfs: the loop device's writes fail once the tmpfs is full, as a drive that
    // is pulled out or dies does (the kernel reports EIO when cached writes reach it; the drive is opened O_DIRECT, so
    // the write itself fails, with the loop device's ENOSPC).
    const small = mkdtempSync(join(tmpdir(), 'tsmedia-eio-'));
    let detach = (): void => undefined;
    t.after(() => {
      detach();
      spawnSync('umount', [small]);
      rmSync(small, { recursive: true, force: true });
    });
    if (!requireOrSkip(t, tryMount(['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small]), 'cannot mount a tmpfs here')) return;
    const img = join(small, 'back.img');
    writeFileSync(img, '');
    truncateSync(img, 64 * 1024 * 1024);
    const loop = attachLoop(t, img);
    const dev = loop.dev;
    detach = loop.detach;
    const d = openDevice(dev);
    let err: unknown = null;
    try {
      writeImage({ size: 32 * 1024 * 1024, regions: [{ offset: 0, data: Buffer.alloc(32 * 1024 * 1024, 0xa5) }], extents: [] }, d.fd);
      await flushDevice(d);
    } catch (e) {
      err = e;
    } finally {
      closeDevice(d);
      detach();
    }
    assert.ok(err instanceof Error, 'the write or the flush fails');
    assert.match((err as Error).message, /I\/O error|removed|failing/);
    if (err instanceof DriveAccessError) {
      assert.equal(err.code, 'EIO');
      assert.equal(err.message, `${dev} reported an I/O error while flushing it: the drive was removed, or it is failing. What was written is incomplete.`);
    }
  });

  test('writes land on the drive; the partition table is re-read (or a warning says to replug)', async (t) => {
    if (!requireOrSkip(t, canLoop() && hasCommand('blockdev'), `${NO_LOOP}, and blockdev`)) return;
    const { dev } = attachLoop(t, image(t, 8 * 1024 * 1024), ['-P']);
    const d = openDevice(dev);
    writeImage({ size: 1024 * 1024, regions: [{ offset: 510, data: Buffer.from([0x55, 0xaa]) }], extents: [] }, d.fd, { gaps: 'zero' });
    await flushDevice(d);
    closeDevice(d);
    const back = readFileSync(dev).subarray(510, 512);
    assert.deepEqual([...back], [0x55, 0xaa]);
    const r = await rereadPartitionTable(dev);
    assert.equal(r.tool === 'blockdev' || r.tool === 'partprobe', true);
    if (!r.ok) assert.match(r.warning ?? '', /unplug the drive and plug it in again/);
  });

  test('system errors in words', () => {
    const dev = '/dev/sdz';
    assert.match(describeDeviceError({ code: 'ENXIO' }, dev, 'write'), /^\/dev\/sdz disappeared while writing it: the drive was removed or disconnected/);
    assert.match(describeDeviceError({ code: 'ENODEV' }, dev, 'read'), /disappeared while reading it/);
    assert.match(describeDeviceError({ code: 'EIO' }, dev, 'write'), /reported an I\/O error while writing it: the drive was removed, or it is failing/);
    assert.match(describeDeviceError({ code: 'EROFS' }, dev, 'open'), /read-only \(is the card's lock switch on\?\)/);
    assert.match(describeDeviceError({ code: 'EACCES' }, dev, 'open'), /needs administrator rights/);
    assert.match(describeDeviceError({ code: 'ENOSPC' }, dev, 'write'), /smaller than what is being written/);
  });
});

describe('the commands macOS and Windows would run', () => {
  test('macOS: diskutil unmountDisk on the disk (never the raw node)', async () => {
    const calls: string[][] = [];
    const run: CommandRunner = async (cmd, args) => (calls.push([cmd, ...args]), { code: 0, stdout: 'Unmount of all volumes on disk4 was successful', stderr: '' });
    assert.deepEqual(await unmountDrive('/dev/rdisk4', { platform: 'darwin', run }), { unmounted: ['/dev/disk4'], tool: 'diskutil' });
    assert.deepEqual(calls, [['diskutil', 'unmountDisk', '/dev/disk4']]);
    const busy: CommandRunner = async () => ({ code: 1, stdout: '', stderr: 'Unmount of disk4 failed: at least one volume could not be unmounted (dissented by PID 123)' });
    await assert.rejects(unmountDrive('/dev/disk4', { platform: 'darwin', run: busy }), /a program is using one of its volumes/);
  });

  test('macOS: either name of a disk is read and written as the raw /dev/rdiskN, and confirms the same drive', () => {
    assert.equal(driveIoPath('/dev/disk4', 'darwin'), '/dev/rdisk4');
    assert.equal(driveIoPath('/dev/rdisk4', 'darwin'), '/dev/rdisk4');
    assert.equal(driveIoPath('/dev/disk4s1', 'darwin'), '/dev/disk4s1', 'a partition is not a whole disk: left for the drive check to refuse');
    assert.equal(driveIoPath('/dev/sdb', 'linux'), '/dev/sdb');
    assert.equal(driveIoPath('\\\\.\\PhysicalDrive2', 'win32'), '\\\\.\\PhysicalDrive2');
    assert.ok(sameDriveName('/dev/rdisk4', '/dev/disk4'));
    assert.ok(sameDriveName('\\\\.\\PHYSICALDRIVE2', '\\\\.\\PhysicalDrive2'));
    assert.ok(!sameDriveName('/dev/disk4', '/dev/disk5'));
    assert.ok(!sameDriveName('/dev/sdb', '/dev/sdc'));
  });
});
