// Refreshing a FAT32 volume in place (formats/fat32/Fat32Refresh): kept files stay in their clusters, the rest is
// written beside the old files, and after every step the volume is one of the four states, fsck.fat finds it clean,
// and it reads as the old media (before the switch) or the new one (from the switch on). An interruption after any
// step is rolled back or finished by planFat32Repair, again clean after each of its steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, closeSync, ftruncateSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { InputError } from '../electron/engine/errors.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { fatLabel, planFat32, type FatFile } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { planFat32Append } from '../electron/engine/formats/fat32/Fat32Append.js';
import { planFat32InPlace } from '../electron/engine/formats/fat32/Fat32RefreshInPlace.js';
import { planFat32Refresh, planFat32Repair, refreshState, type RefreshFile, type RefreshState, type RefreshStep } from '../electron/engine/formats/fat32/Fat32Refresh.js';
import { requireOrSkip, tempDir } from './helpers.js';
import { fsckVolume, missingFatTools, mtoolsHash, pattern, sha256, writeStep } from './support/fat32Tools.js';

const MiB = 1024 * 1024;
const T0 = new Date('2026-01-10T10:00:00Z');
const T1 = new Date('2026-02-10T10:00:00Z');
const buf = (data: Buffer, label: string): FatFile['source'] => ({ kind: 'buffer', data, label });
const PART = 1024 * 1024;

interface Tree {
  files: Map<string, Buffer>;
  directories: string[];
}

function makeImage(img: string, tree: Tree, diskBytes: number, label = 'OLD MEDIA'): void {
  const files: FatFile[] = [...tree.files].map(([path, data]) => ({ path, source: buf(data, path) }));
  const plan = planFat32({ diskBytes, label, files, directories: tree.directories, timestamp: T0 });
  const fd = openSync(img, 'w+');
  try {
    ftruncateSync(fd, diskBytes);
    writeImage(plan, fd, { gaps: 'sparse' });
  } finally {
    closeSync(fd);
  }
}

const applyStep = writeStep;

/** The refresh's files: those with the same bytes as on the volume are kept (as the manifest's hashes would say). */
function refreshFiles(img: string, old: Tree, next: Tree): RefreshFile[] {
  const vol = openFat32(img);
  try {
    return [...next.files].map(([path, data]) => {
      const before = old.files.get(path);
      const keep = before && before.equals(data) ? vol.find(path) : null;
      return { path, source: buf(data, path), keep };
    });
  } finally {
    vol.close();
  }
}

/** fsck.fat -n exits 0; the one note allowed is a boot sector that differs from its backup (mid-refresh, by design). */
function assertClean(img: string, dir: string, what: string): void {
  const r = fsckVolume(img, PART, dir);
  assert.ok(r, `${what}: fsck.fat could not be run`);
  assert.equal(r.status, 0, `${what}: fsck.fat -n exited ${r.status}:\n${r.output}`);
  assert.doesNotMatch(r.output, /Leaving filesystem unchanged|wrong|Orphan|FATs differ|Dirty bit|Reclaimed|Free cluster summary wrong/i, `${what}: ${r.output}`);
}

/** What the volume holds now, read through the FAT in use: path → bytes. */
function readTree(img: string): Map<string, Buffer> {
  const vol = openFat32(img);
  try {
    return new Map(vol.files().map((f) => [f.path, vol.readFileBuffer(f.path)]));
  } finally {
    vol.close();
  }
}

function assertHolds(img: string, tree: Tree, what: string): void {
  const got = readTree(img);
  assert.deepEqual([...got.keys()].sort(), [...tree.files.keys()].sort(), `${what}: the paths`);
  for (const [p, data] of tree.files) assert.ok(got.get(p)?.equals(data), `${what}: ${p} differs`);
}

const stateOf = (img: string): { state: RefreshState; backupDiffers: boolean } => {
  const vol = openFat32(img);
  try {
    const s = refreshState(vol);
    return { state: s.state, backupDiffers: s.backupDiffers };
  } finally {
    vol.close();
  }
};

const OLD: Tree = {
  files: new Map([
    ['SMS/DATA/TsmBootstrap.ini', Buffer.from('[bootstrap]\r\nmedia=old\r\n')],
    ['SMS/PKG/SMP00001/setup.exe', pattern(300_000, 1)],
    ['SMS/PKG/SMP00002/Treiber für Geräte/netzwerk.inf', pattern(70_000, 2)],
    ['SMS/PKG/SMP00003/driver.cab', pattern(2 * MiB + 17, 3)],
    ['SMS/PKG/SMP00004/old-only.txt', pattern(5000, 4)],
    ['sources/boot.wim', pattern(3 * MiB, 5)],
    ['MEDIA.JSON', Buffer.from('{"old":true}')],
  ]),
  directories: ['SMS/EMPTY'],
};

const NEXT: Tree = {
  files: new Map([
    ['SMS/DATA/TsmBootstrap.ini', Buffer.from('[bootstrap]\r\nmedia=new one\r\n')],
    ['SMS/PKG/SMP00001/setup.exe', pattern(300_000, 1)],
    ['SMS/PKG/SMP00002/Treiber für Geräte/netzwerk.inf', pattern(70_000, 2)],
    ['SMS/PKG/SMP00003/driver.cab', pattern(2 * MiB + 99, 33)],
    ['SMS/PKG/SMP00005/新しい/readme.txt', pattern(12_345, 6)],
    ['sources/boot.wim', pattern(3 * MiB, 5)],
    ['MEDIA.JSON', Buffer.from('{"old":false}')],
  ]),
  directories: ['SMS/EMPTY', 'SMS/NEWEMPTY'],
};

const EXPECTED: Record<RefreshStep['name'], { state: RefreshState; holds: 'old' | 'new' }> = {
  'free-count': { state: 'old', holds: 'old' },
  'old-alone': { state: 'old-alone', holds: 'old' },
  content: { state: 'old-alone', holds: 'old' },
  switch: { state: 'new-alone', holds: 'new' },
  'fat-copy': { state: 'new-alone', holds: 'new' },
  'two-fats': { state: 'new', holds: 'new' },
  backups: { state: 'old', holds: 'new' },
  // The in-place rewrite's steps (Fat32RefreshInPlace).
  journal: { state: 'old', holds: 'old' },
  commit: { state: 'rewrite', holds: 'old' },
  rewrite: { state: 'rewrite', holds: 'new' },
  clear: { state: 'old', holds: 'new' },
};

test('a refresh keeps unchanged files where they are, writes the rest beside them, and is clean and whole after every step', async (t) => {
  const missing = missingFatTools();
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t);
  const img = join(dir, 'stick.img');
  makeImage(img, OLD, 96 * MiB);
  assertClean(img, dir, 'as made');
  const before = openFat32(img);
  const clustersBefore = new Map(before.files().map((f) => [f.path, f.cluster]));
  before.close();

  const vol = openFat32(img);
  const plan = planFat32Refresh(vol, { files: refreshFiles(img, OLD, NEXT), directories: NEXT.directories, label: fatLabel('New Media'), timestamp: T1 });
  vol.close();
  assert.deepEqual(plan.kept.sort(), ['SMS/PKG/SMP00001/setup.exe', 'SMS/PKG/SMP00002/Treiber für Geräte/netzwerk.inf', 'sources/boot.wim'].sort());
  assert.deepEqual(plan.removed, ['SMS/PKG/SMP00004/old-only.txt']);
  assert.equal(plan.contentBytes, [...NEXT.files].filter(([p]) => !plan.kept.includes(p)).reduce((n, [, d]) => n + d.length, 0));
  assert.deepEqual(plan.steps.map((s) => s.name), ['free-count', 'old-alone', 'content', 'switch', 'fat-copy', 'two-fats', 'backups']);
  // The kept files' bytes are not written again: far less than the media.
  const media = [...NEXT.files.values()].reduce((n, d) => n + d.length, 0);
  assert.ok(plan.bytesToWrite < media / 2, `${plan.bytesToWrite} bytes written for ${media} bytes of media`);

  const interrupted: { after: RefreshStep['name']; copy: string }[] = [];
  for (const step of plan.steps) {
    applyStep(img, step.layout);
    const want = EXPECTED[step.name];
    assert.equal(stateOf(img).state, want.state, `after ${step.name}`);
    assertClean(img, dir, `after ${step.name}`);
    assertHolds(img, want.holds === 'old' ? OLD : NEXT, `after ${step.name}`);
    if (step.name !== 'backups') {
      const copy = join(dir, `after-${step.name}.img`);
      copyFileSync(img, copy);
      interrupted.push({ after: step.name, copy });
    }
  }
  assert.equal(stateOf(img).backupDiffers, false, 'the backup boot sector matches at the end');
  const after = openFat32(img);
  try {
    for (const p of plan.kept) assert.equal(after.find(p)?.cluster, clustersBefore.get(p), `${p} stayed in its clusters`);
    assert.equal(after.label, 'NEW MEDIA');
    assert.equal(after.fsInfo()?.freeClusters, after.freeClusters(), 'FSInfo has the exact free count');
  } finally {
    after.close();
  }
  // An independent reader agrees.
  for (const [p, data] of NEXT.files) assert.equal(await mtoolsHash(img, PART, p), sha256(data), `mtools reads ${p}`);

  // Each interruption is rolled back (before the switch) or finished (from it on), clean after every repair step.
  for (const { after: stepName, copy } of interrupted) {
    const v = openFat32(copy);
    const repair = planFat32Repair(v);
    v.close();
    const holds = EXPECTED[stepName].holds;
    assert.equal(repair.action, stepName === 'free-count' ? 'finish' : holds === 'old' ? 'roll-back' : 'finish', `interrupted after ${stepName}`);
    for (const s of repair.steps) {
      applyStep(copy, s.layout);
      assertClean(copy, dir, `repair of an interruption after ${stepName}, after ${s.name}`);
      assertHolds(copy, holds === 'old' ? OLD : NEXT, `repair of an interruption after ${stepName}, after ${s.name}`);
    }
    const end = stateOf(copy);
    assert.deepEqual(end, { state: 'old', backupDiffers: false }, `after repairing an interruption after ${stepName}`);
    const w = openFat32(copy);
    assert.equal(w.fsInfo()?.freeClusters, w.freeClusters(), `FSInfo exact after repairing ${stepName}`);
    w.close();
  }
});

test('a refresh that cannot fit beside the old files is refused before anything is written, naming the bytes', (t) => {
  const dir = tempDir(t);
  const img = join(dir, 'full.img');
  const old: Tree = { files: new Map([['big.bin', pattern(20 * MiB, 9)]]), directories: [] };
  makeImage(img, old, 36 * MiB);
  const vol = openFat32(img);
  try {
    const files: RefreshFile[] = [{ path: 'big.bin', source: buf(pattern(20 * MiB, 10), 'big.bin'), keep: null }];
    assert.throws(() => planFat32Refresh(vol, { files, label: '', timestamp: T1 }), (e: unknown) => e instanceof InputError && /not enough free space to refresh in place: file "big\.bin" needs \d+ more bytes/.test(e.message));
  } finally {
    vol.close();
  }
});

test('property: any change of a generated tree refreshes to exactly the new tree, the kept files in place', (t) => {
  const dir = tempDir(t);
  const names = ['a.txt', 'B.BIN', 'long name here.dat', 'ümlaut.ini', 'x'];
  const folders = ['', 'SMS', 'SMS/PKG', 'Deep/er/still'];
  const arbFile = fc.record({ folder: fc.constantFrom(...folders), name: fc.constantFrom(...names), size: fc.integer({ min: 0, max: 40_000 }), seed: fc.integer({ min: 1, max: 5 }) });
  const toTree = (xs: { folder: string; name: string; size: number; seed: number }[]): Tree => {
    const files = new Map<string, Buffer>();
    for (const x of xs) files.set(x.folder ? `${x.folder}/${x.name}` : x.name, pattern(x.size, x.seed));
    return { files, directories: [] };
  };
  let run = 0;
  fc.assert(
    fc.property(fc.array(arbFile, { minLength: 1, maxLength: 12 }), fc.array(arbFile, { minLength: 0, maxLength: 12 }), (a, b) => {
      const old = toTree(a);
      const next = toTree(b);
      const img = join(dir, `p${run++}.img`);
      makeImage(img, old, 40 * MiB);
      const v = openFat32(img);
      const before = new Map(v.files().map((f) => [f.path, f.cluster]));
      const plan = planFat32Refresh(v, { files: refreshFiles(img, old, next), directories: [], label: '', timestamp: T1 });
      v.close();
      for (const s of plan.steps) applyStep(img, s.layout);
      assertHolds(img, next, 'after the refresh');
      const w = openFat32(img);
      try {
        for (const p of plan.kept) assert.equal(w.find(p)?.cluster, before.get(p));
        assert.equal(w.fsInfo()?.freeClusters, w.freeClusters());
      } finally {
        w.close();
      }
    }),
    { numRuns: 25 },
  );
});

// The in-place rewrite (Fat32RefreshInPlace): same paths, each changed file as many clusters as before.
const REWRITTEN: Tree = {
  files: new Map([...OLD.files].map(([p, d]) => [p, p === 'SMS/DATA/TsmBootstrap.ini' ? Buffer.from('[bootstrap]\r\nmedia=new, password 2\r\n') : p === 'MEDIA.JSON' ? Buffer.from('{"old":"no"}') : d])),
  directories: OLD.directories,
};

/** The sectors (of `size` bytes) where two images differ. */
function differingSectors(a: string, b: string, size: number): number[] {
  const x = readFileSync(a);
  const y = readFileSync(b);
  const out: number[] = [];
  for (let off = 0; off < x.length; off += size) if (!x.subarray(off, off + size).equals(y.subarray(off, off + size))) out.push(off);
  return out;
}

test('a refresh of the environment alone rewrites only those files\' clusters and their entries, through a journal, clean after every step and every interruption', async (t) => {
  const missing = missingFatTools();
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t);
  const img = join(dir, 'stick.img');
  makeImage(img, OLD, 96 * MiB);
  const original = join(dir, 'original.img');
  copyFileSync(img, original);
  let vol = openFat32(img);
  const allowed: [number, number][] = [];
  for (const p of ['SMS/DATA/TsmBootstrap.ini', 'MEDIA.JSON']) {
    for (const r of vol.find(p)?.runs ?? []) allowed.push([vol.clusterOffset(r.cluster), vol.clusterOffset(r.cluster) + r.count * vol.clusterSize]);
  }
  for (const d of ['', 'SMS/DATA']) {
    for (const c of vol.readDirectory(d)?.chain ?? []) allowed.push([vol.clusterOffset(c), vol.clusterOffset(c) + vol.clusterSize]);
  }
  const options = { files: refreshFiles(img, OLD, REWRITTEN), directories: REWRITTEN.directories, label: fatLabel('Old Media'), timestamp: T1 };
  const r = planFat32InPlace(vol, options);
  vol.close();
  assert.ok(r.plan, r.why);
  const plan = r.plan;
  assert.equal(plan.method, 'rewrite');
  assert.deepEqual(plan.written.sort(), ['MEDIA.JSON', 'SMS/DATA/TsmBootstrap.ini']);
  assert.deepEqual(plan.steps.map((s) => s.name), ['journal', 'commit', 'rewrite', 'clear']);
  assert.ok(plan.bytesToWrite < 64 * 1024, `${plan.bytesToWrite} bytes written`);

  const interrupted: { after: RefreshStep['name']; copy: string; holds: 'old' | 'new' }[] = [];
  const keep = (after: RefreshStep['name'], holds: 'old' | 'new'): void => {
    const copy = join(dir, `after-${after}-${interrupted.length}.img`);
    copyFileSync(img, copy);
    interrupted.push({ after, copy, holds });
  };
  for (const step of plan.steps) {
    if (step.name === 'journal' || step.name === 'rewrite') {
      // Cut short: the first half of the step's bytes only (a kill or a pulled drive mid-step).
      const copy = join(dir, `cut-${step.name}.img`);
      copyFileSync(img, copy);
      const regions = step.layout.regions.flatMap((g) => (g.data.length > 512 ? [{ offset: g.offset, data: g.data.subarray(0, g.data.length / 2) }] : [g]));
      applyStep(copy, { ...step.layout, regions: regions.slice(0, Math.max(1, Math.ceil(regions.length / 2))) });
      assertClean(copy, dir, `${step.name} cut short`);
      assert.equal(stateOf(copy).state, step.name === 'journal' ? 'old' : 'rewrite', `${step.name} cut short`);
      interrupted.push({ after: step.name, copy, holds: step.name === 'journal' ? 'old' : 'new' });
    }
    applyStep(img, step.layout);
    const want = EXPECTED[step.name];
    assert.equal(stateOf(img).state, want.state, `after ${step.name}`);
    assertClean(img, dir, `after ${step.name}`);
    assertHolds(img, want.holds === 'old' ? OLD : REWRITTEN, `after ${step.name}`);
    if (step.name !== 'clear') keep(step.name, step.name === 'journal' ? 'old' : 'new');
  }
  assert.deepEqual(stateOf(img), { state: 'old', backupDiffers: false });
  // Nothing but the two files' clusters, the sectors of their folders and free clusters (the journal's body) changed:
  // the FATs, boot sectors, FSInfo, reserved sectors and every other folder and file are as they were, byte for byte.
  const changed = differingSectors(original, img, 512);
  assert.ok(changed.length > 0);
  vol = openFat32(img);
  const isFree = (off: number): boolean => off >= vol.clusterOffset(2) && vol.fatEntry(2 + Math.floor((off - vol.clusterOffset(2)) / vol.clusterSize)) === 0;
  for (const off of changed) assert.ok(allowed.some(([a, b]) => off >= a && off < b) || isFree(off), `sector at ${off} changed outside the files, their entries and free space`);
  const body = plan.steps[0].layout.regions[0];
  assert.ok(isFree(body.offset), 'the journal went into free space');
  vol.close();
  for (const [p, data] of REWRITTEN.files) assert.equal(await mtoolsHash(img, PART, p), sha256(data), `mtools reads ${p}`);
  const w = openFat32(img);
  assert.equal(w.find('SMS/DATA/TsmBootstrap.ini')?.mtime.toISOString(), T1.toISOString(), 'the entry has the new time');
  w.close();

  for (const { after, copy, holds } of interrupted) {
    const v = openFat32(copy);
    const repair = planFat32Repair(v);
    // Files are not added to a volume in between: the refresh finishes it first.
    if (holds === 'new') assert.throws(() => planFat32Append(v, [{ path: 'added.txt', source: buf(Buffer.from('x'), 'added.txt') }], [], T1), /a tsmedia refresh was interrupted on this volume \(rewrite\); run "tsmedia refresh"/);
    v.close();
    assert.equal(repair.action, holds === 'old' ? 'none' : 'finish', `interrupted in or after ${after}`);
    for (const s of repair.steps) {
      applyStep(copy, s.layout);
      assertClean(copy, dir, `repair after ${after}, after ${s.name}`);
    }
    assertHolds(copy, holds === 'old' ? OLD : REWRITTEN, `repaired after ${after}`);
    assert.deepEqual(stateOf(copy), { state: 'old', backupDiffers: false }, `repaired after ${after}`);
    if (holds === 'new') assert.deepEqual(differingSectors(img, copy, 512), [], `repaired after ${after}: the same bytes as the refresh that ran through`);
    else assert.deepEqual(readTree(copy), readTree(original), `rolled back after ${after}`);
  }
});

test('the in-place rewrite says why it cannot take a change, and the refresh beside the old files takes it', (t) => {
  const dir = tempDir(t);
  const img = join(dir, 'stick.img');
  makeImage(img, OLD, 96 * MiB);
  const why = (next: Tree, label = 'Old Media', limit = Infinity): string | undefined => {
    const v = openFat32(img);
    try {
      const r = planFat32InPlace(v, { files: refreshFiles(img, OLD, next), directories: next.directories, label: fatLabel(label), timestamp: T1 }, limit);
      return r.why;
    } finally {
      v.close();
    }
  };
  const grown = new Map(OLD.files);
  grown.set('MEDIA.JSON', pattern(200_000, 7));
  assert.match(why({ files: grown, directories: OLD.directories }) ?? '', /MEDIA\.JSON needs another number of clusters/);
  const added = new Map(OLD.files);
  added.set('SMS/DATA/extra.txt', Buffer.from('x'));
  assert.match(why({ files: added, directories: OLD.directories }) ?? '', /files are added, removed or renamed/);
  assert.match(why({ files: OLD.files, directories: [] }) ?? '', /folders are added or removed/);
  assert.match(why(REWRITTEN, 'Other Label') ?? '', /the label changes \(OLD MEDIA → OTHER LABEL\)/);
  assert.equal(why(REWRITTEN), undefined);
  // More than the refresh beside the old files would write (each byte is written twice: journal, then place).
  assert.match(why(REWRITTEN, 'Old Media', 1024) ?? '', /rewriting them in place would write \d+ bytes, more than the 1024 written beside the old files/);

  // A large file of the same size with new bytes: refused before it is read (the journal is held in memory).
  const bigImg = join(dir, 'big.img');
  const bigOld: Tree = { files: new Map([['sources/install.wim', pattern(65 * MiB, 1)]]), directories: [] };
  makeImage(bigImg, bigOld, 160 * MiB, 'OLD MEDIA');
  const v = openFat32(bigImg);
  try {
    const files: RefreshFile[] = [{ path: 'sources/install.wim', source: { kind: 'file', path: join(dir, 'no-such-file.wim'), size: 65 * MiB, label: 'install.wim' }, keep: null }];
    assert.match(planFat32InPlace(v, { files, directories: [], label: fatLabel('Old Media'), timestamp: T1 }).why ?? '', /the changed files take \d+ bytes of clusters, more than the 67108864 an in-place rewrite journals/);
  } finally {
    v.close();
  }
});

test('a volume whose FAT is too long for the old-alone state: a package change is refused with what to do, a new environment is still rewritten in place', (t) => {
  const missing = missingFatTools();
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t);
  const img = join(dir, 'big.img');
  // 300 GiB (a sparse file): its FAT is longer than 65535 − R sectors of 512 bytes.
  makeImage(img, OLD, 300 * 1024 * MiB);
  let v = openFat32(img);
  assert.ok(v.reservedSectors + v.fatSectors > 0xffff, `FAT of ${v.fatSectors} sectors`);
  assert.throws(() => planFat32Refresh(v, { files: refreshFiles(img, OLD, NEXT), directories: NEXT.directories, label: fatLabel('New Media'), timestamp: T1 }), (e: unknown) => e instanceof InputError && /its FAT \(\d+ sectors\) is too large to refresh in place safely .*Write the whole drive instead/.test(e.message));
  const r = planFat32InPlace(v, { files: refreshFiles(img, OLD, REWRITTEN), directories: REWRITTEN.directories, label: fatLabel('Old Media'), timestamp: T1 });
  v.close();
  assert.ok(r.plan, r.why);
  for (const s of r.plan.steps) applyStep(img, s.layout);
  assertHolds(img, REWRITTEN, 'rewritten in place');
  assertClean(img, dir, 'rewritten in place');
  v = openFat32(img);
  assert.equal(refreshState(v).state, 'old');
  v.close();
});
