// wimlib-imagex (wimtools), the independent reader of the WIM tests: whether it is here, and running it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hasCommand } from '../helpers.js';

export const HAVE_WIMLIB = hasCommand('wimlib-imagex');
export const NO_WIMLIB = 'wimlib-imagex (wimtools) is not installed; it is the independent reader these tests check against';

/** Runs wimlib-imagex; fails the test with its output unless it exits 0. */
export function wimlib(args: string[]): string {
  const r = spawnSync('wimlib-imagex', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `wimlib-imagex ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout.slice(-2000)}`);
  return r.stdout;
}

export function capture(src: string, wim: string, ...extra: string[]): void {
  wimlib(['capture', src, wim, ...extra]);
}
