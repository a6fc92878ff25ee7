// Progress events: never more than four in any second, as a receiver stamps them — for every kind of event a job sends
// (each phase's progress and the final done or error) — with each phase's last state delivered, in order.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { EventPacer, PROGRESS_INTERVAL_MS, ProgressReporter, type PacerClock } from '../electron/engine/media/Progress.js';
import { createEngineApi } from '../electron/host/EngineApi.js';
import type { MediaEvent } from '../shared/ipc.js';
import type { MediaPhase, MediaProgress } from '../shared/media.js';
import { tempDir } from './helpers.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

/** The most stamps in any window of one second. */
function mostInOneSecond(stamps: readonly number[]): number {
  let most = 0;
  for (let i = 0, j = 0; i < stamps.length; i++) {
    while (stamps[i] - stamps[j] >= 1000) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/**
 * A virtual clock whose timers fire up to `early` ms before they are due by it, as Node's do by Date.now() (they count
 * from the event loop's cached time, which lags the real one after a long synchronous stretch).
 */
class EarlyClock implements PacerClock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  constructor(private readonly earlyBy: (id: number) => number) {}
  now = (): number => Math.floor(this.t);
  setTimer = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    // Early by at most the time the loop's clock can lag, and never at once: a timer set from a timer's callback
    // starts from a fresh loop time.
    this.timers.push({ at: this.t + Math.max(Math.min(ms, 1), ms - this.earlyBy(id)), fn, id });
    return id;
  };
  clearTimer = (timer: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== timer);
  };
  /** Moves time on, firing the timers that fall due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}

type Op = { kind: 'update'; dt: number; bytes: number } | { kind: 'begin'; dt: number; phase: MediaPhase } | { kind: 'flush'; dt: number };
const PHASES: MediaPhase[] = ['plan', 'write', 'verify', 'finalize', 'done'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('update' as const), dt: fc.integer({ min: 0, max: 120 }), bytes: fc.nat(1_000_000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('begin' as const), dt: fc.integer({ min: 0, max: 300 }), phase: fc.constantFrom(...PHASES) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const), dt: fc.integer({ min: 0, max: 40 }) }) },
);

describe('progress pacing', () => {
  test('any sequence of phases and updates, timers firing early, receivers stamping late: at most four events a second, each phase ending on its last state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 400 }), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 16 }), fc.array(fc.double({ min: 0, max: 1.99, noNaN: true }), { minLength: 1, maxLength: 16 }), async (ops, early, lag) => {
        const clock = new EarlyClock((id) => early[id % early.length]);
        const got: { stamp: number; p: MediaProgress }[] = [];
        const r = new ProgressReporter((p) => got.push({ stamp: Math.floor(clock.t + lag[got.length % lag.length]), p }), clock);
        // What each phase (one begin to the next) ended on, in order.
        const finals: [MediaPhase, number][] = [];
        let phase: MediaPhase = 'plan';
        let bytes = 0;
        r.begin('plan', 1_000_000);
        for (const op of ops) {
          clock.advance(op.dt);
          if (op.kind === 'begin') {
            finals.push([phase, bytes]);
            r.begin(op.phase, 1_000_000);
            phase = op.phase;
            bytes = 0;
          } else if (op.kind === 'update') {
            bytes = op.bytes;
            r.update(op.bytes, `f${op.bytes}`);
          } else r.flush();
        }
        finals.push([phase, bytes]);
        const closedAt = clock.t;
        const closed = r.close();
        for (let i = 0; i < 100 && clock.pending > 0; i++) clock.advance(PROGRESS_INTERVAL_MS);
        await closed;
        assert.ok(mostInOneSecond(got.map((g) => g.stamp)) <= 4, `stamps ${got.map((g) => g.stamp).join(', ')}`);
        for (let i = 1; i < got.length; i++) assert.ok(got[i].stamp >= got[i - 1].stamp);
        // Each phase's last delivered state is the state it ended on, phases in the order they began.
        // (A phase begun again right after itself reads as one run of that phase.) At close, phases still waiting give
        // way to the final state: what came before the close is every phase's last state, in order, then the final one.
        const delivered = got.filter((g, i) => i === got.length - 1 || got[i + 1].p.phase !== g.p.phase).map((g): [MediaPhase, number] => [g.p.phase, g.p.bytesDone]);
        const expected = finals.filter((f, i) => i === finals.length - 1 || finals[i + 1][0] !== f[0]);
        assert.deepEqual(delivered[delivered.length - 1], expected[expected.length - 1], 'the final state');
        const before = got.filter((g) => g.stamp < closedAt);
        const runsBefore = before.filter((g, i) => i === before.length - 1 || before[i + 1].p.phase !== g.p.phase).length;
        assert.deepEqual(delivered.slice(0, Math.max(0, runsBefore - 1)), expected.slice(0, Math.max(0, runsBefore - 1)), 'each phase ended on its last state');
      }),
      { numRuns: 300, seed: 1110 },
    );
  });

  test('a pacer replaces a waiting event of the same key and keeps the others in order', () => {
    const clock = new EarlyClock(() => 0);
    const out: string[] = [];
    const pacer = new EventPacer<string>((e) => out.push(`${clock.now()}:${e}`), 260, clock);
    pacer.push('a1', 'a');
    pacer.push('a2', 'a');
    pacer.push('a3', 'a');
    pacer.push('b1', 'b');
    pacer.push('end', null);
    pacer.push('end2', null);
    clock.advance(2000);
    assert.deepEqual(out, ['0:a1', '260:a3', '520:b1', '780:end', '1040:end2']);
  });

  test('unpaced (interval 0, the command line without a terminal): every state at once, and the end waits for no timer', async () => {
    const clock = new EarlyClock(() => 0);
    const phases: MediaPhase[] = [];
    const r = new ProgressReporter((e) => phases.push(e.phase), clock, 0);
    r.begin('plan', 0);
    r.begin('write', 100, 1);
    r.update(50, 'a');
    r.begin('verify', 100, 1);
    r.begin('done', 100, 1);
    assert.deepEqual(phases, ['plan', 'write', 'write', 'verify', 'done'], 'delivered as they came, none replaced or held');
    let closed = false;
    await r.close().then(() => (closed = true));
    assert.ok(closed, 'close resolved without the clock moving');
    assert.equal(clock.pending, 0, 'no timer was ever set');
    // Paced (the default), the same run holds its later states back for timers, and its end waits for one.
    const paced: MediaPhase[] = [];
    const q = new ProgressReporter((e) => paced.push(e.phase), clock);
    q.begin('plan', 0);
    q.begin('write', 100, 1);
    q.begin('done', 100, 1);
    assert.deepEqual(paced, ['plan']);
    assert.equal(clock.pending, 1);
  });

  test('speed and ETA follow the bytes', () => {
    const clock = new EarlyClock(() => 0);
    const events: MediaProgress[] = [];
    const p = new ProgressReporter((e) => events.push(e), clock);
    p.begin('write', 1000 * 1024 * 1024, 1);
    for (let i = 1; i <= 1000; i++) {
      clock.advance(10);
      p.update(i * 1024 * 1024, `file${i}`);
    }
    const last = events[events.length - 1];
    assert.ok(Math.abs(last.bytesPerSecond - 100 * 1024 * 1024) < 1024 * 1024, `speed ${last.bytesPerSecond}`);
    assert.equal(last.currentFile?.startsWith('file'), true);
    assert.ok(last.etaSeconds !== null && last.etaSeconds < 1);
  });

  test('a real job through the API: progress of every phase and the final event, never five in a second', async (t) => {
    const dir = tempDir(t);
    process.env.XDG_STATE_HOME = join(dir, 'state');
    const site = copySampleSite(join(dir, 'site'));
    randomFile(join(dir, 'payload.bin'), 384 * 1024 * 1024);
    await addPackage(site, 'SMP00091', [{ relativePath: 'payload.bin', sourcePath: join(dir, 'payload.bin') }]);
    const api = createEngineApi({ userDataDir: join(dir, 'user-data') });
    t.after(() => api.close());
    const events: { stamp: number; e: MediaEvent }[] = [];
    const ended = new Promise<void>((resolve) =>
      api.onMediaEvent((e) => {
        events.push({ stamp: Date.now(), e });
        if (e.type !== 'progress') resolve();
      }),
    );
    await api.startMedia({
      kind: 'iso',
      request: {
        site, taskSequenceId: 'SMP00010', size: 'unlimited', out: join(dir, 'media.iso'), distributionPoints: ['DP01'], password: null, unattended: false,
        startDate: null, expireDate: null, label: 'Pace', autorun: false, i386Binaries: false, variables: [], prestartCommand: null, prestartFiles: null, applications: [],
        packages: ['SMP00091'], driverPackages: [], staging: null, detectDependencies: true, timestamp: null, skipVerify: false,
      },
    });
    await ended;
    const last = events[events.length - 1].e;
    assert.equal(last.type, 'done', JSON.stringify(last));
    const most = mostInOneSecond(events.map((x) => x.stamp));
    assert.ok(most <= 4, `${most} events in one second: ${events.map((x) => `${x.stamp - events[0].stamp}:${x.e.type === 'progress' ? x.e.progress.phase : x.e.type}`).join(' ')}`);
    const phases = [...new Set(events.flatMap((x) => (x.e.type === 'progress' ? [x.e.progress.phase] : [])))];
    // Phases in order; a short one still waiting when the run ends (verify of a small image, finalize) gives way to
    // the final 'done' state, so only plan, write and done are certain to be seen.
    const order: MediaPhase[] = ['plan', 'write', 'verify', 'finalize', 'done'];
    assert.deepEqual(phases, [...phases].sort((a, b) => order.indexOf(a) - order.indexOf(b)), 'phases in order');
    for (const p of ['plan', 'write', 'done'] as const) assert.ok(phases.includes(p), `phase ${p} reported: ${phases.join(', ')}`);
    // How many events a run gives depends on how fast this machine writes (a quiet one writes the 384 MiB in about a
    // second); what it must give is the write phase ending on its last state: every byte of the image written.
    const writes = events.flatMap((x) => (x.e.type === 'progress' && x.e.progress.phase === 'write' ? [x.e.progress] : []));
    const lastWrite = writes[writes.length - 1];
    assert.ok(lastWrite.bytesTotal > 384 * 1024 * 1024, `${lastWrite.bytesTotal} bytes to write`);
    assert.equal(lastWrite.bytesDone, lastWrite.bytesTotal, 'the write phase ends with every byte written');
  });
});
