// The FAT32 planner on random trees (fast-check): deep and non-ASCII folders, names that need long names and names that
// fit 8.3, names whose short forms collide, empty files and folders, folders with enough entries to need several
// clusters, drive sizes that give clusters of 512 B to 4 KiB. Each image is read by tools nobody here wrote: fsck.fat
// must find nothing, mtools must list exactly the tree (long names whole) and give back every file's bytes, and minfo
// must count the free clusters the plan promised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { checkLayout } from '../electron/engine/io/ImageLayout.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { planFat32, type FatFile } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { requireOrSkip, tempDir } from './helpers.js';
import { MT_ENV, assertFsckClean, fsckVolume, listTree, missingFatTools, must, mtoolsCopyAll, mtoolsPaths, pattern, sha256 } from './support/fat32Tools.js';

const MiB = 1024 * 1024;
const T = new Date('2026-08-09T10:11:12Z');

const nameChar = fc.constantFrom(...'abcXYZ0189 _-.+,;=[]äöÉñß日本'.split(''));
const name = fc
  .array(nameChar, { minLength: 1, maxLength: 30 })
  .map((cs) => cs.join('').replace(/[ .]+$/, '').replace(/^[ ]+/, '') || 'n')
  .filter((n) => n !== '.' && n !== '..');
// Names whose 8.3 forms are the same (LONGFI~1.TXT, ~2, ...): the short names must still be unique.
const sibling = fc.integer({ min: 0, max: 30 }).map((i) => `Long File Name ${i}.txt`);
const tree = fc.record({
  disk: fc.constantFrom(40 * MiB, 100 * MiB, 200 * MiB, 300 * MiB),
  files: fc.array(fc.record({ dirs: fc.array(name, { maxLength: 6 }), name: fc.oneof(name, sibling), size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 8000, max: 70_000 })), seed: fc.nat(255) }), { minLength: 1, maxLength: 30 }),
  crowd: fc.integer({ min: 0, max: 90 }),
  empty: fc.array(fc.array(name, { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
  label: fc.constantFrom('Config Mgr', 'tsmedia', 'ÄÖ media'),
});

test('fresh volumes of random trees: fsck.fat clean, mtools lists the tree and returns every byte, free clusters as planned', (t) => {
  const missing = missingFatTools(['minfo']);
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t, 'tsmedia-fat32-trees-');
  let n = 0;
  fc.assert(
    fc.property(tree, (raw) => {
      // No two paths equal but for case, no path both a file and a folder (the planner refuses those).
      const kinds = new Map<string, 'file' | 'dir'>();
      const claim = (segs: string[], kind: 'file' | 'dir'): boolean => {
        for (let i = 1; i <= segs.length; i++) {
          const had = kinds.get(segs.slice(0, i).join('/').toUpperCase());
          if (had && (had === 'file' || (i === segs.length && kind === 'file'))) return false;
        }
        for (let i = 1; i <= segs.length; i++) kinds.set(segs.slice(0, i).join('/').toUpperCase(), i === segs.length ? kind : 'dir');
        return true;
      };
      const data = new Map<string, Buffer>();
      for (const f of raw.files) if (claim([...f.dirs, f.name], 'file')) data.set([...f.dirs, f.name].join('/'), pattern(f.size, f.seed));
      for (let i = 0; i < raw.crowd; i++) {
        const segs = ['Crowded', `driver number ${i} with a long name.inf`];
        if (claim(segs, 'file')) data.set(segs.join('/'), pattern(i, i));
      }
      const directories = raw.empty.filter((d) => claim(d, 'dir')).map((d) => d.join('/'));
      const files: FatFile[] = [...data].map(([path, bytes]) => ({ path, source: { kind: 'buffer', data: bytes, label: path } }));

      const plan = planFat32({ diskBytes: raw.disk, label: raw.label, files, directories, timestamp: T });
      checkLayout(plan);
      const run = join(dir, `r${n++}`);
      mkdirSync(run);
      const img = join(run, 'usb.img');
      const fd = openSync(img, 'w');
      try {
        writeImage(plan, fd, { gaps: 'sparse' });
        ftruncateSync(fd, raw.disk);
      } finally {
        closeSync(fd);
      }

      assertFsckClean(fsckVolume(img, MiB, run), `tree ${n}`);
      const listed = mtoolsPaths(img, MiB);
      assert.deepEqual(listed.filter((p) => !p.endsWith('/')), [...data.keys()].sort(), 'files');
      const folders = [...kinds].filter(([, k]) => k === 'dir').length;
      assert.equal(listed.filter((p) => p.endsWith('/')).length, folders, 'folders');
      const out = join(run, 'out');
      mkdirSync(out);
      mtoolsCopyAll(img, MiB, out);
      const got = listTree(out);
      for (const [p, bytes] of data) assert.equal(sha256(readFileSync(got.get(p) as string)), sha256(bytes), p);
      const info = must('minfo', ['-i', `${img}@@1M`, '::'], MT_ENV).stdout;
      assert.match(info, new RegExp(`free clusters=${plan.freeBytes / plan.clusterSize}\\b`), 'free clusters');
      assert.match(info, new RegExp(`cluster size: ${plan.clusterSize / 512} sectors`), 'cluster size');
      rmSync(run, { recursive: true, force: true });
    }),
    { numRuns: 12 },
  );
});
