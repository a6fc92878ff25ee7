// Stand-alone media on CD/DVD sets, end to end through `tsmedia create`, read back by tools nobody here wrote.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { MediaManifest } from '../electron/engine/media/Manifest.js';
import { ROOT, hasCommand, relativeFiles, requireOrSkip, runCli, tempDir } from './helpers.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex').toUpperCase();
const fileSha = (p: string): string => sha(readFileSync(p));

function sevenZipExtract(iso: string, dest: string): void {
  const r = spawnSync('7z', ['x', '-y', `-o${dest}`, iso], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

const manifestOf = (extracted: string): MediaManifest => JSON.parse(readFileSync(join(extracted, 'SMS/data/tsmedia-manifest.json'), 'utf8')) as MediaManifest;

const TOOLS = ['isoinfo', 'xorriso', 'udfinfo', '7z', 'python3', 'openssl'];
const missingTools = (): string[] => TOOLS.filter((t) => !hasCommand(t));

describe('ISO media', () => {
  test('a password-protected DVD image of the sample site, read back by isoinfo, xorriso, udfinfo, 7z and a public decoder', (t) => {
    if (!requireOrSkip(t, missingTools().length === 0, `missing tools: ${missingTools().join(', ')} (./scripts/setup.sh installs them)`)) return;
    const dir = tempDir(t);
    const pw = 'Tr0ub4dor&3-secret';
    const secretValue = 'P@ss-for-domain-join-77';
    writeFileSync(join(dir, 'pw.txt'), `${pw}\n`);
    writeFileSync(join(dir, 'secret.txt'), `${secretValue}\r\n`);
    const pre = join(dir, 'prestart');
    spawnSync('mkdir', ['-p', join(pre, 'tools')]);
    writeFileSync(join(pre, 'tools', 'Pick-Computer.ps1'), 'Write-Host "pick a name"\n');
    const out = join(dir, 'out', 'win11.iso');
    spawnSync('mkdir', ['-p', join(dir, 'out')]);
    const r = runCli(
      [
        'create', '--task-sequence', 'SMP00010', '--media', 'iso', '--size', 'dvd', '--out', out,
        '--password-file', join(dir, 'pw.txt'), '--unattended', '--start', '2026-01-01', '--expire', '2027-06-30',
        '--label', 'Contoso Win11 Media', '--autorun', '--var', 'OSDComputerName=PC-001', '--secret-var', `DomainJoinPassword=@${join(dir, 'secret.txt')}`,
        '--prestart', 'cmd /c X:\\sms\\PreStart\\tools\\run.cmd', '--prestart-files', pre,
      ],
      { XDG_STATE_HOME: join(dir, 'state') },
    );
    assert.equal(r.status, 0, r.stderr);
    for (const s of [pw, secretValue]) assert.ok(!(r.stdout + r.stderr).includes(s), 'no secret on the terminal');
    for (const f of ['win11.iso', 'win11.iso.sha256', 'win11.report.md', 'win11.report.json', 'CreateTSMedia.log']) assert.ok(existsSync(join(dir, 'out', f)), f);
    assert.ok(existsSync(join(dir, 'state', 'tsmedia', 'logs', 'CreateTSMedia.log')), 'the log also goes to the user\'s log folder');
    assert.deepEqual(readdirSync(join(dir, 'out')).filter((n) => n.endsWith('.partial')), [], 'no temporary file left');
    const iso = out;
    assert.equal(readFileSync(`${iso}.sha256`, 'utf8'), `${fileSha(iso).toLowerCase()}  win11.iso\n`);

    const d = spawnSync('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' }).stdout;
    assert.match(d, /Volume id: CONTOSO_WIN11_MEDIA/);
    assert.match(d, /Joliet with UCS level 3 found/);
    const jl = spawnSync('isoinfo', ['-J', '-l', '-i', iso], { encoding: 'utf8' }).stdout;
    for (const name of ['Variables.dat', 'Policy.xml', 'TsmBootstrap.ini', 'install.wim', 'etfsboot.com', 'efisys.bin', 'MediaLabel.txt', 'autorun.inf', 'Pick-Computer.ps1']) assert.match(jl, new RegExp(name.replace('.', '\\.')));
    const et = spawnSync('xorriso', ['-indev', iso, '-report_el_torito', 'plain'], { encoding: 'utf8' }).stdout;
    assert.match(et, /El Torito boot img :\s+1\s+BIOS\s+y\s+none\s+0x0000\s+0x00\s+8\s+\d+/);
    assert.match(et, /El Torito boot img :\s+2\s+UEFI\s+y\s+none/);
    assert.match(et, /img path :\s+1\s+\/boot\/etfsboot\.com/);
    assert.match(et, /img path :\s+2\s+\/efi\/microsoft\/boot\/efisys\.bin/);
    assert.match(spawnSync('udfinfo', [iso], { encoding: 'utf8' }).stdout, /label=Contoso Win11 Media/);

    // Every file 7-Zip extracts (from UDF) equals the manifest, and nothing is missing or extra.
    const x = join(dir, 'x');
    sevenZipExtract(iso, x);
    const m = manifestOf(x);
    assert.deepEqual(relativeFiles(x), [...m.files.map((f) => f.path), 'SMS/data/tsmedia-manifest.json'].sort());
    for (const f of m.files) assert.equal(fileSha(join(x, f.path)), f.sha256, f.path);
    // ConfigMgr's layout.
    for (const p of ['bootmgr', 'bootmgr.efi', 'boot/etfsboot.com', 'efi/boot/bootx64.efi', 'efi/microsoft/boot/efisys.bin', 'sources/boot.wim', 'SMS/PKG/SMP00002/install.wim', 'SMS/PKG/SMP00005/net/e1000.inf', 'SMS/PKG/SMP00007/runtime.msi', 'SMS/PreStart/tools/Pick-Computer.ps1']) {
      assert.ok(existsSync(join(x, p)), p);
    }
    assert.equal(readFileSync(join(x, 'MediaLabel.txt'), 'utf8'), 'label=Contoso Win11 Media\r\n');
    const ini = readFileSync(join(x, 'SMS/data/TsmBootstrap.ini'), 'latin1');
    assert.match(ini, /\[MediaInfo\]\r\nMediaType=FullMedia\r\nPasswordRequired=true\r\nUnattended=true/);

    // The environment, decoded by an independent implementation of the published scheme.
    const dec = spawnSync('python3', [join(ROOT, 'test/oracle/media_decrypt.py'), join(x, 'SMS/data/Variables.dat'), join(x, 'SMS/data/Policy.xml'), pw], { encoding: 'utf8' });
    assert.equal(dec.status, 0, dec.stderr);
    const env = JSON.parse(dec.stdout) as { variables: { name: string; value: string }[]; policy: Record<string, string> };
    const vars = new Map(env.variables.map((v) => [v.name, v.value]));
    assert.equal(vars.get('OSDComputerName'), 'PC-001');
    assert.equal(vars.get('DomainJoinPassword'), secretValue);
    assert.equal(vars.get('_SMSTSSiteCode'), 'SMP');
    assert.equal(vars.get('_SMSTSPreStartCommandLine'), 'cmd /c X:\\sms\\PreStart\\tools\\run.cmd');
    assert.ok(vars.get('_SMSTSMEDIAEXPIRE'), 'the expiration date is in the environment');
    assert.equal(env.policy.PKG_PackageID, 'SMP00010');
    assert.match(env.policy.TS_Sequence, /^<sequence version="3\.10">/);
    const noPw = spawnSync('python3', [join(ROOT, 'test/oracle/media_decrypt.py'), join(x, 'SMS/data/Variables.dat'), join(x, 'SMS/data/Policy.xml')], { encoding: 'utf8' });
    assert.notEqual(noPw.status, 0, 'without the password the public decoder reads nothing');

    // Secrets never reach the log, the report, the manifest, or any unencrypted byte of the media.
    const scan = [join(dir, 'out', 'CreateTSMedia.log'), join(dir, 'out', 'win11.report.md'), join(dir, 'out', 'win11.report.json'), iso, join(dir, 'state', 'tsmedia', 'logs', 'CreateTSMedia.log')];
    for (const f of scan) {
      const bytes = readFileSync(f);
      for (const s of [pw, secretValue]) {
        assert.equal(bytes.indexOf(Buffer.from(s, 'utf8')), -1, `${s} in ${f}`);
        assert.equal(bytes.indexOf(Buffer.from(s, 'utf16le')), -1, `${s} (UTF-16) in ${f}`);
      }
    }
    const log = readFileSync(join(dir, 'out', 'CreateTSMedia.log'), 'utf8').trimEnd().split(/\r?\n/);
    const line = /^<!\[LOG\[(.*)\]LOG\]!><time="\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d+" date="\d{2}-\d{2}-\d{4}" component="CreateTsMedia" context="" type="[123]" thread="\d+" file="">$/;
    for (const l of log) assert.match(l, line);
    const text = log.join('\n');
    for (const id of ['SMP00001', 'SMP00002', 'SMP00005', 'SMP00007']) assert.ok(text.includes(id), id);
    assert.ok(text.includes('prestart command: cmd /c X:\\sms\\PreStart\\tools\\run.cmd'));
    assert.ok(text.includes('variable OSDComputerName = PC-001'));
    assert.ok(text.includes('variable DomainJoinPassword = ********'));

    const report = JSON.parse(readFileSync(join(dir, 'out', 'win11.report.json'), 'utf8')) as { media: { mediaGuid: string; startDate: string; expireDate: string }; packages: { packageId: string; discs: number[] }[] };
    assert.equal(report.media.expireDate, '2027-06-30T00:00:00.000Z');
    assert.deepEqual(report.packages.map((p) => p.packageId).sort(), ['SMP00001', 'SMP00002', 'SMP00003', 'SMP00004', 'SMP00005', 'SMP00006', 'SMP00007', 'SMP00008']);
    assert.match(readFileSync(join(dir, 'out', 'win11.report.md'), 'utf8'), /\| SMP00005 \| DriverPackage \| Contoso Laptop 14 drivers \| A05 \| 2 \|/);

    const v = runCli(['verify', iso]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const ins = runCli(['inspect', iso, '--password-file', join(dir, 'pw.txt'), '--json']);
    assert.equal(ins.status, 0, ins.stderr);
    const insp = JSON.parse(ins.stdout) as { passwordRequired: boolean; variables: { name: string; value: string }[]; taskSequence: { packageId: string } };
    assert.equal(insp.passwordRequired, true);
    assert.equal(insp.taskSequence.packageId, 'SMP00010');
    assert.equal(insp.variables.find((x) => x.name === 'DomainJoinPassword')?.value, '********');
    assert.equal(insp.variables.find((x) => x.name === 'OSDComputerName')?.value, 'PC-001');
    const locked = JSON.parse(runCli(['inspect', iso, '--json']).stdout) as { variables: unknown; note: string };
    assert.equal(locked.variables, null);
    assert.match(locked.note, /password-protected/);
  });

  test('a set of 64 MiB discs: a file larger than a disc is split, and the discs joined give it back', async (t) => {
    if (!requireOrSkip(t, hasCommand('7z'), 'missing 7z (./scripts/setup.sh installs p7zip-full)')) return;
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const big = join(dir, 'big.bin');
    randomFile(big, 150 * 1024 * 1024 + 12345);
    const small = join(dir, 'small.txt');
    writeFileSync(small, 'after the big one\n');
    await addPackage(site, 'SMP00099', [
      { relativePath: 'payload/big.bin', sourcePath: big },
      { relativePath: 'payload/zz-small.txt', sourcePath: small },
    ]);
    const out = join(dir, 'set.iso');
    const r = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--size', String(64 * 1024 * 1024), '--out', out, '--package', 'SMP00099'], { XDG_STATE_HOME: join(dir, 'state') });
    assert.equal(r.status, 0, r.stderr);
    const discs = readdirSync(dir).filter((n) => /^set(-\d+)?\.iso$/.test(n)).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    assert.ok(discs.length >= 3, `three or more discs: ${discs.join(', ')}`);
    assert.deepEqual(discs, ['set.iso', ...discs.slice(1).map((_, i) => `set-${i + 2}.iso`)]);
    for (const d of discs) assert.ok(statSync(join(dir, d)).size <= 64 * 1024 * 1024, `${d} fits the disc`);

    // Extract every disc; disc 1 has the boot files and the environment; the parts of big.bin joined equal it.
    const parts: Buffer[] = [];
    discs.forEach((d, i) => {
      const x = join(dir, `x${i + 1}`);
      sevenZipExtract(join(dir, d), x);
      if (i === 0) for (const p of ['bootmgr', 'SMS/data/Variables.dat', 'SMS/data/Policy.xml', 'boot/etfsboot.com']) assert.ok(existsSync(join(x, p)), p);
      else assert.ok(!existsSync(join(x, 'SMS/data/Variables.dat')), 'the environment is on disc 1 only');
      assert.ok(existsSync(join(x, 'SMS/data/tsmedia-manifest.json')), 'every disc carries the manifest');
      const part = join(x, 'SMS/PKG/SMP00099/payload/big.bin');
      if (existsSync(part)) parts.push(readFileSync(part));
    });
    assert.ok(parts.length >= 2, 'big.bin is split');
    assert.equal(sha(Buffer.concat(parts)), fileSha(big));
    const m = manifestOf(join(dir, 'x1'));
    const entry = m.files.find((f) => f.path === 'SMS/PKG/SMP00099/payload/big.bin');
    assert.deepEqual(entry?.parts.map((p) => p.disc), entry?.parts.map((_, i) => (entry.parts[0].disc) + i), 'consecutive discs');
    assert.equal(entry?.parts.reduce((s, p) => s + p.size, 0), 150 * 1024 * 1024 + 12345);

    // verify takes the discs in any order; a missing disc is named.
    const all = discs.map((d) => join(dir, d));
    assert.equal(runCli(['verify', ...[...all].reverse()]).status, 0);
    const partial = runCli(['verify', ...all.slice(0, -1)]);
    assert.equal(partial.status, 1);
    assert.match(partial.stdout, new RegExp(`none of the given ISO files is disc ${discs.length} of ${discs.length}`));
  });
});
