import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { ContentLibraryWriter } from '../electron/engine/site/ContentLibraryWriter.js';
import { folderHash } from '../electron/engine/site/FolderHash.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex').toUpperCase();
/** FILETIME of 2025-01-01T00:00:00Z, the writer's default modification time. */
const DEFAULT_FILETIME = '133801632000000000';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsmedia-cl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function readText(path: string): Promise<string> {
  const raw = await readFile(path);
  assert.notEqual(raw[0], 0xef, `${path} must not start with a BOM`);
  const s = raw.toString('utf8');
  assert.doesNotMatch(s.replace(/\r\n/g, ''), /[\r\n]/, `${path} must use CRLF line endings only`);
  return s;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
}

test('content library: layout, INI values, single-instance blobs', async (t) => {
  const root = await tempDir(t);
  const shared = Buffer.from('the same bytes in two packages\n');
  const hello = Buffer.from('hello, content library');
  const w = new ContentLibraryWriter(root);

  const a = await w.addContent(
    'ABC00001',
    1,
    [
      { relativePath: 'a.txt', data: hello },
      { relativePath: 'sub\\dir/shared.bin', data: shared, attributes: 0x21, mtime: new Date(Date.UTC(2020, 5, 1, 12, 0, 0)) },
    ],
    { folders: ['empty/inner'] },
  );
  const b = await w.addContent('ABC00002', 3, [{ relativePath: 'copy/shared.bin', data: shared }]);

  assert.equal(a.contentId, 'ABC00001.1');
  assert.equal(b.contentId, 'ABC00002.3');
  assert.deepEqual(
    a.files.map((f) => [f.relativePath, f.size, f.hash]),
    [
      ['a.txt', hello.length, sha256(hello)],
      ['sub\\dir\\shared.bin', shared.length, sha256(shared)],
    ],
  );

  // PkgLib
  assert.equal(await readText(join(root, 'PkgLib', 'ABC00001.INI')), '[Packages]\r\nABC00001.1=\r\n\r\n[Info]\r\nVersion=1\r\n');
  assert.equal(await readText(join(root, 'PkgLib', 'ABC00002.INI')), '[Packages]\r\nABC00002.3=\r\n\r\n[Info]\r\nVersion=3\r\n');

  // DataLib content INI with the folder hash (paths, hashes and every folder, empty ones included).
  const expectedHash = folderHash(
    [
      { path: 'a.txt', hash: sha256(hello) },
      { path: 'sub\\dir\\shared.bin', hash: sha256(shared) },
    ],
    ['sub', 'sub\\dir', 'empty', 'empty\\inner'],
  );
  assert.equal(a.folderHash, expectedHash);
  assert.equal(await readText(join(root, 'DataLib', 'ABC00001.1.INI')), `[Info]\r\nVersion=1\r\nHash=${expectedHash}\r\n`);

  // Per-file INIs, folders mirrored (empty ones too), no INI for folders.
  assert.equal(
    await readText(join(root, 'DataLib', 'ABC00001.1', 'a.txt.INI')),
    `[File]\r\nHash=${sha256(hello)}\r\nSize=${hello.length}\r\nAttributes=20\r\nTimeModified=${DEFAULT_FILETIME}\r\n`,
  );
  assert.equal(
    await readText(join(root, 'DataLib', 'ABC00001.1', 'sub', 'dir', 'shared.bin.INI')),
    `[File]\r\nHash=${sha256(shared)}\r\nSize=${shared.length}\r\nAttributes=21\r\nTimeModified=${((BigInt(Date.UTC(2020, 5, 1, 12, 0, 0)) + 11644473600000n) * 10000n).toString()}\r\n`,
  );
  assert.ok((await stat(join(root, 'DataLib', 'ABC00001.1', 'empty', 'inner'))).isDirectory());
  assert.deepEqual(await readdir(join(root, 'DataLib', 'ABC00001.1', 'empty', 'inner')), []);
  assert.deepEqual((await readdir(join(root, 'DataLib', 'ABC00001.1'))).sort(), ['a.txt.INI', 'empty', 'sub']);

  // FileLib: one blob for the shared bytes, its INI lists both content IDs.
  const h = sha256(shared);
  const blob = join(root, 'FileLib', h.slice(0, 4), h);
  assert.ok((await readFile(blob)).equals(shared));
  assert.equal(await readText(`${blob}.INI`), '[Content Items]\r\nABC00001.1=\r\nABC00002.3=\r\n');
  const blobs = (await listFiles(join(root, 'FileLib'))).filter((f) => !f.endsWith('.INI'));
  assert.equal(blobs.length, 2, 'two distinct files → two blobs');
  assert.ok(!blobs.some((f) => f.endsWith('.tmp')));
});

test('content library: new versions and applications in PkgLib', async (t) => {
  const root = await tempDir(t);
  const w = new ContentLibraryWriter(root);
  await w.addContent('ABC00005', 1, [{ relativePath: 'x.inf', data: Buffer.from('v1') }]);
  await w.addContent('ABC00005', 2, [{ relativePath: 'x.inf', data: Buffer.from('v2') }]);
  assert.equal(await readText(join(root, 'PkgLib', 'ABC00005.INI')), '[Packages]\r\nABC00005.1=\r\nABC00005.2=\r\n\r\n[Info]\r\nVersion=2\r\n');
  assert.equal(await readText(join(root, 'DataLib', 'ABC00005.2.INI')).then((s) => s.split('\r\n')[1]), 'Version=2');

  const app = await w.addContent('ABC00006', 1, [{ relativePath: 'setup.msi', data: Buffer.from('msi') }], {
    contentId: 'Content_11111111-2222-4333-8444-555555555555.1',
  });
  assert.equal(app.contentId, 'Content_11111111-2222-4333-8444-555555555555.1');
  assert.equal(await readText(join(root, 'PkgLib', 'ABC00006.INI')), '[Packages]\r\nContent_11111111-2222-4333-8444-555555555555.1=\r\n');
  assert.ok((await stat(join(root, 'DataLib', 'Content_11111111-2222-4333-8444-555555555555.1', 'setup.msi.INI'))).isFile());
});

test('content library: extra FileLib root takes blobs whose hash starts with 8-F', async (t) => {
  const dir = await tempDir(t);
  const root = join(dir, 'SCCMContentLib');
  const extra = join(dir, 'SCCMContentLibD');
  const w = new ContentLibraryWriter(root, { extraFileLib: extra });
  const files = Array.from({ length: 16 }, (_, i) => ({ relativePath: `f${i}.bin`, data: Buffer.from(`file ${i}`) }));
  const res = await w.addContent('ABC00007', 1, files);
  const high = res.files.filter((f) => f.hash[0] !== undefined && f.hash[0] >= '8');
  const low = res.files.filter((f) => f.hash[0] !== undefined && f.hash[0] < '8');
  assert.ok(high.length > 0 && low.length > 0, 'the sample covers both roots');
  for (const f of high) {
    assert.ok((await stat(join(extra, 'FileLib', f.hash.slice(0, 4), f.hash))).isFile());
    assert.ok((await stat(join(extra, 'FileLib', f.hash.slice(0, 4), `${f.hash}.INI`))).isFile());
    await assert.rejects(stat(join(root, 'FileLib', f.hash.slice(0, 4), f.hash)));
  }
  for (const f of low) assert.ok((await stat(join(root, 'FileLib', f.hash.slice(0, 4), f.hash))).isFile());
});

test('content library: rejects bad paths and duplicates', async (t) => {
  const root = await tempDir(t);
  const w = new ContentLibraryWriter(root);
  await assert.rejects(w.addContent('ABC00008', 1, [{ relativePath: '../evil.txt', data: Buffer.from('x') }]), /not a valid path/);
  await assert.rejects(
    w.addContent('ABC00008', 1, [
      { relativePath: 'A.txt', data: Buffer.from('x') },
      { relativePath: 'a.TXT', data: Buffer.from('y') },
    ]),
    /listed twice/,
  );
  await assert.rejects(w.addContent('ABC00008', 1, [{ relativePath: 'x', data: Buffer.from('x'), sourcePath: '/etc/hostname' }]), /exactly one/);
});

test('content library: streams a ~20 MB file from a folder', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'source');
  await mkdir(join(src, 'big', 'nested'), { recursive: true });
  await mkdir(join(src, 'empty'), { recursive: true });
  await writeFile(join(src, 'small.txt'), 'small');
  // 20 MiB of non-repeating bytes, written in chunks.
  const bigPath = join(src, 'big', 'nested', 'install.wim');
  const out = createWriteStream(bigPath);
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < 20; i++) {
    for (let j = 0; j < chunk.length; j += 4) chunk.writeUInt32LE((i * chunk.length + j) ^ 0x5a5a5a5a, j);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const hasher = createHash('sha256');
  for await (const c of createReadStream(bigPath)) hasher.update(c as Buffer);
  const bigHash = hasher.digest('hex').toUpperCase();

  const root = join(dir, 'lib');
  const w = new ContentLibraryWriter(root);
  const res = await w.addContentFromFolder('ABC00009', 4, src);
  assert.equal(res.contentId, 'ABC00009.4');
  const big = res.files.find((f) => f.relativePath === 'big\\nested\\install.wim');
  assert.ok(big);
  assert.equal(big.size, 20 * (1 << 20));
  assert.equal(big.hash, bigHash);
  const blob = join(root, 'FileLib', bigHash.slice(0, 4), bigHash);
  assert.equal((await stat(blob)).size, 20 * (1 << 20));
  const ini = await readText(join(root, 'DataLib', 'ABC00009.4', 'big', 'nested', 'install.wim.INI'));
  assert.match(ini, new RegExp(`^\\[File\\]\\r\\nHash=${bigHash}\\r\\nSize=20971520\\r\\n`));
  assert.ok((await stat(join(root, 'DataLib', 'ABC00009.4', 'empty'))).isDirectory(), 'empty folders are kept');
  assert.equal(res.folderHash, folderHash(res.files.map((f) => ({ path: f.relativePath, hash: f.hash })), ['big', 'big\\nested', 'empty']));
  const leftovers = (await listFiles(join(root, 'FileLib'))).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(leftovers, []);

  // Adding the same folder as another package stores no second copy.
  await w.addContentFromFolder('ABC00010', 1, src);
  assert.equal(await readText(`${blob}.INI`), '[Content Items]\r\nABC00009.4=\r\nABC00010.1=\r\n');
});
