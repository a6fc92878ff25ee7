// Progress as the user sees it: phase, bytes, speed, ETA and the current file — never more than four events in any
// second, with the last state of each phase delivered, in order, until the run ends with its final state.
import type { DriveProgress, MediaPhase, MediaProgress } from '../../../shared/media.js';

/**
 * The least time between two events. 260 ms, not 250: a receiver stamps events with its own millisecond clock a moment
 * after they leave, so events 250 ms apart can land 999 ms apart five at a time; 260 keeps any second to four.
 */
export const PROGRESS_INTERVAL_MS = 260;

/** The clock and timers the pacer uses: the system's, or a test's. */
export interface PacerClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

const systemClock: PacerClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (t) => clearTimeout(t as NodeJS.Timeout),
};

/**
 * Delivers events no closer than `interval` apart, by its own clock. An event that comes too soon waits in a queue;
 * a waiting event with the same key is replaced by the newer one (a phase's progress coalesces), other keys queue
 * behind it (so a phase's last state, and a final event, are never lost). The time is checked again when a timer
 * fires: Node's timers count from the event loop's cached time and can fire early by the clock the events are stamped
 * with.
 */
export class EventPacer<T> {
  private last = -Infinity;
  private readonly queue: { key: string | null; event: T }[] = [];
  private timer: unknown = null;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly deliver: (event: T) => void,
    private readonly interval: number = PROGRESS_INTERVAL_MS,
    private readonly clock: PacerClock = systemClock,
  ) {}

  /** Queues the event (key null: never replaced) and delivers what is due. */
  push(event: T, key: string | null): void {
    const tail = this.queue[this.queue.length - 1];
    if (tail && key !== null && tail.key === key) tail.event = event;
    else this.queue.push({ key, event });
    this.pump();
  }

  /** Resolves once every queued event has been delivered. */
  drained(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Keeps only the newest queued event (a finished run's end state says it all) and resolves once it is out. */
  finish(): Promise<void> {
    this.queue.splice(0, this.queue.length - 1);
    return this.drained();
  }

  /** Drops the queued events (a failed or cancelled run reports through its error instead). */
  clear(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.settle();
  }

  private pump(): void {
    if (this.timer !== null) return;
    while (this.queue.length > 0) {
      const wait = this.last + this.interval - this.clock.now();
      if (wait > 0) {
        this.timer = this.clock.setTimer(() => {
          this.timer = null;
          this.pump();
        }, wait);
        return;
      }
      const next = this.queue.shift() as { event: T };
      this.last = this.clock.now();
      this.deliver(next.event);
    }
    this.settle();
  }

  private settle(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

export class ProgressReporter {
  private readonly pacer: EventPacer<MediaProgress>;
  private phaseStart: number;
  private phase: MediaPhase = 'plan';
  private samples: { t: number; bytes: number }[] = [];
  private drives: readonly DriveProgress[] | null = null;
  private state: MediaProgress = { phase: 'plan', bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0, etaSeconds: null, currentFile: null, disc: null, discs: null };

  constructor(
    emit: (p: MediaProgress) => void,
    private readonly clock: PacerClock = systemClock,
    interval: number = PROGRESS_INTERVAL_MS,
  ) {
    this.pacer = new EventPacer(emit, interval, clock);
    this.phaseStart = clock.now();
  }

  /** Starts a phase; the previous phase's last state stays queued ahead of it. */
  begin(phase: MediaPhase, bytesTotal: number, discs: number | null = null): void {
    this.phase = phase;
    this.phaseStart = this.clock.now();
    this.samples = [{ t: this.phaseStart, bytes: 0 }];
    this.state = { phase, bytesDone: 0, bytesTotal, bytesPerSecond: 0, etaSeconds: null, currentFile: null, disc: discs ? 1 : null, discs };
    this.flush();
  }

  update(bytesDone: number, currentFile: string | null, disc: number | null = this.state.disc): void {
    const t = this.clock.now();
    this.state.bytesDone = bytesDone;
    if (currentFile !== null) this.state.currentFile = currentFile;
    this.state.disc = disc;
    this.samples.push({ t, bytes: bytesDone });
    // Speed over the last ~3 s: steady enough to read, quick to follow a slower drive.
    while (this.samples.length > 2 && t - this.samples[0].t > 3000) this.samples.shift();
    const first = this.samples[0];
    const dt = (t - first.t) / 1000;
    this.state.bytesPerSecond = dt > 0.2 ? (bytesDone - first.bytes) / dt : this.state.bytesPerSecond;
    this.state.etaSeconds = this.state.bytesPerSecond > 0 ? Math.max(0, (this.state.bytesTotal - bytesDone) / this.state.bytesPerSecond) : null;
    this.flush();
  }

  /** A several-drive run's drives: sent inside every event from now on (one event for all, never one per drive). */
  setDrives(drives: readonly DriveProgress[]): void {
    this.drives = drives;
  }

  /** Queues the current state: delivered at once when the last event is old enough, else when it will be. */
  flush(): void {
    this.pacer.push(this.drives ? { ...this.state, drives: this.drives.map((d) => ({ ...d })) } : { ...this.state }, this.phase);
  }

  /**
   * At the end of a run: the states still waiting give way to the last one, which goes out within the interval, so
   * nothing is emitted after the run has returned and the run is not held up by phases nobody will see.
   */
  close(): Promise<void> {
    return this.pacer.finish();
  }

  /** Drops queued states (a failed or cancelled run reports through its error instead). */
  cancel(): void {
    this.pacer.clear();
  }

  get currentPhase(): MediaPhase {
    return this.phase;
  }
}
