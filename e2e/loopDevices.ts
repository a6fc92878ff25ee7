// Loop devices standing in for USB drives in the wizard's tests (root and losetup), optionally held to a USB stick's
// speed by the block I/O controller (cgroup v1, as scripts/lib/throttledStick.ts does for the benchmark), so a page
// can be read, or a run cancelled, while the drive is written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { TestContext } from 'node:test';
import { hasCommand } from '../test/helpers.js';

const THROTTLE = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';

function skip(t: TestContext, why: string): null {
  console.log(`# skipped: ${t.name}: ${why}`);
  t.skip(why);
  return null;
}

/** Holds `devs`' writes to `bytesPerSecond` until the test ends; false (the test skipped) without the controller. */
export function throttle(t: TestContext, devs: string[], bytesPerSecond: number): boolean {
  if (!existsSync(THROTTLE)) return skip(t, `needs ${THROTTLE} (the cgroup v1 block I/O controller) to hold the loop devices to a USB stick's speed`) ?? false;
  for (const d of devs) {
    const majorMinor = readFileSync(`/sys/block/${basename(d)}/dev`, 'utf8').trim();
    writeFileSync(THROTTLE, `${majorMinor} ${bytesPerSecond}\n`);
    t.after(() => writeFileSync(THROTTLE, `${majorMinor} 0\n`));
  }
  return true;
}

/**
 * Loop devices of `size` bytes on files in `dir`, detached when the test ends; null (the test skipped) without root.
 * `bytesPerSecond`: their writes held to that speed (see throttle).
 */
export function loopDevices(t: TestContext, dir: string, names: string[], size: number, bytesPerSecond?: number): string[] | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || !hasCommand('losetup') || !hasCommand('blockdev')) return skip(t, 'needs root, losetup and blockdev (loop devices stand in for the drives)');
  // At full speed the drives may be written before the page can be read: held to a stick's speed, or not run.
  if (bytesPerSecond !== undefined && !existsSync(THROTTLE)) return skip(t, `needs ${THROTTLE} (the cgroup v1 block I/O controller) to hold the loop devices to a USB stick's speed`);
  const devs: string[] = [];
  t.after(() => {
    for (const d of devs) {
      // A drive made read-only by a test is made writable again before it is detached.
      spawnSync('blockdev', ['--setrw', d]);
      spawnSync('losetup', ['-d', d]);
    }
  });
  for (const name of names) {
    const backing = join(dir, name);
    writeFileSync(backing, '');
    truncateSync(backing, size);
    const lo = spawnSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' });
    assert.equal(lo.status, 0, lo.stderr);
    devs.push(lo.stdout.trim());
  }
  if (bytesPerSecond !== undefined && !throttle(t, devs, bytesPerSecond)) return null;
  return devs;
}

/** Bytes the kernel has written to a block device since it was attached (/sys/block/NAME/stat, 512-byte units). */
export function bytesWrittenTo(dev: string): number {
  const fields = readFileSync(`/sys/block/${basename(dev)}/stat`, 'utf8').trim().split(/\s+/);
  return Number(fields[6]) * 512;
}
