// A stand-in for a USB stick in the benchmark: a loop device whose writes the block I/O controller holds to a USB
// stick's speed (cgroup v1 `blkio.throttle.write_bps_device` at the root cgroup, which also throttles the kernel's
// writeback). Linux and root only; anything else says why it cannot be made.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

const THROTTLE = '/sys/fs/cgroup/blkio/blkio.throttle.write_bps_device';

export interface ThrottledStick {
  device: string;
  /** Bytes written to the device since it was made (the kernel's own count, /sys/block/<dev>/stat). */
  bytesWritten(): number;
  remove(): void;
}

/** Why a throttled stick cannot be made here, or null. */
export function cannotThrottle(): string | null {
  if (process.platform !== 'linux') return 'a throttled loop device needs Linux';
  if (process.getuid?.() !== 0) return 'a throttled loop device needs root (losetup, the blkio controller)';
  if (!existsSync(THROTTLE)) return `${THROTTLE} is missing: the cgroup v1 block I/O controller is not mounted`;
  return null;
}

/** A loop device over `file` (made sparse, `bytes` long) whose writes are held to `bytesPerSecond`. */
export function throttledStick(file: string, bytes: number, bytesPerSecond: number): ThrottledStick {
  execFileSync('truncate', ['-s', String(bytes), file]);
  const device = execFileSync('losetup', ['-f', '--show', file], { encoding: 'utf8' }).trim();
  const name = basename(device);
  const majorMinor = readFileSync(`/sys/block/${name}/dev`, 'utf8').trim();
  writeFileSync(THROTTLE, `${majorMinor} ${Math.round(bytesPerSecond)}\n`);
  // Field 7 of the stat file: sectors written, always in 512-byte units whatever the device's sector size.
  const written = (): number => Number(readFileSync(`/sys/block/${name}/stat`, 'utf8').trim().split(/\s+/)[6]) * 512;
  const base = written();
  return {
    device,
    bytesWritten: () => written() - base,
    remove() {
      try {
        writeFileSync(THROTTLE, `${majorMinor} 0\n`);
      } finally {
        execFileSync('losetup', ['-d', device]);
      }
    },
  };
}
