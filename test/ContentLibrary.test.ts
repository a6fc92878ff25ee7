// The content library reader: packages and versions, file lists, bytes read back from the single-instance store with
// their hashes checked, and damaged libraries named.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { ContentLibrary } from '../electron/engine/site/ContentLibrary.js';
import { ContentLibraryWriter } from '../electron/engine/site/ContentLibraryWriter.js';
import { ContentIntegrityError } from '../electron/engine/errors.js';
import { ROOT, hasCommand, requireOrSkip, tempDir } from './helpers.js';

/** Deterministic bytes of a given length. */
function bytes(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex').toUpperCase();

async function makeTree(root: string, extra?: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>([
    ['setup.exe', bytes(1, 70_000)],
    ['drivers/net/e1000.inf', bytes(2, 1_000)],
    ['drivers/net/e1000.sys', bytes(3, 300_000)],
    ['drivers/storage/iastor.inf', bytes(4, 2_000)],
    ['Readme.TXT', bytes(5, 10)],
    ['empty.dat', Buffer.alloc(0)],
  ]);
  const w = new ContentLibraryWriter(root, extra ? { extraFileLib: extra } : {});
  await w.addContent('ABC00005', 1, [{ relativePath: 'setup.exe', data: bytes(9, 100) }]);
  await w.addContent(
    'ABC00005',
    2,
    [...files].map(([relativePath, data]) => ({ relativePath, data })),
    { folders: ['logs/empty'] },
  );
  // The same bytes in a second package: one blob in FileLib.
  await w.addContent('ABC00006', 1, [{ relativePath: 'copy/setup.exe', data: files.get('setup.exe') as Buffer }]);
  return files;
}

describe('ContentLibrary', () => {
  test('packages, versions and the current content', async (t) => {
    const root = join(tempDir(t), 'SCCMContentLib');
    await makeTree(root);
    const lib = await ContentLibrary.open(root);
    const pkgs = await lib.packages();
    assert.deepEqual([...pkgs.keys()], ['ABC00005', 'ABC00006']);
    const p5 = pkgs.get('ABC00005');
    assert.deepEqual(p5?.versions, [1, 2]);
    assert.equal(p5?.currentVersion, 2);
    assert.deepEqual(p5?.currentContentIds, ['ABC00005.2']);
    const c = await lib.content('ABC00005.2');
    assert.equal(c.version, 2);
    assert.deepEqual(
      c.files.map((f) => f.path),
      ['drivers\\net\\e1000.inf', 'drivers\\net\\e1000.sys', 'drivers\\storage\\iastor.inf', 'empty.dat', 'Readme.TXT', 'setup.exe'],
    );
    assert.ok(c.folders.includes('logs\\empty'), 'empty folders are kept');
    const f = c.files.find((x) => x.path === 'setup.exe');
    assert.equal(f?.size, 70_000);
    assert.equal(f?.attributes, 0x20);
    assert.equal(f?.modified?.toISOString(), '2025-01-01T00:00:00.000Z');
    assert.equal(await lib.packageSize('ABC00005'), 70_000 + 1_000 + 300_000 + 2_000 + 10);
  });

  test('PkgLib is read once for callers asking at the same time; a failed read is read again by the next caller', async (t) => {
    const root = join(tempDir(t), 'SCCMContentLib');
    await makeTree(root);
    const lib = await ContentLibrary.open(root);
    // Planning asks for every package side by side: one read of PkgLib serves them all (the same map).
    const [a, b, p5] = await Promise.all([lib.packages(), lib.packages(), lib.package('abc00005')]);
    assert.equal(a, b);
    assert.equal(p5, a.get('ABC00005'));
    // A read that fails is not remembered: once the INI is readable again, the next caller gets the packages.
    const other = await ContentLibrary.open(root);
    const ini = join(root, 'PkgLib', 'ABC00006.INI');
    rmSync(ini);
    mkdirSync(ini);
    await assert.rejects(other.packages(), /ABC00006\.INI/);
    rmSync(ini, { recursive: true });
    writeFileSync(ini, '[Packages]\r\nABC00006.1=\r\n');
    assert.deepEqual([...(await other.packages()).keys()], ['ABC00005', 'ABC00006']);
  });

  test('reads every file back byte-identical from the single-instance store', async (t) => {
    const dir = tempDir(t);
    const root = join(dir, 'SCCMContentLib');
    const extra = join(dir, 'SCCMContentLibD');
    const files = await makeTree(root, extra);
    const lib = await ContentLibrary.open(root, [extra]);
    const list = await lib.packageFiles('ABC00005');
    assert.equal(list.length, files.size);
    for (const { contentId, file } of list) {
      const got = await buffer(await lib.openFile(file, contentId));
      const want = files.get(file.path.replace(/\\/g, '/')) as Buffer;
      assert.ok(got.equals(want), `${file.path} reads back identical`);
      assert.equal(file.hash, sha(want));
    }
    // The writer put some blobs on the extra root: without it those files are missing, by name.
    const alone = await ContentLibrary.open(root);
    let missing = 0;
    for (const { contentId, file } of list) {
      try {
        await alone.blobPath(file, contentId);
      } catch (err) {
        assert.ok(err instanceof ContentIntegrityError);
        assert.ok((err as Error).message.includes(`ABC00005.2\\${file.path} is missing from the single-instance store`), (err as Error).message);
        missing += 1;
      }
    }
    assert.ok(missing > 0 && missing < list.length, `some blobs on each root (${missing} of ${list.length} on the extra one)`);
  });

  test('single instance: one blob for the same bytes in two packages', async (t) => {
    const root = join(tempDir(t), 'SCCMContentLib');
    const files = await makeTree(root);
    const h = sha(files.get('setup.exe') as Buffer);
    const dir = join(root, 'FileLib', h.slice(0, 4));
    assert.deepEqual(readdirSync(dir).sort(), [h, `${h}.INI`]);
    const lib = await ContentLibrary.open(root);
    const [a] = await lib.packageFiles('ABC00006');
    assert.equal(await lib.blobPath(a.file), join(dir, h));
  });

  test('a corrupted blob is rejected, naming the file', async (t) => {
    const root = join(tempDir(t), 'SCCMContentLib');
    const files = await makeTree(root);
    const sys = files.get('drivers/net/e1000.sys') as Buffer;
    const h = sha(sys);
    const damaged = Buffer.from(sys);
    damaged[12345] ^= 0xff;
    writeFileSync(join(root, 'FileLib', h.slice(0, 4), h), damaged);
    const lib = await ContentLibrary.open(root);
    const entry = (await lib.packageFiles('ABC00005')).find((x) => x.file.path.endsWith('e1000.sys'));
    assert.ok(entry);
    await assert.rejects(
      buffer(await lib.openFile(entry.file, entry.contentId)),
      (err: unknown) =>
        err instanceof ContentIntegrityError &&
        /ABC00005\.2\\drivers\\net\\e1000\.sys: the bytes in .* do not match the content library/.test(err.message) &&
        err.message.includes(h),
    );
    // A truncated blob too.
    writeFileSync(join(root, 'FileLib', h.slice(0, 4), h), sys.subarray(0, 1000));
    await assert.rejects(buffer(await lib.openFile(entry.file, entry.contentId)), /read 1000 bytes/);
    // And a missing one.
    rmSync(join(root, 'FileLib', h.slice(0, 4), h));
    await assert.rejects(lib.openFile(entry.file, entry.contentId), /e1000\.sys is missing from the single-instance store/);
  });

  test('the recorded folder hash matches an independent computation', async (t) => {
    if (!requireOrSkip(t, hasCommand('python3'), 'python3 is not installed; the independent folder hash needs it')) return;
    const root = join(tempDir(t), 'SCCMContentLib');
    await makeTree(root);
    const lib = await ContentLibrary.open(root);
    for (const id of ['ABC00005.1', 'ABC00005.2', 'ABC00006.1']) {
      const { recorded, computed } = await lib.checkFolderHash(id);
      const py = spawnSync('python3', [join(ROOT, 'test', 'oracle', 'folder_hash.py'), join(root, 'DataLib', id)], { encoding: 'utf8' });
      assert.equal(py.status, 0, py.stderr);
      assert.equal(computed, py.stdout.trim(), `${id}: ours equals Python's`);
      assert.equal(recorded, computed, `${id}: the writer recorded it`);
    }
  });

  test('UTF-16LE INI files, as Windows writes them, are read', async (t) => {
    const root = join(tempDir(t), 'SCCMContentLib');
    for (const d of ['PkgLib', 'DataLib/XYZ00001.3/sub', 'FileLib']) mkdirSync(join(root, d), { recursive: true });
    const u16 = (s: string): Buffer => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s.replace(/\n/g, '\r\n'), 'utf16le')]);
    const data = Buffer.from('hello');
    const h = sha(data);
    writeFileSync(join(root, 'PkgLib', 'XYZ00001.INI'), u16('[Packages]\nXYZ00001.3=\n\n[Info]\nVersion=3\n'));
    writeFileSync(join(root, 'DataLib', 'XYZ00001.3.INI'), u16('[Info]\nVersion=3\nHash=ABC\n'));
    writeFileSync(join(root, 'DataLib', 'XYZ00001.3', 'sub', 'a.txt.INI'), u16(`[File]\nHash=${h}\nSize=5\nAttributes=21\nTimeModified=133801632000000000\n`));
    mkdirSync(join(root, 'FileLib', h.slice(0, 4)));
    writeFileSync(join(root, 'FileLib', h.slice(0, 4), h), data);
    const lib = await ContentLibrary.open(root);
    const [entry] = await lib.packageFiles('xyz00001');
    assert.equal(entry.file.path, 'sub\\a.txt');
    assert.equal(entry.file.attributes, 0x21);
    assert.equal(entry.file.modified?.toISOString(), '2025-01-01T00:00:00.000Z');
    assert.equal((await buffer(await lib.openFile(entry.file))).toString(), 'hello');
  });

  test('not a content library, damaged INI', async (t) => {
    const dir = tempDir(t);
    await assert.rejects(ContentLibrary.open(dir), new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a content library: it has no PkgLib folder`));
    const root = join(dir, 'lib');
    await makeTree(root);
    const ini = join(root, 'DataLib', 'ABC00005.2', 'setup.exe.INI');
    writeFileSync(ini, '[File]\nSize=10\n');
    const lib = await ContentLibrary.open(root);
    await assert.rejects(lib.content('ABC00005.2'), new RegExp(`setup\\.exe\\.INI: \\[File\\] needs Hash`));
    rmSync(join(root, 'DataLib', 'ABC00006.1.INI'));
    await assert.rejects(lib.packageFiles('ABC00006'), /ABC00006\.1\.INI: missing\. The library lists content ABC00006\.1/);
  });
});
