// The media contract: what the wizard's pages and `tsmedia create` ask for, and the progress the engine reports.
import type { StartScenario, StartsFrom } from './analysis.js';
import type { ErrorDetail, RuleIssue } from './messages.js';

export type DiscSizeName = 'cd650' | 'cd700' | 'dvd' | 'dvd-dl' | 'unlimited';

/** Sectors of 2048 bytes per disc (SPEC.md "Disc capacities"). */
export const DISC_SECTORS: Record<Exclude<DiscSizeName, 'unlimited'>, number> = {
  cd650: 333_000,
  cd700: 359_846,
  dvd: 2_295_104,
  'dvd-dl': 4_173_824,
};

export const DISC_SIZE_LABELS: Record<DiscSizeName, string> = {
  cd650: 'CD 650 MB',
  cd700: 'CD 700 MB',
  dvd: 'DVD 4.7 GB',
  'dvd-dl': 'DVD dual layer 8.5 GB',
  unlimited: 'Unlimited (one ISO)',
};

export const DEFAULT_MEDIA_LABEL = 'Configuration Manager';

/** How media just made are started: booted, or from the running Windows with the TSMBAutorun.exe they carry. */
export interface MediaStart {
  startsFrom: StartsFrom;
  scenario: StartScenario | null;
  /** "SMS\bin\x64\TSMBAutorun.exe" where the media carry the OSD binaries; null where they do not. */
  tsmbAutorun: string | null;
}

export interface MediaVariable {
  name: string;
  value: string;
  /** "Do not display this value": masked in logs, reports and inspect output. */
  secret: boolean;
}

/** Everything the wizard collects for stand-alone media, whatever the media type. */
export interface MediaRequestBase {
  /** Site folder, or a live site's https:// address (read with the session's sign-in); null for the bundled sample site. */
  site: string | null;
  taskSequenceId: string;
  /** Distribution point names; empty = every one holding all content. */
  distributionPoints: string[];
  password: string | null;
  unattended: boolean;
  /** ISO 8601 dates (UTC when no time is given); the media refuses to start outside this range. */
  startDate: string | null;
  expireDate: string | null;
  label: string;
  /** Write autorun.inf, opening SMS\bin\<arch>\TSMBAutorun.exe (refused where the site has no OSD binaries). */
  autorun: boolean;
  /** Also copy the site server's OSD\bin\i386 (x64 is always copied where the site has it), to start from 32-bit Windows. */
  i386Binaries: boolean;
  variables: MediaVariable[];
  prestartCommand: string | null;
  /** A folder whose files the prestart command needs. */
  prestartFiles: string | null;
  applications: string[];
  packages: string[];
  driverPackages: string[];
  /** Temporary space; default the user's temp folder. */
  staging: string | null;
  detectDependencies: boolean;
  /** Fixed timestamp for every date in the image (deterministic output); default now. */
  timestamp: string | null;
  /** Skip reading the written media back (it is verified by default). */
  skipVerify: boolean;
}

/** A CD/DVD set. */
export interface IsoMediaRequest extends MediaRequestBase {
  /** A disc size name, or a custom size in bytes. */
  size: DiscSizeName | number;
  /** The first ISO's path; later discs are <name>-2.iso, <name>-3.iso … */
  out: string;
}

/** A USB image file's extension: an image is never written under another name (as an ISO always ends in .iso). */
export const USB_IMAGE_EXTENSION = '.img';

/** A drive, and what the user saw and confirmed when choosing it. */
export interface UsbDriveTarget {
  kind: 'drive';
  device: string;
  /** "Show all drives" (--all) was on: the drive is judged with it, so a drive listed only with it needs it. */
  showAll: boolean;
  /**
   * One entry per confirmation the user gave (a ticked box in the wizard, a --yes-erase), each naming the device it
   * was given for: as many as evaluateDrive's needsConfirmation, all naming this device (more stay accepted).
   */
  confirmations: string[];
}

/** A raw image of a drive, written with the same code. */
export interface UsbImageTarget {
  kind: 'image';
  /** Ends in USB_IMAGE_EXTENSION; never inside the site, its content libraries or the application's folder. */
  path: string;
  sizeBytes: number;
  /**
   * The existing file the user confirmed may be replaced, named by its path (the wizard asks, the CLI takes
   * --replace FILE); null when none. An earlier tsmedia image at `path` is replaced without it.
   */
  replace: string | null;
  /**
   * The logical sector size the image is laid out for: 512 (default) or 4096, for an image to be copied to a drive
   * with 4096-byte sectors. A drive's own size is asked of the operating system.
   */
  sectorSize?: number;
}

/** A USB drive, or a raw image of one written with the same code. */
export interface UsbMediaRequest extends MediaRequestBase {
  target: UsbDriveTarget | UsbImageTarget;
  /**
   * "Write several drives": more drives written in the same run as `target` (a drive then), from one read of the
   * content; each judged and confirmed as `target` is. Several drives are always formatted (`format` true).
   */
  moreDrives?: UsbDriveTarget[];
  /** The console's "Format removable USB drive (FAT32) and make bootable"; false writes into the existing FAT32 volume. */
  format: boolean;
}

/** Where one drive of a several-drive run is: its own bytes, speed and time left, and how it ended. */
export interface DriveProgress {
  device: string;
  state: 'waiting' | 'writing' | 'verifying' | 'written' | 'failed' | 'cancelled';
  /** Bytes of this drive's phase (the write, then the read-back). */
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  /** Why it failed, naming the drive; null otherwise. */
  error: string | null;
  /** The failure as a code and values for the wizard's language (DRIVE_WRITE_FAILED), when it has one. */
  errorDetail?: ErrorDetail | null;
}

/** How one drive of a several-drive run ended. */
export interface UsbDriveResult {
  device: string;
  status: 'written' | 'failed' | 'cancelled';
  error: string | null;
  /** The failure as a code and values for the wizard's language (DRIVE_WRITE_FAILED), when it has one. */
  errorDetail?: ErrorDetail | null;
  bytesWritten: number;
  verified: boolean;
  /**
   * SHA-256 of what was read back from the drive: the volume's written bytes (its structures and files, in disc order;
   * the zeroed gaps between them are not read). Drives of one geometry written from one run have the same; null when
   * not read back (--no-verify, or the drive failed).
   */
  sha256: string | null;
  /** The layout's size, the volume's clusters, the sector size it was planned for. */
  diskBytes: number;
  clusterSize: number;
  sectorSize: number;
}

export type MediaPhase = 'plan' | 'write' | 'verify' | 'finalize' | 'done';

export interface MediaProgress {
  phase: MediaPhase;
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
  /** Seconds left at the current speed; null until it can be estimated. */
  etaSeconds: number | null;
  currentFile: string | null;
  disc: number | null;
  discs: number | null;
  /** A several-drive run: each drive's own progress, in the order chosen (in the same event: ≤ 4 a second whatever N). */
  drives?: DriveProgress[];
}

/** Turns a CLI/answer-file size ("dvd", "cd650", "4700000000") into a size. */
export function parseDiscSize(text: string): DiscSizeName | number | null {
  const t = text.trim().toLowerCase();
  if (t === 'cd650' || t === 'cd700' || t === 'dvd' || t === 'dvd-dl' || t === 'unlimited') return t;
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return Number.isSafeInteger(n) && n >= 64 * 1024 * 1024 ? n : null;
  }
  return null;
}

/** Capacity in 2048-byte blocks; Infinity for unlimited. */
export function discBlocks(size: DiscSizeName | number): number {
  if (size === 'unlimited') return Infinity;
  if (typeof size === 'number') return Math.floor(size / 2048);
  return DISC_SECTORS[size];
}

/** The name of disc n (1-based): the first takes the given name, the next <base>-2<ext>, … */
export function discFileName(first: string, n: number): string {
  if (n === 1) return first;
  const slash = Math.max(first.lastIndexOf('/'), first.lastIndexOf('\\'));
  const dot = first.lastIndexOf('.');
  return dot > slash ? `${first.slice(0, dot)}-${n}${first.slice(dot)}` : `${first}-${n}`;
}

export const MAX_MEDIA_LABEL = 32;

export type MediaLabelIssueCode = 'EMPTY' | 'TOO_LONG' | 'BAD_CHARACTERS';

/** What is wrong with a media label (a code, its values and the English sentence), or null. */
export function mediaLabelIssue(label: string): RuleIssue<MediaLabelIssueCode> | null {
  if (label.trim() === '') return { code: 'EMPTY', params: {}, message: 'The media label cannot be empty.' };
  if (label.length > MAX_MEDIA_LABEL) {
    return {
      code: 'TOO_LONG',
      params: { length: label.length, max: MAX_MEDIA_LABEL },
      message: `The media label has at most ${MAX_MEDIA_LABEL} characters (an ISO volume name); this one has ${label.length}.`,
    };
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x1f"*/:<>?\\|]/.test(label)) return { code: 'BAD_CHARACTERS', params: { characters: '" * / : < > ? \\ |' }, message: 'The media label cannot hold control characters or any of " * / : < > ? \\ |.' };
  return null;
}

/** Problems with a media label, or null. */
export function mediaLabelProblem(label: string): string | null {
  return mediaLabelIssue(label)?.message ?? null;
}

/**
 * What refreshing existing media changes (tsmedia refresh, the wizard's "refresh existing media"): shown before anything
 * is written. Paths as on the media; "kept" files stay where they are, untouched.
 */
export interface RefreshChanges {
  /** The drive or image file. */
  target: string;
  /** The media found: its label and task sequence (from its manifest). */
  oldLabel: string;
  taskSequence: string;
  /** An earlier refresh left the volume in between: it is rolled back ('roll-back') or finished ('finish') first. */
  interrupted: 'none' | 'roll-back' | 'finish';
  added: { path: string; size: number }[];
  replaced: { path: string; size: number }[];
  removed: { path: string; size: number }[];
  keptFiles: number;
  keptBytes: number;
  /** Bytes the refresh writes (files, folders, FAT sectors, boot sectors). */
  bytesToWrite: number;
  /** What writing the whole drive would write: every file. */
  fullBytes: number;
  /** Free bytes of the volume after the refresh. */
  freeBytesAfter: number;
  /** How: changed files rewritten in their own clusters through a journal ('rewrite': same paths, each file as many
   * clusters as before), or new and changed files written beside the old ones ('beside'); unknown until an
   * interrupted refresh is finished. */
  method?: 'rewrite' | 'beside';
}

/** Whether a drive holds tsmedia media (its manifest), asked when a drive is chosen in the wizard: nothing is written. */
export type ExistingMedia =
  | {
      device: string;
      found: true;
      /** The media label, the task sequence (its package ID, null when the manifest has none, and name) and when it was made. */
      label: string;
      taskSequenceId: string | null;
      taskSequenceName: string;
      created: string;
      mediaGuid: string;
      files: number;
    }
  | {
      device: string;
      found: false;
      /** Why not, in English (no manifest, not FAT32, cannot be read …): the wizard then offers only the whole write. */
      reason: string;
    };
