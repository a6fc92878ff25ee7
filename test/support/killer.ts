// Interrupted writes (issue 7 item 3), shared by `npm run killtest` (scripts/killtest.ts) and the fixed-seed slice in
// `npm test` (test/interruptedWrites.test.ts). For each kind of output — an ISO set in a folder, a USB image file — a
// good earlier output is made first and hashed; then `tsmedia create` writing the same output is interrupted at
// chosen byte offsets of its write: SIGKILL to its process group, SIGINT (Ctrl+C) to the command line, and cancelMedia
// through a loopback host running in its own process. The offset is watched on the temporary file the writer fills
// (`.NAME.tsmedia-PID-RANDOM.partial`, SafeOutput.tempPathFor): its allocated bytes are the bytes written so far, so a
// kill lands where it was aimed whatever the speed of the machine. After every interruption: no final-named file
// changed (each hashed against the earlier output), and — after a kill — the next run succeeds, leaves no temporary
// file behind and `tsmedia verify` passes on what it made.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { MediaEvent } from '../../shared/ipc.js';
import type { UsbMediaRequest } from '../../shared/media.js';
import { ROOT } from '../helpers.js';
import { baseRequest, isoRequest, startHostProcess, type HostChild } from './hostClient.js';
import { addPackage, copySampleSite, randomFile } from './sites.js';

export type OutputKind = 'iso' | 'usb';
export type Interruption = 'SIGKILL' | 'SIGINT' | 'cancelMedia';

export interface KillOptions {
  /** A folder for the site, the outputs and the logs (made if missing). */
  work: string;
  kinds: OutputKind[];
  /** SIGKILLs per kind. */
  kills: number;
  /** Ctrl+C (SIGINT) cancels of the command line per kind. */
  sigints: number;
  /** cancelMedia calls through the loopback host per kind. */
  apiCancels: number;
  seed: number;
  /** Size of the extra package that makes the write long enough to aim at (random bytes). */
  payloadBytes: number;
  log?: (line: string) => void;
}

export interface InterruptRecord {
  kind: OutputKind;
  how: Interruption;
  /** 1-based within its kind and interruption. */
  index: number;
  /** The byte offset of the write aimed at, in [0, expectedBytes). */
  targetOffset: number;
  /** Bytes the temporary file held when the process had ended (null: no temporary file was seen). */
  landedOffset: number | null;
  /** Bytes the whole write puts in the file (allocated bytes of a complete output). */
  expectedBytes: number;
  /** Where the interruption came: while writing, while reading back (write complete), or never (the run had ended). */
  phase: 'write' | 'read-back' | 'missed';
  /** How the interrupted process ended: "SIGKILL", "exit 130", "event cancelled", … */
  ended: string;
  /** From the signal or call to the process's end or the job's last event (cancels only). */
  latencyMs: number | null;
  /** Temporary files left right after the interruption (expected after SIGKILL only). */
  partialsLeft: number;
  failures: string[];
}

export interface KindSummary {
  kind: OutputKind;
  output: string;
  expectedBytes: number;
  kills: number;
  killsDuringWrite: number;
  sigints: number;
  apiCancels: number;
  /** Smallest and largest landed offset of the kills, as a share of the write. */
  spread: [number, number] | null;
  recoveryRuns: number;
  seconds: number;
  /** The final-named files of the earlier output whose bytes every interruption must leave as they were. */
  hashedFiles: string[];
  failures: string[];
}

export interface KillReport {
  seed: number;
  payloadBytes: number;
  kinds: KindSummary[];
  records: InterruptRecord[];
  failures: string[];
  seconds: number;
}

/** mulberry32: a small seeded generator, so a seed gives the same offsets everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` offsets in [0, size), one drawn at random in each of n equal strata (so they cover the whole write), shuffled. */
export function spreadOffsets(n: number, size: number, rand: () => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.min(size - 1, Math.floor(((i + rand()) / n) * size)));
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isPartial = (n: string): boolean => n.endsWith('.partial');
const allocated = (p: string): number => statSync(p).blocks * 512;

function fileSha(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  try {
    let n: number;
    while ((n = readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * The final-named files of an output folder with their SHA-256 — everything but temporary files and the log, which
 * every run appends to by design (CreateTSMedia.log is a log, not output).
 */
export function snapshotOutputs(dir: string): Record<string, string> {
  const snap: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) if (!isPartial(n) && n !== 'CreateTSMedia.log') snap[n] = fileSha(join(dir, n));
  return snap;
}

function compareSnapshots(before: Record<string, string>, after: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const n of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!(n in after)) problems.push(`${n} is gone`);
    else if (!(n in before)) problems.push(`${n} appeared under a final name`);
    else if (before[n] !== after[n]) problems.push(`${n} changed (SHA-256 ${after[n].slice(0, 16)}…, was ${before[n].slice(0, 16)}…)`);
  }
  return problems;
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** bin/tsmedia.js in its own process group (so a kill reaches everything it started). */
export function startTsmedia(args: string[], env: NodeJS.ProcessEnv): { pid: number; done: Promise<RunResult>; ended: () => boolean; kill: (sig: NodeJS.Signals, group?: boolean) => void } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tsmedia.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  let over = false;
  const done = new Promise<RunResult>((ok) =>
    child.on('close', (status, signal) => {
      over = true;
      ok({ status, signal, stdout, stderr });
    }),
  );
  child.on('exit', () => (over = true));
  const pid = child.pid as number;
  return {
    pid,
    done,
    ended: () => over,
    kill: (sig, group = true) => {
      try {
        if (group) process.kill(-pid, sig);
        else child.kill(sig);
      } catch {
        // already gone
      }
    },
  };
}

export function runTsmedia(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return startTsmedia(args, env).done;
}

/** The temporary file process `pid` writes for `finalPath` (SafeOutput.tempPathFor), or null while there is none. */
export function findTemp(finalPath: string, pid: number): string | null {
  const prefix = `.${basename(finalPath)}.tsmedia-${pid}-`;
  const hit = readdirSync(dirname(finalPath)).find((n) => n.startsWith(prefix) && isPartial(n));
  return hit ? join(dirname(finalPath), hit) : null;
}

/** Waits until the writer's temporary file holds `target` bytes (true), or the run ends first (false). */
export async function waitForOffset(finalPath: string, pid: number, target: number, ended: () => boolean, timeoutMs = 180_000): Promise<{ reached: boolean; temp: string | null }> {
  const deadline = Date.now() + timeoutMs;
  let temp: string | null = null;
  while (Date.now() < deadline) {
    if (ended()) return { reached: false, temp };
    temp ??= findTemp(finalPath, pid);
    if (temp) {
      try {
        if (allocated(temp) >= target) return { reached: true, temp };
      } catch {
        // renamed into place or removed between the listing and the stat: the run is ending
        temp = null;
      }
    }
    await sleep(1);
  }
  throw new Error(`the write did not reach ${target} bytes within ${timeoutMs / 1000} s`);
}

interface KindSetup {
  kind: OutputKind;
  dir: string;
  final: string;
  args: string[];
  imageBytes: number;
  env: NodeJS.ProcessEnv;
}

function landedOf(temp: string | null): number | null {
  if (!temp) return null;
  try {
    return allocated(temp);
  } catch {
    return null;
  }
}

const partialsIn = (dir: string): string[] => readdirSync(dir).filter(isPartial);

/**
 * Makes the site (the sample site and a package of `payloadBytes` random bytes), then interrupts writes of each kind
 * as asked. Never throws for what it finds: every problem is a failure in the report.
 */
export async function runKillCampaign(o: KillOptions): Promise<KillReport> {
  const log = o.log ?? ((): void => undefined);
  const t0 = Date.now();
  mkdirSync(o.work, { recursive: true });
  const site = copySampleSite(join(o.work, 'site'));
  const payload = join(o.work, 'payload.bin');
  randomFile(payload, o.payloadBytes);
  await addPackage(site, 'SMP00099', [{ relativePath: 'payload/big.bin', sourcePath: payload }], 'Interrupted-write payload');
  rmSync(payload);
  const env = { XDG_STATE_HOME: join(o.work, 'state'), XDG_CONFIG_HOME: join(o.work, 'config'), TSMEDIA_DEBUG: '1' };
  const imageBytes = Math.ceil((o.payloadBytes + 64 * 1024 * 1024) / (1024 * 1024)) * 1024 * 1024;
  const records: InterruptRecord[] = [];
  const kinds: KindSummary[] = [];
  let host: HostChild | null = null;
  try {
    for (const kind of o.kinds) {
      const k0 = Date.now();
      const dir = join(o.work, kind);
      mkdirSync(dir, { recursive: true });
      const final = join(dir, kind === 'iso' ? 'media.iso' : 'usb.img');
      const common = ['--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00099'];
      const args = kind === 'iso' ? ['create', ...common, '--size', 'unlimited', '--out', final] : ['create', ...common, '--media', 'usb', '--image', final, '--image-size', String(imageBytes)];
      const setup: KindSetup = { kind, dir, final, args, imageBytes, env };
      const summary: KindSummary = { kind, output: final, expectedBytes: 0, kills: 0, killsDuringWrite: 0, sigints: 0, apiCancels: 0, spread: null, recoveryRuns: 0, seconds: 0, hashedFiles: [], failures: [] };
      kinds.push(summary);
      const fail = (what: string): void => {
        summary.failures.push(what);
        log(`FAIL ${kind}: ${what}`);
      };

      // The earlier output: a complete, verified run.
      const first = await runTsmedia(args, env);
      if (first.status !== 0) {
        fail(`the first run (the earlier output) failed with ${first.status ?? first.signal}: ${first.stderr.trim().slice(-800)}`);
        continue;
      }
      const v0 = await runTsmedia(['verify', final], env);
      if (v0.status !== 0) fail(`verify of the earlier output: exit ${v0.status}: ${v0.stdout}${v0.stderr}`);
      summary.expectedBytes = allocated(final);
      let earlier = snapshotOutputs(dir);
      summary.hashedFiles = Object.keys(earlier).sort();
      log(`${kind}: earlier output ${final}, ${summary.expectedBytes} bytes written by a complete run; ${Object.keys(earlier).length} final-named files hashed`);

      // Seeds per kind and interruption, so --only and different counts keep the others' offsets.
      const seedOf = (n: number): number => (o.seed * 31 + (kind === 'iso' ? 1 : 2) * 1009 + n * 7919) >>> 0;
      const plans: [Interruption, number[]][] = [
        ['SIGKILL', spreadOffsets(o.kills, summary.expectedBytes, seededRandom(seedOf(1)))],
        ['SIGINT', spreadOffsets(o.sigints, summary.expectedBytes, seededRandom(seedOf(2)))],
        ['cancelMedia', spreadOffsets(o.apiCancels, summary.expectedBytes, seededRandom(seedOf(3)))],
      ];
      for (const [how, offsets] of plans) {
        if (how === 'cancelMedia' && offsets.length > 0 && !host) host = await startHostProcess(join(o.work, 'host-user-data'), env);
        for (let i = 0; i < offsets.length; i++) {
          const rec: InterruptRecord = { kind, how, index: i + 1, targetOffset: offsets[i], landedOffset: null, expectedBytes: summary.expectedBytes, phase: 'missed', ended: '', latencyMs: null, partialsLeft: 0, failures: [] };
          records.push(rec);
          const where = `${how} ${i + 1} at byte ${offsets[i]}`;
          try {
            if (how === 'SIGKILL') await killOnce(setup, rec, earlier);
            else if (how === 'SIGINT') await sigintOnce(setup, rec, earlier);
            else await apiCancelOnce(setup, rec, earlier, host as HostChild);
          } catch (err) {
            rec.failures.push(`unexpected: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
          }
          if (rec.phase !== 'missed' && rec.landedOffset !== null) rec.phase = rec.landedOffset >= rec.expectedBytes ? 'read-back' : 'write';
          if (how === 'SIGKILL') {
            // The next run: succeeds, clears what the killed run left, and verifies.
            const next = await runTsmedia(args, env);
            summary.recoveryRuns += 1;
            if (next.status !== 0) rec.failures.push(`the next run failed with ${next.status ?? next.signal}: ${next.stderr.trim().slice(-800)}`);
            const left = partialsIn(dir);
            if (left.length) rec.failures.push(`after the next run temporary files remain: ${left.join(', ')}`);
            const v = await runTsmedia(['verify', final], env);
            if (v.status !== 0) rec.failures.push(`verify after the next run: exit ${v.status}: ${(v.stdout + v.stderr).trim().slice(-800)}`);
            earlier = snapshotOutputs(dir);
          }
          for (const f of rec.failures) fail(`${where}: ${f}`);
          log(
            `${kind} ${how.padEnd(11)} ${String(i + 1).padStart(3)}: aimed at ${pct(rec.targetOffset, rec.expectedBytes)}, landed at ${rec.landedOffset === null ? '—' : pct(rec.landedOffset, rec.expectedBytes)} (${rec.phase}), ${rec.ended}${rec.latencyMs !== null ? ` in ${rec.latencyMs} ms` : ''}: ${rec.failures.length ? 'FAILED' : 'ok'}`,
          );
        }
      }
      const kills = records.filter((r) => r.kind === kind && r.how === 'SIGKILL');
      summary.kills = kills.filter((r) => r.phase !== 'missed').length;
      summary.killsDuringWrite = kills.filter((r) => r.phase === 'write').length;
      summary.sigints = records.filter((r) => r.kind === kind && r.how === 'SIGINT' && r.phase !== 'missed').length;
      summary.apiCancels = records.filter((r) => r.kind === kind && r.how === 'cancelMedia' && r.phase !== 'missed').length;
      const landed = kills.map((r) => r.landedOffset).filter((x): x is number => x !== null);
      if (landed.length) summary.spread = [Math.min(...landed) / summary.expectedBytes, Math.max(...landed) / summary.expectedBytes];
      summary.seconds = (Date.now() - k0) / 1000;
    }
  } finally {
    await host?.stop();
  }
  return { seed: o.seed, payloadBytes: o.payloadBytes, kinds, records, failures: kinds.flatMap((k) => k.failures.map((f) => `${k.kind}: ${f}`)), seconds: (Date.now() - t0) / 1000 };
}

const pct = (n: number, of: number): string => `${n} (${((n / of) * 100).toFixed(1)}%)`;

async function killOnce(s: KindSetup, rec: InterruptRecord, earlier: Record<string, string>): Promise<void> {
  const run = startTsmedia(s.args, s.env);
  const w = await waitForOffset(s.final, run.pid, rec.targetOffset, run.ended);
  if (w.reached) run.kill('SIGKILL');
  const r = await run.done;
  rec.ended = r.signal ?? `exit ${r.status}`;
  if (!w.reached || r.signal !== 'SIGKILL') {
    // The run ended before its kill: then it must have made complete, verified output.
    rec.phase = 'missed';
    if (r.status !== 0) rec.failures.push(`ended before its kill, with ${rec.ended}: ${r.stderr.trim().slice(-800)}`);
    return;
  }
  rec.phase = 'write';
  rec.landedOffset = landedOf(w.temp);
  rec.partialsLeft = partialsIn(s.dir).length;
  const changed = compareSnapshots(earlier, snapshotOutputs(s.dir));
  if (changed.length) rec.failures.push(`the earlier output is not intact: ${changed.join('; ')}`);
}

async function sigintOnce(s: KindSetup, rec: InterruptRecord, earlier: Record<string, string>): Promise<void> {
  const run = startTsmedia(s.args, s.env);
  const w = await waitForOffset(s.final, run.pid, rec.targetOffset, run.ended);
  // What the temporary file held when Ctrl+C came (the cancel removes it).
  rec.landedOffset = landedOf(w.temp);
  const t = Date.now();
  if (w.reached) run.kill('SIGINT', false);
  const r = await run.done;
  rec.latencyMs = Date.now() - t;
  rec.ended = r.signal ?? `exit ${r.status}`;
  if (!w.reached) {
    rec.phase = 'missed';
    if (r.status !== 0) rec.failures.push(`ended before its Ctrl+C, with ${rec.ended}: ${r.stderr.trim().slice(-800)}`);
    return;
  }
  rec.phase = 'write';
  if (r.status !== 130) rec.failures.push(`Ctrl+C ended the run with ${rec.ended}, not exit 130: ${r.stderr.trim().slice(-800)}`);
  else if (!/cancelled: nothing was replaced/.test(r.stderr)) rec.failures.push(`Ctrl+C: stderr does not say nothing was replaced: ${r.stderr.trim().slice(-400)}`);
  rec.partialsLeft = partialsIn(s.dir).length;
  if (rec.partialsLeft) rec.failures.push(`a cancelled run left temporary files: ${partialsIn(s.dir).join(', ')}`);
  const changed = compareSnapshots(earlier, snapshotOutputs(s.dir));
  if (changed.length) rec.failures.push(`the earlier output is not intact: ${changed.join('; ')}`);
}

async function apiCancelOnce(s: KindSetup, rec: InterruptRecord, earlier: Record<string, string>, host: HostChild): Promise<void> {
  let jobId: string | null = null;
  const stream = host.jobEvents(() => jobId);
  await stream.ready;
  const base = baseRequest({ site: s.args[s.args.indexOf('--site') + 1], packages: ['SMP00099'] });
  const request = s.kind === 'iso' ? { kind: 'iso', request: isoRequest(s.final, base) } : { kind: 'usb', request: { ...base, target: { kind: 'image', path: s.final, sizeBytes: s.imageBytes, replace: null }, format: true } satisfies UsbMediaRequest };
  const started = await host.call<{ jobId: string }>('startMedia', request);
  if (started.status !== 200) {
    rec.failures.push(`startMedia: ${started.status} ${started.body}`);
    return;
  }
  jobId = started.value.jobId;
  let over = false;
  const events = stream.done.finally(() => (over = true));
  const w = await waitForOffset(s.final, host.pid, rec.targetOffset, () => over);
  rec.landedOffset = landedOf(w.temp);
  const t = Date.now();
  if (w.reached) {
    const c = await host.call('cancelMedia', jobId);
    if (c.status !== 200) rec.failures.push(`cancelMedia: ${c.status} ${c.body}`);
  }
  const all: MediaEvent[] = await events;
  rec.latencyMs = Date.now() - t;
  const last = all[all.length - 1];
  rec.ended = last ? `event ${last.type === 'error' ? last.code : last.type}` : 'no event';
  if (!w.reached) {
    rec.phase = 'missed';
    if (last?.type !== 'done') rec.failures.push(`ended before its cancel, with ${JSON.stringify(last)}`);
    return;
  }
  rec.phase = 'write';
  if (last?.type !== 'error' || last.code !== 'cancelled') rec.failures.push(`cancelMedia: the job's last event is ${JSON.stringify(last)}, not a "cancelled" error`);
  rec.partialsLeft = partialsIn(s.dir).length;
  if (rec.partialsLeft) rec.failures.push(`a cancelled job left temporary files: ${partialsIn(s.dir).join(', ')}`);
  const changed = compareSnapshots(earlier, snapshotOutputs(s.dir));
  if (changed.length) rec.failures.push(`the earlier output is not intact: ${changed.join('; ')}`);
}

/** The report as a table: one row per kind and interruption. */
export function formatKillTable(r: KillReport): string {
  const rows: string[][] = [['kind', 'interruption', 'runs', 'during write', 'during read-back', 'missed', 'landed (share of the write)', 'median latency', 'failures']];
  for (const k of r.kinds) {
    for (const how of ['SIGKILL', 'SIGINT', 'cancelMedia'] as const) {
      const recs = r.records.filter((x) => x.kind === k.kind && x.how === how);
      if (!recs.length) continue;
      const landed = recs.map((x) => x.landedOffset).filter((x): x is number => x !== null);
      const lat = recs.map((x) => x.latencyMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
      rows.push([
        k.kind,
        how,
        String(recs.length),
        String(recs.filter((x) => x.phase === 'write').length),
        String(recs.filter((x) => x.phase === 'read-back').length),
        String(recs.filter((x) => x.phase === 'missed').length),
        landed.length ? `${((Math.min(...landed) / k.expectedBytes) * 100).toFixed(1)}%–${((Math.max(...landed) / k.expectedBytes) * 100).toFixed(1)}%` : '—',
        lat.length ? `${lat[Math.floor(lat.length / 2)]} ms` : '—',
        String(recs.reduce((n, x) => n + x.failures.length, 0)),
      ]);
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ')).join('\n');
}
