// Output that is never lost: refused runs write nothing, and a failed write keeps the earlier ISO. Interrupted writes
// (SIGKILL at chosen byte offsets, Ctrl+C, cancelMedia) are test/interruptedWrites.test.ts (npm run killtest).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, tempDir } from './helpers.js';
import { copySampleSite } from './support/sites.js';

const fileSha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

function finalNames(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.endsWith('.partial')).sort();
}

const SET = ['media.iso', 'media.iso.sha256', 'media.report.md', 'media.report.json'];
const LOG = 'CreateTSMedia.log';

/** Every file of an ISO set in `dir` (the ISO, its .sha256, both reports) by its SHA-256, and the log's text. */
function snapshotSet(dir: string): { files: Record<string, string>; log: string } {
  const names = finalNames(dir).filter((n) => n !== 'state' && n !== 'site');
  assert.deepEqual(names, [LOG, ...SET].sort(), 'the set is whole: the ISO, its .sha256, both reports and the log');
  return { files: Object.fromEntries(SET.map((n) => [n, fileSha(join(dir, n))])), log: readFileSync(join(dir, LOG), 'utf8') };
}

/** After a failed run: every file of the earlier set (but `except`) byte for byte, the log only added to, no temporary file. */
function assertSetKept(dir: string, before: { files: Record<string, string>; log: string }, except: string[] = []): void {
  for (const n of SET.filter((x) => !except.includes(x))) assert.equal(fileSha(join(dir, n)), before.files[n], `${n} of the earlier set is untouched`);
  const log = readFileSync(join(dir, LOG), 'utf8');
  assert.ok(log.startsWith(before.log) && log.length > before.log.length, 'the log keeps the earlier runs and tells of this one');
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.partial')), [], 'no temporary file left');
}

describe('safe output', () => {
  test('refused runs exit 1, name the problem and write nothing', (t) => {
    const dir = tempDir(t);
    const out = join(dir, 'media.iso');
    writeFileSync(out, 'an earlier ISO');
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const cases: [string[], RegExp][] = [
      [['--task-sequence', 'SMP00012'], /cannot be put on stand-alone media: This task sequence is not associated with a boot image/],
      [['--task-sequence', 'SMP00010', '--dp', 'DP02'], /distribution point "DP02" does not hold all the content: it lacks SMP00005, SMP00008/],
      [['--task-sequence', 'SMP00010', '--dp', 'DP09'], /distribution point "DP09" is not in the site \(it has: DP01, DP02\)/],
      [['--task-sequence', 'SMP00010', '--label', 'a:b'], /--label: The media label cannot hold/],
      [['--task-sequence', 'SMP00010', '--start', '2027-01-01', '--expire', '2026-01-01'], /--expire must be after --start/],
      [['--task-sequence', 'SMP00010', '--package', 'SMP0BEEF'], /--package SMP0BEEF: the site knows no such package/],
      [['--task-sequence', 'SMP00010', '--driver-package', 'SMP00008'], /--driver-package SMP00008: it is a Package, not a DriverPackage/],
      [['--task-sequence', 'SMP00010', '--secret-var', 'X=plain'], /--secret-var X: give the value as @FILE/],
      [['--task-sequence', 'SMP00010', '--var', '_SMSTSBad=1'], /variable _SMSTSBad: "_SMSTSBad" starts with "_"/],
      [['--task-sequence', 'SMP00010', '--size', 'floppy'], /--size "floppy": use cd650/],
      [['--task-sequence', 'SMP00010', '--password-env', 'TSMEDIA_NO_SUCH_VAR'], /--password-env TSMEDIA_NO_SUCH_VAR: that environment variable is not set/],
      [['--task-sequence', 'SMP00099'], /task sequence SMP00099 is not in the site/],
    ];
    for (const [args, re] of cases) {
      const r = runCli(['create', '--out', out, ...args], env);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    const missingDir = runCli(['create', '--task-sequence', 'SMP00010', '--out', join(dir, 'nope', 'x.iso')], env);
    assert.equal(missingDir.status, 1);
    assert.match(missingDir.stderr, /the folder .*nope does not exist/);
    assert.equal(readFileSync(out, 'utf8'), 'an earlier ISO');
    // Only the log, which says why the run was refused.
    assert.deepEqual(readdirSync(dir).filter((n) => n !== 'state'), ['CreateTSMedia.log', 'media.iso'], 'nothing else was written');
    assert.match(readFileSync(join(dir, 'CreateTSMedia.log'), 'utf8'), /failed: task sequence SMP00012 cannot be put on stand-alone media/);
  });

  test('a damaged content library fails the write (exit 2) and keeps the earlier ISO', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const out = join(dir, 'media.iso');
    assert.equal(runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--out', out], env).status, 0);
    const before = snapshotSet(dir);
    // Damage the OS image's blob on both distribution points.
    const manifestLib = join(site, 'SCCMContentLib_DP01', 'DataLib', 'SMP00002.1', 'install.wim.INI');
    const hash = /Hash=([0-9A-F]{64})/.exec(readFileSync(manifestLib, 'utf8'))?.[1] as string;
    for (const dp of ['SCCMContentLib_DP01', 'SCCMContentLib_DP02']) {
      const blob = join(site, dp, 'FileLib', hash.slice(0, 4), hash);
      const b = readFileSync(blob);
      b[100] ^= 0x55;
      writeFileSync(blob, b);
    }
    const r = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--out', out], env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /SMP00002\.1\\install\.wim: the bytes read from .* do not match the content library/);
    assertSetKept(dir, before);
  });

  test('a final name a file cannot take (a folder) fails the run before any file of the set is replaced', (t) => {
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const out = join(dir, 'media.iso');
    assert.equal(runCli(['create', '--task-sequence', 'SMP00010', '--out', out], env).status, 0);
    const before = snapshotSet(dir);
    // The .sha256 becomes a folder: the set cannot be put in place, so none of its files may be replaced (the reports
    // are written under temporary names and renamed with the rest, or not at all).
    rmSync(`${out}.sha256`);
    mkdirSync(join(`${out}.sha256`, 'inside'), { recursive: true });
    const r = runCli(['create', '--task-sequence', 'SMP00010', '--out', out], env);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /cannot put .*media\.iso\.sha256 in place: it is a folder, a file was expected\. Nothing was replaced\./);
    assert.deepEqual(readdirSync(`${out}.sha256`), ['inside'], 'the folder in the way is left as it was');
    assertSetKept(dir, before, ['media.iso.sha256']);
  });
});
