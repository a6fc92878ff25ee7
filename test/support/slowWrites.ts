// The kill campaigns' slow disk (slowWrites.c, loaded with LD_PRELOAD): a tsmedia command run with every write to one
// file traced and slowed, and killed (SIGKILL to its process group) or sent Ctrl+C right after the write aimed at.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hasCommand, ROOT } from '../helpers.js';
import { fsckVolume, missingFatTools } from './fat32Tools.js';

const CLI = join(ROOT, 'bin', 'tsmedia.js');

export interface TracedWrite {
  offset: number;
  length: number;
}

export const writesIn = (trace: string): TracedWrite[] =>
  existsSync(trace)
    ? readFileSync(trace, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('WRITE '))
        .map((l) => {
          const [, o, n] = l.split(' ');
          return { offset: Number(o), length: Number(n) };
        })
    : [];

/**
 * Runs the command with the shim; once `after` writes are traced (null: never) kills its process group (SIGKILL) or
 * presses Ctrl+C (SIGINT to the process).
 */
export async function runSlowed(args: string[], env: NodeJS.ProcessEnv, trace: string, after: number | null, signal: 'SIGKILL' | 'SIGINT' = 'SIGKILL'): Promise<{ killed: boolean; code: number | null; writes: number; stderr: string }> {
  rmSync(trace, { force: true });
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let killed = false;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    if (after !== null && !killed && writesIn(trace).length >= after) {
      if (signal === 'SIGKILL') process.kill(-(child.pid as number), 'SIGKILL');
      else process.kill(child.pid as number, 'SIGINT');
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 3));
  }
  return { killed, code: await exited, writes: writesIn(trace).length, stderr };
}

/** fsck.fat -n finds the volume at `offset` of `img` clean. */
export function assertCleanAt(img: string, offset: number, dir: string, what: string): void {
  const r = fsckVolume(img, offset, dir);
  assert.ok(r, `${what}: fsck.fat could not run`);
  assert.equal(r.status, 0, `${what}: fsck.fat -n exited ${r.status}: ${r.output}`);
  assert.doesNotMatch(r.output, /Leaving filesystem unchanged|wrong|Orphan|FATs differ|Reclaimed|Dirty bit/i, `${what}: ${r.output}`);
}

/** The shim, built for this machine (cc). */
export function buildShim(dir: string): string {
  const so = join(dir, 'slowWrites.so');
  const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', so, join(ROOT, 'test', 'support', 'slowWrites.c'), '-ldl'], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  return so;
}

/** What the kill campaigns need and this machine lacks. */
export const cannotRun = (): string[] => [...missingFatTools(), ...(hasCommand('cc') ? [] : ['cc'])];

