// Packs the media files onto discs of a fixed capacity. The first disc takes the boot files and the environment whole;
// a file larger than the room left is split, its parts going to the following discs (the manifest records where each
// part lives, so the runtime can ask for the next disc).
import { InputError } from './errors.js';
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

/** A generous estimate of the file system structures a disc needs: exact planning checks it afterwards. */
function overheadEstimate(parts: number, dirs: number, nameBytes: number): number {
  return 512 + Math.ceil(parts * 1.25) + dirs * 4 + Math.ceil((nameBytes * 6) / BLOCK);
}

const parentDirs = (path: string): string[] => {
  const out: string[] = [];
  const segs = path.split('/');
  for (let i = 1; i < segs.length; i++) out.push(segs.slice(0, i).join('/'));
  return out;
};

/**
 * `exactBlocks(disc)` returns the blocks a disc really needs (the ISO planner); it is called once per disc, and again
 * only when the estimate was short. Capacity Infinity puts everything on one disc.
 */
export function packDiscs(
  files: readonly MediaFile[],
  emptyDirectories: readonly string[],
  capacityBlocks: number,
  exactBlocks: (disc: Disc) => number,
  /** Files every later disc carries too (the manifest), placed first on each. */
  onEveryDisc: readonly number[] = [],
): Disc[] {
  const all: Disc = { parts: files.map((f, i) => ({ file: i, path: f.path, sourceOffset: 0, size: f.size })), directories: [...emptyDirectories] };
  if (!Number.isFinite(capacityBlocks)) {
    all.directories = withParents(all);
    return [all];
  }
  const discs: Disc[] = [];
  let cur: DiscPart[] = [];
  let dataBlocks = 0;
  let dirs = new Set<string>();
  let nameBytes = 0;
  const firstDiscRoles = new Set(['boot', 'environment']);
  const fits = (extraBlocks: number, extraParts: number, extraDirs: number, extraNames: number): boolean =>
    dataBlocks + extraBlocks + overheadEstimate(cur.length + extraParts, dirs.size + extraDirs, nameBytes + extraNames) <= capacityBlocks;

  const close = (): void => {
    const disc: Disc = { parts: cur, directories: [] };
    if (discs.length === 0) disc.directories = [...emptyDirectories];
    disc.directories = withParents(disc);
    // Exact check: if the estimate was short, move the last parts to the next disc until it fits.
    const moved: DiscPart[] = [];
    while (disc.parts.length > 0 && exactBlocks(disc) > capacityBlocks) {
      if (discs.length > 0 && disc.parts.length <= onEveryDisc.length) {
        throw new InputError(`the media size ${capacityBlocks * BLOCK} bytes is too small to hold any file besides the manifest.`);
      }
      const last = disc.parts.pop() as DiscPart;
      if (discs.length === 0 && firstDiscRoles.has(files[last.file].role)) {
        throw new InputError(`the boot files and the task sequence environment alone need more than one disc of ${capacityBlocks * BLOCK} bytes; choose a larger media size.`);
      }
      moved.unshift(last);
      disc.directories = withParents(disc);
    }
    discs.push(disc);
    cur = [];
    dataBlocks = 0;
    dirs = new Set();
    nameBytes = 0;
    for (const i of onEveryDisc) place({ file: i, path: files[i].path, sourceOffset: 0, size: files[i].size });
    for (const m of moved) add(m);
  };

  const place = (p: DiscPart): void => {
    cur.push(p);
    dataBlocks += blocksOf(p.size);
    parentDirs(p.path).forEach((d) => dirs.add(d));
    nameBytes += p.path.length * 2;
  };
  const add = (p: DiscPart): void => {
    const newDirs = parentDirs(p.path).filter((d) => !dirs.has(d));
    const names = p.path.length * 2;
    if (fits(blocksOf(p.size), 1, newDirs.length, names)) {
      place(p);
      return;
    }
    const mustBeWhole = discs.length === 0 && firstDiscRoles.has(files[p.file].role);
    if (mustBeWhole) {
      throw new InputError(`the boot files and the task sequence environment alone need more than one disc of ${capacityBlocks * BLOCK} bytes; choose a larger media size.`);
    }
    // Split: fill the room left with whole blocks of this file, carry the rest to the next disc.
    const room = capacityBlocks - dataBlocks - overheadEstimate(cur.length + 1, dirs.size + newDirs.length, nameBytes + names);
    if (room >= 16 && cur.length > 0) {
      const head = room * BLOCK;
      cur.push({ ...p, size: head });
      dataBlocks += room;
      newDirs.forEach((d) => dirs.add(d));
      nameBytes += names;
      close();
      add({ ...p, sourceOffset: p.sourceOffset + head, size: p.size - head });
      return;
    }
    if (cur.length === 0) {
      // An empty disc and still no room: the part must be split at the disc's own capacity.
      const cap = (capacityBlocks - overheadEstimate(1, newDirs.length, names)) * BLOCK;
      if (cap <= 0) throw new InputError(`the media size ${capacityBlocks * BLOCK} bytes is too small to hold any file.`);
      cur.push({ ...p, size: cap });
      dataBlocks += blocksOf(cap);
      newDirs.forEach((d) => dirs.add(d));
      close();
      add({ ...p, sourceOffset: p.sourceOffset + cap, size: p.size - cap });
      return;
    }
    close();
    add(p);
  };

  // Boot files and the environment first (disc 1), then the rest in plan order.
  const order = [...all.parts.filter((p) => firstDiscRoles.has(files[p.file].role)), ...all.parts.filter((p) => !firstDiscRoles.has(files[p.file].role))];
  for (const p of order) add(p);
  if (cur.length > 0 || discs.length === 0) close();
  return discs;
}

function withParents(disc: Disc): string[] {
  const set = new Set<string>(disc.directories);
  for (const d of disc.directories) parentDirs(`${d}/x`).forEach((x) => set.add(x));
  for (const p of disc.parts) parentDirs(p.path).forEach((d) => set.add(d));
  return [...set].sort();
}
