// Shared test helpers: where things are, running the real CLI, and skipping with a printed reason.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { TestContext } from 'node:test';
import { packageRoot } from '../electron/engine/paths.js';

export const ROOT = packageRoot();
export const SHARED = resolve(ROOT, '..', 'shared');
export const FIXTURES = join(SHARED, 'fixtures');
export const SAMPLE_SITE = join(ROOT, 'assets', 'sample-site');
export const ORACLE = join(ROOT, 'test', 'oracle', 'ts_oracle.py');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/tsmedia.js as a user would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'tsmedia.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Whether a command is on PATH. Under Windows (the Wine run) the Linux tools the tests use are not reachable: false. */
export function hasCommand(cmd: string): boolean {
  if (process.platform === 'win32') return false;
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** Skips the test, printing why, unless the condition holds. Returns true when the test may run. */
export function requireOrSkip(t: TestContext, ok: boolean, reason: string): boolean {
  if (ok) return true;
  console.log(`# skipped: ${t.name}: ${reason}`);
  t.skip(reason);
  return false;
}

/**
 * Under `npm run mutate` every mutant reruns a group's test files, so the few tests that take tens of seconds
 * (multi-GiB files, firmware boots) skip there with this reason, counted as skips; `npm test` always runs them.
 */
export function skipWhileMutating(t: TestContext): boolean {
  return requireOrSkip(t, process.env.TSMEDIA_MUTATING !== '1', 'takes tens of seconds: not rerun per mutant under `npm run mutate` (TSMEDIA_MUTATING=1)');
}

/** Bytes free to this user in the file system of `dir` (0 when it cannot be asked). */
export function freeBytesIn(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

export function sharedFixturesPresent(): boolean {
  return existsSync(FIXTURES);
}

export const NO_SHARED = `../shared/fixtures is not beside this checkout (${FIXTURES}); the real exports are test inputs kept outside the project`;

export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'tsmedia-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Deterministic pseudo-random bytes (a linear congruential generator): the same size and seed give the same bytes. */
export function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Every file under `dir` (recursively), as paths relative to it with "/" separators, sorted. */
export function relativeFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}
