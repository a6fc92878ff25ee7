// The answer file: every option of a media run as JSON (the wizard's Summary page saves one; `tsmedia create
// --answers FILE` reads it), for monthly rebuilds. It never holds a password or a secret value, only the files
// they are read from.
import type { IsoMediaRequest, UsbMediaRequest } from './media.js';
import { DEFAULT_MEDIA_LABEL } from './media.js';

export const ANSWERS_FORMAT = 'tsmedia-answers/1';

export interface AnswerFile {
  format: typeof ANSWERS_FORMAT;
  site?: string | null;
  taskSequence?: string;
  media?: 'iso' | 'usb';
  size?: string;
  out?: string;
  distributionPoints?: string[];
  passwordFile?: string | null;
  passwordEnv?: string | null;
  unattended?: boolean;
  startDate?: string | null;
  expireDate?: string | null;
  label?: string;
  autorun?: boolean;
  i386Binaries?: boolean;
  variables?: { name: string; value: string }[];
  secretVariables?: { name: string; file: string }[];
  prestartCommand?: string | null;
  prestartFiles?: string | null;
  applications?: string[];
  packages?: string[];
  driverPackages?: string[];
  staging?: string | null;
  detectDependencies?: boolean;
}

type Check = (v: unknown) => boolean;
const isStr: Check = (v) => typeof v === 'string';
const isStrOrNull: Check = (v) => v === null || typeof v === 'string';
const isBool: Check = (v) => typeof v === 'boolean';
const isStrList: Check = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isPairs = (second: string): Check => (v) =>
  Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && typeof (x as Record<string, unknown>).name === 'string' && typeof (x as Record<string, unknown>)[second] === 'string');

// A Map, not an object literal: a key such as "constructor", "toString" or "__proto__" must not find Object.prototype's.
const FIELDS: ReadonlyMap<string, [Check, string]> = new Map(Object.entries({
  format: [(v) => v === ANSWERS_FORMAT, `"${ANSWERS_FORMAT}"`],
  site: [isStrOrNull, 'a folder path or null'],
  taskSequence: [isStr, 'a package ID'],
  media: [(v) => v === 'iso' || v === 'usb', '"iso" or "usb"'],
  size: [isStr, 'a size name (cd650, cd700, dvd, dvd-dl, unlimited) or bytes as text'],
  out: [isStr, 'a file path'],
  distributionPoints: [isStrList, 'a list of names'],
  passwordFile: [isStrOrNull, 'a file path or null'],
  passwordEnv: [isStrOrNull, 'an environment variable name or null'],
  unattended: [isBool, 'true or false'],
  startDate: [isStrOrNull, 'a date or null'],
  expireDate: [isStrOrNull, 'a date or null'],
  label: [isStr, 'text'],
  autorun: [isBool, 'true or false'],
  i386Binaries: [isBool, 'true or false'],
  variables: [isPairs('value'), 'a list of {"name", "value"}'],
  secretVariables: [isPairs('file'), 'a list of {"name", "file"}'],
  prestartCommand: [isStrOrNull, 'a command line or null'],
  prestartFiles: [isStrOrNull, 'a folder path or null'],
  applications: [isStrList, 'a list of package IDs'],
  packages: [isStrList, 'a list of package IDs'],
  driverPackages: [isStrList, 'a list of package IDs'],
  staging: [isStrOrNull, 'a folder path or null'],
  detectDependencies: [isBool, 'true or false'],
} satisfies Record<string, [Check, string]>));

/** Validates a parsed answer file; returns a problem sentence naming the field, or null. */
export function answerFileProblem(raw: unknown): string | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'the answer file must be a JSON object.';
  const obj = raw as Record<string, unknown>;
  // Own properties only: JSON.parse makes "__proto__" an own key, and inherited names are no fields.
  const own = (k: string): boolean => Object.prototype.hasOwnProperty.call(obj, k);
  if (own('password')) return 'an answer file never holds a password; use "passwordFile".';
  if (!own('format')) return `field "format" is missing (expected "${ANSWERS_FORMAT}").`;
  for (const [k, v] of Object.entries(obj)) {
    const f = FIELDS.get(k);
    if (!f) return `field "${k}" is not an answer-file field; remove it.`;
    if (!f[0](v)) return `field "${k}" must be ${f[1]}.`;
  }
  return null;
}

// ---- From the wizard's request: the answer file it saves and the equivalent command line ---------------------------

/** A media request as the wizard sends it (shared/ipc.ts StartMediaRequest). */
export type AnswerSourceRequest = { kind: 'iso'; request: IsoMediaRequest } | { kind: 'usb'; request: UsbMediaRequest } | { kind: 'refresh'; request: UsbMediaRequest; dryRun?: boolean };

/** Where the password and the secret values are kept (never the values themselves). */
export interface AnswerExtras {
  passwordFile?: string;
  /** Secret variable name → the file whose first line is its value. */
  secretFiles?: Record<string, string>;
}

/** Placeholders written where the user has not said which file holds a secret (relative to the answer file). */
export const PASSWORD_FILE_PLACEHOLDER = 'password.txt';
export const secretFilePlaceholder = (name: string): string => `secret-${name}.txt`;

const secretFileOf = (extras: AnswerExtras, name: string): string | undefined =>
  extras.secretFiles && Object.prototype.hasOwnProperty.call(extras.secretFiles, name) ? extras.secretFiles[name] : undefined;

/**
 * The answer file of a request. It holds no password and no secret value: a password-protected request names
 * `extras.passwordFile` (or password.txt beside the answer file), a secret variable its file (or secret-NAME.txt), so a
 * rebuild without those files stops and says which file is missing instead of making unprotected media.
 */
export function answersFromRequest(req: AnswerSourceRequest, extras: AnswerExtras = {}): AnswerFile {
  const r = req.request;
  // A refresh's answers are those of the media it makes (a USB drive): the answer file has no "refresh".
  const a: AnswerFile = { format: ANSWERS_FORMAT, site: r.site, taskSequence: r.taskSequenceId, media: req.kind === 'iso' ? 'iso' : 'usb' };
  if (req.kind === 'iso') {
    a.size = String(req.request.size);
    a.out = req.request.out;
  }
  a.distributionPoints = [...r.distributionPoints];
  a.passwordFile = extras.passwordFile ?? (r.password !== null ? PASSWORD_FILE_PLACEHOLDER : null);
  a.unattended = r.unattended;
  a.startDate = r.startDate;
  a.expireDate = r.expireDate;
  a.label = r.label;
  a.autorun = r.autorun;
  a.i386Binaries = r.i386Binaries;
  a.variables = r.variables.filter((v) => !v.secret).map((v) => ({ name: v.name, value: v.value }));
  a.secretVariables = r.variables.filter((v) => v.secret).map((v) => ({ name: v.name, file: secretFileOf(extras, v.name) ?? secretFilePlaceholder(v.name) }));
  a.prestartCommand = r.prestartCommand;
  a.prestartFiles = r.prestartFiles;
  a.applications = [...r.applications];
  a.packages = [...r.packages];
  a.driverPackages = [...r.driverPackages];
  a.staging = r.staging;
  a.detectDependencies = r.detectDependencies;
  return a;
}

/** Quotes one argument for POSIX shells (sh, bash, zsh): bare when it is safe, else in single quotes. */
export function quoteShellArg(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Quotes one argument for PowerShell, the shell of Windows administrators: bare when it is safe there (a UNC path's
 * backslashes are; a comma would make an array, a leading @ or $ something else), else in single quotes, where only a
 * single quote is special and is doubled — PowerShell takes the typographic single quotes for quotes as well.
 */
export function quotePowerShellArg(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_:./\\=+-]+$/.test(arg)) return arg;
  return `'${arg.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** The shell a command line is quoted for: sh, bash and zsh, or PowerShell on Windows. */
export type CommandShell = 'posix' | 'powershell';

/**
 * The `tsmedia create …` (or `tsmedia refresh DEVICE …`) command line equivalent to a request, for the Summary page (quoted for `shell`). The
 * password and secret values never appear: `--password-file FILE` and `--secret-var NAME=@FILE` name their files (the
 * word FILE where none is known). A drive is named but not confirmed: the command asks for `--yes-erase DEVICE` itself;
 * an image file to replace is not confirmed either (`--replace FILE`).
 */
export function commandLineFor(req: AnswerSourceRequest, extras: AnswerExtras = {}, shell: CommandShell = 'posix'): string {
  const r = req.request;
  const args: string[] = [req.kind === 'refresh' ? 'refresh' : 'create'];
  const opt = (name: string, value?: string): void => {
    // A value starting with "-" would read as an option: it goes as --name=value.
    if (value === undefined) args.push(name);
    else if (value.startsWith('-')) args.push(`${name}=${value}`);
    else args.push(name, value);
  };
  if (req.kind === 'refresh') {
    // `tsmedia refresh DEVICE|IMAGE …`: the drive first, confirmed by --yes-refresh DEVICE when the command runs.
    const t = req.request.target;
    args.push(t.kind === 'drive' ? t.device : t.path);
  }
  if (r.site !== null) opt('--site', r.site);
  opt('--task-sequence', r.taskSequenceId);
  if (req.kind === 'refresh') {
    if (req.request.target.kind === 'drive' && req.request.target.showAll) opt('--all');
  } else opt('--media', req.kind);
  if (req.kind === 'refresh') {
    // Nothing more: a refresh writes into the volume there is (no --no-format, no size).
  } else if (req.kind === 'iso') {
    opt('--size', String(req.request.size));
    opt('--out', req.request.out);
  } else {
    const t = req.request.target;
    if (t.kind === 'drive') {
      opt('--drive', t.device);
      // "Write several drives": every drive named, each confirmed by its own --yes-erase when the command runs.
      for (const d of req.request.moreDrives ?? []) opt('--drive', d.device);
      if (t.showAll) opt('--all');
    } else {
      opt('--image', t.path);
      if (req.request.format || t.sizeBytes > 0) opt('--image-size', String(t.sizeBytes));
    }
    if (!req.request.format) opt('--no-format');
  }
  for (const dp of r.distributionPoints) opt('--dp', dp);
  if (r.password !== null || extras.passwordFile) opt('--password-file', extras.passwordFile ?? 'FILE');
  if (r.unattended) opt('--unattended');
  if (r.startDate) opt('--start', r.startDate);
  if (r.expireDate) opt('--expire', r.expireDate);
  if (r.label !== DEFAULT_MEDIA_LABEL) opt('--label', r.label);
  if (r.autorun) opt('--autorun');
  if (r.i386Binaries) opt('--i386-binaries');
  // Plain variables first, then secret ones: the order `tsmedia create` and the answer file give them.
  for (const v of r.variables) if (!v.secret) opt('--var', `${v.name}=${v.value}`);
  for (const v of r.variables) if (v.secret) opt('--secret-var', `${v.name}=@${secretFileOf(extras, v.name) ?? 'FILE'}`);
  if (r.prestartCommand) opt('--prestart', r.prestartCommand);
  if (r.prestartFiles) opt('--prestart-files', r.prestartFiles);
  for (const id of r.applications) opt('--application', id);
  for (const id of r.packages) opt('--package', id);
  for (const id of r.driverPackages) opt('--driver-package', id);
  if (r.staging) opt('--staging', r.staging);
  if (!r.detectDependencies) opt('--no-dependencies');
  if (r.skipVerify) opt('--no-verify');
  if (r.timestamp) opt('--timestamp', r.timestamp);
  return `tsmedia ${args.map(shell === 'powershell' ? quotePowerShellArg : quoteShellArg).join(' ')}`;
}
