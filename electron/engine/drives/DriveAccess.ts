// Preparing a drive for a whole-drive write and finishing it: unmount every mounted partition, open the device for
// positioned writes (exclusively on Linux), flush, and make the operating system re-read the new partition table.
// Every step uses the operating system's own tools (umount/udisksctl and blockdev/partprobe on Linux, diskutil on
// macOS, PowerShell and diskpart on Windows); every failure says in words what happened to which drive.
import { execFile } from 'node:child_process';
import { closeSync, constants, existsSync, fstatSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lsblkMountpoints, type LsblkOutput } from './Drives.js';

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
  const disk = device.replace(/^\/dev\/r(disk)/, '/dev/$1');
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

/** The diskpart script that removes the drive letters of a disk's volumes and dismounts them. */
export function windowsDismountScript(letters: string[]): string {
  return letters.map((l) => `select volume ${l}\r\nremove all dismount noerr\r\n`).join('');
}

async function unmountWindows(device: string, run: CommandRunner): Promise<UnmountResult> {
  const n = windowsDiskNumber(device);
  if (n === null) throw new DriveAccessError(`${device} is not a Windows physical drive (\\\\.\\PhysicalDriveN).`, 'ENOENT', device);
  const ps = await run('powershell.exe', [
    '-NoProfile',
    '-NonInteractive',
    '-Command',
    `$ErrorActionPreference='Stop'; Get-Disk -Number ${n} | Out-Null; Get-Partition -DiskNumber ${n} -ErrorAction SilentlyContinue | Where-Object { $_.DriveLetter } | ForEach-Object { $_.DriveLetter }`,
  ]);
  if (ps.code !== 0) {
    const why = firstLine(ps.stderr || ps.stdout);
    if (/No MSFT_Disk objects found|not found/i.test(why)) throw new DriveAccessError(describeDeviceError({ code: 'ENOENT' }, device, 'unmount'), 'ENOENT', device);
    throw new DriveAccessError(`cannot list the volumes of ${device}: ${why}`, null, device);
  }
  const letters = ps.stdout.split(/\r?\n/).map((s) => s.trim()).filter((s) => /^[A-Za-z]$/.test(s));
  if (letters.length === 0) return { unmounted: [], tool: null };
  const dir = mkdtempSync(join(tmpdir(), 'tsmedia-diskpart-'));
  try {
    const script = join(dir, 'dismount.txt');
    writeFileSync(script, windowsDismountScript(letters));
    const r = await run('diskpart.exe', ['/s', script]);
    if (r.code !== 0) throw new DriveAccessError(`diskpart could not dismount the volumes of ${device}: ${firstLine(r.stdout || r.stderr)}`, 'EBUSY', device);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { unmounted: letters.map((l) => `${l}:\\`), tool: 'diskpart' };
}

/** Unmounts every mounted partition (and volume) of a whole drive. Nothing mounted: a no-op that runs no unmount tool. */
export async function unmountDrive(device: string, options: DriveToolOptions = {}): Promise<UnmountResult> {
  const platform = options.platform ?? process.platform;
  const run = options.run ?? runCommand;
  if (platform === 'linux') return unmountLinux(device, run, options.asRoot ?? process.getuid?.() === 0);
  if (platform === 'darwin') return unmountDarwin(device, run);
  if (platform === 'win32') return unmountWindows(device, run);
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
  /** Linux: O_EXCL, which the kernel refuses (EBUSY) while a partition is mounted or another program holds the drive. Default true. */
  exclusive?: boolean;
}

/** Opens a whole drive for positioned reads and writes. */
export function openDevice(device: string, options: OpenDeviceOptions = {}): OpenDevice {
  const platform = options.platform ?? process.platform;
  const exclusive = platform === 'linux' && options.exclusive !== false;
  let fd: number;
  try {
    fd = openSync(device, constants.O_RDWR | (exclusive ? constants.O_EXCL : 0));
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
    const disk = device.replace(/^\/dev\/r(disk)/, '/dev/$1');
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
