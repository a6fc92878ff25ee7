// Output that never destroys what was there before the new result is complete: every file is written under a
// temporary name beside its destination, flushed, and renamed into place only when the whole set is done. A run that
// is cancelled, fails or is killed leaves earlier output untouched and nothing under a final name.
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ContentIntegrityError, InputError, codedInputError, describeFsError, errorMessage } from '../errors.js';
import { CancelledError, WriteError } from '../io/ImageWriter.js';
import { UV_FS_O_EXLOCK_WIN32 } from '../io/deviceFlags.js';
import { describePlace, folderAnswers, outputVolume, type OutputVolume } from '../io/OutputVolume.js';

// ".<final name>.tsmedia-<pid>-<random>-<computer>.partial": the computer's name tells whose run it is where several
// computers write to one share (a process number means nothing on another computer). Names from before it was added
// have no computer part and count as this computer's.
const PARTIAL_RE = /^\.(.+)\.tsmedia-(\d+)-[0-9a-f]{8}(?:-([A-Za-z0-9-]{1,32}))?\.partial$/;

/** This computer's name as it goes into partial file names (letters, digits and '-' only). */
export function computerTag(name: string = hostname()): string {
  return name.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 32) || 'host';
}

export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tsmedia-${process.pid}-${randomBytes(4).toString('hex')}-${computerTag()}.partial`);
}

/** Another computer's partial file is taken for abandoned once it has not changed for this long. */
export const FOREIGN_PARTIAL_AGE_MS = 24 * 60 * 60 * 1000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A medium's own name and the files written beside it: its `.sha256` and the run's report (`<stem>.report.md`, `.json`). */
function withCompanions(name: string): string[] {
  const stem = name.replace(/\.[^.]+$/, '');
  return [name, `${name}.sha256`, `${stem}.report.md`, `${stem}.report.json`];
}

export interface StalePartials {
  removed: string[];
  /** Another computer's partial files, changed within FOREIGN_PARTIAL_AGE_MS: perhaps a live run, so left alone. */
  kept: string[];
}

/**
 * Removes partial files an earlier, killed run left beside these destinations — the media files and their companions
 * (checksum, report), whatever moment the kill came at — never a live run's: this computer's are removed when their
 * process has ended, another computer's (on a share) when they have not changed for a day.
 */
export function removeStalePartials(finalPaths: string[], now: number = Date.now()): StalePartials {
  const removed: string[] = [];
  const kept: string[] = [];
  const me = computerTag().toLowerCase();
  const dirs = new Set(finalPaths.map((p) => dirname(p)));
  const names = new Set(finalPaths.flatMap((p) => withCompanions(basename(p))));
  for (const d of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      continue;
    }
    for (const e of entries) {
      const m = PARTIAL_RE.exec(e);
      if (!m || !names.has(m[1])) continue;
      const path = join(d, e);
      if (m[3] === undefined || m[3].toLowerCase() === me) {
        if (alive(Number(m[2]))) continue;
      } else {
        let age = 0;
        try {
          age = now - statSync(path).mtimeMs;
        } catch {
          continue;
        }
        if (age < FOREIGN_PARTIAL_AGE_MS) {
          kept.push(path);
          continue;
        }
      }
      try {
        unlinkSync(path);
        removed.push(path);
      } catch {
        // another run may be removing it too
      }
    }
  }
  return { removed, kept };
}

/** Removes these files where they exist; returns those that could not be removed (a share that went away). */
export function removeQuietly(paths: Iterable<string>): string[] {
  const left: string[] = [];
  for (const p of paths) {
    try {
      unlinkSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') left.push(p);
    }
  }
  return left;
}

/** Writes a small file under a temporary name and flushes it (renamed later with the rest of the set). */
export function writeTempFile(temp: string, data: Buffer | string): void {
  writeFileSync(temp, data);
  const fd = openSync(temp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether another program has the file open, so that Windows would refuse to replace it (a virtual machine using the
 * ISO, a disc tool, Explorer's preview, an antivirus scan). Only Windows asks: elsewhere an open file never stops a
 * rename. Opening it sharing nothing fails with a sharing violation (EBUSY) while any other handle is open.
 */
export function heldOpenByAnother(path: string): boolean {
  if (process.platform !== 'win32') return false;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | UV_FS_O_EXLOCK_WIN32);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EBUSY';
  }
  closeSync(fd);
  return false;
}

/** Codes with which Windows refuses to replace a file another program holds (a sharing violation, access denied). */
const inUse = (err: unknown): boolean => process.platform === 'win32' && ['EBUSY', 'EPERM', 'EACCES'].includes((err as NodeJS.ErrnoException).code ?? '');

/** A new folder beside the output for a set that cannot take its final names: "<first name's stem>.new", "-2", … */
function keptFolder(first: string): string {
  const base = join(dirname(first), `${basename(first).replace(/\.[^.]+$/, '')}.new`);
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    if (!existsSync(dir)) {
      mkdirSync(dir);
      return dir;
    }
  }
}

/**
 * The set could not take the final name of `pairs[0]`: its files not yet renamed move, under their final names, to a
 * folder of their own beside the output, and the error says where, what was kept and what to do. When even that folder
 * cannot be made, the temporary files are left for the caller to remove and the error says so.
 */
function keepRest(pairs: { temp: string; final: string }[], replaced: string[], cause: unknown): never {
  const { final } = pairs[0];
  const held = cause === null || inUse(cause);
  const why = held
    ? 'another program has it open (a virtual machine or disc tool using it, Explorer\'s preview, an antivirus scan), and Windows does not let a file in use be replaced'
    : `the file could not be replaced (${errorMessage(cause)})`;
  let kept: string | null = null;
  const moved: string[] = [];
  try {
    kept = keptFolder(final);
    for (const p of pairs) {
      renameSync(p.temp, join(kept, basename(p.final)));
      moved.push(basename(p.final));
    }
  } catch {
    // Nothing more can be kept; what was moved is said below, the rest is removed with the other temporary files.
  }
  const earlier = existsSync(final) ? `The earlier ${final} is untouched. ` : '';
  const before = replaced.length ? `Already in place from the new set: ${replaced.join(', ')}. ` : '';
  const where =
    kept !== null && moved.length === pairs.length
      ? `The rest of the new set, complete, is kept in ${kept} under its final names (${moved.join(', ')}). ${held ? `Close the program that holds ${basename(final)}, then move those files into ${dirname(final)}` : `Move them into ${dirname(final)} once that is solved`}, or run tsmedia again.`
      : `${moved.length ? `Only ${moved.join(', ')} could be kept, in ${kept}; the rest of the new set was removed. ` : 'The new set could not be kept and was removed. '}${held ? `Close the program that holds ${basename(final)} and run tsmedia again.` : 'Solve that and run tsmedia again.'}`;
  const message = `cannot put ${final} in place: ${why}. ${earlier}${before}${where}`;
  if (held && kept !== null && moved.length === pairs.length) throw codedInputError('OUTPUT_IN_USE', { path: final, kept }, message);
  throw new InputError(message);
}

/**
 * Renames every temporary file into place, then flushes the folders so the names survive a power loss. A final name
 * that cannot be taken — on Windows, mostly an earlier file another program holds open — never costs the new set: the
 * files not yet in place are kept under their final names in a folder beside them (keepRest), the earlier files stay.
 */
export function commit(pairs: { temp: string; final: string }[]): void {
  // A final name a file cannot take (a folder holds it) stops the set before any of its files is renamed.
  for (const { final } of pairs) {
    let isFolder = false;
    try {
      isFolder = statSync(final).isDirectory();
    } catch {
      // nothing there yet, or nothing readable: the rename says what is wrong
    }
    if (isFolder) throw new InputError(`cannot put ${final} in place: it is a folder, a file was expected. Nothing was replaced.`);
  }
  // Windows: an earlier file in use is found before any file of the set is renamed, so the set is not split.
  const held = pairs.findIndex((p) => heldOpenByAnother(p.final));
  if (held >= 0) keepRest([pairs[held], ...pairs.filter((_, i) => i !== held)], [], null);
  const replaced: string[] = [];
  for (const [i, { temp, final }] of pairs.entries()) {
    try {
      renameSync(temp, final);
      replaced.push(basename(final));
    } catch (err) {
      keepRest(pairs.slice(i), replaced, err);
    }
  }
  for (const d of new Set(pairs.map((p) => dirname(p.final)))) {
    try {
      const fd = openSync(d, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // Windows cannot open folders for flushing; the renames are durable there once done.
    }
  }
}

/** Bytes written beside the media besides its images (checksums, reports, the log): kept free with them. */
export const BESIDE_MEDIA_BYTES = 4 * 1024 * 1024;

/** Where a volume is, as a message's `place` value: the share's name, or the folder. */
const placeName = (v: OutputVolume): string => v.share?.name ?? v.folder;

/**
 * The refusal for a folder that reports less free space than `needed` bytes, or null when it reports enough or does
 * not report its size (a share mounted through smbnetfs or another FUSE file system, a server that answers nothing).
 */
export function spaceRefusal(volume: OutputVolume, needed: number, what: string): InputError | null {
  if (volume.free === null || volume.free >= needed) return null;
  return codedInputError(
    'OUTPUT_NO_SPACE',
    { place: placeName(volume), freeBytes: volume.free, neededBytes: needed },
    `${what}: ${describePlace(volume)} has ${formatMiB(volume.free)} free, the media needs ${formatMiB(needed)}. Free space or choose another folder.`,
  );
}

/**
 * Refuses a folder that reports less free space than the media needs. A folder whose file system does not report its
 * size is written anyway: the returned volume says so, and a share that fills up fails the write with a named error,
 * as a full disk does.
 */
export function checkFreeSpace(dir: string, needed: number, what: string): OutputVolume {
  const volume = outputVolume(dir);
  const refused = spaceRefusal(volume, needed, what);
  if (refused) throw refused;
  return volume;
}

/** The folder's kind in the run's log: a share by name, and free space that was not reported. */
export function logVolume(log: { info(m: string): void }, v: OutputVolume): void {
  if (v.share) log.info(`output on ${describePlace(v)}`);
  if (v.free === null) log.info(`free space in ${v.folder} not checked: ${v.freeUnknown ?? 'unknown'}; a full share or disk fails the write with a named error`);
}

/**
 * A run that failed while writing to a network share: when the share no longer answers, the error says so by its
 * name (SHARE_LOST), what became of the earlier files and what to do; otherwise the failure is left as it was said.
 */
export async function nameShareFailure(err: unknown, volume: OutputVolume | null, partials: string[]): Promise<unknown> {
  if (!volume?.share || err instanceof InputError || err instanceof CancelledError || err instanceof ContentIntegrityError) return err;
  if (await folderAnswers(volume.folder)) return err;
  const share = volume.share.name;
  const left = partials.map((p) => basename(p));
  const message =
    `the network share ${share}${volume.share.mountedAt ? ` (at ${volume.share.mountedAt})` : ''} stopped answering while the media was written (${errorMessage(err).split(': ')[0]}). ` +
    'Nothing was put in place there: files under the final names are as they were before this run. ' +
    `When the share answers again, run tsmedia again${left.length ? `: it removes what this run left (${left.join(', ')})` : ''}.`;
  return new WriteError(message, { code: 'SHARE_LOST', params: { share, folder: volume.folder } });
}

const formatMiB = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

/** The refusal for a folder or image that access(2) said cannot be written (a read-only disk, no permission, a share gone). */
export function writeAccessRefusal(err: unknown, path: string, what: string): InputError {
  const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
  if (code === 'EROFS') return codedInputError('OUTPUT_READ_ONLY', { path }, `${what}: ${path} is on a read-only file system or drive; nothing can be written there. Choose another folder.`);
  if (code === 'EACCES' || code === 'EPERM') return codedInputError('OUTPUT_NOT_PERMITTED', { path }, `${what}: you may not write to ${path} (permission denied). Choose another folder.`);
  return codedInputError('OUTPUT_UNWRITABLE', { path, error: code }, `${what}: ${describeFsError(err, path)}`);
}

/** Refuses, before anything is written, a folder or image that cannot be written (a read-only disk, no permission). */
export function refuseUnwritable(path: string, what: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (err) {
    throw writeAccessRefusal(err, path, what);
  }
}
