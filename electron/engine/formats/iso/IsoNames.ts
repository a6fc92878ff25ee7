// Names on the disc: ISO 9660 level-3 identifiers (d-characters, ";1", unique in their folder), Joliet names (UCS-2,
// 64 characters) and UDF names, each made from the file's own name.
import { windowsUpper } from '../windowsNames.js';
import { ISO_DIR_MAX, ISO_FILE_MAX, JOLIET_MAX, UDF_NAME_BYTES, type Child, type DirNode } from './IsoTree.js';

// ---------------------------------------------------------------------------------------------------------------------
// Names

const codeUnitCompare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function splitExt(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return [name, ''];
  return [name.slice(0, dot), name.slice(dot + 1)];
}

/** Upper-case d-characters: accents dropped ("Ä" → "A"), anything else outside A–Z, 0–9, "_" becomes "_". */
export const dChars = (s: string): string =>
  windowsUpper(s.normalize('NFD').replace(/[\u0300-\u036f]/g, ''))
    .replace(/[^A-Z0-9_]/g, '_');

function isoFileNatural(name: string): string {
  const [b, e] = splitExt(name);
  let base = dChars(b) || '_';
  let ext = dChars(e);
  const room = ISO_FILE_MAX - 3; // ".", ";1"
  if (base.length + ext.length > room) {
    if (ext.length > 8) ext = ext.slice(0, 8);
    base = base.slice(0, room - ext.length);
  }
  return `${base}.${ext};1`;
}

function isoFileAlt(id: string, n: number): string {
  const m = /^([^.]*)\.([^;]*);1$/.exec(id) as RegExpExecArray;
  const suffix = `_${n}`;
  const base = m[1].slice(0, Math.max(0, ISO_FILE_MAX - 3 - m[2].length - suffix.length));
  return `${base}${suffix}.${m[2]};1`;
}

const isoDirNatural = (name: string): string => (dChars(name) || '_').slice(0, ISO_DIR_MAX);
const isoDirAlt = (id: string, n: number): string => `${id.slice(0, ISO_DIR_MAX - String(n).length - 1)}_${n}`;

/** Cuts a string to at most `max` UTF-16 code units without splitting a surrogate pair. */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let r = s.slice(0, Math.max(0, max));
  if (r.length > 0 && /[\ud800-\udbff]$/.test(r)) r = r.slice(0, -1);
  return r;
}

/** Cuts a name to `max` code units, keeping a short extension. */
function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  const [b, e] = splitExt(name);
  if (e && e.length + 1 <= Math.floor(max / 2)) return `${cut(b, max - e.length - 1)}.${e}`;
  return cut(name, max);
}

/** The n-th alternative of a name: "~n" before the extension, within `max` code units. */
function fitNameAlt(name: string, max: number, n: number): string {
  const [b, e] = splitExt(name);
  const ext = e && e.length + 1 <= Math.floor(max / 2) ? `.${e}` : '';
  const suffix = `~${n}`;
  return cut(ext ? b : name, max - ext.length - suffix.length) + suffix + ext;
}

// eslint-disable-next-line no-control-regex
const jolietNatural = (name: string): string => fitName(name.replace(/[\x00-\x1f*/:;?\\]/g, '_'), JOLIET_MAX);

/** Most characters a UDF file identifier holds: 254 with 8-bit compression, 127 with 16-bit. */
function udfMax(name: string): number {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\xff]*$/.test(name) ? UDF_NAME_BYTES - 1 : Math.floor((UDF_NAME_BYTES - 1) / 2);
}

/** Gives each entry a name unique under `key`; entries keep their natural name when they can (first come, first served). */
function uniquify(entries: Child[], natural: (e: Child) => string, alt: (e: Child, nat: string, n: number) => string, key: (s: string) => string, set: (e: Child, id: string) => void): void {
  const nats = entries.map(natural);
  const used = new Set(nats.map(key));
  const taken = new Set<string>();
  entries.forEach((e, i) => {
    let id = nats[i];
    if (taken.has(key(id))) {
      for (let n = 1; ; n++) {
        const a = alt(e, nats[i], n);
        if (!used.has(key(a))) {
          id = a;
          used.add(key(a));
          break;
        }
        if (n > 1_000_000) throw new Error(`cannot make a unique name for ${e.path}`);
      }
    }
    taken.add(key(id));
    set(e, id);
  });
}

/** Compares as ECMA-119 9.3 orders a directory's records: the name, then the extension, each padded with spaces. */
function padCompare(x: string, y: string): number {
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const cx = i < x.length ? x.charCodeAt(i) : 0x20;
    const cy = i < y.length ? y.charCodeAt(i) : 0x20;
    if (cx !== cy) return cx - cy;
  }
  return 0;
}

/** Name and extension of an identifier for sorting: files split at the last dot (ISO ids also lose ";1"), folders whole. */
function sortParts(id: string, isFile: boolean): [string, string] {
  if (!isFile) return [id, ''];
  const bare = id.endsWith(';1') ? id.slice(0, -2) : id;
  const dot = bare.lastIndexOf('.');
  return dot < 0 ? [bare, ''] : [bare.slice(0, dot), bare.slice(dot + 1)];
}

function recordCompare(a: Child, b: Child, id: (e: Child) => string): number {
  const [an, ae] = sortParts(id(a), a.kind === 'file');
  const [bn, be] = sortParts(id(b), b.kind === 'file');
  return padCompare(an, bn) || padCompare(ae, be) || codeUnitCompare(id(a), id(b));
}

export function nameTree(root: DirNode): void {
  const stack: DirNode[] = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as DirNode;
    const children: Child[] = [...dir.dirs.values(), ...dir.files].sort((a, b) => codeUnitCompare(a.name, b.name));
    uniquify(
      children,
      (e) => (e.kind === 'dir' ? isoDirNatural(e.name) : isoFileNatural(e.name)),
      (e, nat, n) => (e.kind === 'dir' ? isoDirAlt(nat, n) : isoFileAlt(nat, n)),
      (s) => s,
      (e, id) => (e.isoId = id),
    );
    uniquify(
      children,
      (e) => jolietNatural(e.name),
      (_e, nat, n) => fitNameAlt(nat, JOLIET_MAX, n),
      windowsUpper,
      (e, id) => (e.jolietId = id),
    );
    uniquify(
      children,
      (e) => fitName(e.name, udfMax(e.name)),
      (e, nat, n) => fitNameAlt(nat, udfMax(e.name), n),
      windowsUpper,
      (e, id) => (e.udfName = id),
    );
    dir.isoChildren = [...children].sort((a, b) => recordCompare(a, b, (e) => e.isoId));
    dir.jolietChildren = [...children].sort((a, b) => recordCompare(a, b, (e) => e.jolietId));
    dir.udfChildren = children;
    for (const d of dir.dirs.values()) stack.push(d);
  }
}

/** Directories breadth first, children in the given order: the path table order (depth, parent number, name). */
export function breadthFirst(root: DirNode, children: (d: DirNode) => Child[]): DirNode[] {
  const out: DirNode[] = [root];
  for (let i = 0; i < out.length; i++) for (const c of children(out[i])) if (c.kind === 'dir') out.push(c);
  return out;
}
