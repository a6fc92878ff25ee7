// A cache, in the user's cache folder, of what opening a site reads again on every run of the command line:
// - parsed task sequence exports: their XML (and the XML inside their properties) cost a quarter of a second for the
//   sample site's two exports. Found by the SHA-256 of the export's bytes and its path (the parse names it). Exports
//   over 32 MiB (content exported with them) are neither hashed nor cached.
// - a content's file list from DataLib: one small INI per file, a fifth of a second for 1,200 files from a cold disk.
//   Found by the library, the content ID, the bytes of the content's own INI (its Hash covers every file's hash) and
//   the names of every folder and INI under it (ContentLibrary).
// Every key also holds the code that reads (every module of this folder and what they import outside it, the XML and
// INI parsers' versions): a changed input or a new tsmedia never reads an old entry. Entries are V8-serialized; anything
// wrong with the cache (unreadable, damaged, a full disk) only means the input is read as without it.
// TSMEDIA_NO_CACHE=1 turns it off.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import type { TaskSequenceExport } from './TaskSequenceExport.js';
import { userCacheFolder } from '../userFolders.js';

export { userCacheFolder };

/** Exports up to this size are hashed and cached. */
export const CACHE_MAX_EXPORT_BYTES = 32 * 1024 * 1024;
/** Entries kept of each kind; the oldest beyond are removed when one is added. */
export const CACHE_MAX_ENTRIES = 500;
const FORMAT = 'tsmedia-cache 1';

/** The modules outside this folder that the parse imports (test/ExportCache checks the import graph is covered). */
export const PARSE_MODULES_OUTSIDE = ['../errors.js', '../../../shared/analysis.js', '../userFolders.js'];

let fingerprint: string | null = null;

/** SHA-256 over the reading code: every .js module of this folder, those outside it, and the parsers' package.json. */
export function parserFingerprint(): string {
  if (fingerprint) return fingerprint;
  const here = dirname(fileURLToPath(import.meta.url));
  const h = createHash('sha256').update(FORMAT);
  const add = (label: string, path: string): void => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      bytes = Buffer.alloc(0);
    }
    h.update(`\0${label}\0${bytes.length}\0`).update(bytes);
  };
  for (const name of readdirSync(here).filter((n) => n.endsWith('.js')).sort()) add(name, join(here, name));
  for (const rel of PARSE_MODULES_OUTSIDE) add(rel, resolve(here, rel));
  for (const pkg of ['fast-xml-parser', 'ini']) add(pkg, packageJsonOf(pkg, here));
  return (fingerprint = h.digest('hex'));
}

/** A package's package.json, found as Node finds the package: in node_modules folders up from `dir`. */
function packageJsonOf(pkg: string, dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    const p = join(d, 'node_modules', pkg, 'package.json');
    try {
      statSync(p);
      return p;
    } catch {
      if (dirname(d) === d) return p;
    }
  }
}

export type CacheKind = 'exports' | 'contents';

export interface CacheOptions {
  /** The cache folder (default: userCacheFolder()). */
  folder?: string;
  env?: NodeJS.ProcessEnv;
  /** Entries kept of this kind (default CACHE_MAX_ENTRIES). */
  maxEntries?: number;
}

const cacheOff = (env: NodeJS.ProcessEnv): boolean => env.TSMEDIA_NO_CACHE !== undefined && env.TSMEDIA_NO_CACHE !== '' && env.TSMEDIA_NO_CACHE !== '0';

/** The key of an entry: the reading code, the kind, and each part (strings and bytes, each length-prefixed). */
export function cacheKey(kind: CacheKind, parts: readonly (string | Uint8Array)[]): string {
  const h = createHash('sha256').update(parserFingerprint()).update(`\0${kind}`);
  for (const p of parts) {
    const bytes = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    h.update(`\0${bytes.length}\0`).update(bytes);
  }
  return h.digest('hex');
}

/**
 * The value stored under `key`, if there is one that `valid` accepts; else `compute()`'s, stored when `stillSame()`
 * (asked after computing) says the input did not change meanwhile. Errors are never stored.
 */
export async function cached<T>(kind: CacheKind, key: () => Promise<string | null>, valid: (v: unknown) => v is T, compute: () => Promise<T>, options: CacheOptions = {}): Promise<T> {
  const env = options.env ?? process.env;
  if (cacheOff(env)) return compute();
  const k = await key();
  if (k === null) return compute();
  const folder = join(options.folder ?? userCacheFolder(env), kind);
  const entry = join(folder, `${k}.v8`);
  const hit = readEntry(entry, valid);
  if (hit !== null) return hit;
  const value = await compute();
  // An input rewritten while it was read: the result belongs to neither version's key.
  if ((await key()) === k) writeEntry(folder, entry, value, options.maxEntries ?? CACHE_MAX_ENTRIES);
  return value;
}

/**
 * `parse(file)`'s result for the export at `file`, from the cache when an entry was made from the same bytes at the same
 * path by the same code; else parsed and stored (only when the file's bytes did not change while it was parsed).
 */
export function cachedExport(file: string, parse: (file: string) => Promise<TaskSequenceExport>, options: CacheOptions = {}): Promise<TaskSequenceExport> {
  const valid = (v: unknown): v is TaskSequenceExport => {
    const e = v as Partial<TaskSequenceExport> | null;
    return !!e && e.file === file && Array.isArray(e.taskSequences) && Array.isArray(e.applications) && Array.isArray(e.contentObjects);
  };
  return cached('exports', () => exportKey(file), valid, () => parse(file), options);
}

async function exportKey(file: string): Promise<string | null> {
  let bytes: Buffer;
  try {
    if (statSync(file).size > CACHE_MAX_EXPORT_BYTES) return null;
    bytes = await readFile(file);
  } catch {
    return null; // the parse says what is wrong with the file
  }
  return cacheKey('exports', [file, bytes]);
}

function readEntry<T>(entry: string, valid: (v: unknown) => v is T): T | null {
  try {
    const value = deserialize(readFileSync(entry)) as { format?: unknown; value?: unknown };
    return value.format === FORMAT && valid(value.value) ? value.value : null;
  } catch {
    return null;
  }
}

function writeEntry(folder: string, entry: string, value: unknown, maxEntries: number): void {
  const temp = `${entry}.${process.pid}.tmp`;
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    // Readable by this user only: an export holds what its task sequence's variables hold.
    writeFileSync(temp, serialize({ format: FORMAT, value }), { mode: 0o600 });
    renameSync(temp, entry);
    prune(folder, maxEntries);
  } catch {
    rmSync(temp, { force: true });
  }
}

/** Removes the oldest entries beyond `maxEntries` (by modification time: an entry is written once). */
function prune(folder: string, maxEntries: number): void {
  const names = readdirSync(folder).filter((n) => n.endsWith('.v8'));
  if (names.length <= maxEntries) return;
  const aged = names.map((n) => {
    try {
      return { n, t: statSync(join(folder, n)).mtimeMs };
    } catch {
      return { n, t: 0 };
    }
  });
  aged.sort((a, b) => a.t - b.t);
  for (const { n } of aged.slice(0, aged.length - maxEntries)) rmSync(join(folder, n), { force: true });
}
