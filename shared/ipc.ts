// The one API the wizard uses, whichever way it reaches the engine: Electron IPC (through the preload's
// `window.tsmedia`) or the loopback host (HTTP on 127.0.0.1 with a token, events over Server-Sent Events). Channel
// names, request and response types live here once; the renderer holds no business logic.
import type { AnalysisResult, CatalogItem, Finding, OsdBinariesSummary, SequenceSummary } from './analysis.js';
import type { AnswerFile } from './answers.js';
import type { DriveEvaluation, DriveInfo } from './drives.js';
import type { ExistingMedia, IsoMediaRequest, MediaProgress, MediaStart, RefreshChanges, UsbDriveResult, UsbMediaRequest } from './media.js';
import type { ErrorDetail } from './messages.js';

export type { ErrorDetail, MessageParams } from './messages.js';

export interface SiteInfo {
  root: string;
  isSample: boolean;
  siteCode: string | null;
  siteName: string | null;
  centralAdministrationSite: boolean;
  distributionPoints: { name: string; error: string | null }[];
  taskSequences: number;
  /** The site server's OSD binaries: media started from a running Windows, and autorun.inf, need them. */
  osdBinaries: OsdBinariesSummary;
  /** A live site: read from this administration service (`root` is its address, or the folder whose descriptor names it). */
  live: LiveSiteInfo | null;
}

export interface LiveSiteInfo {
  /** "https://cm01.contoso.com/AdminService". */
  address: string;
  /** host, or host:port, as errors and trusted certificates name it. */
  server: string;
  /** The user signed in as (DOMAIN\user); null for the signed-in Windows user's own account (Negotiate). */
  user: string | null;
}

/**
 * Opens a live site by its administration service. The password is used for this session only (kept in memory to
 * read the site again), never stored or logged; `trustThumbprint` is the SHA-256 (or SHA-1) the user confirmed.
 */
export interface OpenServerSiteRequest {
  /** A server name ("cm01.contoso.com", "cm01:8443") or the service's https:// address. */
  address: string;
  /** DOMAIN\user or user@domain; null signs in as the current user (Negotiate: the Windows logon, or a Kerberos ticket). */
  user: string | null;
  password: string | null;
  trustThumbprint: string | null;
}

export interface AnalyzeRequest {
  taskSequenceId: string;
  detectDependencies: boolean;
}

export interface DriveListRequest {
  showAll: boolean;
  /** Bytes the planned media needs (0 before a task sequence is chosen). */
  neededBytes: number;
}

export interface ListedDrive {
  drive: DriveInfo;
  evaluation: DriveEvaluation;
}

/** What the Media Type page needs before any byte is written: sizes, the disc plan, the 4 GiB check. */
export interface MediaCheckRequest {
  taskSequenceId: string;
  detectDependencies: boolean;
  distributionPoints: string[];
  applications: string[];
  packages: string[];
  driverPackages: string[];
  media: 'iso' | 'usb';
  /** For ISO: the disc size (a size name or bytes). */
  size: IsoMediaRequest['size'] | null;
  /** SMS\bin\i386 too (every disc of a set carries SMS\bin). */
  i386Binaries: boolean;
}

export interface MediaCheck {
  /** Bytes of content (before file system overhead). */
  contentBytes: number;
  files: number;
  /** ISO: the planned discs. */
  discs: { bytes: number; files: number }[] | null;
  /** USB: WIMs that will be split, and files that make USB impossible (each with its package and size). */
  largeFiles: { wims: { path: string; packageId: string | null; size: number; parts: string[] }[]; refused: { path: string; packageId: string | null; size: number }[] } | null;
  /** A problem that stops this media type (e.g. no distribution point holds all content), or null. */
  problem: string | null;
  /** The problem's code and values, when it has a code (for the wizard to translate it); null or absent otherwise. */
  problemDetail?: ErrorDetail | null;
  distributionPoints: string[];
  warnings: Finding[];
}

/** The file an ISO set (its first disc) or a USB image is written to. */
export type OutputFileKind = 'iso' | 'usb-image';

/** Can this media file be written? Asked as the Media file (or Image file) field changes: cheap, nothing is created. */
export interface OutputCheckRequest {
  /** As typed: a full path, `\\server\share\…` or a mapped drive on Windows. */
  path: string;
  kind: OutputFileKind;
  /** Bytes the media needs (the planned discs, or the USB content), or null while it is not known. */
  neededBytes: number | null;
}

/** The network share an output folder is on, as its server names it. */
export interface OutputShare {
  /** `\\server\share` (Windows), `//server/share` (SMB elsewhere) or `server:/export` (NFS). */
  name: string;
  protocol: 'smb' | 'nfs' | 'other';
  /** Where it is mounted here (a folder or a mapped drive letter); null for a UNC path used directly. */
  mountedAt: string | null;
}

export interface OutputCheck {
  path: string;
  /** The folder the file goes in (absolute). */
  folder: string;
  folderExists: boolean;
  /** The folder exists and this user may write in it (what the system says; nothing is written to find out). */
  writable: boolean;
  /** The network share holding the folder, or null for a local disk (or one whose kind cannot be told). */
  share: OutputShare | null;
  /** Free bytes, or null when the file system does not report them (many shares) or the folder is not there. */
  free: number | null;
  /** Why `free` is null, in English (for a tooltip), or null. */
  freeUnknown: string | null;
  /** The bytes asked about (the media's), or null. */
  neededBytes: number | null;
  /** Whether the media and the files beside it fit; null when the free space or the size is not known. */
  fits: boolean | null;
  /** Why the file cannot be written there (the run would refuse it), or null. Unknown free space is no problem. */
  problem: string | null;
  /** The problem's code and values, for the wizard to say it in its language. */
  problemDetail: ErrorDetail | null;
}

/**
 * 'refresh': the media on a drive (or image) refreshed in place: only what changed is written (UsbRefresh). With `dryRun`
 * the job stops after the change list (its result's `refresh.changes`) and writes nothing; a dry run of a drive needs no
 * confirmation, the real one as many as writing it would (`target.confirmations`). `format` is false.
 */
export type StartMediaRequest = { kind: 'iso'; request: IsoMediaRequest } | { kind: 'usb'; request: UsbMediaRequest } | { kind: 'refresh'; request: UsbMediaRequest; dryRun: boolean };

/** Which drive to look at for tsmedia media (readDriveMedia): as listed, with "show all drives" as the user has it. */
export interface DriveMediaRequest {
  device: string;
  showAll: boolean;
}

export interface MediaResultSummary {
  kind: 'iso' | 'usb' | 'refresh';
  /** ISO files, or the drive / image written. */
  outputs: { path: string; bytes: number; sha256: string | null }[];
  verified: boolean;
  reportFiles: string[];
  logFiles: string[];
  mediaGuid: string;
  /** How the administrator starts the media (Completion page). */
  start: MediaStart;
  /** "Write several drives": how each drive ended, in the order chosen (absent for one drive or an ISO set). */
  drives?: UsbDriveResult[];
  /** A refresh: what it changed (a dry run: what it would change) and whether anything was written. */
  refresh?: { changes: RefreshChanges; written: boolean; bytesWritten: number };
}

export type MediaEvent =
  | { jobId: string; type: 'progress'; progress: MediaProgress }
  | { jobId: string; type: 'done'; result: MediaResultSummary }
  /**
   * code: 'invalid' (the run was refused: exit 1), 'failed' (a write failed: 2), 'cancelled' (130). `message` is the
   * English sentence; `detail`, when present, the error's own code and values (README "Error codes").
   */
  | { jobId: string; type: 'error'; code: 'invalid' | 'failed' | 'cancelled'; message: string; detail?: ErrorDetail };

/**
 * What an API call rejects with: over HTTP the body `{"error": message, "code", "detail"?}`, through the preload an
 * object `{name, message, code, detail?}`. `detail` is present only for errors that have a code.
 */
export interface ApiErrorReply {
  code: 'invalid' | 'failed' | 'cancelled';
  message: string;
  detail?: ErrorDetail;
}

export interface SaveDialogRequest {
  title: string;
  defaultPath: string | null;
  filters: { name: string; extensions: string[] }[];
}

export interface Preferences {
  /** null: follow the operating system. */
  language: 'en' | 'es' | null;
  /** The last site opened: a folder, or a live site's https:// address; null for the sample site. */
  lastSite: string | null;
}

/** Every method the wizard may call; nothing else crosses from the page to the engine. */
export interface TsMediaApi {
  getSiteInfo(): Promise<SiteInfo>;
  /** null opens the bundled sample site; the choice is remembered. */
  openSite(path: string | null): Promise<SiteInfo>;
  /** A live site by its server name or address; remembered (the address, never the sign-in) like a folder. */
  openServerSite(req: OpenServerSiteRequest): Promise<SiteInfo>;
  listSequences(): Promise<SequenceSummary[]>;
  analyze(req: AnalyzeRequest): Promise<AnalysisResult>;
  catalog(): Promise<CatalogItem[]>;
  listDrives(req: DriveListRequest): Promise<ListedDrive[]>;
  /** Whether a listed drive holds tsmedia media (its manifest's label, task sequence, date): read only, cheap. */
  readDriveMedia(req: DriveMediaRequest): Promise<ExistingMedia>;
  checkMedia(req: MediaCheckRequest): Promise<MediaCheck>;
  /** Whether a media file can be written where the user typed it: its folder, share, free space and any refusal. */
  checkOutput(req: OutputCheckRequest): Promise<OutputCheck>;
  startMedia(req: StartMediaRequest): Promise<{ jobId: string }>;
  cancelMedia(jobId: string): Promise<void>;
  /** Stops one drive of a several-drive run (the others go on); a drive that has already ended is no error. */
  cancelDrive(jobId: string, device: string): Promise<void>;
  saveAnswerFile(path: string, answers: AnswerFile): Promise<void>;
  /** Native dialogs where there is a desktop (Electron); null where there is none (the loopback host). */
  chooseFolder(title: string): Promise<string | null>;
  chooseSaveFile(req: SaveDialogRequest): Promise<string | null>;
  /** Opens a file or folder with the desktop's default application; false where that cannot be done. */
  openPath(path: string): Promise<boolean>;
  getPreferences(): Promise<Preferences>;
  setPreferences(p: Partial<Preferences>): Promise<Preferences>;
  /** The operating system's language, e.g. "es-ES". */
  systemLocale(): Promise<string>;
  /** Subscribes to media events; returns the unsubscribe function. */
  onMediaEvent(listener: (e: MediaEvent) => void): () => void;
}

/** Invoke-style methods (request → response); onMediaEvent travels as events instead. */
export const API_METHODS = [
  'getSiteInfo',
  'openSite',
  'openServerSite',
  'listSequences',
  'analyze',
  'catalog',
  'listDrives',
  'readDriveMedia',
  'checkMedia',
  'checkOutput',
  'startMedia',
  'cancelMedia',
  'cancelDrive',
  'saveAnswerFile',
  'chooseFolder',
  'chooseSaveFile',
  'openPath',
  'getPreferences',
  'setPreferences',
  'systemLocale',
] as const satisfies readonly (keyof TsMediaApi)[];

export type ApiMethod = (typeof API_METHODS)[number];

/** Electron IPC channel of a method (ipcMain.handle / ipcRenderer.invoke), and of the event stream. */
export const ipcChannel = (m: ApiMethod): string => `tsmedia:${m}`;
export const MEDIA_EVENT_CHANNEL = 'tsmedia:media-event';

/** Loopback host paths: POST /api/<method> with a JSON array of arguments; GET /api/events (Server-Sent Events). */
export const HOST_API_PREFIX = '/api/';
export const HOST_EVENTS_PATH = '/api/events';
/** POST {"code"} here: a one-time code (from the address's `#code=`, or the page's resume code) for {"session", "resume"}. */
export const HOST_SESSION_PATH = '/api/session';
/** The address's fragment parameter that carries the one-time code (a fragment never reaches a server). */
export const HOST_CODE_PARAM = 'code';
/** The session secret travels as this header on API calls and event streams, and in nothing else (no cookie, no URL). */
export const HOST_SESSION_HEADER = 'x-tsmedia-session';

export function isApiMethod(name: string): name is ApiMethod {
  return (API_METHODS as readonly string[]).includes(name);
}
