import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import yauzl from 'yauzl';
import { generateSampleSite, APPS, AUTHORING_SCOPE, OSD_BINARIES_VERSION } from '../scripts/lib/SampleSite.js';
import { peVersion } from '../electron/engine/formats/PeVersion.js';
import { buildFatFloppy } from '../scripts/lib/FatFloppy.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex').toUpperCase();

interface Tree {
  files: Map<string, string>;
  dirs: string[];
  bytes: number;
}

async function snapshot(root: string): Promise<Tree> {
  const files = new Map<string, string>();
  const dirs: string[] = [];
  let bytes = 0;
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    const rel = relative(root, join(e.parentPath, e.name)).split(sep).join('/');
    if (e.isDirectory()) dirs.push(rel);
    else if (e.isFile()) {
      const data = await readFile(join(root, rel));
      files.set(rel, sha256(data));
      bytes += data.length;
    }
  }
  dirs.sort();
  return { files: new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1))), dirs, bytes };
}

function readZip(path: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const out = new Map<string, Buffer>();
      zip.on('error', reject);
      zip.on('end', () => resolve(out));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e2, stream) => {
          if (e2 || !stream) return reject(e2 ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** `unzip -t`, or Python's zipfile when unzip is missing; null when neither is installed. */
function testZip(path: string): { ok: boolean; out: string } | null {
  const u = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
  if (!u.error) return { ok: u.status === 0, out: `${u.stdout}${u.stderr}` };
  const p = spawnSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); sys.exit(1 if z.testzip() else 0)', path], { encoding: 'utf8' });
  if (!p.error) return { ok: p.status === 0, out: `${p.stdout}${p.stderr}` };
  return null;
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsmedia-site-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const iniText = async (path: string): Promise<string> => (await readFile(path, 'utf8')).replace(/\r\n/g, '\n');

test('sample site: deterministic, small and fast', async (t) => {
  const dir = await tempDir(t);
  const started = Date.now();
  const r1 = await generateSampleSite(join(dir, 'one', 'sample-site'));
  const elapsed = Date.now() - started;
  const r2 = await generateSampleSite(join(dir, 'two', 'sample-site'));
  console.log(`sample site: ${r1.files} files, ${r1.bytes} bytes, generated in ${elapsed} ms`);
  assert.ok(elapsed < 5000, `generation took ${elapsed} ms`);
  assert.ok(r1.bytes < 5 * 1024 * 1024, `${r1.bytes} bytes`);
  const [a, b] = await Promise.all([snapshot(r1.outDir), snapshot(r2.outDir)]);
  assert.equal(a.bytes, r1.bytes);
  assert.deepEqual([...a.files], [...b.files]);
  assert.deepEqual(a.dirs, b.dirs);
  // Nothing left beside the output (the temporary folder was renamed into place).
  assert.deepEqual(await readdir(join(dir, 'one')), ['sample-site']);

  // Regenerating over an existing folder replaces it.
  await generateSampleSite(r1.outDir);
  assert.deepEqual([...(await snapshot(r1.outDir)).files], [...a.files]);
});

test('sample site: contents', async (t) => {
  const dir = await tempDir(t);
  const { outDir } = await generateSampleSite(join(dir, 'sample-site'));

  // Site descriptor.
  const site = JSON.parse(await readFile(join(outDir, 'tsmedia-site.json'), 'utf8')) as {
    siteCode: string;
    siteName: string;
    centralAdministrationSite: boolean;
    catalog: { packageId: string; name: string; kind: string; version: string | null; sourceVersion: number }[];
    distributionPoints?: unknown;
  };
  assert.equal(site.siteCode, 'SMP');
  assert.equal(site.siteName, 'Sample site (tsmedia)');
  assert.equal(site.centralAdministrationSite, false);
  assert.equal(site.distributionPoints, undefined);
  const kinds = Object.fromEntries(site.catalog.map((c) => [c.packageId, c.kind]));
  assert.deepEqual(kinds, {
    SMP00001: 'BootImage',
    SMP00002: 'OperatingSystemImage',
    SMP00003: 'Package',
    SMP00004: 'Package',
    SMP00005: 'DriverPackage',
    SMP00006: 'Application',
    SMP00007: 'Application',
    SMP00008: 'Package',
    SMP00009: 'OperatingSystemUpgradePackage',
    SMP00010: 'TaskSequence',
    SMP00011: 'TaskSequence',
    SMP00012: 'TaskSequence',
    SMP00013: 'TaskSequence',
    SMP00014: 'TaskSequence',
  });
  assert.equal(site.catalog.find((c) => c.packageId === 'SMP00005')?.sourceVersion, 2);
  assert.equal(site.catalog.find((c) => c.packageId === 'SMP00001')?.version, '10.0.22621.1');
  assert.match(await readFile(join(outDir, 'README.txt'), 'utf8'), /sample site/i);

  // Distribution points.
  const dp1 = join(outDir, 'SCCMContentLib_DP01');
  const dp2 = join(outDir, 'SCCMContentLib_DP02');
  const readerContent = `${APPS.reader.content}.1`;
  const runtimeContent = `${APPS.runtime.content}.1`;
  const dp1Contents = ['SMP00001.1', 'SMP00002.1', 'SMP00003.1', 'SMP00004.1', 'SMP00005.2', readerContent, runtimeContent, 'SMP00008.1', 'SMP00009.1'];
  const dp2Contents = ['SMP00001.1', 'SMP00002.1', 'SMP00003.1', 'SMP00004.1', 'SMP00005.1', readerContent, runtimeContent, 'SMP00009.1'];
  const dataLibInis = async (lib: string): Promise<string[]> =>
    (await readdir(join(lib, 'DataLib'))).filter((n) => n.endsWith('.INI')).map((n) => n.slice(0, -4)).sort();
  assert.deepEqual(await dataLibInis(dp1), [...dp1Contents].sort());
  assert.deepEqual(await dataLibInis(dp2), [...dp2Contents].sort());
  assert.equal(await iniText(join(dp1, 'PkgLib', 'SMP00005.INI')), '[Packages]\nSMP00005.2=\n\n[Info]\nVersion=2\n');
  assert.equal(await iniText(join(dp2, 'PkgLib', 'SMP00005.INI')), '[Packages]\nSMP00005.1=\n\n[Info]\nVersion=1\n');
  assert.equal(await iniText(join(dp1, 'PkgLib', 'SMP00006.INI')), `[Packages]\n${readerContent}=\n`);
  assert.equal(await iniText(join(dp1, 'PkgLib', 'SMP00007.INI')), `[Packages]\n${runtimeContent}=\n`);
  await assert.rejects(stat(join(dp2, 'PkgLib', 'SMP00008.INI')));
  assert.ok((await stat(join(dp1, 'DataLib', 'SMP00003.1', 'x64', 'ClientUpdate'))).isDirectory(), 'empty folder kept');

  // Boot image layout, with real sizes and magic where it matters.
  const blobOf = async (lib: string, contentId: string, rel: string): Promise<Buffer> => {
    const ini = await iniText(join(lib, 'DataLib', contentId, ...rel.split('/')) + '.INI');
    const hash = /Hash=([0-9A-F]{64})/.exec(ini)?.[1];
    assert.ok(hash, `${rel}: no hash`);
    const data = await readFile(join(lib, 'FileLib', hash.slice(0, 4), hash));
    assert.equal(sha256(data), hash);
    assert.match(ini, new RegExp(`Size=${data.length}\\n`));
    return data;
  };
  for (const rel of ['bootmgr', 'bootmgr.efi', 'boot/bcd', 'boot/boot.sdi', 'efi/microsoft/boot/bcd']) await blobOf(dp1, 'SMP00001.1', rel);
  assert.equal((await blobOf(dp1, 'SMP00001.1', 'boot/etfsboot.com')).length, 4096);
  assert.equal((await blobOf(dp1, 'SMP00001.1', 'sources/boot.wim')).subarray(0, 8).toString('latin1'), 'MSWIM\0\0\0');
  const installWim = await blobOf(dp1, 'SMP00002.1', 'install.wim');
  assert.equal(installWim.subarray(0, 8).toString('latin1'), 'MSWIM\0\0\0');
  assert.equal(installWim.length, 64 * 1024);
  const bootx64 = await blobOf(dp1, 'SMP00001.1', 'efi/boot/bootx64.efi');
  const efisys = await blobOf(dp1, 'SMP00001.1', 'efi/microsoft/boot/efisys.bin');
  assert.equal(efisys.length, 1_474_560);
  assert.ok(efisys.equals(buildFatFloppy([{ path: 'EFI/BOOT/BOOTX64.EFI', data: bootx64 }], 'EFISECTOR')));
  const mcopy = spawnSync('mcopy', ['-i', join(dp1, 'FileLib', sha256(efisys).slice(0, 4), sha256(efisys)), '::/EFI/BOOT/BOOTX64.EFI', '-'], {
    env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
  });
  if (!mcopy.error) assert.ok(Buffer.from(mcopy.stdout).equals(bootx64), 'efisys.bin holds EFI/BOOT/BOOTX64.EFI');
  else console.log('mcopy not installed (apt-get install dosfstools mtools): efisys.bin compared with buildFatFloppy only');

  // Driver package: DP02 holds the old content.
  assert.match((await blobOf(dp2, 'SMP00005.1', 'net/e1000.inf')).toString('utf8'), /DriverVer=06\/21\/2022/);
  assert.match((await blobOf(dp1, 'SMP00005.2', 'net/e1000.inf')).toString('utf8'), /DriverVer=09\/30\/2024/);
  await blobOf(dp1, readerContent, 'setup.msi');
  await blobOf(dp1, runtimeContent, 'runtime.msi');
  await blobOf(dp1, 'SMP00008.1', 'Enable-Logging.ps1');
  for (const rel of ['amd64/scanstate.exe', 'amd64/loadstate.exe', 'amd64/MigApp.xml']) await blobOf(dp2, 'SMP00004.1', rel);

  // Export zips.
  const exportsDir = join(outDir, 'exports');
  assert.deepEqual((await readdir(exportsDir)).sort(), ['SMP-More.zip', 'SMP-Scenarios.zip', 'SMP00010 Windows 11 Refresh.zip']);
  for (const name of await readdir(exportsDir)) {
    const r = testZip(join(exportsDir, name));
    if (r) assert.ok(r.ok, r.out);
    else console.log('neither unzip nor python3 installed: zip checked with yauzl only');
  }

  const refresh = await readZip(join(exportsDir, 'SMP00010 Windows 11 Refresh.zip'));
  const names = [...refresh.keys()];
  for (const n of [
    '[Content_Types].xml',
    '_rels/.rels',
    'Manifest.xml',
    'SMS_TaskSequencePackage/USERSTATE_MIGRATION_PACKAGE.xml',
    'SMS_TaskSequencePackage/SMP00010/object.xml',
    'SMS_TaskSequencePackage/SMP00010/ReferencesInfo.xml',
    'SMS_TaskSequencePackage/SMP00010/AppReferencesInfo.xml',
    'SMS_Application/SMP00006/object.xml',
    'SMS_Application/SMP00007/object.xml',
    'SMS_BootImagePackage/SMP00001/object.xml',
    'SMS_ImagePackage/SMP00002/object.xml',
    'SMS_Package/SMP00003/object.xml',
    'SMS_Package/SMP00004/object.xml',
    'SMS_DriverPackage/SMP00005/object.xml',
    'SMS_Package/SMP00008/object.xml',
  ]) {
    assert.ok(refresh.has(n), `missing ${n}`);
  }
  assert.equal(names.filter((n) => /^package\/services\/metadata\/core-properties\/[0-9a-f]{32}\.psmdcp$/.test(n)).length, 1);
  const text = (m: Map<string, Buffer>, n: string): string => (m.get(n) ?? Buffer.alloc(0)).toString('utf8');
  const manifest = text(refresh, 'Manifest.xml');
  assert.match(manifest, /<Object Path="SMS_TaskSequencePackage\.PackageID='SMP00010'" Type="SMS_TaskSequencePackage" \/>/);
  assert.ok(manifest.includes(AUTHORING_SCOPE));
  const obj = text(refresh, 'SMS_TaskSequencePackage/SMP00010/object.xml');
  assert.ok(obj.startsWith('<INSTANCE CLASSNAME="SMS_TaskSequencePackage">'));
  assert.match(obj, /<PROPERTY NAME="BootImageID"[^>]*>[\s\S]*?<VALUE>SMP00001<\/VALUE>/);
  for (const stepName of ['Capture User State', 'Apply Operating System', 'Restore User State', 'Install Contoso Reader']) {
    assert.ok(obj.includes(`name=&quot;${stepName}&quot;`), stepName);
  }
  const refs = text(refresh, 'SMS_TaskSequencePackage/SMP00010/ReferencesInfo.xml');
  for (const [id, type] of [
    ['SMP00001', 258],
    ['SMP00002', 257],
    ['SMP00003', 0],
    ['SMP00004', 0],
    ['SMP00005', 3],
    ['SMP00006', 512],
    ['SMP00008', 0],
  ] as const) {
    assert.match(refs, new RegExp(`&lt;VALUE&gt;${id}&lt;/VALUE&gt;\\r\\n  &lt;/PROPERTY&gt;\\r\\n  &lt;PROPERTY NAME="ReferencePackageType" TYPE="uint32"&gt;\\r\\n    &lt;VALUE&gt;${type}&lt;`));
  }
  const appRefs = text(refresh, 'SMS_TaskSequencePackage/SMP00010/AppReferencesInfo.xml');
  assert.ok(appRefs.includes(`${AUTHORING_SCOPE}/${APPS.reader.application}`));
  const readerObj = text(refresh, 'SMS_Application/SMP00006/object.xml');
  assert.ok(readerObj.includes(`LogicalName=&quot;${APPS.runtime.deploymentType}&quot;`), 'reader depends on the runtime deployment type');

  const more = await readZip(join(exportsDir, 'SMP-More.zip'));
  const moreManifest = text(more, 'Manifest.xml');
  assert.ok(moreManifest.includes("PackageID='SMP00011'") && moreManifest.includes("PackageID='SMP00012'"));
  const ts11 = text(more, 'SMS_TaskSequencePackage/SMP00011/object.xml');
  for (const type of ['AutoApplyAction', 'DownloadPackageContentAction', 'InstallUpdateAction', 'InstallSoftwareAction']) {
    assert.ok(ts11.includes(`SMS_TaskSequence_${type}`), type);
  }
  assert.ok(ts11.includes('_SMSClientPreProductionPackageID'));
  assert.ok(ts11.includes('SMSTSUdaUsers'));
  const ts12 = text(more, 'SMS_TaskSequencePackage/SMP00012/object.xml');
  const bootBlock = /<PROPERTY NAME="BootImageID"[\s\S]*?<\/PROPERTY>/.exec(ts12)?.[0] ?? '';
  assert.ok(bootBlock.includes('<VALUE></VALUE>'), 'SMP00012 has an empty BootImageID');
  const typeBlock = /<PROPERTY NAME="Type" CLASSORIGIN="SMS_TaskSequencePackage"[\s\S]*?<\/PROPERTY>/.exec(ts12)?.[0] ?? '';
  assert.ok(typeBlock.includes('<VALUE>1</VALUE>'), 'a task sequence without boot image has Type 1');
});

test('sample site: make-sample-site prints one line', async (t) => {
  const dir = await tempDir(t);
  const script = fileURLToPath(new URL('../scripts/make-sample-site.js', import.meta.url));
  const out = join(dir, 'site');
  const r = spawnSync(process.execPath, [script, out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  assert.ok(lines[0]?.includes(out));
  assert.match(lines[0] ?? '', /\d+ bytes/);
  assert.ok((await stat(join(out, 'tsmedia-site.json'))).isFile());
});

test('sample site: stand-in OSD binaries carry a version resource that 7-Zip reads as peVersion does', async (t) => {
  const outDir = join(await tempDir(t), 'site');
  await generateSampleSite(outDir);
  const expectedDotted = OSD_BINARIES_VERSION;
  const sevenZip = spawnSync('7z', ['i'], { encoding: 'utf8' });
  if (sevenZip.error) console.log('7z not installed (apt-get install p7zip-full): versions checked with peVersion only');
  for (const arch of ['x64', 'i386'] as const) {
    const dir = join(outDir, 'OSD', 'bin', arch);
    const names = (await readdir(dir, { recursive: true })).map((n) => n.split(sep).join('/')).filter((n) => /\.(exe|dll)$/i.test(n)).sort();
    assert.deepEqual(names, ['00000409/TsRes.dll', 'CcmCore.dll', 'TSCore.dll', 'TSMBAutorun.exe', 'TsManager.exe', 'TsProgressUI.exe', 'TsmBootstrap.exe'].sort());
    for (const n of names) {
      const data = await readFile(join(dir, ...n.split('/')));
      // Machine type in the COFF header: 0x8664 for x64 images, 0x14c for 32-bit ones.
      assert.equal(data.readUInt16LE(data.readUInt32LE(0x3c) + 4), arch === 'x64' ? 0x8664 : 0x14c, `${arch}/${n}: machine`);
      assert.deepEqual(await peVersion(data), { fileVersion: expectedDotted, productVersion: expectedDotted }, `${arch}/${n}`);
      if (sevenZip.error) continue;
      // 7-Zip's PE handler shows the version resource as .rsrc/version.txt (UTF-16LE text).
      const shown = spawnSync('7z', ['e', '-so', join(dir, ...n.split('/')), '.rsrc/version.txt']);
      const text = Buffer.from(shown.stdout).toString('utf16le');
      assert.match(text, new RegExp(`FILEVERSION\\s+${expectedDotted.replace(/\./g, ',')}`), `${arch}/${n}: 7z reads ${text.slice(0, 80)}`);
      assert.match(text, /"OriginalFilename",\s*"([^"]+)"/, `${arch}/${n}`);
      assert.equal(/"OriginalFilename",\s*"([^"]+)"/.exec(text)?.[1], n.split('/').pop());
    }
  }
});
