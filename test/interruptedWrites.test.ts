// Interrupted writes, a fixed-seed slice of `npm run killtest` (test/support/killer.ts): for an ISO set and a USB image,
// `tsmedia create` writing over a good earlier output is killed (SIGKILL to its process group) at 3 byte offsets spread
// over the write, cancelled once with Ctrl+C (SIGINT) and once with cancelMedia through a loopback host in its own
// process. Every time the earlier output stays byte for byte; after each kill the next run succeeds, leaves no
// temporary file and verifies. And partial files a run killed at any moment left — the media's and its companions' —
// are removed by the next run, never a live run's or another output's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, tempDir } from './helpers.js';
import { formatKillTable, runKillCampaign, seededRandom, spreadOffsets } from './support/killer.js';

const SEED = 20251125;

describe('interrupted writes', () => {
  test('offsets: one per stratum, so they cover the whole write; the same seed gives the same offsets', () => {
    const a = spreadOffsets(20, 1000, seededRandom(5));
    assert.deepEqual(a, spreadOffsets(20, 1000, seededRandom(5)));
    assert.deepEqual(
      [...a].sort((x, y) => x - y).map((x) => Math.floor(x / 50)),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.ok(a.every((x) => x >= 0 && x < 1000));
  });

  test(`seed ${SEED}: 3 SIGKILLs, 1 Ctrl+C and 1 cancelMedia per kind; the earlier output is intact, the next run succeeds and verifies`, async (t) => {
    const work = tempDir(t, 'tsmedia-kill-test-');
    const report = await runKillCampaign({ work, kinds: ['iso', 'usb'], kills: 3, sigints: 1, apiCancels: 1, seed: SEED, payloadBytes: 48 * 1024 * 1024 });
    console.log(formatKillTable(report).replace(/^/gm, '# '));
    assert.deepEqual(report.failures, []);
    // Every file of the earlier set is hashed before and compared after each interruption (and a file that appears
    // under a final name is a failure): the media, its .sha256 (ISO), both reports.
    const sets = { iso: ['media.iso', 'media.iso.sha256', 'media.report.json', 'media.report.md'], usb: ['usb.img', 'usb.report.json', 'usb.report.md'] };
    for (const k of report.kinds) assert.deepEqual(k.hashedFiles.filter((n) => n !== 'state'), sets[k.kind], `${k.kind}: the whole earlier set is checked`);
    for (const k of report.kinds) {
      assert.equal(k.kills, 3, `${k.kind}: every kill came before the run ended`);
      assert.ok(k.killsDuringWrite >= 2, `${k.kind}: kills landed while the content was being written (${k.killsDuringWrite} of 3)`);
      assert.equal(k.recoveryRuns, 3);
      assert.equal(k.sigints, 1, `${k.kind}: Ctrl+C came while writing`);
      assert.equal(k.apiCancels, 1, `${k.kind}: cancelMedia came while writing`);
      assert.ok(k.spread && k.spread[1] - k.spread[0] > 0.3, `${k.kind}: kills spread over the write (${JSON.stringify(k.spread)})`);
    }
    for (const r of report.records.filter((x) => x.how === 'SIGKILL')) assert.ok(r.partialsLeft >= 1, 'a killed run leaves its temporary file (until the next run)');
    for (const r of report.records.filter((x) => x.how !== 'SIGKILL')) assert.ok(r.latencyMs !== null && r.latencyMs < 5000, `${r.kind} ${r.how}: ended ${r.latencyMs} ms after the cancel`);
  });

  test("the next run removes a killed run's partial files whatever it was writing — never a live run's or another output's", (t) => {
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    // A process that has ended: its ID is what a killed run's partial files carry.
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
    const stale = (name: string, pid: string | number = dead): string => `.${name}.tsmedia-${pid}-0123abcd.partial`;
    const cases: [string, string[], string[]][] = [
      ['media.iso', ['media.iso', 'media.iso.sha256', 'media.report.md', 'media.report.json'], ['create', '--task-sequence', 'SMP00010', '--out', join(dir, 'iso', 'media.iso')]],
      ['usb.img', ['usb.img', 'usb.report.md', 'usb.report.json'], ['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', join(dir, 'usb', 'usb.img'), '--image-size', '64MiB']],
    ];
    for (const [, names, args] of cases) {
      const sub = join(dir, names[0] === 'media.iso' ? 'iso' : 'usb');
      spawnSync('mkdir', ['-p', sub]);
      for (const n of names) writeFileSync(join(sub, stale(n)), 'left by a killed run');
      const keep = [stale('other.iso'), stale(names[0], process.pid)];
      for (const n of keep) writeFileSync(join(sub, n), 'not this run’s to remove');
      const r = runCli(args, env);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(readdirSync(sub).filter((n) => n.endsWith('.partial')).sort(), keep.sort(), `${names[0]}: only the killed run's partial files are removed`);
      assert.ok(names.every((n) => existsSync(join(sub, n))));
    }
  });
});
