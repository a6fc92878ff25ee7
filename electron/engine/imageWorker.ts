// The worker thread that writes and re-reads images: blocking, positioned I/O with large buffers, away from the
// thread that serves the UI or the terminal. Cancellation arrives through a shared flag polled between buffers.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { describeFsError } from './errors.js';
import type { ContentSource, ImageLayout } from './ImageLayout.js';
import { CancelledError, SourceHashes, writeImage } from './ImageWriter.js';
import type { WorkerJob, WorkerMessage } from './ImageJobs.js';

const { jobs, cancelFlag } = workerData as { jobs: WorkerJob[]; cancelFlag: SharedArrayBuffer };
const flag = new Int32Array(cancelFlag);
const cancelled = (): boolean => Atomics.load(flag, 0) !== 0;
const post = (m: WorkerMessage): void => parentPort?.postMessage(m);

/** Structured cloning turns Buffers into Uint8Arrays; make them Buffers again. */
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
function rehydrate(layout: ImageLayout): ImageLayout {
  const src = (s: ContentSource): ContentSource => (s.kind === 'buffer' ? { ...s, data: buf(s.data) } : s);
  return { size: layout.size, regions: layout.regions.map((r) => ({ offset: r.offset, data: buf(r.data) })), extents: layout.extents.map((e) => ({ ...e, source: src(e.source) })) };
}

function run(): void {
  const hashes = new SourceHashes();
  jobs.forEach((job, index) => {
    let last = 0;
    const progress = (bytes: number, path: string | null): void => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      post({ type: 'progress', index, bytes, path });
    };
    if (job.kind === 'write') {
      const fd = openSync(job.path, 'w');
      try {
        const r = writeImage(rehydrate(job.layout), fd, { cancelled, onProgress: progress, hashes, gaps: 'sparse' });
        // A trailing gap left sparse must still count: the file is as long as the image.
        ftruncateSync(fd, job.layout.size);
        fsyncSync(fd);
        post({ type: 'done', index, sha256: r.sha256, bytes: r.bytes });
      } finally {
        closeSync(fd);
      }
    } else {
      let fd: number;
      try {
        fd = openSync(job.path, 'r');
      } catch (err) {
        throw new Error(describeFsError(err, job.path));
      }
      try {
        const h = createHash('sha256');
        const b = Buffer.allocUnsafe(8 * 1024 * 1024);
        let pos = 0;
        for (;;) {
          if (cancelled()) throw new CancelledError();
          const n = readSync(fd, b, 0, b.length, pos);
          if (n === 0) break;
          h.update(b.subarray(0, n));
          pos += n;
          progress(pos, null);
        }
        post({ type: 'done', index, sha256: h.digest('hex'), bytes: pos });
      } finally {
        closeSync(fd);
      }
    }
  });
}

try {
  run();
  post({ type: 'finished' });
} catch (err) {
  const e = err as Error;
  post({ type: 'error', name: e.name, message: e.message });
}
