// The answer file: every option of a media run as JSON (the wizard's Summary page saves one; `tsmedia create
// --answers FILE` reads it), for monthly rebuilds. It never holds a password or a secret value, only the files
// they are read from.

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

const FIELDS: Record<string, [Check, string]> = {
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
  variables: [isPairs('value'), 'a list of {"name", "value"}'],
  secretVariables: [isPairs('file'), 'a list of {"name", "file"}'],
  prestartCommand: [isStrOrNull, 'a command line or null'],
  prestartFiles: [isStrOrNull, 'a folder path or null'],
  applications: [isStrList, 'a list of package IDs'],
  packages: [isStrList, 'a list of package IDs'],
  driverPackages: [isStrList, 'a list of package IDs'],
  staging: [isStrOrNull, 'a folder path or null'],
  detectDependencies: [isBool, 'true or false'],
};

/** Validates a parsed answer file; returns a problem sentence naming the field, or null. */
export function answerFileProblem(raw: unknown): string | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'the answer file must be a JSON object.';
  const obj = raw as Record<string, unknown>;
  if ('password' in obj) return 'an answer file never holds a password; use "passwordFile".';
  if (!('format' in obj)) return `field "format" is missing (expected "${ANSWERS_FORMAT}").`;
  for (const [k, v] of Object.entries(obj)) {
    const f = FIELDS[k];
    if (!f) return `field "${k}" is not an answer-file field.`;
    if (!f[0](v)) return `field "${k}" must be ${f[1]}.`;
  }
  return null;
}
