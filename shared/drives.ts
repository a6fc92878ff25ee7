// The drive contract shared by the engine, the command line and the wizard's renderer: what a drive is, why one may
// not be written, and how many confirmations writing it takes. Pure TypeScript (no Node imports): the renderer uses it.
//
// The rules follow what balenaEtcher's users expect and what they complain about: a system, internal or virtual drive
// is never offered by default; "show all drives" lists it. A system or read-only drive, or one holding the site's
// content or the application, is never writable, whatever is asked. Writing any other drive takes confirmations that
// name it: one (it is erased), two for an internal drive. The wizard, the command line and the engine all count them
// with needsConfirmation. Nothing here ever picks a drive for the user.

import { plainWindowsPath } from './windowsPaths.js';

export type PartitionTableType = 'mbr' | 'gpt' | null;

export interface DriveMountpoint {
  /** A mount path (/media/u/STICK, /Volumes/STICK, E:\) or a pseudo-entry such as [SWAP]. */
  path: string;
  label: string | null;
}

export interface DriveInfo {
  /** The whole-drive device: /dev/sdb, \\.\PhysicalDrive2, /dev/disk4. */
  device: string;
  /** The raw (unbuffered) device when it differs from `device`: /dev/rdisk4 on macOS; null elsewhere. */
  rawDevice: string | null;
  /** Vendor, model and volume labels, as the operating system reports them ('' when it reports nothing). */
  description: string;
  /** Null when the drive reports no size (a card reader with no card). */
  sizeBytes: number | null;
  /** USB, SATA, NVME, SD, SCSI, Virtual Interface, UNKNOWN … as the operating system names it. */
  busType: string;
  isRemovable: boolean;
  isUSB: boolean;
  isCard: boolean;
  isSystem: boolean;
  isReadOnly: boolean;
  /** Disk images, loop devices, RAM disks, sparse bundles: shown only with "show all drives". */
  isVirtual: boolean;
  mountpoints: DriveMountpoint[];
  partitionTableType: PartitionTableType;
  logicalBlockSize: number;
}

export type DriveConstraintCode =
  | 'SYSTEM_DRIVE'
  | 'READ_ONLY'
  | 'TOO_SMALL'
  | 'NOT_REMOVABLE'
  | 'VIRTUAL'
  | 'HOLDS_SOURCE'
  | 'TOO_LARGE';

export const DRIVE_CONSTRAINT_CODES: readonly DriveConstraintCode[] = ['SYSTEM_DRIVE', 'READ_ONLY', 'TOO_SMALL', 'NOT_REMOVABLE', 'VIRTUAL', 'HOLDS_SOURCE', 'TOO_LARGE'];

/** The values a constraint's sentence is made of, so the wizard can say it in its own language. */
export interface DriveConstraintParams {
  /** The drive as the sentence names it: the device, and its description ('' when the system reports none). */
  device: string;
  description: string;
  /** A card (reader): SYSTEM_DRIVE and READ_ONLY say more (internal readers, the lock switch). */
  card: boolean;
  /** Bytes the media needs (TOO_SMALL; 0 before a task sequence is chosen). */
  neededBytes?: number;
  /** Bytes the drive has (TOO_SMALL, TOO_LARGE); null when it reports no size. */
  hasBytes?: number | null;
  /** HOLDS_SOURCE: the drive's mountpoints that hold the sources, and those source paths. */
  mountpoints?: string[];
  sourcePaths?: string[];
  /** SYSTEM_DRIVE, VIRTUAL, NOT_REMOVABLE while "show all drives" is off: the drive is listed only with it. Absent when it is on. */
  showAllHint?: 'list';
}

export interface DriveConstraint {
  code: DriveConstraintCode;
  /** 'error': the drive cannot be chosen with the options given; 'warning': it can, once the user confirms. */
  severity: 'error' | 'warning';
  /** The English sentence (the command line prints it). */
  message: string;
  params: DriveConstraintParams;
}

export interface DriveEvaluationOptions {
  /** Bytes the media needs on the drive. */
  neededBytes: number;
  /** The site's folders and the application's own location: a drive with a mountpoint that is a prefix of one of them is refused. */
  sourcePaths: string[];
  /** "Show all drives": lists system, internal and virtual drives (system ones still refused). */
  showAll: boolean;
  /** A drive larger than this gets a TOO_LARGE warning, shown with its confirmation (default DEFAULT_LARGE_DRIVE_BYTES). */
  largeDriveBytes?: number;
}

export interface DriveEvaluation {
  /** Whether the user may choose the drive with these options (after the confirmations below). */
  selectable: boolean;
  /**
   * Whether a drive list should leave it out: system, internal and virtual drives unless showAll. A read-only or too
   * small USB drive stays listed (not selectable, with its reason), so the user sees it was detected.
   */
  hidden: boolean;
  /**
   * How many times the user confirms writing the drive, each time naming it: 1 (writing erases it), 2 for an internal
   * (non-removable) drive. The wizard shows that many confirmations, the command line asks for that many
   * `--yes-erase DEVICE`, and the engine refuses a request with fewer.
   */
  needsConfirmation: 1 | 2;
  constraints: DriveConstraint[];
}

/** 128 GB: a "removable" drive larger than this is more likely a hard disk than a USB stick. */
export const DEFAULT_LARGE_DRIVE_BYTES = 128e9;

/** Mount paths that mean "the running operating system lives here". */
const SYSTEM_MOUNT_PATHS = ['/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '/home', '[SWAP]', '/System/Volumes/Data', '/private/var/vm'];

/** Whether a mountpoint shows the drive carries the running system (root, boot, swap; the Windows system drive). */
export function isSystemMountpoint(path: string, windowsSystemDrive: string | null = null): boolean {
  if (SYSTEM_MOUNT_PATHS.includes(path)) return true;
  if (windowsSystemDrive && isWindowsPath(path)) return windowsKey(path).startsWith(windowsKey(windowsSystemDrive).replace(/\\?$/, '\\'));
  return false;
}

function isWindowsPath(p: string): boolean {
  return /^[A-Za-z]:/.test(p) || p.startsWith('\\\\');
}

/** Windows paths compare case-insensitively with backslashes, in their plain form (\\?\UNC\s\x is \\s\x); `C:` means `C:\`. */
function windowsKey(p: string): string {
  let k = plainWindowsPath(p).replace(/\//g, '\\').toLowerCase();
  if (/^[a-z]:$/.test(k)) k += '\\';
  return k;
}

/** True when `mount` is `path` itself or one of its parent folders (a path boundary, never a string prefix alone). */
export function mountpointContains(mount: string, path: string): boolean {
  if (mount === '' || mount.startsWith('[')) return false;
  if (isWindowsPath(mount) || isWindowsPath(path)) {
    if (!(isWindowsPath(mount) && isWindowsPath(path))) return false;
    const m = windowsKey(mount).replace(/\\+$/, '');
    const p = windowsKey(path).replace(/\\+$/, '');
    return p === m || p.startsWith(`${m}\\`);
  }
  if (mount === '/') return path.startsWith('/');
  const m = mount.replace(/\/+$/, '');
  const p = path.replace(/\/+$/, '');
  return p === m || p.startsWith(`${m}/`);
}

/** A size in decimal units, as drives are sold (a "16 GB" stick holds 16,000,000,000 bytes or a little less). */
export function decimalSize(bytes: number): { value: number; unit: 'B' | 'kB' | 'MB' | 'GB' | 'TB' } {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'] as const;
  let value = bytes;
  let u = 0;
  while (value >= 1000 && u < units.length - 1) {
    value /= 1000;
    u += 1;
  }
  return { value, unit: units[u] };
}

/** Sizes as drives are sold: decimal units, one decimal under 10. */
export function formatDriveSize(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes <= 0) return 'no medium';
  const { value, unit } = decimalSize(bytes);
  return unit === 'B' ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

const driveName = (d: DriveInfo): string => `${d.device}${d.description ? ` (${d.description})` : ''}`;

/** Every reason a drive may not (or may only after confirmation) be written, and whether it can be chosen. */
export function evaluateDrive(drive: DriveInfo, options: DriveEvaluationOptions): DriveEvaluation {
  const { neededBytes, sourcePaths, showAll } = options;
  const large = options.largeDriveBytes ?? DEFAULT_LARGE_DRIVE_BYTES;
  const constraints: DriveConstraint[] = [];
  const base: DriveConstraintParams = { device: drive.device, description: drive.description, card: drive.isCard };
  // A system, internal or virtual drive is listed only with "show all drives", which lifts the refusal of the internal
  // (then confirmed twice) and virtual ones — never of a system drive.
  const listedOnlyWithShowAll = (code: DriveConstraintCode, message: string, lifted = true): void => {
    constraints.push({
      code,
      severity: showAll && lifted ? 'warning' : 'error',
      message: showAll ? message : `${message} Shown only with "show all drives".`,
      params: showAll ? { ...base } : { ...base, showAllHint: 'list' },
    });
  };
  const name = driveName(drive);

  if (drive.isSystem) {
    // The engine and the privileged writer refuse a system drive too, whatever they are sent.
    listedOnlyWithShowAll(
      'SYSTEM_DRIVE',
      drive.isCard
        ? `${name} is reported as a system drive by the operating system (internal card readers often are). tsmedia never writes a system drive.`
        : `${name} is a system drive: it holds or may hold the operating system. tsmedia never writes a system drive.`,
      false,
    );
  }
  if (drive.isReadOnly) {
    constraints.push({
      code: 'READ_ONLY',
      severity: 'error',
      message: `${name} is read-only${drive.isCard ? ' (is the card\'s lock switch on?)' : ''}. Unlock it and plug it in again; it cannot be written while it stays read-only.`,
      params: { ...base },
    });
  }
  if (drive.isVirtual) {
    listedOnlyWithShowAll('VIRTUAL', `${name} is a virtual device (a disk image, loop device or RAM disk), not a USB drive.`);
  } else if (!drive.isRemovable && !drive.isSystem) {
    listedOnlyWithShowAll('NOT_REMOVABLE', `${name} is an internal (non-removable) drive, not a USB drive. Writing it erases everything on it.`);
  }
  const holding = drive.mountpoints.filter((m) => sourcePaths.some((p) => mountpointContains(m.path, p)));
  if (holding.length > 0) {
    const held = sourcePaths.filter((p) => holding.some((m) => mountpointContains(m.path, p)));
    const mountpoints = holding.map((m) => m.path);
    constraints.push({
      code: 'HOLDS_SOURCE',
      severity: 'error',
      message: `${name} holds what the media is made from (${held.join(', ')} on ${mountpoints.join(', ')}). Choose another drive.`,
      params: { ...base, mountpoints, sourcePaths: held },
    });
  }
  if (drive.sizeBytes === null || drive.sizeBytes <= 0) {
    const needs = neededBytes > 0 ? ` The media needs ${formatDriveSize(neededBytes)}.` : '';
    constraints.push({ code: 'TOO_SMALL', severity: 'error', message: `${name} reports no size: is a card or medium inserted?${needs}`, params: { ...base, neededBytes, hasBytes: null } });
  } else if (drive.sizeBytes < neededBytes) {
    constraints.push({
      code: 'TOO_SMALL',
      severity: 'error',
      message: `${name} is too small: the media needs ${formatDriveSize(neededBytes)} (${neededBytes} bytes), the drive has ${formatDriveSize(drive.sizeBytes)} (${drive.sizeBytes} bytes).`,
      params: { ...base, neededBytes, hasBytes: drive.sizeBytes },
    });
  } else if (drive.sizeBytes > large) {
    constraints.push({
      code: 'TOO_LARGE',
      severity: 'warning',
      message: `${name} is very large (${formatDriveSize(drive.sizeBytes)}): it is probably a hard disk, not a USB stick. Make sure it is the drive you mean.`,
      params: { ...base, hasBytes: drive.sizeBytes },
    });
  }

  const hidden = !showAll && (drive.isSystem || drive.isVirtual || !drive.isRemovable);
  const selectable = constraints.every((c) => c.severity === 'warning');
  return { selectable, hidden, needsConfirmation: constraints.some((c) => c.code === 'NOT_REMOVABLE') ? 2 : 1, constraints };
}

/** Whether `confirmations` given by the user are enough to write the drive (more than needed stay accepted). */
export function confirmationsSatisfied(evaluation: DriveEvaluation, confirmations: number): boolean {
  return evaluation.selectable && confirmations >= evaluation.needsConfirmation;
}

/** "once", "twice": how often a drive must be confirmed, in the command line's and the engine's sentences. */
export function confirmationTimes(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}
