// Appending to FAT32 volumes that other tools made (fast-check): mkfs.fat with a random cluster size, a random old tree
// copied in by mcopy, random files deleted by mdel (free space in holes), then random new files, replacements that
// differ in case, deep and non-ASCII folders and empty folders added by planFat32Append. fsck.fat must find nothing,
// and mtools must list exactly the expected tree with every file's bytes and the free clusters the plan promised.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { requireOrSkip, tempDir } from './helpers.js';
import { MT_ENV, appendToImage, assertFsckClean, fsckVolume, listTree, missingFatTools, must, mtoolsCopyAll, mtoolsPaths, pattern, sha256 } from './support/fat32Tools.js';

const MiB = 1024 * 1024;
const T = new Date('2026-05-06T07:08:10Z');
const SBIN = { PATH: `${process.env.PATH}:/usr/sbin:/sbin` };

// Few distinct names, so old and new paths meet (replacements, shared folders) and differ only in case. Non-ASCII names
// are longer than 8.3: mcopy stores a short non-ASCII name (ünïcødé.txt) without a long name, and mdir then shows it
// with its accented letters in capitals (ÜnÏcØdÉ.txt), a quirk of mtools that says nothing about the append.
const leaf = fc.constantFrom('a.txt', 'A.TXT', 'b.bin', 'Readme', 'ünïcødé file name.txt', 'a long file name with spaces.inf', 'x.y.z', 'Z');
const folder = fc.constantFrom('Drivers', 'DRIVERS', 'sms', 'SMS', 'Østeuropa Treiber', 'deep folder name', 'p1');
const entry = fc.record({ dirs: fc.array(folder, { maxLength: 4 }), name: leaf, size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 4000, max: 120_000 })), seed: fc.nat(255) });

/** Case-insensitive bookkeeping of what each path is, with the spelling the first to claim it gave. */
class Names {
  kinds = new Map<string, { kind: 'file' | 'dir'; spelt: string }>();
  /** The path spelt with its existing folders' spelling, or null where a file and a folder would meet. */
  claim(segments: string[], kind: 'file' | 'dir', replace: boolean): string | null {
    const spelt: string[] = [];
    for (let i = 0; i < segments.length; i++) {
      const key = segments.slice(0, i + 1).join('/').toUpperCase();
      const want = i === segments.length - 1 ? kind : 'dir';
      const had = this.kinds.get(key);
      if (had && had.kind !== want) return null;
      if (had && want === 'file' && !replace) return null;
      spelt.push(had && want === 'dir' ? (had.spelt.split('/').pop() as string) : segments[i]);
    }
    for (let i = 0; i < segments.length; i++) {
      const key = segments.slice(0, i + 1).join('/').toUpperCase();
      const want = i === segments.length - 1 ? kind : 'dir';
      if (!this.kinds.has(key) || want === 'file') this.kinds.set(key, { kind: want, spelt: spelt.slice(0, i + 1).join('/') });
    }
    return spelt.join('/');
  }
}

test('append to volumes mkfs.fat and mcopy made: fsck.fat clean, mtools lists the expected tree with its bytes', (t) => {
  const missing = missingFatTools(['mkfs.fat', 'sfdisk', 'mdel', 'minfo']);
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;
  const dir = tempDir(t, 'tsmedia-fat32-append-trees-');
  let n = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 4, 8),
      fc.array(entry, { minLength: 1, maxLength: 12 }),
      fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      fc.array(entry, { minLength: 1, maxLength: 15 }),
      fc.array(fc.array(folder, { minLength: 1, maxLength: 3 }), { maxLength: 2 }),
      (spc, oldEntries, deleted, newEntries, emptyDirs) => {
        const run = join(dir, `r${n++}`);
        mkdirSync(run);
        const img = join(run, 'usb.img');
        const fd = openSync(img, 'w');
        // FAT32 needs 65,525 clusters at least: room for 67,000 of the chosen size after the 1 MiB offset and the FATs.
        ftruncateSync(fd, Math.max(48 * MiB, (4 + Math.ceil((67_000 * spc * 512) / MiB)) * MiB));
        closeSync(fd);
        must('sh', ['-c', `echo 'start=2048,type=c,bootable' | sfdisk -q ${img}`], SBIN);
        must('mkfs.fat', ['-F', '32', '-s', String(spc), '--offset', '2048', '-n', 'OTHER TOOL', img], SBIN);

        // The old tree, copied in by mcopy; then some of its files deleted by mdel.
        const names = new Names();
        const want = new Map<string, Buffer>();
        const src = join(run, 'src');
        mkdirSync(src);
        for (const e of oldEntries) {
          const path = names.claim([...e.dirs, e.name], 'file', false);
          if (!path) continue;
          mkdirSync(join(src, ...path.split('/').slice(0, -1)), { recursive: true });
          const data = pattern(e.size, e.seed);
          writeFileSync(join(src, path), data);
          want.set(path, data);
        }
        const top = [...new Set([...want.keys()].map((p) => p.split('/')[0]))];
        if (top.length) must('mcopy', ['-s', '-i', `${img}@@1M`, ...top.map((p) => join(src, p)), '::/'], MT_ENV);
        const gone = [...want.keys()].filter((_, i) => deleted[i]);
        if (gone.length) must('mdel', ['-i', `${img}@@1M`, ...gone.map((p) => `::/${p}`)], MT_ENV);
        for (const p of gone) want.delete(p);

        // Folders asked for on their own are made first (the planner takes them before the files' folders), then the new
        // files: a path equal to an old or earlier new file but for case replaces it.
        const directories = emptyDirs.map((d) => names.claim(d, 'dir', false) && d.join('/')).filter((d): d is string => !!d);
        const files: { path: string; data: Buffer }[] = [];
        for (const e of newEntries) {
          const segs = [...e.dirs, e.name];
          // The planner refuses two new files differing only in case: keep the first.
          if (files.some((f) => f.path.toUpperCase() === segs.join('/').toUpperCase())) continue;
          const path = names.claim(segs, 'file', true);
          if (!path) continue;
          const data = pattern(e.size, e.seed + 7);
          for (const k of [...want.keys()]) if (k.toUpperCase() === path.toUpperCase()) want.delete(k);
          files.push({ path: segs.join('/'), data });
          want.set(path, data);
        }

        const plan = appendToImage(img, files.map((f) => ({ path: f.path, source: { kind: 'buffer', data: f.data, label: f.path } })), directories, T);

        assertFsckClean(fsckVolume(img, MiB, run), `run ${n}`);
        const listed = mtoolsPaths(img, MiB);
        assert.deepEqual(
          listed.filter((p) => !p.endsWith('/')),
          [...want.keys()].sort(),
          'mtools lists the old files left and the new ones',
        );
        const wantFolders = new Set([...names.kinds.values()].filter((k) => k.kind === 'dir').map((k) => k.spelt));
        assert.deepEqual(listed.filter((p) => p.endsWith('/')).map((p) => p.slice(0, -1)), [...wantFolders].sort(), 'folders');
        const out = join(run, 'out');
        mkdirSync(out);
        mtoolsCopyAll(img, MiB, out);
        const tree = listTree(out);
        for (const [p, d] of want) assert.equal(sha256(readFileSync(tree.get(p) as string)), sha256(d), p);
        // Free space: what the plan promised, what FSInfo says, what mtools counts.
        const after = openFat32(img);
        try {
          assert.equal(after.label, 'OTHER TOOL');
          assert.equal(after.freeClusters() * after.clusterSize, plan.freeBytes);
          assert.equal(after.fsInfo()?.freeClusters, after.freeClusters());
        } finally {
          after.close();
        }
        assert.match(must('minfo', ['-i', `${img}@@1M`, '::'], MT_ENV).stdout, new RegExp(`free clusters=${plan.freeBytes / (spc * 512)}\\b`));
        rmSync(run, { recursive: true, force: true });
      },
    ),
    { numRuns: 12 },
  );
});
