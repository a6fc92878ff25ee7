// Progress as the user sees it: phase, bytes, speed, ETA and the current file — at most four events a second, with
// the last event of each phase always delivered.
import type { MediaPhase, MediaProgress } from '../../shared/media.js';

export const PROGRESS_INTERVAL_MS = 250;

export class ProgressReporter {
  private lastEmit = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private phaseStart = Date.now();
  private phase: MediaPhase = 'plan';
  private samples: { t: number; bytes: number }[] = [];
  private state: MediaProgress = { phase: 'plan', bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0, etaSeconds: null, currentFile: null, disc: null, discs: null };

  constructor(
    private readonly emit: (p: MediaProgress) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a phase; the previous one's last state was already flushed by `flush`. */
  begin(phase: MediaPhase, bytesTotal: number, discs: number | null = null): void {
    this.phase = phase;
    this.phaseStart = this.now();
    this.samples = [{ t: this.phaseStart, bytes: 0 }];
    this.state = { phase, bytesDone: 0, bytesTotal, bytesPerSecond: 0, etaSeconds: null, currentFile: null, disc: discs ? 1 : null, discs };
    this.flush();
  }

  update(bytesDone: number, currentFile: string | null, disc: number | null = this.state.disc): void {
    const t = this.now();
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
    if (t - this.lastEmit >= PROGRESS_INTERVAL_MS) this.send();
    else this.flush();
  }

  /**
   * Delivers the current state: at once when the last event is 250 ms old, else when it will be (so phase changes and
   * the final state always arrive, and never more than four events a second).
   */
  flush(): void {
    const wait = this.lastEmit + PROGRESS_INTERVAL_MS - this.now();
    if (wait <= 0) {
      this.send();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => this.send(), wait);
  }

  /** Waits for a pending event to go out (at most 250 ms), so nothing is emitted after the run has returned. */
  close(): Promise<void> {
    if (!this.timer) return Promise.resolve();
    const wait = Math.max(0, this.lastEmit + PROGRESS_INTERVAL_MS - this.now());
    clearTimeout(this.timer);
    this.timer = null;
    return new Promise((resolve) =>
      setTimeout(() => {
        this.send();
        resolve();
      }, wait),
    );
  }

  /** Drops a pending event (a failed or cancelled run reports through its error instead). */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private send(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastEmit = this.now();
    this.emit({ ...this.state });
  }

  get currentPhase(): MediaPhase {
    return this.phase;
  }
}
