// Writes a Configuration Manager content library (the SCCMContentLib layout of a distribution point), streaming.
//
// Layout written (SPEC.md "Distribution point content library"):
//   PkgLib\<PackageID>.INI             [Packages] <ContentID>= lines; legacy packages also [Info] Version=<n>
//   DataLib\<ContentID>.INI            [Info] Version=, Hash= (the folder hash)
//   DataLib\<ContentID>\<dirs>\<f>.INI [File] Hash=, Size=, Attributes=, TimeModified=
//   FileLib\<HASH[0..4]>\<HASH>        the bytes, once per library (single-instance store)
//   FileLib\<HASH[0..4]>\<HASH>.INI    [Content Items] <ContentID>= lines
// INI files are UTF-8 without BOM, CRLF line endings, a blank line between sections.
// File content is never held in memory when it comes from disk: it is hashed while it is copied.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { folderHash, toFileTime } from './FolderHash.js';
import { InputError } from '../errors.js';

export interface ContentSourceFile {
  /** Path inside the content, "/" or "\" separated. */
  relativePath: string;
  /** File to copy (streamed). One of sourcePath / data is required. */
  sourcePath?: string;
  /** Bytes to write, for small generated files. */
  data?: Buffer;
  /** Windows file attributes; default 0x20 (archive). */
  attributes?: number;
  /** Last write time; default 2025-01-01T00:00:00Z so that output is deterministic. */
  mtime?: Date;
}

export interface WrittenContent {
  contentId: string;
  folderHash: string;
  /** relativePath is "\"-separated, as the content library writes paths. hash is uppercase SHA-256 hex. */
  files: { relativePath: string; size: number; hash: string }[];
}

export interface ContentLibraryWriterOptions {
  /** A second SCCMContentLib root; blobs whose hash starts with a hex digit >= '8' go to its FileLib. */
  extraFileLib?: string;
}

export interface AddContentOptions {
  /** Default `${packageId}.${version}`; applications use e.g. `Content_<guid>.1`. */
  contentId?: string;
  /** Extra (possibly empty) folders of the content, "/" or "\" separated. */
  folders?: string[];
}

export interface AddContentFromFolderOptions {
  contentId?: string;
  /** Use the files' real modification times instead of the fixed default. */
  keepTimes?: boolean;
}

/** The fixed default modification time (2025-01-01T00:00:00Z). */
export const DEFAULT_MTIME = new Date(Date.UTC(2025, 0, 1, 0, 0, 0));
const DEFAULT_ATTRIBUTES = 0x20;

type IniSection = { name: string; entries: [string, string][] };

/** Serializes INI sections the way the content library files are written: CRLF, blank line between sections. */
export function formatIni(sections: readonly IniSection[]): string {
  return sections.map((s) => [`[${s.name}]`, ...s.entries.map(([k, v]) => `${k}=${v}`)].join('\r\n') + '\r\n').join('\r\n');
}

/** Minimal INI reader for files this writer appends to (keeps order, tolerates LF, BOM, comments). */
function parseIni(text: string): IniSection[] {
  const sections: IniSection[] = [];
  let current: IniSection | null = null;
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';')) continue;
    const m = /^\[(.*)\]$/.exec(line);
    if (m) {
      current = { name: m[1] ?? '', entries: [] };
      sections.push(current);
      continue;
    }
    if (!current) continue;
    const eq = line.indexOf('=');
    if (eq < 0) current.entries.push([line, '']);
    else current.entries.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return sections;
}

async function readIniIfExists(path: string): Promise<IniSection[]> {
  try {
    return parseIni(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Splits a content-relative path into its parts; rejects empty, absolute-looking and ".." paths. */
function splitRelative(p: string, what: string): string[] {
  const parts = p.split(/[\\/]+/).filter((s) => s !== '');
  if (parts.length === 0) throw new InputError(`${what}: empty path inside the content.`);
  for (const part of parts) {
    if (part === '.' || part === '..' || /[:*?"<>|\0]/.test(part)) {
      throw new InputError(`${what}: "${p}" is not a valid path inside the content (no "..", drive letters or wildcards).`);
    }
  }
  return parts;
}

const CONTENT_ID_RE = /^[A-Za-z0-9_.{}-]+$/;
const PACKAGE_ID_RE = /^[A-Za-z0-9_-]+$/;

export class ContentLibraryWriter {
  private readonly extraFileLib: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private tmpCounter = 0;

  constructor(
    readonly root: string,
    options: ContentLibraryWriterOptions = {},
  ) {
    this.extraFileLib = options.extraFileLib;
  }

  /** Adds one content (a package at one version) to the library. Calls are serialized. */
  addContent(packageId: string, version: number, files: ContentSourceFile[], options: AddContentOptions = {}): Promise<WrittenContent> {
    return this.serialize(() => this.doAddContent(packageId, version, files, options));
  }

  /** Adds the whole tree of `folder` (recursively, empty folders kept) as one content. */
  async addContentFromFolder(
    packageId: string,
    version: number,
    folder: string,
    options: AddContentFromFolderOptions = {},
  ): Promise<WrittenContent> {
    const files: ContentSourceFile[] = [];
    const folders: string[] = [];
    const walk = async (abs: string, rel: string): Promise<void> => {
      const entries = await readdir(abs, { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const childAbs = join(abs, e.name);
        const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
        let isDir = e.isDirectory();
        let isFile = e.isFile();
        if (e.isSymbolicLink()) {
          const s = await stat(childAbs);
          isDir = s.isDirectory();
          isFile = s.isFile();
        }
        if (isDir) {
          folders.push(childRel);
          await walk(childAbs, childRel);
        } else if (isFile) {
          const f: ContentSourceFile = { relativePath: childRel, sourcePath: childAbs };
          if (options.keepTimes) f.mtime = (await stat(childAbs)).mtime;
          files.push(f);
        }
      }
    };
    await walk(folder, '');
    const add: AddContentOptions = { folders };
    if (options.contentId !== undefined) add.contentId = options.contentId;
    return this.addContent(packageId, version, files, add);
  }

  private serialize<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async doAddContent(
    packageId: string,
    version: number,
    files: ContentSourceFile[],
    options: AddContentOptions,
  ): Promise<WrittenContent> {
    if (!PACKAGE_ID_RE.test(packageId)) throw new InputError(`"${packageId}" is not a valid package ID.`);
    if (!Number.isInteger(version) || version < 0) throw new InputError(`${packageId}: version ${version} is not a whole number.`);
    const contentId = options.contentId ?? `${packageId}.${version}`;
    if (!CONTENT_ID_RE.test(contentId)) throw new InputError(`"${contentId}" is not a valid content ID.`);

    // Validate and normalize every path first, so that nothing is written for a bad request.
    const seen = new Set<string>();
    const folderSet = new Map<string, string>();
    const addFolder = (parts: string[]): void => {
      for (let i = 1; i <= parts.length; i++) {
        const p = parts.slice(0, i).join('\\');
        if (!folderSet.has(p.toLowerCase())) folderSet.set(p.toLowerCase(), p);
      }
    };
    const planned = files.map((f) => {
      const parts = splitRelative(f.relativePath, `${contentId}`);
      const rel = parts.join('\\');
      const key = rel.toLowerCase();
      if (seen.has(key)) throw new InputError(`${contentId}: "${rel}" is listed twice.`);
      seen.add(key);
      if ((f.sourcePath === undefined) === (f.data === undefined)) {
        throw new InputError(`${contentId}: "${rel}" needs exactly one of sourcePath or data.`);
      }
      addFolder(parts.slice(0, -1));
      return { file: f, parts, rel };
    });
    for (const folder of options.folders ?? []) addFolder(splitRelative(folder, contentId));
    for (const p of planned) {
      if (folderSet.has(p.rel.toLowerCase())) throw new InputError(`${contentId}: "${p.rel}" is both a file and a folder.`);
    }

    // DataLib\<ContentID>\ is rewritten from scratch when the same content is added again.
    const dataDir = join(this.root, 'DataLib', contentId);
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true });
    for (const folder of [...folderSet.values()].sort()) await mkdir(join(dataDir, ...folder.split('\\')), { recursive: true });

    const written: WrittenContent['files'] = [];
    for (const p of planned) {
      const { hash, size } = await this.storeBlob(p.file, contentId);
      const attributes = p.file.attributes ?? DEFAULT_ATTRIBUTES;
      const mtime = p.file.mtime ?? DEFAULT_MTIME;
      const ini = formatIni([
        {
          name: 'File',
          entries: [
            ['Hash', hash],
            ['Size', String(size)],
            ['Attributes', attributes.toString(16).toUpperCase()],
            ['TimeModified', toFileTime(mtime)],
          ],
        },
      ]);
      await writeFile(join(dataDir, ...p.parts.slice(0, -1), `${p.parts[p.parts.length - 1]}.INI`), ini);
      written.push({ relativePath: p.rel, size, hash });
    }

    const hash = folderHash(
      written.map((w) => ({ path: w.relativePath, hash: w.hash })),
      [...folderSet.values()],
    );
    await writeFile(
      join(this.root, 'DataLib', `${contentId}.INI`),
      formatIni([
        {
          name: 'Info',
          entries: [
            ['Version', String(version)],
            ['Hash', hash],
          ],
        },
      ]),
    );
    await this.updatePkgLib(packageId, contentId);
    return { contentId, folderHash: hash, files: written };
  }

  private fileLibRootFor(hash: string): string {
    const first = hash.charAt(0);
    if (this.extraFileLib !== undefined && first >= '8' && first <= 'F') return this.extraFileLib;
    return this.root;
  }

  /** Copies one file into FileLib (unless the blob is already there) and lists the content ID in its INI. */
  private async storeBlob(file: ContentSourceFile, contentId: string): Promise<{ hash: string; size: number }> {
    let hash: string;
    let size: number;
    let staged: string | null = null;
    if (file.data !== undefined) {
      hash = createHash('sha256').update(file.data).digest('hex').toUpperCase();
      size = file.data.length;
    } else {
      // Hash while copying into a staging file in this library's FileLib; moved into place once the hash is known.
      const stagingDir = join(this.root, 'FileLib');
      await mkdir(stagingDir, { recursive: true });
      staged = join(stagingDir, `~incoming-${process.pid}-${++this.tmpCounter}.tmp`);
      const hasher: Hash = createHash('sha256');
      let count = 0;
      try {
        await pipeline(
          createReadStream(file.sourcePath as string),
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              hasher.update(chunk);
              count += chunk.length;
              yield chunk;
            }
          },
          createWriteStream(staged),
        );
      } catch (err) {
        await rm(staged, { force: true });
        throw err;
      }
      hash = hasher.digest('hex').toUpperCase();
      size = count;
    }

    const libRoot = this.fileLibRootFor(hash);
    const dir = join(libRoot, 'FileLib', hash.slice(0, 4));
    const blob = join(dir, hash);
    await mkdir(dir, { recursive: true });
    if (await exists(blob)) {
      if (staged !== null) await unlink(staged);
    } else {
      const tmp = `${blob}.tmp`;
      if (file.data !== undefined) {
        await writeFile(tmp, file.data);
      } else if (staged !== null) {
        try {
          await rename(staged, tmp);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
          // The extra FileLib is on another volume: copy, then drop the staging file.
          await copyFile(staged, tmp);
          await unlink(staged);
        }
      }
      await rename(tmp, blob);
    }

    const iniPath = `${blob}.INI`;
    const sections = await readIniIfExists(iniPath);
    let items = sections.find((s) => s.name.toLowerCase() === 'content items');
    if (!items) {
      items = { name: 'Content Items', entries: [] };
      sections.unshift(items);
    }
    if (!items.entries.some(([k]) => k.toLowerCase() === contentId.toLowerCase())) {
      items.entries.push([contentId, '']);
      await writeFile(iniPath, formatIni(sections));
    }
    return { hash, size };
  }

  private async updatePkgLib(packageId: string, contentId: string): Promise<void> {
    const dir = join(this.root, 'PkgLib');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${packageId}.INI`);
    const old = await readIniIfExists(path);
    const packages = old.find((s) => s.name.toLowerCase() === 'packages') ?? { name: 'Packages', entries: [] };
    if (!packages.entries.some(([k]) => k.toLowerCase() === contentId.toLowerCase())) packages.entries.push([contentId, '']);

    const legacy = new RegExp(`^${packageId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)$`, 'i');
    let highest: number | null = null;
    for (const [k] of packages.entries) {
      const m = legacy.exec(k);
      if (m) {
        const n = Number(m[1]);
        if (highest === null || n > highest) highest = n;
      }
    }
    const sections: IniSection[] = [{ name: 'Packages', entries: packages.entries }];
    const oldInfo = old.find((s) => s.name.toLowerCase() === 'info');
    if (highest !== null) {
      const rest = (oldInfo?.entries ?? []).filter(([k]) => k.toLowerCase() !== 'version');
      sections.push({ name: 'Info', entries: [['Version', String(highest)], ...rest] });
    } else if (oldInfo) {
      sections.push(oldInfo);
    }
    for (const s of old) {
      const n = s.name.toLowerCase();
      if (n !== 'packages' && n !== 'info') sections.push(s);
    }
    await writeFile(path, formatIni(sections));
  }
}
