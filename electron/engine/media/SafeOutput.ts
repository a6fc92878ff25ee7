// Output that never destroys what was there before the new result is complete: every file is written under a
// temporary name beside its destination, flushed, and renamed into place only when the whole set is done. A run that
// is cancelled, fails or is killed leaves earlier output untouched and nothing under a final name.
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fsyncSync, openSync, readdirSync, renameSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError, describeFsError } from '../errors.js';

const PARTIAL_RE = /^\.(.+)\.tsmedia-(\d+)-[0-9a-f]{8}\.partial$/;

export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tsmedia-${process.pid}-${randomBytes(4).toString('hex')}.partial`);
}

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

/**
 * Removes partial files an earlier, killed run left beside these destinations — the media files and their companions
 * (checksum, report), whatever moment the kill came at — never a live run's.
 */
export function removeStalePartials(finalPaths: string[]): string[] {
  const removed: string[] = [];
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
      if (!m || !names.has(m[1]) || alive(Number(m[2]))) continue;
      try {
        unlinkSync(join(d, e));
        removed.push(join(d, e));
      } catch {
        // another run may be removing it too
      }
    }
  }
  return removed;
}

export function removeQuietly(paths: Iterable<string>): void {
  for (const p of paths) {
    try {
      unlinkSync(p);
    } catch {
      // already gone
    }
  }
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

/** Renames every temporary file into place, then flushes the folders so the names survive a power loss. */
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
  for (const { temp, final } of pairs) {
    try {
      renameSync(temp, final);
    } catch (err) {
      throw new InputError(`cannot put ${final} in place: ${describeFsError(err, final)}`);
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

/** Free bytes for an unprivileged writer in the folder holding `path`. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return Number(s.bavail) * Number(s.bsize);
}

export function checkFreeSpace(dir: string, needed: number, what: string): void {
  let free: number;
  try {
    free = freeBytes(dir);
  } catch (err) {
    throw new InputError(`${what}: ${describeFsError(err, dir)}`);
  }
  if (free < needed) {
    throw new InputError(`${what}: ${dir} has ${formatMiB(free)} free, the media needs ${formatMiB(needed)}. Free space or choose another folder.`);
  }
}

const formatMiB = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

/** Refuses, before anything is written, a folder or image that cannot be written (a read-only disk, no permission). */
export function refuseUnwritable(path: string, what: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') throw new InputError(`${what}: ${path} is on a read-only file system or drive; nothing can be written there. Choose another folder.`);
    if (code === 'EACCES' || code === 'EPERM') throw new InputError(`${what}: you may not write to ${path} (permission denied). Choose another folder.`);
    throw new InputError(`${what}: ${describeFsError(err, path)}`);
  }
}
