// FAT names: long names checked as Windows does, 8.3 short names made as Windows makes them (fatgen103 "basis name"
// with a "~n" tail), and the VFAT long-name slots and checksum.
import { InputError } from '../../errors.js';
import { windowsNameProblem, windowsUpper } from '../windowsNames.js';

// ---------------------------------------------------------------------------------------------------------------------
// Names

// eslint-disable-next-line no-control-regex
const LONG_FORBIDDEN = /[\x00-\x1f"*/:<>?\\|]/;
const SHORT_CHAR = /^[A-Z0-9!#$%&'()\-@^_`{}~]$/;
const EXACT_83 = /^[A-Z0-9!#$%&'()\-@^_`{}~]{1,8}(\.[A-Z0-9!#$%&'()\-@^_`{}~]{1,3})?$/;
/** Most UTF-16 code units in a long name. */
export const FAT_MAX_NAME = 255;

/** The FAT volume label for a media label: first 11 characters, upper case, anything FAT forbids → "_" ("" for none). */
export function fatLabel(label: string): string {
  let out = '';
  for (const ch of Array.from(label).slice(0, 11)) {
    const u = windowsUpper(ch);
    out += u === ' ' || SHORT_CHAR.test(u) ? u : '_';
  }
  return out.replace(/ +$/, '');
}

/** Throws unless `name` is a long name Windows can create (the path is for the message). */
export function checkFatName(name: string, path: string): void {
  if (name.length > FAT_MAX_NAME) throw new InputError(`"${path}": the name "${name}" is longer than ${FAT_MAX_NAME} characters, the most FAT allows.`);
  const bad = LONG_FORBIDDEN.exec(name);
  if (bad) throw new InputError(`"${path}": the name "${name}" contains ${/[\x20-\x7e]/.test(bad[0]) ? `"${bad[0]}"` : 'a control character'}, which FAT does not allow.`);
  // Device names, trailing periods and spaces: the one rule every medium shares (formats/windowsNames).
  const problem = windowsNameProblem(name);
  if (problem) throw new InputError(`"${path}": the name "${name}" cannot be used: ${problem}. Rename it.`);
}

/** "/"-separated path → components (leading/trailing "/" ignored); throws on empty, "." or ".." components and bad names. */
export function splitFatPath(p: string, what: string): string[] {
  if (typeof p !== 'string' || p === '') throw new InputError(`${what}: an empty path.`);
  const trimmed = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') throw new InputError(`${what} "${p}": not a path below the root of the volume.`);
  const parts = trimmed.split('/');
  for (const c of parts) {
    if (c === '' || c === '.' || c === '..') throw new InputError(`${what} "${p}": an empty, "." or ".." path component.`);
    checkFatName(c, p);
  }
  return parts;
}

/** The 11-character short name when `name` already is a valid upper-case 8.3 name (stored without long-name entries). */
export function exactShortName(name: string): string | null {
  if (!EXACT_83.test(name)) return null;
  const dot = name.indexOf('.');
  return dot < 0 ? name.padEnd(11, ' ') : name.slice(0, dot).padEnd(8, ' ') + name.slice(dot + 1).padEnd(3, ' ');
}

/** "BOOTX64 EFI" → "BOOTX64.EFI". */
export function displayShortName(short11: string): string {
  const base = short11.slice(0, 8).replace(/ +$/, '');
  const ext = short11.slice(8, 11).replace(/ +$/, '');
  return ext ? `${base}.${ext}` : base;
}

/** Short names of one folder: those taken, and new ones made as Windows makes them. */
export class ShortNameTable {
  private readonly used = new Set<string>();
  /** Next tail number to try per basis name, so 10,000 similar names cost 10,000 steps, not 50 million. */
  private readonly nextTail = new Map<string, number>();

  has(short11: string): boolean {
    return this.used.has(short11);
  }

  reserve(short11: string): void {
    this.used.add(short11);
  }

  /** A unique short name for a long name that is not itself an exact 8.3 name. */
  generate(name: string): string {
    let lossy = false;
    const upper = windowsUpper(name);
    const noSpaces = upper.replace(/ /g, '');
    const stripped = noSpaces.replace(/^\.+/, '');
    const dot = stripped.lastIndexOf('.');
    const rawBase = dot < 0 ? stripped : stripped.slice(0, dot);
    const rawExt = dot < 0 ? '' : stripped.slice(dot + 1);
    const map = (s: string): string => {
      let out = '';
      for (const ch of s) {
        if (ch === '.') continue;
        if (SHORT_CHAR.test(ch)) out += ch;
        else {
          out += '_';
          lossy = true;
        }
      }
      return out;
    };
    const base = map(rawBase) || '_';
    const ext = map(rawExt).slice(0, 3);
    const fits = !lossy && noSpaces === upper && stripped === noSpaces && !rawBase.includes('.') && rawBase.length <= 8 && rawExt.length <= 3;
    const ext3 = ext.padEnd(3, ' ');
    if (fits) {
      const plain = base.padEnd(8, ' ') + ext3;
      if (!this.used.has(plain)) {
        this.used.add(plain);
        return plain;
      }
    }
    const key = `${base.slice(0, 8)}.${ext}`;
    for (let n = this.nextTail.get(key) ?? 1; n <= 999_999; n++) {
      const tail = `~${n}`;
      const cand = (base.slice(0, 8 - tail.length) + tail).padEnd(8, ' ') + ext3;
      if (!this.used.has(cand)) {
        this.used.add(cand);
        this.nextTail.set(key, n + 1);
        return cand;
      }
    }
    throw new InputError(`"${name}": no free short name is left for it in its folder.`);
  }
}

/**
 * Short names for the names of one folder, in order: exact 8.3 names keep themselves (they are reserved first), the
 * rest are generated. `lfn` says whether the name needs long-name entries.
 */
export function assignShortNames(names: string[], table = new ShortNameTable()): { short: string; lfn: boolean }[] {
  const exact = names.map(exactShortName);
  for (const e of exact) if (e !== null) table.reserve(e);
  return names.map((n, i) => {
    const e = exact[i];
    return e !== null ? { short: e, lfn: false } : { short: table.generate(n), lfn: true };
  });
}

/** Long-name entries a name takes (13 UTF-16 code units each). */
export const lfnSlots = (name: string): number => Math.ceil(name.length / 13);

/** fatgen103's checksum of an 11-byte short name, stored in each of its long-name entries. */
export function lfnChecksum(short11: Buffer | string): number {
  const b = typeof short11 === 'string' ? Buffer.from(short11, 'latin1') : short11;
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((sum & 1 ? 0x80 : 0) + (sum >> 1) + b[i]) & 0xff;
  return sum;
}

