// `tsmedia create`: the wizard's choices as options (following the console's pages and New-CMStandaloneMedia), or
// read from an answer file. Passwords and secret values come from files or the environment, never the command line.
import { readFileSync } from 'node:fs';
import { readSecretFile } from './secretFile.js';
import { isSiteUrl } from '../engine/site/live/SiteAddress.js';
import { SITE_OPTIONS, siteArgsOf, siteSpecOf, type SiteArgs } from './siteOptions.js';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ANSWERS_FORMAT, answerFileProblem, type AnswerFile } from '../../shared/answers.js';
import type { IsoMediaRequest, MediaProgress, MediaStart, MediaVariable, UsbDriveTarget, UsbMediaRequest } from '../../shared/media.js';
import { DEFAULT_MEDIA_LABEL, DISC_SIZE_LABELS, parseDiscSize } from '../../shared/media.js';
import { InputError, codedInputError, describeFsError } from '../engine/errors.js';
import { CancelledError } from '../engine/io/ImageWriter.js';
import { describePlace, type OutputVolume } from '../engine/io/OutputVolume.js';
import type { PlanSummary } from '../engine/media/MediaBuilder.js';
import { confirmationTimes, evaluateDrive, formatDriveSize, type DriveInfo } from '../../shared/drives.js';
import { findDrive, listDrives } from '../engine/drives/Drives.js';
import { sameDriveName } from '../engine/drives/DriveAccess.js';
import { sourceFolders } from '../engine/media/OutputPlace.js';
import type { Site } from '../engine/site/Site.js';
import { prepareMediaKeyPair } from '../engine/media/TsEnvironment.js';
import { formatBytes } from './format.js';


/** How the administrator starts the media just made. */
function startLine(s: MediaStart): string {
  const fromWindows = s.tsmbAutorun ? `in the running Windows, open the media and run ${s.tsmbAutorun} (autorun.inf, where written, opens it from a CD/DVD)` : null;
  if (s.startsFrom === 'windows') return `start: ${fromWindows ?? 'from the running Windows, which these media cannot do: they carry no OSD binaries'}${s.scenario ? ` (${s.scenario})` : ''}`;
  if (s.startsFrom === 'boot') return `start: boot the computer from the media${s.scenario ? ` (${s.scenario})` : ''}`;
  return `start: boot the computer from the media${fromWindows ? `, or ${fromWindows}` : ''}`;
}
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  isTty: boolean;
}

const OPTIONS = {
  ...SITE_OPTIONS,
  'task-sequence': { type: 'string' },
  media: { type: 'string' },
  size: { type: 'string' },
  out: { type: 'string' },
  dp: { type: 'string', multiple: true },
  'password-file': { type: 'string' },
  'password-env': { type: 'string' },
  unattended: { type: 'boolean' },
  start: { type: 'string' },
  expire: { type: 'string' },
  label: { type: 'string' },
  autorun: { type: 'boolean' },
  'i386-binaries': { type: 'boolean' },
  var: { type: 'string', multiple: true },
  'secret-var': { type: 'string', multiple: true },
  prestart: { type: 'string' },
  'prestart-files': { type: 'string' },
  application: { type: 'string', multiple: true },
  package: { type: 'string', multiple: true },
  'driver-package': { type: 'string', multiple: true },
  staging: { type: 'string' },
  answers: { type: 'string' },
  json: { type: 'boolean' },
  'no-dependencies': { type: 'boolean' },
  'no-verify': { type: 'boolean' },
  timestamp: { type: 'string' },
  drive: { type: 'string', multiple: true },
  image: { type: 'string' },
  'image-size': { type: 'string' },
  'no-format': { type: 'boolean' },
  'yes-erase': { type: 'string', multiple: true },
  all: { type: 'boolean' },
  replace: { type: 'string' },
} as const;

function splitPair(text: string, option: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new InputError(`${option} "${text}": expected NAME=VALUE.`);
  return [text.slice(0, i), text.slice(i + 1)];
}

export function readAnswerFile(path: string): AnswerFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8').replace(/^\ufeff/, ''));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code) throw new InputError(`--answers: ${describeFsError(err, path)}`);
    throw new InputError(`${path}: not valid JSON (${(err as Error).message}).`);
  }
  const problem = answerFileProblem(raw);
  if (problem) throw new InputError(`${path}: ${problem}`);
  return raw as AnswerFile;
}

export interface ParsedCreate {
  site: string | undefined;
  siteArgs: SiteArgs;
  media: 'iso' | 'usb';
  request: IsoMediaRequest;
  usb: UsbMediaRequest | null;
  json: boolean;
}

function parseBytes(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(|B|K|KiB|M|MiB|G|GiB|T|TiB|KB|MB|GB|TB)$/i.exec(text.trim());
  if (!m) throw new InputError(`${option} "${text}": give bytes, or a number with KiB, MiB, GiB (e.g. 16GiB) or KB, MB, GB.`);
  const unit = m[2].toUpperCase();
  const mult: Record<string, number> = { '': 1, B: 1, K: 1024, KIB: 1024, M: 1024 ** 2, MIB: 1024 ** 2, G: 1024 ** 3, GIB: 1024 ** 3, T: 1024 ** 4, TIB: 1024 ** 4, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
  return Math.floor(Number(m[1]) * mult[unit]);
}

/** Builds the request from the answer file (if any) overridden by the options given. */
export function parseCreateArgs(args: string[]): ParsedCreate {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true });
  } catch (err) {
    throw new InputError(`${(err as Error).message.replace(/\. To specify.*$/s, '.')}\nRun "tsmedia help" for usage.`);
  }
  const v = parsed.values;
  const a: AnswerFile = v.answers ? readAnswerFile(v.answers) : { format: ANSWERS_FORMAT };
  // Paths in an answer file are relative to it.
  const base = v.answers ? dirname(resolve(v.answers)) : process.cwd();
  const rel = (p: string | null | undefined): string | null => (p ? (isAbsolute(p) ? p : resolve(base, p)) : null);

  const media = v.media ?? a.media ?? 'iso';
  if (media !== 'iso' && media !== 'usb') throw new InputError(`--media must be "iso" or "usb", not "${media}".`);
  const tsId = v['task-sequence'] ?? a.taskSequence;
  if (!tsId) throw new InputError('create needs --task-sequence ID (see "tsmedia sequences").');
  const sizeText = v.size ?? a.size ?? 'unlimited';
  const size = parseDiscSize(sizeText);
  if (size === null) throw new InputError(`--size "${sizeText}": use ${Object.keys(DISC_SIZE_LABELS).join(', ')} or a size in bytes (at least 64 MiB).`);
  const out = v.out ?? rel(a.out);
  if (media === 'iso' && !out) throw new InputError('create --media iso needs --out PATH.iso (the first disc\'s file).');
  if (media === 'usb' && !v.drive?.length === !v.image) throw new InputError('create --media usb needs --drive DEVICE or --image FILE --image-size BYTES (one of them).');
  if (media === 'iso' && (v.drive || v.image)) throw new InputError('--drive and --image go with --media usb.');
  if (v.replace !== undefined && !v.image) throw new InputError('--replace FILE goes with --image FILE: it confirms that the existing image file may be replaced.');
  if ((v['yes-erase'] || v.all) && !v.drive) throw new InputError('--yes-erase and --all go with --drive DEVICE.');

  // The password's source given on the command line (either option) replaces the answer file's (either field).
  let password: string | null = null;
  const pwOnCli = v['password-file'] !== undefined || v['password-env'] !== undefined;
  if (v['password-file'] !== undefined && v['password-env'] !== undefined) throw new InputError('give --password-file or --password-env, not both.');
  // An empty value would silently drop the answer file's password: leave the option out instead.
  for (const o of ['password-file', 'password-env'] as const) if (v[o] === '') throw new InputError(`--${o} is empty: name the ${o === 'password-file' ? 'file' : 'environment variable'} that holds the password, or leave the option out.`);
  const pwFile = pwOnCli ? v['password-file'] : rel(a.passwordFile);
  const pwEnv = pwOnCli ? v['password-env'] : a.passwordEnv;
  if (pwFile && pwEnv) throw new InputError(`${v.answers}: give "passwordFile" or "passwordEnv", not both.`);
  if (pwFile) password = readSecretFile(pwFile, '--password-file');
  if (pwEnv) {
    const val = process.env[pwEnv];
    if (!val) throw new InputError(`--password-env ${pwEnv}: that environment variable is not set or empty.`);
    password = val;
  }

  // A variable named on the command line (--var or --secret-var) replaces the answer file's variable of that name,
  // plain or secret (names are case-insensitive, as in the task sequence); the answer file's secret file is then not read.
  const cliVars: MediaVariable[] = [];
  for (const t of v.var ?? []) {
    const [name, value] = splitPair(t, '--var');
    cliVars.push({ name, value, secret: false });
  }
  for (const t of v['secret-var'] ?? []) {
    const [name, ref] = splitPair(t, '--secret-var');
    if (!ref.startsWith('@')) throw new InputError(`--secret-var ${name}: give the value as @FILE (its first line), never on the command line.`);
    cliVars.push({ name, value: readSecretFile(ref.slice(1), `--secret-var ${name}`), secret: true });
  }
  const onCli = new Set(cliVars.map((x) => x.name.toLowerCase()));
  const variables: MediaVariable[] = [];
  for (const x of a.variables ?? []) if (!onCli.has(x.name.toLowerCase())) variables.push({ name: x.name, value: x.value, secret: false });
  for (const x of a.secretVariables ?? []) {
    if (!onCli.has(x.name.toLowerCase())) variables.push({ name: x.name, value: readSecretFile(rel(x.file) as string, `secret variable ${x.name}`), secret: true });
  }
  variables.push(...cliVars);

  const request: IsoMediaRequest = {
    site: siteSpecOf(v.site, siteArgsOf(v)) ?? (typeof a.site === 'string' && isSiteUrl(a.site) ? a.site : rel(a.site)),
    taskSequenceId: tsId,
    size,
    out: out ?? '',
    distributionPoints: v.dp ?? a.distributionPoints ?? [],
    password,
    unattended: v.unattended ?? a.unattended ?? false,
    startDate: v.start ?? a.startDate ?? null,
    expireDate: v.expire ?? a.expireDate ?? null,
    label: v.label ?? a.label ?? DEFAULT_MEDIA_LABEL,
    autorun: v.autorun ?? a.autorun ?? false,
    i386Binaries: v['i386-binaries'] ?? a.i386Binaries ?? false,
    variables,
    prestartCommand: v.prestart ?? a.prestartCommand ?? null,
    prestartFiles: v['prestart-files'] ?? rel(a.prestartFiles),
    applications: v.application ?? a.applications ?? [],
    packages: v.package ?? a.packages ?? [],
    driverPackages: v['driver-package'] ?? a.driverPackages ?? [],
    staging: v.staging ?? rel(a.staging),
    detectDependencies: v['no-dependencies'] ? false : (a.detectDependencies ?? true),
    timestamp: v.timestamp ?? null,
    skipVerify: v['no-verify'] ?? false,
  };
  let usb: UsbMediaRequest | null = null;
  if (media === 'usb') {
    const { size: _size, out: _out, ...base } = request;
    // Each --yes-erase is one confirmation, naming the drive it is given for: the engine counts them (DriveChoice).
    // Several --drive: one run writes them all from one read; each drive counts the --yes-erase naming it.
    const drives = (v.drive ?? []).map((device): UsbDriveTarget => ({ kind: 'drive', device, showAll: v.all ?? false, confirmations: (v['yes-erase'] ?? []).filter((d) => sameDriveName(d, device)) }));
    const target: UsbMediaRequest['target'] = drives.length
      ? drives[0]
      : { kind: 'image', path: resolve(v.image as string), sizeBytes: v['image-size'] ? parseBytes(v['image-size'], '--image-size') : 0, replace: v.replace ? resolve(v.replace) : null };
    usb = { ...base, target, format: !v['no-format'], ...(drives.length > 1 ? { moreDrives: drives.slice(1) } : {}) };
    if (drives.length > 1 && v['no-format']) throw new InputError('several --drive are always formatted: --no-format adds files to one drive\'s volume; write those drives one at a time.');
    if (target.kind === 'image' && usb.format && !v['image-size']) throw new InputError('--image needs --image-size BYTES (the size of the drive it stands for), unless --no-format adds to an existing image.');
  }
  // Either name of a drive confirms it (macOS: diskN or rdiskN; Windows: any case).
  const chosen = v.drive ?? [];
  const other = (v['yes-erase'] ?? []).find((d) => !chosen.some((c) => sameDriveName(d, c)));
  if (other !== undefined) throw new InputError(`--yes-erase names ${other}, but the drive${chosen.length > 1 ? 's' : ''} to write ${chosen.length > 1 ? 'are' : 'is'} ${chosen.join(', ') || 'none'}: confirm the drive you chose.`);
  return { site: request.site ?? undefined, siteArgs: siteArgsOf(v), media, request, usb, json: v.json ?? false };
}

const PHASE_WORDS: Record<MediaProgress['phase'], string> = { plan: 'planning', write: 'writing', verify: 'reading back to verify', finalize: 'finishing', done: 'done' };

function progressLine(p: MediaProgress): string {
  const pct = p.bytesTotal > 0 ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 0;
  const speed = p.bytesPerSecond > 0 ? `${formatBytes(p.bytesPerSecond)}/s` : '';
  const eta = p.etaSeconds !== null && p.bytesDone < p.bytesTotal ? `ETA ${Math.ceil(p.etaSeconds)} s` : '';
  const disc = p.discs && p.discs > 1 ? `disc ${p.disc}/${p.discs}` : '';
  // Several drives: each drive's share and state instead of a file name (one line, rewritten in place).
  const drives = p.drives?.map((d) => `${d.device.replace(/^\/dev\//, '')} ${d.state === 'writing' || d.state === 'verifying' ? `${d.bytesTotal > 0 ? Math.floor((d.bytesDone / d.bytesTotal) * 100) : 0}%` : d.state}`).join(', ');
  return [p.phase, `${pct}%`, speed, eta, disc, drives ?? p.currentFile ?? ''].filter(Boolean).join('  ');
}

/** What the plan says of the folder written to: a network share (and the read-back's cost there), unknown free space. */
export function printOutputNotes(v: OutputVolume | null, bytes: number, io: Io): void {
  if (!v) return;
  if (v.share) io.err(`note: writing to ${describePlace(v)}: the read-back afterwards reads the ${formatBytes(bytes)} again over the network (--no-verify skips it).`);
  if (v.free === null) io.err(`note: free space in ${v.folder} not checked: ${v.freeUnknown ?? 'unknown'}. Writing anyway; if it fills up, the run stops with a named error and earlier media there stay as they are.`);
}

export function printPlan(s: PlanSummary, io: Io): void {
  for (const w of s.warnings) io.err(`warning: ${w.code}${w.step ? ` (step "${w.step}")` : ''}: ${w.message}`);
  if (!s.passwordProtected) {
    io.err('note: no password — the task sequence environment is encrypted with ConfigMgr\'s public fixed key: anyone with the media can read its steps and variables.');
  }
  printOutputNotes(s.output, s.totalBytes, io);
  io.err(`plan: ${s.discs.length} disc(s), ${formatBytes(s.totalBytes)} in all`);
  for (const d of s.discs) io.err(`  ${d.file}  ${formatBytes(d.bytes)}  ${d.files} files`);
}

export { readSecretFile };

export async function runCreate(args: string[], io: Io, openSite: (spec: string | undefined, args: SiteArgs) => Promise<Site>): Promise<number> {
  const parsed = parseCreateArgs(args);
  const { site: siteDir, media, request, json } = parsed;
  // The media certificate's key is made on the thread pool while the site is read.
  prepareMediaKeyPair();
  const site = await openSite(siteDir, parsed.siteArgs);
  if (media === 'usb') return runCreateUsb(parsed, site, io);
  let lastPhase = '';
  // The ISO and USB writers are loaded for the media asked for (refresh imports this module for its options only).
  const { createIsoSet } = await import('../engine/media/MediaBuilder.js');
  try {
    const result = await withCancel(io, (signal) => createIsoSet(site, request, {
      signal,
      onPlan: (s) => printPlan(s, io),
      // Without a terminal only phase changes are printed: nothing to pace, no wait for the last event's turn.
      progressIntervalMs: io.isTty ? undefined : 0,
      onProgress: (p) => {
        if (io.isTty) io.err(`\r\x1b[2K${progressLine(p)}`.replace(/\n$/, ''));
        else if (p.phase !== lastPhase && p.phase !== 'done') io.err(`${PHASE_WORDS[p.phase]}…`);
        lastPhase = p.phase;
      },
    }));
    if (io.isTty) io.err('');
    if (json) io.out(JSON.stringify(result, (k, val: unknown) => (k === 'manifest' ? undefined : val), 2));
    else {
      io.out(`created ${result.discs.length} ISO file(s)${result.verified ? ', verified' : ''}:`);
      for (const d of result.discs) io.out(`  ${d.path}  ${formatBytes(d.bytes)}${d.sha256 ? `  SHA-256 ${d.sha256}` : ''}`);
      io.out(startLine(result.start));
      io.out(`report: ${result.reportFiles.join(', ')}`);
      io.out(`log: ${result.logFiles.join(', ')}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof CancelledError) {
      io.err('cancelled: nothing was replaced, partial files were removed.');
      return 130;
    }
    throw err;
  }
}

/** Signals: the first Ctrl+C cancels cleanly, a second one stops at once. */
export function withCancel<T>(io: Io, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(130);
    io.err('\ncancelling… (press Ctrl+C again to stop at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return run(controller.signal).finally(() => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  });
}

/**
 * A drive's constraints, as the wizard shows them, said in the command line's words (a hidden drive needs --all, each
 * confirmation a --yes-erase naming it); the engine judges the same request again with the same rules.
 */
function checkChosenDrive(t: UsbDriveTarget, listed: DriveInfo[], sourcePaths: string[], io: Io): void {
  const drive = findDrive(listed, t.device);
  if (!drive) throw codedInputError('DRIVE_NOT_CONNECTED', { device: t.device }, `drive ${t.device} is not connected (see "tsmedia drives --all").`);
  const ev = evaluateDrive(drive, { neededBytes: 0, sourcePaths, showAll: t.showAll });
  for (const c of ev.constraints) io.err(`${c.severity}: ${c.message}`);
  const name = `${drive.device} (${drive.description || 'no description'}, ${formatDriveSize(drive.sizeBytes)})`;
  const yes = (n: number): string => Array(n).fill(`--yes-erase ${drive.device}`).join(' ');
  const withAll = evaluateDrive(drive, { neededBytes: 0, sourcePaths, showAll: true });
  if (ev.hidden && !t.showAll && withAll.selectable) {
    throw new InputError(`drive ${name} is not a removable USB drive; it is listed only with --all, and then must be confirmed ${confirmationTimes(withAll.needsConfirmation)} (--all ${yes(withAll.needsConfirmation)}).`);
  }
  if (!ev.selectable) throw new InputError(`drive ${drive.device} cannot be chosen: ${ev.constraints.filter((c) => c.severity === 'error').map((c) => c.message).join(' ')}`);
  if (t.confirmations.length < ev.needsConfirmation) {
    throw new InputError(`writing ${name} ERASES everything on it. Confirm it ${confirmationTimes(ev.needsConfirmation)} with ${yes(ev.needsConfirmation)}.`);
  }
}

async function runCreateUsb(parsed: ParsedCreate, site: Site, io: Io): Promise<number> {
  const req = parsed.usb as UsbMediaRequest;
  if (req.target.kind === 'drive') {
    const listed = await listDrives({ showAll: true });
    const sourcePaths = sourceFolders(site);
    for (const t of [req.target, ...(req.moreDrives ?? [])]) checkChosenDrive(t, listed, sourcePaths, io);
  }
  let lastPhase = '';
  const { createUsbMedia } = await import('../engine/media/UsbMediaBuilder.js');
  try {
    const result = await withCancel(io, (signal) =>
      createUsbMedia(site, req, {
        signal,
        onPlan: (s) => {
          for (const w of s.warnings) io.err(`warning: ${w.code}${w.step ? ` (step "${w.step}")` : ''}: ${w.message}`);
          if (!s.passwordProtected) io.err("note: no password — the task sequence environment is encrypted with ConfigMgr's public fixed key: anyone with the media can read its steps and variables.");
          for (const w of s.largeFiles.wims) io.err(`note: ${w.path} is over 4 GiB: split into ${w.parts.length} .swm parts for FAT32`);
          printOutputNotes(s.output, s.totalBytes, io);
          for (const c of s.bootChanges) io.err(`note: --no-format: ${c}`);
          io.err(`plan: ${s.format ? `FAT32 volume on ${s.target} (${formatBytes(s.diskBytes)}${s.clusterSize ? `, ${s.clusterSize}-byte clusters` : ''})` : `files added to the FAT32 volume on ${s.target}`}, ${formatBytes(s.totalBytes)} to write`);
        },
        progressIntervalMs: io.isTty ? undefined : 0,
        onProgress: (p) => {
          if (io.isTty) io.err(`\r\x1b[2K${progressLine(p)}`);
          else if (p.phase !== lastPhase && p.phase !== 'done') io.err(`${PHASE_WORDS[p.phase]}…`);
          lastPhase = p.phase;
        },
      }),
    );
    if (io.isTty) io.err('');
    if (parsed.json) io.out(JSON.stringify(result, (k, val: unknown) => (k === 'manifest' ? undefined : val), 2));
    else if (result.drives) {
      // Several drives: a line for each, then what they share.
      for (const d of result.drives) io.out(`${d.device}: ${d.status === 'written' ? `written${d.verified ? ', verified' : ''} (${formatBytes(d.bytesWritten)}, ${d.clusterSize}-byte clusters, ${d.sectorSize}-byte sectors${d.sha256 ? `; SHA-256 ${d.sha256}` : ''})` : d.status === 'cancelled' ? 'cancelled: it holds an incomplete volume; write it again before use' : `FAILED: ${d.error}`}`);
      io.out(`created USB media on ${result.drives.filter((d) => d.status === 'written').length} of ${result.drives.length} drives: ${result.manifest.files.length} files`);
      io.out(startLine(result.start));
      if (result.reportFiles.length) io.out(`report: ${result.reportFiles.join(', ')}`);
      io.out(`log: ${result.logFiles.join(', ')}`);
    } else {
      io.out(`created USB media on ${result.target}${result.verified ? ', verified' : ''}: ${result.manifest.files.length} files`);
      io.out(startLine(result.start));
      io.out(`report: ${result.reportFiles.join(', ')}`);
      io.out(`log: ${result.logFiles.join(', ')}`);
    }
    // Several drives: 2 when any failed (the others are written and verified), 130 when the rest were cancelled.
    if (result.drives?.some((d) => d.status === 'failed')) return 2;
    if (result.drives?.some((d) => d.status === 'cancelled')) return 130;
    return 0;
  } catch (err) {
    if (err instanceof CancelledError) {
      io.err(req.moreDrives?.length ? 'cancelled: the drives hold incomplete volumes; write them again before use.' : req.target.kind === 'drive' ? 'cancelled: the drive holds an incomplete volume; write it again before use.' : 'cancelled: nothing was replaced, partial files were removed.');
      return 130;
    }
    throw err;
  }
}
