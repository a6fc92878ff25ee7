// The WIM splitter, checked against wimlib (wimtools), which nobody here wrote: `wimlib-imagex info`, `verify` and
// `apply` read our parts, and `wimlib-imagex split` of the same WIM is the reference for what the parts hold.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { InputError } from '../electron/engine/errors.js';
import { checkLayout } from '../electron/engine/io/ImageLayout.js';
import { CancelledError } from '../electron/engine/io/ImageWriter.js';
import {
  WIM_HEADER_SIZE,
  WIM_LOOKUP_ENTRY_SIZE,
  WimHeaderFlag,
  WimResourceFlag,
  planWimSplit,
  readWimHeader,
  readWimLookupTable,
  splitWimToFolder,
  type WimHeader,
  type WimLookupEntry,
} from '../electron/engine/formats/wim/WimSplit.js';
import { FAT32_MAX_FILE } from '../electron/engine/formats/fat32/FatGeometry.js';
import { requireOrSkip, tempDir } from './helpers.js';
import { HAVE_WIMLIB, NO_WIMLIB, capture, wimlib } from './support/wimlib.js';
import { writeSparseWim } from './support/sparseWim.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A few distinct files of a few MB (random, so LZX cannot shrink them below the part size), a duplicate, small ones. */
function makeTree(dir: string): void {
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const f1 = randomBytes(1_800_000);
  writeFileSync(join(dir, 'f1.bin'), f1);
  writeFileSync(join(dir, 'f2.bin'), randomBytes(2_100_000));
  writeFileSync(join(dir, 'f3.bin'), randomBytes(2_400_000));
  writeFileSync(join(dir, 'f4.bin'), randomBytes(2_700_000));
  writeFileSync(join(dir, 'sub', 'dup.bin'), f1); // one resource for two files
  writeFileSync(join(dir, 'sub', 'text.txt'), 'hello, split WIM\r\n'.repeat(120_000));
  writeFileSync(join(dir, 'sub', 'small.txt'), 'small');
  writeFileSync(join(dir, 'sub', 'empty.txt'), '');
}

/** SHA-256 of every file under dir, by relative path (directories listed too, so a missing folder shows). */
function treeHashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const rel = relative(dir, p);
      if (statSync(p).isDirectory()) {
        out.set(`${rel}/`, 'dir');
        walk(p);
      } else out.set(rel, sha256(readFileSync(p)));
    }
  };
  walk(dir);
  return out;
}


function parts(dir: string, prefix: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith(prefix) && n.endsWith('.swm'))
    .sort()
    .map((n) => join(dir, n));
}

interface Dumped {
  header: WimHeader;
  entries: WimLookupEntry[];
  xml: Buffer;
}

/** Reads a part with our own reader (its checks apply to the parts we write too). */
function dump(path: string): Dumped {
  const header = readWimHeader(path);
  const entries = readWimLookupTable(header);
  const fd = openSync(path, 'r');
  const xml = Buffer.alloc(header.xmlData.size);
  readSync(fd, xml, 0, xml.length, header.xmlData.offset);
  closeSync(fd);
  return { header, entries, xml };
}

const hashSet = (d: Dumped): string[] => d.entries.map((e) => e.hash.toString('hex')).sort();

function assertInputError(fn: () => unknown, ...patterns: RegExp[]): InputError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof InputError, `an InputError was expected, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  for (const p of patterns) assert.match(caught.message, p);
  return caught;
}

/** A small captured WIM to damage: a few small files, so each copy is cheap. */
function smallWim(t: TestContext, dir: string): string {
  const src = join(dir, 'small-src');
  mkdirSync(join(src, 'd'), { recursive: true });
  for (let i = 0; i < 6; i++) writeFileSync(join(src, i % 2 ? 'd' : '', `file${i}.txt`), `content ${i} `.repeat(200 + i * 50));
  const wim = join(dir, 'small.wim');
  capture(src, wim, '--compress=none');
  t.diagnostic(`small WIM: ${statSync(wim).size} bytes`);
  return wim;
}

function patched(orig: string, out: string, patch: (b: Buffer) => void): string {
  const b = readFileSync(orig);
  patch(b);
  writeFileSync(out, b);
  return out;
}

describe('WIM split, checked with wimlib', () => {
  for (const compress of ['none', 'LZX']) {
    test(`--compress=${compress}: parts under 3 MiB that wimlib-imagex info, verify and apply accept, files back byte for byte`, (t) => {
      if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
      const t0 = performance.now();
      const dir = tempDir(t, 'tsmedia-wimsplit-');
      const src = join(dir, 'src');
      makeTree(src);
      const wim = join(dir, 'X.wim');
      capture(src, wim, `--compress=${compress}`);
      const limit = 3 * MiB;
      const out = join(dir, 'parts');
      const written = splitWimToFolder(wim, out, 'X', limit);
      const files = parts(out, 'X');
      assert.deepEqual(
        files.map((f) => relative(out, f)),
        written.map((_, i) => `X${String(i).padStart(3, '0')}.swm`),
        'parts named X000.swm, X001.swm, …',
      );
      assert.ok(files.length >= 4, `a 12 MB WIM in 3 MiB parts makes several parts (got ${files.length})`);
      for (const w of written) {
        assert.equal(statSync(w.path).size, w.size);
        assert.ok(w.size < limit, `${w.path} is ${w.size} bytes, not under ${limit}`);
        assert.equal(sha256(readFileSync(w.path)), w.sha256);
      }

      // wimlib-imagex info reads each part's header: the part number of the set and the image count.
      files.forEach((f, i) => {
        const info = wimlib(['info', f]);
        assert.match(info, new RegExp(`Part Number:\\s+${i + 1}/${files.length}\\b`), `info on ${f}`);
        assert.match(info, /Image Count:\s+1\b/);
      });
      assert.match(wimlib(['info', files[0], '1']), /File Count:\s+\d+/, 'part 1 holds the image metadata');
      const glob = join(out, 'X*.swm');
      assert.match(wimlib(['verify', files[0], `--ref=${glob}`]), /successfully verified/);
      const applied = join(dir, 'applied');
      wimlib(['apply', files[0], '1', applied, `--ref=${glob}`]);
      assert.deepEqual(treeHashes(applied), treeHashes(src), 'the applied files are the captured ones');
      t.diagnostic(`${compress}: ${files.length} parts, ${(performance.now() - t0).toFixed(0)} ms`);
    });
  }

  test('the same parts as wimlib-imagex split: header fields, resources per part, XML data, sizes', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const src = join(dir, 'src');
    makeTree(src);
    for (const compress of ['none', 'LZX']) {
      const wim = join(dir, `C-${compress}.wim`);
      capture(src, wim, `--compress=${compress}`);
      const theirsDir = join(dir, `theirs-${compress}`);
      mkdirSync(theirsDir);
      wimlib(['split', wim, join(theirsDir, 'C.swm'), '3']); // C.swm, C2.swm, C3.swm, …
      const theirs = readdirSync(theirsDir)
        .sort((a, b) => a.length - b.length || a.localeCompare(b))
        .map((n) => dump(join(theirsDir, n)));
      const oursDir = join(dir, `ours-${compress}`);
      splitWimToFolder(wim, oursDir, 'C', 3 * MiB);
      const ours = parts(oursDir, 'C').map(dump);
      const orig = dump(wim);

      assert.equal(ours.length, theirs.length, `${compress}: as many parts as wimlib makes`);
      for (let i = 0; i < ours.length; i++) {
        const o = ours[i];
        const w = theirs[i];
        const what = `${compress} part ${i + 1}`;
        for (const k of ['version', 'flags', 'chunkSize', 'partNumber', 'totalParts', 'imageCount', 'bootIndex'] as const) {
          assert.equal(o.header[k], w.header[k], `${what}: header ${k}`);
        }
        assert.equal(o.header.flags & WimHeaderFlag.SPANNED, WimHeaderFlag.SPANNED, `${what}: SPANNED flag`);
        assert.equal(o.header.lookupTable.flags, w.header.lookupTable.flags, `${what}: lookup table flags`);
        assert.deepEqual(o.header.integrityTable, w.header.integrityTable, `${what}: no integrity table`);
        assert.deepEqual(o.xml, w.xml, `${what}: the XML data is copied unchanged, as wimlib does`);
        assert.deepEqual(o.xml, orig.xml);
        assert.deepEqual(hashSet(o), hashSet(w), `${what}: the same resources`);
        assert.equal(o.header.fileSize, w.header.fileSize, `${what}: the same size`);
        assert.ok(o.entries.every((e) => e.partNumber === i + 1), `${what}: each entry carries its part number`);
        const meta = o.entries.filter((e) => e.resource.flags & WimResourceFlag.METADATA);
        assert.equal(meta.length, i === 0 ? 1 : 0, `${what}: metadata resources only in part 1`);
        assert.ok(o.header.guid.equals(ours[0].header.guid), `${what}: one GUID for the set`);
      }
      assert.ok(!ours[0].header.guid.equals(orig.header.guid), 'the set has its own GUID, as with wimlib');
      // Every resource of the original is in exactly one part, with its size, flags, reference count and hash.
      const all = ours.flatMap((d) => d.entries.map((e) => `${e.hash.toString('hex')}/${e.resource.size}/${e.resource.flags}/${e.resource.originalSize}/${e.refCount}`)).sort();
      const origAll = orig.entries.map((e) => `${e.hash.toString('hex')}/${e.resource.size}/${e.resource.flags}/${e.resource.originalSize}/${e.refCount}`).sort();
      assert.deepEqual(all, origAll);
      // Resource bytes are the original's.
      for (const d of ours) {
        const part = readFileSync(d.header.path);
        const whole = readFileSync(wim);
        for (const e of d.entries) {
          const o = orig.entries.find((x) => x.hash.equals(e.hash)) as WimLookupEntry;
          assert.ok(
            part.subarray(e.resource.offset, e.resource.offset + e.resource.size).equals(whole.subarray(o.resource.offset, o.resource.offset + o.resource.size)),
            `resource ${e.hash.toString('hex')} copied byte for byte`,
          );
        }
      }
    }
  });

  test('two images, the second bootable: part 1 has both metadata resources and the boot metadata; both images apply', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const src = join(dir, 'src');
    makeTree(src);
    const src2 = join(dir, 'src2');
    mkdirSync(src2);
    writeFileSync(join(src2, 'second.bin'), randomBytes(2_900_000));
    writeFileSync(join(src2, 'same-as-f2.bin'), readFileSync(join(src, 'f2.bin')));
    const wim = join(dir, 'B.wim');
    capture(src, wim, '--compress=LZX');
    wimlib(['append', src2, wim, 'second', '--boot']);
    const orig = dump(wim);
    assert.equal(orig.header.bootIndex, 2);

    const out = join(dir, 'parts');
    splitWimToFolder(wim, out, 'B', 3 * MiB);
    const files = parts(out, 'B');
    const p1 = dump(files[0]);
    assert.equal(p1.header.imageCount, 2);
    assert.equal(p1.header.bootIndex, 2);
    const meta = p1.entries.filter((e) => e.resource.flags & WimResourceFlag.METADATA);
    assert.equal(meta.length, 2, 'both metadata resources in part 1');
    // Images are the metadata entries in table order: that order is kept.
    const origMeta = orig.entries.filter((e) => e.resource.flags & WimResourceFlag.METADATA);
    assert.deepEqual(
      meta.map((e) => e.hash.toString('hex')),
      origMeta.map((e) => e.hash.toString('hex')),
    );
    assert.deepEqual(p1.header.bootMetadata, meta[1].resource, 'the boot metadata header points at image 2 in part 1');
    for (const f of files.slice(1)) {
      const d = dump(f);
      assert.equal(d.header.bootIndex, 2);
      assert.equal(d.header.bootMetadata.size, 0, 'later parts hold no metadata to point at');
    }
    assert.match(wimlib(['info', files[0]]), /Boot Index:\s+2\b/);
    const glob = join(out, 'B*.swm');
    wimlib(['verify', files[0], `--ref=${glob}`]);
    wimlib(['apply', files[0], '1', join(dir, 'a1'), `--ref=${glob}`]);
    wimlib(['apply', files[0], '2', join(dir, 'a2'), `--ref=${glob}`]);
    assert.deepEqual(treeHashes(join(dir, 'a1')), treeHashes(src));
    assert.deepEqual(treeHashes(join(dir, 'a2')), treeHashes(src2));
  });

  test('an integrity table in the WIM is left out of the parts; they verify and apply', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const src = join(dir, 'src');
    makeTree(src);
    const wim = join(dir, 'I.wim');
    capture(src, wim, '--compress=none', '--check');
    assert.notEqual(readWimHeader(wim).integrityTable.size, 0, 'wimlib wrote an integrity table');
    const out = join(dir, 'parts');
    splitWimToFolder(wim, out, 'I', 3 * MiB);
    const files = parts(out, 'I');
    for (const f of files) assert.deepEqual(readWimHeader(f).integrityTable, { size: 0, flags: 0, offset: 0, originalSize: 0 });
    const glob = join(out, 'I*.swm');
    wimlib(['verify', files[0], `--ref=${glob}`]);
    wimlib(['apply', files[0], '1', join(dir, 'a'), `--ref=${glob}`]);
    assert.deepEqual(treeHashes(join(dir, 'a')), treeHashes(src));
  });

  test('planWimSplit writes nothing: layouts over the WIM, one part when it fits, names from 000', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const src = join(dir, 'src');
    makeTree(src);
    const wim = join(dir, 'P.wim');
    capture(src, wim, '--compress=none');
    const before = readdirSync(dir).sort();
    const plan = planWimSplit(wim, 3 * MiB, '6D63A96', { label: 'UPC00134/install.wim', mediaDir: 'SMS/PKG/UPC00134' });
    assert.deepEqual(readdirSync(dir).sort(), before, 'planning writes no file');
    assert.deepEqual(
      plan.map((p) => p.fileName),
      plan.map((_, i) => `6D63A96${String(i).padStart(3, '0')}.swm`),
    );
    for (const p of plan) {
      checkLayout(p);
      assert.equal(p.totalParts, plan.length);
      assert.ok(p.size < 3 * MiB);
      assert.equal(p.regions[0].offset, 0);
      assert.equal(p.regions[0].data.length, WIM_HEADER_SIZE);
      assert.equal(p.regions[1].data.length, p.entryCount * WIM_LOOKUP_ENTRY_SIZE);
      for (const e of p.extents) {
        assert.equal(e.source.kind, 'file');
        assert.equal(e.path, `SMS/PKG/UPC00134/${p.fileName}`);
        assert.equal(e.source.label, 'UPC00134/install.wim');
      }
      // Resources back to back from the end of the header, then the lookup table, then the XML data.
      const spans = [...p.regions.map((r) => [r.offset, r.data.length]), ...p.extents.map((e) => [e.offset, e.size])].sort((a, b) => a[0] - b[0]);
      let pos = 0;
      for (const [off, len] of spans) {
        assert.equal(off, pos, 'no gap in a part');
        pos += len;
      }
      assert.equal(pos, p.size);
    }
    // Whole resources only: the extents of all parts cover every resource byte of the WIM once.
    const resourceBytes = readWimLookupTable(readWimHeader(wim)).reduce((n, e) => n + e.resource.size, 0);
    const xmlSize = readWimHeader(wim).xmlData.size;
    const copied = plan.reduce((n, p) => n + p.extents.reduce((m, e) => m + e.size, 0) - xmlSize, 0);
    assert.equal(copied, resourceBytes);
    const blobs = plan.reduce((n, p) => n + p.entryCount, 0) - 1; // less the image's metadata
    assert.equal(blobs, 6, 'f1.bin and sub/dup.bin are one resource; the empty file has none');

    // A limit the whole WIM fits under: one part, numbered 1 of 1, without the SPANNED flag (as wimlib writes it).
    const one = planWimSplit(wim, FAT32_MAX_FILE, 'install');
    assert.equal(one.length, 1);
    const out = join(dir, 'one');
    const [w] = splitWimToFolder(wim, out, 'install', FAT32_MAX_FILE);
    const h = readWimHeader(w.path);
    assert.equal(h.totalParts, 1);
    assert.equal(h.flags & WimHeaderFlag.SPANNED, 0);
    assert.match(wimlib(['info', w.path]), /Part Number:\s+1\/1\b/);
    wimlib(['verify', w.path]);
  });

  test('a resource larger than a part is refused, naming the WIM and the size', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'big.bin'), randomBytes(4 * MiB + 123));
    writeFileSync(join(src, 'small.bin'), randomBytes(1000));
    const wim = join(dir, 'R.wim');
    capture(src, wim, '--compress=none');
    assertInputError(() => planWimSplit(wim, 3 * MiB, 'R'), new RegExp(wim.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')), /resource of 4194427 bytes/, /cannot be split/);
    assertInputError(() => planWimSplit(wim, 3 * MiB, 'R', { label: 'PKG00001/install.wim' }), /^PKG00001\/install\.wim: /, /4194427 bytes/);
    assertInputError(() => splitWimToFolder(wim, join(dir, 'out'), 'R', 3 * MiB), /4194427 bytes/);
    assert.equal(existsSync(join(dir, 'out')), false, 'nothing written when the plan fails');
  });

  test('damaged and unsuitable WIMs give InputErrors naming the file', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const wim = smallWim(t, dir);
    const size = statSync(wim).size;
    const h = readWimHeader(wim);
    const named = (p: string): RegExp => new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `);
    const plan = (p: string): unknown => planWimSplit(p, MiB, 'Z');

    // Truncated: the lookup table and XML data are at the end.
    const cut = join(dir, 'truncated.wim');
    copyFileSync(wim, cut);
    truncateSync(cut, Math.floor(size / 2));
    assertInputError(() => plan(cut), named(cut), /lookup table .* ends past the end of the file/, /truncated/);
    // Named as the caller names it (a content-library blob is better known by its package and file).
    assertInputError(() => planWimSplit(cut, MiB, 'Z', { label: 'PKG00002/install.wim' }), /^PKG00002\/install\.wim: the lookup table/);
    const tiny = join(dir, 'tiny.wim');
    copyFileSync(wim, tiny);
    truncateSync(tiny, 100);
    assertInputError(() => plan(tiny), named(tiny), /100 bytes, too small to be a WIM/);
    const empty = join(dir, 'empty.wim');
    writeFileSync(empty, '');
    assertInputError(() => plan(empty), named(empty), /0 bytes/);

    // The lookup table pointing past the end; a huge size; a size that is not whole entries; inside the header.
    const setReshdr = (b: Buffer, at: number, size: bigint, offset: bigint, flags = 2n): void => {
      b.writeBigUInt64LE((flags << 56n) | size, at);
      b.writeBigUInt64LE(offset, at + 8);
      b.writeBigUInt64LE(size, at + 16);
    };
    const lt = h.lookupTable;
    const past = patched(wim, join(dir, 'past.wim'), (b) => setReshdr(b, 48, BigInt(lt.size), BigInt(size - 10)));
    assertInputError(() => plan(past), named(past), /lookup table \(\d+ bytes at byte \d+\) ends past the end of the file/);
    const far = patched(wim, join(dir, 'far.wim'), (b) => setReshdr(b, 48, BigInt(lt.size), 2n ** 62n));
    assertInputError(() => plan(far), named(far), /offset of the lookup table is \d+, more than any file can hold/);
    const huge = patched(wim, join(dir, 'huge.wim'), (b) => setReshdr(b, 48, 2n ** 55n, BigInt(lt.offset)));
    assertInputError(() => plan(huge), named(huge), /lookup table/);
    const odd = patched(wim, join(dir, 'odd.wim'), (b) => setReshdr(b, 48, BigInt(lt.size - 7), BigInt(lt.offset)));
    assertInputError(() => plan(odd), named(odd), /not a whole number of 50-byte entries/);
    const inHeader = patched(wim, join(dir, 'inheader.wim'), (b) => setReshdr(b, 48, 50n, 100n));
    assertInputError(() => plan(inHeader), named(inHeader), /inside the 208-byte header/);
    const noXml = patched(wim, join(dir, 'noxml.wim'), (b) => setReshdr(b, 72, 0n, 0n));
    assertInputError(() => plan(noXml), named(noXml), /no XML data/);

    // A lookup-table entry whose resource is past the end, or overlaps another.
    const entry0 = lt.offset;
    const entryPast = patched(wim, join(dir, 'entrypast.wim'), (b) => b.writeBigUInt64LE(BigInt(size), entry0 + 8));
    assertInputError(() => plan(entryPast), named(entryPast), /resource of lookup-table entry 0 .* ends past the end of the file/);
    const entries = readWimLookupTable(h);
    const [a, b2] = entries.filter((e) => e.resource.size > 0).sort((x, y) => x.resource.offset - y.resource.offset);
    const overlap = patched(wim, join(dir, 'overlap.wim'), (b) => b.writeBigUInt64LE(BigInt(a.resource.offset + 1), lt.offset + b2.index * 50 + 8));
    assertInputError(() => plan(overlap), named(overlap), /overlap/);
    const wrongPart = patched(wim, join(dir, 'wrongpart.wim'), (b) => b.writeUInt16LE(2, entry0 + 24));
    assertInputError(() => plan(wrongPart), named(wrongPart), /in part 2, but this WIM is a single file/);
    const noMeta = patched(wim, join(dir, 'nometa.wim'), (b) => {
      for (const e of entries) b[lt.offset + e.index * 50 + 7] &= ~WimResourceFlag.METADATA;
    });
    assertInputError(() => plan(noMeta), named(noMeta), /counts 1 image\(s\) but the lookup table has metadata for 0/);

    // Header fields.
    const magic = patched(wim, join(dir, 'magic.wim'), (b) => b.write('NOTAWIM!', 0, 'latin1'));
    assertInputError(() => plan(magic), named(magic), /not a WIM file/);
    const hsize = patched(wim, join(dir, 'hsize.wim'), (b) => b.writeUInt32LE(4096, 8));
    assertInputError(() => plan(hsize), named(hsize), /header says it is 4096 bytes/);
    const version = patched(wim, join(dir, 'version.wim'), (b) => b.writeUInt32LE(0x10b00, 12));
    assertInputError(() => plan(version), named(version), /version 0x10b00 is not supported/);
    const partNo = patched(wim, join(dir, 'partno.wim'), (b) => b.writeUInt16LE(3, 40));
    assertInputError(() => plan(partNo), named(partNo), /part 3 of 1/);
    const boot = patched(wim, join(dir, 'boot.wim'), (b) => b.writeUInt32LE(5, 120));
    assertInputError(() => plan(boot), named(boot), /boot index is 5/);
    const writing = patched(wim, join(dir, 'writing.wim'), (b) => b.writeUInt32LE(b.readUInt32LE(16) | WimHeaderFlag.WRITE_IN_PROGRESS, 16));
    assertInputError(() => plan(writing), named(writing), /still being written/);
    const pipable = patched(wim, join(dir, 'pipable.wim'), (b) => b.write('WLPWM\0\0\0', 0, 'latin1'));
    assertInputError(() => plan(pipable), named(pipable), /pipable WIM/);

    // Not a file at all.
    assertInputError(() => plan(join(dir, 'missing.wim')), /missing\.wim: not found/);
    assertInputError(() => plan(dir), /not a regular file|is a folder/);

    // Already a part of a split set: split our own part 1 again.
    const out = join(dir, 'parts');
    const src = join(dir, 'two-src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.bin'), randomBytes(700_000));
    writeFileSync(join(src, 'b.bin'), randomBytes(700_000));
    const two = join(dir, 'two.wim');
    capture(src, two, '--compress=none');
    const written = splitWimToFolder(two, out, 'T', MiB);
    assert.equal(written.length, 2);
    assertInputError(() => plan(written[0].path), /already part 1 of a split WIM \(2 parts\)/);
    assertInputError(() => plan(written[1].path), /already part 2 of a split WIM/);
    // A folder that already holds parts of that name is refused; nothing is overwritten.
    const before = readFileSync(written[0].path);
    assertInputError(() => splitWimToFolder(two, out, 'T', MiB), /already holds T000\.swm/);
    assert.ok(readFileSync(written[0].path).equals(before));
  });

  test('solid (ESD-style) WIMs are refused: their resources hold several files', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const src = join(dir, 'src');
    mkdirSync(src);
    for (let i = 0; i < 4; i++) writeFileSync(join(src, `f${i}.txt`), `solid ${i} `.repeat(5000));
    const wim = join(dir, 'S.wim');
    capture(src, wim, '--solid');
    assert.equal(readWimHeader(wim).version, 0xe00);
    assertInputError(() => planWimSplit(wim, MiB, 'S'), /solid resources/, /Export/);
  });

  test('a cancelled split removes the parts it wrote', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const src = join(dir, 'src');
    makeTree(src);
    const wim = join(dir, 'K.wim');
    capture(src, wim, '--compress=none');
    const out = join(dir, 'parts');
    let progressed = 0;
    assert.throws(
      () =>
        splitWimToFolder(wim, out, 'K', 3 * MiB, {
          onProgress: (done, total, name) => {
            assert.ok(done <= total);
            progressed = done;
            assert.match(name, /^K\d{3}\.swm$/);
          },
          cancelled: () => progressed > 4 * MiB,
        }),
      CancelledError,
    );
    assert.deepEqual(readdirSync(out), [], 'no part is left behind');
  });

  test('hostile headers and lookup tables: only InputErrors or a sound plan, quickly', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const wim = smallWim(t, dir);
    const orig = readFileSync(wim);
    const h = readWimHeader(wim);
    const lt = h.lookupTable;
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const target = join(dir, 'fuzz.wim');
    const t0 = performance.now();
    let planned = 0;
    let refused = 0;
    for (let i = 0; i < 600; i++) {
      const b = Buffer.from(orig);
      const hits = 1 + rnd(4);
      for (let k = 0; k < hits; k++) {
        const inTable = rnd(2) === 0;
        const at = inTable ? lt.offset + rnd(lt.size) : rnd(WIM_HEADER_SIZE);
        const kind = rnd(3);
        if (kind === 0) b[at] = rnd(256);
        else if (kind === 1) b[at] ^= 1 << rnd(8);
        else if (at + 8 <= b.length) b.writeBigUInt64LE(BigInt(rnd(2 ** 31)) * BigInt(1 + rnd(2 ** 20)), at);
      }
      writeFileSync(target, b);
      try {
        const plan = planWimSplit(target, 64 * 1024, 'F');
        for (const p of plan) {
          checkLayout(p);
          assert.ok(p.size < 64 * 1024);
          for (const e of p.extents) assert.ok(e.sourceOffset + e.size <= b.length, 'extents stay inside the WIM');
        }
        planned++;
      } catch (err) {
        assert.ok(err instanceof InputError, `mutation ${i}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        assert.ok(err.message.startsWith(`${target}: `), `mutation ${i}: the message names the file: ${err.message}`);
        refused++;
      }
    }
    const ms = performance.now() - t0;
    t.diagnostic(`600 damaged WIMs: ${planned} planned, ${refused} refused, ${ms.toFixed(0)} ms`);
    assert.ok(refused > 100 && planned > 10, `both outcomes seen (${planned} planned, ${refused} refused)`);
    assert.ok(ms < 20_000, `took ${ms} ms`);
  });
});

describe('WIM split beyond 4 GiB', () => {
  test('plan of a sparse 9 GiB WIM: 64-bit offsets, every part under 4 GiB − 1, resources whole', (t) => {
    // A synthetic WIM (header, five 1.7 GiB resources left as holes, a metadata resource, lookup table, XML data):
    // planning reads only the header and lookup table, so the 64-bit arithmetic is checked without writing gigabytes.
    const dir = tempDir(t, 'tsmedia-wimsplit-');
    const path = join(dir, 'sparse.wim');
    const big = Math.floor(1.7 * GiB) + 4321;
    // Five 1.7 GiB resources as holes; the header's flags say RP_FIX.
    const { resources, tableOffset, xmlOffset, size } = writeSparseWim(path, [0, 1, 2, 3, 4].map((i) => big + i), 0x80);
    assert.equal(statSync(path).size, size);
    assert.ok(size > 8 * GiB);

    const h = readWimHeader(path);
    assert.equal(h.lookupTable.offset, tableOffset, 'an offset past 8 GiB read back exactly');
    const plan = planWimSplit(path, FAT32_MAX_FILE, 'install');
    // Two 1.7 GiB resources fit under 4 GiB, three do not: parts of 2 + 2 + 1 resources, the metadata in part 1.
    assert.equal(plan.length, 3);
    const seen = new Map<number, number>();
    for (const p of plan) {
      checkLayout(p);
      assert.ok(p.size < FAT32_MAX_FILE, `${p.fileName}: ${p.size} bytes`);
      // Decode the part's header and lookup table from the planned regions.
      const ph = p.regions[0].data;
      assert.equal(ph.readUInt16LE(40), p.partNumber);
      assert.equal(ph.readUInt16LE(42), 3);
      assert.equal(ph.readUInt32LE(16), 0x88, 'RP_FIX kept, SPANNED added');
      const tbl = p.regions[1].data;
      assert.equal(Number(ph.readBigUInt64LE(56)), p.regions[1].offset);
      for (let k = 0; k < tbl.length / 50; k++) {
        const size = Number(tbl.readBigUInt64LE(k * 50) & 0xffffffffffffffn);
        const off = Number(tbl.readBigUInt64LE(k * 50 + 8));
        const src = resources.find((r) => r.hash.equals(tbl.subarray(k * 50 + 30, k * 50 + 50)));
        assert.ok(src);
        assert.equal(size, src.size);
        assert.equal(tbl.readUInt16LE(k * 50 + 24), p.partNumber);
        // The bytes at that offset of the part come from the resource's offset in the WIM.
        const ext = p.extents.find((e) => e.offset <= off && off + size <= e.offset + e.size);
        assert.ok(ext, `resource at ${off} lies in one extent`);
        assert.equal(ext.sourceOffset + (off - ext.offset), src.offset);
        seen.set(src.offset, p.partNumber);
      }
      const xmlHdr = Number(ph.readBigUInt64LE(80));
      const xmlExt = p.extents.find((e) => e.offset === xmlHdr);
      assert.ok(xmlExt);
      assert.equal(xmlExt.sourceOffset, xmlOffset, 'the XML data copied from past 8 GiB');
    }
    assert.equal(seen.size, 6, 'every resource in one part');
    assert.equal(seen.get(resources[5].offset), 1, 'the metadata (at the end of the WIM) in part 1');
    assert.ok(plan.some((p) => p.extents.some((e) => e.sourceOffset > 2 ** 32)), 'extents from beyond 4 GiB');
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// The plan's rules at their edges, on small sparse WIMs (data resources first in the file, the metadata resource after
// them; in the lookup table the metadata entry first): no wimlib needed, nothing larger than a few hundred kilobytes.

const ENTRY = WIM_LOOKUP_ENTRY_SIZE;

/** A sparse WIM with data resources of these sizes, and what the plan of it needs around them. */
function sparse(t: TestContext, sizes: readonly number[], patch?: (b: Buffer, w: ReturnType<typeof writeSparseWim>) => void): { path: string; wim: ReturnType<typeof writeSparseWim>; fixed: number; meta: number } {
  const dir = tempDir(t, 'tsmedia-wimplan-');
  const path = join(dir, 'sparse.wim');
  const wim = writeSparseWim(path, sizes);
  if (patch) {
    const b = readFileSync(path);
    patch(b, wim);
    writeFileSync(path, b);
  }
  const h = readWimHeader(path);
  return { path, wim, fixed: WIM_HEADER_SIZE + h.xmlData.size, meta: wim.resources[wim.resources.length - 1].size };
}

/** Table entry k of the sparse WIM (0: the metadata, k ≥ 1: data resource k − 1). */
const entryAt = (w: ReturnType<typeof writeSparseWim>, k: number): number => w.tableOffset + k * ENTRY;

/** The entries of a planned part's lookup table: hash, offset in the part, size. */
function partTable(p: ReturnType<typeof planWimSplit>[number]): { hash: string; offset: number; size: number; refCount: number }[] {
  const tbl = p.regions[1].data;
  return Array.from({ length: tbl.length / ENTRY }, (_, k) => ({
    hash: tbl.subarray(k * ENTRY + 30, k * ENTRY + 50).toString('hex'),
    offset: Number(tbl.readBigUInt64LE(k * ENTRY + 8)),
    size: Number(tbl.readBigUInt64LE(k * ENTRY) & 0xffffffffffffffn),
    refCount: tbl.readUInt32LE(k * ENTRY + 26),
  }));
}

const hashOf = (w: ReturnType<typeof writeSparseWim>, i: number): string => w.resources[i].hash.toString('hex');
/** The boot metadata's location in a part's header. */
const bootOf = (p: ReturnType<typeof planWimSplit>[number]): { size: number; offset: number } => ({
  size: Number(p.regions[0].data.readBigUInt64LE(96) & 0xffffffffffffffn),
  offset: Number(p.regions[0].data.readBigUInt64LE(104)),
});

describe('WIM split planning at the edges (sparse WIMs)', () => {
  test('a part takes a resource only while it stays under the limit: exactly at the limit opens the next part', (t) => {
    const { path, fixed, meta } = sparse(t, [10_000, 10_000, 10_000]);
    const part1 = fixed + meta + ENTRY; // the header, the XML data and the metadata with its entry
    const add = 10_000 + ENTRY;
    // With part 1 plus one resource exactly at the limit, the resource goes to the next part.
    const at = planWimSplit(path, part1 + add, 'T');
    assert.deepEqual(at.map((p) => p.size), [part1, fixed + add, fixed + add, fixed + add]);
    const above = planWimSplit(path, part1 + add + 1, 'T');
    assert.deepEqual(above.map((p) => p.size), [part1 + add, fixed + add, fixed + add]);
    // A resource that with the header and XML data reaches the limit cannot go anywhere.
    assertInputError(() => planWimSplit(path, fixed + add, 'T', { label: 'PKG/x.wim' }), /^PKG\/x\.wim: it holds a resource of 10000 bytes \(SHA-1 [0-9A-F]{40}, at byte 208\), too large for a part under \d+ bytes/);
    const e = assertInputError(() => planWimSplit(path, fixed + add, 'T'));
    assert.ok(e.message.includes(`SHA-1 ${hashOf(sparse(t, [10_000]).wim, 0).toUpperCase()}`), `the resource's SHA-1 in capitals: ${e.message}`);
    assert.deepEqual(planWimSplit(path, fixed + add + 1, 'T').map((p) => p.size), [part1, fixed + add, fixed + add, fixed + add], 'one byte more: each resource in a part of its own');
    // The metadata and the XML data reaching the limit in part 1 are refused with their sizes.
    assertInputError(() => planWimSplit(path, part1, 'T'), new RegExp(`the metadata of its 1 image\\(s\\) \\(${meta} bytes\\) and the XML data \\(${fixed - WIM_HEADER_SIZE} bytes\\) must all be in the first part, and together they reach the part size limit of ${part1} bytes`));
  });

  test('the limit and the base name are checked before the WIM is read', (t) => {
    const { path } = sparse(t, [1000]);
    for (const bad of [WIM_HEADER_SIZE, 100, 1.5, Number.NaN, 2 ** 53]) assert.throws(() => planWimSplit(path, bad, 'T'), { name: 'RangeError', message: `planWimSplit: maxPartBytes ${bad} is not a usable part size` });
    assertInputError(() => planWimSplit(path, WIM_HEADER_SIZE + 1, 'T'), /must all be in the first part/);
    for (const bad of ['', 'a/b', 'a\\b', 'C:x', 'a\0b']) {
      const e = assertInputError(() => planWimSplit(path, 1e6, bad), /cannot name \.swm parts \(a file name without a folder was expected\)/);
      assert.ok(e.message.includes(`"${bad}"`) && e.message.includes(path), e.message);
      assert.ok(assertInputError(() => planWimSplit(path, 1e6, bad, { label: 'PKG/install.wim' })).message.includes('PKG/install.wim'));
    }
  });

  test('resources in file order within a part, neighbours as one extent, the lookup table in its original order', (t) => {
    const { path, wim, fixed } = sparse(t, [20_000, 3000, 3000, 3000, 20_000], (b) => {
      b.writeUInt32LE(1, 120); // image 1 boots
    });
    const plan = planWimSplit(path, fixed + 5000 + ENTRY + 20_000 + ENTRY + 1, 'T', { mediaDir: 'SMS/PKG/X//' });
    assert.deepEqual(plan.map((p) => partTable(p).map((e) => e.hash)), [
      [hashOf(wim, 5), hashOf(wim, 0)], // the metadata entry first, as in the WIM's table
      [hashOf(wim, 1), hashOf(wim, 2), hashOf(wim, 3)],
      [hashOf(wim, 4)],
    ]);
    const xml = readWimHeader(path).xmlData;
    const r = wim.resources;
    const ext = (p: (typeof plan)[number]): number[][] => p.extents.map((e) => [e.offset, e.size, e.sourceOffset]);
    // Part 1: the first resource (at the start of the WIM), then the metadata (at its end).
    assert.deepEqual(ext(plan[0]), [[208, 20_000, r[0].offset], [20_208, 5000, r[5].offset], [25_208 + 2 * ENTRY, xml.size, xml.offset]]);
    assert.deepEqual(partTable(plan[0]).map((e) => e.offset), [20_208, 208]);
    assert.deepEqual(bootOf(plan[0]), { size: 5000, offset: 20_208 }, 'the boot metadata where part 1 holds it');
    assert.deepEqual(bootOf(plan[1]), { size: 0, offset: 0 });
    // Part 2: three neighbours in the WIM are one extent.
    assert.deepEqual(ext(plan[1]), [[208, 9000, r[1].offset], [9208 + 3 * ENTRY, xml.size, xml.offset]]);
    for (const p of plan) for (const e of p.extents) assert.equal(e.path, `SMS/PKG/X/${p.fileName}`, 'the media folder without its trailing slashes');
    assert.equal(planWimSplit(path, 1e6, 'T', { mediaDir: 'SMS\\PKG\\X\\\\' })[0].extents[0].path, 'SMS\\PKG\\X/T000.swm');
  });

  test('the boot image is found by its metadata entry in use, wherever the table lists it', (t) => {
    // The table reordered: a data entry first, then a data resource marked as metadata but not in use (refCount 0),
    // then the image's metadata.
    const { path, wim, fixed } = sparse(t, [1000, 2000, 3000], (b, w) => {
      const meta = Buffer.from(b.subarray(entryAt(w, 0), entryAt(w, 1)));
      const d0 = Buffer.from(b.subarray(entryAt(w, 1), entryAt(w, 2)));
      const d1 = Buffer.from(b.subarray(entryAt(w, 2), entryAt(w, 3)));
      d1.copy(b, entryAt(w, 0));
      d0[7] |= WimResourceFlag.METADATA;
      d0.writeUInt32LE(0, 26);
      d0.copy(b, entryAt(w, 1));
      meta.copy(b, entryAt(w, 2));
      b.writeUInt32LE(1, 120);
    });
    const plan = planWimSplit(path, fixed + 5000 + 1000 + 2 * ENTRY + 1, 'B');
    assert.deepEqual(partTable(plan[0]).map((e) => [e.hash, e.offset, e.refCount]), [
      [hashOf(wim, 0), 208, 0],
      [hashOf(wim, 3), 1208, 1],
    ], 'both metadata-flagged resources in part 1, in table order');
    assert.deepEqual(bootOf(plan[0]), { size: 5000, offset: 1208 });
  });

  test('several entries for one resource: one copy, every entry pointing at it, counted in the part', (t) => {
    // Data entry 3 names the bytes of data entry 2; data entry 1 names the metadata's bytes (not flagged as metadata).
    const { path, wim, fixed } = sparse(t, [4000, 4000, 4000], (b, w) => {
      b.copy(b, entryAt(w, 3), entryAt(w, 2), entryAt(w, 2) + 24);
      b.copy(b, entryAt(w, 1), entryAt(w, 0), entryAt(w, 0) + 24);
      b[entryAt(w, 1) + 7] &= ~WimResourceFlag.METADATA;
    });
    const part1 = fixed + 5000 + 2 * ENTRY;
    const plan = planWimSplit(path, part1 + 4000 + 2 * ENTRY, 'D');
    assert.deepEqual(plan.map((p) => partTable(p).map((e) => [e.hash, e.offset, e.size])), [
      [[hashOf(wim, 3), 208, 5000], [hashOf(wim, 0), 208, 5000]],
      [[hashOf(wim, 1), 208, 4000], [hashOf(wim, 2), 208, 4000]],
    ]);
    assert.deepEqual(plan.map((p) => p.size), [part1, fixed + 4000 + 2 * ENTRY]);
    assert.deepEqual(plan.map((p) => p.extents.length), [2, 2], 'one copy of each resource (and the XML data)');
  });

  test('an entry without bytes stays in part 1 at the end of the header', (t) => {
    const { path, wim, fixed } = sparse(t, [4000, 4000, 4000], (b, w) => {
      b.writeBigUInt64LE(0n, entryAt(w, 3));
      b.writeBigUInt64LE(0n, entryAt(w, 3) + 16);
    });
    const plan = planWimSplit(path, fixed + 5000 + 4000 + 3 * ENTRY + 1, 'E');
    assert.deepEqual(plan.map((p) => partTable(p).map((e) => [e.hash, e.offset, e.size])), [
      [[hashOf(wim, 3), 4208, 5000], [hashOf(wim, 0), 208, 4000], [hashOf(wim, 2), 208, 0]],
      [[hashOf(wim, 1), 208, 4000]],
    ]);
    assert.equal(plan[0].size, fixed + 9000 + 3 * ENTRY);
  });

  test('damaged or unsuitable headers and entries are refused, named', (t) => {
    const refuse = (patch: (b: Buffer, w: ReturnType<typeof writeSparseWim>) => void, ...patterns: RegExp[]): void => {
      const { path } = sparse(t, [4000, 100], patch);
      assertInputError(() => planWimSplit(path, 1e6, 'R'), new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `), ...patterns);
    };
    const flags = (f: number) => (b: Buffer): void => {
      b.writeUInt32LE(b.readUInt32LE(16) | f, 16);
    };
    refuse(flags(WimHeaderFlag.WRITE_IN_PROGRESS), /still being written/);
    refuse(flags(WimHeaderFlag.SPANNED), /already part 1 of a split WIM \(1 parts\)/);
    refuse((b) => b.writeUInt16LE(2, 42), /already part 1 of a split WIM \(2 parts\)/);
    refuse(flags(WimHeaderFlag.RESOURCE_ONLY), /not a complete WIM/);
    refuse(flags(WimHeaderFlag.METADATA_ONLY), /not a complete WIM/);
    refuse((b) => b.writeUInt32LE(0, 44), /holds no image: there is nothing to split/);
    refuse((b, w) => b.writeBigUInt64LE(4001n, entryAt(w, 1) + 16), /lookup-table entry 1 \(SHA-1 [0-9A-F]{40}\) is uncompressed but its sizes disagree \(4000 stored, 4001 original\)/);
    refuse((b, w) => b.writeUInt32LE(0, entryAt(w, 0) + 26), /counts 1 image\(s\) but the lookup table has metadata for 0/);
    // The small resource moved onto the lookup table, then onto the XML data.
    refuse((b, w) => b.writeBigUInt64LE(BigInt(w.tableOffset), entryAt(w, 2) + 8), /the resource of lookup-table entry 2 overlaps the lookup table/);
    refuse((b, w) => b.writeBigUInt64LE(BigInt(w.xmlOffset), entryAt(w, 2) + 8), /the resource of lookup-table entry 2 overlaps the XML data/);
    // An integrity table over a resource; two resources starting at the same byte with different sizes.
    refuse((b, w) => {
      b.writeBigUInt64LE((2n << 56n) | 100n, 124);
      b.writeBigUInt64LE(BigInt(w.resources[1].offset), 132);
      b.writeBigUInt64LE(100n, 140);
    }, /the resource of lookup-table entry 2 overlaps the integrity table/);
    refuse((b, w) => b.writeBigUInt64LE(BigInt(w.resources[0].offset), entryAt(w, 2) + 8), /the resources of lookup-table entries \d and \d overlap/);
    // Two resources partly overlapping, with where each lies.
    refuse((b, w) => b.writeBigUInt64LE(BigInt(w.resources[0].offset + 3950), entryAt(w, 2) + 8), /the resources of lookup-table entries 1 and 2 overlap \(bytes 208–4208 and 4158–4258\)/);
  });

  test('an empty integrity table inside a resource overlaps nothing', (t) => {
    const { path } = sparse(t, [4000], (b, w) => b.writeBigUInt64LE(BigInt(w.resources[0].offset + 10), 132));
    assert.equal(planWimSplit(path, 1e6, 'I').length, 1);
  });

  test('one resource named by a plain entry and, later in the table, by its metadata entry: still in part 1', (t) => {
    // Entry 0 (the metadata's bytes) loses its metadata flag; entry 1 names the same bytes as the image's metadata.
    const { path, wim, fixed } = sparse(t, [4000, 4000], (b, w) => {
      b.copy(b, entryAt(w, 1), entryAt(w, 0), entryAt(w, 0) + 24);
      b[entryAt(w, 0) + 7] &= ~WimResourceFlag.METADATA;
    });
    const plan = planWimSplit(path, fixed + 5000 + 2 * ENTRY + 1, 'M');
    assert.deepEqual(partTable(plan[0]).map((e) => [e.hash, e.offset, e.size]), [
      [hashOf(wim, 2), 208, 5000],
      [hashOf(wim, 0), 208, 5000],
    ]);
  });

  test('a solid resource is refused only in a solid (version 0xe00) WIM', (t) => {
    const solidFlag = (b: Buffer, w: ReturnType<typeof writeSparseWim>): void => {
      b[entryAt(w, 1) + 7] |= WimResourceFlag.SOLID;
    };
    const plain = sparse(t, [4000], solidFlag);
    assert.equal(planWimSplit(plain.path, 1e6, 'S').length, 1, 'the solid flag in a version 0x10d00 WIM is not read as solid');
    const version = sparse(t, [4000], (b) => b.writeUInt32LE(0xe00, 12));
    assert.equal(planWimSplit(version.path, 1e6, 'S').length, 1, 'a version 0xe00 WIM without solid resources is split');
  });

  test('splitWimToFolder: other files in the folder are no parts; progress up to the total; no descriptor left open', (t) => {
    const { path, fixed } = sparse(t, [4000, 4000, 4000]);
    const dir = tempDir(t, 'tsmedia-wimfolder-');
    for (const n of ['notes.txt', 'T.swm', 'T12.swm', 'T000.swm.bak', 'Tx000.swm', 'XT000.swm']) writeFileSync(join(dir, n), 'x');
    // Open descriptors as Linux lists them; under Wine /proc/self/fd is the Wine process's, where wineserver opens and
    // closes descriptors of its own at any time, so the count is compared on Linux only.
    const fds = (): number => (process.platform === 'linux' ? readdirSync('/proc/self/fd').length : 0);
    const before = fds();
    const seen: [number, number, string][] = [];
    const out = splitWimToFolder(path, dir, 'T', fixed + 5000 + ENTRY + 1, { onProgress: (done, total, name) => seen.push([done, total, name]) });
    assert.equal(fds(), before, 'every part closed');
    assert.equal(out.length, 4);
    const total = out.reduce((n, p) => n + p.size, 0);
    assert.ok(seen.every(([, tot]) => tot === total));
    assert.ok(seen.every(([done], i) => i === 0 || done >= seen[i - 1][0]), 'progress never goes back');
    assert.deepEqual(seen.at(-1), [total, total, 'T003.swm']);
    assert.ok(seen.some(([done, , name]) => name === 'T002.swm' && done > out[0].size + out[1].size), 'later parts count on from the parts before');
    // Parts of that name in any case are stale, the first (sorted) named.
    const stale = tempDir(t, 'tsmedia-wimfolder-');
    for (const n of ['t007.SWM', 'T0001.swm', 'T009.swm', 'T005.swm', 'T003.swm']) writeFileSync(join(stale, n), 'x');
    const e = assertInputError(() => splitWimToFolder(path, stale, 'T', 1e6), /already holds T0001\.swm: choose an empty folder, or remove the old parts first/);
    assert.ok(e.message.includes(stale), e.message);
    // A folder that cannot be made.
    const blocker = join(dir, 'notes.txt');
    assertInputError(() => splitWimToFolder(path, join(blocker, 'sub'), 'T', 1e6), /cannot make the folder for the \.swm parts/);
  });
});
