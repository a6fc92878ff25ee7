// Progress as the user sees it: phase, bytes, speed, ETA and the current file — at most four events a second, with
// the last event of each phase always delivered.
import type { MediaPhase, MediaProgress } from '../../shared/media.js';

export const PROGRESS_INTERVAL_MS = 250;

export class ProgressReporter {
  private lastEmit = 0;
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
    if (t - this.lastEmit >= PROGRESS_INTERVAL_MS) this.flush();
  }

  /** Emits the current state now (phase ends, completion). */
  flush(): void {
    this.lastEmit = this.now();
    this.emit({ ...this.state });
  }

  get currentPhase(): MediaPhase {
    return this.phase;
  }
}
