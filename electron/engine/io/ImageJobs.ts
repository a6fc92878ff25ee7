// Runs image writes, read-backs and hashes in worker threads and reports their progress; an AbortSignal cancels them
// within one buffer (the workers poll a shared flag). Writes and read-backs get a hashing thread beside the writer
// (two cores busy); hash jobs can be spread over several workers. While a target is written, this thread asks the
// kernel to flush it (fdatasync, off the thread) so the disk works while the writer copies, instead of at the end.
// Small jobs run in this thread instead (InlineJobs): a worker costs more to start than they take.
import { closeSync, fdatasync, openSync, statSync } from 'node:fs';
import { deviceOpenFlags } from './deviceFlags.js';
import { MessageChannel, Worker } from 'node:worker_threads';
import { ContentIntegrityError, InputError, describeWriteError } from '../errors.js';
import { sourceSize, type ContentSource, type ImageLayout } from './ImageLayout.js';
import { CancelledError, WriteError } from './ImageWriter.js';
import { createRing } from './SlotRing.js';
import { runJobsInline, runsInline } from './InlineJobs.js';

export type WorkerJob =
  | {
      kind: 'write';
      path: string;
      layout: ImageLayout;
      /** 'file' (default) creates the file; 'device' opens a drive as it is. */
      target?: 'file' | 'device';
      gaps?: 'zero' | 'sparse' | 'skip';
      /** An image file's final length when it stands for a whole disk larger than the written part. */
      fileSize?: number;
      /** A drive's logical sector size: its writes are whole aligned sectors (default: what the system reports). */
      sectorSize?: number;
    }
  | {
      /** Reads a written image back, compares it with its layout and hashes it. */
      kind: 'compare';
      path: string;
      layout: ImageLayout;
      gaps?: 'zero' | 'sparse' | 'skip';
      fileSize?: number;
      /** A drive: read uncached in whole aligned sectors of this size. */
      sectorSize?: number;
      /** A file on a network share: read past this computer's cache (with `sectorSize` for the aligned reads it needs). */
      uncached?: boolean;
      /** 'hash': the files' bytes are hashed, not compared with their sources (ReadBackOptions.extents). */
      extents?: 'compare' | 'hash';
    }
  | { kind: 'hash'; path: string }
  /** With `tolerant`, a source that cannot be read gives a result with `error` instead of failing every job. */
  | { kind: 'hash-source'; source: ContentSource; label: string; tolerant?: boolean };

export type WorkerMessage =
  | { type: 'progress'; index: number; bytes: number; path: string | null }
  | { type: 'done'; index: number; sha256: string | null; bytes: number; error?: string }
  | { type: 'finished' }
  | { type: 'error'; name: string; message: string };

export interface JobResult {
  /** Null for writes (their bytes are hashed when read back). */
  sha256: string | null;
  bytes: number;
  /** Why a tolerant hash job could not finish. */
  error?: string;
}

export interface RunJobsOptions {
  signal?: AbortSignal;
  /** `done` is the bytes of every job so far (jobs may run side by side). */
  onProgress?: (index: number, bytes: number, path: string | null, done: number) => void;
  /** Hash jobs spread over this many workers (default 1); other jobs always run in order in one. */
  parallel?: number;
  /**
   * Writes to a network share: flushed every SHARE_FLUSH_EVERY bytes, and their progress counts only what a flush has
   * confirmed is on the server (what the writer has handed over may still sit in this computer's cache).
   */
  confirmedProgress?: boolean;
  /**
   * One of several runs side by side (each drive of a batch read back at once): a ring of LEAN_SLOTS × LEAN_SLOT and
   * small thread heaps, so N of them stay within the memory target; at USB speeds the smaller ring costs nothing.
   */
  lean?: boolean;
}

export const RING_SLOTS = 8;
export const RING_SLOT = 2 * 1024 * 1024;
export const LEAN_SLOTS = 4;
export const LEAN_SLOT = 1024 * 1024;
/** A thread that moves buffers keeps little on its heap: a young generation of 2 MiB instead of V8's 16 MiB semi-spaces. */
export const LEAN_THREAD = { maxYoungGenerationSizeMb: 2 };
/** Flush a target once this much more has been written since the last flush began. */
export const FLUSH_EVERY = 16 * 1024 * 1024;
/**
 * On a share, less often: each flush is a round trip that makes the server write through to its disk (SMB2 FLUSH).
 * Measured on an smbnetfs share over loopback, 16 MiB, 64 MiB and no flushes at all wrote in the same time within the
 * noise (12.6–22 s for 317 MB, cp 14.5–20 s); 64 MiB keeps the confirmed progress moving about once a second at 50 MB/s.
 */
export const SHARE_FLUSH_EVERY = 64 * 1024 * 1024;

/** Rebuilds the error the worker threw, keeping its kind (the CLI's exit code depends on it). */
function reviveError(name: string, message: string): Error {
  switch (name) {
    case 'CancelledError':
      return new CancelledError();
    case 'InputError':
      return new InputError(message);
    case 'ContentIntegrityError':
      return new ContentIntegrityError(message, '');
    case 'WriteError':
      return new WriteError(message);
    default:
      return new WriteError(message);
  }
}

function openTarget(job: Extract<WorkerJob, { kind: 'write' }>): number {
  // A new image file is created; a device (or an image being added to) is opened as it is.
  // A drive is opened exclusively (deviceFlags: O_EXCL on Linux, no sharing on Windows). A new file is opened for
  // reading too ('w+'): on an smbnetfs share, ftruncate of a write-only descriptor fails with EIO (measured).
  const flags = job.target === 'device' ? deviceOpenFlags() : job.gaps === 'skip' ? 'r+' : 'w+';
  try {
    return openSync(job.path, flags);
  } catch (err) {
    throw new WriteError(describeWriteError(err, job.path, 'open'));
  }
}

/** What a job reads or writes, for spreading hash jobs (a whole image's size from the file system). */
function jobBytes(j: WorkerJob): number {
  if (j.kind === 'hash-source') return sourceSize(j.source);
  if (j.kind !== 'hash') return j.layout.size;
  try {
    return statSync(j.path).size;
  } catch {
    return 0; // the worker says what is wrong with it
  }
}

/** Spreads hash jobs over `n` lists, largest first onto the least loaded (so the workers finish together). */
function spread(jobs: WorkerJob[], n: number): { index: number; job: WorkerJob }[][] {
  const lists: { index: number; job: WorkerJob }[][] = Array.from({ length: n }, () => []);
  const load = new Array<number>(n).fill(0);
  const order = jobs.map((job, index) => ({ index, job, bytes: jobBytes(job) })).sort((a, b) => b.bytes - a.bytes);
  for (const { index, job, bytes } of order) {
    const k = load.indexOf(Math.min(...load));
    lists[k].push({ index, job });
    load[k] += bytes;
  }
  return lists.map((l) => l.sort((a, b) => a.index - b.index)).filter((l) => l.length > 0);
}

export async function runImageJobs(jobs: WorkerJob[], options: RunJobsOptions = {}): Promise<JobResult[]> {
  if (jobs.length === 0) return [];
  const onlyHashes = jobs.every((j) => j.kind === 'hash' || j.kind === 'hash-source');
  const lists = onlyHashes ? spread(jobs, Math.max(1, Math.min(options.parallel ?? 1, jobs.length))) : [jobs.map((job, index) => ({ index, job }))];
  const cancelFlag = new SharedArrayBuffer(4);
  const flag = new Int32Array(cancelFlag);
  const results: JobResult[] = [];
  const bytes = new Array<number>(jobs.length).fill(0);

  // Write targets are opened here, so this thread can flush them while the worker writes.
  const fds = new Map<string, number>();
  const flushed = new Map<string, { done: number; inFlight: Promise<void> | null }>();
  let flushError: Error | null = null;
  try {
    for (const j of jobs) {
      if (j.kind === 'write' && !fds.has(j.path)) {
        fds.set(j.path, openTarget(j));
        flushed.set(j.path, { done: 0, inFlight: null });
      }
    }
  } catch (err) {
    for (const fd of fds.values()) closeSync(fd);
    throw err;
  }
  const every = options.confirmedProgress ? SHARE_FLUSH_EVERY : FLUSH_EVERY;
  const report = (index: number, path: string | null): void => options.onProgress?.(index, bytes[index], path, bytes.reduce((a, b) => a + b, 0));
  const flush = (index: number, path: string, upTo: number): void => {
    const f = flushed.get(path);
    const fd = fds.get(path);
    if (!f || fd === undefined || f.inFlight || upTo - f.done < every) return;
    f.inFlight = new Promise((resolve) =>
      fdatasync(fd, (err) => {
        f.inFlight = null;
        f.done = upTo;
        if (err && !flushError) {
          flushError = new WriteError(describeWriteError(err, path, 'fdatasync'));
          Atomics.store(flag, 0, 1);
        } else if (options.confirmedProgress && bytes[index] < upTo) {
          bytes[index] = upTo;
          report(index, null);
        }
        resolve();
      }),
    );
  };

  const onAbort = (): void => {
    Atomics.store(flag, 0, 1);
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const runList = (list: { index: number; job: WorkerJob }[]): Promise<void> => {
    const needsRing = list.some(({ job }) => job.kind === 'write' || job.kind === 'compare');
    const ring = needsRing ? (options.lean ? createRing(LEAN_SLOTS, LEAN_SLOT) : createRing(RING_SLOTS, RING_SLOT)) : null;
    const channel = needsRing ? new MessageChannel() : null;
    const limits = options.lean ? { resourceLimits: LEAN_THREAD } : {};
    const hasher = ring && channel ? new Worker(new URL('./hashWorker.js', import.meta.url), { workerData: { ring, port: channel.port2 }, transferList: [channel.port2], ...limits }) : null;
    const fdsOf = Object.fromEntries(list.flatMap(({ job }) => (job.kind === 'write' ? [[job.path, fds.get(job.path) as number]] : [])));
    const worker = new Worker(new URL('./imageWorker.js', import.meta.url), {
      workerData: { jobs: list, cancelFlag, ring, port: channel?.port1 ?? null, fds: fdsOf },
      transferList: channel ? [channel.port1] : [],
      ...limits,
    });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        void hasher?.terminate();
        if (err) {
          // The others stop too: one failure ends the run.
          Atomics.store(flag, 0, 1);
          reject(err);
        } else resolve();
      };
      hasher?.on('error', (err) => finish(new WriteError(`the hashing thread stopped: ${err.message}`)));
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'progress') {
          const job = jobs[m.index];
          if (job.kind === 'write') flush(m.index, job.path, m.bytes);
          // What a flush has not confirmed is not counted on a share; the file being copied is still named.
          if (!(options.confirmedProgress && job.kind === 'write')) bytes[m.index] = m.bytes;
          report(m.index, m.path);
        } else if (m.type === 'done') {
          results[m.index] = { sha256: m.sha256, bytes: m.bytes, ...(m.error !== undefined ? { error: m.error } : {}) };
          bytes[m.index] = m.bytes;
          options.onProgress?.(m.index, m.bytes, null, bytes.reduce((a, b) => a + b, 0));
        } else if (m.type === 'finished') finish(null);
        else if (m.type === 'error') finish(reviveError(m.name, m.message));
      });
      worker.on('error', (err) => finish(new WriteError(`the writer stopped: ${err.message}`)));
      worker.on('exit', (code) => {
        if (!settled) finish(new WriteError(`the writer thread ended unexpectedly (exit code ${code}).`));
      });
    });
  };

  try {
    // Small jobs (a refresh's steps, its read-back) cost less than a worker takes to start: see InlineJobs.
    if (runsInline(jobs, options)) return await runJobsInline(jobs, fds, options, every);
    const outcomes = await Promise.allSettled(lists.map(runList));
    // A write-back error is reported to one flush of the file only: the last one in flight may hold it, not the
    // writer's final fsync, so it is waited for before the run counts as done.
    await Promise.all([...flushed.values()].map((f) => f.inFlight));
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : []));
    // A flush that failed is the cause; the cancellation it raised in the writer is its effect.
    if (flushError) throw flushError;
    const real = failures.find((e) => !(e instanceof CancelledError));
    if (real) throw real;
    if (failures.length) throw failures[0];
    return results;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await Promise.all([...flushed.values()].map((f) => f.inFlight));
    for (const fd of fds.values()) {
      try {
        closeSync(fd);
      } catch {
        // closed already or the device is gone; nothing more to do with it
      }
    }
  }
}
