// Re-reads media and checks every file against the manifest it carries: an ISO set (any order of discs), and each
// ISO against its .sha256 file when one lies beside it. Each file that differs is named.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError, errorMessage } from './errors.js';
import { openFat32 } from './Fat32Reader.js';
import { hashSource } from './ImageWriter.js';
import { openIso, type IsoFileEntry, type IsoVolume } from './IsoReader.js';
import { MANIFEST_PATH, parseManifest, type MediaManifest } from './Manifest.js';

export interface VerifyProblem {
  path: string;
  disc: number | null;
  problem: string;
}

export interface VerifyResult {
  /** 0 all match, 1 a mismatch, 2 unreadable (the CLI's exit codes). */
  status: 0 | 1 | 2;
  manifest: MediaManifest | null;
  filesChecked: number;
  bytesChecked: number;
  problems: VerifyProblem[];
  /** Fatal reasons the media could not be read. */
  unreadable: string[];
}

const norm = (p: string): string => p.toLowerCase();

export interface VerifyOptions {
  onProgress?: (bytesDone: number, path: string | null) => void;
  /** Also hash each whole ISO against its .sha256 file (default true). */
  checkImageHashes?: boolean;
}

export function verifyIsoSet(paths: string[], options: VerifyOptions = {}): VerifyResult {
  const result: VerifyResult = { status: 0, manifest: null, filesChecked: 0, bytesChecked: 0, problems: [], unreadable: [] };
  const volumes: { path: string; vol: IsoVolume; files: Map<string, IsoFileEntry> }[] = [];
  let done = 0;
  const progress = (n: number, p: string | null): void => {
    done += n;
    options.onProgress?.(done, p);
  };
  try {
    for (const p of paths) {
      try {
        const vol = openIso(p);
        volumes.push({ path: p, vol, files: new Map(vol.files().map((f) => [norm(f.path), f])) });
      } catch (err) {
        result.unreadable.push(errorMessage(err));
      }
    }
    if (result.unreadable.length) return { ...result, status: 2 };

    // Whole-image hashes first: a truncated or altered ISO is named even before its files are read.
    if (options.checkImageHashes !== false) {
      for (const v of volumes) {
        const side = `${v.path}.sha256`;
        if (!existsSync(side)) continue;
        const want = /^([0-9a-f]{64})\b/i.exec(readFileSync(side, 'utf8'))?.[1]?.toLowerCase();
        if (!want) {
          result.problems.push({ path: basename(side), disc: null, problem: 'the .sha256 file holds no SHA-256' });
          continue;
        }
        const got = hashSource({ kind: 'file', path: v.path, size: statSync(v.path).size, label: basename(v.path) }, undefined, (n) => progress(n, basename(v.path))).toLowerCase();
        if (got !== want) result.problems.push({ path: basename(v.path), disc: null, problem: `the image's SHA-256 is ${got}, its .sha256 file says ${want}` });
      }
    }

    const withManifest = volumes.find((v) => v.files.has(norm(MANIFEST_PATH)));
    if (!withManifest) {
      result.unreadable.push(`${paths.join(', ')}: no ${MANIFEST_PATH} on the media; it was not made by tsmedia, or is damaged.`);
      return { ...result, status: 2 };
    }
    const manifestText = withManifest.vol.readFileBuffer(MANIFEST_PATH).toString('utf8').trimEnd();
    const manifest = parseManifest(manifestText, `${withManifest.path}:${MANIFEST_PATH}`);
    result.manifest = manifest;

    // Which given ISO is which disc: the one holding every part the manifest puts on that disc.
    const discOf = new Map<number, (typeof volumes)[number]>();
    for (let d = 1; d <= manifest.discs; d++) {
      const parts = manifest.files.flatMap((f) => f.parts.filter((p) => p.disc === d).map((p) => ({ path: f.path, size: p.size })));
      const match = volumes.find((v) => ![...discOf.values()].includes(v) && parts.every((p) => v.files.get(norm(p.path))?.size === p.size));
      if (match) discOf.set(d, match);
      else result.problems.push({ path: `disc ${d}`, disc: d, problem: `none of the given ISO files is disc ${d} of ${manifest.discs} (give every disc of the set)` });
    }

    const listed = new Set<string>([norm(MANIFEST_PATH)]);
    for (const f of manifest.files) {
      listed.add(norm(f.path));
      const h = createHash('sha256');
      let bytes = 0;
      let failed: string | null = null;
      for (const part of f.parts) {
        const v = discOf.get(part.disc);
        if (!v) {
          failed = `disc ${part.disc} is missing`;
          break;
        }
        const entry = v.files.get(norm(f.path));
        if (!entry) {
          failed = `missing from disc ${part.disc} (${basename(v.path)})`;
          break;
        }
        if (entry.size !== part.size) {
          failed = `on disc ${part.disc} it is ${entry.size} bytes, the manifest says ${part.size}`;
          break;
        }
        try {
          v.vol.readFile(entry.path, (chunk) => {
            h.update(chunk);
            bytes += chunk.length;
            progress(chunk.length, f.path);
          });
        } catch (err) {
          failed = `cannot be read from ${basename(v.path)}: ${errorMessage(err)}`;
          break;
        }
      }
      result.filesChecked += 1;
      result.bytesChecked += bytes;
      if (failed) {
        result.problems.push({ path: f.path, disc: f.parts[0]?.disc ?? null, problem: failed });
        continue;
      }
      const got = h.digest('hex').toUpperCase();
      if (bytes !== f.size) result.problems.push({ path: f.path, disc: f.parts[0]?.disc ?? null, problem: `read ${bytes} bytes, the manifest says ${f.size}` });
      else if (got !== f.sha256.toUpperCase()) result.problems.push({ path: f.path, disc: f.parts[0]?.disc ?? null, problem: `its SHA-256 is ${got}, the manifest says ${f.sha256.toUpperCase()}` });
    }
    for (const [d, v] of discOf) {
      for (const key of v.files.keys()) {
        if (!listed.has(key)) result.problems.push({ path: v.files.get(key)?.path ?? key, disc: d, problem: 'is on the disc but not in the manifest' });
      }
    }
    return { ...result, status: result.problems.length ? 1 : 0 };
  } catch (err) {
    if (err instanceof InputError) {
      result.unreadable.push(err.message);
      return { ...result, status: 2 };
    }
    throw err;
  } finally {
    for (const v of volumes) v.vol.close();
  }
}

/** A single-volume medium (a USB drive or its image): every manifest file read back from the FAT32 volume. */
export function verifyFat32Media(path: string, options: VerifyOptions & { checkExtraFiles?: boolean } = {}): VerifyResult {
  const result: VerifyResult = { status: 0, manifest: null, filesChecked: 0, bytesChecked: 0, problems: [], unreadable: [] };
  let vol;
  try {
    vol = openFat32(path);
  } catch (err) {
    return { ...result, status: 2, unreadable: [errorMessage(err)] };
  }
  try {
    const entries = new Map(vol.files().map((f) => [norm(f.path), f]));
    const m = entries.get(norm(MANIFEST_PATH));
    if (!m) return { ...result, status: 2, unreadable: [`${path}: no ${MANIFEST_PATH} on the volume; it was not made by tsmedia, or is damaged.`] };
    const manifest = parseManifest(vol.readFileBuffer(m.path).toString('utf8').trimEnd(), `${path}:${MANIFEST_PATH}`);
    result.manifest = manifest;
    let done = 0;
    for (const f of manifest.files) {
      const e = entries.get(norm(f.path));
      result.filesChecked += 1;
      if (!e) {
        result.problems.push({ path: f.path, disc: null, problem: 'missing from the volume' });
        continue;
      }
      const h = createHash('sha256');
      let bytes = 0;
      try {
        vol.readFile(e.path, (chunk) => {
          h.update(chunk);
          bytes += chunk.length;
          done += chunk.length;
          options.onProgress?.(done, f.path);
        });
      } catch (err) {
        result.problems.push({ path: f.path, disc: null, problem: `cannot be read: ${errorMessage(err)}` });
        continue;
      }
      result.bytesChecked += bytes;
      const got = h.digest('hex').toUpperCase();
      if (bytes !== f.size) result.problems.push({ path: f.path, disc: null, problem: `read ${bytes} bytes, the manifest says ${f.size}` });
      else if (got !== f.sha256.toUpperCase()) result.problems.push({ path: f.path, disc: null, problem: `its SHA-256 is ${got}, the manifest says ${f.sha256.toUpperCase()}` });
    }
    if (options.checkExtraFiles) {
      const listed = new Set([norm(MANIFEST_PATH), ...manifest.files.map((f) => norm(f.path))]);
      for (const [k, e] of entries) if (!listed.has(k)) result.problems.push({ path: e.path, disc: null, problem: 'is on the volume but not in the manifest' });
    }
    return { ...result, status: result.problems.length ? 1 : 0 };
  } catch (err) {
    if (err instanceof InputError) return { ...result, status: 2, unreadable: [err.message] };
    throw err;
  } finally {
    vol.close();
  }
}

/** ISO 9660 ("CD001" at byte 32769) or not: decides how `tsmedia verify` reads a path. */
export function looksLikeIso(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(5);
      readSync(fd, b, 0, 5, 32769);
      return b.toString('latin1') === 'CD001';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
