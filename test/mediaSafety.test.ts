// Output that is never lost: refused runs write nothing, failures and cancellation keep the earlier ISO, and a writer
// killed at random points leaves no partial file under a final name; the next run succeeds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT, runCli, tempDir } from './helpers.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

const fileSha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

function finalNames(dir: string): string[] {
  return readdirSync(dir).filter((n) => !n.endsWith('.partial')).sort();
}

function startCreate(args: string[], env: NodeJS.ProcessEnv): ReturnType<typeof spawn> {
  return spawn(process.execPath, [join(ROOT, 'bin', 'tsmedia.js'), 'create', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
    const before = fileSha(out);
    const names = finalNames(dir);
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
    assert.equal(fileSha(out), before, 'the earlier ISO is untouched');
    assert.deepEqual(finalNames(dir), names);
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.partial')), [], 'temporary files removed');
  });

  test('Ctrl+C (SIGINT) cancels with exit 130 and keeps the earlier ISO; a writer killed at random points never leaves a final-named partial', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const big = join(dir, 'big.bin');
    randomFile(big, 400 * 1024 * 1024);
    await addPackage(site, 'SMP00099', [{ relativePath: 'big.bin', sourcePath: big }]);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const outDir = join(dir, 'out');
    spawn('mkdir', ['-p', outDir]);
    await wait(50);
    const out = join(outDir, 'media.iso');
    writeFileSync(out, 'the earlier media');
    const before = fileSha(out);
    const args = ['--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00099', '--out', out];

    // SIGINT while writing.
    const p = startCreate(args, env);
    let stderr = '';
    p.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    while (!/writing/.test(stderr) && p.exitCode === null) await wait(20);
    await wait(150);
    const t0 = Date.now();
    p.kill('SIGINT');
    const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    const latency = Date.now() - t0;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /cancelled: nothing was replaced/);
    console.log(`# cancel latency (SIGINT to exit): ${latency} ms`);
    assert.equal(fileSha(out), before);
    assert.deepEqual(readdirSync(outDir).filter((n) => n.endsWith('.partial')), []);

    // How long a whole run takes here (to another folder), so every kill lands while the writer is at work.
    const probeDir = join(dir, 'probe');
    spawn('mkdir', ['-p', probeDir]);
    await wait(50);
    const t1 = Date.now();
    assert.equal(runCli(['create', ...args.slice(0, -1), join(probeDir, 'probe.iso')], env).status, 0);
    const runMs = Date.now() - t1;

    // SIGKILL at random moments: nothing under a final name but the earlier ISO; its bytes unchanged.
    const kills = Number(process.env.TSMEDIA_KILL_RUNS ?? 5);
    let before2 = before;
    for (let i = 0; i < kills; i++) {
      const k = startCreate(args, env);
      const exited = new Promise((r) => k.on('exit', r));
      await wait(100 + Math.floor(Math.random() * runMs * 0.5));
      if (k.exitCode !== null) {
        // On a busy machine a run can finish before its kill: then it must have succeeded whole.
        assert.equal(k.exitCode, 0, `run ${i + 1} ended before its kill, and not with success`);
        assert.equal(runCli(['verify', out]).status, 0);
        before2 = fileSha(out);
        console.log(`# run ${i + 1} finished before its kill; it produced complete, verified media`);
        continue;
      }
      k.kill('SIGKILL');
      await exited;
      const expected = before2 === before ? ['CreateTSMedia.log', 'media.iso'] : ['CreateTSMedia.log', 'media.iso', 'media.iso.sha256', 'media.report.json', 'media.report.md'];
      assert.deepEqual(finalNames(outDir), expected.filter((n) => existsSync(join(outDir, n))), `kill ${i + 1}: no new final-named file`);
      assert.equal(fileSha(out), before2, `kill ${i + 1}: the earlier ISO is intact`);
    }
    // The next run succeeds and clears what the killed runs left.
    const ok = runCli(['create', ...args], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.notEqual(fileSha(out), before);
    assert.deepEqual(readdirSync(outDir).filter((n) => n.endsWith('.partial')), [], 'stale partial files removed');
    assert.equal(runCli(['verify', out]).status, 0);
  });
});
