// `tsmedia refresh` (issue 20) on USB images made by `tsmedia create`: a changed package is all that is written (with
// the environment, the manifest and the folders), the result verifies, fsck.fat finds it clean and mtools reads every
// file with the manifest's hash; password, dates or variables alone rewrite only the environment files; the change list
// comes before anything is written (--dry-run writes nothing); what a refresh cannot help is refused with what to do.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { runCli, tempDir } from './helpers.js';
import { fsckVolume, missingFatTools, mtoolsHash } from './support/fat32Tools.js';
import { addPackage, copySampleSite, randomFile, updatePackage } from './support/sites.js';

const MiB = 1024 * 1024;
const PART = 1024 * 1024;
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

interface Changes {
  added: { path: string }[];
  replaced: { path: string }[];
  removed: { path: string }[];
  keptFiles: number;
  bytesToWrite: number;
  fullBytes: number;
}

function clustersOf(img: string): Map<string, number> {
  const v = openFat32(img);
  try {
    return new Map(v.files().map((f) => [f.path, f.cluster]));
  } finally {
    v.close();
  }
}

function assertFsckClean(img: string, dir: string, what: string): void {
  const r = fsckVolume(img, PART, dir);
  assert.ok(r, `${what}: fsck.fat could not run`);
  assert.equal(r.status, 0, `${what}: ${r.output}`);
  assert.doesNotMatch(r.output, /Leaving filesystem unchanged|wrong|Orphan|FATs differ|Reclaimed/i, `${what}: ${r.output}`);
}

describe('tsmedia refresh', () => {
  test('a changed package: only it, the environment and the folders are written; verify, fsck.fat and mtools agree; kept files stay in place', async (t) => {
    const missing = missingFatTools();
    if (missing.length) return t.skip(`missing ${missing.join(', ')}`);
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const site = copySampleSite(join(dir, 'site'));
    const payload = join(dir, 'drivers-v1.cab');
    randomFile(payload, 6 * MiB);
    await addPackage(site, 'SMP00091', [{ relativePath: 'Treiber für Geräte/drivers.cab', sourcePath: payload }, { relativePath: 'readme.txt', sourcePath: join(site, 'tsmedia-site.json') }], 'Drivers');
    const img = join(dir, 'stick.img');
    const base = ['--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00091'];
    const made = runCli(['create', ...base, '--media', 'usb', '--image', img, '--image-size', '256MiB'], env);
    assert.equal(made.status, 0, made.stderr);
    const before = clustersOf(img);

    const payload2 = join(dir, 'drivers-v2.cab');
    randomFile(payload2, 6 * MiB + 12345);
    await updatePackage(site, 'SMP00091', [{ relativePath: 'Treiber für Geräte/drivers.cab', sourcePath: payload2 }, { relativePath: 'readme.txt', sourcePath: join(site, 'tsmedia-site.json') }]);

    // The change list first, and a dry run writes nothing.
    const imgHash = sha(img);
    const dry = runCli(['refresh', img, ...base, '--dry-run', '--json'], env);
    assert.equal(dry.status, 0, dry.stderr);
    assert.equal(sha(img), imgHash, 'a dry run writes nothing');
    const dryResult = JSON.parse(dry.stdout.slice(dry.stdout.indexOf('{'))) as { written: boolean; changes: Changes };
    assert.equal(dryResult.written, false);
    assert.ok(dryResult.changes.replaced.some((f) => f.path.endsWith('Treiber für Geräte/drivers.cab')), JSON.stringify(dryResult.changes.replaced));
    assert.deepEqual(dryResult.changes.added, []);
    assert.deepEqual(dryResult.changes.removed, []);
    assert.match(dry.stdout, /~ SMS\/PKG\/SMP00091\/Treiber für Geräte\/drivers\.cab/);

    const r = runCli(['refresh', img, ...base, '--label', 'Drivers v2', '--json'], env);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { written: boolean; verified: boolean; bytesWritten: number; changes: Changes };
    assert.equal(result.written, true);
    assert.equal(result.verified, true);
    // The changed package is most of what is written; far less than the whole media.
    assert.ok(result.bytesWritten < 6 * MiB + 12345 + 1 * MiB, `${result.bytesWritten} bytes written`);
    assert.ok(result.changes.keptFiles >= 30, `${result.changes.keptFiles} files kept`);

    const v = runCli(['verify', img, '--json'], env);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assertFsckClean(img, dir, 'after the refresh');
    const after = clustersOf(img);
    const vol = openFat32(img);
    const manifest = JSON.parse(vol.readFileBuffer('SMS/data/tsmedia-manifest.json').toString('utf8')) as { label: string; files: { path: string; sha256: string }[] };
    assert.equal(vol.label, 'DRIVERS V2');
    vol.close();
    assert.equal(manifest.label, 'Drivers v2');
    const replaced = new Set(result.changes.replaced.map((f) => f.path));
    for (const f of manifest.files) {
      assert.equal(await mtoolsHash(img, PART, f.path), f.sha256.toLowerCase(), `mtools reads ${f.path} with the manifest's hash`);
      if (!replaced.has(f.path)) assert.equal(after.get(f.path), before.get(f.path), `${f.path} stayed in its clusters`);
    }

    // A create of the same inputs gives the same file tree: the same paths, and the same bytes but for the environment
    // files, which hold each run's own media GUID and certificate keys.
    const fresh = join(dir, 'fresh.img');
    const c = runCli(['create', ...base, '--label', 'Drivers v2', '--media', 'usb', '--image', fresh, '--image-size', '256MiB'], env);
    assert.equal(c.status, 0, c.stderr);
    const tree = (path: string): Map<string, string> => {
      const w = openFat32(path);
      try {
        return new Map(w.files().map((f) => [f.path, /^SMS\/data\//.test(f.path) ? '(environment)' : createHash('sha256').update(w.readFileBuffer(f.path)).digest('hex')]));
      } finally {
        w.close();
      }
    };
    assert.deepEqual([...tree(img)].sort(), [...tree(fresh)].sort());
  });

  test('password, dates and variables alone rewrite only the environment files and the manifest', (t) => {
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const img = join(dir, 'stick.img');
    const made = runCli(['create', '--task-sequence', 'SMP00010', '--media', 'usb', '--image', img, '--image-size', '128MiB'], env);
    assert.equal(made.status, 0, made.stderr);
    const before = readFileSync(img);
    const pw = join(dir, 'pw.txt');
    writeFileSync(pw, 'S3cret-Passw0rd\n');
    const r = runCli(['refresh', img, '--task-sequence', 'SMP00010', '--password-file', pw, '--start', '2026-01-01T00:00:00Z', '--expire', '2027-01-01T00:00:00Z', '--var', 'OSDComputerName=DEPOT01', '--json'], env);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { verified: boolean; bytesWritten: number; changes: Changes & { method: string } };
    assert.equal(result.verified, true);
    const environment = new Set(['SMS/data/TsmBootstrap.ini', 'SMS/data/Variables.dat', 'SMS/data/Policy.xml']);
    assert.ok(result.changes.replaced.length > 0 && result.changes.replaced.every((f) => environment.has(f.path)), JSON.stringify(result.changes.replaced));
    assert.deepEqual([...result.changes.added, ...result.changes.removed], []);
    assert.equal(result.changes.method, 'rewrite', 'rewritten in their own clusters');
    assert.doesNotMatch(r.stdout + r.stderr, /S3cret-Passw0rd/, 'the password stays out of the output');

    // On the volume: every byte that changed lies in the clusters of the environment files or the manifest, in the
    // folder holding their entries, or in free space (the journal's body). FATs, boot sectors, reserved sectors, every
    // other file and folder are as they were.
    const after = readFileSync(img);
    const v = openFat32(img);
    try {
      const owned: [number, number][] = [];
      for (const p of [...environment, 'SMS/data/tsmedia-manifest.json']) {
        for (const run of v.find(p)?.runs ?? []) owned.push([v.clusterOffset(run.cluster), v.clusterOffset(run.cluster) + run.count * v.clusterSize]);
      }
      for (const c of v.readDirectory('SMS/data')?.chain ?? []) owned.push([v.clusterOffset(c), v.clusterOffset(c) + v.clusterSize]);
      const free = (off: number): boolean => off >= v.clusterOffset(2) && v.fatEntry(2 + Math.floor((off - v.clusterOffset(2)) / v.clusterSize)) === 0;
      let changed = 0;
      let inFiles = 0;
      for (let off = 0; off < before.length; off += 512) {
        if (before.subarray(off, off + 512).equals(after.subarray(off, off + 512))) continue;
        changed += 512;
        const ours = owned.some(([a, b]) => off >= a && off < b);
        if (ours) inFiles += 512;
        assert.ok(ours || free(off), `the sector at ${off} changed outside the environment files, their folder and free space`);
      }
      assert.ok(inFiles > 0, 'the environment files changed');
      assert.ok(result.bytesWritten <= 2 * changed + 64 * 1024, `${result.bytesWritten} bytes written for ${changed} bytes changed (the files, then their journal)`);
    } finally {
      v.close();
    }
    if (missingFatTools().length === 0) assertFsckClean(img, dir, 'rewritten in place');
    const verify = runCli(['verify', img], env);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  });

  test('refused with what to do: another task sequence, a volume not made by tsmedia, a changed volume, an ISO, an unconfirmed drive', (t) => {
    const missing = missingFatTools();
    if (missing.length) return t.skip(`missing ${missing.join(', ')}`);
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const img = join(dir, 'stick.img');
    assert.equal(runCli(['create', '--task-sequence', 'SMP00010', '--media', 'usb', '--image', img, '--image-size', '128MiB'], env).status, 0);
    const other = runCli(['refresh', img, '--task-sequence', 'SMP00011'], env);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /task sequence SMP00010 .*not SMP00011.*tsmedia create/);

    const foreign = join(dir, 'foreign.img');
    assert.equal(runCli(['create', '--task-sequence', 'SMP00010', '--media', 'usb', '--image', foreign, '--image-size', '128MiB'], env).status, 0);
    // Another tool's change: a file of the manifest made shorter.
    const changed = runCli(['refresh', foreign, '--task-sequence', 'SMP00010', '--dry-run'], env);
    assert.equal(changed.status, 0, changed.stderr);
    const mt = (args: string[]): void => {
      const p = spawnSync(args[0], args.slice(1), { encoding: 'utf8', env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
      assert.equal(p.status, 0, p.stderr);
    };
    writeFileSync(join(dir, 'short.txt'), 'x');
    mt(['mcopy', '-o', '-i', `${foreign}@@${PART}`, join(dir, 'short.txt'), '::/MediaLabel.txt']);
    const mismatch = runCli(['refresh', foreign, '--task-sequence', 'SMP00010'], env);
    assert.equal(mismatch.status, 1);
    assert.match(mismatch.stderr, /does not match its manifest \(MediaLabel\.txt has 1 bytes, the manifest says \d+\).*tsmedia create/);

    const plain = join(dir, 'plain.img');
    mt(['mkfs.fat', '-C', '-F', '32', plain, String(64 * 1024)]);
    const notOurs = runCli(['refresh', plain, '--task-sequence', 'SMP00010'], env);
    assert.equal(notOurs.status, 1);
    assert.match(notOurs.stderr, /no SMS\/data\/tsmedia-manifest\.json on the volume: it was not made by tsmedia/);

    const iso = join(dir, 'media.iso');
    writeFileSync(iso, 'not really');
    const isoRun = runCli(['refresh', iso, '--task-sequence', 'SMP00010'], env);
    assert.equal(isoRun.status, 1);
    assert.match(isoRun.stderr, /ISO sets are not refreshed/);
    const noConfirm = runCli(['refresh', '/dev/tsmedia-no-such-drive', '--task-sequence', 'SMP00010'], env);
    assert.equal(noConfirm.status, 1);
    assert.match(noConfirm.stderr, /drive \/dev\/tsmedia-no-such-drive is not connected/);
  });
});
