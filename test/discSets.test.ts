// CD/DVD sets of realistic sites at the smallest disc size, end to end (issue 11): `tsmedia create` spans the discs,
// `tsmedia verify` reads every file back from them; a file of many discs makes a manifest that still fits its slot.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import { CancelledError } from '../electron/engine/io/ImageWriter.js';
import { createIsoSet, type PlanSummary } from '../electron/engine/media/MediaBuilder.js';
import { Site } from '../electron/engine/site/Site.js';
import { runCli, tempDir } from './helpers.js';
import { isoRequest } from './support/hostClient.js';
import { addDeepNonAsciiPackage, addLargeNonWimPackage, copySampleSite } from './support/sites.js';

const MiB = 1024 * 1024;

describe('disc sets of realistic sites', () => {
  test('250 files in deep non-ASCII folders and a WIM on 64 MiB discs: the set is made and verify finds every file', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const { files, bytes } = await addDeepNonAsciiPackage(site, dir, { count: 250, wimBytes: 40 * MiB + 4321 });
    assert.ok(bytes > 80 * MiB, `${bytes} bytes span two 64 MiB discs`);
    mkdirSync(join(dir, 'out'));
    const out = join(dir, 'out', 'set.iso');
    const mk = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00099', '--size', String(64 * MiB), '--out', out, '--no-verify'], {
      XDG_STATE_HOME: join(dir, 'state'),
    });
    assert.equal(mk.status, 0, mk.stdout + mk.stderr);
    const discs = readdirSync(join(dir, 'out')).filter((n) => /^set(-\d+)?\.iso$/.test(n)).map((n) => join(dir, 'out', n));
    assert.ok(discs.length >= 2, `a set: ${discs.join(', ')}`);
    for (const d of discs) assert.ok(statSync(d).size <= 64 * MiB, `${d} fits the disc`);
    const v = runCli(['verify', ...discs, '--json']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const report = JSON.parse(v.stdout) as { status: number; filesChecked: number; problems: unknown[] };
    assert.deepEqual(report.problems, []);
    assert.ok(report.filesChecked >= files, `${report.filesChecked} files verified, the package's ${files} among them`);
  });

  test('a 20 GiB file on 64 MiB discs: the manifest listing its hundreds of parts is planned into every disc', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    // A sparse blob: planning never reads it, and the run is cancelled once the plan is made.
    await addLargeNonWimPackage(site, dir, { packageId: 'SMP00098', fileName: 'archive.7z', size: 20 * 1024 ** 3 });
    const ac = new AbortController();
    let plan: PlanSummary | null = null;
    const run = createIsoSet(await Site.open(site), isoRequest(join(dir, 'set.iso'), { site, packages: ['SMP00098'], size: 64 * MiB }), {
      signal: ac.signal,
      userLogDir: null,
      onPlan: (p) => {
        plan = p;
        ac.abort();
      },
    });
    // Cancelled once planned (or refused for want of 20 GiB of free space, which is checked after the plan).
    await assert.rejects(run, (err: unknown) => err instanceof CancelledError || (err instanceof InputError && / free, the media needs /.test(err.message)));
    const planned = plan as PlanSummary | null;
    assert.ok(planned !== null, 'the set was planned');
    assert.ok(planned.discs.length > 300, `${planned.discs.length} discs`);
    for (const d of planned.discs) assert.ok(d.bytes <= 64 * MiB, `${d.file}: ${d.bytes} bytes`);
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('set')), [], 'nothing written under the final names');
  });
});
