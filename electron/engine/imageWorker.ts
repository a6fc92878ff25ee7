// The worker thread that writes and re-reads images: blocking, positioned I/O with large buffers, away from the
// thread that serves the UI or the terminal. Cancellation arrives through a shared flag polled between buffers.
import { closeSync, constants, fsyncSync, ftruncateSync, openSync, statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { describeFsError } from './errors.js';
import type { ContentSource, ImageLayout } from './ImageLayout.js';
import { SourceHashes, hashSource, writeImage } from './ImageWriter.js';
import type { WorkerJob, WorkerMessage } from './ImageJobs.js';

const { jobs, cancelFlag } = workerData as { jobs: WorkerJob[]; cancelFlag: SharedArrayBuffer };
const flag = new Int32Array(cancelFlag);
const cancelled = (): boolean => Atomics.load(flag, 0) !== 0;
const post = (m: WorkerMessage): void => parentPort?.postMessage(m);

/** Structured cloning turns Buffers into Uint8Arrays; make them Buffers again. */
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const rehydrateSource = (s: ContentSource): ContentSource =>
  s.kind === 'buffer' ? { ...s, data: buf(s.data) } : s.kind === 'composite' ? { ...s, pieces: s.pieces.map((p) => ('data' in p ? { data: buf(p.data) } : p)) } : s;
function rehydrate(layout: ImageLayout): ImageLayout {
  return { size: layout.size, regions: layout.regions.map((r) => ({ offset: r.offset, data: buf(r.data) })), extents: layout.extents.map((e) => ({ ...e, source: rehydrateSource(e.source) })) };
}

function run(): void {
  const hashes = new SourceHashes();
  jobs.forEach((job, index) => {
    let last = 0;
    let read = 0;
    const progress = (bytes: number, path: string | null): void => {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      post({ type: 'progress', index, bytes, path });
    };
    if (job.kind === 'hash-source') {
      let bytes = 0;
      const sha256 = hashSource(rehydrateSource(job.source), cancelled, (n) => {
        bytes += n;
        progress(bytes, job.label);
      });
      post({ type: 'done', index, sha256, bytes });
    } else if (job.kind === 'write') {
      // A new image file is created; a device (or an image being added to) is opened as it is.
      // On Linux O_EXCL makes the kernel refuse a drive that is still mounted or held by another program.
      const flags = job.target === 'device' ? constants.O_RDWR | (process.platform === 'linux' ? constants.O_EXCL : 0) : job.gaps === 'skip' ? 'r+' : 'w';
      const fd = openSync(job.path, flags);
      try {
        const gaps = job.gaps ?? (job.target === 'device' ? 'zero' : 'sparse');
        const r = writeImage(rehydrate(job.layout), fd, { cancelled, onProgress: progress, hashes, gaps });
        // A trailing gap left sparse must still count: an image file is as long as its image (or the disk it stands for).
        if (job.target !== 'device' && gaps === 'sparse') ftruncateSync(fd, Math.max(job.layout.size, job.fileSize ?? 0));
        fsyncSync(fd);
        post({ type: 'done', index, sha256: r.sha256, bytes: r.bytes });
      } finally {
        closeSync(fd);
      }
    } else {
      let size: number;
      try {
        size = statSync(job.path).size;
      } catch (err) {
        throw new Error(describeFsError(err, job.path));
      }
      const sha256 = hashSource({ kind: 'file', path: job.path, size, label: job.path }, cancelled, (n) => {
        read += n;
        progress(read, null);
      }).toLowerCase();
      post({ type: 'done', index, sha256, bytes: read });
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
