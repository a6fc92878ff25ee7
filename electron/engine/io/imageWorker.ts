// The worker thread that writes and re-reads images: blocking, positioned I/O with large buffers, away from the
// thread that serves the UI or the terminal. Content hashes are checked by a second thread (hashWorker) through a ring
// of shared buffers, so hashing overlaps copying. Cancellation arrives through a shared flag polled between buffers.
import { closeSync, constants, fsyncSync, ftruncateSync, openSync, statSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { describeFsError, describeWriteError } from '../errors.js';
import type { ContentSource, ImageLayout } from './ImageLayout.js';
import { readBackImage } from './ImageReadBack.js';
import { WriteError, hashSource, writeImage } from './ImageWriter.js';
import type { WorkerJob, WorkerMessage } from './ImageJobs.js';
import { RingProducer, type RingShared } from './SlotRing.js';
import { directFlag } from './SectorIo.js';
import { openUncachedRead } from './deviceFlags.js';
import { lowerThisThreadPriority } from './threadPriority.js';

const { jobs, cancelFlag, ring, port, fds } = workerData as {
  jobs: { index: number; job: WorkerJob }[];
  cancelFlag: SharedArrayBuffer;
  ring: RingShared | null;
  port: MessagePort | null;
  /** Write targets, opened by the parent (which also flushes them while the writes go on). */
  fds: Record<string, number>;
};
lowerThisThreadPriority();
const flag = new Int32Array(cancelFlag);
const cancelled = (): boolean => Atomics.load(flag, 0) !== 0;
const post = (m: WorkerMessage): void => parentPort?.postMessage(m);
const producer = ring && port ? new RingProducer(ring, port, cancelled) : null;

/** Structured cloning turns Buffers into Uint8Arrays; make them Buffers again. */
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const rehydrateSource = (s: ContentSource): ContentSource =>
  s.kind === 'buffer' ? { ...s, data: buf(s.data) } : s.kind === 'composite' ? { ...s, pieces: s.pieces.map((p) => ('data' in p ? { data: buf(p.data) } : p)) } : s;
function rehydrate(layout: ImageLayout): ImageLayout {
  return {
    size: layout.size,
    regions: layout.regions.map((r) => ({ offset: r.offset, data: buf(r.data) })),
    extents: layout.extents.map((e) => ({ ...e, source: rehydrateSource(e.source) })),
    ...(layout.bootEnd !== undefined ? { bootEnd: layout.bootEnd } : {}),
  };
}

function needProducer(): RingProducer {
  if (!producer) throw new Error('image worker: this job needs the hashing thread');
  return producer;
}

function runJob(index: number, job: WorkerJob): void {
  let last = 0;
  // Frequent enough for the parent to flush the target as it fills; the parent limits what reaches the user.
  const progress = (bytes: number, path: string | null): void => {
    const now = Date.now();
    if (now - last < 50) return;
    last = now;
    post({ type: 'progress', index, bytes, path });
  };
  if (job.kind === 'hash-source' || job.kind === 'hash') {
    let source: ContentSource;
    if (job.kind === 'hash') {
      let size: number;
      try {
        size = statSync(job.path).size;
      } catch (err) {
        throw new Error(describeFsError(err, job.path));
      }
      source = { kind: 'file', path: job.path, size, label: job.path };
    } else source = rehydrateSource(job.source);
    let bytes = 0;
    try {
      const sha = hashSource(source, cancelled, (n) => {
        bytes += n;
        progress(bytes, job.kind === 'hash-source' ? job.label : null);
      });
      post({ type: 'done', index, sha256: job.kind === 'hash' ? sha.toLowerCase() : sha, bytes });
    } catch (err) {
      if (job.kind !== 'hash-source' || !job.tolerant || (err as Error).name === 'CancelledError') throw err;
      post({ type: 'done', index, sha256: null, bytes, error: (err as Error).message });
    }
    return;
  }
  if (job.kind === 'compare') {
    let fd: number;
    try {
      fd = job.uncached ? openUncachedRead(job.path) : openSync(job.path, job.sectorSize ? constants.O_RDONLY | directFlag() : 'r');
    } catch (err) {
      throw new Error(`cannot read the written image back: ${describeFsError(err, job.path)}`);
    }
    try {
      const r = readBackImage(rehydrate(job.layout), fd, job.path, needProducer(), { cancelled, onProgress: progress, gaps: job.gaps, fileSize: job.fileSize, sectorSize: job.sectorSize, extents: job.extents });
      post({ type: 'done', index, sha256: r.sha256, bytes: r.bytes });
    } finally {
      closeSync(fd);
    }
    return;
  }
  const fd = fds[job.path];
  if (fd === undefined) throw new Error(`image worker: ${job.path} was not opened`);
  const gaps = job.gaps ?? (job.target === 'device' ? 'zero' : 'sparse');
  const r = writeImage(rehydrate(job.layout), fd, { cancelled, onProgress: progress, hasher: needProducer(), gaps, imageHash: false, targetName: job.path, sectorSize: job.sectorSize });
  // A trailing gap left sparse must still count: an image file is as long as its image (or the disk it stands for).
  try {
    if (job.target !== 'device' && gaps === 'sparse') ftruncateSync(fd, Math.max(job.layout.size, job.fileSize ?? 0));
    fsyncSync(fd);
  } catch (err) {
    throw new WriteError(describeWriteError(err, job.path, 'fsync'));
  }
  post({ type: 'done', index, sha256: null, bytes: r.bytes });
}

try {
  for (const { index, job } of jobs) runJob(index, job);
  post({ type: 'finished' });
} catch (err) {
  const e = err as Error;
  post({ type: 'error', name: e.name, message: e.message });
} finally {
  port?.close();
}
