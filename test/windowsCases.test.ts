// Cases only Windows has (issue 13 item 7), and what tsmedia does about them: an earlier ISO another program holds open
// when the new set is renamed into place, paths over 260 characters, names Windows reserves and names that differ only
// in case in the content. `npm run test:windows` runs this file under Wine's node.exe, where process.platform is win32.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import { windowsNameProblem } from '../electron/engine/formats/windowsNames.js';
import { checkContentNames } from '../electron/engine/media/ContentNames.js';
import { createIsoSet } from '../electron/engine/media/MediaBuilder.js';
import { checkMedia } from '../electron/engine/media/MediaCheck.js';
import type { MediaFile } from '../electron/engine/media/MediaPlan.js';
import { verifyIsoSet } from '../electron/engine/media/MediaVerifier.js';
import { Site } from '../electron/engine/site/Site.js';
import { hasCommand, requireOrSkip, SAMPLE_SITE, tempDir } from './helpers.js';
import { isoRequest } from './support/hostClient.js';
import { addPackage, copySampleSite } from './support/sites.js';

const WINDOWS = process.platform === 'win32';
const fileSha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const SET = ['media.iso', 'media.iso.sha256', 'media.report.json', 'media.report.md'];

async function makeIso(site: string, out: string): Promise<void> {
  await createIsoSet(await Site.open(site), isoRequest(out, { site }), { userLogDir: null });
}

/** The new set kept beside the output: its four files, and its ISO complete (its own .sha256, every file verified). */
async function assertKeptSet(kept: string, earlierSha: string): Promise<void> {
  assert.deepEqual(readdirSync(kept).sort(), SET);
  const iso = join(kept, 'media.iso');
  assert.notEqual(fileSha(iso), earlierSha, 'the kept ISO is the new one');
  assert.equal(readFileSync(`${iso}.sha256`, 'utf8').split(' ')[0].toLowerCase(), fileSha(iso));
  const v = await verifyIsoSet([iso]);
  assert.equal(v.status, 0, JSON.stringify(v.problems));
}

const partials = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.partial'));

describe('an earlier ISO that cannot be replaced', () => {
  test('Windows: another program holds the earlier ISO open — OUTPUT_IN_USE names it, the earlier ISO stays, the new set is kept in media.new', async (t) => {
    if (!requireOrSkip(t, WINDOWS, 'Windows only: elsewhere an open file never stops a rename (the test below makes the rename fail on Linux)')) return;
    const dir = tempDir(t);
    const out = join(dir, 'media.iso');
    await makeIso(SAMPLE_SITE, out);
    const earlier = fileSha(out);
    // Another program: a process that opens the ISO sharing nothing (libuv's UV_FS_O_EXLOCK), as disc tools do.
    const flag = join(dir, 'held');
    const holder = spawn(process.execPath, ['-e', `const fs = require('fs'); fs.openSync(${JSON.stringify(out)}, fs.constants.O_RDONLY | 0x10000000); fs.writeFileSync(${JSON.stringify(flag)}, ''); setInterval(() => {}, 1000);`], { stdio: 'ignore' });
    const exited = new Promise((r) => holder.once('exit', r));
    try {
      for (let i = 0; i < 300 && !existsSync(flag); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(existsSync(flag), 'the other program opened the ISO');
      await assert.rejects(makeIso(SAMPLE_SITE, out), (err: unknown) => {
        assert.ok(err instanceof InputError, String(err));
        assert.equal(err.code, 'OUTPUT_IN_USE');
        assert.deepEqual(err.params, { path: out, kept: join(dir, 'media.new') });
        assert.match(
          err.message,
          /^cannot put .*media\.iso in place: another program has it open \(a virtual machine or disc tool using it, Explorer's preview, an antivirus scan\), and Windows does not let a file in use be replaced\. The earlier .*media\.iso is untouched\. The rest of the new set, complete, is kept in .*media\.new under its final names \(media\.iso, media\.iso\.sha256, media\.report\.\w+, media\.report\.\w+\)\. Close the program that holds media\.iso, then move those files into .+, or run tsmedia again\.$/,
        );
        return true;
      });
    } finally {
      // Closed here, before the folder is removed: the after-hooks stop at the first that fails.
      holder.kill();
      await exited;
    }
    assert.equal(fileSha(out), earlier, 'the earlier ISO is untouched');
    await assertKeptSet(join(dir, 'media.new'), earlier);
    assert.deepEqual(partials(dir), [], 'no temporary file is left');
    // Once the program is closed, a new run replaces the ISO as usual.
    await makeIso(SAMPLE_SITE, out);
    assert.notEqual(fileSha(out), earlier);
  });

  test('Linux: an earlier ISO the rename cannot replace (immutable) — the earlier ISO stays, the new set is kept in media.new', async (t) => {
    const can = !WINDOWS && process.getuid?.() === 0 && hasCommand('chattr');
    if (!requireOrSkip(t, can, 'needs Linux, root and chattr (an immutable file is what makes a rename fail here)')) return;
    const dir = tempDir(t);
    const out = join(dir, 'media.iso');
    await makeIso(SAMPLE_SITE, out);
    const earlier = fileSha(out);
    if (!requireOrSkip(t, spawnSync('chattr', ['+i', out]).status === 0, `this file system cannot make ${out} immutable`)) return;
    try {
      await assert.rejects(makeIso(SAMPLE_SITE, out), (err: unknown) => {
        assert.ok(err instanceof InputError, String(err));
        assert.equal(err.code, undefined, 'not a file in use');
        assert.match(err.message, /^cannot put .*media\.iso in place: the file could not be replaced \(EPERM: operation not permitted, rename .*\)\. The earlier .*media\.iso is untouched\. The rest of the new set, complete, is kept in .*media\.new under its final names \(media\.iso, /);
        return true;
      });
    } finally {
      // Before the folder is removed (after-hooks run after this body).
      spawnSync('chattr', ['-i', out]);
    }
    assert.equal(fileSha(out), earlier);
    await assertKeptSet(join(dir, 'media.new'), earlier);
    assert.deepEqual(partials(dir), []);
  });
});

describe('paths over 260 characters', () => {
  test('a site and an output folder deeper than MAX_PATH: the ISO is made and verifies', async (t) => {
    const dir = tempDir(t);
    const deep = join(dir, ...Array.from({ length: 5 }, (_, i) => `folder ${i} with a long name to pass the old MAX_PATH limit`));
    const site = copySampleSite(join(deep, 'site'));
    mkdirSync(join(deep, 'out'));
    const out = join(deep, 'out', 'media.iso');
    assert.ok(out.length > 300, `${out.length} characters`);
    await makeIso(site, out);
    const v = await verifyIsoSet([out], { checkImageHashes: true });
    assert.equal(v.status, 0, JSON.stringify(v.problems));
    assert.ok(v.filesChecked > 10);
  });
});

describe('names Windows cannot open in the content', () => {
  test('windowsNameProblem: device names (also with extensions, any case, spaces before the dot), trailing periods and spaces, forbidden characters', () => {
    for (const n of ['CON', 'con', 'AUX.txt', 'NUL.tar.gz', 'PRN', 'COM1', 'com9.log', 'LPT1', 'lpt0', 'COM\u00b9', 'CON .txt']) {
      assert.match(windowsNameProblem(n) ?? '', /is a device name Windows reserves/, n);
    }
    for (const n of ['readme.', 'notes ', 'x. ']) assert.match(windowsNameProblem(n) ?? '', /ends with a period or a space/, n);
    for (const n of ['a:b', 'what?', 'tab\there']) assert.match(windowsNameProblem(n) ?? '', /which Windows does not allow/, n);
    for (const n of ['CONSOLE', 'CONFIG.SYS', 'auxiliary.txt', 'COM10', 'LPT', 'nul_', 'Setup.exe', '.hidden', 'Système']) assert.equal(windowsNameProblem(n), null, n);
  });

  test('a package with CON.txt, a file "readme." or a folder AUX: refused when planned, on every OS, naming the package and the file', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const src = join(dir, 'src');
    mkdirSync(src);
    const cases: [string, string, string][] = [
      ['SMP00090', 'Tools/CON.txt', 'CON.txt'],
      ['SMP00091', 'readme.', 'readme.'],
      ['SMP00092', 'Drivers/AUX/net.inf', 'AUX'],
    ];
    for (const [id, rel] of cases) {
      const file = join(src, id);
      writeFileSync(file, `content of ${rel}`);
      await addPackage(site, id, [{ relativePath: rel, sourcePath: file }]);
    }
    const opened = await Site.open(site);
    for (const [id, rel, name] of cases) {
      const check = await checkMedia(opened, { taskSequenceId: 'SMP00010', detectDependencies: true, distributionPoints: [], applications: [], packages: [id], driverPackages: [], media: 'iso', size: 'dvd', i386Binaries: false });
      const path = `${id}.1\\${rel.replace(/\//g, '\\')}`;
      assert.deepEqual(check.problemDetail, { code: 'CONTENT_NAME_INVALID', params: { package: id, path, name } }, id);
      assert.ok(check.problem?.startsWith(`package ${id}: "${path}" cannot go on the media: `), check.problem ?? '');
      assert.match(check.problem ?? '', /so WinPE could not open it\. Rename it in the package source and update the content on its distribution points\.$/);
    }
    // The run refuses before anything is written.
    const out = join(dir, 'out', 'media.iso');
    mkdirSync(join(dir, 'out'));
    await assert.rejects(createIsoSet(opened, isoRequest(out, { site, packages: ['SMP00090'] }), { userLogDir: null }), /package SMP00090: "SMP00090\.1\\Tools\\CON\.txt" cannot go on the media: "CON" is a device name Windows reserves/);
    assert.deepEqual(readdirSync(join(dir, 'out')).filter((n) => n !== 'CreateTSMedia.log'), []);
  });

  test('two files of one folder whose names differ only in case: refused when planned (CONTENT_NAMES_CASE); folders that differ only in case are one folder', async (t) => {
    if (!requireOrSkip(t, !WINDOWS, 'a Windows folder cannot hold both names, so a content library made here cannot hold such a package (its DataLib keeps one INI per name); a library from Linux can, and the other runs test it')) return;
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    writeFileSync(a, 'first');
    writeFileSync(b, 'second');
    await addPackage(site, 'SMP00093', [{ relativePath: 'x64/Setup.exe', sourcePath: a }, { relativePath: 'x64/other.exe', sourcePath: b }]);
    // The library writer refuses such names itself; a library made elsewhere holds them: the second file's INI renamed.
    for (const dp of ['SCCMContentLib_DP01', 'SCCMContentLib_DP02']) {
      const folder = join(site, dp, 'DataLib', 'SMP00093.1', 'x64');
      renameSync(join(folder, 'other.exe.INI'), join(folder, 'SETUP.EXE.INI'));
    }
    const check = await checkMedia(await Site.open(site), { taskSequenceId: 'SMP00010', detectDependencies: true, distributionPoints: [], applications: [], packages: ['SMP00093'], driverPackages: [], media: 'usb', size: null, i386Binaries: false });
    assert.equal(check.problemDetail?.code, 'CONTENT_NAMES_CASE');
    assert.equal(check.problemDetail?.params.package, 'SMP00093');
    assert.deepEqual(new Set([check.problemDetail?.params.path, check.problemDetail?.params.other]), new Set(['SMP00093.1\\x64\\Setup.exe', 'SMP00093.1\\x64\\SETUP.EXE']));
    assert.match(check.problem ?? '', /^package SMP00093: ".*" and ".*" differ only in case; Windows sees one file, so WinPE would find only one of them\. Rename one in the package source/);

    // Folders that differ only in case hold different files: one folder on the media, as Windows would make it.
    const file = (path: string): MediaFile => ({ path, size: 1, sha256: 'A'.repeat(64), source: { kind: 'buffer', data: Buffer.from('x'), label: path }, role: 'package', packageId: 'SMP00094' });
    assert.doesNotThrow(() => checkContentNames([file('SMS/PKG/SMP00094/Drivers/a.inf'), file('SMS/PKG/SMP00094/DRIVERS/b.inf')], ['SMS/PKG/SMP00094/Drivers', 'SMS/PKG/SMP00094/DRIVERS']));
    assert.throws(() => checkContentNames([file('SMS/PKG/SMP00094/Drivers/a.inf'), file('SMS/PKG/SMP00094/DRIVERS/A.INF')]), /differ only in case/);
  });
});
