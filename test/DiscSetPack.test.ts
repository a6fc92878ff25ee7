// The disc packer (electron/engine/media/DiscSet.ts) and the disc plan (DiscSetPlan.ts) in tests of a second or two,
// every disc measured by the real ISO planner: small sets packed exactly as a plain one-file-at-a-time reference packs
// them (fast-check), the 16-block rule for a head, the messages of what does not fit, and the manifest slot of a real
// site's plan growing with its parts. DiscSet.test holds the large hand-made sets and the long random runs; this file
// is the one the `discs` mutation group runs against each mutant (DiscSet.test takes 10-40 s a run).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { packDiscs, type Disc, type DiscPart } from '../electron/engine/media/DiscSet.js';
import { discIsoBase, discIsoOptions, packDiscSet, partsByFile } from '../electron/engine/media/DiscSetPlan.js';
import { InputError } from '../electron/engine/errors.js';
import { measureIso, windowsUpper } from '../electron/engine/formats/iso/IsoImage.js';
import type { MediaFile } from '../electron/engine/media/MediaPlan.js';
import { buildManifest, everyDiscFiles, prepareMedia, reserveManifest } from '../electron/engine/media/MediaPreparation.js';
import { serializeManifest } from '../electron/engine/media/Manifest.js';
import { CmTraceLog } from '../electron/engine/media/CmTraceLog.js';
import { Site } from '../electron/engine/site/Site.js';
import { packageVersion } from '../electron/engine/paths.js';
import { SAMPLE_SITE } from './helpers.js';
import { BIOS, EFI, ISO, MANIFEST, f, measure } from './support/discFixtures.js';
import { baseRequest } from './support/hostClient.js';

const MiB = 1024 * 1024;
const BLOCK = 2048;
const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const whole = (files: readonly MediaFile[], i: number): DiscPart => ({ file: i, path: files[i].path, sourceOffset: 0, size: files[i].size });

/** The folders a path lies in: "a/b/c" → "a", "a/b". */
const parentsOf = (path: string): string[] => {
  const segs = path.split('/');
  return segs.slice(1).map((_, i) => segs.slice(0, i + 1).join('/'));
};

/** A disc of these parts with these folders and every parent of both, sorted. */
function discWith(parts: DiscPart[], dirs: readonly string[]): Disc {
  const all = new Set(dirs);
  for (const p of [...parts.map((x) => x.path), ...dirs.map((d) => `${d}/x`)]) parentsOf(p).forEach((d) => all.add(d));
  return { parts, directories: [...all].sort() };
}

class RefusedTooSmall extends Error {}

/**
 * The packing rules, done the plain way: every file tried whole one at a time, every head found by bisection over
 * whole blocks. Disc 1 takes the boot files, the environment and the files every disc carries; a later disc opens
 * with the files every disc carries, then the rest of a split file; a file that does not fit whole is split only when
 * at least 16 blocks of it fit (or the disc holds nothing else yet).
 */
function referencePack(files: readonly MediaFile[], folders: readonly string[], capacity: number, exact: (d: Disc) => number, onEveryDisc: readonly number[]): Disc[] {
  const every = new Set(onEveryDisc);
  const firstRole = (i: number): boolean => files[i].role === 'boot' || files[i].role === 'environment';
  const holding = new Set(files.flatMap((x) => parentsOf(x.path)).map(windowsUpper));
  const empty = folders.filter((d) => !holding.has(windowsUpper(d)));
  const indexes = files.map((_, i) => i);
  const queue = indexes.filter((i) => !firstRole(i) && !every.has(i));
  const discs: Disc[] = [];
  let next = 0;
  let carry: DiscPart | null = null;
  while (discs.length === 0 || carry !== null || next < queue.length) {
    const first = discs.length === 0;
    const parts = (first ? indexes.filter((i) => firstRole(i) || every.has(i)) : onEveryDisc).map((i) => whole(files, i));
    const dirs = first ? empty : [];
    const fits = (extra: DiscPart): boolean => exact(discWith([...parts, extra], dirs)) <= capacity;
    assert.ok(exact(discWith(parts, dirs)) <= capacity, 'the reference is only run where the fixed files fit');
    const maxHead = (p: DiscPart): number => {
      if (fits(p)) return p.size;
      if (!fits({ ...p, size: 0 })) return -1;
      let lo = 0;
      let hi = Math.ceil(p.size / BLOCK);
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (fits({ ...p, size: mid * BLOCK })) lo = mid;
        else hi = mid;
      }
      return lo * BLOCK;
    };
    let holds = first;
    if (carry !== null) {
      const rest: DiscPart = carry;
      const head = maxHead(rest);
      if (head <= 0) throw new RefusedTooSmall(rest.path);
      parts.push({ ...rest, size: head });
      holds = true;
      carry = head < rest.size ? { ...rest, sourceOffset: rest.sourceOffset + head, size: rest.size - head } : null;
    }
    while (carry === null && next < queue.length) {
      const file = whole(files, queue[next]);
      if (fits(file)) {
        parts.push(file);
        next++;
        holds = true;
        continue;
      }
      const head = maxHead(file);
      if (head >= 16 * BLOCK || (!holds && head > 0)) {
        parts.push({ ...file, size: head });
        carry = { ...file, sourceOffset: head, size: file.size - head };
        next++;
      } else if (!holds) throw new RefusedTooSmall(file.path);
      break;
    }
    discs.push(discWith(parts, dirs));
  }
  return discs;
}

const tooSmallMessage = (path: string, capacity: number): string =>
  `the media size of ${mb(capacity * BLOCK)} is too small: "${path}" does not fit, even in part, on a disc beside the files every disc carries; choose a larger media size.`;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------------
// Small random sets

const nameArb = fc.constantFrom('a', 'b', 'Système', '日本', 'x y', 'LONG-NAME-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789');
const setArb = fc.record({
  bootBytes: fc.integer({ min: 1, max: 200_000 }),
  envBytes: fc.integer({ min: 0, max: 30_000 }),
  manifestBytes: fc.integer({ min: 1, max: 20_000 }),
  runtime: fc.array(fc.integer({ min: 0, max: 9000 }), { maxLength: 2 }),
  content: fc.array(
    fc.record({
      dirs: fc.array(nameArb, { maxLength: 3 }),
      name: nameArb,
      bytes: fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 40_000 }) },
        { weight: 2, arbitrary: fc.integer({ min: 40_000, max: 400_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 400_000, max: 1_500_000 }) },
      ),
    }),
    { maxLength: 10 },
  ),
  emptyDirs: fc.array(fc.tuple(nameArb, fc.boolean()), { maxLength: 3 }),
  room: fc.integer({ min: 0, max: 400 }),
});
type SetInput = typeof setArb extends fc.Arbitrary<infer T> ? T : never;

function buildSet(s: SetInput): { files: MediaFile[]; folders: string[]; every: number[] } {
  const seen = new Set<string>();
  const files: MediaFile[] = [];
  const push = (file: MediaFile): number => {
    const key = windowsUpper(file.path);
    if (!seen.has(key)) {
      seen.add(key);
      files.push(file);
    }
    return files.findIndex((x) => windowsUpper(x.path) === key);
  };
  push(f('bootmgr', 40_000, 'boot'));
  push(f('sources/boot.wim', s.bootBytes, 'boot'));
  push(f('SMS/data/Variables.dat', s.envBytes, 'environment'));
  const every = [push(f(MANIFEST, s.manifestBytes, 'environment'))];
  s.runtime.forEach((bytes, i) => every.push(push(f(`SMS/bin/x64/tool${i}.exe`, bytes, 'runtime'))));
  s.content.forEach((c, i) => push(f(['SMS/PKG/SMP00001', ...c.dirs, `${c.name}-${i}.bin`].join('/'), c.bytes)));
  // Folders the content gives: those of its files (some in another case) and empty ones.
  const folders = new Set<string>();
  files.forEach((file, i) => parentsOf(file.path).slice(2).forEach((d) => folders.add(i % 2 ? d.toLowerCase() : d)));
  s.emptyDirs.forEach(([name, deep]) => folders.add(deep ? `SMS/PKG/SMP00001/${name}/empty` : `SMS/PKG/E-${name}`));
  return { files, folders: [...folders], every: [...new Set(every)] };
}

describe('DiscSet packing, fast', () => {
  test('small random sets are packed exactly as the plain reference packs them', () => {
    const seen = { sets: 0, splits: 0, refused: 0, threeDiscs: 0 };
    fc.assert(
      fc.property(setArb, (s) => {
        const { files, folders, every } = buildSet(s);
        const m = measure(files);
        // The least disc 1 needs, plus some room: from "nothing else fits" to several files a disc.
        const firstParts = files.map((_, i) => i).filter((i) => files[i].role === 'boot' || files[i].role === 'environment' || every.includes(i));
        const holding = new Set(files.flatMap((x) => parentsOf(x.path)).map(windowsUpper));
        const capacity = m(discWith(firstParts.map((i) => whole(files, i)), folders.filter((d) => !holding.has(windowsUpper(d))))) + s.room;
        let expected: Disc[] | RefusedTooSmall;
        try {
          expected = referencePack(files, folders, capacity, m, every);
        } catch (err) {
          if (!(err instanceof RefusedTooSmall)) throw err;
          expected = err;
        }
        if (expected instanceof RefusedTooSmall) {
          const err = thrown(() => packDiscs(files, folders, capacity, m, every));
          assert.ok(err instanceof InputError, `refused with an InputError: ${String(err)}`);
          assert.equal(err.message, tooSmallMessage(expected.message, capacity));
          seen.refused++;
          return;
        }
        const discs = packDiscs(files, folders, capacity, m, every);
        assert.deepEqual(discs, expected);
        if (discs.length > 1) seen.sets++;
        if (discs.length > 2) seen.threeDiscs++;
        if (discs.some((d) => d.parts.some((p) => p.size < files[p.file].size))) seen.splits++;
      }),
      { numRuns: 60, seed: 1601, endOnFailure: true },
    );
    assert.ok(seen.sets >= 20 && seen.splits >= 10 && seen.threeDiscs >= 5, JSON.stringify(seen));
  });

  test('a measure that charges less than the guess (no file entries): the files the guess leaves out still go whole', () => {
    // packDiscs takes any measure. The guess of a run counts each file's data and one entry block; a file system
    // that needs no entry blocks (disc = its parts' data blocks and one) makes the guess too short, so the file after
    // the run can still fit whole: it is placed whole, and the run goes on after it, as the plain reference packs.
    const dataOnly = (d: Disc): number => 1 + d.parts.reduce((n, p) => n + Math.ceil(p.size / BLOCK), 0);
    const seen = { whole: 0, sets: 0, refused: 0 };
    fc.assert(
      fc.property(setArb, fc.integer({ min: 0, max: 120 }), (s, extra) => {
        const { files, folders, every } = buildSet(s);
        const firstParts = files.map((_, i) => i).filter((i) => files[i].role === 'boot' || files[i].role === 'environment' || every.includes(i));
        const capacity = dataOnly(discWith(firstParts.map((i) => whole(files, i)), [])) + extra;
        let expected: Disc[] | RefusedTooSmall;
        try {
          expected = referencePack(files, folders, capacity, dataOnly, every);
        } catch (err) {
          if (!(err instanceof RefusedTooSmall)) throw err;
          expected = err;
        }
        if (expected instanceof RefusedTooSmall) {
          const err = thrown(() => packDiscs(files, folders, capacity, dataOnly, every));
          assert.ok(err instanceof InputError, `refused with an InputError: ${String(err)}`);
          assert.equal(err.message, tooSmallMessage(expected.message, capacity));
          seen.refused++;
          return;
        }
        const discs = packDiscs(files, folders, capacity, dataOnly, every);
        assert.deepEqual(discs, expected);
        if (discs.length > 1) seen.sets++;
        // A whole file after a run on a disc that the guess did not count in: the run is measured, then that file.
        if (discs.some((d) => d.parts.filter((p) => !every.includes(p.file) && p.size === files[p.file].size).length >= 3)) seen.whole++;
      }),
      { numRuns: 80, seed: 1602, endOnFailure: true },
    );
    assert.ok(seen.sets >= 20 && seen.whole >= 10, JSON.stringify(seen));

    // Files of one block each and room for 8 on disc 2: the guess (two blocks a file) takes 4, the other 4 go whole.
    const files = [f('bootmgr', 1000, 'boot'), f(MANIFEST, 100, 'environment')];
    for (let i = 0; i < 20; i++) files.push(f(`SMS/PKG/A/f${i}.bin`, 1000));
    files.push(f('SMS/PKG/A/big.bin', 5 * BLOCK));
    const discs = packDiscs(files, [], 10, dataOnly, [1]);
    assert.deepEqual(discs, referencePack(files, [], 10, dataOnly, [1]));
    assert.deepEqual(discs.map((d) => d.parts.length), [1 + 1 + 7, 1 + 8, 1 + 5, 1 + 1], 'each disc full: 7 files beside bootmgr, then 8');
    assert.deepEqual(discs[3].parts[1], whole(files, 22), 'the file of 5 blocks does not fit beside 3 and is not split: it takes disc 4 whole');
  });

  test('many small files in folders of their own: the first guess of a run is too long, the run found is still the longest', () => {
    // The packer guesses a run from each file's data and one entry; new deep folders cost far more, so it measures,
    // backs off and measures again. The plain reference tries one file at a time.
    const files = [f('bootmgr', 40_000, 'boot'), f(MANIFEST, 4096, 'environment')];
    for (let i = 0; i < 40; i++) files.push(f(`SMS/PKG/P/${'Verzeichnis-'.repeat(8)}${i}/${'Unterordner-'.repeat(8)}${i}/file-${i}.bin`, 1 + ((i * 7919) % 9000)));
    const m = measure(files);
    const fixed = m(discWith([whole(files, 0), whole(files, 1)], []));
    for (const room of [12, 40, 97, 150]) {
      const discs = packDiscs(files, [], fixed + room, m, [1]);
      assert.deepEqual(discs, referencePack(files, [], fixed + room, m, [1]), `${room} blocks of room`);
      assert.ok(discs.length >= 2, `${room} blocks of room: ${discs.length} discs`);
    }
  });

  test('a few measurements a disc, however many files it holds', () => {
    // The packer guesses a run from each file's data and one entry and measures only the guesses (DiscSet.ts's
    // longestRun), then the head of the file that did not fit: not one measurement per file.
    const files = [f('bootmgr', 40_000, 'boot'), f(MANIFEST, 4096, 'environment')];
    for (let i = 0; i < 400; i++) files.push(f(`SMS/PKG/A/f${i}.bin`, 1 + ((i * 7919) % 9000)));
    let calls = 0;
    const m = measure(files);
    const counted = (d: Disc): number => {
      calls++;
      return m(d);
    };
    const all = packDiscs(files, [], 1_000_000, counted, [1]);
    assert.equal(all.length, 1);
    assert.equal(all[0].parts.length, files.length);
    assert.ok(calls <= 2, `${calls} measurements for one disc of 402 files`);
    for (const capacity of [500, 700]) {
      calls = 0;
      const discs = packDiscs(files, [], capacity, counted, [1]);
      assert.deepEqual(discs, referencePack(files, [], capacity, m, [1]), `${capacity} blocks`);
      assert.ok(discs.length >= 2, `${discs.length} discs`);
      assert.ok(calls <= 5 * discs.length, `${calls} measurements for ${discs.length} discs`);
    }

    // Files in deep folders of their own: the first guess is too long, the packer backs off (by the fewest files that
    // end the excess) and measures again; still a handful a disc.
    const deep = [f('bootmgr', 40_000, 'boot'), f(MANIFEST, 4096, 'environment')];
    for (let i = 0; i < 40; i++) deep.push(f(`SMS/PKG/P/${'Verzeichnis-'.repeat(8)}${i}/${'Unterordner-'.repeat(8)}${i}/file-${i}.bin`, 1 + ((i * 7919) % 9000)));
    const md = measure(deep);
    const fixed = md(discWith([whole(deep, 0), whole(deep, 1)], []));
    for (const room of [12, 40, 97, 150]) {
      calls = 0;
      const discs = packDiscs(deep, [], fixed + room, (d) => {
        calls++;
        return md(d);
      }, [1]);
      assert.ok(calls <= 5 * discs.length + 1, `${room} blocks of room: ${calls} measurements for ${discs.length} discs`);
    }
  });

  test('a head past 4 GiB that needs one more extent record: shrunk to the largest head that fits', () => {
    // Filler counts (found by trying 0-60) for which the first guess of the head puts its extra record across a block.
    const capacity = 2_600_000;
    const empty = Array.from({ length: 100 }, (_, i) => `SMS/PKG/E/e${i}`);
    for (const n of [29, 30, 38]) {
      const files = [f('bootmgr', 40_000, 'boot'), f(MANIFEST, 8192, 'environment')];
      for (let i = 0; i < n; i++) files.push(f(`SMS/PKG/A/filler-${String(i).padStart(3, '0')}.bin`, 1000));
      files.push(f('SMS/PKG/A/zz-install.wim', 6 * 1024 * MiB));
      const m = measure(files);
      const discs = packDiscs(files, empty, capacity, m, [1]);
      assert.deepEqual(discs, referencePack(files, empty, capacity, m, [1]), `${n} fillers`);
      assert.ok((discs[0].parts.at(-1)?.size ?? 0) > 4 * 1024 * MiB, 'a head past 4 GiB');
    }
  });

  test('a head whose extents need records of their own: shrunk by the excess at once, not a block at a time', () => {
    // A measure by which a part past 4 MiB needs 40 blocks of records more (as a file past 4 GiB needs a record per
    // extent): the first guess of a head (all the room left) is 40 blocks too large, and one shrink by that excess
    // gives the largest head that fits.
    const recorded = (d: Disc): number => 1 + d.parts.reduce((n, p) => n + Math.ceil(p.size / BLOCK) + (p.size > 4 * MiB ? 40 : 0), 0);
    const files = [f('bootmgr', 1000, 'boot'), f(MANIFEST, 100, 'environment'), f('SMS/PKG/A/big.wim', 20 * MiB + 123)];
    let calls = 0;
    const counted = (d: Disc): number => {
      calls++;
      return recorded(d);
    };
    const discs = packDiscs(files, [], 4000, counted, [1]);
    assert.deepEqual(discs, referencePack(files, [], 4000, recorded, [1]));
    assert.equal(discs.length, 3);
    assert.deepEqual(discs.slice(0, 2).map(recorded), [4000, 4000], 'the heads fill their discs');
    assert.ok(calls <= 4 * discs.length, `${calls} measurements for ${discs.length} discs`);
  });

  test('without the files every disc carries given: none are assumed', () => {
    const files = [f('bootmgr', 40_000, 'boot'), f('SMS/PKG/A/a.bin', 300_000), f('SMS/PKG/A/b.bin', 300_000)];
    const m = measure(files);
    const capacity = m(discWith([whole(files, 0), whole(files, 1)], [])) + 20;
    const discs = packDiscs(files, [], capacity, m);
    assert.deepEqual(discs, referencePack(files, [], capacity, m, []));
    assert.equal(discs.length, 2);
  });

  test('unlimited: one disc, every file whole in plan order, the given folders and every parent', () => {
    const files = [f('SMS/PKG/A/x/y.bin', 10), f('bootmgr', 100, 'boot'), f(MANIFEST, 50, 'environment'), f('SMS/PKG/B/z.bin', 7)];
    const discs = packDiscs(files, ['SMS/PKG/A/empty/deeper', 'SMS/PKG/B'], Infinity, measure(files), [2]);
    assert.deepEqual(discs, [
      {
        parts: files.map((_, i) => whole(files, i)),
        directories: ['SMS', 'SMS/PKG', 'SMS/PKG/A', 'SMS/PKG/A/empty', 'SMS/PKG/A/empty/deeper', 'SMS/PKG/A/x', 'SMS/PKG/B', 'SMS/data'],
      },
    ]);
  });

  test('a file is split onto a disc holding other files only when 16 blocks of it fit there', () => {
    const files = [f('bootmgr', 40_000, 'boot'), f(MANIFEST, 4096, 'environment'), f('SMS/PKG/A/a.bin', 100_000), f('SMS/PKG/A/big.bin', 200 * BLOCK)];
    const m = measure(files);
    const head = (blocks: number): DiscPart => ({ ...whole(files, 3), size: blocks * BLOCK });
    const sixteen = m(discWith([whole(files, 0), whole(files, 1), whole(files, 2), head(16)], []));
    assert.equal(m(discWith([whole(files, 0), whole(files, 1), whole(files, 2), head(15)], [])), sixteen - 1, 'a block less of the head, a block less on the disc');

    const split = packDiscs(files, [], sixteen, m, [1]);
    assert.deepEqual(split[0].parts, [whole(files, 0), whole(files, 1), whole(files, 2), head(16)]);
    assert.deepEqual(split[1].parts.slice(0, 2).map((p) => [p.file, p.sourceOffset]), [[1, 0], [3, 16 * BLOCK]], 'the rest opens disc 2');

    const moved = packDiscs(files, [], sixteen - 1, m, [1]);
    assert.deepEqual(moved[0].parts, [whole(files, 0), whole(files, 1), whole(files, 2)], 'with room for 15 blocks the file starts the next disc');
    assert.deepEqual(moved[1].parts.slice(0, 2).map((p) => [p.file, p.sourceOffset]), [[1, 0], [3, 0]]);
  });

  test('a file larger than several discs: each part fills its disc, the rest opens the next, files follow the last part', () => {
    const files = [f('bootmgr', 40_000, 'boot'), f(MANIFEST, 4096, 'environment'), f('SMS/PKG/A/huge.bin', 1_000_000), f('SMS/PKG/A/after.bin', 5000), f('SMS/PKG/B/last.bin', 3000)];
    const m = measure(files);
    const capacity = m(discWith([whole(files, 0), whole(files, 1)], [])) + 150;
    const discs = packDiscs(files, ['SMS/PKG/C'], capacity, m, [1]);
    assert.deepEqual(discs, referencePack(files, ['SMS/PKG/C'], capacity, m, [1]));
    const huge = discs.flatMap((d) => d.parts.filter((p) => p.file === 2));
    assert.ok(huge.length >= 3, `${huge.length} parts`);
    assert.equal(huge.reduce((n, p) => n + p.size, 0), files[2].size);
    for (const d of discs.slice(0, -1)) assert.ok(m(d) <= capacity && m(d) >= capacity - 1, `each disc but the last is full: ${m(d)} of ${capacity} blocks`);
    const last = discs.at(-1) as Disc;
    assert.deepEqual(last.parts.slice(-2).map((p) => p.path), ['SMS/PKG/A/after.bin', 'SMS/PKG/B/last.bin'], 'the files after the split file follow its last part');
    assert.ok(discs[0].directories.includes('SMS/PKG/C') && discs.slice(1).every((d) => !d.directories.includes('SMS/PKG/C')), 'the empty folder on disc 1 only');
  });

  test('a folder given in another case than its files is no empty folder: it goes with its files, not on disc 1', () => {
    const files = [f('bootmgr', 40_000, 'boot'), f(MANIFEST, 4096, 'environment'), f('SMS/PKG/A/one.bin', 300_000), f('SMS/PKG/B/two.bin', 300_000)];
    const m = measure(files);
    const capacity = m(discWith([whole(files, 0), whole(files, 1), whole(files, 2)], [])) + 5;
    const discs = packDiscs(files, ['sms/pkg/b', 'SMS/PKG/A'], capacity, m, [1]);
    assert.equal(discs.length, 2);
    assert.deepEqual(discs[0].directories, ['SMS', 'SMS/PKG', 'SMS/PKG/A', 'SMS/data']);
    assert.deepEqual(discs[1].directories, ['SMS', 'SMS/PKG', 'SMS/PKG/B', 'SMS/data']);
  });

  test('what does not fit is named, with the sizes in MiB', () => {
    const boot = [f('sources/boot.wim', 50 * MiB, 'boot'), f(MANIFEST, 4096, 'environment')];
    const need = measure(boot)(discWith([whole(boot, 0), whole(boot, 1)], []));
    assert.throws(() => packDiscs(boot, [], need - 1, measure(boot), [1]), {
      name: 'InputError',
      message: `the boot files and the task sequence environment alone need ${mb(need * BLOCK)} on a disc, more than the media size of ${mb((need - 1) * BLOCK)}; choose a larger media size.`,
    });
    assert.equal(packDiscs(boot, [], need, measure(boot), [1]).length, 1, 'exactly the blocks disc 1 needs is enough');

    // A measure that charges a later disc 3 MiB more than the planner (disc 1 holds bootmgr): the files every disc
    // carries no longer fit there, and they are named, the first three of them.
    const every = [f('bootmgr', 1000, 'boot'), f(MANIFEST, 4096, 'environment'), f('SMS/bin/a.exe', 10, 'runtime'), f('SMS/bin/b.exe', 10, 'runtime'), f('SMS/bin/c.exe', 10, 'runtime'), f('SMS/PKG/A/x.bin', 4 * MiB)];
    const charged = (files: readonly MediaFile[], extra: number) => (d: Disc): number => measure(files)(d) + (d.parts.some((p) => p.path === 'bootmgr') ? 0 : extra);
    const cap = 2 * MiB / BLOCK;
    const four = thrown(() => packDiscs(every, [], cap, charged(every, 1536), [1, 2, 3, 4]));
    assert.ok(four instanceof InputError);
    assert.match(four.message, new RegExp(`^the files every disc carries \\(4 files: SMS/data/tsmedia-manifest\\.json, SMS/bin/a\\.exe, SMS/bin/b\\.exe, …\\) alone need \\d+\\.\\d MiB on a disc, more than the media size of 2\\.0 MiB; choose a larger media size\\.$`));
    const three = thrown(() => packDiscs(every, [], cap, charged(every, 1536), [1, 2, 3]));
    assert.ok(three instanceof InputError);
    assert.match(three.message, /^the files every disc carries \(3 files: SMS\/data\/tsmedia-manifest\.json, SMS\/bin\/a\.exe, SMS\/bin\/b\.exe\) alone need 3\.\d MiB on a disc/);

    // A file whose entry alone does not fit beside the files every disc carries, on a disc of its own.
    const long = Array.from({ length: 30 }, (_, i) => `${'長い名前'.repeat(20)}${i}`).join('/');
    const deep = [f('bootmgr', 1000, 'boot'), f(MANIFEST, 4096, 'environment'), f(`SMS/PKG/B/${long}/deep.bin`, 5000)];
    const later = measure(deep)(discWith([whole(deep, 1), { ...whole(deep, 2), size: BLOCK }], []));
    assert.throws(() => packDiscs(deep, [], later - 1, measure(deep), [1]), { name: 'InputError', message: tooSmallMessage(deep[2].path, later - 1) });
    // With one block more it is split over discs of their own.
    const packed = packDiscs(deep, [], later, measure(deep), [1]);
    assert.deepEqual(packed, referencePack(deep, [], later, measure(deep), [1]));
  });

  test('the rest of a split file whose entry fits on no later disc is refused by name', () => {
    // With the ISO planner a later disc holds less than disc 1, so this needs a measure that charges later discs more
    // (disc 1 holds bootmgr): disc 1 takes a head of the file, a later disc has room for the manifest but not the
    // file's entry, whose long folders take blocks of their own.
    const long = Array.from({ length: 30 }, (_, i) => `${'長い名前'.repeat(20)}${i}`).join('/');
    const files = [f('bootmgr', 1000, 'boot'), f(MANIFEST, 4096, 'environment'), f(`SMS/PKG/B/${long}/deep.bin`, 900_000)];
    const m = measure(files);
    const entry = m(discWith([whole(files, 1), { ...whole(files, 2), size: 0 }], []));
    const first = m(discWith([whole(files, 0), whole(files, 1), { ...whole(files, 2), size: BLOCK }], []));
    assert.ok(entry > m(discWith([whole(files, 1)], [])), 'the entry takes blocks');
    // Disc 1 has room for 20 blocks of the file, so it takes a head (at least 16 blocks) and the rest is carried.
    const extra = Math.max(0, first - entry + 20);
    const charged = (d: Disc): number => m(d) + (d.parts.some((p) => p.path === 'bootmgr') ? 0 : extra);
    const capacity = entry + extra - 1;
    assert.throws(() => packDiscs(files, [], capacity, charged, [1]), { name: 'InputError', message: tooSmallMessage(files[2].path, capacity) });
    // Room for the entry but not one block of the rest: refused too (not an endless run of empty parts).
    assert.throws(() => packDiscs(files, [], capacity + 1, charged, [1]), { name: 'InputError', message: tooSmallMessage(files[2].path, capacity + 1) });
  });
});

describe('the disc plan', () => {
  test('discIsoBase: the label, the time, the boot images and the tool with its version', () => {
    const when = new Date('2026-12-04T10:00:00Z');
    assert.deepEqual(discIsoBase('LABEL', when, { bootBios: 'a', bootEfi: null }), { volumeId: 'LABEL', timestamp: when, bootBios: 'a', bootEfi: null, applicationId: `TSMEDIA ${packageVersion()}` });
  });

  test('discIsoOptions: the parts as files from their sources, the boot images only on the disc that holds them', () => {
    const files = [f(BIOS, 4096, 'boot'), f(EFI, 8192, 'boot'), f('SMS/PKG/A/x.bin', 10_000)];
    const disc1: Disc = { parts: [whole(files, 0), { ...whole(files, 2), size: 6144 }], directories: ['SMS'] };
    assert.deepEqual(discIsoOptions(disc1, files, ISO), {
      volumeId: 'TSMEDIA',
      files: [
        { path: BIOS, source: files[0].source, sourceOffset: 0, size: 4096 },
        { path: 'SMS/PKG/A/x.bin', source: files[2].source, sourceOffset: 0, size: 6144 },
      ],
      directories: ['SMS'],
      bootBios: BIOS,
      bootEfi: null,
      timestamp: ISO.timestamp,
      applicationId: ISO.applicationId,
    });
    const disc2: Disc = { parts: [whole(files, 1), { ...whole(files, 2), sourceOffset: 6144, size: 3856 }], directories: [] };
    const o2 = discIsoOptions(disc2, files, ISO);
    assert.equal(o2.bootBios, null);
    assert.equal(o2.bootEfi, EFI);
    assert.deepEqual(o2.files[1], { path: 'SMS/PKG/A/x.bin', source: files[2].source, sourceOffset: 6144, size: 3856 });
    assert.equal(discIsoOptions(disc2, files, { ...ISO, bootEfi: null }).bootEfi, null, 'no EFI image named, none given');
  });

  test('partsByFile: discs numbered from 1, each part with its offset and size, the files every disc carries left out', () => {
    const files = [f(MANIFEST, 100, 'environment'), f('a', 5000), f('b', 10)];
    const discs: Disc[] = [
      { parts: [whole(files, 0), { ...whole(files, 1), size: 2048 }], directories: [] },
      { parts: [whole(files, 0), { ...whole(files, 1), sourceOffset: 2048, size: 2952 }, whole(files, 2)], directories: [] },
    ];
    assert.deepEqual(
      [...partsByFile(discs, [0]).entries()],
      [
        [1, [{ disc: 1, offset: 0, size: 2048 }, { disc: 2, offset: 2048, size: 2952 }]],
        [2, [{ disc: 2, offset: 0, size: 10 }]],
      ],
    );
    assert.deepEqual(partsByFile(discs).get(0), [{ disc: 1, offset: 0, size: 100 }, { disc: 2, offset: 0, size: 100 }], 'by default every file is listed');
  });

  test("packDiscSet: the sample site's plan with a file of many discs, its manifest slot grown until the manifest fits", async () => {
    const site = await Site.open(SAMPLE_SITE);
    const req = baseRequest({ site: SAMPLE_SITE, label: 'DISCS' });
    const p = await prepareMedia(site, req, { label: 'DISCS', start: null, expire: null, timestamp: new Date('2026-12-04T00:00:00Z') }, new CmTraceLog([]), 'disc test');
    // One disc: the manifest does not depend on its slot's size. A slot of exactly the manifest's size is kept; one
    // byte less grows by an eighth and 1 KiB.
    const iso1 = discIsoBase('DISCS', new Date('2026-12-04T00:00:00Z'), p.content);
    const needOne = (): number => {
      const one = partsByFile(packDiscSet(p, req, Infinity, iso1), everyDiscFiles(p));
      return serializeManifest(buildManifest(p, req, 1, (i) => one.get(i) ?? [])).length;
    };
    const original = p.manifestSize;
    const exact = needOne();
    reserveManifest(p, exact);
    assert.equal(packDiscSet(p, req, Infinity, iso1).length, 1);
    assert.equal(p.manifestSize, exact, 'a slot of exactly the manifest is enough');
    reserveManifest(p, exact - 1);
    packDiscSet(p, req, Infinity, iso1);
    assert.equal(p.manifestSize, exact + Math.ceil(exact / 8) + 1024);
    reserveManifest(p, original);

    // A file of several hundred discs: its parts outgrow the slot the manifest was given. The files every disc carries
    // (the sample site's SMS\bin) are listed without parts, so they do not grow it.
    assert.ok(everyDiscFiles(p).length > 1, 'the sample site has OSD binaries');
    p.files.push({ ...f('SMS/PKG/SMP00098/archive.7z', 4 * 1024 * MiB), packageId: 'SMP00098' });
    const before = p.manifestSize;
    const iso = discIsoBase('DISCS', new Date('2026-12-04T00:00:00Z'), p.content);
    const firstDisc = p.files.map((_, i) => i).filter((i) => p.files[i].role === 'boot' || p.files[i].role === 'environment' || everyDiscFiles(p).includes(i));
    const capacity = measureIso(discIsoOptions(discWith(firstDisc.map((i) => whole(p.files, i)), p.content.directories), p.files, iso)).blocks + 4096;
    const discs = packDiscSet(p, req, capacity, iso);
    const every = everyDiscFiles(p);
    const parts = partsByFile(discs, every);
    const need = serializeManifest(buildManifest(p, req, discs.length, (i) => parts.get(i) ?? [])).length;
    assert.ok(p.manifestSize > before, `the slot grew from ${before} bytes (now ${p.manifestSize})`);
    assert.ok(need <= p.manifestSize, `the manifest (${need} bytes) fits its slot of ${p.manifestSize}`);
    assert.ok(p.manifestSize <= need + Math.ceil(need / 8) + 1024 + 4096, `the slot (${p.manifestSize}) is not far beyond the manifest (${need})`);
    assert.equal(p.files[p.manifestIndex].size, p.manifestSize);
    // Every disc carries the slot as it now is, and the discs are those of that slot.
    for (const d of discs) assert.ok(d.parts.some((x) => x.file === p.manifestIndex && x.size === p.manifestSize));
    const m = (d: Disc): number => measureIso(discIsoOptions(d, p.files, iso)).blocks;
    assert.deepEqual(discs, packDiscs(p.files, p.content.directories, capacity, m, every));
    assert.ok(discs.length > 400, `${discs.length} discs`);
    assert.deepEqual(parts.get(p.files.length - 1)?.map((x) => x.disc), discs.map((_, i) => i + 1).filter((i) => i > 1 || discs[0].parts.some((x) => x.file === p.files.length - 1)));
  });
});
