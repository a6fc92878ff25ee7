// A writer thread of a fan-out write: one per target. It takes every slot the reader hands over, writes the chunks its
// layout holds at its own offsets (TargetWriter), and releases the slot. A failure (EIO, EROFS, a pulled drive) or a
// cancel ends only this target: it leaves the ring, so the others no longer wait for it, and reports its result.
import { fsyncSync, ftruncateSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { describeWriteError, writeFailureDetail } from '../errors.js';
import type { ErrorDetail } from '../../../shared/messages.js';
import { CancelledError, WriteError } from './ImageWriter.js';
import { ABORT, cancelWord, leave, release, type FanOutMessage, type FanOutShared } from './FanOutRing.js';
import { TargetWriter, type CompiledTarget } from './FanOutTarget.js';
import { lowerThisThreadPriority } from './threadPriority.js';

export interface WriterJob {
  index: number;
  path: string;
  fd: number;
  /** Shared with every writer of the same layout (FanOutTarget.compileTarget). */
  plan: CompiledTarget;
  target: 'file' | 'device';
  gaps: 'zero' | 'sparse' | 'skip';
  fileSize?: number;
  sectorSize?: number;
  /** For tests: a pause before each slot, standing for a slow drive. */
  slowdownMs?: number;
}

export type WriterReport = { type: 'progress'; bytes: number } | { type: 'result'; bytes: number; error: string | null; cancelled: boolean; detail?: ErrorDetail };
/** From the parent: stop now (this target was cancelled, or the run stops). */
export type WriterCommand = { t: 'stop' };

const { ring, port, job } = workerData as { ring: FanOutShared; port: MessagePort; job: WriterJob };
lowerThisThreadPriority();
const ctl = new Int32Array(ring.control);
const cancelled = (): boolean => Atomics.load(ctl, ABORT) !== 0 || Atomics.load(ctl, cancelWord(ring, job.index)) !== 0;
const data = Buffer.from(ring.data);
const post = (m: WriterReport): void => parentPort?.postMessage(m);
const pause = new Int32Array(new SharedArrayBuffer(4));
let writer: TargetWriter | null = null;
let over = false;
let last = 0;

function end(error: unknown): void {
  if (over) return;
  over = true;
  leave(ring, job.index);
  const isCancel = error instanceof CancelledError || (error as Error | null)?.name === 'CancelledError';
  const detail = error instanceof WriteError && !isCancel ? error.detail : null;
  post({ type: 'result', bytes: writer?.done ?? 0, error: error === null || isCancel ? null : (error as Error).message, cancelled: isCancel, ...(detail ? { detail } : {}) });
  port.close();
  // Without a listener the parent's port no longer keeps this thread alive: it ends.
  parentPort?.removeAllListeners('message');
  parentPort?.unref();
}

function progress(): void {
  const now = Date.now();
  if (now - last < 50) return;
  last = now;
  post({ type: 'progress', bytes: writer?.done ?? 0 });
}

try {
  writer = new TargetWriter(job.plan, job.fd, { gaps: job.gaps, sectorSize: job.sectorSize, targetName: job.path, cancelled });
} catch (err) {
  end(err);
}

port.on('message', (m: FanOutMessage) => {
  if (over || !writer) return;
  try {
    if (m.t === 'slot') {
      if (job.slowdownMs) Atomics.wait(pause, 0, 0, job.slowdownMs);
      const base = m.slot * ring.slotSize;
      for (const e of m.entries) writer.content(e.id, e.at, data.subarray(base + e.off, base + e.off + e.len));
      release(ring, job.index, m.seq);
      progress();
      return;
    }
    writer.finish();
    // A trailing gap left sparse must still count: an image file is as long as its image (or the disk it stands for).
    try {
      if (job.target !== 'device' && job.gaps === 'sparse') ftruncateSync(job.fd, Math.max(job.plan.size, job.fileSize ?? 0));
      fsyncSync(job.fd);
    } catch (err) {
      throw new WriteError(describeWriteError(err, job.path, 'fsync'), writeFailureDetail(err, job.path, 'fsync'));
    }
    post({ type: 'progress', bytes: writer.done });
    end(null);
  } catch (err) {
    end(err);
  }
});

parentPort?.on('message', (m: WriterCommand) => {
  if (m.t === 'stop') end(new CancelledError());
});
