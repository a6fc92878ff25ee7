// Lists the computer's drives with balena's `drivelist` and turns its output into the shared DriveInfo contract; a
// DriveWatcher polls about once a second and reports drives that appear, disappear or change. Nothing here ever
// selects a drive: the user always picks one.
//
// Linux: drivelist's own lsblk code (plain JavaScript) is used directly — `require('drivelist')` loads the native
// addon first, which is only needed on macOS and Windows and is absent when npm skipped install scripts. lsblk runs
// once per poll; drivelist's `transform` maps its output exactly as `drivelist.list()` would, and the same output
// adds every mountpoint at any depth (partitions, LVM, LUKS: drivelist keeps only the first level) and the loop
// devices drivelist leaves out (shown with showAll: they are how tests write a "drive").
// macOS/Windows: `drivelist.list()` (native: DiskArbitration / SetupAPI + IOCTLs).
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { isSystemMountpoint, type DriveInfo, type DriveMountpoint, type PartitionTableType } from '../../../shared/drives.js';

const execFileAsync = promisify(execFile);

/** One drive as drivelist reports it (v6 and later; the older `system`/`protected`/`mountpoint` keys are read too). */
export interface RawDrive {
  device: string;
  raw?: string | null;
  description?: string | null;
  displayName?: string | null;
  size?: number | string | null;
  busType?: string | null;
  enumerator?: string | null;
  isRemovable?: boolean | null;
  isUSB?: boolean | null;
  isUAS?: boolean | null;
  isCard?: boolean | null;
  isSystem?: boolean | null;
  isReadOnly?: boolean | null;
  isVirtual?: boolean | null;
  mountpoints?: { path: string; label?: string | null }[] | null;
  partitionTableType?: string | null;
  blockSize?: number | null;
  logicalBlockSize?: number | null;
  /** drivelist before v6 */
  system?: boolean | null;
  protected?: boolean | null;
  mountpoint?: string | null;
}

export interface NormalizeOptions {
  /** The Windows system drive (%SystemDrive%, e.g. "C:"): a drive mounted there is a system drive. */
  windowsSystemDrive?: string | null;
}

/** Buses inside the computer (drivelist's busType). SCSI is not one: USB Attached SCSI drives report it. */
const INTERNAL_BUSES = new Set(['SATA', 'ATA', 'NVME', 'SAS', 'RAID', 'IDE', 'PCI', 'PCI-EXPRESS', 'APPLE FABRIC']);

/** drivelist's output as the shared contract. A drive mounted at /, /boot, [SWAP] or the Windows system drive is a system drive whatever drivelist says. */
export function normalizeDrive(raw: RawDrive, options: NormalizeOptions = {}): DriveInfo {
  const mountpoints: DriveMountpoint[] = [];
  const seen = new Set<string>();
  const addMount = (path: string | null | undefined, label: string | null | undefined): void => {
    if (!path || seen.has(path)) return;
    seen.add(path);
    mountpoints.push({ path, label: label ?? null });
  };
  for (const m of raw.mountpoints ?? []) addMount(m.path, m.label);
  addMount(raw.mountpoint, null);

  const busType = (raw.busType ?? '').trim() || 'UNKNOWN';
  const bus = busType.toUpperCase();
  const size = typeof raw.size === 'number' ? raw.size : typeof raw.size === 'string' && /^\d+$/.test(raw.size) ? Number(raw.size) : null;
  const systemByMount = mountpoints.some((m) => isSystemMountpoint(m.path, options.windowsSystemDrive ?? null));
  const isSystem = (raw.isSystem ?? raw.system ?? false) === true || systemByMount;
  const isVirtual = raw.isVirtual === true;
  const isUSB = raw.isUSB === true || raw.isUAS === true || bus === 'USB';
  const isCard = raw.isCard === true || bus === 'SD' || bus === 'MMC' || /^\/dev\/mmcblk\d+$/.test(raw.device);
  // Windows reports disks on hot-plug capable SATA ports as removable: an internal bus is never a USB drive.
  const internalBus = !isUSB && !isCard && INTERNAL_BUSES.has(bus);
  // drivelist before v6 had no removable flag: "not system" was its meaning of a drive one may write.
  const legacyRemovable = raw.isSystem === undefined && raw.system !== undefined && raw.system !== null ? !raw.system : false;
  const pt = raw.partitionTableType;
  const partitionTableType: PartitionTableType = pt === 'gpt' ? 'gpt' : pt === 'mbr' || pt === 'dos' ? 'mbr' : null;
  return {
    device: raw.device,
    rawDevice: raw.raw && raw.raw !== raw.device ? raw.raw : null,
    description: (raw.description ?? raw.displayName ?? '').replace(/\s+/g, ' ').trim(),
    sizeBytes: size !== null && size > 0 ? size : null,
    busType,
    isRemovable: (raw.isRemovable ?? legacyRemovable) && !internalBus,
    isUSB,
    isCard,
    isSystem,
    isReadOnly: (raw.isReadOnly ?? raw.protected ?? false) === true,
    isVirtual,
    mountpoints,
    partitionTableType,
    logicalBlockSize: raw.logicalBlockSize ?? raw.blockSize ?? 512,
  };
}

// ---- Linux: lsblk through drivelist's own mapping -------------------------------------------------------------------

/** One device of `lsblk --bytes --all --json --paths --output-all` (util-linux 2.27 and later). */
export interface LsblkDevice {
  name: string;
  kname?: string | null;
  type?: string | null;
  size?: number | string | null;
  ro?: boolean | string | number | null;
  label?: string | null;
  partlabel?: string | null;
  pttype?: string | null;
  'log-sec'?: number | string | null;
  mountpoint?: string | null;
  /** util-linux 2.37 and later: every mountpoint (bind mounts, btrfs subvolumes). */
  mountpoints?: (string | null)[] | null;
  children?: LsblkDevice[] | null;
  [key: string]: unknown;
}

export interface LsblkOutput {
  blockdevices: LsblkDevice[];
}

const flag = (v: unknown): boolean => v === true || v === 1 || v === '1';

/** Every mountpoint of a device and everything below it (partitions, LVM volumes, opened LUKS containers). */
export function lsblkMountpoints(dev: LsblkDevice): DriveMountpoint[] {
  const out: DriveMountpoint[] = [];
  const walk = (d: LsblkDevice): void => {
    const label = d.label ?? d.partlabel ?? null;
    const paths = [...(d.mountpoints ?? []), d.mountpoint].filter((p): p is string => typeof p === 'string' && p !== '');
    for (const p of paths) if (!out.some((m) => m.path === p)) out.push({ path: p, label });
    for (const c of d.children ?? []) walk(c);
  };
  walk(dev);
  return out;
}

function loopBackingFile(kname: string): string | null {
  try {
    return readFileSync(`/sys/block/${basename(kname)}/loop/backing_file`, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** The lsblk tree as drivelist reports it (its own `transform`), with full mountpoints, plus attached loop devices. */
export async function drivesFromLsblk(data: LsblkOutput, backingFile: (kname: string) => string | null = loopBackingFile): Promise<RawDrive[]> {
  const { transform } = await import('drivelist/js/lsblk/json.js');
  const byName = new Map(data.blockdevices.map((d) => [d.name.startsWith('/') ? d.name : `/dev/${d.name}`, d]));
  const drives: RawDrive[] = transform(data as unknown as Parameters<typeof transform>[0]).map((d) => {
    const dev = byName.get(d.device);
    return dev ? { ...d, mountpoints: lsblkMountpoints(dev) } : { ...d };
  });
  for (const [name, dev] of byName) {
    if (dev.type !== 'loop' || !name.startsWith('/dev/loop')) continue;
    const size = Number(dev.size ?? 0);
    if (!(size > 0)) continue; // a loop device with nothing attached
    const kname = typeof dev.kname === 'string' ? dev.kname : name;
    const backing = backingFile(kname);
    drives.push({
      device: name,
      raw: kname,
      description: `Loop device${backing ? ` (${backing})` : ''}`,
      size,
      busType: 'VIRTUAL',
      enumerator: 'lsblk:json',
      isRemovable: false,
      isUSB: false,
      isCard: false,
      isSystem: false,
      isReadOnly: flag(dev.ro),
      isVirtual: true,
      mountpoints: lsblkMountpoints(dev),
      partitionTableType: dev.pttype === 'gpt' ? 'gpt' : dev.pttype === 'dos' ? 'mbr' : null,
      logicalBlockSize: Number(dev['log-sec'] ?? 512) || 512,
    });
  }
  return drives;
}

async function listLinux(): Promise<RawDrive[]> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync('lsblk', ['--bytes', '--all', '--json', '--paths', '--output-all'], { maxBuffer: 64 * 1024 * 1024 }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new Error('cannot list drives: the lsblk command (util-linux) is not installed.');
    // util-linux before 2.27 has no --json: drivelist's own fallback parses --pairs.
    const { lsblk } = await import('drivelist/js/lsblk/index.js');
    return lsblk();
  }
  return drivesFromLsblk(JSON.parse(stdout) as LsblkOutput);
}

async function listNative(): Promise<RawDrive[]> {
  let mod: typeof import('drivelist');
  try {
    mod = await import('drivelist');
  } catch (err) {
    throw new Error(
      `cannot list drives: drivelist's native part is missing (${(err as Error).message.split('\n')[0]}). Reinstall with install scripts allowed (npm rebuild drivelist).`,
    );
  }
  return mod.list();
}

/** The raw drivelist output for this computer. */
export async function listRawDrives(platform: NodeJS.Platform = process.platform): Promise<RawDrive[]> {
  if (platform === 'linux') return listLinux();
  if (platform === 'darwin' || platform === 'win32') return listNative();
  throw new Error(`cannot list drives on ${platform}: drivelist supports Linux, macOS and Windows.`);
}

export interface ListDrivesOptions {
  /** Include virtual devices (loop devices, RAM disks, disk images). System and internal drives are always listed: evaluateDrive hides them. */
  showAll: boolean;
}

/** The drives of this computer, in the operating system's order. */
export async function listDrives(options: ListDrivesOptions): Promise<DriveInfo[]> {
  const raw = await listRawDrives();
  const windowsSystemDrive = process.platform === 'win32' ? (process.env.SystemDrive ?? 'C:') : null;
  return raw.map((d) => normalizeDrive(d, { windowsSystemDrive })).filter((d) => options.showAll || !d.isVirtual);
}

/** Finds one drive by its device or raw device path (case-insensitive for Windows' \\.\PhysicalDriveN). */
export function findDrive(drives: DriveInfo[], device: string): DriveInfo | undefined {
  const key = (s: string): string => (/^\\\\/.test(s) ? s.toLowerCase() : s);
  return drives.find((d) => key(d.device) === key(device) || (d.rawDevice !== null && key(d.rawDevice) === key(device)));
}

// ---- Watching ---------------------------------------------------------------------------------------------------------

export interface DriveWatcherEvents {
  attach: [drive: DriveInfo];
  detach: [drive: DriveInfo];
  change: [drive: DriveInfo, previous: DriveInfo];
  /** A listing failed (the watcher keeps polling; the same message is reported once until a listing succeeds). */
  error: [error: Error];
  /** After the first listing: the drives present when watching started (each was also reported by `attach`). */
  ready: [drives: DriveInfo[]];
}

export interface DriveWatcherOptions extends ListDrivesOptions {
  /** Milliseconds between listings (default 1000, as balenaEtcher). */
  intervalMs?: number;
  /** Replaces listDrives (tests). */
  list?: (options: ListDrivesOptions) => Promise<DriveInfo[]>;
}

/**
 * Polls the drive list and emits `attach`, `detach` and `change`. It keeps no selection and never chooses a drive,
 * even when only one is present: the user picks. Call stop() when done (the timer keeps the process alive).
 */
export class DriveWatcher extends EventEmitter<DriveWatcherEvents> {
  private current = new Map<string, DriveInfo>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastError: string | null = null;
  private readyEmitted = false;
  private readonly intervalMs: number;
  private readonly list: (options: ListDrivesOptions) => Promise<DriveInfo[]>;

  constructor(private readonly options: DriveWatcherOptions) {
    super();
    this.intervalMs = options.intervalMs ?? 1000;
    this.list = options.list ?? listDrives;
  }

  /** The drives seen by the last listing. */
  get drives(): DriveInfo[] {
    return [...this.current.values()];
  }

  start(): this {
    if (this.timer || this.running || this.stopped) return this;
    this.tick();
    return this;
  }

  /** Lists once now (also used by start). Resolves when the listing and its events are done. */
  poll(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.scan().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private tick(): void {
    void this.poll().then(() => {
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.intervalMs);
    });
  }

  private async scan(): Promise<void> {
    let drives: DriveInfo[];
    try {
      drives = await this.list({ showAll: this.options.showAll });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (e.message !== this.lastError) {
        this.lastError = e.message;
        if (this.listenerCount('error') > 0) this.emit('error', e);
      }
      return;
    }
    this.lastError = null;
    if (this.stopped) return;
    const next = new Map(drives.map((d) => [d.device, d]));
    for (const [device, old] of this.current) if (!next.has(device)) this.emit('detach', old);
    for (const [device, d] of next) {
      const old = this.current.get(device);
      if (!old) this.emit('attach', d);
      else if (JSON.stringify(old) !== JSON.stringify(d)) this.emit('change', d, old);
    }
    this.current = next;
    if (!this.readyEmitted) {
      this.readyEmitted = true;
      this.emit('ready', drives);
    }
  }
}
