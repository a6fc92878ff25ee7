// Packing media files onto discs, every disc planned by the real ISO planner (the options the builder gives it):
// capacity kept, disc 1 first with the boot files and environment, the manifest on every disc, splits in order — for
// hand-made sets and for random trees (fast-check) down to the smallest capacity that can hold them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { packDiscs, type Disc } from '../electron/engine/media/DiscSet.js';
import { discIsoOptions } from '../electron/engine/media/DiscSetPlan.js';
import { InputError } from '../electron/engine/errors.js';
import { planIso, windowsUpper } from '../electron/engine/formats/iso/IsoImage.js';
import type { MediaFile, MediaFileRole } from '../electron/engine/media/MediaPlan.js';
import { discBlocks, discFileName, parseDiscSize } from '../shared/media.js';
import { BIOS, EFI, ISO, MANIFEST, f, measure } from './support/discFixtures.js';

const MiB = 1024 * 1024;
/** The blocks of the image the builder writes for a disc (planIso refuses a path given twice). */
const planned = (files: readonly MediaFile[], d: Disc): number => planIso(discIsoOptions(d, files, ISO)).blocks;

const FIRST_DISC_ROLES = new Set<MediaFileRole>(['boot', 'environment']);

/** The folders a path lies in: "a/b/c" → "a", "a/b". */
const parentsOf = (path: string): string[] => {
  const segs = path.split('/');
  return segs.slice(1).map((_, i) => segs.slice(0, i + 1).join('/'));
};

/** Everything a packing must hold, whatever the tree and the capacity. */
function checkPacking(files: readonly MediaFile[], folders: readonly string[], capacity: number, discs: Disc[], onEveryDisc: readonly number[]): void {
  assert.ok(discs.length >= 1, 'at least one disc');
  const every = new Set(onEveryDisc);
  discs.forEach((d, i) => {
    const blocks = planned(files, d);
    assert.ok(blocks <= capacity, `disc ${i + 1} needs ${blocks} blocks, more than its ${capacity}`);
    const keys = d.parts.map((p) => windowsUpper(p.path));
    assert.equal(new Set(keys).size, keys.length, `disc ${i + 1} holds a path twice: ${keys.filter((k, j) => keys.indexOf(k) !== j).join(', ')}`);
    for (const x of onEveryDisc) assert.ok(d.parts.some((p) => p.file === x && p.sourceOffset === 0 && p.size === files[x].size), `disc ${i + 1} carries ${files[x].path} whole`);
    if (i > 0) assert.ok(d.parts.some((p) => !every.has(p.file)), `disc ${i + 1} holds content besides the files every disc carries`);
    for (const p of d.parts) assert.equal(p.path, files[p.file].path);
  });
  const holding = new Set(files.flatMap((file) => parentsOf(file.path)).map(windowsUpper));
  for (const dir of folders) {
    if (!holding.has(windowsUpper(dir))) assert.ok(discs[0].directories.includes(dir), `disc 1 has the empty folder ${dir}`);
    else assert.ok(discs.some((d) => d.directories.includes(dir)), `a disc has the folder ${dir}`);
  }
  files.forEach((file, i) => {
    if (every.has(i)) return;
    const parts = discs.flatMap((d, disc) => d.parts.filter((p) => p.file === i).map((p) => ({ ...p, disc })));
    assert.ok(parts.length >= 1, `${file.path} is on a disc`);
    if (FIRST_DISC_ROLES.has(file.role)) assert.deepEqual(parts.map((p) => [p.disc, p.sourceOffset, p.size]), [[0, 0, file.size]], `${file.path} whole on disc 1`);
    let offset = 0;
    parts.forEach((p, j) => {
      assert.equal(p.sourceOffset, offset, `${file.path}: part ${j + 1} starts where the one before ends`);
      assert.ok(p.size > 0 || file.size === 0, `${file.path}: no empty part`);
      if (j > 0) assert.equal(p.disc, parts[j - 1].disc + 1, `${file.path}: parts on consecutive discs`);
      // The head ends its disc; each later part opens its disc, after the files every disc carries.
      const onDisc = discs[p.disc].parts;
      if (j < parts.length - 1) assert.equal(onDisc[onDisc.length - 1].file, i, `${file.path}: part ${j + 1} ends disc ${p.disc + 1}`);
      if (j > 0) assert.equal(onDisc[onEveryDisc.length].file, i, `${file.path}: part ${j + 1} opens disc ${p.disc + 1}`);
      offset += p.size;
    });
    assert.equal(offset, file.size, `${file.path}: the parts join back to the whole`);
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Random trees

/** Name characters: ASCII, accented Latin, Greek, Cyrillic, CJK, Hangul, emoji (surrogate pairs, a modifier). */
const NAME_CHARS = [...'abcxyzABCXYZ0189-_ (){}~!&', ...'éèüßÅØçñÆœ', ...'ΩπжЯ', ...'日本語中文字', ...'한국어', '😀', '🚀', '👍🏽', '€'];
const nameArb = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength, size: 'max' })
    .map((cs) => cs.join('').trim())
    .filter((s) => s !== '');
/** Folder names hold no "." and file names always do, so no path is both a file and a folder. */
const folderArb = fc.oneof({ weight: 4, arbitrary: nameArb(12) }, { weight: 1, arbitrary: nameArb(90) });
const fileNameArb = fc.tuple(fc.oneof({ weight: 4, arbitrary: nameArb(16) }, { weight: 1, arbitrary: nameArb(110) }), fc.constantFrom('sys', 'inf', 'wim', 'cab', 'dll', 'bin', 'ps1')).map(([b, e]) => `${b}.${e}`);
/** A size as a share of a disc: small files, some around a disc, some larger than several discs, empty ones. */
const shareArb = (smallWeight: number): fc.Arbitrary<number> =>
  fc
    .oneof(
      { weight: smallWeight, arbitrary: fc.integer({ min: 1, max: 20_000 }) },
      { weight: 3, arbitrary: fc.integer({ min: 1, max: 1_200_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1_500_000, max: 6_000_000 }) },
      { weight: 1, arbitrary: fc.constant(0) },
    )
    .map((millionths) => millionths / 1_000_000);
const treeFileArb = (smallWeight: number) =>
  fc.record({
    pkg: fc.constantFrom('SMP00001', 'SMP00002', 'SMP00099'),
    dirs: fc.array(folderArb, { maxLength: 7, size: 'max' }),
    name: fileNameArb,
    share: shareArb(smallWeight),
  });

interface Tree {
  files: MediaFile[];
  /** Every folder of the content, as the media plan gives them (those with files and the empty ones). */
  folders: string[];
  onEveryDisc: number[];
}

/** Trees of up to `maxFiles` content files; `smallWeight` against 5 for the others sets how many are small. */
const treeArbOf = (maxFiles: number, smallWeight: number) => fc.record({
  bootWimShare: fc.integer({ min: 0, max: 600 }).map((x) => x / 1000),
  envSizes: fc.array(fc.integer({ min: 1, max: 60_000 }), { minLength: 4, maxLength: 4 }),
  manifestSize: fc.integer({ min: 4096, max: 150_000 }),
  content: fc.array(treeFileArb(smallWeight), { maxLength: maxFiles, size: 'max' }),
  prestart: fc.array(fc.tuple(fileNameArb, fc.integer({ min: 0, max: 50_000 })), { maxLength: 3 }),
  emptyDirs: fc.array(fc.tuple(fc.constantFrom('SMS/PKG/SMP00001', 'SMS/PKG/SMP00077'), fc.array(folderArb, { minLength: 1, maxLength: 5 })), { maxLength: 3 }),
});

const treeArb = treeArbOf(40, 5);
type TreeInput = typeof treeArb extends fc.Arbitrary<infer T> ? T : never;

/** Builds the tree in the builder's order (boot, environment, manifest, packages, prestart) for discs of `discBytes`. */
function buildTree(t: TreeInput, discBytes: number): Tree {
  const seen = new Set<string>();
  const files: MediaFile[] = [];
  const push = (file: MediaFile): void => {
    const key = windowsUpper(file.path);
    if (seen.has(key)) return;
    seen.add(key);
    files.push(file);
  };
  push(f('bootmgr', 40_000, 'boot'));
  push(f(BIOS, 4096, 'boot'));
  push(f(EFI, 24_576, 'boot'));
  push(f('sources/boot.wim', Math.floor(t.bootWimShare * discBytes), 'boot'));
  ['SMS/data/TsmBootstrap.ini', 'SMS/data/Variables.dat', 'SMS/data/Policy.xml', 'MediaLabel.txt'].forEach((p, i) => push(f(p, t.envSizes[i], 'environment')));
  push(f(MANIFEST, t.manifestSize, 'environment'));
  const manifest = files.length - 1;
  for (const c of t.content) push(f(['SMS/PKG', c.pkg, ...c.dirs, c.name].join('/'), Math.floor(c.share * discBytes)));
  for (const [name, size] of t.prestart) push(f(`SMS/PreStart/${name}`, size, 'prestart'));
  const folders = new Set(t.emptyDirs.map(([root, dirs]) => [root, ...dirs].join('/')));
  for (const file of files) if (file.role === 'package') parentsOf(file.path).slice(2).forEach((d) => folders.add(d));
  return { files, folders: [...folders].sort(), onEveryDisc: [manifest] };
}

/** Blocks of disc 1 with only what it must hold, and of a later disc with only the manifest and a block of `file`. */
function minimumCapacities(tree: Tree): { first: number; any: number } {
  const m = measure(tree.files);
  const fixed = tree.files.map((_, i) => i).filter((i) => FIRST_DISC_ROLES.has(tree.files[i].role));
  const whole = (i: number): Disc['parts'][number] => ({ file: i, path: tree.files[i].path, sourceOffset: 0, size: tree.files[i].size });
  const disc = (parts: Disc['parts'], dirs: string[]): Disc => {
    const all = new Set(dirs);
    for (const p of [...parts.map((x) => x.path), ...dirs.map((d) => `${d}/x`)]) {
      const segs = p.split('/');
      for (let i = 1; i < segs.length; i++) all.add(segs.slice(0, i).join('/'));
    }
    return { parts, directories: [...all].sort() };
  };
  const holding = new Set(tree.files.flatMap((file) => parentsOf(file.path)).map(windowsUpper));
  const first = m(disc(fixed.map(whole), tree.folders.filter((d) => !holding.has(windowsUpper(d)))));
  let any = first;
  tree.files.forEach((file, i) => {
    if (FIRST_DISC_ROLES.has(file.role)) return;
    const one = { ...whole(i), size: Math.min(file.size, 2048) };
    any = Math.max(any, m(disc([...tree.onEveryDisc.map(whole), one], [])));
  });
  return { first, any };
}

describe('DiscSet', () => {
  test('unlimited: one disc with everything and every parent folder', () => {
    const files = [f('bootmgr', 100, 'boot'), f('SMS/PKG/A/x/y.bin', 10)];
    const discs = packDiscs(files, ['SMS/PKG/A/empty'], Infinity, measure(files));
    assert.equal(discs.length, 1);
    assert.deepEqual(discs[0].directories, ['SMS', 'SMS/PKG', 'SMS/PKG/A', 'SMS/PKG/A/empty', 'SMS/PKG/A/x']);
  });

  test('capacity is kept, the first disc holds boot and environment, split parts are contiguous and in order', () => {
    const files = [
      f('SMS/PKG/A/a.bin', 30 * MiB),
      f('bootmgr', 1 * MiB, 'boot'),
      f('SMS/data/Variables.dat', 10_000, 'environment'),
      f(MANIFEST, 20_000, 'environment'),
      f('SMS/PKG/B/huge.wim', 100 * MiB),
      f('SMS/PKG/C/c.bin', 5 * MiB),
    ];
    const capacity = (40 * MiB) / 2048;
    const discs = packDiscs(files, [], capacity, measure(files), [3]);
    checkPacking(files, [], capacity, discs, [3]);
    assert.deepEqual(discs[0].parts.slice(0, 3).map((p) => p.path), ['bootmgr', 'SMS/data/Variables.dat', MANIFEST]);
    const huge = discs.flatMap((d, i) => d.parts.filter((p) => p.path.endsWith('huge.wim')).map((p) => ({ ...p, disc: i })));
    assert.ok(huge.length >= 3, 'a 100 MB file over 40 MB discs takes three or more parts');
    assert.ok(discs.slice(1).every((d) => d.parts[0].path === MANIFEST), 'the manifest opens every later disc');
  });

  test('a realistic site: 250 files in deep non-ASCII folders, a WIM larger than a disc, every folder of the content given', () => {
    // Issue 11: the packer's estimate left out the content's folders that disc 1 was given, the exact check moved the
    // head of the split WIM to the next disc, and the WIM's rest went there too: "file … is given twice".
    const words = ['Système', 'Treiber', 'Überblick', 'naïve', '日本語', 'Ελληνικά', 'Пакет', 'Réseau'];
    const files = [f('bootmgr', 400_000, 'boot'), f(BIOS, 4096, 'boot'), f(EFI, 1_474_560, 'boot'), f('sources/boot.wim', 20 * MiB, 'boot'), f(MANIFEST, 130_000, 'environment')];
    files.push(f('SMS/PKG/SMP00099/install.wim', 96 * MiB + 4321));
    for (let i = 0; i < 249; i++) {
      const folders = Array.from({ length: 2 + (i % 5) }, (_, d) => `${words[(i * 3 + d * 5) % words.length]}-${d}-${i % 37}`);
      files.push(f(['SMS/PKG/SMP00099', ...folders, `${words[i % words.length]}_${i}.sys`].join('/'), i < 9 ? 2 * MiB + i * 300_000 : 1 + ((i * 7919) % 120_000)));
    }
    const folders = [...new Set(files.filter((x) => x.role === 'package').flatMap((x) => parentsOf(x.path).slice(2)))].sort();
    for (const mib of [64, 70, 80, 100, 120]) {
      const capacity = discBlocks(mib * MiB);
      const discs = packDiscs(files, folders, capacity, measure(files), [4]);
      checkPacking(files, folders, capacity, discs, [4]);
      assert.ok(discs.length >= 2, `${mib} MiB: a set`);
    }
  });

  test('boot files that do not fit one disc are refused by name', () => {
    const files = [f('sources/boot.wim', 50 * MiB, 'boot')];
    assert.throws(() => packDiscs(files, [], (10 * MiB) / 2048, measure(files)), (err: unknown) => err instanceof InputError && /boot files and the task sequence environment alone need .* choose a larger media size/.test(err.message));
  });

  test('a file whose folders alone fill a disc beside the manifest is named, with what to do', () => {
    const long = Array.from({ length: 40 }, (_, i) => `${'長い名前'.repeat(20)}${i}`).join('/');
    const files = [f('bootmgr', 1000, 'boot'), f(MANIFEST, 4096, 'environment'), f(`SMS/PKG/B/${long}/deep.bin`, 5000)];
    // A later disc with the manifest and one block of deep.bin: one block less and the file fits nowhere.
    const one = [files[1], f(files[2].path, 2048)];
    const later = measure(one)(packDiscs(one, [], Infinity, measure(one))[0]);
    assert.throws(() => packDiscs(files, [], later - 1, measure(files), [1]), (err: unknown) => err instanceof InputError && err.message.includes('deep.bin" does not fit, even in part') && /choose a larger media size/.test(err.message));
    const discs = packDiscs(files, [], later, measure(files), [1]);
    checkPacking(files, [], later, discs, [1]);
  });

  test('a head past 4 GiB needs a second extent record: the head is measured again and shrunk until the disc fits', () => {
    // The first guess for a head is the room left in data blocks; a head over the largest ISO extent takes one more
    // record in its folder (ISO and Joliet), and when that record crosses a block the guess is one block over. The
    // fillers move the big file's records along its folder's block so some counts cross it. The empty folders fill
    // the room below the UDF anchor (block 256), where a larger tree would otherwise cost nothing.
    const capacity = 2_600_000; // blocks (about 5 GiB): the head is larger than one extent
    const empty = Array.from({ length: 100 }, (_, i) => `SMS/PKG/E/e${i}`);
    let corrected = 0;
    for (let n = 0; n <= 60; n++) {
      const files = [f('bootmgr', 40_000, 'boot'), f(MANIFEST, 8192, 'environment')];
      for (let i = 0; i < n; i++) files.push(f(`SMS/PKG/A/filler-${String(i).padStart(3, '0')}.bin`, 1000));
      files.push(f('SMS/PKG/A/zz-install.wim', 6 * 1024 * MiB));
      const big = files.length - 1;
      const discs = packDiscs(files, empty, capacity, measure(files), [1]);
      checkPacking(files, empty, capacity, discs, [1]);
      // What the first guess would have given on disc 1: every block left after an empty entry for the big file.
      const first = discs[0];
      const others = first.parts.filter((p) => p.file !== big);
      const base = measure(files)({ ...first, parts: [...others, { file: big, path: files[big].path, sourceOffset: 0, size: 0 }] });
      const guess = measure(files)({ ...first, parts: [...others, { file: big, path: files[big].path, sourceOffset: 0, size: (capacity - base) * 2048 }] });
      if (guess > capacity) corrected++;
    }
    assert.ok(corrected >= 2, `${corrected} filler counts put the extra record across a block (the first guess over)`);
  });

  test('random trees on discs down to the smallest capacity: every disc fits, no path twice, the parts join back', () => {
    const seen = { sets: 0, spanning: 0, refused: 0, atLeast: 0 };
    fc.assert(
      fc.property(treeArb, fc.integer({ min: 600_000, max: 4 * MiB }), fc.constantFrom('first', 'any', 'near', 'disc'), fc.integer({ min: 0, max: 2000 }), (t, discBytes, mode, extra) => {
        const tree = buildTree(t, discBytes);
        const min = minimumCapacities(tree);
        // Down to the least disc 1 needs; the packer must succeed from the least any disc needs.
        const capacity =
          mode === 'first' ? min.first : mode === 'any' ? min.any : mode === 'near' ? min.first + (extra % 40) : Math.max(min.first, Math.floor(discBytes / 2048)) + extra;
        let discs: Disc[];
        try {
          discs = packDiscs(tree.files, tree.folders, capacity, measure(tree.files), tree.onEveryDisc);
        } catch (err) {
          assert.ok(err instanceof InputError, `only a named input error: ${String(err)}`);
          assert.ok(capacity < min.any, `refused at ${capacity} blocks though every disc can hold its least (${min.any}): ${err.message}`);
          assert.match(err.message, /does not fit, even in part, on a disc beside the files every disc carries; choose a larger media size/);
          seen.refused++;
          return;
        }
        checkPacking(tree.files, tree.folders, capacity, discs, tree.onEveryDisc);
        if (discs.length > 1) seen.sets++;
        if (tree.files.some((_, i) => discs.filter((d) => d.parts.some((p) => p.file === i && !tree.onEveryDisc.includes(i))).length >= 3)) seen.spanning++;
        if (capacity === min.first || capacity === min.any) seen.atLeast++;
      }),
      { numRuns: 120, seed: 1101, endOnFailure: true },
    );
    // The trees reach what matters: sets of discs, files over three discs or more, the least capacity.
    console.log(`# random trees: ${JSON.stringify(seen)}`);
    assert.ok(seen.sets >= 75 && seen.spanning >= 20 && seen.atLeast >= 30, JSON.stringify(seen));
  });

  test('random trees below what disc 1 must hold are refused with the boot files named', () => {
    fc.assert(
      fc.property(treeArb, fc.integer({ min: 1, max: 300 }), (t, short) => {
        const tree = buildTree(t, 2 * MiB);
        const capacity = minimumCapacities(tree).first - short;
        assert.throws(() => packDiscs(tree.files, tree.folders, capacity, measure(tree.files), tree.onEveryDisc), (err: unknown) => err instanceof InputError && /the boot files and the task sequence environment alone need/.test(err.message));
      }),
      { numRuns: 40, seed: 1102 },
    );
  });

  test('random trees on discs of the smallest media size (64 MiB), files up to several discs', () => {
    const capacity = discBlocks(parseDiscSize(String(64 * MiB)) as number);
    let sets = 0;
    fc.assert(
      fc.property(treeArbOf(250, 60), (t) => {
        const tree = buildTree(t, 64 * MiB);
        const discs = packDiscs(tree.files, tree.folders, capacity, measure(tree.files), tree.onEveryDisc);
        checkPacking(tree.files, tree.folders, capacity, discs, tree.onEveryDisc);
        if (discs.length >= 3) sets++;
      }),
      { numRuns: 50, seed: 1103, endOnFailure: true },
    );
    assert.ok(sets >= 10, `${sets} sets of three discs or more`);
  });

  test('sizes and names', () => {
    assert.equal(parseDiscSize('DVD'), 'dvd');
    assert.equal(parseDiscSize('734003200'), 734003200);
    assert.equal(parseDiscSize('1000'), null, 'under 64 MiB');
    assert.equal(parseDiscSize(String(64 * MiB - 1)), null, 'under 64 MiB');
    assert.equal(parseDiscSize('floppy'), null);
    assert.equal(discFileName('/x/media.iso', 1), '/x/media.iso');
    assert.equal(discFileName('/x/media.iso', 3), '/x/media-3.iso');
    assert.equal(discFileName('C:\\out.v2\\media', 2), 'C:\\out.v2\\media-2');
  });

});
