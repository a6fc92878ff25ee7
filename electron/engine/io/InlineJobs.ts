// Small image jobs run in the calling thread: a worker thread costs 60–100 ms to start (Node's own bootstrap,
// measured with an empty worker), two of them (writer and hasher) more than a refresh of a 50 MB driver package takes
// to write, and again to read back. The I/O here is asynchronous, so the event loop keeps serving progress, cancel
// and the wizard; hashing a 2 MiB chunk takes about a millisecond and a half. Only what needs nothing a worker gives is
// run here: image files (not drives: their writes want aligned memory and a thread of their own), writes that leave
// gaps alone (a refresh's steps), hashes of sources read through the cache; and at most INLINE_BYTES in all.
import { createHash } from 'node:crypto';
import { closeSync, fsync, read, statSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { ContentIntegrityError, InputError, describeFsError, describeWriteError } from '../errors.js';
import type { JobResult, RunJobsOptions, WorkerJob } from './ImageJobs.js';
import { sourceSize, type ContentSource, type ImageLayout } from './ImageLayout.js';
import { CancelledError, DEFAULT_BUFFER, SourceHashes, WriteError, openSource, reportedBytes } from './ImageWriter.js';

/** Jobs of at most this many bytes in all run in this thread. */
export const INLINE_BYTES = 64 * 1024 * 1024;

const readAt = promisify(read);
const writeAt = promisify(write);
const flushFd = promisify(fsync);

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
  let total = 0;
  for (const j of jobs) {
    const n = inlineBytes(j);
    if (n === null) return false;
    total += n;
    if (total > INLINE_BYTES) return false;
  }
  return true;
}

/** A source's bytes [offset, offset + size) in chunks of at most `buf.length` (the chunk is valid until the next). */
async function* chunks(source: ContentSource, offset: number, size: number, buf: Buffer, cancelled: () => boolean): AsyncGenerator<[Buffer, number]> {
  if (source.kind === 'buffer') {
    yield [source.data.subarray(offset, offset + size), offset];
    return;
  }
  if (source.kind === 'composite') {
    let base = 0;
    for (const piece of source.pieces) {
      const len = 'data' in piece ? piece.data.length : piece.size;
      const from = Math.max(offset, base);
      const to = Math.min(offset + size, base + len);
      if (from < to) {
        if ('data' in piece) yield [piece.data.subarray(from - base, to - base), from];
        else {
          const file: ContentSource = { kind: 'file', path: piece.path, size: piece.offset + len, label: source.label };
          for await (const [c, at] of chunks(file, piece.offset + (from - base), to - from, buf, cancelled)) yield [c, at - piece.offset + base];
        }
      }
      base += len;
      if (base >= offset + size) break;
    }
    return;
  }
  const path = source.kind === 'library' ? source.blobPath : source.path;
  const fd = openSource(source) as number;
  try {
    for (let done = 0; done < size; ) {
      if (cancelled()) throw new CancelledError();
      const want = Math.min(buf.length, size - done);
      let got = 0;
      try {
        while (got < want) {
          const { bytesRead } = await readAt(fd, buf, got, want - got, offset + done + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } catch (err) {
        throw new InputError(`${source.label}: read failed: ${describeFsError(err, path)}`);
      }
      if (got < want) {
        throw new ContentIntegrityError(`${source.label}: ${path} ended after ${offset + done + got} bytes; ${sourceSize(source)} were expected. The content changed or is damaged.`, source.label);
      }
      yield [buf.subarray(0, want), offset + done];
      done += want;
    }
  } finally {
    closeSync(fd);
  }
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

/** A write whose gaps are left alone: regions and extents in offset order, content checked as read, then flushed. */
async function writeLayout(layout: ImageLayout, fd: number, target: string, buf: Buffer, cancelled: () => boolean, onBytes: (bytes: number, path: string | null) => void): Promise<number> {
  const hashes = new SourceHashes();
  const items = [...layout.regions.map((r) => ({ offset: r.offset, region: r.data, extent: null })), ...layout.extents.map((e) => ({ offset: e.offset, region: null, extent: e }))].sort((a, b) => a.offset - b.offset);
  let bytes = 0;
  for (const { offset, region, extent: e } of items) {
    if (cancelled()) throw new CancelledError();
    if (region) {
      await writeAll(fd, region, offset, target);
      bytes += region.length;
      onBytes(bytes, null);
      continue;
    }
    if (!e) continue;
    if (e.sourceOffset + e.size > sourceSize(e.source)) throw new Error(`layout bug: ${e.path} extent past its source`);
    for await (const [chunk, at] of chunks(e.source, e.sourceOffset, e.size, buf, cancelled)) {
      await writeAll(fd, chunk, e.offset + (at - e.sourceOffset), target);
      hashes.update(e.source, at, chunk);
      bytes += chunk.length;
      onBytes(bytes, e.path);
    }
  }
  try {
    await flushFd(fd);
  } catch (err) {
    throw new WriteError(describeWriteError(err, target, 'fsync'));
  }
  return bytes;
}

async function hashJob(job: Extract<WorkerJob, { kind: 'hash' | 'hash-source' }>, buf: Buffer, cancelled: () => boolean, onBytes: (bytes: number, path: string | null) => void): Promise<JobResult> {
  let source: ContentSource;
  if (job.kind === 'hash') {
    let size: number;
    try {
      size = statSync(job.path).size;
    } catch (err) {
      throw new WriteError(describeFsError(err, job.path));
    }
    source = { kind: 'file', path: job.path, size, label: job.path };
  } else source = job.source;
  const h = createHash('sha256');
  let bytes = 0;
  try {
    for await (const [chunk] of chunks(source, 0, sourceSize(source), buf, cancelled)) {
      h.update(chunk);
      bytes += chunk.length;
      onBytes(bytes, job.kind === 'hash-source' ? job.label : null);
    }
  } catch (err) {
    if (job.kind !== 'hash-source' || !job.tolerant || err instanceof CancelledError) throw err;
    return { sha256: null, bytes, error: (err as Error).message };
  }
  // As the worker answers: a whole file's hash in lower case, a source's in upper case (DataLib's spelling).
  const hex = h.digest('hex');
  return { sha256: job.kind === 'hash' ? hex : hex.toUpperCase(), bytes };
}

/** Runs `jobs` in order in this thread; write targets are the descriptors `fds` opened by runImageJobs. */
export async function runJobsInline(jobs: WorkerJob[], fds: Map<string, number>, options: RunJobsOptions): Promise<JobResult[]> {
  const cancelled = (): boolean => options.signal?.aborted === true;
  const buf = Buffer.allocUnsafe(DEFAULT_BUFFER);
  const bytes = new Array<number>(jobs.length).fill(0);
  const results: JobResult[] = [];
  for (const [index, job] of jobs.entries()) {
    const onBytes = (n: number, path: string | null): void => {
      bytes[index] = n;
      options.onProgress?.(index, n, path, bytes.reduce((a, b) => a + b, 0));
    };
    if (job.kind === 'write') {
      const fd = fds.get(job.path);
      if (fd === undefined) throw new Error(`inline jobs: ${job.path} was not opened`);
      results[index] = { sha256: null, bytes: await writeLayout(job.layout, fd, job.path, buf, cancelled, onBytes) };
    } else if (job.kind === 'hash' || job.kind === 'hash-source') results[index] = await hashJob(job, buf, cancelled, onBytes);
    else throw new Error(`inline jobs: a ${job.kind} job runs in a worker`);
    onBytes(results[index].bytes, null);
  }
  return results;
}
