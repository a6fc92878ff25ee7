// One read, N writes (issue 19, item 2): the same files written to several targets at once, each with its own FAT32
// layout, read and hash-checked once. Each target must come out byte for byte as the single-target writer
// (runImageJobs) makes it; a target that fails or is cancelled ends alone; content that fails its hash fails every
// target before any is finished; a slow target holds the others only within the ring, and memory stays within it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ContentIntegrityError } from '../electron/engine/errors.js';
import { planFat32, type FatFile, type Fat32Plan } from '../electron/engine/formats/fat32/Fat32Volume.js';
import type { ImageLayout } from '../electron/engine/io/ImageLayout.js';
import { runImageJobs } from '../electron/engine/io/ImageJobs.js';
import { CancelledError } from '../electron/engine/io/ImageWriter.js';
import { FANOUT_SLOT, FANOUT_SLOTS, planReads, runFanOutWrite, type FanOutTarget, type FanOutTargetResult } from '../electron/engine/io/FanOutWrite.js';
import { hasCommand, pattern, requireOrSkip, tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const T0 = new Date('2025-06-01T12:00:00Z');

/** Writes a file of `size` pseudo-random bytes piece by piece (never whole in memory); returns its SHA-256. */
function makeFile(path: string, size: number, seed: number): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let done = 0, k = 0; done < size; k++) {
      const piece = pattern(Math.min(4 * MiB, size - done), seed * 1000 + k);
      writeSync(fd, piece, 0, piece.length, done);
      h.update(piece);
      done += piece.length;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex').toUpperCase();
}

/** SHA-256 of the first `size` bytes of a file or device (all of it by default), read in pieces. */
function hashFile(path: string, size = Infinity): { sha256: string; bytes: number } {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.alloc(4 * MiB);
  let bytes = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, size - bytes), bytes);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
  return { sha256: h.digest('hex'), bytes };
}

interface Content {
  files: FatFile[];
  /** Bytes of the files read from disk (the one file held in memory is not read). */
  readBytes: number;
}

/**
 * Files of many sizes: larger than a slot, many small ones that share slots, an empty one, one held in memory, and
 * `big` MiB more in 16 MiB files. One may be given a wrong hash.
 */
function makeContent(dir: string, big = 0, wrongHash: string | null = null): Content {
  const sizes: [string, number][] = [
    ['sources/install.wim', 9 * MiB + 3],
    ['boot/boot.sdi', 3 * MiB + 4097],
    ['SMS/data/Policy.xml', 0],
    ...Array.from({ length: 40 }, (_, i): [string, number] => [`SMS/PKG/P0000${i % 4}/file ${i}.bin`, 997 * (i + 1) * (i % 3 === 0 ? 37 : 1)]),
    ...Array.from({ length: Math.ceil(big / 16) }, (_, i): [string, number] => [`big/part${i}.bin`, 16 * MiB + i]),
  ];
  let readBytes = 0;
  const files: FatFile[] = sizes.map(([path, size], i) => {
    const local = join(dir, `src${i}`);
    const sha256 = makeFile(local, size, i + 1);
    readBytes += size;
    return { path, source: { kind: 'file', path: local, size, label: `content ${path}`, sha256: path === wrongHash ? 'AB'.repeat(32) : sha256 } };
  });
  files.push({ path: 'EFI/BOOT/BOOTX64.EFI', source: { kind: 'buffer', data: pattern(70_001, 99), label: 'boot file' } });
  return { files, readBytes };
}

/** Three volumes of the same files: 1 KiB, 2 KiB and 4 KiB clusters, sectors of 512, 512 and 4096 bytes. */
function threeLayouts(files: FatFile[]): Fat32Plan[] {
  return [
    planFat32({ diskBytes: 100 * MiB, label: 'A', files, timestamp: T0 }),
    planFat32({ diskBytes: 200 * MiB, label: 'B', files, timestamp: T0 }),
    planFat32({ diskBytes: 300 * MiB, label: 'C', files, timestamp: T0, sectorSize: 4096 }),
  ];
}

/** What the single-target writer makes of a layout: the reference every fan-out target is compared with. */
async function reference(dir: string, layout: ImageLayout, name: string): Promise<string> {
  const path = join(dir, `ref-${name}.img`);
  await runImageJobs([{ kind: 'write', path, layout }]);
  return hashFile(path).sha256;
}

describe('fan-out write: one read, N writes', () => {
  test('three image files of three layouts equal what the single-target writer makes of each; the content is read once', async (t) => {
    const dir = tempDir(t);
    const content = makeContent(dir);
    const layouts = threeLayouts(content.files);
    assert.equal(new Set(layouts.map((l) => `${l.clusterSize}/${l.sectorSize}/${l.dataStart}`)).size, 3, 'three different geometries');
    assert.notEqual(layouts[0].extents[0].offset, layouts[2].extents[0].offset, 'the same file at different offsets');
    const targets: FanOutTarget[] = layouts.map((layout, i) => ({ path: join(dir, `out${i}.img`), layout, target: 'file' }));
    const seen = new Map<number, number>();
    const r = await runFanOutWrite(targets, { onProgress: (i, b) => seen.set(i, b) });
    assert.equal(r.bytesRead, content.readBytes, 'every file read once, not once per target');
    for (const [i, layout] of layouts.entries()) {
      assert.deepEqual(r.targets[i], { path: targets[i].path, bytes: layout.size, error: null, cancelled: false });
      assert.equal(seen.get(i), layout.size, `target ${i}'s last progress is its whole image`);
      const got = hashFile(targets[i].path);
      assert.equal(got.bytes, layout.size);
      assert.equal(got.sha256, await reference(dir, layout, String(i)), `target ${i} equals the single writer's image`);
    }
  });

  test('the read plan: one span per file, in the first layout order, with every range any target needs merged', () => {
    const src = { kind: 'file' as const, path: '/x', size: 100, label: 'x' };
    const buf = { kind: 'buffer' as const, data: Buffer.alloc(5), label: 'b' };
    const a: ImageLayout = { size: 1000, regions: [], extents: [{ offset: 0, size: 60, sourceOffset: 0, source: src, path: 'x' }, { offset: 100, size: 5, sourceOffset: 0, source: buf, path: 'b' }] };
    const b: ImageLayout = { size: 1000, regions: [], extents: [{ offset: 500, size: 50, sourceOffset: 50, source: { ...src }, path: 'x' }] };
    const plan = planReads([a, b]);
    assert.equal(plan.spans.length, 1);
    assert.deepEqual(plan.spans[0].ranges, [[0, 100]]);
    assert.deepEqual(plan.sourceIds, [[0, null], [0]]);
  });

  test('a target that cannot be opened and one whose writes fail end alone, named with their cause; the others are correct', async (t) => {
    const dir = tempDir(t);
    const content = makeContent(dir);
    const [l0, l1, l2] = threeLayouts(content.files);
    const missing = join(dir, 'gone', 'sdz');
    const targets: FanOutTarget[] = [
      { path: join(dir, 'ok0.img'), layout: l0, target: 'file' },
      { path: missing, layout: l1, target: 'device' },
      ...(process.platform === 'linux' ? [{ path: '/dev/full', layout: l1, target: 'file' as const }] : []),
      { path: join(dir, 'ok2.img'), layout: l2, target: 'file' },
    ];
    // A small ring (4 × 1 MiB, the content is 30 times that): a failed writer that still held slots would stall the run.
    const ends: [number, FanOutTargetResult][] = [];
    const r = await runFanOutWrite(targets, { slots: 4, slotSize: MiB, onTargetEnd: (i, e) => ends.push([i, e]) });
    // Each target's end said once, with the result the run returns for it.
    assert.deepEqual(ends.map(([i]) => i).sort(), targets.map((_, i) => i));
    for (const [i, e] of ends) assert.deepEqual(e, r.targets[i]);
    assert.equal(ends[0][0], 1, 'the target that could not be opened is said first');
    assert.match(r.targets[1].error ?? '', new RegExp(`${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(not found|ENOENT|no such file)`, 'i'));
    if (process.platform === 'linux') {
      // A character device is written as a drive is (whole sectors), as the single-target writer does.
      assert.match(r.targets[2].error ?? '', /^\/dev\/full refused a write: no space left on the device/);
      assert.equal(r.targets[2].cancelled, false);
    }
    const last = r.targets.length - 1;
    assert.deepEqual([r.targets[0].error, r.targets[last].error], [null, null]);
    assert.equal(hashFile(targets[0].path).sha256, await reference(dir, l0, '0'));
    assert.equal(hashFile(targets[last].path).sha256, await reference(dir, l2, '2'));
    assert.equal(r.bytesRead, content.readBytes);
  });

  test('content that does not match its hash fails the run with the file named, and no target is finished', async (t) => {
    const dir = tempDir(t);
    const bad = 'boot/boot.sdi';
    const content = makeContent(dir, 0, bad);
    const [l0, , l2] = threeLayouts(content.files);
    // The second is written as to a drive (whole sectors): its boot region, the MBR first of all, goes last.
    const targets: FanOutTarget[] = [
      { path: join(dir, 'a.img'), layout: l0, target: 'file' },
      { path: join(dir, 'b.img'), layout: l2, target: 'file', sectorSize: 4096 },
    ];
    await assert.rejects(runFanOutWrite(targets), (e: unknown) => e instanceof ContentIntegrityError && e.file === `content ${bad}` && e.message.includes('do not match'));
    const mbr = Buffer.alloc(512);
    const fd = openSync(targets[1].path, 'r');
    readSync(fd, mbr, 0, 512, 0);
    closeSync(fd);
    assert.equal(mbr.readUInt16LE(510), 0, 'the drive-style target has no MBR: it was never made mountable');
  });

  test('cancelling one target stops it alone; the others complete and are correct', async (t) => {
    const dir = tempDir(t);
    const content = makeContent(dir);
    const layouts = threeLayouts(content.files);
    const stop = new AbortController();
    // The first target is slow too: the cancelled one is said to have ended while it is still being written.
    const targets: FanOutTarget[] = layouts.map((layout, i) => ({ path: join(dir, `c${i}.img`), layout, target: 'file', ...(i === 1 ? { signal: stop.signal, slowdownMs: 20 } : i === 0 ? { slowdownMs: 10 } : {}) }));
    const done = [0, 0, 0];
    const ends: { index: number; cancelled: boolean; firstDone: number }[] = [];
    const r = await runFanOutWrite(targets, {
      slots: 4,
      slotSize: MiB,
      onProgress: (i, b) => {
        done[i] = b;
        if (i === 1 && b > 0) stop.abort();
      },
      onTargetEnd: (i, e) => ends.push({ index: i, cancelled: e.cancelled, firstDone: done[0] }),
    });
    const cancelledEnd = ends.find((e) => e.index === 1);
    assert.equal(cancelledEnd?.cancelled, true, 'the cancelled target is said to have ended, cancelled');
    assert.ok((cancelledEnd?.firstDone ?? Infinity) < layouts[0].size, `said while the first target was still written (${cancelledEnd?.firstDone} of ${layouts[0].size})`);
    assert.deepEqual(ends.map((e) => e.index).sort(), [0, 1, 2]);
    assert.equal(r.targets[1].cancelled, true);
    assert.equal(r.targets[1].error, null);
    assert.ok(r.targets[1].bytes > 0 && r.targets[1].bytes < layouts[1].size, `stopped part way (${r.targets[1].bytes} of ${layouts[1].size})`);
    for (const i of [0, 2]) {
      assert.deepEqual(r.targets[i], { path: targets[i].path, bytes: layouts[i].size, error: null, cancelled: false });
      assert.equal(hashFile(targets[i].path).sha256, await reference(dir, layouts[i], String(i)));
    }
  });

  test('cancelling the run stops every target with CancelledError', async (t) => {
    const dir = tempDir(t);
    const content = makeContent(dir);
    const layouts = threeLayouts(content.files);
    const stop = new AbortController();
    const targets: FanOutTarget[] = layouts.map((layout, i) => ({ path: join(dir, `x${i}.img`), layout, target: 'file', slowdownMs: 20 }));
    const started = Date.now();
    let last = 0;
    await assert.rejects(
      runFanOutWrite(targets, { signal: stop.signal, slots: 4, slotSize: MiB, onProgress: (_, b) => {
        last = Math.max(last, b);
        if (b > 0) stop.abort();
      } }),
      CancelledError,
    );
    assert.ok(last < layouts[0].size, 'no target got to its end');
    assert.ok(Date.now() - started < 5000, 'stopped promptly');
    const already = new AbortController();
    already.abort();
    await assert.rejects(runFanOutWrite(targets, { signal: already.signal }), CancelledError);
  });

  test('a slow target holds the others back only by the ring, and memory stays within the ring and a margin', async (t) => {
    const dir = tempDir(t);
    const content = makeContent(dir, 320);
    const layout = planFat32({ diskBytes: 512 * MiB, label: 'M', files: content.files, timestamp: T0 });
    const ring = FANOUT_SLOTS * FANOUT_SLOT;
    const targets: FanOutTarget[] = [0, 1, 2].map((i) => ({ path: join(dir, `m${i}.img`), layout, target: 'file', ...(i === 2 ? { slowdownMs: 40 } : {}) }));
    global.gc?.();
    const base = process.memoryUsage();
    let peak = { rss: 0, arrayBuffers: 0 };
    const sample = setInterval(() => {
      const m = process.memoryUsage();
      peak = { rss: Math.max(peak.rss, m.rss), arrayBuffers: Math.max(peak.arrayBuffers, m.arrayBuffers) };
    }, 10);
    const bytes = [0, 0, 0];
    let lead = 0;
    try {
      const r = await runFanOutWrite(targets, {
        onProgress: (i, b) => {
          bytes[i] = b;
          lead = Math.max(lead, bytes[0] - bytes[2], bytes[1] - bytes[2]);
        },
      });
      assert.deepEqual(r.targets.map((x) => x.error), [null, null, null]);
      assert.equal(r.bytesRead, content.readBytes);
    } finally {
      clearInterval(sample);
    }
    const grew = { rss: (peak.rss - base.rss) / MiB, arrayBuffers: (peak.arrayBuffers - base.arrayBuffers) / MiB };
    console.log(`# content ${(content.readBytes / MiB).toFixed(0)} MiB, ring ${ring / MiB} MiB: rss grew ${grew.rss.toFixed(0)} MiB, arrayBuffers ${grew.arrayBuffers.toFixed(0)} MiB, fast targets led the slow one by at most ${(lead / MiB).toFixed(0)} MiB`);
    // The slow target really lagged (the ring was used), but never by more than the ring (and the throttled reports).
    assert.ok(lead > ring / 2, `the fast targets ran ahead (${lead} bytes)`);
    assert.ok(lead <= ring + 16 * MiB, `the fast targets stayed within the ring of the slow one (${lead} bytes)`);
    assert.ok(grew.arrayBuffers <= ring / MiB + 16, `array buffers grew by ${grew.arrayBuffers} MiB`);
    assert.ok(grew.rss <= ring / MiB + 96, `rss grew by ${grew.rss} MiB with ${content.readBytes / MiB} MiB of content`);
  });
});

const LOOP_TOOLS = ['losetup', 'blockdev'];
const canLoop = (): boolean => process.platform === 'linux' && process.getuid?.() === 0 && LOOP_TOOLS.every(hasCommand);
const NO_LOOP = (): string => `needs Linux, root, losetup and blockdev (root: ${process.getuid?.() === 0}; missing: ${LOOP_TOOLS.filter((c) => !hasCommand(c)).join(', ') || 'none'})`;

function attachLoop(t: TestContext, dir: string, name: string, bytes: number, sectorSize: number): { dev: string; img: string } {
  const img = join(dir, `${name}.img`);
  writeFileSync(img, '');
  truncateSync(img, bytes);
  const dev = execFileSync('losetup', ['-f', '--show', '--sector-size', String(sectorSize), img], { encoding: 'utf8' }).trim();
  t.after(() => {
    spawnSync('blockdev', ['--setrw', dev], { stdio: 'ignore' });
    spawnSync('losetup', ['-d', dev], { stdio: 'ignore' });
  });
  return { dev, img };
}

describe('fan-out write to drives', () => {
  test('loop devices of 512- and 4096-byte sectors written at once as drives; one too small fails mid-write, one set read-only fails at its first write', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP())) return;
    const dir = tempDir(t);
    const content = makeContent(dir);
    const [l0, l1, l2] = threeLayouts(content.files);
    const d512 = attachLoop(t, dir, 'd512', 100 * MiB, 512);
    const d4096 = attachLoop(t, dir, 'd4096', 300 * MiB, 4096);
    // A drive smaller than it claimed: its layout is for 200 MiB, it holds 16 MiB, so it fails once the files reach there.
    const small = attachLoop(t, dir, 'small', 16 * MiB, 512);
    const locked = attachLoop(t, dir, 'locked', 200 * MiB, 512);
    execFileSync('blockdev', ['--setro', locked.dev]);
    const targets: FanOutTarget[] = [
      { path: d512.dev, layout: l0, target: 'device', sectorSize: 512 },
      { path: d4096.dev, layout: l2, target: 'device', sectorSize: 4096 },
      { path: small.dev, layout: l1, target: 'device', sectorSize: 512 },
      { path: locked.dev, layout: l1, target: 'device' },
    ];
    const seen = [0, 0, 0, 0];
    const r = await runFanOutWrite(targets, { onProgress: (i, b) => (seen[i] = b) });
    assert.deepEqual([r.targets[0].error, r.targets[1].error], [null, null]);
    assert.match(r.targets[2].error ?? '', new RegExp(`${small.dev} refused a write: no space left on the device`));
    // Progress is paced (50 ms a target), so the failed target's own count is what says how far it got.
    const reached = Math.max(seen[2], r.targets[2].bytes);
    assert.ok(reached > 8 * MiB && reached < l1.size, `the small drive failed part way (${reached} of ${l1.size} bytes)`);
    // The kernel lets root open a read-only drive for writing and refuses the first write (EPERM).
    assert.match(r.targets[3].error ?? '', new RegExp(`(permission denied writing ${locked.dev}|${locked.dev} is on a read-only)`));
    assert.equal(seen[3], 0, 'nothing was written to the read-only drive');
    assert.equal(r.bytesRead, content.readBytes);
    assert.equal(hashFile(d512.img, l0.size).sha256, await reference(dir, l0, '0'), 'the 512-byte-sector drive holds its layout');
    assert.equal(hashFile(d4096.img, l2.size).sha256, await reference(dir, l2, '2'), 'the 4096-byte-sector drive holds its layout');
  });
});
