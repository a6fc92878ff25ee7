// Preparing a drive for a whole-drive write and finishing it: unmount every mounted partition, open the device for
// positioned writes (exclusively: io/deviceFlags), flush, and make the operating system re-read the new partition table.
// Every step uses the operating system's own tools (umount/udisksctl and blockdev/partprobe on Linux, diskutil on
// macOS, PowerShell on Windows: WindowsDisk.ts); every failure says in words what happened to which drive.
import { execFile } from 'node:child_process';
import { closeSync, constants, existsSync, fstatSync, fsyncSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { lsblkMountpoints, type LsblkOutput } from './Drives.js';
import { deviceOpenFlags } from '../io/deviceFlags.js';

/** A drive operation that failed, with the cause in words. `code` is the system error code when there is one. */
export class DriveAccessError extends Error {
  override readonly name: string = 'DriveAccessError';
  constructor(
    message: string,
    readonly code: string | null,
    readonly device: string,
  ) {
    super(message);
  }
}

export type DriveAction = 'open' | 'write' | 'flush' | 'read' | 'unmount' | 'close';

/** System error codes met on drives, as a sentence naming the drive. */
export function describeDeviceError(err: unknown, device: string, action: DriveAction): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const during = { open: 'opening', write: 'writing', flush: 'flushing', read: 'reading', unmount: 'unmounting', close: 'closing' }[action];
  switch (e?.code) {
    case 'ENOENT':
      return `${device} does not exist: the drive was removed, or the device name is wrong.`;
    case 'ENXIO':
    case 'ENODEV':
      return `${device} disappeared while ${during} it: the drive was removed or disconnected. What was written is incomplete; plug it in again and start over.`;
    case 'EIO':
      return `${device} reported an I/O error while ${during} it: the drive was removed, or it is failing. What was written is incomplete.`;
    case 'EBUSY':
      return `${device} is in use: a partition is still mounted or another program has the drive open. Close the programs and windows using it and try again.`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied ${during} ${device}: writing a whole drive needs administrator rights.`;
    case 'EROFS':
      return `${device} is read-only (is the card's lock switch on?).`;
    case 'ENOSPC':
      return `${device} is smaller than what is being written to it (no space left on the device).`;
    default:
      return `${device}: ${during} failed: ${e?.message ?? String(err)}`;
  }
}

/** Whether an error opening a device means "run the privileged helper". */
export function needsElevation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

// ---- Running the operating system's tools -------------------------------------------------------------------------

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (command: string, args: string[]) => Promise<CommandResult>;

/** Runs a tool without a shell; a missing tool gives code 127, like a shell would. */
export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve) => {
    execFile(command, args, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024, windowsHide: true }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      const code = e === null ? 0 : e.code === 'ENOENT' ? 127 : typeof e.code === 'number' ? e.code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (e && e.code === 'ENOENT' ? `${command}: not found` : '')) });
    });
  });

function hasTool(tool: string): boolean {
  const dirs = (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  for (const d of [...dirs, '/usr/sbin', '/sbin']) if (d && existsSync(join(d, tool))) return true;
  return false;
}

const firstLine = (s: string): string => s.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';

// ---- Unmounting ---------------------------------------------------------------------------------------------------

export interface UnmountResult {
  /** Mountpoints (Linux, Windows drive letters) or the disk (macOS) unmounted; empty when nothing was mounted. */
  unmounted: string[];
  /** The tool used, null when there was nothing to do. */
  tool: string | null;
}

export interface DriveToolOptions {
  platform?: NodeJS.Platform;
  /** Replaces the command runner (tests check the commands each platform would run). */
  run?: CommandRunner;
  /** Linux: run as root (umount) rather than through udisks (default: whether this process is root). */
  asRoot?: boolean;
}

interface LinuxMount {
  block: string;
  path: string;
}

async function linuxMounts(device: string, run: CommandRunner): Promise<LinuxMount[]> {
  let r = await run('lsblk', ['--json', '--paths', '--output', 'NAME,MOUNTPOINT,MOUNTPOINTS', device]);
  if (r.code !== 0 && /unknown column/i.test(r.stderr)) r = await run('lsblk', ['--json', '--paths', '--output', 'NAME,MOUNTPOINT', device]);
  if (r.code === 127) throw new DriveAccessError(`cannot check what is mounted on ${device}: lsblk (util-linux) is not installed.`, 'ENOENT', device);
  if (r.code !== 0) {
    if (!existsSync(device) || /not a block device|No such file/i.test(r.stderr)) throw new DriveAccessError(describeDeviceError({ code: 'ENOENT' }, device, 'unmount'), 'ENOENT', device);
    throw new DriveAccessError(`cannot check what is mounted on ${device}: ${firstLine(r.stderr)}`, null, device);
  }
  const data = JSON.parse(r.stdout) as LsblkOutput;
  const mounts: LinuxMount[] = [];
  const walk = (d: LsblkOutput['blockdevices'][number]): void => {
    for (const m of lsblkMountpoints({ ...d, children: [] })) mounts.push({ block: d.name, path: m.path });
    for (const c of d.children ?? []) walk(c);
  };
  for (const d of data.blockdevices) walk(d);
  return mounts;
}

async function unmountLinux(device: string, run: CommandRunner, asRoot: boolean): Promise<UnmountResult> {
  if (!existsSync(device)) throw new DriveAccessError(describeDeviceError({ code: 'ENOENT' }, device, 'unmount'), 'ENOENT', device);
  const mounts = await linuxMounts(device, run);
  if (mounts.length === 0) return { unmounted: [], tool: null };
  const swap = mounts.find((m) => m.path === '[SWAP]');
  if (swap) throw new DriveAccessError(`${swap.block} on ${device} is in use as swap space. Turn it off first (swapoff ${swap.block}); tsmedia does not do it for you.`, 'EBUSY', device);
  // Deepest mountpoints first, so nested mounts come off before their parents.
  const ordered = [...mounts].sort((a, b) => b.path.length - a.path.length);
  const useUdisks = !asRoot && hasTool('udisksctl');
  const tool = useUdisks ? 'udisksctl' : 'umount';
  const done: string[] = [];
  for (const m of ordered) {
    const r = useUdisks ? await run('udisksctl', ['unmount', '--block-device', m.block, '--no-user-interaction']) : await run('umount', [m.path]);
    if (r.code === 0) {
      done.push(m.path);
      continue;
    }
    const why = firstLine(r.stderr || r.stdout);
    if (/not mounted|not currently mounted/i.test(why)) continue;
    if (/busy/i.test(why)) throw new DriveAccessError(`${m.path} (${m.block} on ${device}) is busy: close the files, terminals and windows that use it, then try again.`, 'EBUSY', device);
    if (/permission|must be superuser|not authorized|only root/i.test(why)) {
      throw new DriveAccessError(`unmounting ${m.path} (${m.block} on ${device}) needs administrator rights: ${why}`, 'EACCES', device);
    }
    throw new DriveAccessError(`cannot unmount ${m.path} (${m.block} on ${device}) with ${tool}: ${why}`, null, device);
  }
  const left = await linuxMounts(device, run);
  if (left.length > 0) {
    throw new DriveAccessError(`${device} is still mounted at ${left.map((m) => m.path).join(', ')} after unmounting: something mounted it again (a file manager?).`, 'EBUSY', device);
  }
  return { unmounted: done, tool };
}

async function unmountDarwin(device: string, run: CommandRunner): Promise<UnmountResult> {
  const disk = darwinDiskName(device);
  const r = await run('diskutil', ['unmountDisk', disk]);
  if (r.code !== 0) {
    const why = firstLine(r.stderr || r.stdout);
    if (/could not find|does not exist|No such/i.test(why)) throw new DriveAccessError(describeDeviceError({ code: 'ENOENT' }, device, 'unmount'), 'ENOENT', device);
    throw new DriveAccessError(`diskutil could not unmount ${disk}: ${why}${/dissent|busy/i.test(why) ? ' (a program is using one of its volumes: close it and try again)' : ''}`, 'EBUSY', device);
  }
  return { unmounted: [disk], tool: 'diskutil' };
}

/** The disk number of \\.\PhysicalDriveN. */
export function windowsDiskNumber(device: string): number | null {
  const m = /^\\\\\.\\PhysicalDrive(\d+)$/i.exec(device);
  return m ? Number(m[1]) : null;
}

/** Unmounts every mounted partition (and volume) of a whole drive (Linux, macOS). Nothing mounted: a no-op that runs no unmount tool. */
export async function unmountDrive(device: string, options: DriveToolOptions = {}): Promise<UnmountResult> {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  if (platform === 'linux') return unmountLinux(device, run, options.asRoot ?? process.getuid?.() === 0);
  if (platform === 'darwin') return unmountDarwin(device, run);
  // Windows: WindowsDisk.takeWindowsDisk, which needs to know whether the layout stays.
  throw new DriveAccessError(`unmounting drives is not supported on ${platform}.`, null, device);
}

// ---- Opening, flushing, re-reading ----------------------------------------------------------------------------------

export interface OpenDevice {
  fd: number;
  /** The path opened (macOS: the raw /dev/rdiskN when given). */
  path: string;
  exclusive: boolean;
}

export interface OpenDeviceOptions {
  platform?: NodeJS.Platform;
  /**
   * Linux: O_EXCL, which the kernel refuses (EBUSY) while a partition is mounted or another program holds the drive;
   * Windows: no sharing (io/deviceFlags). Default true.
   */
  exclusive?: boolean;
}

/**
 * The path a drive is read and written through: on macOS the raw device /dev/rdiskN (unbuffered, whole sectors), for
 * either name the user gives (diskN or rdiskN); elsewhere the device itself.
 */
export function driveIoPath(device: string, platform: NodeJS.Platform = process.platform): string {
  if (platform !== 'darwin') return device;
  const m = /^\/dev\/r?(disk\d+)$/.exec(device);
  return m ? `/dev/r${m[1]}` : device;
}

/** The block device name of a macOS disk (/dev/diskN), for diskutil, whichever name was given. */
export function darwinDiskName(device: string): string {
  return device.replace(/^\/dev\/r(disk\d+)$/, '/dev/$1');
}

/** Whether two names are the same drive: Windows' \\.\PhysicalDriveN in any case, macOS's diskN or rdiskN. */
export function sameDriveName(a: string, b: string): boolean {
  const key = (s: string): string => (/^\\\\/.test(s) ? s.toLowerCase() : darwinDiskName(s));
  return key(a) === key(b);
}

/** Opens a whole drive for positioned reads and writes. */
export function openDevice(device: string, options: OpenDeviceOptions = {}): OpenDevice {
  const platform = options.platform ?? process.platform;
  const exclusive = platform !== 'darwin' && options.exclusive !== false;
  let fd: number;
  try {
    fd = openSync(device, exclusive ? deviceOpenFlags(platform) : constants.O_RDWR);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? null;
    throw new DriveAccessError(describeDeviceError(err, device, 'open'), code, device);
  }
  if (platform !== 'win32') {
    const st = fstatSync(fd);
    const ok = st.isBlockDevice() || (platform === 'darwin' && st.isCharacterDevice());
    if (!ok) {
      closeSync(fd);
      throw new DriveAccessError(`${device} is not a drive (a block device); tsmedia writes whole drives only.`, 'ENOTBLK', device);
    }
  }
  return { fd, path: device, exclusive };
}

/** Writes everything to the drive: fsync, then (Linux) the kernel's buffer cache flushed with blockdev --flushbufs (BLKFLSBUF). */
export async function flushDevice(dev: OpenDevice, options: DriveToolOptions = {}): Promise<void> {
  const platform = options.platform ?? process.platform;
  try {
    fsyncSync(dev.fd);
  } catch (err) {
    throw new DriveAccessError(describeDeviceError(err, dev.path, 'flush'), (err as NodeJS.ErrnoException).code ?? null, dev.path);
  }
  if (platform === 'linux' && hasTool('blockdev')) {
    const r = await (options.run ?? runCommand)('blockdev', ['--flushbufs', dev.path]);
    if (r.code !== 0 && !existsSync(dev.path)) throw new DriveAccessError(describeDeviceError({ code: 'ENXIO' }, dev.path, 'flush'), 'ENXIO', dev.path);
  }
}

export function closeDevice(dev: OpenDevice): void {
  try {
    closeSync(dev.fd);
  } catch (err) {
    throw new DriveAccessError(describeDeviceError(err, dev.path, 'close'), (err as NodeJS.ErrnoException).code ?? null, dev.path);
  }
}

export interface RereadResult {
  ok: boolean;
  tool: string | null;
  /** Why the table could not be re-read (the write itself succeeded: unplugging the drive and plugging it in again does the same). */
  warning: string | null;
}

/** Makes the operating system read the drive's new partition table (after the device is closed). */
export async function rereadPartitionTable(device: string, options: DriveToolOptions = {}): Promise<RereadResult> {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  const unplug = 'unplug the drive and plug it in again to see the new partitions';
  if (platform === 'linux') {
    if (!existsSync(device)) throw new DriveAccessError(describeDeviceError({ code: 'ENXIO' }, device, 'close'), 'ENXIO', device);
    const r = await run('blockdev', ['--rereadpt', device]);
    if (r.code === 0) return { ok: true, tool: 'blockdev', warning: null };
    if (hasTool('partprobe')) {
      const p = await run('partprobe', [device]);
      if (p.code === 0) return { ok: true, tool: 'partprobe', warning: null };
    }
    return { ok: false, tool: 'blockdev', warning: `the kernel did not re-read the partition table of ${device} (${firstLine(r.stderr) || `exit ${r.code}`}): ${unplug}.` };
  }
  if (platform === 'darwin') {
    // DiskArbitration probes the disk again when the raw device is closed; listing it makes sure the new layout is read.
    const disk = darwinDiskName(device);
    const r = await run('diskutil', ['list', disk]);
    return r.code === 0 ? { ok: true, tool: 'diskutil', warning: null } : { ok: false, tool: 'diskutil', warning: `diskutil could not read ${disk} again: ${unplug}.` };
  }
  if (platform === 'win32') {
    const n = windowsDiskNumber(device);
    const r = await run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', `Update-Disk -Number ${n}; Update-HostStorageCache`]);
    return r.code === 0 ? { ok: true, tool: 'powershell', warning: null } : { ok: false, tool: 'powershell', warning: `Windows did not rescan ${device}: ${unplug}.` };
  }
  return { ok: false, tool: null, warning: `re-reading partition tables is not supported on ${platform}: ${unplug}.` };
}

/** Whether this process may open the drive (or image) for reading: after the privileged writer wrote it, it may not. */
export function canReadDrive(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}
