// The loopback host in a process of its own, as `npm start` runs it when Electron is absent (scripts/start.js), for
// tests that must see it from outside: its output, its command line, its files, and writes it makes that a test
// interrupts. Started with `node dist/test/support/hostProcess.js USER_DATA_DIR`; prints one JSON line
// {"port", "code", "pid"} when it listens (a one-time code, as in the address it would print); SIGTERM or SIGINT cancels a running job and stops it.
import { createEngineApi } from '../../electron/host/EngineApi.js';
import { startLoopbackHost } from '../../electron/host/LoopbackHost.js';
import { packageRoot } from '../../electron/engine/paths.js';
import { join } from 'node:path';

export interface HostHandshake {
  port: number;
  /** A one-time code for a session (support/hostSession.ts exchanges it). */
  code: string;
  pid: number;
}

async function main(): Promise<void> {
  const userDataDir = process.argv[2];
  if (!userDataDir) throw new Error('usage: hostProcess.js USER_DATA_DIR');
  const api = createEngineApi({ userDataDir });
  await api.openSite(null);
  const host = await startLoopbackHost({ api, rendererDir: join(packageRoot(), 'dist', 'renderer') });
  const hello: HostHandshake = { port: host.port, code: host.newCode(), pid: process.pid };
  process.stdout.write(`${JSON.stringify(hello)}\n`);
  const stop = (): void => {
    void api
      .close()
      .then(() => host.close())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`host: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
