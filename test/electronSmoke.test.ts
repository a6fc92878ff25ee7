// Starts the real Electron app when an Electron binary exists (ELECTRON_OVERRIDE_DIST_PATH, or the electron package
// installed with its binary): the window loads the built renderer from app://tsmedia, the page sees `window.tsmedia`
// with exactly the contract's methods and no Node, and a call reaches the engine over IPC. Skipped, saying why, where
// there is none (these build machines: ELECTRON_SKIP_BINARY_DOWNLOAD=1).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { API_METHODS } from '../shared/ipc.js';
import { APP_INDEX_URL } from '../electron/shell/security.js';
import { ROOT, hasCommand, requireOrSkip, tempDir } from './helpers.js';

/** The Electron executable, or why there is none. */
function electronBinary(): { path: string | null; why: string } {
  let path: unknown;
  try {
    path = createRequire(import.meta.url)('electron');
  } catch (err) {
    return { path: null, why: `the electron package has no binary (${(err as Error).message.split('\n')[0]}); npm ci ran with ELECTRON_SKIP_BINARY_DOWNLOAD=1 because GitHub, where it comes from, is out of reach. Set ELECTRON_OVERRIDE_DIST_PATH to an Electron build to run this test` };
  }
  if (typeof path !== 'string' || !existsSync(path)) return { path: null, why: `no Electron executable at ${String(path)} (set ELECTRON_OVERRIDE_DIST_PATH to a folder holding one)` };
  return { path, why: '' };
}

describe('Electron app', () => {
  test('starts, loads the wizard, and the page sees exactly the API through the preload', async (t) => {
    const bin = electronBinary();
    if (!requireOrSkip(t, bin.path !== null, bin.why)) return;
    const index = join(ROOT, 'dist', 'renderer', 'index.html');
    if (!requireOrSkip(t, existsSync(index), `the renderer is not built (${index} is missing)`)) return;
    const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
    const dir = tempDir(t);
    const electronArgs = [ROOT];
    // Chromium refuses to run as root with its sandbox; the renderer's JavaScript sandbox (sandbox: true) stays on.
    if (process.getuid?.() === 0) electronArgs.push('--no-sandbox');
    let command = bin.path as string;
    let args = electronArgs;
    if (!hasDisplay) {
      if (hasCommand('xvfb-run')) {
        command = 'xvfb-run';
        args = ['-a', bin.path as string, ...electronArgs];
      } else args = [...electronArgs, '--ozone-platform=headless'];
    }
    const child = spawn(command, args, {
      env: { ...process.env, TSMEDIA_SMOKE_TEST: '1', XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state'), ELECTRON_ENABLE_LOGGING: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await new Promise<number | null>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        done(c);
      });
    });
    const line = out.split('\n').find((l) => l.startsWith('TSMEDIA_SMOKE'));
    assert.ok(line, `no smoke report (exit ${code}):\n${out}`);
    assert.ok(line.startsWith('TSMEDIA_SMOKE '), line);
    const seen = JSON.parse(line.slice('TSMEDIA_SMOKE '.length)) as { href: string; keys: string[]; hasRequire: boolean; hasProcess: boolean; site: { isSample: boolean; taskSequences: number } };
    assert.equal(seen.href, APP_INDEX_URL, 'the page is served from app://, not file://');
    assert.deepEqual(seen.keys, [...API_METHODS, 'onMediaEvent'].sort());
    assert.equal(seen.hasRequire, false, 'no require in the page');
    assert.equal(seen.hasProcess, false, 'no process in the page');
    assert.equal(seen.site.isSample, true);
    assert.equal(seen.site.taskSequences, 3);
    assert.equal(code, 0, out);
  });
});
