// The site server's OSD binaries (issue 15): where a site's are found, the finding where a task sequence needs them and
// the site has none, and SMS\bin on the media: byte for byte as the source on every disc of a set (7-Zip) and on a USB
// image (mtools), listed in the manifest, checked by verify, opened by autorun.inf, and refused where absent.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { AnalysisResult } from '../shared/analysis.js';
import { InputError } from '../electron/engine/errors.js';
import { MANIFEST_PATH, parseManifest, type MediaManifest } from '../electron/engine/media/Manifest.js';
import { locateOsdBinaries, siteServerOsdShare } from '../electron/engine/site/OsdBinaries.js';
import { parseSiteDescriptor } from '../electron/engine/site/SiteDescriptor.js';
import { SAMPLE_SITE, hasCommand, relativeFiles, requireOrSkip, runCli, tempDir } from './helpers.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

const MiB = 1024 * 1024;
const OSD_FILES = ['00000409/TsRes.dll', 'CcmCore.dll', 'TSCore.dll', 'TSMBAutorun.exe', 'TsManager.exe', 'TsProgressUI.exe', 'TsmBootstrap.exe'];

const analyze = (site: string, ts: string): AnalysisResult => {
  const r = runCli(['analyze', '--site', site, '--task-sequence', ts, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as AnalysisResult;
};


describe('where a site keeps its OSD binaries', () => {
  test('the site folder convention: OSD\\bin with x64 and i386', async (t) => {
    const site = copySampleSite(join(tempDir(t), 'site'));
    const b = await locateOsdBinaries(site, null, 'SMP');
    assert.equal(b.origin, 'site-folder');
    assert.equal(b.location, join(site, 'OSD', 'bin'));
    assert.equal(b.problem, null);
    assert.deepEqual(b.architectures.map((a) => [a.name, a.files.map((f) => f.relativePath).sort()]), [
      ['x64', [...OSD_FILES].sort()],
      ['i386', [...OSD_FILES].sort()],
    ]);
  });

  test('the descriptor names a copied folder (relative), or the x64 folder itself; a folder lacking TsmBootstrap.exe is refused by name', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    mkdirSync(join(site, 'server copy'));
    renameSync(join(site, 'OSD'), join(site, 'server copy', 'OSD'));
    const descriptor = (osdBinaries: string): ReturnType<typeof parseSiteDescriptor> => parseSiteDescriptor(JSON.stringify({ osdBinaries }), 'tsmedia-site.json');
    const named = await locateOsdBinaries(site, descriptor('server copy/OSD/bin'), 'SMP');
    assert.deepEqual([named.origin, named.location, named.problem], ['descriptor', join(site, 'server copy', 'OSD', 'bin'), null]);
    const arch = await locateOsdBinaries(site, descriptor(join(site, 'server copy', 'OSD', 'bin', 'x64')), 'SMP');
    assert.equal(arch.location, join(site, 'server copy', 'OSD', 'bin'), 'the parent of the architecture folder');
    rmSync(join(site, 'server copy', 'OSD', 'bin', 'x64', 'TsmBootstrap.exe'));
    const lacking = await locateOsdBinaries(site, descriptor('server copy/OSD/bin'), 'SMP');
    assert.match(lacking.problem ?? '', /x64 lacks TsmBootstrap\.exe: it is not the site server's OSD\\bin\\x64 folder/);
    assert.deepEqual(lacking.architectures.map((a) => a.name), ['i386'], 'i386 is still complete');
    const missing = await locateOsdBinaries(site, descriptor('nowhere/OSD/bin'), 'SMP');
    assert.match(missing.problem ?? '', /nowhere/);
  });

  test('none in the site: the problem says what to copy; "siteServer" gives the share \\\\<server>\\SMS_<code>\\OSD\\bin', async (t) => {
    const site = copySampleSite(join(tempDir(t), 'site'));
    rmSync(join(site, 'OSD'), { recursive: true });
    const none = await locateOsdBinaries(site, null, 'SMP');
    assert.equal(none.location, null);
    assert.match(none.problem ?? '', /has no OSD\\bin folder .*<ConfigMgr installation folder>\\OSD\\bin/);
    assert.equal(siteServerOsdShare('cm01.contoso.com', 'smp'), '\\\\cm01.contoso.com\\SMS_SMP\\OSD\\bin');
    const share = await locateOsdBinaries(site, parseSiteDescriptor(JSON.stringify({ siteServer: 'CM01' }), 'd.json'), 'SMP');
    assert.deepEqual([share.origin, share.location], ['site-server-share', '\\\\CM01\\SMS_SMP\\OSD\\bin']);
    // No server CM01 answers here: on Windows the share is not found, elsewhere a UNC path cannot be opened at all.
    assert.match(share.problem ?? '', process.platform === 'win32' ? /CM01/ : /is a Windows share, which this computer cannot open by that name: mount the share/);
  });

  test('descriptor fields are checked by name', () => {
    assert.throws(() => parseSiteDescriptor(JSON.stringify({ siteServer: '\\\\CM01' }), 'd.json'), (e: unknown) => e instanceof InputError && /field "siteServer" must be the site server's name/.test(e.message));
    assert.throws(() => parseSiteDescriptor(JSON.stringify({ osdBinaries: '' }), 'd.json'), (e: unknown) => e instanceof InputError && /field "osdBinaries"/.test(e.message));
    assert.throws(() => parseSiteDescriptor(JSON.stringify({ osdBinaries: 3 }), 'd.json'), /field "osdBinaries" must be a string/);
  });
});

describe('task sequences that start from Windows on a site without OSD binaries', () => {
  test('refresh and upgrade get OSD_BINARIES_MISSING (an error, on the deciding step); the new-computer one does not', (t) => {
    const site = copySampleSite(join(tempDir(t), 'site'));
    rmSync(join(site, 'OSD'), { recursive: true });
    const refresh = analyze(site, 'SMP00010').findings.filter((f) => f.code === 'OSD_BINARIES_MISSING');
    assert.deepEqual(refresh.map((f) => [f.severity, f.step]), [['error', 'Capture Windows Settings']]);
    assert.match(refresh[0].message, /SMS\\bin\\x64\\TSMBAutorun\.exe.*has no OSD\\bin folder/);
    assert.deepEqual(analyze(site, 'SMP00014').findings.filter((f) => f.code === 'OSD_BINARIES_MISSING').map((f) => f.step), ['Upgrade Operating System']);
    assert.deepEqual(analyze(site, 'SMP00013').findings, []);
    // With the sample's own binaries, no such finding.
    assert.equal(analyze(SAMPLE_SITE, 'SMP00010').findings.some((f) => f.code === 'OSD_BINARIES_MISSING'), false);
    const seq = JSON.parse(runCli(['sequences', '--site', site, '--json']).stdout) as { packageId: string; findings: string[] }[];
    assert.deepEqual(seq.filter((s) => s.findings.includes('OSD_BINARIES_MISSING')).map((s) => s.packageId), ['SMP00010', 'SMP00011', 'SMP00012', 'SMP00014']);
  });

  test('create: the refresh refused before writing; the new-computer media made with no SMS\\bin and, asked for autorun.inf, refused', (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    rmSync(join(site, 'OSD'), { recursive: true });
    mkdirSync(join(dir, 'out'));
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const out = join(dir, 'out', 'media.iso');
    const refused = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--out', out], env);
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /task sequence SMP00010 cannot be put on stand-alone media: .*TSMBAutorun\.exe/);
    const autorun = runCli(['create', '--site', site, '--task-sequence', 'SMP00013', '--out', out, '--autorun'], env);
    assert.equal(autorun.status, 1, autorun.stdout + autorun.stderr);
    assert.match(autorun.stderr, /--autorun: autorun\.inf opens SMS\\bin\\x64\\TSMBAutorun\.exe, which comes from the site server's OSD binaries/);
    const i386 = runCli(['create', '--site', site, '--task-sequence', 'SMP00013', '--out', out, '--i386-binaries'], env);
    assert.equal(i386.status, 1);
    assert.match(i386.stderr, /--i386-binaries: the site's OSD binaries cannot be used/);
    assert.equal(existsSync(out), false, 'nothing written by the refused runs');
    const made = runCli(['create', '--site', site, '--task-sequence', 'SMP00013', '--out', out], env);
    assert.equal(made.status, 0, made.stdout + made.stderr);
    assert.match(made.stdout, /start: boot the computer from the media \(new-computer\)/);
    if (hasCommand('7z')) {
      const list = spawnSync('7z', ['l', '-ba', out], { encoding: 'utf8' }).stdout;
      assert.doesNotMatch(list, /SMS[\\/]bin|autorun\.inf/i);
    }
    assert.match(runCli(['inspect', out]).stdout, /^start from Windows: not possible, no SMS\\bin on the media \(it can only be booted\)$/m);
  });

  test('--i386-binaries where the site has only x64: refused, naming the folder', (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    rmSync(join(site, 'OSD', 'bin', 'i386'), { recursive: true });
    const r = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--out', join(dir, 'm.iso'), '--i386-binaries'], { XDG_STATE_HOME: join(dir, 'state') });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /--i386-binaries: .*i386 does not exist\. Leave the option off, or copy the site server's OSD\\bin\\i386 there too\./);
  });
});

describe('SMS\\bin on the media', () => {
  test('an ISO set of three discs: SMS\\bin\\x64 and \\i386 on every disc, byte for byte (7-Zip); verify checks each copy', async (t) => {
    if (!requireOrSkip(t, hasCommand('7z'), '7z is not installed (./scripts/setup.sh installs p7zip-full)')) return;
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    randomFile(join(dir, 'payload.bin'), 150 * MiB);
    // A package larger than two discs spreads the set over three of the smallest (64 MiB).
    await addPackage(site, 'SMP00097', [{ relativePath: 'payload.bin', sourcePath: join(dir, 'payload.bin') }]);
    {
      mkdirSync(join(dir, 'out'));
      const out = join(dir, 'out', 'set.iso');
      const r = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00097', '--size', String(64 * MiB), '--out', out, '--autorun', '--i386-binaries'], {
        XDG_STATE_HOME: join(dir, 'state'),
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /start: in the running Windows, open the media and run SMS\\bin\\x64\\TSMBAutorun\.exe/);
      const discs = [out, join(dir, 'out', 'set-2.iso'), join(dir, 'out', 'set-3.iso')];
      assert.deepEqual(readdirSync(join(dir, 'out')).filter((n) => n.endsWith('.iso')).sort(), ['set-2.iso', 'set-3.iso', 'set.iso']);
      discs.forEach((disc, i) => {
        const x = join(dir, `x${i + 1}`);
        const e = spawnSync('7z', ['x', '-y', `-o${x}`, disc, 'SMS/bin', MANIFEST_PATH, 'autorun.inf'], { encoding: 'utf8' });
        assert.equal(e.status, 0, e.stderr);
        for (const arch of ['x64', 'i386']) {
          const src = join(site, 'OSD', 'bin', arch);
          assert.deepEqual(relativeFiles(join(x, 'SMS', 'bin', arch)), relativeFiles(src), `disc ${i + 1} ${arch}`);
          for (const f of relativeFiles(src)) assert.ok(readFileSync(join(x, 'SMS', 'bin', arch, f)).equals(readFileSync(join(src, f))), `disc ${i + 1}: ${arch}/${f}`);
        }
        assert.equal(existsSync(join(x, 'autorun.inf')), i === 0, 'autorun.inf on disc 1 only');
        const manifest = parseManifest(readFileSync(join(x, ...MANIFEST_PATH.split('/')), 'utf8'), disc);
        assert.equal(manifest.format, 'tsmedia-manifest/2');
        const bin = manifest.files.filter((f) => f.path.startsWith('SMS/bin/'));
        assert.equal(bin.length, 2 * OSD_FILES.length);
        for (const f of bin) assert.deepEqual([f.everyDisc, f.parts], [true, []], f.path);
      });
      assert.equal(readFileSync(join(dir, 'x1', 'autorun.inf'), 'latin1'), '[autorun]\r\nopen=SMS\\bin\\i386\\TSMBAutorun.exe\r\nicon=SMS\\bin\\i386\\TSMBAutorun.exe,0\r\nlabel=Configuration Manager\r\n');

      const ok = runCli(['verify', ...discs, '--json']);
      assert.equal(ok.status, 0, ok.stdout);
      const inspect = runCli(['inspect', ...discs]);
      assert.equal(inspect.status, 0, inspect.stderr);
      assert.match(inspect.stdout, /^start from Windows: SMS\\bin \(x64: 7 files, i386: 7 files\); autorun\.inf opens SMS\\bin\\i386\\TSMBAutorun\.exe$/m);
      // A byte changed in disc 2's copy of TSCore.dll: verify names that file on that disc, and nothing else.
      const tsCore = readFileSync(join(site, 'OSD', 'bin', 'x64', 'TSCore.dll'));
      const image = readFileSync(discs[1]);
      const at = image.indexOf(tsCore);
      assert.ok(at > 0 && image.indexOf(tsCore, at + 1) < 0, 'TSCore.dll (x64) is once on disc 2');
      image[at + 700] ^= 0xff;
      writeFileSync(discs[1], image);
      const bad = runCli(['verify', ...discs, '--json']);
      assert.equal(bad.status, 1, bad.stdout);
      const problems = (JSON.parse(bad.stdout) as { problems: { path: string; disc: number | null }[] }).problems;
      assert.deepEqual(problems.map((p) => [p.path, p.disc]), [['SMS/bin/x64/TSCore.dll', 2]]);

      // The report lists the binaries with their versions.
      const report = JSON.parse(readFileSync(join(dir, 'out', 'set.report.json'), 'utf8')) as { startsFrom: { startsFrom: string }; osdBinaries: { autorun: string; files: { path: string; fileVersion: string | null }[] } };
      assert.equal(report.startsFrom.startsFrom, 'windows');
      assert.equal(report.osdBinaries.autorun, 'SMS\\bin\\i386\\TSMBAutorun.exe');
      assert.deepEqual(report.osdBinaries.files.find((f) => f.path === 'SMS/bin/x64/TSMBAutorun.exe')?.fileVersion, '5.0.9128.1000');
    }
  });

  test('a USB image: SMS\\bin\\x64 byte for byte (mtools), in the manifest, verify passes; autorun.inf opens the x64 TSMBAutorun.exe', (t) => {
    if (!requireOrSkip(t, hasCommand('mcopy'), 'mtools is not installed (./scripts/setup.sh installs it)')) return;
    const dir = tempDir(t);
    const img = join(dir, 'usb.img');
    const r = runCli(['create', '--media', 'usb', '--task-sequence', 'SMP00014', '--image', img, '--image-size', '64MiB', '--autorun'], { XDG_STATE_HOME: join(dir, 'state') });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /start: in the running Windows, open the media and run SMS\\bin\\x64\\TSMBAutorun\.exe .*\(upgrade\)/);
    const x = join(dir, 'x');
    mkdirSync(x);
    const MT = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
    const c = spawnSync('mcopy', ['-s', '-n', '-i', `${img}@@1M`, '::/*', x], { encoding: 'utf8', env: MT });
    assert.equal(c.status, 0, c.stderr);
    const src = join(SAMPLE_SITE, 'OSD', 'bin', 'x64');
    assert.deepEqual(relativeFiles(join(x, 'SMS', 'bin', 'x64')), relativeFiles(src));
    for (const f of relativeFiles(src)) assert.ok(readFileSync(join(x, 'SMS', 'bin', 'x64', f)).equals(readFileSync(join(src, f))), f);
    assert.equal(existsSync(join(x, 'SMS', 'bin', 'i386')), false, 'i386 only when asked for');
    assert.equal(readFileSync(join(x, 'autorun.inf'), 'latin1').split('\r\n')[1], 'open=SMS\\bin\\x64\\TSMBAutorun.exe');
    const manifest = JSON.parse(readFileSync(join(x, 'SMS', 'data', 'tsmedia-manifest.json'), 'utf8')) as MediaManifest;
    assert.deepEqual(manifest.files.filter((f) => f.path.startsWith('SMS/bin/')).map((f) => f.path.slice('SMS/bin/x64/'.length)).sort(), [...OSD_FILES].sort());
    const v = runCli(['verify', img]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });
});

describe('the manifest format', () => {
  test('format 1 (before SMS\\bin) is still read; a newer format asks for a newer tsmedia', () => {
    const m = { format: 'tsmedia-manifest/1', discs: 1, files: [{ path: 'a', size: 1, sha256: 'A'.repeat(64), packageId: null, parts: [] }] };
    assert.equal(parseManifest(JSON.stringify(m), 'old.iso').format, 'tsmedia-manifest/1');
    assert.throws(() => parseManifest(JSON.stringify({ ...m, format: 'tsmedia-manifest/3' }), 'new.iso'), /new\.iso: the media was made by a newer tsmedia \(manifest format "tsmedia-manifest\/3"\)/);
  });
});
