// Sites on disk: the folder convention, the descriptor (and its errors), duplicates and unreadable distribution points.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { ContentLibraryWriter } from '../electron/engine/site/ContentLibraryWriter.js';
import { Site, distributionPointNameFromFolder } from '../electron/engine/site/Site.js';
import { InputError } from '../electron/engine/errors.js';
import { parseSiteDescriptor } from '../electron/engine/site/SiteDescriptor.js';
import { FIXTURES, NO_SHARED, requireOrSkip, runCli, sharedFixturesPresent, tempDir } from './helpers.js';

describe('Site', () => {
  test('distribution point names from folder names', () => {
    assert.equal(distributionPointNameFromFolder('SCCMContentLib_DP01'), 'DP01');
    assert.equal(distributionPointNameFromFolder('SCCMContentLib-dp02.contoso.com'), 'dp02.contoso.com');
    assert.equal(distributionPointNameFromFolder('SCCMContentLib'), 'SCCMContentLib');
    assert.equal(distributionPointNameFromFolder('SCCMContentLib$'), 'SCCMContentLib$');
  });

  test('a folder of real exports and content libraries, no descriptor', async (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    const root = tempDir(t);
    mkdirSync(join(root, 'exports'));
    copyFileSync(join(FIXTURES, 'exports', 'garytown-OSDCloudTaskSequence.zip'), join(root, 'exports', 'osdcloud.zip'));
    copyFileSync(join(FIXTURES, 'sequences', 'PSD-PSDClient.xml'), join(root, 'exports', 'psd.xml'));
    const w1 = new ContentLibraryWriter(join(root, 'SCCMContentLib_DP1'));
    await w1.addContent('MEM00003', 1, [{ relativePath: 'boot/etfsboot.com', data: Buffer.alloc(4096, 1) }]);
    await w1.addContent('MEM00004', 1, [{ relativePath: 'ccmsetup.exe', data: Buffer.from('client') }]);
    const w2 = new ContentLibraryWriter(join(root, 'SCCMContentLib_DP2'));
    await w2.addContent('MEM00003', 1, [{ relativePath: 'boot/etfsboot.com', data: Buffer.alloc(4096, 1) }]);
    mkdirSync(join(root, 'SCCMContentLib_Broken'));

    const site = await Site.open(root);
    assert.deepEqual(site.taskSequences.map((x) => x.packageId), ['MEM000F8', null]);
    assert.equal(site.siteCode, 'MEM', 'from the exports when no descriptor says');
    assert.deepEqual(site.distributionPoints.map((d) => [d.name, d.error === null]), [
      ['Broken', false],
      ['DP1', true],
      ['DP2', true],
    ]);

    const r = runCli(['analyze', '--site', root, '--task-sequence', 'mem000f8', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const a = JSON.parse(r.stdout) as { distributionPoints: { name: string; hasAllContent: boolean; missing: string[]; error: string | null }[] };
    assert.deepEqual(
      a.distributionPoints.map((d) => [d.name, d.hasAllContent, d.missing]),
      [
        ['Broken', false, ['MEM00003', 'MEM00004']],
        ['DP1', true, []],
        ['DP2', false, ['MEM00004']],
      ],
    );
    assert.match(a.distributionPoints[0].error ?? '', /is not a content library: it has no PkgLib folder/);

    const seq = JSON.parse(runCli(['sequences', '--site', root, '--json']).stdout) as { packageId: string | null; selectable: boolean; reason: string | null }[];
    assert.deepEqual(seq.map((s) => [s.packageId, s.selectable]), [
      ['MEM000F8', true],
      [null, false],
    ]);
    assert.match(seq[1].reason ?? '', /bare sequence file has no package ID/);

    const cat = JSON.parse(runCli(['catalog', '--site', root, '--json']).stdout) as { packageId: string; kind: string; distributionPoints: string[]; sizeBytes: number | null }[];
    assert.deepEqual(cat.map((c) => [c.packageId, c.kind, c.distributionPoints, c.sizeBytes]), [
      ['MEM00003', 'BootImage', ['DP1', 'DP2'], 4096],
      ['MEM00004', 'Package', ['DP1'], 6],
      ['MEM000F8', 'TaskSequence', [], null],
    ]);
  });

  test('the same task sequence in two exports is refused, naming both', async (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    const root = tempDir(t);
    mkdirSync(join(root, 'exports'));
    copyFileSync(join(FIXTURES, 'exports', 'DRFiles-TS-BitLocker.zip'), join(root, 'exports', 'a.zip'));
    copyFileSync(join(FIXTURES, 'exports', 'DRFiles-TS-BitLocker.zip'), join(root, 'exports', 'b.zip'));
    const r = runCli(['sequences', '--site', root]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /task sequence PS100294 is in two exports: .*a\.zip .*and .*b\.zip/);
  });

  test('descriptor: distribution points elsewhere, extra FileLib roots, CAS, catalog metadata', async (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    const root = tempDir(t);
    const share = tempDir(t);
    mkdirSync(join(root, 'ts'));
    copyFileSync(join(FIXTURES, 'exports', 'garytown-OSDCloudTaskSequence.zip'), join(root, 'ts', 'osd.zip'));
    const w = new ContentLibraryWriter(join(share, 'SCCMContentLib'), { extraFileLib: join(share, 'SCCMContentLibD') });
    await w.addContent('MEM00003', 7, [{ relativePath: 'a.bin', data: Buffer.alloc(1000, 7) }, { relativePath: 'b.bin', data: Buffer.alloc(1000, 9) }]);
    await w.addContent('MEM00004', 2, [{ relativePath: 'ccmsetup.exe', data: Buffer.from('client') }]);
    writeFileSync(
      join(root, 'tsmedia-site.json'),
      JSON.stringify({
        siteCode: 'CAS',
        centralAdministrationSite: true,
        exports: ['ts'],
        distributionPoints: [{ name: 'dp01.contoso.com', contentLibrary: join(share, 'SCCMContentLib'), extraContentLibraries: [join(share, 'SCCMContentLibD')] }],
        catalog: [{ packageId: 'MEM00004', name: 'ConfigMgr client (site catalog)', kind: 'Package', sourceVersion: 3 }],
      }),
    );
    const site = await Site.open(root);
    assert.equal(site.siteCode, 'CAS');
    assert.equal(site.isCentralAdministrationSite, true);
    const r = runCli(['analyze', '--site', root, '--task-sequence', 'MEM000F8', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const a = JSON.parse(r.stdout) as { references: { packageId: string; name: string; sourceVersion: number | null }[]; distributionPoints: { name: string; details: unknown[] }[] };
    assert.deepEqual(a.references.find((x) => x.packageId === 'MEM00004'), {
      packageId: 'MEM00004',
      kind: 'Package',
      name: 'ConfigMgr client (site catalog)',
      version: null,
      sourceVersion: 3,
      via: ['reference list of MEM000F8', 'references of MEM000F8', 'step "Setup Windows and Configuration Manager"'],
    });
    assert.deepEqual(a.distributionPoints, [
      { name: 'dp01.contoso.com', hasAllContent: false, missing: ['MEM00004'], details: [{ packageId: 'MEM00004', reason: 'older-version', have: [2], want: 3 }], error: null },
    ]);
    const human = runCli(['analyze', '--site', root, '--task-sequence', 'MEM000F8']);
    assert.match(human.stdout, /dp01\.contoso\.com: lacks MEM00004 \(has version 2, needs 3\)/);
  });

  test('descriptor errors name the file and field', () => {
    const f = '/site/tsmedia-site.json';
    const bad = (json: string, re: RegExp): void => assert.throws(() => parseSiteDescriptor(json, f), re);
    bad('{', /tsmedia-site\.json: not valid JSON/);
    bad('[]', /field "\(root\)" must be a JSON object/);
    bad('{"siteCode": "TOOLONG"}', /field "siteCode" must be three letters or digits/);
    bad('{"centralAdministrationSite": "yes"}', /field "centralAdministrationSite" must be true or false/);
    bad('{"distributionPoints": [{"name": "x"}]}', /field "distributionPoints\[0\]\.contentLibrary" is required/);
    bad('{"catalog": [{"packageId": "A", "kind": "Thing"}]}', /field "catalog\[0\]\.kind" must be one of BootImage/);
    bad('{"catalog": [{"packageId": "A"}, {"packageId": "a"}]}', /field "catalog\[1\]\.packageId" repeats a/);
    bad('{"sitecode": "ABC"}', /field "sitecode" is not a descriptor field/);
    bad('{"catalog": [{"packageId": "A", "sourceVersion": 0}]}', /catalog\[0\]\.sourceVersion" must be a whole number/);
  });

  test('nested unknown descriptor fields are refused with their path and the known fields', () => {
    const f = '/site/tsmedia-site.json';
    const refused = (json: string, field: string, known: string[]): void => {
      assert.throws(
        () => parseSiteDescriptor(json, f),
        (err: Error) => {
          assert.ok(err instanceof InputError, String(err));
          assert.ok(err.message.startsWith(`${f}: field "${field}" is not a descriptor field`), err.message);
          for (const k of known) assert.ok(err.message.includes(k), `${err.message} lists ${k}`);
          return true;
        },
      );
    };
    // A misspelt sourceVersion would otherwise pick the library's highest version.
    refused('{"catalog": [{"packageId": "A", "sourceVerison": 2}]}', 'catalog[0].sourceVerison', ['packageId', 'sourceVersion', 'dependencies']);
    refused(
      '{"distributionPoints": [{"name": "a", "contentLibrary": "x"}, {"name": "b", "contentLibrary": "y", "extraContentLibrary": ["z"]}]}',
      'distributionPoints[1].extraContentLibrary',
      ['name', 'contentLibrary', 'extraContentLibraries'],
    );
    refused('{"siteCod": "PS1"}', 'siteCod', ['siteCode', 'distributionPoints', 'catalog', 'siteServer']);
    // The documented fields at every level, and $schema and comment at the top, still pass.
    const ok = parseSiteDescriptor(
      '{"$schema": "s", "comment": "c", "distributionPoints": [{"name": "a", "contentLibrary": "x", "extraContentLibraries": ["z"]}], ' +
        '"catalog": [{"packageId": "A", "name": "n", "kind": "Package", "version": "1", "sourceVersion": 2, "modelName": "m", "dependencies": []}]}',
      f,
    );
    assert.equal(ok.catalog[0]?.sourceVersion, 2);
    assert.deepEqual(ok.distributionPoints?.[0]?.extraContentLibraries, ['z']);
  });

  test('a missing site folder', () => {
    const r = runCli(['sequences', '--site', '/nonexistent/site']);
    assert.equal(r.status, 1);
    // The path as the OS resolves it (under Wine: Z:\nonexistent\site).
    assert.ok(r.stderr.includes(`${resolve('/nonexistent/site')}: the site folder does not exist`), r.stderr);
  });
});
