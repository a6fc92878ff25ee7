// `tsmedia site snapshot`: a site written as a site folder opens as the same site — the same sequences, catalog and
// analysis, and the same media — for the sample site and every real export; what it refuses and how it cleans up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { analyzeForMedia } from '../electron/engine/media/BootImageSignatures.js';
import { InputError } from '../electron/engine/errors.js';
import { openIso } from '../electron/engine/formats/iso/IsoReader.js';
import { CancelledError } from '../electron/engine/io/ImageWriter.js';
import { summarizeSequences } from '../electron/engine/site/Analysis.js';
import { buildCatalog } from '../electron/engine/site/Catalog.js';
import { Site, type SiteParts } from '../electron/engine/site/Site.js';
import { parseSiteDescriptor } from '../electron/engine/site/SiteDescriptor.js';
import { writeSiteSnapshot } from '../electron/engine/site/SiteSnapshot.js';
import { parseTaskSequence } from '../electron/engine/site/TaskSequence.js';
import type { TaskSequencePackage } from '../electron/engine/site/TaskSequenceExport.js';
import { readZipEntries } from '../electron/engine/site/ZipArchive.js';
import { FIXTURES, NO_SHARED, ROOT, SAMPLE_SITE, hasCommand, relativeFiles, requireOrSkip, runCli, sharedFixturesPresent, tempDir } from './helpers.js';

/**
 * The one field that may differ: `source`, which names the file (and zip entry) a task sequence was read from — the
 * site's own export, or the snapshot's exports/<PackageID>.zip. Everything else must be equal as it is.
 */
const withoutSource = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'source' ? '(source)' : x)));

const byId = (list: readonly TaskSequencePackage[]): TaskSequencePackage[] => [...list].sort((a, b) => `${a.packageId ?? ''}|${a.name}`.localeCompare(`${b.packageId ?? ''}|${b.name}`));

/** Snapshot → open again: the same task sequences, sequences list, catalog and analysis of every task sequence. */
async function assertSameSite(original: Site, dir: string): Promise<Site> {
  const r = await writeSiteSnapshot(original, dir);
  const copy = await Site.open(dir);
  assert.equal(r.taskSequences, original.taskSequences.length);
  assert.equal(copy.taskSequences.length, original.taskSequences.length, 'every task sequence written');
  // Read from the snapshot, not from the original's files.
  for (const ts of copy.taskSequences) assert.ok(ts.source.startsWith(join(dir, 'exports')), ts.source);
  assert.deepEqual(withoutSource(byId(copy.taskSequences)), withoutSource(byId(original.taskSequences)), 'the task sequences as read');
  assert.equal(copy.siteCode, original.siteCode);
  assert.equal(copy.isCentralAdministrationSite, original.isCentralAdministrationSite);
  assert.deepEqual(withoutSource(await summarizeSequences(copy)), withoutSource(await summarizeSequences(original)), 'summarizeSequences');
  assert.deepEqual(await buildCatalog(copy), await buildCatalog(original), 'buildCatalog');
  for (const ts of original.taskSequences) {
    const again = ts.packageId ? copy.taskSequence(ts.packageId) : copy.taskSequences.find((t) => t.packageId === null && t.name === ts.name);
    assert.ok(again, `${ts.packageId ?? ts.name} in the snapshot`);
    for (const detectDependencies of [true, false]) {
      assert.deepEqual(
        withoutSource(await analyzeForMedia(copy, again, { detectDependencies })),
        withoutSource(await analyzeForMedia(original, ts, { detectDependencies })),
        `analyzeForMedia ${ts.packageId ?? ts.name}${detectDependencies ? '' : ' --no-dependencies'}`,
      );
    }
  }
  assert.deepEqual(copy.distributionPoints.map((d) => [d.name, d.root, d.error]), original.distributionPoints.map((d) => [d.name, d.root, d.error]));
  assert.equal(copy.osdBinaries.location, original.osdBinaries.location);
  return copy;
}

/** The parts of an open site, to make another from them. */
const partsOf = (s: Site): SiteParts => ({ ...s, taskSequences: [...s.taskSequences], applications: [...s.applications], contentObjects: [...s.contentObjects], distributionPoints: [...s.distributionPoints] });

/** A site folder holding just these export and sequence files. */
function siteOf(dir: string, files: string[]): string {
  mkdirSync(join(dir, 'exports'), { recursive: true });
  for (const f of files) copyFileSync(f, join(dir, 'exports', basename(f)));
  return dir;
}

const fixtureFiles = (sub: string): string[] => (existsSync(join(FIXTURES, sub)) ? readdirSync(join(FIXTURES, sub)).sort().map((n) => join(FIXTURES, sub, n)) : []);

describe('site snapshot: the same site again', () => {
  test('the sample site: same sequences, catalog and analysis; exports with their dependencies; no content copied', async (t) => {
    const dir = join(tempDir(t), 'snap');
    const original = await Site.open(SAMPLE_SITE);
    assert.equal(original.taskSequences.length, 5);
    const copy = await assertSameSite(original, dir);

    assert.deepEqual(relativeFiles(dir), ['exports/SMP00010.zip', 'exports/SMP00011.zip', 'exports/SMP00012.zip', 'exports/SMP00013.zip', 'exports/SMP00014.zip', 'tsmedia-site.json']);
    // Exported "with dependencies" as the console does: SMP00010's own export holds the same objects as the snapshot's.
    const objects = async (zip: string): Promise<string[]> => [...(await readZipEntries(zip, (n) => /^SMS_(?!TaskSequencePackage\/)[^/]+\/[^/]+\/object\.xml$/.test(n))).keys()].sort();
    const own = await objects(join(SAMPLE_SITE, 'exports', 'SMP00010 Windows 11 Refresh.zip'));
    assert.ok(own.includes('SMS_Application/SMP00007/object.xml'), 'the dependency of SMP00006 is in the sample export');
    assert.deepEqual(await objects(join(dir, 'exports', 'SMP00010.zip')), own);
    // The applications come back whole, SDMPackageXML included (their dependencies are read from it).
    const apps = (s: Site): unknown => [...new Map(s.applications.map((a) => [a.packageId, { ...a, source: '' }])).values()].sort((a, b) => String(a.packageId).localeCompare(String(b.packageId)));
    assert.deepEqual(apps(copy), apps(original));
    assert.match(copy.applications[0]?.sdmPackageXml ?? '', /<AppMgmtDigest/);

    const descriptor = parseSiteDescriptor(readFileSync(join(dir, 'tsmedia-site.json'), 'utf8'), 'tsmedia-site.json');
    assert.deepEqual(descriptor.distributionPoints, [
      { name: 'DP01', contentLibrary: join(SAMPLE_SITE, 'SCCMContentLib_DP01'), extraContentLibraries: [] },
      { name: 'DP02', contentLibrary: join(SAMPLE_SITE, 'SCCMContentLib_DP02'), extraContentLibraries: [] },
    ]);
    assert.equal(descriptor.siteCode, 'SMP');
    assert.equal(descriptor.siteName, 'Sample site (tsmedia)');
    assert.equal(descriptor.osdBinaries, join(SAMPLE_SITE, 'OSD', 'bin'));
    assert.equal(descriptor.catalog.length, (await buildCatalog(original)).length);
  });

  test('every real export, and the bare sequences, come back the same', async (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    const exports = fixtureFiles('exports').filter((f) => f.endsWith('.zip'));
    assert.ok(exports.length >= 6, `${exports.length} fixture exports`);
    const work = tempDir(t);
    for (const zip of exports) {
      const original = await Site.open(siteOf(join(work, basename(zip), 'site'), [zip]));
      await assertSameSite(original, join(work, basename(zip), 'snap'));
    }
    // All of them in one site with the bare sequences: bare ones are written as exports/<name>.xml.
    const bare = fixtureFiles('sequences').filter((f) => f.endsWith('.xml'));
    assert.ok(bare.length >= 2, `${bare.length} fixture sequences`);
    const all = await Site.open(siteOf(join(work, 'all', 'site'), [...exports, ...bare]));
    const copy = await assertSameSite(all, join(work, 'all', 'snap'));
    const names = copy.taskSequences.filter((s) => s.packageId === null).map((s) => basename(s.source)).sort();
    assert.deepEqual(names, all.taskSequences.filter((s) => s.packageId === null).map((s) => `${s.name}.xml`).sort());
  });

  test("a descriptor's distribution points (an extra root, one unreadable), exports elsewhere and site server come back", async (t) => {
    const work = tempDir(t);
    const dir = join(work, 'site');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'tsmedia-site.json'),
      JSON.stringify({
        siteServer: 'cm01.contoso.com',
        centralAdministrationSite: true,
        exports: [join(SAMPLE_SITE, 'exports', 'SMP-Scenarios.zip')],
        distributionPoints: [
          { name: 'dp01.contoso.com', contentLibrary: join(SAMPLE_SITE, 'SCCMContentLib_DP01'), extraContentLibraries: [join(SAMPLE_SITE, 'SCCMContentLib_DP02')] },
          { name: 'gone', contentLibrary: join(work, 'no-such-library') },
        ],
      }),
    );
    const original = await Site.open(dir);
    assert.equal(original.distributionPoints[1]?.library, null, 'the second library cannot be opened');
    assert.equal(original.osdBinaries.origin, 'site-server-share');
    const snap = join(work, 'snap');
    const copy = await assertSameSite(original, snap);
    const descriptor = parseSiteDescriptor(readFileSync(join(snap, 'tsmedia-site.json'), 'utf8'), 'tsmedia-site.json');
    assert.deepEqual(descriptor.distributionPoints, [
      { name: 'dp01.contoso.com', contentLibrary: join(SAMPLE_SITE, 'SCCMContentLib_DP01'), extraContentLibraries: [join(SAMPLE_SITE, 'SCCMContentLib_DP02')] },
      { name: 'gone', contentLibrary: join(work, 'no-such-library'), extraContentLibraries: [] },
    ]);
    // Found through the site server's share, and found again that way: the descriptor names the server, not the share.
    assert.equal(descriptor.siteServer, 'cm01.contoso.com');
    assert.equal(descriptor.osdBinaries, null);
    assert.equal(copy.osdBinaries.origin, 'site-server-share');
    assert.equal(descriptor.centralAdministrationSite, true);
    assert.equal(descriptor.siteCode, 'SMP', 'the site code the exports gave');
  });

  test('what a site lacks stays absent, and a CR in a value survives', async (t) => {
    const sample = await Site.open(SAMPLE_SITE);
    const ts = sample.taskSequence('SMP00012');
    assert.ok(ts);
    // CR LF between the elements and inside a variable's value (a parser reads a raw CR LF as LF).
    const sequenceXml = ts.sequenceXml.replace(/></g, '>\r\n<').replace(/(<variable [^>]*>)/, '$1line 1\r\nline 2');
    const odd: TaskSequencePackage = {
      ...ts,
      sourceSite: null,
      description: 'two\r\nlines & <more>',
      sequenceXml,
      sequence: parseTaskSequence(sequenceXml, {}),
      references: [
        { packageId: 'SMP00099', name: null, version: null, kind: 'Unknown', description: null },
        { packageId: 'SMP00097', name: 'two\r\nlines', version: '1.0', kind: 'DriverPackage', description: 'in ReferencesInfo.xml\r\n' },
      ],
      appReferences: [{ modelName: 'ScopeId_X/Application_Y', packageId: 'SMP00098', ciId: null }],
    };
    assert.ok(odd.sequenceXml.includes('line 1\r\nline 2'), 'a variable to hold CR LF');
    // Content objects as another reader may give them (a live site's SMS_PackageBaseclass rows): written as the class of
    // their kind; a task sequence is no content object and is left to the catalog.
    const contentObjects = [
      { className: 'SMS_PackageBaseclass', packageId: 'SMP00097', name: 'Drivers', version: '1.0', sourceVersion: 3, kind: 'DriverPackage' as const, source: 'live' },
      { className: 'SMS_PackageBaseclass', packageId: 'SMP00099', name: 'Child', version: null, sourceVersion: 1, kind: 'TaskSequence' as const, source: 'live' },
    ];
    const site = new Site({ ...partsOf(sample), descriptor: null, taskSequences: [odd], applications: [], contentObjects, distributionPoints: [] });
    const copy = await assertSameSite(site, join(tempDir(t), 'snap'));
    assert.equal(copy.taskSequences[0]?.sequenceXml, sequenceXml);
    assert.equal(copy.taskSequences[0]?.sourceSite, null);
    assert.deepEqual(copy.taskSequences[0]?.references, odd.references);
    assert.deepEqual(withoutSource(copy.contentObjects), withoutSource([{ ...contentObjects[0], className: 'SMS_DriverPackage' }]));
  });
});

describe('site snapshot: refusals and clean-up', () => {
  const partials = (parent: string): string[] => readdirSync(parent).filter((n) => n.includes('.partial-'));

  test('an existing non-empty folder or a file is refused and left as it was; an empty folder is used', async (t) => {
    const work = tempDir(t);
    const site = await Site.open(SAMPLE_SITE);
    const full = join(work, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'mine');
    await assert.rejects(writeSiteSnapshot(site, full), (e: unknown) => e instanceof InputError && /is not empty, and a snapshot never writes over a folder\. Choose a new or empty folder/.test(e.message));
    assert.deepEqual(readdirSync(full), ['keep.txt']);
    writeFileSync(join(work, 'file'), 'x');
    await assert.rejects(writeSiteSnapshot(site, join(work, 'file')), (e: unknown) => e instanceof InputError && /is a file, not a folder/.test(e.message));
    const empty = join(work, 'empty');
    mkdirSync(empty);
    const r = await writeSiteSnapshot(site, empty);
    assert.equal(r.outDir, empty);
    assert.equal(r.exports.length, 5);
    assert.deepEqual(partials(work), []);
  });

  test('a failure part-way or a cancel removes the partial folder and leaves nothing under the final name', async (t) => {
    const work = tempDir(t);
    const sample = await Site.open(SAMPLE_SITE);
    // The second task sequence cannot be written (not a package ID): the first export is already in the partial folder.
    const bad = { ...sample.taskSequences[0], packageId: 'BAD' };
    const failing = new Site({ ...partsOf(sample), taskSequences: [sample.taskSequences[0], bad] });
    const out = join(work, 'out');
    await assert.rejects(writeSiteSnapshot(failing, out), (e: unknown) => e instanceof InputError && /"BAD" is not a package ID/.test(e.message));
    assert.equal(existsSync(out), false);
    assert.deepEqual(partials(work), []);

    // Cancelled after the second export: at that moment the partial folder holds two zips.
    let checks = 0;
    let seen: string[] = [];
    const signal = {
      get aborted(): boolean {
        checks += 1;
        if (checks < 4) return false;
        seen = partials(work).flatMap((p) => readdirSync(join(work, p, 'exports')));
        return true;
      },
    } as unknown as AbortSignal;
    await assert.rejects(writeSiteSnapshot(sample, out, { signal }), CancelledError);
    assert.equal(seen.length, 2, `the partial folder held ${seen.join(', ')}`);
    assert.equal(existsSync(out), false);
    assert.deepEqual(partials(work), []);
  });
});

describe('site snapshot: the command and the media', () => {
  const TIMESTAMP = '2026-01-02T03:04:05Z';
  const IDENTITY = ['SMS/data/Variables.dat', 'SMS/data/Policy.xml', 'SMS/data/tsmedia-manifest.json'];
  let work = '';
  let snap = '';
  const media: Record<'site' | 'snapshot', Map<string, Buffer>> = { site: new Map(), snapshot: new Map() };

  after(() => rmSync(work, { recursive: true, force: true }));
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'tsmedia-test-'));
    snap = join(work, 'snap');
    const r = runCli(['site', 'snapshot', '--out', snap]);
    assert.equal(r.status, 0, r.stderr);
    for (const which of ['site', 'snapshot'] as const) {
      const out = join(work, which, 'media.iso');
      mkdirSync(dirname(out));
      const site = which === 'site' ? SAMPLE_SITE : snap;
      const c = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--out', out, '--timestamp', TIMESTAMP, '--no-verify'], { XDG_STATE_HOME: join(work, 'state') });
      assert.equal(c.status, 0, c.stderr);
      const v = openIso(out);
      try {
        for (const f of v.files()) media[which].set(f.path, v.readFileBuffer(f.path));
      } finally {
        v.close();
      }
    }
  });

  test('site snapshot prints the paths it wrote and the libraries it did not copy; --json parses; exit 0', (t) => {
    const dir = tempDir(t);
    const r = runCli(['site', 'snapshot', '--site', SAMPLE_SITE, '--out', join(dir, 'a')]);
    assert.equal(r.status, 0, r.stderr);
    for (const id of ['SMP00010', 'SMP00014']) assert.ok(r.stdout.includes(join(dir, 'a', 'exports', `${id}.zip`)), r.stdout);
    assert.ok(r.stdout.includes(join(dir, 'a', 'tsmedia-site.json')));
    assert.match(r.stdout, /content libraries were not copied/);
    assert.ok(r.stdout.includes(`DP02: ${join(SAMPLE_SITE, 'SCCMContentLib_DP02')}`), r.stdout);

    const j = runCli(['site', 'snapshot', '--out', join(dir, 'b'), '--json']);
    assert.equal(j.status, 0, j.stderr);
    const parsed = JSON.parse(j.stdout) as { outDir: string; exports: string[]; taskSequences: number; descriptor: string; distributionPoints: { name: string }[] };
    assert.equal(parsed.outDir, join(dir, 'b'));
    assert.equal(parsed.taskSequences, 5);
    assert.deepEqual(parsed.exports.map((e) => basename(e)), ['SMP00010.zip', 'SMP00011.zip', 'SMP00012.zip', 'SMP00013.zip', 'SMP00014.zip']);
    for (const e of [...parsed.exports, parsed.descriptor]) assert.ok(existsSync(e), e);
    assert.deepEqual(parsed.distributionPoints.map((d) => d.name), ['DP01', 'DP02']);

    const again = runCli(['site', 'snapshot', '--out', join(dir, 'b')]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^tsmedia: .* is not empty, and a snapshot never writes over a folder\./);
    for (const [args, message] of [[['site'], /site needs a subcommand/], [['site', 'snap'], /unknown site subcommand "snap"/], [['site', 'snapshot'], /site snapshot needs --out DIR/]] as const) {
      const u = runCli([...args]);
      assert.equal(u.status, 1, args.join(' '));
      assert.match(u.stderr, message);
    }
  });

  test('the same media from the snapshot: every file but the three that carry the media GUID is the same', () => {
    const [a, b] = [media.site, media.snapshot];
    assert.ok(a.size > 20, `${a.size} files on the media`);
    assert.deepEqual([...b.keys()], [...a.keys()], 'the same files in the same order');
    for (const [path, data] of a) if (!IDENTITY.includes(path)) assert.ok(data.equals(b.get(path) ?? Buffer.alloc(0)), `${path} is the same byte for byte`);
    // The manifest: the same but for the GUID and the two encrypted files' sizes and hashes.
    type Manifest = { mediaGuid: string; files: { path: string; size: number; sha256: string; parts: { size: number }[] }[] };
    const blank = (m: Map<string, Buffer>): Manifest => {
      const x = JSON.parse(m.get('SMS/data/tsmedia-manifest.json')?.toString('utf8') ?? '{}') as Manifest;
      return { ...x, mediaGuid: '', files: x.files.map((f) => (IDENTITY.includes(f.path) ? { ...f, size: 0, sha256: '', parts: f.parts.map((p) => ({ ...p, size: 0 })) } : f)) };
    };
    assert.ok(blank(a).files.length > 20);
    assert.deepEqual(blank(b), blank(a));
    // The reports name nothing of the site's folder either: the same but for the GUID.
    const report = (which: string): string => readFileSync(join(work, which, 'media.report.json'), 'utf8').replace(/"mediaGuid": "[^"]*"/, '');
    assert.equal(report('snapshot'), report('site'));
  });

  test('the same environment: the same variables (but the media GUID and its certificate) and policy', (t) => {
    if (!requireOrSkip(t, hasCommand('python3') && hasCommand('openssl'), 'python3 and openssl decode the environment (scripts/setup.sh installs them)')) return;
    const env = (which: 'site' | 'snapshot'): { variables: { name: string; value: string }[]; policy: Record<string, string> } => {
      const dir = join(work, `env-${which}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'Variables.dat'), media[which].get('SMS/data/Variables.dat') ?? Buffer.alloc(0));
      writeFileSync(join(dir, 'Policy.xml'), media[which].get('SMS/data/Policy.xml') ?? Buffer.alloc(0));
      const r = spawnSync('python3', [join(ROOT, 'test/oracle/media_decrypt.py'), join(dir, 'Variables.dat'), join(dir, 'Policy.xml')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { variables: { name: string; value: string }[]; policy: Record<string, string> };
    };
    const [a, b] = [env('site'), env('snapshot')];
    const own = new Set(['_SMSMediaGuid', '_SMSTSMediaPFX']);
    const plain = (e: typeof a): unknown[] => e.variables.map((v) => (own.has(v.name) ? v.name : v));
    for (const name of own) assert.ok(a.variables.some((v) => v.name === name), `${name} in ${a.variables.map((v) => v.name).join(', ')}`);
    assert.deepEqual(plain(b), plain(a));
    assert.deepEqual(b.policy, a.policy);
  });
});
