// Re-reads media and checks every file against the manifest it carries: an ISO set (any order of discs), and with
// checkImageHashes each ISO against its .sha256 file. Each file that differs is named. Files are hashed on two worker
// threads side by side (both cores), each reading its own files with large positioned reads.
import { closeSync, constants, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { InputError, errorMessage } from '../errors.js';
import { openFat32 } from '../formats/fat32/Fat32Reader.js';
import { journalApplied, refreshState, type RefreshState } from '../formats/fat32/Fat32Refresh.js';
import { runImageJobs, type WorkerJob } from '../io/ImageJobs.js';
import { pieceSize, type CompositePiece } from '../io/ImageLayout.js';
import { shareOf } from '../io/OutputVolume.js';
import { driveIoPath } from '../drives/DriveAccess.js';
import { DEFAULT_DEVICE_ALIGN, SectorReader, alignedBuffer, directFlag, isDevicePath, linuxSectorSize } from '../io/SectorIo.js';
import { openIso, type IsoFileEntry, type IsoVolume } from '../formats/iso/IsoReader.js';
import { ISO_BLOCK } from '../formats/iso/IsoTree.js';
import { MANIFEST_PATH, parseManifest, type ManifestFile, type MediaManifest } from './Manifest.js';

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
  /**
   * A USB volume an interrupted refresh left (formats/fat32/Fat32Refresh): which media it holds whole now, and what the
   * next refresh does ('changing': a whole journal is being applied, some of its sectors written). Absent for a volume
   * as made.
   */
  interruptedRefresh?: { state: RefreshState; holds: 'old' | 'new' | 'changing'; next: 'roll-back' | 'finish' };
}

const norm = (p: string): string => p.toLowerCase();

/** Reads of files on a share: whole blocks of this size (a multiple of any sector size a server reports). */
const SHARE_READ_ALIGN = 4096;

export interface VerifyOptions {
  onProgress?: (bytesDone: number, path: string | null) => void;
  /**
   * Also hash each whole ISO against its .sha256 file (default false: every file's hash and every structure is checked
   * anyway; the .sha256 file is for tools without tsmedia).
   */
  checkImageHashes?: boolean;
  signal?: AbortSignal;
  /** One of several media verified side by side (a batch of drives): one hashing thread with a small heap. */
  lean?: boolean;
}

/** A manifest file to hash: where its bytes lie on the media, or why they cannot be read. */
interface FileCheck {
  file: ManifestFile;
  disc: number | null;
  pieces: CompositePiece[];
  failed: string | null;
}


/** Hashes every file (and whole images) on two workers and records what differs. */
async function hashFiles(checks: FileCheck[], result: VerifyResult, images: { path: string; want: string }[], progress: (done: number, path: string | null) => void, signal?: AbortSignal, lean = false): Promise<void> {
  const runnable = checks.filter((c) => c.failed === null);
  const jobs: WorkerJob[] = [
    ...runnable.map((c): WorkerJob => ({ kind: 'hash-source', label: c.file.path, tolerant: true, source: { kind: 'composite', size: c.pieces.reduce((n, p) => n + pieceSize(p), 0), label: c.file.path, pieces: c.pieces } })),
    ...images.map((i): WorkerJob => ({ kind: 'hash', path: i.path })),
  ];
  const labels = [...runnable.map((c) => c.file.path), ...images.map((i) => basename(i.path))];
  const done = await runImageJobs(jobs, { parallel: lean ? 1 : 2, lean, signal, onProgress: (i, _b, _p, all) => progress(all, labels[i]) });
  const byCheck = new Map(runnable.map((c, i) => [c, done[i]]));
  for (const c of checks) {
    const f = c.file;
    result.filesChecked += 1;
    const r = byCheck.get(c);
    if (c.failed !== null || !r) {
      result.problems.push({ path: f.path, disc: c.disc, problem: c.failed ?? 'was not read' });
      continue;
    }
    result.bytesChecked += r.bytes;
    if (r.error !== undefined) result.problems.push({ path: f.path, disc: c.disc, problem: `cannot be read: ${r.error}` });
    else if (r.bytes !== f.size) result.problems.push({ path: f.path, disc: c.disc, problem: `read ${r.bytes} bytes, the manifest says ${f.size}` });
    else if (r.sha256?.toUpperCase() !== f.sha256.toUpperCase()) result.problems.push({ path: f.path, disc: c.disc, problem: `its SHA-256 is ${r.sha256}, the manifest says ${f.sha256.toUpperCase()}` });
  }
  images.forEach((img, k) => {
    const r = done[runnable.length + k];
    if (r.sha256 !== img.want) result.problems.push({ path: basename(img.path), disc: null, problem: `the image's SHA-256 is ${r.sha256}, its .sha256 file says ${img.want}` });
  });
}

export async function verifyIsoSet(paths: string[], options: VerifyOptions = {}): Promise<VerifyResult> {
  const result: VerifyResult = { status: 0, manifest: null, filesChecked: 0, bytesChecked: 0, problems: [], unreadable: [] };
  const volumes: { path: string; vol: IsoVolume; files: Map<string, IsoFileEntry> }[] = [];
  const progress = (done: number, p: string | null): void => options.onProgress?.(done, p);
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

    // Whole-image hashes (only when asked): hashed beside the files, on the other core.
    const images: { path: string; want: string }[] = [];
    if (options.checkImageHashes) {
      for (const v of volumes) {
        const side = `${v.path}.sha256`;
        if (!existsSync(side)) {
          result.problems.push({ path: basename(side), disc: null, problem: 'is missing (it is written only when the media was read back after writing)' });
          continue;
        }
        const want = /^([0-9a-f]{64})\b/i.exec(readFileSync(side, 'utf8'))?.[1]?.toLowerCase();
        if (!want) result.problems.push({ path: basename(side), disc: null, problem: 'the .sha256 file holds no SHA-256' });
        else images.push({ path: v.path, want });
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

    // Bytes past the volume (its size in the primary volume descriptor) are no part of the media.
    for (const v of volumes) {
      if (v.vol.bytesPastVolume > 0) {
        const volumeBytes = v.vol.blocks * ISO_BLOCK;
        const fileBytes = volumeBytes + v.vol.bytesPastVolume;
        const d = [...discOf].find(([, x]) => x === v)?.[0] ?? null;
        result.problems.push({
          path: basename(v.path),
          disc: d,
          problem: `${v.vol.bytesPastVolume} bytes past the end of its volume (the primary volume descriptor gives ${v.vol.blocks} blocks, ${volumeBytes} bytes; the file has ${fileBytes}): something was appended or the copy is faulty. Copy or make the media again.`,
        });
      }
    }

    const listed = new Set<string>([norm(MANIFEST_PATH)]);
    const checks: FileCheck[] = [];
    const onShare = new Map(volumes.map((v) => [v.path, shareOf(dirname(v.path)) !== null]));
    // An ISO on a network share is read in whole aligned blocks past this computer's cache (O_DIRECT on Linux,
    // FILE_FLAG_NO_BUFFERING on Windows), so the check is of what the server holds, not of pages kept from writing it.
    const readOf = (v: (typeof volumes)[number]): { sectorSize?: number; uncached?: boolean } => (onShare.get(v.path) ? { sectorSize: SHARE_READ_ALIGN, uncached: true } : {});
    for (const f of manifest.files) {
      listed.add(norm(f.path));
      if (f.everyDisc) {
        // SMS\bin: a whole copy on each disc, each checked.
        for (let d = 1; d <= manifest.discs; d++) {
          const v = discOf.get(d);
          const entry = v?.files.get(norm(f.path));
          const failed = !v ? `disc ${d} is missing` : !entry ? `missing from disc ${d} (${basename(v.path)})` : null;
          checks.push({ file: f, disc: d, pieces: v && entry ? entry.extents.map((e) => ({ path: v.path, offset: e.offset, size: e.size, ...readOf(v) })) : [], failed });
        }
        continue;
      }
      const pieces: CompositePiece[] = [];
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
        pieces.push(...entry.extents.map((e) => ({ path: v.path, offset: e.offset, size: e.size, ...readOf(v) })));
      }
      checks.push({ file: f, disc: f.parts[0]?.disc ?? null, pieces, failed });
    }
    await hashFiles(checks, result, images, progress, options.signal);
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
export async function verifyFat32Media(
  path: string,
  options: VerifyOptions & {
    checkExtraFiles?: boolean;
    /**
     * Which files are read and hashed (default all). The others are checked in place: present, the manifest's size,
     * in the clusters `inPlace` gives (a refresh reads back what it wrote; files it kept were not touched).
     */
    hashOnly?: (path: string) => boolean;
    inPlace?: (path: string) => { cluster: number } | undefined;
  } = {},
): Promise<VerifyResult> {
  const result: VerifyResult = { status: 0, manifest: null, filesChecked: 0, bytesChecked: 0, problems: [], unreadable: [] };
  // macOS: a disk is read through its raw device (/dev/rdiskN) whichever name was given, as it was written.
  const io = driveIoPath(path);
  let vol;
  try {
    vol = openFat32(io);
  } catch (err) {
    return { ...result, status: 2, unreadable: [errorMessage(err)] };
  }
  try {
    // An interrupted refresh is named; the media in use is verified like any other.
    try {
      const st = refreshState(vol);
      if (st.state !== 'old' || st.backupDiffers) {
        const holds = st.state === 'old-alone' ? 'old' : st.state === 'rewrite' ? (journalApplied(vol, st.reserved) ? 'new' : 'changing') : 'new';
        result.interruptedRefresh = { state: st.state, holds, next: st.state === 'old-alone' ? 'roll-back' : 'finish' };
      }
    } catch {
      // a boot sector no refresh leaves: verified as it is
    }
    const entries = new Map(vol.files().map((f) => [norm(f.path), f]));
    const m = entries.get(norm(MANIFEST_PATH));
    if (!m) return { ...result, status: 2, unreadable: [`${path}: no ${MANIFEST_PATH} on the volume; it was not made by tsmedia, or is damaged.`] };
    const manifest = parseManifest(vol.readFileBuffer(m.path).toString('utf8').trimEnd(), `${path}:${MANIFEST_PATH}`);
    result.manifest = manifest;
    const checks: FileCheck[] = manifest.files.map((f) => {
      const e = entries.get(norm(f.path));
      // A drive is read by the hashing threads as the volume was: whole aligned sectors.
      const align = vol.deviceAlign !== null ? { sectorSize: vol.deviceAlign } : {};
      return { file: f, disc: null, pieces: e ? e.extents.map((x) => ({ path: io, offset: x.offset, size: x.size, ...align })) : [], failed: e ? null : 'missing from the volume' };
    });
    const hashed = options.hashOnly ? checks.filter((c) => c.failed !== null || options.hashOnly?.(c.file.path)) : checks;
    const isHashed = new Set(hashed);
    for (const c of checks) {
      if (isHashed.has(c)) continue;
      // Checked in place: its entry, its size and its first cluster, not its bytes.
      const e = entries.get(norm(c.file.path));
      const want = options.inPlace?.(c.file.path);
      result.filesChecked += 1;
      if (e && e.size !== c.file.size) result.problems.push({ path: c.file.path, disc: null, problem: `has ${e.size} bytes, the manifest says ${c.file.size}` });
      else if (e && want && e.cluster !== want.cluster) result.problems.push({ path: c.file.path, disc: null, problem: `starts at cluster ${e.cluster}, not where it was kept (${want.cluster})` });
    }
    await hashFiles(hashed, result, [], (done, p) => options.onProgress?.(done, p), options.signal, options.lean);
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
export function looksLikeIso(given: string): boolean {
  const path = driveIoPath(given);
  try {
    const device = isDevicePath(path);
    const fd = openSync(path, device ? constants.O_RDONLY | directFlag() : 'r');
    try {
      const b = Buffer.alloc(5);
      // A drive is read in whole aligned sectors (the sector holding byte 32769).
      if (device) new SectorReader(fd, linuxSectorSize(fd) ?? DEFAULT_DEVICE_ALIGN, alignedBuffer(DEFAULT_DEVICE_ALIGN)).read(b, 0, 5, 32769);
      else readSync(fd, b, 0, 5, 32769);
      return b.toString('latin1') === 'CD001';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
