// One read, N writes: the same content written to several targets (USB drives or image files) at once, each with its
// own layout (drives of different sizes or sector sizes get different cluster sizes, so the same files sit at different
// offsets, beside different FATs and directories). Every content source is read once and hash-checked once; each chunk
// is written to every target at that target's own offset.
//
// Threads: one reader (fanOutReader) fills a ring of fixed slots in shared memory (FanOutRing; default 8 × 2 MiB =
// 16 MiB, whatever the number of targets); one writer per target (fanOutWriter) and one hashing thread (fanOutHasher)
// each take every slot and release it; a slot is refilled once every live consumer has released it. Each writer also
// writes what is its target's alone (regions, gaps, files from memory; the boot region last on a drive), from a plan
// compiled once per layout into shared memory (FanOutTarget.compileTarget) that every writer of that layout reads.
//
// The bound: a slow target holds the others back only once the ring is full, that is once the fastest target is a
// whole ring (16 MiB of content) ahead of it; from then on every target goes at the pace of the slowest (at USB speeds
// a larger ring bought nothing: 3 drives at 20/40/60 MB/s took 0.85–0.99 × the slowest alone with either). Memory: the
// ring, one compiled plan per layout, and per target a thread (about 9 MiB with its small young generation), a 1 MiB
// sector stage and 64 KiB of zeros — about 11 MiB a drive; content never collects anywhere else, however far one lags.
//
// Each target ends on its own: a write error (EIO, EROFS, ENOSPC, a pulled drive) or its own AbortSignal ends that
// target only, with its error and path kept; the others go on. What is wrong with the content itself (a source that
// cannot be read, bytes that do not match the library's hash) is wrong for every target: the run rejects with that
// error, and no target is finished (no drive gets its boot region). The run's AbortSignal stops everything within one
// slot, with CancelledError.
import { closeSync, openSync } from 'node:fs';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { ErrorDetail } from '../../../shared/messages.js';
import { ContentIntegrityError, InputError, describeWriteError, writeFailureDetail } from '../errors.js';
import type { ContentSource, ImageLayout } from './ImageLayout.js';
import { CancelledError, WriteError, checkedSource } from './ImageWriter.js';
import { ABORT, RELEASES, cancelWord, createFanOutRing, leave } from './FanOutRing.js';
import { deviceOpenFlags } from './deviceFlags.js';
import type { ReadSpan, ReaderReport } from './fanOutReader.js';
import type { HasherReport } from './fanOutHasher.js';
import type { WriterCommand, WriterJob, WriterReport } from './fanOutWriter.js';
import { compileTarget, type CompiledTarget } from './FanOutTarget.js';
import { deviceAlignment } from './SectorIo.js';
import { LEAN_THREAD } from './ImageJobs.js';

export const FANOUT_SLOTS = 8;
export const FANOUT_SLOT = 2 * 1024 * 1024;

export interface FanOutTarget {
  /** The image file or the drive (its device path). */
  path: string;
  layout: ImageLayout;
  /** 'file' creates the image file; 'device' opens a drive as it is (exclusively, uncached on Linux). */
  target: 'file' | 'device';
  /** Default: 'zero' on a drive, 'sparse' in an image file (as runImageJobs). */
  gaps?: 'zero' | 'sparse' | 'skip';
  /** An image file's final length when it stands for a whole disk larger than the written part. */
  fileSize?: number;
  /** A drive's logical sector size: whole aligned sectors, boot region last (default: what the system reports). */
  sectorSize?: number;
  /** Cancels this target only. */
  signal?: AbortSignal;
  /** For tests: the writer pauses this long before each slot, standing for a slow drive. */
  slowdownMs?: number;
}

export interface FanOutOptions {
  /** Cancels every target: the run rejects with CancelledError. */
  signal?: AbortSignal;
  /** Image bytes done on target `index`, at most every 50 ms per target (the caller paces what the user sees). */
  onProgress?: (index: number, bytes: number) => void;
  /**
   * Target `index` has ended (written, failed or cancelled: its result as the run returns it), as soon as it does,
   * while the others may go on; once per target. Not for a run that rejects (the content failed, or all cancelled).
   */
  onTargetEnd?: (index: number, result: FanOutTargetResult) => void;
  slots?: number;
  slotSize?: number;
}

export interface FanOutTargetResult {
  path: string;
  /** Image bytes done (the layout's size when the target is complete). */
  bytes: number;
  /** Why this target failed, naming it; null when it was written or cancelled. */
  error: string | null;
  cancelled: boolean;
  /** The failure's code and values (WRITE_FAILED: the system's error code and what was being done), when it has one. */
  detail?: ErrorDetail;
}

export interface FanOutResult {
  targets: FanOutTargetResult[];
  /** Bytes read from the content sources, all targets together: the content's size, not N times it. */
  bytesRead: number;
}

/** What the reader reads, and which shared source each extent of each target is (null: written from memory). */
export interface ReadPlan {
  spans: ReadSpan[];
  sourceIds: (number | null)[][];
}

/**
 * Sources are the same when they are the same file (a library blob or a file, with the same size and hash claimed);
 * a composite source is the same object. A 'buffer' source is already in memory: each writer writes it itself.
 */
function sourceKey(s: ContentSource, composites: Map<ContentSource, number>): string | null {
  switch (s.kind) {
    case 'buffer':
      return null;
    case 'library':
      return `library\0${s.blobPath}\0${s.size}\0${s.sha256}`;
    case 'file':
      return `file\0${s.path}\0${s.size}\0${s.sha256 ?? ''}\0${s.sectorSize ?? ''}\0${s.uncached ? 1 : 0}`;
    case 'composite': {
      if (!composites.has(s)) composites.set(s, composites.size);
      return `composite\0${composites.get(s)}`;
    }
  }
}

/** Which bytes of which source to read, in the order the first target's layout places them, each range once. */
export function planReads(layouts: readonly ImageLayout[]): ReadPlan {
  const ids = new Map<string, number>();
  const composites = new Map<ContentSource, number>();
  const spans: ReadSpan[] = [];
  const sourceIds = layouts.map((layout) =>
    layout.extents.map((e) => {
      const key = sourceKey(e.source, composites);
      if (key === null) return null;
      let id = ids.get(key);
      if (id === undefined) {
        id = spans.length;
        ids.set(key, id);
        spans.push({ id, source: e.source, ranges: [] });
      }
      spans[id].ranges.push([e.sourceOffset, e.sourceOffset + e.size]);
      return id;
    }),
  );
  for (const span of spans) {
    // Overlapping or touching ranges are read as one, so a whole file is read (and hash-checked) in order.
    const sorted = span.ranges.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const [from, to] of sorted) {
      const last = merged[merged.length - 1];
      if (last && from <= last[1]) last[1] = Math.max(last[1], to);
      else merged.push([from, to]);
    }
    span.ranges = merged;
  }
  return { spans, sourceIds };
}

function openTarget(t: FanOutTarget, gaps: 'zero' | 'sparse' | 'skip'): number {
  // As runImageJobs: a drive exclusively and uncached, a new image file read-write (ftruncate needs it on smbnetfs).
  const flags = t.target === 'device' ? deviceOpenFlags() : gaps === 'skip' ? 'r+' : 'w+';
  try {
    return openSync(t.path, flags);
  } catch (err) {
    throw new WriteError(describeWriteError(err, t.path, 'open'), writeFailureDetail(err, t.path, 'open'));
  }
}

/** Rebuilds an error the reader or the hashing thread sent, keeping its kind (the CLI's exit code depends on it). */
function revive(r: { name: string; message: string; label: string }): Error {
  if (r.name === 'ContentIntegrityError') return new ContentIntegrityError(r.message, r.label);
  if (r.name === 'InputError') return new InputError(r.message);
  if (r.name === 'CancelledError') return new CancelledError();
  return new WriteError(r.message);
}

/** The threads keep little on their heaps (slot messages, counters): each stays near a bare thread's 9 MiB. */
const THREAD_LIMITS = LEAN_THREAD;

const workerUrl = (name: string): URL => new URL(`./${name}.js`, import.meta.url);

export async function runFanOutWrite(targets: readonly FanOutTarget[], options: FanOutOptions = {}): Promise<FanOutResult> {
  if (options.signal?.aborted) throw new CancelledError();
  const plan = planReads(targets.map((t) => t.layout));
  const results: FanOutTargetResult[] = targets.map((t) => ({ path: t.path, bytes: 0, error: null, cancelled: false }));
  const gapsOf = (t: FanOutTarget): 'zero' | 'sparse' | 'skip' => t.gaps ?? (t.target === 'device' ? 'zero' : 'sparse');
  const ended = new Set<number>();
  const end = (i: number): void => {
    if (ended.has(i)) return;
    ended.add(i);
    options.onTargetEnd?.(i, { ...results[i] });
  };
  const fds: (number | null)[] = targets.map((t, i) => {
    try {
      return openTarget(t, gapsOf(t));
    } catch (err) {
      results[i].error = (err as Error).message;
      const detail = err instanceof WriteError ? err.detail : null;
      if (detail) results[i].detail = detail;
      return null;
    }
  });
  fds.forEach((fd, i) => fd === null && end(i));
  if (fds.every((fd) => fd === null)) return { targets: results, bytesRead: 0 };

  // Targets of one layout (drives of one geometry) share one compiled plan in shared memory.
  const compiledPlans: { layout: ImageLayout; sectored: boolean; plan: CompiledTarget }[] = [];
  const compiled = (i: number, fd: number): CompiledTarget => {
    const layout = targets[i].layout;
    const sectored = deviceAlignment(fd, targets[i].sectorSize) !== null;
    const same = (l: ImageLayout): boolean => l.extents === layout.extents && l.regions === layout.regions && l.size === layout.size && l.bootEnd === layout.bootEnd;
    const found = compiledPlans.find((c) => c.sectored === sectored && same(c.layout));
    if (found) return found.plan;
    const c = { layout, sectored, plan: compileTarget(layout, plan.sourceIds[i], sectored) };
    compiledPlans.push(c);
    return c.plan;
  };
  const ring = createFanOutRing(options.slots ?? FANOUT_SLOTS, options.slotSize ?? FANOUT_SLOT, targets.length + 1);
  const ctl = new Int32Array(ring.control);
  // A target that did not open is not waited for.
  fds.forEach((fd, i) => fd === null && leave(ring, i));
  const channels = fds.map((fd) => (fd === null ? null : new MessageChannel()));
  const hashChannel = new MessageChannel();
  const writers: (Worker | null)[] = [];
  const exited: Promise<void>[] = [];
  let bytesRead = 0;
  // Kept in an object: they are set by the threads' events, which the compiler's flow analysis does not see.
  const failed: { read: Error | null; hash: Error | null } = { read: null, hash: null };
  const listeners: (() => void)[] = [];

  const stopWriter = (i: number): void => {
    Atomics.store(ctl, cancelWord(ring, i), 1);
    writers[i]?.postMessage({ t: 'stop' } satisfies WriterCommand);
  };
  const stopAll = (): void => {
    Atomics.store(ctl, ABORT, 1);
    Atomics.add(ctl, RELEASES, 1);
    Atomics.notify(ctl, RELEASES);
    writers.forEach((_, i) => stopWriter(i));
  };
  const whenExited = (w: Worker, onExit: () => void): void => {
    exited.push(new Promise<void>((resolve) => w.once('exit', () => (onExit(), resolve()))));
  };

  try {
    targets.forEach((t, i) => {
      const fd = fds[i];
      const channel = channels[i];
      if (fd === null || !channel) {
        writers.push(null);
        return;
      }
      const job: WriterJob = { index: i, path: t.path, fd, plan: compiled(i, fd), target: t.target, gaps: gapsOf(t), ...(t.fileSize !== undefined ? { fileSize: t.fileSize } : {}), ...(t.sectorSize !== undefined ? { sectorSize: t.sectorSize } : {}), ...(t.slowdownMs ? { slowdownMs: t.slowdownMs } : {}) };
      const w = new Worker(workerUrl('fanOutWriter'), { workerData: { ring, port: channel.port2, job }, transferList: [channel.port2], resourceLimits: THREAD_LIMITS });
      writers.push(w);
      let reported = false;
      w.on('message', (m: WriterReport) => {
        if (m.type === 'progress') {
          results[i].bytes = m.bytes;
          options.onProgress?.(i, m.bytes);
        } else {
          reported = true;
          results[i] = { path: t.path, bytes: m.bytes, error: m.error, cancelled: m.cancelled, ...(m.detail ? { detail: m.detail } : {}) };
          // Said at once, unless the whole run is stopping (it rejects: no target has a result of its own then).
          if (Atomics.load(ctl, ABORT) === 0) end(i);
        }
      });
      w.on('error', (err) => {
        reported = true;
        results[i].error = `the writer of ${t.path} stopped: ${err.message}`;
      });
      whenExited(w, () => {
        // Whatever happened to the thread, the ring no longer waits for it.
        leave(ring, i);
        if (!reported) results[i].error = `the writer of ${t.path} ended unexpectedly`;
        if (Atomics.load(ctl, ABORT) === 0) end(i);
      });
      if (t.signal) {
        const onAbort = (): void => stopWriter(i);
        if (t.signal.aborted) onAbort();
        t.signal.addEventListener('abort', onAbort, { once: true });
        listeners.push(() => t.signal?.removeEventListener('abort', onAbort));
      }
    });

    const checked = plan.spans.map((s) => (checkedSource(s.source) ? s.source : null));
    const hasher = new Worker(workerUrl('fanOutHasher'), { workerData: { ring, port: hashChannel.port2, sources: checked }, transferList: [hashChannel.port2], resourceLimits: THREAD_LIMITS });
    hasher.on('message', (m: HasherReport) => {
      failed.hash ??= revive(m);
      stopAll();
    });
    hasher.on('error', (err) => {
      failed.hash ??= new WriteError(`the hashing thread stopped: ${err.message}`);
      stopAll();
    });
    whenExited(hasher, () => leave(ring, targets.length));

    const ports: (MessagePort | null)[] = [...channels.map((c) => c?.port1 ?? null), hashChannel.port1];
    const reader = new Worker(workerUrl('fanOutReader'), { workerData: { ring, ports, spans: plan.spans }, transferList: ports.filter((p): p is MessagePort => p !== null), resourceLimits: THREAD_LIMITS });
    reader.on('message', (m: ReaderReport) => {
      if (m.type === 'read') bytesRead = m.bytes;
      // Every writer has ended on its own: their results say why, and nothing is left to stop.
      else if (m.name !== 'NoTargetsLeft') {
        failed.read ??= revive(m);
        stopAll();
      }
    });
    reader.on('error', (err) => {
      failed.read ??= new WriteError(`the reading thread stopped: ${err.message}`);
      stopAll();
    });
    whenExited(reader, () => undefined);

    const onAbort = (): void => stopAll();
    if (options.signal) {
      options.signal.addEventListener('abort', onAbort, { once: true });
      listeners.push(() => options.signal?.removeEventListener('abort', onAbort));
    }
    await Promise.all(exited);
  } finally {
    for (const off of listeners) off();
    for (const fd of fds) {
      if (fd === null) continue;
      try {
        closeSync(fd);
      } catch {
        // closed already or the drive is gone; its result says so
      }
    }
  }
  // The content's own failure is the cause; the cancellations it raised in the writers are its effect.
  const failure = failed.hash ?? failed.read;
  if (options.signal?.aborted && (!failure || failure instanceof CancelledError)) throw new CancelledError();
  if (failure) throw failure;
  return { targets: results, bytesRead };
}
