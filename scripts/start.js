#!/usr/bin/env node
// `npm start` (package.json builds first): the wizard in Electron when its runtime is installed; otherwise the same
// wizard and engine served by the loopback host on 127.0.0.1, to open in a browser. Ctrl+C stops it. The build puts
// the wizard's page in dist/renderer (`npm run build:renderer`, vite).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rendererDir = fileURLToPath(new URL('../dist/renderer', import.meta.url));

/** Electron's executable when it is installed (or ELECTRON_OVERRIDE_DIST_PATH names one), else null. */
function electronBinary() {
  try {
    const path = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

const electron = electronBinary();
if (electron) {
  const child = spawn(electron, [root], { stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
} else {
  console.log(
    "Electron's runtime is not available here: npm installed the electron package without its binary " +
      '(ELECTRON_SKIP_BINARY_DOWNLOAD=1: it is downloaded from GitHub, which this machine cannot reach). ' +
      'Set ELECTRON_OVERRIDE_DIST_PATH to a folder holding an Electron build to use one.\n' +
      'Starting the loopback host instead: the same wizard and engine, served on 127.0.0.1 only.',
  );
  const { createEngineApi, defaultUserDataDir } = await import('../dist/electron/host/EngineApi.js');
  const api = createEngineApi({ userDataDir: defaultUserDataDir() });
  try {
    const site = await api.openSite(null);
    console.log(`Site: ${site.root} (the bundled sample site, ${site.taskSequences} task sequences)`);
  } catch (err) {
    console.error(`tsmedia: ${err.message}`);
    process.exit(1);
  }
  if (!existsSync(`${rendererDir}/index.html`)) console.log(`Note: the wizard's page is not built (${rendererDir}/index.html is missing).`);
  const { startLoopbackHost, CODE_TTL_MS } = await import('../dist/electron/host/LoopbackHost.js');
  const host = await startLoopbackHost({ api, rendererDir, port: Number(process.env.TSMEDIA_PORT) || 0 });
  const minutes = Math.round(CODE_TTL_MS / 60_000);
  console.log(
    `\nOpen this address in a browser on this machine. It holds a one-time code: the first page that opens it (within ${minutes} minutes) ` +
      'gets a session for its tab; after that the address, and the copy in the browser\'s history, opens nothing.\n' +
      `\n  ${host.url}\n\nPress Enter here for a new address (another window or tab, or when this one is used or expired). A reload keeps its session. Ctrl+C stops.`,
  );
  // Each Enter: one more one-time address (a new window has no session: the secret lives in its tab only).
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', () => console.log(`\n  ${host.newUrl()}\n`));
  process.stdin.on('error', () => undefined);
  const stop = () => {
    console.log('\nstopping… (a running media job is cancelled)');
    void api.close().then(() => host.close()).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
