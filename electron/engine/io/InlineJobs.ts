// Small image jobs run in the calling thread: a worker thread costs 60–100 ms to start (Node's own bootstrap,
// measured with an empty worker), two of them (writer and hasher) more than a refresh of a 50 MB driver package takes
// to write, and again to read back. The I/O here is asynchronous, so the event loop keeps serving progress, cancel
// and the wizard; hashing a 2 MiB chunk takes about a millisecond and a half. Reads run ahead of the writes and hashes
// (READ_AHEAD buffers, across files and jobs), and a write is flushed as it goes, so the disk reads, the disk writes
// and the CPU hashes at the same time, as with the workers. Only what needs nothing a worker gives is run here: image
// files (not drives: their writes want aligned memory and a thread of their own), writes that leave gaps alone (a
// refresh's steps), hashes of sources read through the cache; and at most INLINE_BYTES in all.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fdatasync, fsync, read, statSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { describeFsError, describeWriteError } from '../errors.js';
import type { JobResult, RunJobsOptions, WorkerJob } from './ImageJobs.js';
import { compositeSpans, layoutItems, sourceSize, type ContentSource } from './ImageLayout.js';
import { CancelledError, DEFAULT_BUFFER, SourceHashes, WriteError, openSource, reportedBytes, sourceEnded, sourceReadFailed } from './ImageWriter.js';

/** Jobs of at most this many bytes in all run in this thread. */
export const INLINE_BYTES = 64 * 1024 * 1024;
/** Buffers of DEFAULT_BUFFER: one with the writer or hasher, the others being read into. */
const READ_AHEAD = 4;

const readAt = promisify(read);
const writeAt = promisify(write);
const flushFd = promisify(fsync);
const flushData = promisify(fdatasync);

/** A source read through the cache, with no aligned or uncached reads (those want a worker's aligned memory). */
function plainSource(s: ContentSource): boolean {
  if (s.kind === 'file') return !s.sectorSize && !s.uncached;
  if (s.kind === 'composite') return s.pieces.every((p) => 'data' in p || (!p.sectorSize && !p.uncached));
  return true;
}

function inlineBytes(job: WorkerJob): number | null {
  switch (job.kind) {
    case 'write':
      if (job.target === 'device' || job.sectorSize || job.gaps !== 'skip' || !job.layout.extents.every((e) => plainSource(e.source))) return null;
      return reportedBytes(job.layout, 'skip');
    case 'hash-source':
      return plainSource(job.source) ? sourceSize(job.source) : null;
    case 'hash':
      try {
        return statSync(job.path).size;
      } catch {
        return 0; // the job says what is wrong with it
      }
    default:
      return null;
  }
}

/** Whether `jobs` run in this thread (see the top of this file). */
export function runsInline(jobs: WorkerJob[], options: RunJobsOptions): boolean {
  if (options.confirmedProgress) return false;
  // Reads run ahead of writes within a job: none may read a file being written.
  const targets = new Set(jobs.flatMap((j) => (j.kind === 'write' ? [j.path] : [])));
  const readsTarget = (s: ContentSource): boolean =>
    s.kind === 'composite' ? s.pieces.some((p) => 'path' in p && targets.has(p.path)) : targets.has(s.kind === 'library' ? s.blobPath : s.kind === 'file' ? s.path : '');
  if (jobs.some((j) => j.kind === 'write' && j.layout.extents.some((e) => readsTarget(e.source)))) return false;
  let total = 0;
  for (const j of jobs) {
    const n = inlineBytes(j);
    if (n === null) return false;
    total += n;
    if (total > INLINE_BYTES) return false;
  }
  return true;
}

async function writeAll(fd: number, data: Buffer, at: number, target: string): Promise<void> {
  for (let off = 0; off < data.length; ) {
    try {
      off += (await writeAt(fd, data, off, data.length - off, at + off)).bytesWritten;
    } catch (err) {
      throw new WriteError(describeWriteError(err, target, 'write'));
    }
  }
}

/** What a unit of the stream is for: a write job's bytes at `dest`, or a hash job's next bytes. */
interface Tag {
  job: number;
  /** Image offset of a write's bytes; -1 for a hash job's. */
  dest: number;
  /** The content source and offset the bytes are checked against (SourceHashes), for writes. */
  source: ContentSource | null;
  at: number;
  path: string | null;
}

/** A source read from a file (a composite's files are read as such). */
type ReadSource = Extract<ContentSource, { kind: 'file' | 'library' }>;

/** Bytes in memory, or a range of a file to read; `last` ends a job (a write is flushed there). */
type Unit = ({ data: Buffer } | { read: ReadSource; fileOffset: number; len: number } | { last: true }) & { tag: Tag };

/** The units of `size` bytes of `source` from `offset`, reads of at most DEFAULT_BUFFER. */
function* sourceUnits(source: ContentSource, offset: number, size: number, tag: Omit<Tag, 'at' | 'dest'>, dest: number): Generator<Unit> {
  const at = (o: number): Tag => ({ ...tag, at: o, dest: dest < 0 ? -1 : dest + (o - offset) });
  if (source.kind === 'buffer') {
    yield { data: source.data.subarray(offset, offset + size), tag: at(offset) };
    return;
  }
  if (source.kind === 'composite') {
    for (const span of compositeSpans(source, offset, size)) {
      if ('data' in span) yield { data: span.data, tag: at(span.at) };
      else for (let o = 0; o < span.len; o += DEFAULT_BUFFER) yield { read: span.file, fileOffset: span.fileOffset + o, len: Math.min(DEFAULT_BUFFER, span.len - o), tag: at(span.at + o) };
    }
    return;
  }
  for (let o = offset; o < offset + size; o += DEFAULT_BUFFER) yield { read: source, fileOffset: o, len: Math.min(DEFAULT_BUFFER, offset + size - o), tag: at(o) };
}

/** Every job's units in order: a write's regions and extents by offset, a hash job's source from its start. */
function* jobUnits(jobs: WorkerJob[], hashSources: (ContentSource | null)[]): Generator<Unit> {
  for (const [job, j] of jobs.entries()) {
    if (j.kind === 'write') {
      for (const { offset, region, extent: e } of layoutItems(j.layout)) {
        if (region) yield { data: region, tag: { job, dest: offset, source: null, at: 0, path: null } };
        else if (e) {
          if (e.sourceOffset + e.size > sourceSize(e.source)) throw new Error(`layout bug: ${e.path} extent past its source`);
          yield* sourceUnits(e.source, e.sourceOffset, e.size, { job, source: e.source, path: e.path }, e.offset);
        }
      }
    } else {
      const source = hashSources[job];
      if (source) yield* sourceUnits(source, 0, sourceSize(source), { job, source: null, path: j.kind === 'hash-source' ? j.label : null }, -1);
    }
    yield { last: true, tag: { job, dest: -1, source: null, at: 0, path: null } };
  }
}

async function readUnit(u: { read: ReadSource; fileOffset: number; len: number }, buf: Buffer): Promise<Buffer> {
  const source = u.read;
  const path = source.kind === 'library' ? source.blobPath : source.path;
  const fd = openSource(source) as number;
  try {
    let got = 0;
    try {
      while (got < u.len) {
        const { bytesRead } = await readAt(fd, buf, got, u.len - got, u.fileOffset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } catch (err) {
      throw sourceReadFailed(source, path, err);
    }
    if (got < u.len) throw sourceEnded(source, path, u.fileOffset + got);
    return buf.subarray(0, u.len);
  } finally {
    closeSync(fd);
  }
}

/**
 * The units' bytes in order, the reads of up to READ_AHEAD - 1 units ahead in flight while the caller uses the one
 * handed out (valid until the next is asked for). A write job's last unit is a barrier: nothing after it is read
 * before the write is flushed, so a later read of the image (a hash, a read-back) sees what was written.
 */
async function* readAhead(units: Iterator<Unit>, isBarrier: (u: Unit) => boolean): AsyncGenerator<{ unit: Unit; data: Buffer | null; error: unknown }> {
  const free: Buffer[] = Array.from({ length: READ_AHEAD }, () => Buffer.allocUnsafe(DEFAULT_BUFFER));
  const queue: { unit: Unit; data: Promise<Buffer | null>; buf: Buffer | null }[] = [];
  let ended = false;
  let blocked = false;
  /** A read taken from `units` that waits for a free buffer. */
  let waiting: Unit | null = null;
  const fill = (): void => {
    while (!ended && !blocked && queue.length < 64) {
      let u = waiting;
      if (!u) {
        const next = units.next();
        if (next.done) {
          ended = true;
          return;
        }
        u = next.value;
      }
      waiting = null;
      if ('read' in u) {
        const buf = free.pop();
        if (!buf) {
          waiting = u;
          return;
        }
        const data = readUnit(u, buf);
        // Handled when it reaches the head of the queue; until then its failure must not count as unhandled.
        data.catch(() => undefined);
        queue.push({ unit: u, data, buf });
      } else queue.push({ unit: u, data: Promise.resolve('data' in u ? u.data : null), buf: null });
      if (isBarrier(u)) blocked = true;
    }
  };
  try {
    fill();
    while (queue.length) {
      const head = queue[0];
      let data: Buffer | null = null;
      let error: unknown = null;
      try {
        data = await head.data;
      } catch (err) {
        error = err;
      }
      yield { unit: head.unit, data, error };
      queue.shift();
      if (head.buf) free.push(head.buf);
      if (isBarrier(head.unit)) blocked = false;
      fill();
    }
  } finally {
    // Reads in flight finish before their buffers and descriptors go.
    await Promise.allSettled(queue.map((q) => q.data));
  }
}

/**
 * Runs `jobs` in order in this thread; write targets are the descriptors `fds` opened by runImageJobs, flushed (not
 * waited for) each time `flushEvery` more bytes have been written.
 */
export async function runJobsInline(jobs: WorkerJob[], fds: Map<string, number>, options: RunJobsOptions, flushEvery: number): Promise<JobResult[]> {
  for (const j of jobs) if (j.kind !== 'write' && j.kind !== 'hash' && j.kind !== 'hash-source') throw new Error(`inline jobs: a ${j.kind} job runs in a worker`);
  const cancelled = (): boolean => options.signal?.aborted === true;
  const bytes = new Array<number>(jobs.length).fill(0);
  let total = 0;
  const results: JobResult[] = [];
  const counted = (job: number, n: number): void => {
    bytes[job] += n;
    total += n;
  };
  const report = (job: number, path: string | null): void => options.onProgress?.(job, bytes[job], path, total);

  // A 'hash' job's file is measured when the run starts; a hash-source job's source is its own.
  const hashSources = jobs.map((j): ContentSource | null => {
    if (j.kind === 'hash-source') return j.source;
    if (j.kind !== 'hash') return null;
    try {
      return { kind: 'file', path: j.path, size: statSync(j.path).size, label: j.path };
    } catch (err) {
      throw new WriteError(describeFsError(err, j.path));
    }
  });
  const hashes = new SourceHashes();
  const sha = new Map<number, Hash>();
  /** A tolerant hash job that failed: its other units are passed over. */
  const failed = new Map<number, string>();
  // Flushes while writing (one at a time, not waited for), so the disk writes while the next bytes are read.
  const flushing = new Map<number, { done: number; inFlight: Promise<void> | null; error: unknown }>();
  const flushSome = (job: number, fd: number): void => {
    const f = flushing.get(job) ?? { done: 0, inFlight: null, error: null };
    flushing.set(job, f);
    if (f.inFlight || bytes[job] - f.done < flushEvery) return;
    const upTo = bytes[job];
    f.inFlight = flushData(fd).then(
      () => {
        f.done = upTo;
        f.inFlight = null;
      },
      (err: unknown) => {
        f.error ??= err;
        f.inFlight = null;
      },
    );
  };
  const targetOf = (job: number): { fd: number; path: string } => {
    const j = jobs[job];
    const fd = j.kind === 'write' ? fds.get(j.path) : undefined;
    if (j.kind !== 'write' || fd === undefined) throw new Error(`inline jobs: job ${job} has no target`);
    return { fd, path: j.path };
  };

  const stream = readAhead(jobUnits(jobs, hashSources), (u) => 'last' in u && jobs[u.tag.job].kind === 'write');
  try {
    for await (const { unit, data, error } of stream) {
      if (cancelled()) throw new CancelledError();
      const { job } = unit.tag;
      const j = jobs[job];
      if (failed.has(job) && !('last' in unit)) continue;
      if (error) {
        // A tolerant hash job records why it could not finish and the run goes on; anything else ends the run.
        if (!(j.kind === 'hash-source' && j.tolerant)) throw error;
        failed.set(job, (error as Error).message);
        continue;
      }
      if (j.kind === 'write') {
        const { fd, path } = targetOf(job);
        if ('last' in unit) {
          const f = flushing.get(job);
          if (f?.inFlight) await f.inFlight;
          if (f?.error) throw new WriteError(describeWriteError(f.error, path, 'fdatasync'));
          try {
            await flushFd(fd);
          } catch (err) {
            throw new WriteError(describeWriteError(err, path, 'fsync'));
          }
          results[job] = { sha256: null, bytes: bytes[job] };
          report(job, null);
          continue;
        }
        if (!data) continue;
        await writeAll(fd, data, unit.tag.dest, path);
        if (unit.tag.source) hashes.update(unit.tag.source, unit.tag.at, data);
        counted(job, data.length);
        report(job, unit.tag.path);
        flushSome(job, fd);
        continue;
      }
      // A hash job.
      if ('last' in unit) {
        const why = failed.get(job);
        if (why !== undefined) results[job] = { sha256: null, bytes: bytes[job], error: why };
        else {
          // As the worker answers: a whole file's hash in lower case, a source's in upper case (DataLib's spelling).
          const hex = (sha.get(job) ?? createHash('sha256')).digest('hex');
          results[job] = { sha256: j.kind === 'hash' ? hex : hex.toUpperCase(), bytes: bytes[job] };
        }
        report(job, null);
        continue;
      }
      if (!data) continue;
      let h = sha.get(job);
      if (!h) sha.set(job, (h = createHash('sha256')));
      h.update(data);
      counted(job, data.length);
      report(job, unit.tag.path);
    }
  } finally {
    await Promise.allSettled([...flushing.values()].map((f) => f.inFlight));
  }
  return results;
}
