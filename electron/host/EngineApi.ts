// The wizard's API over the engine: every method of TsMediaApi (shared/ipc.ts) but onMediaEvent, which is a listener
// registry here. The Electron shell (IPC) and the loopback host (HTTP) both call `call(method, args)` with whatever a
// page sent: every argument is checked (types, enums, absolute paths, known fields only) and a bad call is refused
// with a sentence, never a crash. Errors reach the page as ApiError: 'invalid' (the request or the user's input is
// wrong: InputError), 'cancelled', or 'failed' (anything else: its message only, never a stack).
import { analyzeForMedia } from '../engine/media/BootImageSignatures.js';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import type { AnalysisResult, CatalogItem, SequenceSummary } from '../../shared/analysis.js';
import { answerFileProblem, type AnswerFile } from '../../shared/answers.js';
import { evaluateDrive, type DriveInfo } from '../../shared/drives.js';
import type {
  AnalyzeRequest,
  ApiErrorReply,
  ApiMethod,
  DriveListRequest,
  DriveMediaRequest,
  ErrorDetail,
  ListedDrive,
  MediaCheck,
  MediaCheckRequest,
  MediaEvent,
  MediaResultSummary,
  OpenServerSiteRequest,
  OutputCheck,
  OutputCheckRequest,
  Preferences,
  SaveDialogRequest,
  SiteInfo,
  StartMediaRequest,
  TsMediaApi,
} from '../../shared/ipc.js';
import { API_METHODS, isApiMethod } from '../../shared/ipc.js';
import type { DiscSizeName, ExistingMedia, IsoMediaRequest, MediaProgress, MediaRequestBase, MediaVariable, UsbMediaRequest } from '../../shared/media.js';
import { summarizeSequences } from '../engine/site/Analysis.js';
import { buildCatalog } from '../engine/site/Catalog.js';
import { checkDriveChoice } from '../engine/drives/DriveChoice.js';
import { batchDrives } from '../engine/media/UsbBatchBuilder.js';
import { listDrives } from '../engine/drives/Drives.js';
import { InputError, codedInputError, errorMessage } from '../engine/errors.js';
import { CancelledError, WriteError } from '../engine/io/ImageWriter.js';
import { checkMedia } from '../engine/media/MediaCheck.js';
import { createIsoSet, validateRequest } from '../engine/media/MediaBuilder.js';
import { validateBaseRequest } from '../engine/media/MediaPreparation.js';
import { checkOutputFile } from '../engine/media/OutputCheck.js';
import { checkImageTarget, refuseInsideSources, sourceFolders } from '../engine/media/OutputPlace.js';
import { sampleSitePath } from '../engine/paths.js';
import { Site } from '../engine/site/Site.js';
import { openSiteAt, type LiveSiteContext } from '../engine/site/SiteOpener.js';
import type { SignIn } from '../engine/site/live/AdminServiceClient.js';
import { isSiteUrl, parseSiteAddress } from '../engine/site/live/SiteAddress.js';
import { TrustedServers } from '../engine/site/live/TrustedServers.js';
import { summarizeOsdBinaries } from '../engine/site/OsdBinaries.js';
import { createUsbMedia } from '../engine/media/UsbMediaBuilder.js';
import { refreshUsbMedia } from '../engine/media/UsbRefresh.js';
import { readDriveMedia } from '../engine/media/ExistingMedia.js';
import { EventPacer } from '../engine/media/Progress.js';

export type ApiErrorCode = 'invalid' | 'failed' | 'cancelled';

/** What a page sees of a failed call: a code and a sentence, and for the errors that have one the error's own code and values. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly detail: ErrorDetail | null = null,
  ) {
    super(message);
  }

  /** The reply as it crosses to the page (IPC, HTTP, events): `detail` only when there is one. */
  toReply(): ApiErrorReply {
    return this.detail ? { code: this.code, message: this.message, detail: this.detail } : { code: this.code, message: this.message };
  }
}

/** Any error as the page may see it: InputError → invalid (with its code and values), CancelledError → cancelled, the rest → failed. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof InputError) return new ApiError('invalid', err.message, err.detail);
  if (err instanceof CancelledError) return new ApiError('cancelled', 'cancelled by the user');
  if (err instanceof WriteError) return new ApiError('failed', err.message, err.detail);
  return new ApiError('failed', errorMessage(err));
}

export interface EngineDialogs {
  chooseFolder(title: string): Promise<string | null>;
  chooseSaveFile(req: SaveDialogRequest): Promise<string | null>;
  /** Opens a file or folder with the desktop's default application; true when it was opened. */
  openPath(path: string): Promise<boolean>;
}

export interface EngineApiOptions {
  /** Where preferences.json is kept (Electron's userData folder). */
  userDataDir: string;
  /** Native dialogs; absent in the loopback host, where chooseFolder/chooseSaveFile give null and openPath false. */
  dialogs?: EngineDialogs;
  /** The operating system's language (Electron: app.getLocale()); default the runtime's Intl locale. */
  systemLocale?: () => string;
  /**
   * The computer's drives, virtual ones included; default drivelist (Drives.listDrives). Only tests replace it, with a
   * listing shaped from recorded drivelist output (a loop device in place of a real drive).
   */
  listDrives?: () => Promise<DriveInfo[]>;
}

export type EngineMethods = Omit<TsMediaApi, 'onMediaEvent'>;

export interface EngineApi extends EngineMethods {
  /** Subscribes to every job's MediaEvents; returns the unsubscribe function. */
  onMediaEvent(listener: (e: MediaEvent) => void): () => void;
  /** Calls a method with arguments as a page sent them (any JSON): checked here, errors thrown as ApiError. */
  call(method: string, args: unknown): Promise<unknown>;
  /** Cancels running jobs and waits until they have ended. */
  close(): Promise<void>;
}

/** Where the Electron app keeps its user data (app.getPath('userData')); the loopback host uses the same folder. */
export function defaultUserDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'tsmedia');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'tsmedia');
  return join(env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config'), 'tsmedia');
}

// ---- Checking what a page sends ----------------------------------------------------------------------------------------

const MAX_TEXT = 32 * 1024;
const MAX_LIST = 1000;

function invalid(message: string, detail: ErrorDetail | null = null): never {
  throw new ApiError('invalid', message, detail);
}

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'string' ? 'text' : typeof v);

function text(v: unknown, what: string, options: { empty?: boolean } = {}): string {
  if (typeof v !== 'string') invalid(`${what} must be text, not ${describe(v)}.`);
  if (!options.empty && v.trim() === '') invalid(`${what} cannot be empty.`);
  if (v.length > MAX_TEXT) invalid(`${what} is too long (${v.length} characters).`);
  if (v.includes('\0')) invalid(`${what} cannot hold a NUL character.`);
  return v;
}

const textOrNull = (v: unknown, what: string): string | null => (v === null ? null : text(v, what, { empty: true }));

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') invalid(`${what} must be true or false, not ${describe(v)}.`);
  return v;
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) invalid(`${what} must be a whole number of bytes (0 or more).`);
  return v;
}

/** A full path: relative ones would depend on the folder the application was started from. */
function absPath(v: unknown, what: string): string {
  const p = text(v, what);
  if (!isAbsolute(p)) invalid(`${what} must be a full path (${p} is relative).`);
  return p;
}

const absPathOrNull = (v: unknown, what: string): string | null => (v === null || v === '' ? null : absPath(v, what));

/** A site as a page names it: a folder's full path, or a live site's https:// address. */
function siteRef(v: unknown, what: string): string {
  const p = text(v, what);
  if (isSiteUrl(p)) return p;
  if (!isAbsolute(p)) invalid(`${what} must be a full path or an https:// address (${p} is neither).`);
  return p;
}

const siteRefOrNull = (v: unknown, what: string): string | null => (v === null || v === '' ? null : siteRef(v, what));

function serverSiteRequest(v: unknown): OpenServerSiteRequest {
  const o = fields(v, 'openServerSite', ['address', 'user', 'password', 'trustThumbprint']);
  const user = textOrNull(o.user, 'openServerSite.user')?.trim() || null;
  const trustThumbprint = textOrNull(o.trustThumbprint, 'openServerSite.trustThumbprint')?.trim() || null;
  if (trustThumbprint !== null && !/^[0-9a-f:\s]+$/i.test(trustThumbprint)) invalid('openServerSite.trustThumbprint must be a certificate thumbprint (hexadecimal digits).');
  return { address: text(o.address, 'openServerSite.address').trim(), user, password: textOrNull(o.password, 'openServerSite.password'), trustThumbprint };
}

function textList(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) invalid(`${what} must be a list of text, not ${describe(v)}.`);
  if (v.length > MAX_LIST) invalid(`${what} has too many entries (${v.length}).`);
  return v.map((x, i) => text(x, `${what}[${i}]`));
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) invalid(`${what} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}.`);
  return v as T;
}

/** An object with exactly these fields (optional ones may be absent); an unknown field is refused, so typos show. */
function fields(v: unknown, what: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) invalid(`${what} must be an object, not ${describe(v)}.`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) invalid(`${what}: "${k}" is not a field of it.`);
  for (const k of required) if (!(k in o)) invalid(`${what}: field "${k}" is missing.`);
  return o;
}

const DISC_SIZES: readonly DiscSizeName[] = ['cd650', 'cd700', 'dvd', 'dvd-dl', 'unlimited'];
const MIN_DISC_BYTES = 64 * 1024 * 1024;

function discSize(v: unknown, what: string): DiscSizeName | number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < MIN_DISC_BYTES) invalid(`${what}: a custom size is a whole number of bytes, at least ${MIN_DISC_BYTES} (64 MiB).`);
    return v;
  }
  return oneOf(v, DISC_SIZES, what);
}

const BASE_FIELDS = [
  'site', 'taskSequenceId', 'distributionPoints', 'password', 'unattended', 'startDate', 'expireDate', 'label', 'autorun', 'i386Binaries', 'variables',
  'prestartCommand', 'prestartFiles', 'applications', 'packages', 'driverPackages', 'staging', 'detectDependencies', 'timestamp', 'skipVerify',
] as const;

function variables(v: unknown, what: string): MediaVariable[] {
  if (!Array.isArray(v)) invalid(`${what} must be a list of {"name", "value", "secret"}.`);
  if (v.length > MAX_LIST) invalid(`${what} has too many entries (${v.length}).`);
  return v.map((x, i) => {
    const o = fields(x, `${what}[${i}]`, ['name', 'value', 'secret']);
    return { name: text(o.name, `${what}[${i}].name`, { empty: true }), value: text(o.value, `${what}[${i}].value`, { empty: true }), secret: bool(o.secret, `${what}[${i}].secret`) };
  });
}

function baseRequest(o: Record<string, unknown>, what: string): MediaRequestBase {
  return {
    site: siteRefOrNull(o.site, `${what}.site`),
    taskSequenceId: text(o.taskSequenceId, `${what}.taskSequenceId`),
    distributionPoints: textList(o.distributionPoints, `${what}.distributionPoints`),
    password: o.password === null ? null : text(o.password, `${what}.password`, { empty: true }),
    unattended: bool(o.unattended, `${what}.unattended`),
    startDate: textOrNull(o.startDate, `${what}.startDate`),
    expireDate: textOrNull(o.expireDate, `${what}.expireDate`),
    label: text(o.label, `${what}.label`, { empty: true }),
    autorun: bool(o.autorun, `${what}.autorun`),
    i386Binaries: bool(o.i386Binaries, `${what}.i386Binaries`),
    variables: variables(o.variables, `${what}.variables`),
    prestartCommand: textOrNull(o.prestartCommand, `${what}.prestartCommand`),
    prestartFiles: absPathOrNull(o.prestartFiles, `${what}.prestartFiles`),
    applications: textList(o.applications, `${what}.applications`),
    packages: textList(o.packages, `${what}.packages`),
    driverPackages: textList(o.driverPackages, `${what}.driverPackages`),
    staging: absPathOrNull(o.staging, `${what}.staging`),
    detectDependencies: bool(o.detectDependencies, `${what}.detectDependencies`),
    timestamp: textOrNull(o.timestamp, `${what}.timestamp`),
    skipVerify: bool(o.skipVerify, `${what}.skipVerify`),
  };
}

function startRequest(v: unknown): StartMediaRequest {
  const top = fields(v, 'startMedia', ['kind', 'request'], ['dryRun']);
  const kind = oneOf(top.kind, ['iso', 'usb', 'refresh'] as const, 'startMedia.kind');
  if (kind !== 'refresh' && top.dryRun !== undefined) invalid('startMedia: "dryRun" goes with a refresh only.');
  if (kind === 'refresh') {
    const dryRun = bool(top.dryRun, 'startMedia.dryRun');
    const usb = startRequest({ kind: 'usb', request: top.request });
    if (usb.kind !== 'usb') invalid('startMedia.request must be a USB request.');
    if (usb.request.moreDrives !== undefined) invalid('request.moreDrives: a refresh writes one drive at a time.');
    if (usb.request.format) invalid('request.format must be false for a refresh: a refresh writes into the existing volume.');
    return { kind, request: usb.request, dryRun };
  }
  if (kind === 'iso') {
    const o = fields(top.request, 'startMedia.request', [...BASE_FIELDS, 'size', 'out']);
    const request: IsoMediaRequest = { ...baseRequest(o, 'request'), size: discSize(o.size, 'request.size'), out: absPath(o.out, 'request.out') };
    return { kind, request };
  }
  const o = fields(top.request, 'startMedia.request', [...BASE_FIELDS, 'target', 'format'], ['moreDrives']);
  const t = fields(o.target, 'request.target', ['kind'], ['device', 'showAll', 'confirmations', 'path', 'sizeBytes', 'replace']);
  const targetKind = oneOf(t.kind, ['drive', 'image'] as const, 'request.target.kind');
  let target: UsbMediaRequest['target'];
  if (targetKind === 'drive') {
    const d = fields(t, 'request.target', ['kind', 'device', 'showAll', 'confirmations']);
    target = { kind: 'drive', device: text(d.device, 'request.target.device'), showAll: bool(d.showAll, 'request.target.showAll'), confirmations: textList(d.confirmations, 'request.target.confirmations') };
  } else {
    const i = fields(t, 'request.target', ['kind', 'path', 'sizeBytes', 'replace']);
    target = { kind: 'image', path: absPath(i.path, 'request.target.path'), sizeBytes: count(i.sizeBytes, 'request.target.sizeBytes'), replace: absPathOrNull(i.replace, 'request.target.replace') };
  }
  const request: UsbMediaRequest = { ...baseRequest(o, 'request'), target, format: bool(o.format, 'request.format') };
  if (o.moreDrives !== undefined) {
    if (!Array.isArray(o.moreDrives) || o.moreDrives.length > MAX_LIST) invalid('request.moreDrives must be a list of drives {"kind": "drive", "device", "showAll", "confirmations"}.');
    request.moreDrives = o.moreDrives.map((x: unknown, i: number) => {
      const d = fields(x, `request.moreDrives[${i}]`, ['kind', 'device', 'showAll', 'confirmations']);
      oneOf(d.kind, ['drive'] as const, `request.moreDrives[${i}].kind`);
      return { kind: 'drive' as const, device: text(d.device, `request.moreDrives[${i}].device`), showAll: bool(d.showAll, `request.moreDrives[${i}].showAll`), confirmations: textList(d.confirmations, `request.moreDrives[${i}].confirmations`) };
    });
  }
  return { kind, request };
}

function checkRequest(v: unknown): MediaCheckRequest {
  const o = fields(v, 'checkMedia', ['taskSequenceId', 'detectDependencies', 'distributionPoints', 'applications', 'packages', 'driverPackages', 'media', 'size', 'i386Binaries']);
  return {
    taskSequenceId: text(o.taskSequenceId, 'checkMedia.taskSequenceId'),
    detectDependencies: bool(o.detectDependencies, 'checkMedia.detectDependencies'),
    distributionPoints: textList(o.distributionPoints, 'checkMedia.distributionPoints'),
    applications: textList(o.applications, 'checkMedia.applications'),
    packages: textList(o.packages, 'checkMedia.packages'),
    driverPackages: textList(o.driverPackages, 'checkMedia.driverPackages'),
    media: oneOf(o.media, ['iso', 'usb'] as const, 'checkMedia.media'),
    size: o.size === null ? null : discSize(o.size, 'checkMedia.size'),
    i386Binaries: bool(o.i386Binaries, 'checkMedia.i386Binaries'),
  };
}

function outputCheckRequest(v: unknown): OutputCheckRequest {
  const o = fields(v, 'checkOutput', ['path', 'kind', 'neededBytes']);
  return {
    // Any text: a relative path is the engine's to refuse, in words the page translates.
    path: text(o.path, 'checkOutput.path'),
    kind: oneOf(o.kind, ['iso', 'usb-image'] as const, 'checkOutput.kind'),
    neededBytes: o.neededBytes === null ? null : count(o.neededBytes, 'checkOutput.neededBytes'),
  };
}

function saveDialogRequest(v: unknown): SaveDialogRequest {
  const o = fields(v, 'chooseSaveFile', ['title', 'defaultPath', 'filters']);
  if (!Array.isArray(o.filters) || o.filters.length > 20) invalid('chooseSaveFile.filters must be a list of {"name", "extensions"}.');
  return {
    title: text(o.title, 'chooseSaveFile.title', { empty: true }),
    defaultPath: o.defaultPath === null ? null : text(o.defaultPath, 'chooseSaveFile.defaultPath'),
    filters: o.filters.map((f: unknown, i: number) => {
      const x = fields(f, `chooseSaveFile.filters[${i}]`, ['name', 'extensions']);
      const extensions = textList(x.extensions, `chooseSaveFile.filters[${i}].extensions`);
      for (const e of extensions) if (!/^(\*|[A-Za-z0-9_-]{1,16})$/.test(e)) invalid(`chooseSaveFile.filters[${i}].extensions: "${e}" is not an extension (letters and digits, no dot).`);
      return { name: text(x.name, `chooseSaveFile.filters[${i}].name`), extensions };
    }),
  };
}

/** How many arguments each method takes (a call with another number is refused). */
const ARITY: Record<ApiMethod, number> = {
  getSiteInfo: 0,
  openSite: 1,
  openServerSite: 1,
  listSequences: 0,
  analyze: 1,
  catalog: 0,
  listDrives: 1,
  readDriveMedia: 1,
  checkMedia: 1,
  checkOutput: 1,
  startMedia: 1,
  cancelMedia: 1,
  cancelDrive: 2,
  saveAnswerFile: 2,
  chooseFolder: 1,
  chooseSaveFile: 1,
  openPath: 1,
  getPreferences: 0,
  setPreferences: 1,
  systemLocale: 0,
};

// ---- Preferences ------------------------------------------------------------------------------------------------------

const DEFAULT_PREFERENCES: Preferences = { language: null, lastSite: null };
const LANGUAGES = ['en', 'es'] as const;

function readPreferences(file: string): Preferences {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    return {
      language: LANGUAGES.find((l) => l === raw.language) ?? null,
      lastSite: typeof raw.lastSite === 'string' && (isAbsolute(raw.lastSite) || isSiteUrl(raw.lastSite)) ? raw.lastSite : null,
    };
  } catch {
    // Absent or damaged: the defaults (the file is rewritten on the next change).
    return { ...DEFAULT_PREFERENCES };
  }
}

/** Writes a file whole or not at all: a temporary file beside it, then a rename. */
function writeAtomically(file: string, data: string): void {
  const temp = join(dirname(file), `.${Date.now().toString(36)}-${randomUUID().slice(0, 8)}.tmp`);
  writeFileSync(temp, data, { mode: 0o600 });
  renameSync(temp, file);
}

// ---- The API ----------------------------------------------------------------------------------------------------------

interface OpenSite {
  site: Site;
  isSample: boolean;
}

interface Job {
  controller: AbortController;
  /** A several-drive run: one controller per drive, for the wizard's per-drive Cancel. */
  drives: Map<string, AbortController>;
  done: Promise<void>;
}

export function createEngineApi(options: EngineApiOptions): EngineApi {
  const prefsFile = join(options.userDataDir, 'preferences.json');
  let prefs = readPreferences(prefsFile);
  const savePreferences = (): void => {
    mkdirSync(options.userDataDir, { recursive: true });
    writeAtomically(prefsFile, `${JSON.stringify(prefs, null, 2)}\n`);
  };

  // ---- Live sites: how this session signs in to each server (host:port). Kept in memory only, so a site opened with a
  // typed password can be read again (a media run, a reload) until the application ends; never stored, never logged.
  const signIns = new Map<string, SignIn>();
  const trust = TrustedServers.inDir(options.userDataDir);
  /**
   * The sign-in for a server: the one given this session, else the user's own (Negotiate): the Windows logon, or
   * elsewhere a Kerberos ticket (kinit) when there is one.
   */
  const sessionSignIn = async (server: string): Promise<SignIn> => signIns.get(server) ?? { kind: 'negotiate' };
  /** Off Windows, an own-account sign-in that failed (no ticket, no kerberos module) asks for a user name instead. */
  const asSignInNeeded = (err: unknown): unknown => {
    if (process.platform === 'win32' || !(err instanceof InputError) || err.code !== 'SITE_SIGN_IN_FAILED' || err.params?.user !== '') return err;
    const server = String(err.params.server ?? '');
    return codedInputError('SITE_SIGN_IN_NEEDED', { server }, `${server} needs a sign-in: give a user name (DOMAIN\\user) and its password. (Without one, tsmedia signs in with your own account: on Windows, or with a Kerberos ticket from kinit; ${err.message})`);
  };
  const liveContext = (signIn: LiveSiteContext['signIn'] = sessionSignIn, trustThumbprint: string | null = null): LiveSiteContext => ({ signIn, trust, trustThumbprint });
  /** A folder, a folder whose descriptor names an administration service, or a service's address. */
  const openAt = (spec: string): Promise<Site> =>
    openSiteAt(spec, liveContext()).catch((err: unknown) => {
      throw asSignInNeeded(err);
    });

  // ---- The site: the last one opened, else the sample site.
  let current: Promise<OpenSite> | null = null;
  const openSample = async (): Promise<OpenSite> => {
    const sample = sampleSitePath();
    if (!existsSync(sample)) throw new InputError(`the bundled sample site is missing (${sample}). Run "npm run build" to generate it, or open a site folder.`);
    return { site: await Site.open(sample), isSample: true };
  };
  const site = (): Promise<OpenSite> => {
    if (!current) {
      const last = prefs.lastSite;
      // A live site opens again at start-up only where no password is typed (Windows: the user's own account);
      // elsewhere the sign-in was this session's only, and the sample site opens until the user signs in again.
      const reopen = last && (!isSiteUrl(last) || process.platform === 'win32');
      current = (reopen ? openAt(last).then((s) => ({ site: s, isSample: false }), () => openSample()) : openSample()).catch((err: unknown) => {
        current = null;
        throw err;
      });
    }
    return current;
  };
  /** Whether a media request's `site` names this site (the same folder, or the same service's address). */
  const sameSite = (ref: string, s: Site): boolean => {
    if (!isSiteUrl(ref)) return resolve(ref) === s.root;
    try {
      return parseSiteAddress(ref).base.toLowerCase() === s.root.toLowerCase();
    } catch {
      return false;
    }
  };
  /** The site a media request names: the open one when it is the same, else opened for this run. */
  const siteFor = async (ref: string | null): Promise<Site> => {
    const open = await site().catch(() => null);
    if (open && (ref === null ? open.isSample : sameSite(ref, open.site))) return open.site;
    return ref === null ? (await openSample()).site : openAt(ref);
  };
  const liveInfo = (s: Site): SiteInfo['live'] => {
    const address = s.descriptor?.adminService;
    if (!address) return null;
    const server = parseSiteAddress(address).server;
    const signIn = signIns.get(server);
    return { address, server, user: signIn?.kind === 'ntlm' ? signIn.user : null };
  };
  const info = ({ site: s, isSample }: OpenSite): SiteInfo => ({
    root: s.root,
    isSample,
    siteCode: s.siteCode,
    siteName: s.descriptor?.siteName ?? null,
    centralAdministrationSite: s.isCentralAdministrationSite,
    distributionPoints: s.distributionPoints.map((d) => ({ name: d.name, error: d.error })),
    taskSequences: s.taskSequences.length,
    osdBinaries: summarizeOsdBinaries(s.osdBinaries),
    live: liveInfo(s),
  });
  const allDrives = options.listDrives ?? (() => listDrives({ showAll: true }));

  // ---- Media jobs and their events.
  const listeners = new Set<(e: MediaEvent) => void>();
  const emit = (e: MediaEvent): void => {
    for (const l of [...listeners]) {
      try {
        l(e);
      } catch {
        // A listener's failure (a closed window, a dropped connection) never stops a job.
      }
    }
  };
  const jobs = new Map<string, Job>();
  /** Files this session wrote or reported, and their folders: the only paths openPath opens. */
  const openable = new Set<string>();
  const allowOpen = (...paths: string[]): void => {
    for (const p of paths) {
      openable.add(resolve(p));
      openable.add(dirname(resolve(p)));
    }
  };

  const runJob = async (jobId: string, req: StartMediaRequest, s: Site, job: Job): Promise<void> => {
    // Every event of the job, the last one too, keeps the engine's pace: never more than four in any second.
    const events = new EventPacer<MediaEvent>(emit);
    const onProgress = (progress: MediaProgress): void => events.push({ jobId, type: 'progress', progress }, `progress:${progress.phase}`);
    try {
      await runMedia(jobId, req, s, job, onProgress, (e) => events.push(e, null));
    } finally {
      // The job ends (and a new one may start) once its last event has gone out.
      await events.drained();
    }
  };

  const runMedia = async (jobId: string, req: StartMediaRequest, s: Site, job: Job, onProgress: (p: MediaProgress) => void, emit: (e: MediaEvent) => void): Promise<void> => {
    const signal = job.controller.signal;
    try {
      let result: MediaResultSummary;
      if (req.kind === 'refresh') {
        const r = await refreshUsbMedia(s, req.request, { signal, onProgress, listDrives: allDrives, dryRun: req.dryRun });
        result = {
          kind: 'refresh',
          outputs: r.written ? [{ path: r.target, bytes: r.bytesWritten, sha256: null }] : [],
          verified: r.verified,
          reportFiles: r.reportFiles,
          logFiles: r.logFiles,
          mediaGuid: r.manifest.mediaGuid,
          start: r.start,
          refresh: { changes: r.changes, written: r.written, bytesWritten: r.bytesWritten },
        };
      } else if (req.kind === 'iso') {
        const r = await createIsoSet(s, req.request, { signal, onProgress });
        result = { kind: 'iso', outputs: r.discs.map((d) => ({ path: d.path, bytes: d.bytes, sha256: d.sha256 })), verified: r.verified, reportFiles: r.reportFiles, logFiles: r.logFiles, mediaGuid: r.mediaGuid, start: r.start };
      } else {
        const r = await createUsbMedia(s, req.request, { signal, onProgress, listDrives: allDrives, driveSignal: (device) => job.drives.get(device)?.signal });
        result = { kind: 'usb', outputs: [{ path: r.target, bytes: r.bytesWritten, sha256: null }], verified: r.verified, reportFiles: r.reportFiles, logFiles: r.logFiles, mediaGuid: r.mediaGuid, start: r.start };
        if (r.drives) {
          // Several drives: each written drive is an output, and every drive's own ending goes to the Completion page.
          result.outputs = r.drives.filter((d) => d.status === 'written').map((d) => ({ path: d.device, bytes: d.bytesWritten, sha256: null }));
          result.drives = r.drives.map((d) => ({ ...d }));
        }
      }
      allowOpen(...result.outputs.map((o) => o.path).filter((p) => isAbsolute(p) && !p.startsWith('/dev/') && !p.startsWith('\\\\.\\')), ...result.reportFiles, ...result.logFiles);
      // The job is gone before its last event goes out: a page that starts the next run on it is not refused.
      jobs.delete(jobId);
      emit({ jobId, type: 'done', result });
    } catch (err) {
      jobs.delete(jobId);
      const e = toApiError(err);
      if (e.code === 'cancelled' && req.kind === 'refresh') {
        emit({
          jobId,
          type: 'error',
          code: e.code,
          message: req.dryRun ? 'Cancelled: nothing was written.' : 'Cancelled: the drive holds the old media, the new media, or an interrupted refresh that the next refresh finishes or rolls back by itself.',
          detail: { code: req.dryRun ? 'REFRESH_PLAN_CANCELLED' : 'REFRESH_CANCELLED', params: { target: req.request.target.kind === 'drive' ? req.request.target.device : req.request.target.path } },
        });
      } else if (e.code === 'cancelled') emit({ jobId, type: 'error', code: e.code, message: 'Cancelled: nothing was replaced and the partial files were removed.' });
      else emit({ jobId, type: 'error', ...e.toReply() });
    }
  };

  const methods: EngineMethods = {
    async getSiteInfo() {
      return info(await site());
    },

    async openSite(path: unknown) {
      const dir = path === null ? null : absPath(path, 'openSite: the site folder');
      // A folder whose tsmedia-site.json names an administration service signs in as this session did to that server.
      const opened: OpenSite = dir === null ? await openSample() : { site: await openAt(dir), isSample: false };
      current = Promise.resolve(opened);
      prefs = { ...prefs, lastSite: opened.isSample ? null : opened.site.root };
      savePreferences();
      return info(opened);
    },

    async openServerSite(raw: unknown) {
      const req = serverSiteRequest(raw);
      const address = parseSiteAddress(req.address);
      let signIn: SignIn;
      if (req.user !== null) {
        if (!req.password) throw codedInputError('SITE_SIGN_IN_NEEDED', { server: address.server, user: req.user }, `${address.server}: give the password of ${req.user}.`);
        signIn = { kind: 'ntlm', user: req.user, password: req.password };
      } else {
        // No user typed: the one this session signed in with, else Windows' own account, else a request for one.
        signIn = await sessionSignIn(address.server);
      }
      const s = await openSiteAt(address.base, liveContext(async () => signIn, req.trustThumbprint)).catch((err: unknown) => {
        throw asSignInNeeded(err);
      });
      // Remembered once it worked: a wrong password is not kept for the next read.
      if (signIn.kind === 'ntlm') signIns.set(address.server, signIn);
      const opened: OpenSite = { site: s, isSample: false };
      current = Promise.resolve(opened);
      prefs = { ...prefs, lastSite: s.root };
      savePreferences();
      return info(opened);
    },

    async listSequences(): Promise<SequenceSummary[]> {
      return summarizeSequences((await site()).site);
    },

    async analyze(req: unknown): Promise<AnalysisResult> {
      const o = fields(req, 'analyze', ['taskSequenceId', 'detectDependencies']);
      const r: AnalyzeRequest = { taskSequenceId: text(o.taskSequenceId, 'analyze.taskSequenceId'), detectDependencies: bool(o.detectDependencies, 'analyze.detectDependencies') };
      const s = (await site()).site;
      const ts = s.taskSequence(r.taskSequenceId);
      if (!ts) invalid(`task sequence ${r.taskSequenceId} is not in the site ${s.root} (it holds: ${s.taskSequences.map((t) => t.packageId).filter(Boolean).join(', ') || 'none'}).`);
      return analyzeForMedia(s, ts, { detectDependencies: r.detectDependencies });
    },

    async catalog(): Promise<CatalogItem[]> {
      return buildCatalog((await site()).site);
    },

    async listDrives(req: unknown): Promise<ListedDrive[]> {
      const o = fields(req, 'listDrives', ['showAll', 'neededBytes']);
      const r: DriveListRequest = { showAll: bool(o.showAll, 'listDrives.showAll'), neededBytes: count(o.neededBytes, 'listDrives.neededBytes') };
      const paths = sourceFolders((await site()).site);
      const drives = (await allDrives()).filter((d) => r.showAll || !d.isVirtual);
      return drives
        .map((drive) => ({ drive, evaluation: evaluateDrive(drive, { neededBytes: r.neededBytes, sourcePaths: paths, showAll: r.showAll }) }))
        .filter((d) => !d.evaluation.hidden);
    },

    async readDriveMedia(req: unknown): Promise<ExistingMedia> {
      const o = fields(req, 'readDriveMedia', ['device', 'showAll']);
      const r: DriveMediaRequest = { device: text(o.device, 'readDriveMedia.device'), showAll: bool(o.showAll, 'readDriveMedia.showAll') };
      // Read only, and only a drive the list offers (never a path the page makes up): any failure is "not tsmedia media".
      const open = await site().catch(() => null);
      return readDriveMedia(r.device, await allDrives(), { showAll: r.showAll, sourcePaths: open ? sourceFolders(open.site) : [] });
    },

    async checkMedia(req: unknown): Promise<MediaCheck> {
      const r = checkRequest(req);
      return checkMedia((await site()).site, r);
    },

    async checkOutput(req: unknown): Promise<OutputCheck> {
      const r = outputCheckRequest(req);
      // The open site, for the rule that no output goes inside what the media is made from; without one, the rest.
      const open = await site().catch(() => null);
      return checkOutputFile(r.path, r.kind, r.neededBytes, open?.site ?? null);
    },

    async startMedia(raw: unknown): Promise<{ jobId: string }> {
      const req = startRequest(raw);
      const running = [...jobs.keys()];
      if (running.length > 0) invalid(`a media run is in progress (job ${running[0]}); wait for it to end or cancel it first.`);
      // What can be checked before a byte is read is checked now, so the page gets the sentence as the call's error.
      if (req.kind === 'iso') validateRequest(req.request);
      else validateBaseRequest(req.request);
      const s = await siteFor(req.request.site);
      // The engine's own rules, as createIsoSet and createUsbMedia apply them again: the page's word is not enough.
      if (req.kind === 'iso') refuseInsideSources(req.request.out, s, `--out ${req.request.out}`);
      else if (req.kind === 'refresh') {
        // A refresh writes into the volume the drive (or image) holds; a dry run writes nothing and needs no confirmation.
        const t = req.request.target;
        if (t.kind === 'drive') checkDriveChoice(req.dryRun ? { ...t, confirmations: [t.device, t.device, t.device] } : t, await allDrives(), { neededBytes: 0, sourcePaths: sourceFolders(s) });
        else refuseInsideSources(t.path, s, `the image ${t.path}`);
      }
      else if (req.request.target.kind === 'image') checkImageTarget(req.request.target, req.request.format, s);
      else {
        // Every drive of a several-drive run is judged and confirmed as one drive is (batchDrives refuses a drive
        // chosen twice, and several drives without formatting).
        const targets = req.request.moreDrives && req.request.moreDrives.length > 0 ? batchDrives(req.request) : [req.request.target];
        const listed = await allDrives();
        for (const d of targets) checkDriveChoice(d, listed, { neededBytes: 0, sourcePaths: sourceFolders(s) });
      }
      // Checked again after the awaits above: two calls must not both pass while the first one was looking.
      if (jobs.size > 0) invalid(`a media run is in progress (job ${[...jobs.keys()][0]}); wait for it to end or cancel it first.`);
      const jobId = randomUUID();
      const controller = new AbortController();
      const drives = new Map<string, AbortController>();
      if (req.kind === 'usb' && req.request.moreDrives && req.request.moreDrives.length > 0) {
        for (const d of [req.request.target, ...req.request.moreDrives]) if (d.kind === 'drive') drives.set(d.device, new AbortController());
      }
      const job: Job = { controller, drives, done: Promise.resolve() };
      jobs.set(jobId, job);
      // Started on the next turn, so the caller has the job's ID before its first event.
      job.done = new Promise<void>((ok) => setImmediate(ok))
        .then(() => runJob(jobId, req, s, job))
        .finally(() => jobs.delete(jobId));
      return { jobId };
    },

    async cancelMedia(jobId: unknown): Promise<void> {
      const id = text(jobId, 'cancelMedia: the job ID');
      // A job that has just ended is not an error: the page learns how it ended from its events.
      jobs.get(id)?.controller.abort();
    },

    async cancelDrive(jobId: unknown, device: unknown): Promise<void> {
      const id = text(jobId, 'cancelDrive: the job ID');
      const dev = text(device, 'cancelDrive: the device');
      const job = jobs.get(id);
      // A job that has just ended is not an error (as cancelMedia); a drive the running job does not write is.
      if (!job) return;
      const c = job.drives.get(dev);
      if (!c) invalid(`cancelDrive: job ${id} writes ${job.drives.size > 0 ? `only ${[...job.drives.keys()].join(', ')}` : 'one drive: cancel the whole run instead'}; ${dev} is not one of its drives.`);
      c.abort();
    },

    async saveAnswerFile(path: unknown, answers: unknown): Promise<void> {
      const file = absPath(path, 'saveAnswerFile: the file');
      if (extname(file).toLowerCase() !== '.json') invalid(`saveAnswerFile: ${file}: an answer file is a .json file.`);
      const problem = answerFileProblem(answers);
      if (problem) invalid(`saveAnswerFile: ${problem}`);
      const dir = dirname(file);
      if (!existsSync(dir) || !statSync(dir).isDirectory()) invalid(`saveAnswerFile: the folder ${dir} does not exist.`, { code: 'OUTPUT_FOLDER_MISSING', params: { folder: dir, path: file } });
      if (existsSync(file) && statSync(file).isDirectory()) invalid(`saveAnswerFile: ${file} is a folder.`);
      try {
        writeAtomically(file, `${JSON.stringify(answers as AnswerFile, null, 2)}\n`);
      } catch (err) {
        throw new ApiError('failed', `saveAnswerFile: ${file}: ${errorMessage(err)}`);
      }
      allowOpen(file);
    },

    async chooseFolder(title: unknown): Promise<string | null> {
      const t = text(title, 'chooseFolder: the title', { empty: true });
      return options.dialogs ? options.dialogs.chooseFolder(t) : null;
    },

    async chooseSaveFile(req: unknown): Promise<string | null> {
      const r = saveDialogRequest(req);
      return options.dialogs ? options.dialogs.chooseSaveFile(r) : null;
    },

    async openPath(path: unknown): Promise<boolean> {
      const p = resolve(absPath(path, 'openPath: the path'));
      if (!options.dialogs) return false;
      if (!openable.has(p)) invalid(`openPath opens only the media, reports, logs and answer files this session wrote (and their folders); ${p} is not one of them.`);
      return options.dialogs.openPath(p);
    },

    async getPreferences(): Promise<Preferences> {
      return { ...prefs };
    },

    async setPreferences(p: unknown): Promise<Preferences> {
      const o = fields(p, 'setPreferences', [], ['language', 'lastSite']);
      const next: Preferences = { ...prefs };
      if ('language' in o) next.language = o.language === null ? null : oneOf(o.language, LANGUAGES, 'setPreferences.language');
      if ('lastSite' in o) next.lastSite = o.lastSite === null ? null : siteRef(o.lastSite, 'setPreferences.lastSite');
      prefs = next;
      savePreferences();
      return { ...prefs };
    },

    async systemLocale(): Promise<string> {
      return options.systemLocale?.() ?? Intl.DateTimeFormat().resolvedOptions().locale;
    },
  };

  // Every method with its errors as ApiError.
  const guarded = {} as Record<ApiMethod, (...args: unknown[]) => Promise<unknown>>;
  for (const m of API_METHODS) {
    const fn = methods[m] as (...args: unknown[]) => Promise<unknown>;
    guarded[m] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toApiError(err);
      }
    };
  }

  return {
    ...(guarded as unknown as EngineMethods),
    onMediaEvent(listener) {
      if (typeof listener !== 'function') invalid('onMediaEvent needs a function.');
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async call(method, args) {
      if (typeof method !== 'string' || !isApiMethod(method)) invalid(`"${String(method)}" is not a method of the API.`);
      if (!Array.isArray(args)) invalid(`${method}: the arguments must be a list.`);
      if (args.length !== ARITY[method]) invalid(`${method} takes ${ARITY[method]} argument(s), not ${args.length}.`);
      return guarded[method](...(args as unknown[]));
    },
    async close() {
      for (const j of jobs.values()) j.controller.abort();
      await Promise.all([...jobs.values()].map((j) => j.done));
      listeners.clear();
    },
  };
}
