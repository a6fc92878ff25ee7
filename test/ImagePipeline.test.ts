// The writer's pipeline on its own: content hashed on the second thread through the shared ring (large files over
// several slots, many small files in one), the read-back comparing every byte with the layout, and hash jobs spread
// over two workers. Each failure must name the file it concerns.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ContentIntegrityError } from '../electron/engine/errors.js';
import { runImageJobs, type WorkerJob } from '../electron/engine/io/ImageJobs.js';
import type { ImageLayout } from '../electron/engine/io/ImageLayout.js';
import { WriteError } from '../electron/engine/io/ImageWriter.js';
import { tempDir } from './helpers.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Made {
  layout: ImageLayout;
  image: Buffer;
  files: { path: string; data: Buffer; offset: number }[];
}

/** A layout of a metadata region, a 20 MiB file (three ring slots), 300 small files, with gaps between. */
function makeLayout(dir: string, corrupt: string | null = null): Made {
  const files: Made['files'] = [];
  const extents: ImageLayout['extents'] = [];
  let at = 64 * 1024;
  const add = (name: string, data: Buffer): void => {
    const path = join(dir, name);
    writeFileSync(path, data);
    const hash = name === corrupt ? sha(Buffer.concat([data, Buffer.from('x')])) : sha(data);
    extents.push({ offset: at, size: data.length, sourceOffset: 0, path: `SMS/PKG/${name}`, source: { kind: 'library', blobPath: path, size: data.length, sha256: hash.toUpperCase(), label: `package/${name}` } });
    files.push({ path: `SMS/PKG/${name}`, data, offset: at });
    at += Math.ceil((data.length + 1) / 2048) * 2048;
  };
  add('big.bin', randomBytes(20 * MiB + 12345));
  for (let i = 0; i < 300; i++) add(`small${i}.bin`, randomBytes(1 + ((i * 7919) % 40000)));
  const region = Buffer.alloc(32 * 1024, 0x5a);
  const size = at + 4096;
  const image = Buffer.alloc(size);
  region.copy(image, 0);
  for (const f of files) f.data.copy(image, f.offset);
  return { layout: { size, regions: [{ offset: 0, data: region }], extents }, image, files };
}

describe('image pipeline (writer thread + hashing thread)', () => {
  test('a write then a read-back: the image holds every byte, the read-back hash is the image\'s', async (t) => {
    const dir = tempDir(t);
    const { layout, image } = makeLayout(dir);
    const out = join(dir, 'out.img');
    const [w] = await runImageJobs([{ kind: 'write', path: out, layout }]);
    assert.equal(w.bytes, layout.size);
    assert.equal(w.sha256, null, 'writes leave the image hash to the read-back');
    assert.ok(readFileSync(out).equals(image));
    const [r] = await runImageJobs([{ kind: 'compare', path: out, layout }]);
    assert.equal(r.sha256, sha(image));
    assert.equal(r.bytes, layout.size);
  });

  test('content that does not match its library hash is named, for a large file and for one small file among many', async (t) => {
    for (const bad of ['big.bin', 'small150.bin']) {
      const dir = tempDir(t);
      const { layout } = makeLayout(dir, bad);
      await assert.rejects(
        runImageJobs([{ kind: 'write', path: join(dir, 'out.img'), layout }]),
        (e: unknown) => e instanceof ContentIntegrityError && e.message.includes(`package/${bad}`) && /do not match the content library/.test(e.message),
      );
    }
  });

  test('the read-back names the file, or the structures, where the bytes differ, and a short image', async (t) => {
    const dir = tempDir(t);
    const { layout, files } = makeLayout(dir);
    const out = join(dir, 'out.img');
    await runImageJobs([{ kind: 'write', path: out, layout }]);
    const pristine = readFileSync(out);
    const flip = (offset: number): void => {
      const b = Buffer.from(pristine);
      b[offset] ^= 0xff;
      writeFileSync(out, b);
    };
    const victim = files[200];
    flip(victim.offset + 5);
    await assert.rejects(runImageJobs([{ kind: 'compare', path: out, layout }]), (e: unknown) => e instanceof WriteError && e.message.includes(`at offset ${victim.offset + 5} (${victim.path})`));
    flip(100);
    await assert.rejects(runImageJobs([{ kind: 'compare', path: out, layout }]), (e: unknown) => e instanceof WriteError && /at offset 100 \(file system structures\)/.test(e.message));
    // A gap must read as zeros.
    flip(layout.size - 10);
    await assert.rejects(runImageJobs([{ kind: 'compare', path: out, layout }]), (e: unknown) => e instanceof WriteError && new RegExp(`at offset ${layout.size - 10} `).test(e.message));
    writeFileSync(out, pristine);
    truncateSync(out, layout.size - 5000);
    await assert.rejects(runImageJobs([{ kind: 'compare', path: out, layout }]), (e: unknown) => e instanceof WriteError && /is \d+ bytes long, \d+ were written/.test(e.message));
  });

  test('a read-back past the cache (a share\'s): whole 4096-byte reads of an image that ends mid-block, and a flipped byte found', async (t) => {
    const dirs = [tempDir(t)];
    for (const dir of dirs) {
      const { layout, image } = makeLayout(dir);
      // An ISO's length is whole 2048-byte sectors, not always whole 4096-byte blocks.
      const odd = layout.size % 4096 === 0 ? { ...layout, size: layout.size + 2048 } : layout;
      const whole = odd.size === layout.size ? image : Buffer.concat([image, Buffer.alloc(2048)]);
      assert.equal(odd.size % 4096, 2048);
      const out = join(dir, 'out.iso');
      await runImageJobs([{ kind: 'write', path: out, layout: odd }]);
      const [r] = await runImageJobs([{ kind: 'compare', path: out, layout: odd, uncached: true, sectorSize: 4096 }]);
      assert.equal(r.sha256, sha(whole), dir);
      assert.equal(r.bytes, odd.size);
      const b = readFileSync(out);
      b[odd.size - 3000] ^= 0x01;
      writeFileSync(out, b);
      await assert.rejects(runImageJobs([{ kind: 'compare', path: out, layout: odd, uncached: true, sectorSize: 4096 }]), (e: unknown) => e instanceof WriteError && e.message.includes(`at offset ${odd.size - 3000} `), dir);
    }
  });

  test('hash jobs spread over two workers give the same hashes as one; a tolerant job that cannot read says why', async (t) => {
    const dir = tempDir(t);
    const { files } = makeLayout(dir);
    const img = join(dir, 'whole.bin');
    writeFileSync(img, Buffer.concat(files.map((f) => f.data)));
    let at = 0;
    const jobs: WorkerJob[] = files.map((f) => {
      const job: WorkerJob = { kind: 'hash-source', label: f.path, tolerant: true, source: { kind: 'composite', size: f.data.length, label: f.path, pieces: [{ path: img, offset: at, size: f.data.length }] } };
      at += f.data.length;
      return job;
    });
    jobs.push({ kind: 'hash-source', label: 'gone', tolerant: true, source: { kind: 'composite', size: 10, label: 'gone', pieces: [{ path: join(dir, 'missing.bin'), offset: 0, size: 10 }] } });
    let last = 0;
    const two = await runImageJobs(jobs, { parallel: 2, onProgress: (_i, _b, _p, done) => (last = Math.max(last, done)) });
    const one = await runImageJobs(jobs);
    files.forEach((f, i) => {
      assert.equal(two[i].sha256, sha(f.data).toUpperCase(), f.path);
      assert.equal(one[i].sha256, two[i].sha256);
    });
    assert.equal(two[files.length].sha256, null);
    assert.match(two[files.length].error ?? '', /missing\.bin/);
    assert.equal(last, at, 'progress adds up the bytes of both workers');
  });

  test('cancelling stops a write within a buffer and says so', async (t) => {
    const dir = tempDir(t);
    const { layout } = makeLayout(dir);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(runImageJobs([{ kind: 'write', path: join(dir, 'out.img'), layout }], { signal: ac.signal }), (e: unknown) => (e as Error).name === 'CancelledError');
  });
});
