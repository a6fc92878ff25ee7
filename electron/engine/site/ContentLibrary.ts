// A distribution point's content library (SCCMContentLib): which packages and content versions it holds (PkgLib),
// each content's file list (DataLib), and the files' bytes from the single-instance store (FileLib, on one or more
// roots), streamed with their SHA-256 checked.
import { createHash } from 'node:crypto';
import { accessSync, createReadStream, readFileSync } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type * as Ini from 'ini';
import { ContentIntegrityError, InputError, describeFsError } from '../errors.js';
import { folderHash, fromFileTime } from './FolderHash.js';
import { cached, cacheKey } from './ParseCache.js';

export interface LibraryPackage {
  packageId: string;
  /** Every content ID PkgLib lists for the package (e.g. ABC00001.1, ABC00001.2, Content_<guid>.1). */
  contentIds: string[];
  /** The content IDs that make up the current content: the newest `<ID>.<n>`, or all of them for applications. */
  currentContentIds: string[];
  /** Versions of `<ID>.<n>` contents held, ascending. */
  versions: number[];
  /** [Info] Version, or the highest version held; null when the contents are not versioned by package ID. */
  currentVersion: number | null;
}

export interface ContentFile {
  /** Relative path inside the package, "\" separated, as on the media. */
  path: string;
  size: number;
  /** Uppercase SHA-256 hex. */
  hash: string;
  attributes: number;
  modified: Date | null;
}

export interface ContentInfo {
  contentId: string;
  version: number | null;
  /** [Info] Hash of DataLib\<ContentID>.INI. */
  folderHash: string | null;
  files: ContentFile[];
  /** Folders of the content, empty ones included, "\" separated. */
  folders: string[];
}

const HASH_RE = /^[0-9A-F]{64}$/;

interface Listing {
  files: { iniPath: string; path: string }[];
  folders: string[];
}

/** What a cached content's file list must look like to be used. */
function isContentFileList(v: unknown): v is ContentFile[] {
  return Array.isArray(v) && v.every((f: Partial<ContentFile> | null) => !!f && typeof f.path === 'string' && typeof f.hash === 'string' && HASH_RE.test(f.hash) && Number.isSafeInteger(f.size) && typeof f.attributes === 'number' && (f.modified === null || f.modified instanceof Date));
}

/** How many DataLib file INIs are read in one go (synchronously) before the event loop gets a turn. */
const INI_BATCH = 256;

/** Reads an INI file written by Windows (UTF-16LE with BOM) or as UTF-8. */
async function readIni(path: string): Promise<Record<string, Record<string, string>>> {
  return parseIniBuffer(await readFile(path));
}

// The ini package, loaded for the first INI that is not plain (see parsePlainIni).
const requireCjs = createRequire(import.meta.url);
let iniPackage: typeof Ini | null = null;

/** Characters that give a name or value a meaning beyond its text in the ini package: quotes, escapes, comments. */
const NOT_PLAIN = /["';#\\\u2028\u2029]/;

/**
 * An INI as ConfigMgr writes it (sections, key=value lines, nothing quoted, escaped or commented after a value) read
 * directly, to what the ini package makes of it; null for anything else, which the ini package then reads. A package
 * has thousands of DataLib INIs: the package's general parser (and loading it) cost tens of milliseconds a run.
 */
export function parsePlainIni(text: string): Record<string, Record<string, string>> | null {
  const out: Record<string, Record<string, string>> = {};
  let sec: Record<string, string> | null = null;
  for (const line of text.split(/[\r\n]+/)) {
    const t = line.trim();
    if (t === '' || t[0] === ';' || t[0] === '#') continue;
    if (line[0] === '[') {
      const m = /^\[([^\]]*)\]\s*$/.exec(line);
      const name = m?.[1].trim();
      // A dotted name is nested by the ini package (and put back whole by parseIniBuffer), and a name that objects
      // already have ("constructor") is read by it in its own way: both left to it.
      if (!name || name in Object.prototype || name.includes('.') || NOT_PLAIN.test(name)) return null;
      sec = out[name] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (sec === null || eq <= 0 || t[0] === '[') return null;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === '' || key in Object.prototype || key.endsWith('[]') || NOT_PLAIN.test(key) || NOT_PLAIN.test(value)) return null;
    if (value === 'true' || value === 'false' || value === 'null') return null;
    sec[key] = value;
  }
  return out;
}

function parseIniBuffer(buf: Buffer): Record<string, Record<string, string>> {
  let text: string;
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) text = buf.subarray(2).toString('utf16le');
  else {
    text = buf.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  }
  return parsePlainIni(text) ?? parseIniWithPackage(text);
}

/** Any INI text, read by the ini package. */
export function parseIniWithPackage(text: string): Record<string, Record<string, string>> {
  iniPackage ??= requireCjs('ini') as typeof Ini;
  const raw = iniPackage.parse(text) as Record<string, unknown>;
  const out: Record<string, Record<string, string>> = {};
  // The ini package nests a section named "a.b" as a.b; Windows INI files have no nesting, so such a section is put
  // back under its whole name (a damaged "[<VALUE.ARRAY>File]" must not end in a TypeError).
  const addSection = (name: string, values: object): void => {
    const sec: Record<string, string> = out[name] ?? {};
    for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) addSection(`${name}.${k}`, v);
      else sec[k] = v === true ? '' : Array.isArray(v) ? v.map((x) => String(x)).join(',') : String(v);
    }
    out[name] = sec;
  };
  for (const [section, values] of Object.entries(raw)) {
    if (values === null || typeof values !== 'object') continue;
    addSection(section, values);
  }
  return out;
}

function section(ini: Record<string, Record<string, string>>, name: string): Record<string, string> | undefined {
  const key = Object.keys(ini).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : ini[key];
}

function value(sec: Record<string, string> | undefined, name: string): string | undefined {
  if (!sec) return undefined;
  const key = Object.keys(sec).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : sec[key].trim();
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

export class ContentLibrary {
  /** PkgLib read once, however many callers ask at the same time (planning asks for every package side by side). */
  private packagesCache: Promise<Map<string, LibraryPackage>> | null = null;
  private readonly contentCache = new Map<string, Promise<ContentInfo>>();

  private constructor(
    readonly root: string,
    readonly fileLibRoots: readonly string[],
  ) {}

  /** Opens a library root; `extraRoots` are further SCCMContentLib folders (other drives) holding FileLib. */
  static async open(root: string, extraRoots: readonly string[] = []): Promise<ContentLibrary> {
    for (const sub of ['PkgLib', 'DataLib', 'FileLib']) {
      const p = join(root, sub);
      try {
        await access(p);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          throw new InputError(`${root} is not a content library: it has no ${sub} folder. Point at the SCCMContentLib folder (share SCCMContentLib$).`);
        }
        throw new InputError(describeFsError(err, p));
      }
      if (!(await isDir(p))) throw new InputError(`${p} is not a folder; ${root} is not a content library.`);
    }
    try {
      await readdir(join(root, 'PkgLib'));
    } catch (err) {
      throw new InputError(describeFsError(err, join(root, 'PkgLib')));
    }
    const fileLibs = [join(root, 'FileLib')];
    for (const extra of extraRoots) {
      const p = join(extra, 'FileLib');
      if (!(await isDir(p))) throw new InputError(`${extra} has no FileLib folder; it cannot be an extra content library root.`);
      fileLibs.push(p);
    }
    return new ContentLibrary(root, fileLibs);
  }

  /** Every package PkgLib lists, by package ID (upper case). */
  packages(): Promise<Map<string, LibraryPackage>> {
    if (!this.packagesCache) {
      const read = this.readPackages();
      this.packagesCache = read;
      // A failed read is not kept: the next caller reads again (the error goes to the callers waiting for this one).
      read.catch(() => {
        if (this.packagesCache === read) this.packagesCache = null;
      });
    }
    return this.packagesCache;
  }

  private async readPackages(): Promise<Map<string, LibraryPackage>> {
    const dir = join(this.root, 'PkgLib');
    const names = await readdir(dir);
    const map = new Map<string, LibraryPackage>();
    for (const n of names.sort()) {
      const m = /^(.+)\.ini$/i.exec(n);
      if (!m) continue;
      const packageId = m[1].toUpperCase();
      const iniPath = join(dir, n);
      let ini: Record<string, Record<string, string>>;
      try {
        ini = await readIni(iniPath);
      } catch (err) {
        throw new InputError(describeFsError(err, iniPath));
      }
      const pk = section(ini, 'Packages');
      const contentIds = pk ? Object.keys(pk) : [];
      const versions: number[] = [];
      for (const c of contentIds) {
        const v = new RegExp(`^${packageId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)$`, 'i').exec(c);
        if (v) versions.push(Number(v[1]));
      }
      versions.sort((a, b) => a - b);
      const infoVersion = Number.parseInt(value(section(ini, 'Info'), 'Version') ?? '', 10);
      const currentVersion = Number.isFinite(infoVersion) ? infoVersion : versions.length ? versions[versions.length - 1] : null;
      const currentContentIds =
        versions.length > 0
          ? contentIds.filter((c) => c.toUpperCase() === `${packageId}.${currentVersion}`)
          : contentIds;
      map.set(packageId, { packageId, contentIds, currentContentIds, versions, currentVersion });
    }
    return map;
  }

  async package(packageId: string): Promise<LibraryPackage | undefined> {
    return (await this.packages()).get(packageId.toUpperCase());
  }

  /** The file list of one content, from DataLib. */
  content(contentId: string): Promise<ContentInfo> {
    let p = this.contentCache.get(contentId);
    if (!p) {
      p = this.readContent(contentId);
      this.contentCache.set(contentId, p);
    }
    return p;
  }

  private async readContent(contentId: string): Promise<ContentInfo> {
    const iniPath = join(this.root, 'DataLib', `${contentId}.INI`);
    let iniBytes: Buffer;
    try {
      iniBytes = await readFile(iniPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new InputError(`${iniPath}: missing. The library lists content ${contentId} but holds no description of it; redistribute the package.`);
      throw new InputError(describeFsError(err, iniPath));
    }
    const infoSec = section(parseIniBuffer(iniBytes), 'Info');
    const version = Number.parseInt(value(infoSec, 'Version') ?? '', 10);
    const base = join(this.root, 'DataLib', contentId);
    const listing: Listing = { files: [], folders: [] };
    if (await isDir(base)) await this.list(base, '', listing);
    // The files' INIs (a read each) are what the cache saves: found by the content's own INI and every name under it.
    const key = async (): Promise<string> => cacheKey('contents', [this.root, contentId, iniBytes, listing.folders.join('\0'), listing.files.map((f) => f.path).join('\0')]);
    const files = await cached('contents', key, isContentFileList, () => this.readFileInis(listing.files));
    return {
      contentId,
      version: Number.isFinite(version) ? version : null,
      folderHash: value(infoSec, 'Hash')?.toUpperCase() ?? null,
      files,
      folders: listing.folders,
    };
  }

  /** Every file INI and folder under `dir`, in directory order (no INI read). */
  private async list(dir: string, rel: string, out: Listing): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      throw new InputError(describeFsError(err, dir));
    }
    const dirNames = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name.toLowerCase()));
    entries.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0));
    // Folders are walked in order, so the list keeps the directory order.
    for (const e of entries) {
      const childRel = rel === '' ? e.name : `${rel}\\${e.name}`;
      if (e.isDirectory()) {
        out.folders.push(childRel);
        await this.list(join(dir, e.name), childRel, out);
        continue;
      }
      const m = /^(.+)\.ini$/i.exec(e.name);
      // "X.INI" beside a folder "X" describes the folder, not a file.
      if (!m || dirNames.has(m[1].toLowerCase())) continue;
      out.files.push({ iniPath: join(dir, e.name), path: rel === '' ? m[1] : `${rel}\\${m[1]}` });
    }
  }

  /**
   * The files' small INIs, read synchronously in batches, the event loop getting a turn between them: one awaited read
   * after another cost four thread-pool round trips each (half a second for 2,000 files).
   */
  private async readFileInis(list: readonly { iniPath: string; path: string }[]): Promise<ContentFile[]> {
    const files: ContentFile[] = [];
    for (const f of list) {
      files.push(this.readFileIni(f.iniPath, f.path));
      if (files.length % INI_BATCH === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return files;
  }

  private readFileIni(iniPath: string, path: string): ContentFile {
    let buf: Buffer;
    try {
      buf = readFileSync(iniPath);
    } catch (err) {
      throw new InputError(describeFsError(err, iniPath));
    }
    const fsec = section(parseIniBuffer(buf), 'File');
    const hash = value(fsec, 'Hash')?.toUpperCase() ?? '';
    const size = Number(value(fsec, 'Size'));
    if (!HASH_RE.test(hash) || !Number.isSafeInteger(size) || size < 0) {
      throw new InputError(`${iniPath}: [File] needs Hash (SHA-256 hex) and Size; the content library entry is damaged.`);
    }
    const attrs = Number.parseInt(value(fsec, 'Attributes') ?? '0', 16);
    const tm = value(fsec, 'TimeModified');
    return { path, size, hash, attributes: Number.isFinite(attrs) ? attrs : 0, modified: tm ? fromFileTime(tm) : null };
  }

  /** The files of a package's current content (all current content IDs, in order). */
  async packageFiles(packageId: string): Promise<{ contentId: string; file: ContentFile }[]> {
    const pkg = await this.package(packageId);
    if (!pkg) throw new InputError(`the content library ${this.root} does not hold package ${packageId}.`);
    const out: { contentId: string; file: ContentFile }[] = [];
    for (const id of pkg.currentContentIds) for (const file of (await this.content(id)).files) out.push({ contentId: id, file });
    return out;
  }

  /** Total bytes of a package's current content. */
  async packageSize(packageId: string): Promise<number> {
    let total = 0;
    for (const { file } of await this.packageFiles(packageId)) total += file.size;
    return total;
  }

  /** Whether the folder hash recorded in DataLib matches the file list (no bytes read). */
  async checkFolderHash(contentId: string): Promise<{ recorded: string | null; computed: string }> {
    const c = await this.content(contentId);
    return { recorded: c.folderHash, computed: folderHash(c.files.map((f) => ({ path: f.path, hash: f.hash })), c.folders) };
  }

  /** Where a file's bytes live in the single-instance store; throws when no FileLib root holds them. */
  async blobPath(file: ContentFile, contentId = ''): Promise<string> {
    for (const lib of this.fileLibRoots) {
      const p = join(lib, file.hash.slice(0, 4), file.hash);
      try {
        // A synchronous check: thousands of awaited thread-pool round trips cost half a second for a large package.
        accessSync(p);
        return p;
      } catch {
        // try the next root
      }
    }
    throw new ContentIntegrityError(
      `${this.root}: the file ${contentId ? `${contentId}\\` : ''}${file.path} is missing from the single-instance store (FileLib\\${file.hash.slice(0, 4)}\\${file.hash}). Redistribute the package to this distribution point or choose another.`,
      file.path,
    );
  }

  /**
   * A stream of a file's bytes that fails with ContentIntegrityError when the bytes do not hash to what DataLib says
   * (checked as they flow, so the hash costs no second read).
   */
  async openFile(file: ContentFile, contentId = ''): Promise<Readable> {
    const blob = await this.blobPath(file, contentId);
    const label = `${contentId ? `${contentId}\\` : ''}${file.path}`;
    const source = createReadStream(blob, { highWaterMark: 1024 * 1024 });
    const check = new HashCheck(file, label, blob);
    source.on('error', (err) => check.destroy(new InputError(describeFsError(err, blob))));
    return source.pipe(check);
  }
}

class HashCheck extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;

  constructor(
    private readonly file: ContentFile,
    private readonly label: string,
    private readonly blob: string,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const got = this.hash.digest('hex').toUpperCase();
    if (this.bytes !== this.file.size || got !== this.file.hash) {
      cb(
        new ContentIntegrityError(
          `${this.label}: the bytes in ${this.blob} do not match the content library (expected ${this.file.size} bytes with SHA-256 ${this.file.hash}, read ${this.bytes} bytes with ${got}). The library is damaged: redistribute the package or choose another distribution point.`,
          this.file.path,
        ),
      );
      return;
    }
    cb();
  }
}

