// A WIM over 4 GiB, really written, split at the FAT32 limit and read back by wimlib (wimtools). Kept apart from
// WimSplit.test.ts because it writes about 10 GiB: the mutation tests of the splitter run WimSplit.test.ts per mutant.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitWimToFolder } from '../electron/engine/formats/wim/WimSplit.js';
import { FAT32_MAX_FILE } from '../electron/engine/formats/fat32/FatGeometry.js';
import { freeBytesIn, requireOrSkip } from './helpers.js';
import { HAVE_WIMLIB, NO_WIMLIB, capture, wimlib } from './support/wimlib.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;


describe('WIM split beyond 4 GiB, written', () => {
  test('a WIM over 4 GiB split for FAT32: parts under 4 GiB that wimlib verifies and applies (SHA-256 compared)', (t) => {
    if (!requireOrSkip(t, HAVE_WIMLIB, NO_WIMLIB)) return;
    // About 5 GiB of random files, captured, split, verified and applied. Peak space ~10.5 GiB, since each stage's input
    // is deleted as soon as the next exists. It runs by default when RAM-backed /dev/shm has room (about a minute, no
    // disk wear); on disk only when TSMEDIA_BIG_TESTS=1; TSMEDIA_BIG_TESTS=0 skips it.
    const env = process.env.TSMEDIA_BIG_TESTS;
    if (!requireOrSkip(t, env !== '0', 'TSMEDIA_BIG_TESTS=0')) return;
    const need = 12 * GiB;
    const shm = '/dev/shm';
    const useShm = freeBytesIn(shm) >= need && freemem() >= need + 4 * GiB;
    const base = useShm ? shm : tmpdir();
    const free = freeBytesIn(base);
    if (!requireOrSkip(t, useShm || env === '1', `no room in RAM-backed ${shm} (needs ${need / GiB} GiB there and ${(need + 4 * GiB) / GiB} GiB of free memory); set TSMEDIA_BIG_TESTS=1 to run it on disk in ${tmpdir()}`)) return;
    if (!requireOrSkip(t, free >= need, `only ${(free / GiB).toFixed(1)} GiB free in ${base}; this test needs about ${need / GiB} GiB`)) return;

    const started = performance.now();
    let lap = started;
    const timings: string[] = [];
    const mark = (what: string): void => {
      const now = performance.now();
      timings.push(`${what} ${((now - lap) / 1000).toFixed(1)} s`);
      lap = now;
    };
    const dir = mkdtempSync(join(base, 'tsmedia-wimsplit-big-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    console.log(`# big WIM split test in ${dir} (${(free / GiB).toFixed(0)} GiB free)`);

    // Any two files fit in a part under 4 GiB, all three do not: part 1 ends up between 2.9 and 3.95 GiB.
    const src = join(dir, 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    const files = [
      { rel: 'a.bin', size: Math.floor(2.05 * GiB) + 3 },
      { rel: 'sub/b.bin', size: Math.floor(1.9 * GiB) + 5 },
      { rel: 'c.bin', size: Math.floor(1.0 * GiB) + 7 },
    ];
    const expected = new Map<string, string>();
    const chunk = Buffer.allocUnsafe(8 * MiB);
    for (const f of files) {
      const hash = createHash('sha256');
      const fd = openSync(join(src, f.rel), 'w');
      for (let done = 0; done < f.size; ) {
        const n = Math.min(chunk.length, f.size - done);
        randomFillSync(chunk, 0, n);
        hash.update(chunk.subarray(0, n));
        for (let w = 0; w < n; ) w += writeSync(fd, chunk, w, n - w, done + w);
        done += n;
      }
      closeSync(fd);
      expected.set(f.rel, hash.digest('hex'));
    }
    mark('generate');

    const wim = join(dir, 'install.wim');
    capture(src, wim, '--compress=none');
    rmSync(src, { recursive: true, force: true });
    const wimSize = statSync(wim).size;
    assert.ok(wimSize > 4 * GiB, `the WIM is ${wimSize} bytes`);
    mark('capture');

    const out = join(dir, 'parts');
    const written = splitWimToFolder(wim, out, 'install', FAT32_MAX_FILE);
    mark('split');
    rmSync(wim);
    assert.equal(written.length, 2);
    for (const w of written) {
      const size = statSync(w.path).size;
      assert.equal(size, w.size);
      assert.ok(size < 4 * GiB && size < FAT32_MAX_FILE, `${w.path}: ${size} bytes`);
    }
    assert.ok(written[0].size > 2.9 * GiB, `part 1 holds two files (${written[0].size} bytes)`);
    const glob = join(out, 'install*.swm');
    assert.match(wimlib(['info', written[0].path]), /Part Number:\s+1\/2\b/);
    assert.match(wimlib(['verify', written[0].path, `--ref=${glob}`]), /successfully verified/);
    mark('verify');

    const applied = join(dir, 'applied');
    wimlib(['apply', written[0].path, '1', applied, `--ref=${glob}`]);
    rmSync(out, { recursive: true, force: true });
    mark('apply');
    for (const f of files) {
      const p = join(applied, f.rel);
      assert.equal(statSync(p).size, f.size);
      const hash = createHash('sha256');
      const fd = openSync(p, 'r');
      for (let pos = 0; pos < f.size; ) {
        const n = readSync(fd, chunk, 0, Math.min(chunk.length, f.size - pos), pos);
        assert.ok(n > 0);
        hash.update(chunk.subarray(0, n));
        pos += n;
      }
      closeSync(fd);
      assert.equal(hash.digest('hex'), expected.get(f.rel), `${f.rel} applied byte for byte`);
    }
    mark('compare');
    rmSync(dir, { recursive: true, force: true });
    console.log(`# big WIM split (${(wimSize / GiB).toFixed(2)} GiB, ${useShm ? 'RAM' : 'disk'}): ${timings.join(', ')}; total ${((performance.now() - started) / 1000).toFixed(1)} s`);
  });
});
