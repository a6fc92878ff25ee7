// A loopback host started as a child process (support/hostProcess.ts) and a small client for it: the API over POST
// and media events over Server-Sent Events, keeping every byte the host sent so tests can scan them.
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { MediaEvent } from '../../shared/ipc.js';
import type { IsoMediaRequest, MediaRequestBase } from '../../shared/media.js';
import { ROOT } from '../helpers.js';
import type { HostHandshake } from './hostProcess.js';
import { openSession, sessionHeader } from './hostSession.js';
import { readMediaEvents } from './mediaEvents.js';

export interface HostChild {
  process: ChildProcess;
  port: number;
  /** The session secret this client opened with the host's one-time code. */
  session: string;
  pid: number;
  /** Everything the host printed so far. */
  stdout(): string;
  stderr(): string;
  /** Every response body and event stream byte the host sent to this client. */
  received(): string;
  call<T>(method: string, ...args: unknown[]): Promise<{ status: number; body: string; value: T }>;
  /** Subscribes to /api/events; resolves with the job's events once one of them is not progress. */
  jobEvents(jobId: () => string | null, timeoutMs?: number): { ready: Promise<void>; done: Promise<MediaEvent[]> };
  stop(): Promise<void>;
}

/** Starts the loopback host in its own process with the given environment (XDG_* folders kept in a test folder). */
export async function startHostProcess(userDataDir: string, env: NodeJS.ProcessEnv): Promise<HostChild> {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'test', 'support', 'hostProcess.js'), userDataDir], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let received = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const hello = await new Promise<HostHandshake>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the host did not start within 30 s: ${err}`)), 30_000);
    const onData = (): void => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      ok(JSON.parse(line) as HostHandshake);
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the host ended (exit ${code}) before listening: ${err}`));
    });
  });
  const { port } = hello;
  const session = await openSession(port, hello.code);
  const call = <T>(method: string, ...args: unknown[]): Promise<{ status: number; body: string; value: T }> =>
    new Promise((ok, fail) => {
      const req = request(
        { host: '127.0.0.1', port, path: `/api/${method}`, method: 'POST', headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json', ...sessionHeader(session) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            received += body;
            let value: T;
            try {
              value = JSON.parse(body) as T;
            } catch {
              value = undefined as T;
            }
            ok({ status: res.statusCode ?? 0, body, value });
          });
        },
      );
      req.on('error', fail);
      req.end(JSON.stringify(args));
    });
  const jobEvents = (jobId: () => string | null, timeoutMs = 120_000): { ready: Promise<void>; done: Promise<MediaEvent[]> } => {
    const ended = (all: MediaEvent[]): boolean => {
      const id = jobId();
      return id !== null && all.some((e) => e.jobId === id && e.type !== 'progress');
    };
    const r = readMediaEvents({ port, session, timeoutMs, until: ended, onChunk: (c) => (received += c) });
    return { ready: r.ready, done: r.done.then((all) => all.filter((e) => e.jobId === jobId())) };
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const ended = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await ended;
  };
  return { process: child, port, session, pid: hello.pid, stdout: () => out, stderr: () => err, received: () => received, call, jobEvents, stop };
}

/** A full request as the wizard sends it, with the sample task sequence; `overrides` set the rest. */
export function baseRequest(overrides: Partial<MediaRequestBase> = {}): MediaRequestBase {
  return {
    site: null, taskSequenceId: 'SMP00010', distributionPoints: [], password: null, unattended: false, startDate: null, expireDate: null,
    label: 'Configuration Manager', autorun: false, i386Binaries: false, variables: [], prestartCommand: null, prestartFiles: null, applications: [], packages: [],
    driverPackages: [], staging: null, detectDependencies: true, timestamp: null, skipVerify: false, ...overrides,
  };
}

export function isoRequest(out: string, overrides: Partial<IsoMediaRequest> = {}): IsoMediaRequest {
  return { ...baseRequest(overrides), size: 'unlimited', out, ...overrides };
}

/** A raw connection that sends `text` and keeps every byte the host answers, until it closes. */
export function raw(port: number, text: string): { socket: Socket; received(): string; closed: Promise<string> } {
  const socket = connect({ host: '127.0.0.1', port });
  let got = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (got += c));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((ok) => socket.on('close', () => ok(got)));
  socket.write(text);
  return { socket, received: () => got, closed };
}
