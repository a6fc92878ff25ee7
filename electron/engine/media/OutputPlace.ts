// Where media output may go and what it may replace, for the ISO and the USB image paths alike: never inside what the
// media is made from (the site, its distribution points' content libraries, the application), and — for a USB image,
// whose name is the user's to choose — an existing file is replaced only when it is an earlier tsmedia image (known by
// its own content: the FAT32 volume's tsmedia manifest) or the user confirmed that very file. The reports and the log
// beside an image never overwrite a file that is not tsmedia's either.
import { closeSync, existsSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, extname, posix, resolve, win32 } from 'node:path';
import { mountpointContains } from '../../../shared/drives.js';
import { USB_IMAGE_EXTENSION, type UsbImageTarget } from '../../../shared/media.js';
import { plainWindowsPath } from '../../../shared/windowsPaths.js';
import { isSiteUrl } from '../site/live/SiteAddress.js';
import { InputError, codedInputError } from '../errors.js';
import { openFat32 } from '../formats/fat32/Fat32Reader.js';
import { uncShare } from '../io/OutputVolume.js';
import { MANIFEST_PATH, parseManifest } from './Manifest.js';
import { reportFilesFor } from './MediaReport.js';
import { writeAccessRefusal } from './SafeOutput.js';
import { packageRoot } from '../paths.js';
import type { Site } from '../site/Site.js';

/** The folders the media is made from and the application lives in: no drive holding them, no output inside them. */
export function sourceFolders(site: Site): string[] {
  const app = [packageRoot()];
  // A packaged Electron app: its executable's folder holds the whole application (resources, the asar archive).
  if (process.versions.electron) app.push(dirname(process.execPath));
  // A live site's root is its service's address, no folder of this computer.
  return [...(isSiteUrl(site.root) ? [] : [site.root]), ...site.distributionPoints.map((d) => d.root), ...app];
}

/** The path module of `platform`: Windows paths are read as Windows reads them, on any OS (the rules' tests). */
const pathsOf = (platform: NodeJS.Platform): typeof posix => (platform === 'win32' ? win32 : posix);

/**
 * The path with symbolic links resolved as far as it exists (a file not yet written keeps its own name). Windows' long
 * form is walked up in its plain form (\\?\UNC\server\share\x as \\server\share\x), so the walk stops at the share
 * instead of climbing to \\?\UNC\server.
 */
export function realPath(p: string, platform: NodeJS.Platform = process.platform, real: (p: string) => string = realpathSync.native): string {
  const path = pathsOf(platform);
  const abs = platform === 'win32' ? plainWindowsPath(win32.resolve(p)) : path.resolve(p);
  try {
    return real(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realPath(parent, platform, real), path.basename(abs));
  }
}

/** Refuses an output file inside the site, a content library or the application's folder, before anything is written. */
export function refuseInsideSources(file: string, site: Site, what: string): void {
  const target = realPath(file);
  const holding = sourceFolders(site).filter((folder) => mountpointContains(realPath(folder), target) || mountpointContains(resolve(folder), resolve(file)));
  // The innermost one names it best (a content library inside the site folder).
  const folder = holding.sort((a, b) => b.length - a.length)[0];
  if (folder !== undefined) {
    throw codedInputError(
      'OUTPUT_INSIDE_SOURCES',
      { path: file, folder },
      `${what}: ${file} is inside ${folder}, which the media is made from (the site, a content library or the application). Choose a folder outside it.`,
    );
  }
}

const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/** Whether a file is a USB image tsmedia wrote: a FAT32 volume holding a tsmedia manifest. Any doubt is "no". */
export function isTsmediaImage(path: string): boolean {
  let vol;
  try {
    vol = openFat32(path);
  } catch {
    return false;
  }
  try {
    const f = vol.find(MANIFEST_PATH);
    if (!f || f.size > MAX_MANIFEST_BYTES) return false;
    parseManifest(vol.readFileBuffer(MANIFEST_PATH).toString('utf8'), `${path}:${MANIFEST_PATH}`);
    return true;
  } catch {
    return false;
  } finally {
    vol.close();
  }
}

function readHead(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(bytes);
    return b.subarray(0, readSync(fd, b, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

/** Whether an existing report file is one tsmedia wrote (MediaReport: its JSON format, or its Markdown's first lines). */
export function isTsmediaReport(path: string): boolean {
  try {
    const text = readHead(path, 64 * 1024).toString('utf8');
    if (path.endsWith('.json')) return /^\{\s*"format":\s*"tsmedia-report\/\d+"/.test(text);
    return /^# Stand-alone media: [\s\S]*?\n\nCreated \S+ by tsmedia /.test(text);
  } catch {
    return false;
  }
}

/** What the file system says of an output file's place: whether its folder is one, and whether the path is a folder. */
export interface PlaceFacts {
  /** 'missing' also when a part of the path is a file; `error` when the folder's file system did not answer. */
  folder: 'folder' | 'missing' | 'not-folder' | { error: unknown };
  pathIsFolder: boolean;
  /**
   * Windows: the share (\\server\share) of a folder that is not there, when the share itself does not answer either —
   * the server is off, the share has another name, the user is not signed in — so creating the folder would not help.
   */
  unreachableShare: string | null;
}

const GONE = new Set(['ENOENT', 'ENOTDIR']);

function factsFrom(folder: PromiseSettledResult<Stats>, file: PromiseSettledResult<Stats>): PlaceFacts {
  let f: PlaceFacts['folder'];
  if (folder.status === 'fulfilled') f = folder.value.isDirectory() ? 'folder' : 'not-folder';
  else f = GONE.has((folder.reason as NodeJS.ErrnoException).code ?? '') ? 'missing' : { error: folder.reason };
  return { folder: f, pathIsFolder: file.status === 'fulfilled' && file.value.isDirectory(), unreachableShare: null };
}

const settle = <T>(fn: () => T): PromiseSettledResult<T> => {
  try {
    return { status: 'fulfilled', value: fn() };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
};

/** The UNC share whose answer is asked when an output folder is not there (Windows only). */
const shareOfMissing = (facts: PlaceFacts, path: string, platform: NodeJS.Platform): string | null =>
  facts.folder === 'folder' || platform !== 'win32' ? null : uncShare(win32.resolve(path));

/** The place's facts from two stat calls, and a third of the share when the folder is not there (nothing opened or created). */
export function placeFacts(path: string, platform: NodeJS.Platform = process.platform): PlaceFacts {
  const p = pathsOf(platform);
  const facts = factsFrom(
    settle(() => statSync(p.dirname(p.resolve(path)))),
    settle(() => statSync(path)),
  );
  const share = shareOfMissing(facts, path, platform);
  return share !== null && settle(() => statSync(`${share}\\`)).status === 'rejected' ? { ...facts, unreachableShare: share } : facts;
}

/** placeFacts without holding the thread: a share that is slow to answer (or never does) keeps a window responsive. */
export async function placeFactsAsync(path: string, platform: NodeJS.Platform = process.platform): Promise<PlaceFacts> {
  const p = pathsOf(platform);
  const [folder, file] = await Promise.allSettled([stat(p.dirname(p.resolve(path))), stat(path)]);
  const facts = factsFrom(folder, file);
  const share = shareOfMissing(facts, path, platform);
  const unanswered = share !== null && (await stat(`${share}\\`).then(() => false, () => true));
  return unanswered ? { ...facts, unreachableShare: share } : facts;
}

/** The refusal for a folder that is not there (or not a folder, or did not answer), or a path that is a folder. */
function placeRefusal(path: string, what: string, facts: PlaceFacts, missing: string, isFolder: string): InputError | null {
  const dir = dirname(resolve(path));
  const share = facts.unreachableShare;
  if (share !== null) {
    return codedInputError(
      'OUTPUT_SHARE_UNREACHABLE',
      { share, path },
      `${what}: the network share ${share} cannot be reached (the server does not answer, the share has another name, or you are not signed in to it). Open ${share} in Explorer to check, then run tsmedia again.`,
    );
  }
  if (typeof facts.folder === 'object') return writeAccessRefusal(facts.folder.error, dir, what);
  if (facts.folder !== 'folder') return codedInputError('OUTPUT_FOLDER_MISSING', { folder: dir, path }, `${what}: the folder ${dir} does not exist.${missing}`);
  if (facts.pathIsFolder) return codedInputError('OUTPUT_IS_FOLDER', { path }, `${what} is a folder; ${isFolder}`);
  return null;
}

/** Why an ISO set cannot be written at `out`, from its name and place only (nothing read): or null. */
export function isoTargetRefusal(out: string, what: string, facts?: PlaceFacts): InputError | null {
  if (!/\.iso$/i.test(out)) return codedInputError('ISO_EXTENSION', { path: out, extension: '.iso' }, `${what}: the media file must end in .iso.`);
  return placeRefusal(out, what, facts ?? placeFacts(out), ' Create it first.', 'give the path of the first ISO file.');
}

/** Why a USB image cannot be written at `path`, from its name and place only (nothing read): or null. */
export function imageTargetRefusal(path: string, what: string, facts?: PlaceFacts): InputError | null {
  if (extname(path).toLowerCase() !== USB_IMAGE_EXTENSION) {
    return codedInputError('IMAGE_EXTENSION', { path, extension: USB_IMAGE_EXTENSION }, `${what}: a USB image file must end in ${USB_IMAGE_EXTENSION}.`);
  }
  return placeRefusal(path, what, facts ?? placeFacts(path), '', 'give an image file.');
}

/** Whether two names are one file: on Windows in any case and either form (\\?\UNC\server\share\x is \\server\share\x). */
export function sameFile(a: string, b: string, platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'win32') return posix.resolve(a) === posix.resolve(b);
  const key = (p: string): string => plainWindowsPath(win32.resolve(p)).toLowerCase();
  return key(a) === key(b);
}

/**
 * Checks a USB image target before anything is read or written: its extension, its folder, its place, and what an
 * existing file at its name is. `format` false adds files to an existing image (which must exist; it is not replaced).
 */
export function checkImageTarget(target: UsbImageTarget, format: boolean, site: Site): void {
  const path = target.path;
  const what = `--image ${path}`;
  const refused = imageTargetRefusal(path, what);
  if (refused) throw refused;
  refuseInsideSources(path, site, what);
  if (target.replace !== null && !sameFile(target.replace, path)) {
    throw new InputError(`--replace ${target.replace} names another file than the image (${path}); confirm the image's own file.`);
  }
  for (const report of reportFilesFor(path)) {
    if (existsSync(report) && !isTsmediaReport(report)) {
      throw codedInputError('OUTPUT_FILE_FOREIGN', { path: report }, `${what}: the report ${report} would replace a file tsmedia did not write. Move it away or choose another image name.`);
    }
  }
  if (format && existsSync(path) && target.replace === null && !isTsmediaImage(path)) {
    throw codedInputError(
      'IMAGE_EXISTS',
      { path },
      `${what}: the file exists and is not a USB image made by tsmedia; it is replaced only when you confirm it by name (--replace ${path}). Or choose another name.`,
    );
  }
}
