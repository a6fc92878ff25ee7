// The ISO planner on random trees (fast-check): deep folders, non-ASCII names, empty files and folders, folders with
// enough entries to spill their records over several blocks. Each image is written and read back by tools nobody here
// wrote: 7z extracts the UDF side (names and bytes), isoinfo lists the Joliet and ISO 9660 sides and the path tables,
// udfinfo reads the UDF integrity descriptor's counts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { checkLayout } from '../electron/engine/io/ImageLayout.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { ISO_BLOCK, measureIso, planIso, type IsoFile, type IsoOptions } from '../electron/engine/formats/iso/IsoImage.js';
import { hasCommand, pattern, requireOrSkip, tempDir } from './helpers.js';

const TIME = new Date('2026-03-04T05:06:07Z');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function run(cmd: string, args: string[], encoding: BufferEncoding = 'utf8'): string {
  const r = spawnSync(cmd, args, { encoding, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout.slice(-1000)}`);
  return r.stdout;
}

interface Tree {
  files: { path: string; size: number; seed: number }[];
  /** Folders given on their own (some empty). */
  directories: string[];
}

// Names as administrators' sites have them: spaces, dots, digits, accents, CJK; never ending in a space or dot.
const nameChar = fc.constantFrom(...'abcXYZ019 _-.äöÉñß日本語中文'.split(''));
const name = fc
  .array(nameChar, { minLength: 1, maxLength: 40 })
  .map((cs) => cs.join('').replace(/[ .]+$/, '') || 'n')
  .filter((n) => n !== '.' && n !== '..');
const rawTree = fc.record({
  files: fc.array(fc.record({ dirs: fc.array(name, { maxLength: 9 }), name, size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 2040, max: 2060 })), seed: fc.nat(255) }), { minLength: 1, maxLength: 40 }),
  // A folder of many entries: its ISO, Joliet and UDF directories take several blocks.
  crowd: fc.integer({ min: 0, max: 120 }),
  empty: fc.array(fc.array(name, { minLength: 1, maxLength: 4 }), { maxLength: 3 }),
});

type RawTree = typeof rawTree extends fc.Arbitrary<infer T> ? T : never;

/** A tree with no two paths equal but for case and no path both a file and a folder (the planner refuses those). */
function tidy(raw: RawTree): Tree {
  const kinds = new Map<string, 'file' | 'dir'>();
  const claim = (segments: string[], kind: 'file' | 'dir'): boolean => {
    for (let i = 1; i <= segments.length; i++) {
      const k = segments.slice(0, i).join('/').toUpperCase();
      const want = i === segments.length ? kind : 'dir';
      const had = kinds.get(k);
      if (had && (had !== want || want === 'file')) return false;
    }
    for (let i = 1; i <= segments.length; i++) kinds.set(segments.slice(0, i).join('/').toUpperCase(), i === segments.length ? kind : 'dir');
    return true;
  };
  const tree: Tree = { files: [], directories: [] };
  for (const f of raw.files) if (claim([...f.dirs, f.name], 'file')) tree.files.push({ path: [...f.dirs, f.name].join('/'), size: f.size, seed: f.seed });
  for (let i = 0; i < raw.crowd; i++) {
    const segs = ['Crowded Folder', `driver file number ${String(i).padStart(3, '0')} with a long name.inf`];
    if (claim(segs, 'file')) tree.files.push({ path: segs.join('/'), size: i % 7, seed: i });
  }
  for (const d of raw.empty) if (claim(d, 'dir')) tree.directories.push(d.join('/'));
  return tree;
}

function folders(tree: Tree): Set<string> {
  const out = new Set<string>();
  for (const p of [...tree.files.map((f) => f.path.split('/').slice(0, -1)), ...tree.directories.map((d) => d.split('/'))]) {
    for (let i = 1; i <= p.length; i++) out.add(p.slice(0, i).join('/'));
  }
  return out;
}

describe('ISO planner on random trees, read by independent tools', () => {
  test('7z extracts every file and folder from UDF; isoinfo lists the same tree on the Joliet and ISO 9660 sides', (t) => {
    const tools = ['7z', 'isoinfo', 'udfinfo'].filter((c) => !hasCommand(c));
    if (!requireOrSkip(t, tools.length === 0, `missing ${tools.join(', ')} (apt-get install p7zip-full genisoimage udftools)`)) return;
    const dir = tempDir(t, 'tsmedia-isotrees-');
    let n = 0;
    fc.assert(
      fc.property(rawTree, (raw) => {
        const tree = tidy(raw);
        const data = new Map(tree.files.map((f) => [f.path, pattern(f.size, f.seed)]));
        const files: IsoFile[] = tree.files.map((f) => ({ path: f.path, source: { kind: 'buffer', data: data.get(f.path) as Buffer, label: f.path } }));
        const options: IsoOptions = { volumeId: 'Random Tree', files, directories: tree.directories, timestamp: TIME };
        const plan = planIso(options);
        checkLayout(plan);
        // The measure the disc packer relies on agrees with the plan.
        const m = measureIso(options);
        assert.equal(m.blocks, plan.blocks);
        assert.equal(m.dataBlocks, tree.files.reduce((s, f) => s + Math.ceil(f.size / ISO_BLOCK), 0));
        const dirs = folders(tree);

        const iso = join(dir, `t${n++}.iso`);
        const fd = openSync(iso, 'w');
        try {
          writeImage(plan, fd, { gaps: 'zero' });
        } finally {
          closeSync(fd);
        }
        assert.equal(readFileSync(iso).length, plan.blocks * ISO_BLOCK);

        // UDF through 7z: every file with its bytes, every folder, nothing else.
        const out = join(dir, 'x');
        rmSync(out, { recursive: true, force: true });
        assert.match(run('7z', ['x', '-y', `-o${out}`, iso]), /Everything is Ok|No files to process/);
        const got = new Map<string, string | null>();
        for (const e of readdirSync(out, { withFileTypes: true, recursive: true })) {
          const rel = join(e.parentPath, e.name).slice(out.length + 1);
          got.set(rel, e.isDirectory() ? null : sha256(readFileSync(join(out, rel))));
        }
        for (const [path, bytes] of data) assert.equal(got.get(path), sha256(bytes), `7z: ${path}`);
        for (const d of dirs) assert.equal(got.get(d), null, `7z: folder ${d}`);
        assert.equal(got.size, data.size + dirs.size, '7z extracted nothing more');

        // Joliet through isoinfo -f: the same paths (names of 40 characters at most are kept whole; isoinfo prints
        // characters outside Latin-1 as "_").
        const shown = (s: string): string => s.replace(/[^\x20-\xff]/g, '_');
        const joliet = new Set(run('isoinfo', ['-J', '-f', '-i', iso], 'latin1').split('\n').filter(Boolean).map((l) => l.replace(/^\//, '')));
        const want = new Set([...data.keys(), ...dirs].map(shown));
        assert.deepEqual([...joliet].sort(), [...want].sort(), 'Joliet paths');

        // ISO 9660 through isoinfo -f: one entry per file and folder, names level-2 d-characters, unique in their folder.
        const iso9660 = run('isoinfo', ['-f', '-i', iso], 'latin1').split('\n').filter(Boolean);
        assert.equal(iso9660.length, data.size + dirs.size, 'ISO 9660 entries');
        assert.equal(new Set(iso9660).size, iso9660.length, 'ISO 9660 paths unique');
        for (const p of iso9660) {
          const leaf = p.split('/').pop() as string;
          assert.match(leaf, /^[A-Z0-9_]{1,31}$|^[A-Z0-9_]*\.[A-Z0-9_]*;1$/, `ISO 9660 name ${p}`);
          assert.ok(leaf.length <= 31, `${leaf} within level 2`);
        }
        // The path table lists every folder (and the root), parents first.
        const table = run('isoinfo', ['-p', '-i', iso], 'latin1').split('\n').filter((l) => /^\s*\d+:/.test(l));
        assert.equal(table.length, dirs.size + 1, 'path table entries');

        // UDF through udfinfo: the closed integrity descriptor counts every file and folder (the root too), the
        // revision is 1.02, and the partition is all used.
        const u = Object.fromEntries(run('udfinfo', [iso]).split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
        assert.deepEqual(
          [u.label, u.numfiles, u.numdirs, u.udfrev, u.udfwriterev, u.integrity, u.accesstype, u.blocks, u.freeblocks],
          ['Random Tree', String(data.size), String(dirs.size + 1), '1.02', '1.02', 'closed', 'readonly', String(plan.blocks), '0'],
          'udfinfo',
        );
        rmSync(iso);
      }),
      { numRuns: 15 },
    );
  });
});

describe('ISO metadata around the UDF anchor at block 256', () => {
  // The ISO and Joliet directories and path tables fill blocks from 66 upward; none may take block 256 (the anchor), a
  // directory of several blocks must not straddle it, and the UDF partition starts after it. Adding one folder at a
  // time walks every allocation across block 256: a directory landing on it, one straddling it, and the metadata
  // ending just before, on or after it. Each image is read by isoinfo (ISO 9660 and Joliet trees), 7z (the UDF tree)
  // and udfinfo (the anchor and the partition).
  test('every folder count from 84 to 100, with and without a boot catalog: isoinfo, 7z and udfinfo read every folder and the anchor', (t) => {
    const tools = ['7z', 'isoinfo', 'udfinfo'].filter((c) => !hasCommand(c));
    if (!requireOrSkip(t, tools.length === 0, `missing ${tools.join(', ')} (apt-get install p7zip-full genisoimage udftools)`)) return;
    const dir = tempDir(t, 'tsmedia-isoanchor-');
    // A second-level folder of 60 long names takes several blocks in ISO 9660 and in Joliet.
    const crowd = Array.from({ length: 60 }, (_, i) => `Crowd/file with a rather long name number ${i}.txt`);
    const starts = new Set<number>();
    // With and without a boot catalog (one block more), so the metadata also ends exactly on block 256 for some count.
    for (const boot of [false, true]) for (let k = 84; k <= 100; k++) {
      const folders = Array.from({ length: k }, (_, i) => `Folder ${String(i).padStart(3, '0')}`);
      const files: IsoFile[] = [...crowd, 'Folder 000/a.txt'].map((p, i) => ({ path: p, source: { kind: 'buffer', data: pattern(i + 1, i), label: p } }));
      const plan = planIso({ volumeId: 'Anchor', files, directories: folders, timestamp: TIME, bootBios: boot ? 'Folder 000/a.txt' : null });
      checkLayout(plan);
      const iso = join(dir, `k${k}.iso`);
      const fd = openSync(iso, 'w');
      try {
        writeImage(plan, fd, { gaps: 'zero' });
      } finally {
        closeSync(fd);
      }
      const want = [...folders, 'Crowd', ...crowd, 'Folder 000/a.txt'].sort();
      const joliet = run('isoinfo', ['-J', '-f', '-i', iso], 'latin1').split('\n').filter(Boolean).map((l) => l.replace(/^\//, ''));
      assert.deepEqual(joliet.sort(), want, `${k} folders: Joliet tree`);
      assert.equal(run('isoinfo', ['-f', '-i', iso], 'latin1').split('\n').filter(Boolean).length, want.length, `${k} folders: ISO 9660 tree`);
      const listed = run('7z', ['l', '-slt', iso]).split('\n').filter((l) => l.startsWith('Path = ')).map((l) => l.slice(7)).filter((p) => p !== iso);
      assert.deepEqual(listed.sort(), want, `${k} folders: UDF tree`);
      const u = run('udfinfo', [iso]);
      assert.match(u, /^start=256, blocks=1, type=ANCHOR$/m, `${k} folders: the anchor at 256`);
      const pspace = /^start=(\d+), blocks=(\d+), type=PSPACE$/m.exec(u);
      assert.ok(pspace && Number(pspace[1]) >= 257, `${k} folders: the partition starts after the anchor (${pspace?.[1]})`);
      starts.add(Number(pspace[1]));
      rmSync(iso);
    }
    // The walk crossed the anchor: the partition first right after it, then pushed further by the metadata.
    assert.ok(starts.has(257) && [...starts].some((s) => s > 257), `partition starts seen: ${[...starts].join(', ')}`);
  });
});
