// Secure Boot readiness where the user sees it: a copy of the sample site whose boot image carries EFI files signed
// by test CAs (sbsigntool), one of them inside efisys.bin, and an unsigned one. `tsmedia analyze` shows them before
// anything is written, the PCA-2011 warning is raised when the test CAs stand in for Microsoft's (injected
// thumbprints), the media report lists them, and `tsmedia inspect` reads them back from the ISO.
import assert from 'node:assert/strict';
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import type { AnalysisResult } from '../shared/analysis.js';
import { isBlocking } from '../shared/analysis.js';
import { analyzeForMedia } from '../electron/engine/media/BootImageSignatures.js';
import type { KnownCa } from '../electron/engine/formats/pe/SecureBootClass.js';
import { Site } from '../electron/engine/site/Site.js';
import { hasCommand, requireOrSkip, runCli, skipWhileMutating, tempDir } from './helpers.js';
import { signedBootImageSite, type SignedBootSite } from './support/secureBootFixtures.js';

const TOOLS = hasCommand('openssl') && hasCommand('sbsign');
const NO_TOOLS = 'needs openssl and sbsign (apt-get install openssl sbsigntool; scripts/setup.sh installs them)';

let fx: SignedBootSite | null = null;

const classes = (a: { files: { path: string; class: string }[] } | null): Record<string, string> => Object.fromEntries((a?.files ?? []).map((f) => [f.path, f.class]));

describe('Secure Boot readiness on the way to media', () => {
  before(async () => {
    if (TOOLS) fx = await signedBootImageSite(tempDir({ after: (fn) => process.on('exit', fn) }, 'tsmedia-sbmedia-'));
  });
  const need = (t: TestContext): SignedBootSite | null => (requireOrSkip(t, TOOLS, NO_TOOLS) ? fx : null);

  test('the analysis reads the boot image\'s EFI files, efisys.bin\'s too, and warns of PCA-2011-only boot managers', async (t) => {
    const f = need(t);
    if (!f) return;
    const site = await Site.open(f.site);
    const ts = site.taskSequence('SMP00010');
    assert.ok(ts);
    const stand: KnownCa[] = [
      { id: 'windows-production-pca-2011', name: 'Microsoft Windows Production PCA 2011', sha1: f.ca2011.sha1, sha256: f.ca2011.sha256 },
      { id: 'windows-uefi-ca-2023', name: 'Windows UEFI CA 2023', sha1: f.ca2023.sha1, sha256: f.ca2023.sha256 },
    ];
    const a = await analyzeForMedia(site, ts, {}, stand);
    assert.deepEqual(classes(a.secureBoot), {
      'bootmgr.efi': 'pca-2011-only',
      'efi/boot/bootx64.efi': 'windows-uefi-ca-2023',
      'efi/microsoft/boot/efisys.bin:EFI/BOOT/BOOTX64.EFI': 'pca-2011-only',
      'efi/microsoft/boot/memtest.efi': 'unsigned',
    });
    assert.equal(a.secureBoot?.overall, 'unsigned');
    const warn = a.findings.filter((x) => x.code === 'BOOT_MANAGER_PCA_2011_ONLY');
    assert.equal(warn.length, 1);
    assert.equal(warn[0]?.severity, 'warning');
    assert.equal(isBlocking(warn[0] as AnalysisResult['findings'][number]), false, 'acknowledged, not blocking');
    assert.match(warn[0]?.message ?? '', /bootmgr\.efi, efi\/microsoft\/boot\/efisys\.bin:EFI\/BOOT\/BOOTX64\.EFI\)/);
    assert.match(warn[0]?.message ?? '', /KB5025885/);
    // Microsoft's real thumbprints: the same files are under other CAs, and no warning is raised.
    const real = await analyzeForMedia(site, ts);
    assert.equal(classes(real.secureBoot)['bootmgr.efi'], 'other-ca');
    assert.equal(real.findings.some((x) => x.code === 'BOOT_MANAGER_PCA_2011_ONLY'), false);
  });

  test('a boot file missing from one distribution point is read from the other; missing from both, the analysis still stands', async (t) => {
    const f = need(t);
    if (!f) return;
    const site = await Site.open(f.site);
    const ts = site.taskSequence('SMP00010');
    assert.ok(ts);
    const blobs: string[] = [];
    for (const dp of site.distributionPoints) {
      const lib = dp.library;
      assert.ok(lib);
      const entry = (await lib.packageFiles('SMP00001')).find((e) => e.file.path.toLowerCase() === 'bootmgr.efi');
      assert.ok(entry);
      blobs.push(await lib.blobPath(entry.file, entry.contentId));
    }
    const [first, second] = blobs as [string, string];
    renameSync(first, `${first}.away`);
    try {
      assert.equal(classes((await analyzeForMedia(await Site.open(f.site), ts)).secureBoot)['bootmgr.efi'], 'other-ca', 'read from DP02');
      renameSync(second, `${second}.away`);
      try {
        const a = await analyzeForMedia(await Site.open(f.site), ts);
        assert.equal(a.secureBoot, null);
        assert.ok(a.references.length > 0, 'the rest of the analysis is there');
        const r = runCli(['analyze', '--site', f.site, '--task-sequence', 'SMP00010']);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /Secure Boot \(the boot image's EFI boot files\):\n {2}not read: no distribution point could give the boot image's files/);
      } finally {
        renameSync(`${second}.away`, second);
      }
    } finally {
      renameSync(`${first}.away`, first);
    }
  });

  test('tsmedia analyze shows each boot file, its signer and CA before anything is written', (t) => {
    const f = need(t);
    if (!f) return;
    const r = runCli(['analyze', '--site', f.site, '--task-sequence', 'SMP00010']);
    assert.equal(r.status, 0, r.stderr);
    const section = r.stdout.slice(r.stdout.indexOf('Secure Boot'), r.stdout.indexOf('Distribution points:'));
    assert.match(section, /bootmgr\.efi: another CA\n {4}signer Test Windows \(old\); CA "Test PCA 2011 stand-in" \(a CA not recognised by thumbprint\); root Test PCA 2011 stand-in/);
    assert.match(section, /efi\/microsoft\/boot\/efisys\.bin:EFI\/BOOT\/BOOTX64\.EFI: another CA/);
    assert.match(section, /efi\/microsoft\/boot\/memtest\.efi: unsigned/);
    assert.match(section, /overall: unsigned/);
    const j = JSON.parse(runCli(['analyze', '--site', f.site, '--task-sequence', 'SMP00010', '--json']).stdout) as AnalysisResult;
    assert.equal(j.secureBoot?.files.length, 4);
    assert.equal(j.secureBoot?.files.find((x) => x.path === 'efi/boot/bootx64.efi')?.signatures[0]?.chain[1]?.sha256, f.ca2023.sha256);
  });

  test('the media report lists the boot files, and tsmedia inspect reads them back from the ISO', (t) => {
    const f = need(t);
    if (!f || !skipWhileMutating(t)) return;
    const out = join(f.dir, 'media.iso');
    const mk = runCli(['create', '--site', f.site, '--task-sequence', 'SMP00010', '--out', out, '--no-verify'], { XDG_STATE_HOME: join(f.dir, 'state') });
    assert.equal(mk.status, 0, mk.stderr);
    const report = JSON.parse(readFileSync(join(f.dir, 'media.report.json'), 'utf8')) as { secureBoot: AnalysisResult['secureBoot'] };
    assert.deepEqual(classes(report.secureBoot), {
      'bootmgr.efi': 'other-ca',
      'efi/boot/bootx64.efi': 'other-ca',
      'efi/microsoft/boot/efisys.bin:EFI/BOOT/BOOTX64.EFI': 'other-ca',
      'efi/microsoft/boot/memtest.efi': 'unsigned',
    });
    const md = readFileSync(join(f.dir, 'media.report.md'), 'utf8');
    assert.match(md, /## Secure Boot\n\nOverall: unsigned\.\n/);
    assert.match(md, /\| efi\/microsoft\/boot\/memtest\.efi \| unsigned \| - \|/);
    const ins = runCli(['inspect', out]);
    assert.equal(ins.status, 0, ins.stderr);
    const section = ins.stdout.slice(ins.stdout.indexOf('Secure Boot'));
    // The disc's own file names (ISO 9660/Joliet case as written), the same four files and classes.
    assert.match(section, /efisys\.bin:EFI\/BOOT\/BOOTX64\.EFI: another CA\n {4}signer Test Windows \(old\)/i);
    assert.match(section, /bootx64\.efi: another CA\n {4}signer Test Windows \(now\)/i);
    assert.match(section, /memtest\.efi: unsigned/i);
    const j = JSON.parse(runCli(['inspect', out, '--json']).stdout) as { secureBoot: AnalysisResult['secureBoot'] };
    assert.equal(j.secureBoot?.files.length, 4);
    assert.equal(j.secureBoot?.overall, 'unsigned');
  });
});
