// The cache of what opening a site reads on every run (electron/engine/site/ParseCache.ts): parsed exports found by
// their bytes and path, content file lists by the content's INI and the names under it, both by the reading code; a
// changed input, a damaged entry or TSMEDIA_NO_CACHE means reading as without it; the folder is pruned.
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { ContentLibrary } from '../electron/engine/site/ContentLibrary.js';
import { ContentLibraryWriter } from '../electron/engine/site/ContentLibraryWriter.js';
import { CACHE_MAX_EXPORT_BYTES, PARSE_MODULES_OUTSIDE, cachedExport, userCacheFolder } from '../electron/engine/site/ParseCache.js';
import { Site } from '../electron/engine/site/Site.js';
import { readExport, type TaskSequenceExport } from '../electron/engine/site/TaskSequenceExport.js';
import { SAMPLE_SITE, pattern, tempDir } from './helpers.js';

const EXPORT = join(SAMPLE_SITE, 'exports', 'SMP-Scenarios.zip');

/** readExport, counting its calls. */
function countingParse(): { parse: (file: string) => Promise<TaskSequenceExport>; calls: () => number } {
  let n = 0;
  return {
    parse: (file) => {
      n += 1;
      return readExport(file);
    },
    calls: () => n,
  };
}

/** The user's cache folder in `dir` for this test (XDG_CACHE_HOME; LOCALAPPDATA on Windows). */
function ownCacheFolder(t: { after: (fn: () => void) => void }, dir: string): void {
  const was = { xdg: process.env.XDG_CACHE_HOME, local: process.env.LOCALAPPDATA };
  process.env.XDG_CACHE_HOME = join(dir, 'xdg');
  if (process.platform === 'win32') process.env.LOCALAPPDATA = join(dir, 'local');
  t.after(() => {
    for (const [k, v] of [['XDG_CACHE_HOME', was.xdg], ['LOCALAPPDATA', was.local]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

const entries = (folder: string, kind: string): string[] => (existsSync(join(folder, kind)) ? readdirSync(join(folder, kind)).filter((n) => n.endsWith('.v8')) : []);

describe('the parse cache', () => {
  test('an export is parsed once: the second open reads the entry, equal to a fresh parse', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'e.zip');
    copyFileSync(EXPORT, file);
    const folder = join(dir, 'cache');
    const c = countingParse();
    const first = await cachedExport(file, c.parse, { folder, env: {} });
    assert.equal(c.calls(), 1);
    assert.equal(entries(folder, 'exports').length, 1);
    const second = await cachedExport(file, c.parse, { folder, env: {} });
    assert.equal(c.calls(), 1, 'the second open parsed again');
    assert.deepEqual(second, await readExport(file));
    assert.deepEqual(second, first);
    assert.ok(second.taskSequences.length > 0 && second.taskSequences[0].sequence.children.length > 0);
  });

  test('changed bytes, another path, TSMEDIA_NO_CACHE or a damaged entry: parsed again', async (t) => {
    const dir = tempDir(t);
    const file = join(dir, 'e.zip');
    copyFileSync(EXPORT, file);
    const folder = join(dir, 'cache');
    const c = countingParse();
    await cachedExport(file, c.parse, { folder, env: {} });
    // Another export written over it (same name): the other's task sequences, not the cached ones.
    copyFileSync(join(SAMPLE_SITE, 'exports', 'SMP-More.zip'), file);
    const other = await cachedExport(file, c.parse, { folder, env: {} });
    assert.equal(c.calls(), 2);
    assert.deepEqual(other.taskSequences.map((s) => s.packageId), (await readExport(file)).taskSequences.map((s) => s.packageId));
    // The same bytes at another path: its own entry (the parse names the file).
    const moved = join(dir, 'moved.zip');
    copyFileSync(file, moved);
    const atMoved = await cachedExport(moved, c.parse, { folder, env: {} });
    assert.equal(c.calls(), 3);
    assert.equal(atMoved.file, moved);
    assert.ok(atMoved.taskSequences.every((s) => s.source.startsWith(moved)));
    // Turned off: parsed every time, nothing stored.
    const before = entries(folder, 'exports').length;
    await cachedExport(moved, c.parse, { folder, env: { TSMEDIA_NO_CACHE: '1' } });
    assert.equal(c.calls(), 4);
    assert.equal(entries(folder, 'exports').length, before);
    // Every entry damaged: parsed again, no error.
    for (const n of entries(folder, 'exports')) writeFileSync(join(folder, 'exports', n), 'not a V8 value');
    const again = await cachedExport(moved, c.parse, { folder, env: {} });
    assert.equal(c.calls(), 5);
    assert.deepEqual(again, atMoved);
  });

  test('an export over the size limit is neither hashed nor cached; a parse error is not cached', async (t) => {
    const dir = tempDir(t);
    const big = join(dir, 'big.zip');
    writeFileSync(big, '');
    truncateSync(big, CACHE_MAX_EXPORT_BYTES + 1);
    const folder = join(dir, 'cache');
    let n = 0;
    const stub = async (file: string): Promise<TaskSequenceExport> => {
      n += 1;
      return { file, taskSequences: [], applications: [], contentObjects: [] };
    };
    await cachedExport(big, stub, { folder, env: {} });
    await cachedExport(big, stub, { folder, env: {} });
    assert.equal(n, 2);
    assert.deepEqual(entries(folder, 'exports'), []);
    const bad = join(dir, 'bad.zip');
    writeFileSync(bad, 'not a zip');
    const c = countingParse();
    await assert.rejects(cachedExport(bad, c.parse, { folder, env: {} }), /not a readable zip/);
    await assert.rejects(cachedExport(bad, c.parse, { folder, env: {} }), /not a readable zip/);
    assert.equal(c.calls(), 2);
    assert.deepEqual(entries(folder, 'exports'), []);
  });

  test('the folder keeps the newest entries', async (t) => {
    const dir = tempDir(t);
    const folder = join(dir, 'cache');
    const c = countingParse();
    const files = [0, 1, 2, 3, 4].map((i) => join(dir, `e${i}.zip`));
    const start = Date.now() - 3_600_000;
    for (const [i, f] of files.entries()) {
      copyFileSync(EXPORT, f);
      const before = new Set(entries(folder, 'exports'));
      await cachedExport(f, c.parse, { folder, env: {}, maxEntries: 3 });
      // Entries told apart by age: each a minute younger than the one before.
      const added = entries(folder, 'exports').filter((n) => !before.has(n));
      assert.equal(added.length, 1);
      utimesSync(join(folder, 'exports', added[0]), new Date(), new Date(start + i * 60_000));
    }
    assert.equal(entries(folder, 'exports').length, 3);
    // The last three are read from the cache; the first two were removed and are parsed again.
    const calls = c.calls();
    for (const f of files.slice(2)) await cachedExport(f, c.parse, { folder, env: {}, maxEntries: 3 });
    assert.equal(c.calls(), calls);
    await cachedExport(files[0], c.parse, { folder, env: {}, maxEntries: 3 });
    assert.equal(c.calls(), calls + 1);
  });

  test('the key covers the reading code: every module the parsers import is in this folder or listed', () => {
    // From the compiled modules: the static imports of the site folder's readers, followed outside it.
    const siteDir = dirname(fileURLToPath(new URL('../electron/engine/site/ParseCache.js', import.meta.url)));
    const seen = new Set<string>();
    const outside = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
        const target = resolve(dirname(file), m[1]);
        if (dirname(target) !== siteDir) outside.add(target);
        visit(target);
      }
    };
    for (const m of ['TaskSequenceExport.js', 'ContentLibrary.js']) visit(join(siteDir, m));
    const listed = new Set(PARSE_MODULES_OUTSIDE.map((r) => resolve(siteDir, r)));
    assert.ok(outside.size > 0);
    assert.deepEqual([...outside].filter((f) => !listed.has(f)), [], 'modules the parse imports outside the site folder, missing from PARSE_MODULES_OUTSIDE');
  });

  test('a content file list is read once per content INI and names; a new file under it is seen', async (t) => {
    const dir = tempDir(t);
    const root = join(dir, 'lib');
    const w = new ContentLibraryWriter(root);
    await w.addContent('ABC00001', 1, [
      { relativePath: 'a/one.bin', data: pattern(3000, 1) },
      { relativePath: 'two.bin', data: pattern(70, 2) },
    ]);
    ownCacheFolder(t, dir);
    const folder = userCacheFolder();
    const first = await (await ContentLibrary.open(root)).content('ABC00001.1');
    assert.equal(entries(folder, 'contents').length, 1);
    // A file INI rewritten in place (Configuration Manager never does: a new version is a new content) is not read
    // again: the entry is used.
    const ini = join(root, 'DataLib', 'ABC00001.1', 'two.bin.INI');
    const text = readFileSync(ini, 'utf8');
    writeFileSync(ini, text.replace(/Size=70/, 'Size=71'));
    const second = await (await ContentLibrary.open(root)).content('ABC00001.1');
    assert.deepEqual(second, first);
    process.env.TSMEDIA_NO_CACHE = '1';
    t.after(() => delete process.env.TSMEDIA_NO_CACHE);
    assert.equal((await (await ContentLibrary.open(root)).content('ABC00001.1')).files.find((f) => f.path === 'two.bin')?.size, 71);
    delete process.env.TSMEDIA_NO_CACHE;
    // A file added under the content: another key, read whole.
    cpSync(ini, join(root, 'DataLib', 'ABC00001.1', 'three.bin.INI'));
    const third = await (await ContentLibrary.open(root)).content('ABC00001.1');
    assert.deepEqual(third.files.map((f) => f.path).sort(), ['a\\one.bin', 'three.bin', 'two.bin']);
    assert.equal(third.files.find((f) => f.path === 'two.bin')?.size, 71);
    assert.equal(entries(folder, 'contents').length, 2);
    // The content's own INI changed: another key too.
    rmSync(join(root, 'DataLib', 'ABC00001.1', 'three.bin.INI'));
    const contentIni = join(root, 'DataLib', 'ABC00001.1.INI');
    writeFileSync(contentIni, Buffer.concat([readFileSync(contentIni), Buffer.from('\r\n')]));
    const fourth = await (await ContentLibrary.open(root)).content('ABC00001.1');
    assert.equal(fourth.files.find((f) => f.path === 'two.bin')?.size, 71);
    assert.equal(entries(folder, 'contents').length, 3);
  });

  test('a site opened with the cache is the site opened without it', async (t) => {
    const dir = tempDir(t);
    const site = join(dir, 'site');
    cpSync(SAMPLE_SITE, site, { recursive: true });
    ownCacheFolder(t, dir);
    t.after(() => delete process.env.TSMEDIA_NO_CACHE);
    /** The site's exports and every package's files on every distribution point. */
    const read = async (): Promise<unknown> => {
      const s = await Site.open(site);
      const files: unknown[] = [];
      for (const dp of s.distributionPoints) for (const p of (await dp.library?.packages())?.values() ?? []) files.push([dp.name, p.packageId, await dp.library?.packageFiles(p.packageId)]);
      return { taskSequences: s.taskSequences, applications: s.applications, contentObjects: s.contentObjects, files };
    };
    const filling = await read();
    const fromCache = await read();
    assert.ok(entries(userCacheFolder(), 'exports').length >= 2);
    assert.ok(entries(userCacheFolder(), 'contents').length >= 5);
    process.env.TSMEDIA_NO_CACHE = '1';
    const plain = await read();
    assert.deepEqual(fromCache, plain);
    assert.deepEqual(filling, plain);
  });
});
