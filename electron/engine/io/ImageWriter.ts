// Streams an ImageLayout to a file descriptor with positioned, synchronous writes and large buffers (it runs in a
// worker thread, where blocking calls cost the UI nothing and copy fastest). Content from a content library is hashed
// as it is read and must match the library: in this thread, or handed to a second one (ContentHasher) so hashing
// overlaps copying on another core. The whole image is hashed as it is written only when asked.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { ErrorDetail } from '../../../shared/messages.js';
import { ContentIntegrityError, InputError, describeFsError, describeWriteError } from '../errors.js';
import { compositeSpans, layoutItems, sourceSize, type ContentSource, type ImageLayout } from './ImageLayout.js';
import { readFully } from './PositionedRead.js';
import { openUncachedRead } from './deviceFlags.js';
import { SectorReader, SectorWriter, borrowWindow, deviceAlignment, directFlag, returnWindow } from './SectorIo.js';

export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor() {
    super('cancelled');
  }
}

/** A write or read failure of the target or a source, with the cause in words (and a code for some: SHARE_LOST). */
export class WriteError extends Error {
  override readonly name = 'WriteError';
  constructor(
    message: string,
    readonly detail: ErrorDetail | null = null,
  ) {
    super(message);
  }
}

export interface WriteImageOptions {
  /** Polled between buffers: returning true stops the write with CancelledError. */
  cancelled?: () => boolean;
  /** Called after each buffer with the image bytes written so far and the file being copied. */
  onProgress?: (bytesDone: number, path: string | null) => void;
  /** Carries content hashes across the discs of a set (a file split over two discs is checked once whole). */
  hashes?: SourceHashes;
  /**
   * What happens between regions and extents: 'zero' writes zeros (a drive being formatted), 'sparse' leaves holes in a
   * new image file (they read as zeros), 'skip' leaves the bytes already there untouched (adding files to a volume
   * that is already formatted). With 'skip' the image hash covers only the bytes written.
   */
  gaps?: 'zero' | 'sparse' | 'skip';
  bufferSize?: number;
  /** Hash the whole image as it is written (default true); the worker's writes leave it to the read-back. */
  imageHash?: boolean;
  /** Where content hashes are checked; default in this thread with `hashes`. */
  hasher?: ContentHasher;
  /** The target's path or device, named in write errors. */
  targetName?: string;
  /**
   * The drive's logical sector size: every write is then whole sectors from aligned memory, and the regions below the
   * layout's bootEnd go last. Found from the descriptor when it is a drive (4096 when the system does not say).
   */
  sectorSize?: number;
}

export interface WriteImageResult {
  /**
   * SHA-256 hex (lower case) of every byte of the image, gaps included (written bytes only with gaps 'skip'); null
   * when `imageHash` is false.
   */
  sha256: string | null;
  bytes: number;
}

/**
 * Checks content hashes for a writer. The writer reads each chunk into `buffer()`, writes it, then hands it over with
 * `take`; the buffer is not reused until the hasher is done with it.
 */
export interface ContentHasher {
  buffer(): Buffer;
  take(source: ContentSource, sourceOffset: number, chunk: Buffer): void;
  /** Waits until every chunk handed over is checked; throws the first ContentIntegrityError. */
  drain(): void;
}

/** Checks content hashes in the writer's own thread with one reused buffer. */
export class InThreadHasher implements ContentHasher {
  private readonly buf: Buffer;
  constructor(
    bufferSize: number,
    private readonly hashes: SourceHashes,
  ) {
    this.buf = Buffer.allocUnsafe(bufferSize);
  }
  buffer(): Buffer {
    return this.buf;
  }
  take(source: ContentSource, sourceOffset: number, chunk: Buffer): void {
    this.hashes.update(source, sourceOffset, chunk);
  }
  drain(): void {}
}

/** The file and hash a source's bytes are checked against while read; null for bytes with nothing to check. */
export function checkedSource(source: ContentSource): { key: string; sha256: string } | null {
  if ((source.kind !== 'library' && source.kind !== 'file') || !source.sha256) return null;
  return { key: source.kind === 'library' ? source.blobPath : source.path, sha256: source.sha256 };
}

/** Running SHA-256 of each content source, so split files are verified when their last part is read. */
export class SourceHashes {
  private readonly state = new Map<string, { hash: Hash; bytes: number }>();

  update(source: ContentSource, sourceOffset: number, chunk: Buffer): void {
    const checked = checkedSource(source);
    if (!checked) return;
    const { key } = checked;
    const want = checked.sha256.toUpperCase();
    let s = this.state.get(key);
    if (!s || sourceOffset === 0) {
      s = { hash: createHash('sha256'), bytes: 0 };
      this.state.set(key, s);
    }
    // Only a read in order can be checked; a re-read of an earlier part restarts the hash at offset 0 above.
    if (s.bytes !== sourceOffset) return;
    s.hash.update(chunk);
    s.bytes += chunk.length;
    if (s.bytes === sourceSize(source)) {
      const got = s.hash.digest('hex').toUpperCase();
      this.state.delete(key);
      if (got !== want) {
        throw new ContentIntegrityError(
          `${source.label}: the bytes read from ${key} do not match the content library (SHA-256 ${got}, expected ${want}). The library is damaged: redistribute the package or choose another distribution point.`,
          source.label,
        );
      }
    }
  }
}

/** A source that cannot be read: the error names its package or file and the path read. */
export function sourceReadFailed(source: ContentSource, path: string, err: unknown): InputError {
  return new InputError(`${source.label}: read failed: ${describeFsError(err, path)}`);
}

/** A source shorter than its size says (the library's or a file's that changed since it was measured). */
export function sourceEnded(source: ContentSource, path: string, at: number): ContentIntegrityError {
  return new ContentIntegrityError(`${source.label}: ${path} ended after ${at} bytes; ${sourceSize(source)} were expected. The content changed or is damaged.`, source.label);
}

export const DEFAULT_BUFFER = 2 * 1024 * 1024;

/** Opens a source for reading (null for bytes in memory); a library blob that is gone is a ContentIntegrityError. */
export function openSource(source: ContentSource): number | null {
  if (source.kind === 'buffer' || source.kind === 'composite') return null;
  const path = source.kind === 'library' ? source.blobPath : source.path;
  try {
    if (source.kind === 'file' && source.uncached) return openUncachedRead(path);
    return openSync(path, source.kind === 'file' && source.sectorSize ? constants.O_RDONLY | directFlag() : 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && source.kind === 'library') {
      throw new ContentIntegrityError(`${source.label}: its bytes are missing from the content library (${path}). Redistribute the package or choose another distribution point.`, source.label);
    }
    throw new InputError(`${source.label}: cannot read ${describeFsError(err, path)}`);
  }
}

/**
 * Reads `size` bytes of a source from `offset`, in chunks of at most `buf.length`, calling `onChunk(chunk, sourceOffset)`.
 * The chunk is only valid during the call. A source shorter than it claims is a ContentIntegrityError. `buf` may be a
 * function that gives the buffer for each chunk (a ring of buffers shared with a hashing thread).
 */
export function readSource(
  source: ContentSource,
  offset: number,
  size: number,
  buf: Buffer | (() => Buffer),
  cancelled: () => boolean,
  onChunk: (chunk: Buffer, sourceOffset: number) => void,
): void {
  if (source.kind === 'buffer') {
    onChunk(source.data.subarray(offset, offset + size), offset);
    return;
  }
  if (source.kind === 'composite') {
    for (const span of compositeSpans(source, offset, size)) {
      if ('data' in span) onChunk(span.data, span.at);
      else readSource(span.file, span.fileOffset, span.len, buf, cancelled, (c, at) => onChunk(c, at - span.fileOffset + span.at));
    }
    return;
  }
  const path = source.kind === 'library' ? source.blobPath : source.path;
  const fd = openSource(source) as number;
  // A drive is read in whole sectors through an aligned window.
  const window = source.kind === 'file' && source.sectorSize ? borrowWindow() : null;
  const sectors = window && source.kind === 'file' && source.sectorSize ? new SectorReader(fd, source.sectorSize, window) : null;
  try {
    let done = 0;
    while (done < size) {
      if (cancelled()) throw new CancelledError();
      const b = typeof buf === 'function' ? buf() : buf;
      const want = Math.min(b.length, size - done);
      let got: number;
      try {
        got = sectors ? sectors.read(b, 0, want, offset + done) : readFully(fd, b, 0, want, offset + done);
      } catch (err) {
        throw sourceReadFailed(source, path, err);
      }
      if (got < want) throw sourceEnded(source, path, offset + done + got);
      onChunk(b.subarray(0, want), offset + done);
      done += want;
    }
  } finally {
    closeSync(fd);
    if (window) returnWindow(window);
  }
}

/** SHA-256 (uppercase hex) of a whole source, read in large chunks. */
export function hashSource(source: ContentSource, cancelled: () => boolean = () => false, onBytes?: (n: number) => void, bufferSize = DEFAULT_BUFFER): string {
  const h = createHash('sha256');
  readSource(source, 0, sourceSize(source), Buffer.allocUnsafe(bufferSize), cancelled, (c) => {
    h.update(c);
    onBytes?.(c.length);
  });
  return h.digest('hex').toUpperCase();
}

/** A failed write to a drive: no space left there is the drive's own failure (it is written uncached), not a disk's being full. */
export function describeDriveWrite(err: unknown, target: string): string {
  if ((err as NodeJS.ErrnoException | null)?.code === 'ENOSPC') {
    return `${target} refused a write: no space left on the device. The drive is smaller than it reported, or it is failing; what was written is incomplete.`;
  }
  return describeWriteError(err, target, 'write');
}

/** The bytes writeImage reports for `layout`: all of it where gaps are written or left sparse, what it names where they are skipped. */
export function reportedBytes(layout: ImageLayout, gaps: 'zero' | 'sparse' | 'skip'): number {
  return gaps === 'skip' ? layout.regions.reduce((n, r) => n + r.data.length, 0) + layout.extents.reduce((n, e) => n + e.size, 0) : layout.size;
}

export function writeImage(layout: ImageLayout, fd: number, options: WriteImageOptions & { imageHash: false }): WriteImageResult;
export function writeImage(layout: ImageLayout, fd: number, options?: WriteImageOptions & { imageHash?: true }): { sha256: string; bytes: number };
export function writeImage(layout: ImageLayout, fd: number, options: WriteImageOptions = {}): WriteImageResult {
  const bufSize = options.bufferSize ?? DEFAULT_BUFFER;
  const zeros = Buffer.alloc(Math.min(bufSize, 1024 * 1024));
  const imageHash = options.imageHash === false ? null : createHash('sha256');
  const hasher = options.hasher ?? new InThreadHasher(bufSize, options.hashes ?? new SourceHashes());
  const cancelled = options.cancelled ?? (() => false);
  const gaps = options.gaps ?? 'zero';
  const target = options.targetName ?? 'the image';
  let pos = 0;
  // A drive: whole aligned sectors (partial ones assembled, or read first where the drive's bytes stay), boot region last.
  const align = deviceAlignment(fd, options.sectorSize);
  const sectors = align === null ? null : new SectorWriter(fd, align);
  const bootEnd = sectors ? (layout.bootEnd ?? 0) : 0;

  const put = (data: Buffer, length: number, at: number): void => {
    if (sectors) {
      try {
        sectors.put(data, length, at);
      } catch (err) {
        throw new WriteError(describeDriveWrite(err, target));
      }
      return;
    }
    let off = 0;
    while (off < length) {
      let n: number;
      try {
        n = writeSync(fd, data, off, length - off, at + off);
      } catch (err) {
        throw new WriteError(describeWriteError(err, target, 'write'));
      }
      off += n;
    }
  };
  // Progress and the result count the image's bytes up to `pos`, gaps written or left sparse included; gaps skipped
  // (another volume's bytes, left as they are) are not counted: a refresh of 50 MB reports 50 MB, not the volume's size.
  let skipped = 0;
  const progress = (path: string | null): void => options.onProgress?.(pos - skipped, path);
  const gapTo = (end: number): void => {
    if (gaps === 'skip') {
      if (end > pos) skipped += end - pos;
      pos = Math.max(pos, end);
      return;
    }
    while (pos < end) {
      if (cancelled()) throw new CancelledError();
      const n = Math.min(zeros.length, end - pos);
      if (gaps === 'zero') put(zeros, n, pos);
      imageHash?.update(n === zeros.length ? zeros : zeros.subarray(0, n));
      pos += n;
    }
  };

  const items = layoutItems(layout);
  const deferred: Buffer[] = [];
  const deferredAt: number[] = [];
  for (const item of items) {
    if (cancelled()) throw new CancelledError();
    gapTo(item.offset);
    if (item.region && item.offset + item.region.length <= bootEnd) {
      // Written last; until then it is part of the gap (zeros on a drive being formatted, so a stale layout is gone).
      deferred.push(item.region);
      deferredAt.push(pos);
      if (gaps === 'zero') for (let off = 0; off < item.region.length; off += zeros.length) put(zeros, Math.min(zeros.length, item.region.length - off), pos + off);
      imageHash?.update(item.region);
      pos += item.region.length;
      continue;
    }
    if (item.region) {
      put(item.region, item.region.length, pos);
      imageHash?.update(item.region);
      pos += item.region.length;
      progress(null);
      continue;
    }
    const e = item.extent as ImageLayout['extents'][number];
    if (e.sourceOffset + e.size > sourceSize(e.source)) throw new Error(`layout bug: ${e.path} extent past its source`);
    readSource(e.source, e.sourceOffset, e.size, () => hasher.buffer(), cancelled, (chunk, at) => {
      put(chunk, chunk.length, pos);
      imageHash?.update(chunk);
      // Written first, then handed over: the hashing thread checks it while the next chunk is read and written.
      hasher.take(e.source, at, chunk);
      pos += chunk.length;
      progress(e.path);
    });
  }
  gapTo(layout.size);
  if (cancelled()) throw new CancelledError();
  deferred.forEach((region, i) => put(region, region.length, deferredAt[i]));
  try {
    sectors?.finish();
  } catch (err) {
    throw new WriteError(describeDriveWrite(err, target));
  }
  hasher.drain();
  return { sha256: imageHash ? imageHash.digest('hex') : null, bytes: pos - skipped };
}

