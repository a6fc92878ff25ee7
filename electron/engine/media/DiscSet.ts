// Packs the media files onto discs of a fixed capacity. The first disc takes the boot files and the environment whole;
// a file larger than the room left is split, its parts going to the following discs (the manifest records where each
// part lives, so the runtime can ask for the next disc).
//
// Every decision is checked with the ISO planner itself (`exactBlocks`), never with an estimate: a disc is filled
// with the longest run of whole files that fits, then with the head of the next file; the rest of a split file opens
// the next disc. A disc is finished once and never changed afterwards, so
// no part can come back to a disc that already holds another part of the same file. Each disc holds the folders of the
// files it carries; the folders no file lies in go on disc 1.
import { InputError } from '../errors.js';
import { windowsUpper } from '../formats/windowsNames.js';
import type { MediaFile } from './MediaPlan.js';

export interface DiscPart {
  /** Index into the plan's files. */
  file: number;
  path: string;
  sourceOffset: number;
  size: number;
}

export interface Disc {
  parts: DiscPart[];
  /** Folders to create on this disc (each disc holds the folders of the files it carries, plus the empty ones on disc 1). */
  directories: string[];
}

const BLOCK = 2048;
const blocksOf = (bytes: number): number => Math.ceil(bytes / BLOCK);
/** A file is split onto a disc that already holds other content only when at least this much of it fits there. */
const MIN_HEAD_BLOCKS = 16;

const FIRST_DISC_ROLES = new Set(['boot', 'environment']);

const parentDirs = (path: string): string[] => {
  const out: string[] = [];
  const segs = path.split('/');
  for (let i = 1; i < segs.length; i++) out.push(segs.slice(0, i).join('/'));
  return out;
};

const wholePart = (files: readonly MediaFile[], i: number): DiscPart => ({ file: i, path: files[i].path, sourceOffset: 0, size: files[i].size });

const mb = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * `exactBlocks(disc)` returns the blocks a disc really needs (the ISO planner). Capacity Infinity puts everything on
 * one disc. Throws InputError, naming what does not fit, when the capacity is too small for the set.
 */
export function packDiscs(
  files: readonly MediaFile[],
  /** The content's folders: those no file lies in go on disc 1, the others with their files. */
  folders: readonly string[],
  capacityBlocks: number,
  exactBlocks: (disc: Disc) => number,
  /** Files every disc carries (the manifest), placed first on each. */
  onEveryDisc: readonly number[] = [],
): Disc[] {
  if (!Number.isFinite(capacityBlocks)) {
    const all: Disc = { parts: files.map((_, i) => wholePart(files, i)), directories: [...folders] };
    all.directories = withParents(all);
    return [all];
  }
  const capacityBytes = capacityBlocks * BLOCK;
  const holdingFiles = new Set(files.flatMap((f) => parentDirs(f.path).map(windowsUpper)));
  const emptyFolders = folders.filter((d) => !holdingFiles.has(windowsUpper(d)));
  const everyDisc = new Set(onEveryDisc);
  // Disc 1 opens with the boot files, the environment and the files every disc carries, in plan order.
  const firstFixed = files.map((_, i) => i).filter((i) => FIRST_DISC_ROLES.has(files[i].role) || everyDisc.has(i));
  const laterFixed = [...onEveryDisc];
  const queue = files.map((_, i) => i).filter((i) => !FIRST_DISC_ROLES.has(files[i].role) && !everyDisc.has(i));

  const discs: Disc[] = [];
  let next = 0;
  /** The rest of a file split at the end of the previous disc: it opens the next one. */
  let carry: DiscPart | null = null;

  while (discs.length === 0 || carry !== null || next < queue.length) {
    const first = discs.length === 0;
    const parts = (first ? firstFixed : laterFixed).map((i) => wholePart(files, i));
    const emptyDirs = first ? emptyFolders : [];
    const measure = (extra: readonly DiscPart[]): number => exactBlocks(discOf([...parts, ...extra], emptyDirs));
    const fixedBlocks = measure([]);
    if (fixedBlocks > capacityBlocks) {
      const what = first
        ? 'the boot files and the task sequence environment alone'
        : `the files every disc carries (${laterFixed.length} files: ${laterFixed.slice(0, 3).map((i) => files[i].path).join(', ')}${laterFixed.length > 3 ? ', …' : ''}) alone`;
      throw new InputError(`${what} need ${mb(fixedBlocks * BLOCK)} on a disc, more than the media size of ${mb(capacityBytes)}; choose a larger media size.`);
    }
    /**
     * Whether the disc holds anything besides the files every disc carries (disc 1 holds the boot files): a file that
     * fits on no such disc, even in part, fits on no disc at all.
     */
    let holdsContent = first;
    /** The blocks the disc needs with what it holds so far. */
    let held = fixedBlocks;

    /**
     * The most bytes of `part` (from its start) the disc takes beside what it holds: whole blocks, or the whole part;
     * -1 when not even its entry fits.
     */
    const largestHead = (part: DiscPart): number => {
      const base = measure([{ ...part, size: 0 }]);
      if (base > capacityBlocks) return -1;
      let head = Math.min(part.size, (capacityBlocks - base) * BLOCK);
      for (;;) {
        const need = measure([{ ...part, size: head }]);
        if (need <= capacityBlocks) return head;
        // Larger parts can need more records (multi-extent files): shrink by the excess and measure again.
        head = Math.floor((head - (need - capacityBlocks) * BLOCK) / BLOCK) * BLOCK;
        if (head <= 0) return 0;
      }
    };

    /**
     * The longest run of whole files from queue position `from` that fits beside what the disc holds (measured at
     * `blocks`). A file adds at least its data and a UDF file entry to a disc, and taking it off frees as much: each
     * guess is the most files the room could take, or the fewest to take off to end the excess, and only lengths the
     * planner accepted are kept (a few measurements per disc, however many files it holds).
     */
    const longestRun = (from: number, blocks: number): { count: number; blocks: number } => {
      const least = (k: number): number => blocksOf(files[queue[from + k]].size) + 1;
      const needOf = (k: number): number => measure(queue.slice(from, from + k).map((i) => wholePart(files, i)));
      let lo = 0;
      let loBlocks = blocks;
      let hi = queue.length - from + 1; // the shortest run known not to fit
      for (;;) {
        let k = lo;
        for (let room = capacityBlocks - loBlocks; k + 1 < hi && least(k) <= room; k++) room -= least(k);
        if (k === lo) return { count: lo, blocks: loBlocks };
        const need = needOf(k);
        if (need <= capacityBlocks) {
          lo = k;
          loBlocks = need;
          continue;
        }
        hi = k;
        let j = k;
        for (let freed = 0; j > lo && freed < need - capacityBlocks; ) freed += least(--j);
        if (j === lo) j = (lo + hi) >> 1;
        if (j === lo) return { count: lo, blocks: loBlocks };
        const back = needOf(j);
        if (back <= capacityBlocks) {
          lo = j;
          loBlocks = back;
        } else hi = j;
      }
    };

    if (carry !== null) {
      const rest: DiscPart = carry;
      const head = largestHead(rest);
      if (head <= 0) throw tooSmall(rest.path, capacityBytes);
      parts.push({ ...rest, size: head });
      holdsContent = true;
      carry = head < rest.size ? { ...rest, sourceOffset: rest.sourceOffset + head, size: rest.size - head } : null;
      if (carry === null) held = measure([]);
    }

    while (carry === null && next < queue.length) {
      const run = longestRun(next, held);
      if (run.count > 0) {
        parts.push(...queue.slice(next, next + run.count).map((i) => wholePart(files, i)));
        next += run.count;
        held = run.blocks;
        holdsContent = true;
      }
      if (next === queue.length) break;
      // The next file did not fit whole: its head fills the disc and its rest opens the next one.
      const file = wholePart(files, queue[next]);
      const head = largestHead(file);
      if (head === file.size) {
        parts.push(file);
        next++;
        held = measure([]);
        holdsContent = true;
        continue;
      }
      if (head >= MIN_HEAD_BLOCKS * BLOCK || (!holdsContent && head > 0)) {
        parts.push({ ...file, size: head });
        carry = { ...file, sourceOffset: head, size: file.size - head };
        next++;
      } else if (!holdsContent) {
        throw tooSmall(file.path, capacityBytes);
      }
      break;
    }
    discs.push(discOf(parts, emptyDirs));
  }
  return discs;
}

function tooSmall(path: string, capacityBytes: number): InputError {
  return new InputError(
    `the media size of ${mb(capacityBytes)} is too small: "${path}" does not fit, even in part, on a disc beside the files every disc carries; choose a larger media size.`,
  );
}

function discOf(parts: DiscPart[], emptyDirectories: readonly string[]): Disc {
  const disc: Disc = { parts, directories: [...emptyDirectories] };
  disc.directories = withParents(disc);
  return disc;
}

function withParents(disc: Disc): string[] {
  const set = new Set<string>(disc.directories);
  for (const d of disc.directories) parentDirs(`${d}/x`).forEach((x) => set.add(x));
  for (const p of disc.parts) parentDirs(p.path).forEach((d) => set.add(d));
  return [...set].sort();
}
