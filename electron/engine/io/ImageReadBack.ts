// Reads a written image back and compares every byte with what the layout says it should hold: metadata regions from
// memory, file extents re-read from their sources, gaps as zeros. The bytes read are handed to a hashing thread for
// the image's SHA-256 (the .sha256 file), so comparing and hashing overlap on two cores.
import { fstatSync } from 'node:fs';
import { describeFsError } from '../errors.js';
import { CancelledError, WriteError, readSource } from './ImageWriter.js';
import { layoutItems, type ImageLayout } from './ImageLayout.js';
import { readFully } from './PositionedRead.js';
import { SectorReader, deviceAlignment } from './SectorIo.js';

/** The hashing side a read-back needs: buffers shared with the hasher, and the whole-image hash. */
export interface ImageHasher {
  /** Bytes of the largest room buffer() gives. */
  readonly slotSize: number;
  buffer(): Buffer;
  takeImage(chunk: Buffer): void;
  digest(): string;
}

export interface ReadBackOptions {
  cancelled?: () => boolean;
  onProgress?: (bytesDone: number, path: string | null) => void;
  /** 'skip' gaps are not read (bytes there are not the writer's); other gaps must read as zeros. */
  gaps?: 'zero' | 'sparse' | 'skip';
  /** The length the image file must have at least (default the layout's size); the hash covers the layout's bytes. */
  fileSize?: number;
  bufferSize?: number;
  /** A drive's logical sector size (found from the descriptor when it is a drive): read in whole, aligned sectors. */
  sectorSize?: number;
  /**
   * 'compare' (default): each file's bytes against its source, read again. 'hash': read and hashed only — for drives of
   * a several-drive run, whose files are checked against the manifest's hashes instead, so the sources are read once.
   */
  extents?: 'compare' | 'hash';
}

export interface ReadBackResult {
  sha256: string;
  bytes: number;
}

/** Compares the image at `fd` with `layout`; a difference is a WriteError naming the file (or structures) and offset. */
export function readBackImage(layout: ImageLayout, fd: number, path: string, hasher: ImageHasher, options: ReadBackOptions = {}): ReadBackResult {
  const cancelled = options.cancelled ?? (() => false);
  const gaps = options.gaps ?? 'sparse';
  const expectedLength = options.fileSize ?? layout.size;
  const align = deviceAlignment(fd, options.sectorSize);
  const sectors = align === null ? null : new SectorReader(fd, align);
  // A drive's length is not a file's (fstat says 0): a short drive shows as a read that ends early.
  const length = sectors ? Infinity : fstatSync(fd).size;
  if (gaps !== 'skip' && length < expectedLength) {
    throw new WriteError(`${path}: reading the written image back: it is ${length} bytes long, ${expectedLength} were written. The destination disk may be failing; nothing was replaced.`);
  }
  const expectBuf = Buffer.allocUnsafe(options.bufferSize ?? hasher.slotSize);
  const zeros = Buffer.alloc(Math.min(hasher.slotSize, 1024 * 1024));
  let pos = 0;
  // As when writing: gaps skipped are not counted in the progress and the result.
  let skipped = 0;
  let lastProgress = 0;

  /** Reads `n` image bytes at `pos` and compares them with `expected` (null: zeros; 'any': hashed only). */
  const check = (expected: Buffer | null | 'any', n: number, what: string | null): void => {
    let done = 0;
    while (done < n) {
      const room = hasher.buffer();
      const k = Math.min(n - done, room.length);
      let got: number;
      try {
        got = sectors ? sectors.read(room, 0, k, pos) : readFully(fd, room, 0, k, pos);
      } catch (err) {
        throw new WriteError(`${path}: reading the written image back failed: ${describeFsError(err, path)}. The destination disk may be failing; nothing was replaced.`);
      }
      if (got < k) throw new WriteError(`${path}: reading the written image back: it ends at byte ${pos + got}, ${expectedLength} were written. Nothing was replaced.`);
      const read = room.subarray(0, k);
      const want = expected === 'any' ? null : expected ? expected.subarray(done, done + k) : null;
      if (expected !== 'any' && (want ? !read.equals(want) : !isZero(read, zeros))) {
        let at = 0;
        while (at < k && read[at] === (want ? want[at] : 0)) at++;
        throw new WriteError(
          `${path}: the bytes read back at offset ${pos + at} (${what ?? 'file system structures'}) differ from what was written. The destination disk may be failing; nothing was replaced.`,
        );
      }
      hasher.takeImage(read);
      pos += k;
      done += k;
    }
    const now = Date.now();
    if (now - lastProgress >= 50) {
      lastProgress = now;
      options.onProgress?.(pos - skipped, what);
    }
  };
  const gapTo = (end: number): void => {
    if (gaps === 'skip') {
      // Not ours to compare or hash: the image hash covers the written bytes only, as when writing.
      if (end > pos) skipped += end - pos;
      pos = Math.max(pos, end);
      return;
    }
    while (pos < end) {
      if (cancelled()) throw new CancelledError();
      check(null, Math.min(zeros.length, end - pos), null);
    }
  };

  const items = layoutItems(layout);
  for (const item of items) {
    if (cancelled()) throw new CancelledError();
    gapTo(item.offset);
    if (item.region) {
      check(item.region, item.region.length, null);
      continue;
    }
    const e = item.extent as ImageLayout['extents'][number];
    if (options.extents === 'hash') {
      check('any', e.size, e.path);
      continue;
    }
    readSource(e.source, e.sourceOffset, e.size, expectBuf, cancelled, (chunk) => check(chunk, chunk.length, e.path));
  }
  gapTo(layout.size);
  const sha256 = hasher.digest();
  options.onProgress?.(pos - skipped, null);
  return { sha256, bytes: pos - skipped };
}

function isZero(b: Buffer, zeros: Buffer): boolean {
  for (let off = 0; off < b.length; off += zeros.length) {
    const n = Math.min(zeros.length, b.length - off);
    if (!b.subarray(off, off + n).equals(n === zeros.length ? zeros : zeros.subarray(0, n))) return false;
  }
  return true;
}
