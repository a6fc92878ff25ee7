// Positioned, synchronous reads shared by the image readers and the writer: one loop that reads until the range is
// filled or the file ends, and the streaming of a file's extents in chunks. Callers word the errors for what they read.
import { readSync } from 'node:fs';

/**
 * Reads `length` bytes at `position` into `buf` at `offset`, as many calls as it takes; returns the bytes read, fewer
 * only where the file ends. System errors are thrown as they come (the caller names the file).
 */
export function readFully(fd: number, buf: Buffer, offset: number, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, offset + got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Bytes of a file at a byte offset of an image or device. */
export interface Extent {
  offset: number;
  size: number;
}

const CHUNK = 1024 * 1024;

/** Streams the extents of a file to `onChunk`, each chunk a fresh Buffer of at most 1 MiB from `read`. */
export function streamExtents(extents: readonly Extent[], read: (offset: number, length: number) => Buffer, onChunk: (chunk: Buffer) => void): void {
  for (const e of extents) {
    for (let done = 0; done < e.size; done += CHUNK) onChunk(read(e.offset + done, Math.min(CHUNK, e.size - done)));
  }
}

/** The whole of a file's extents in memory (for small files: manifests, environment files). */
export function readExtents(extents: readonly Extent[], read: (offset: number, length: number) => Buffer): Buffer {
  const parts: Buffer[] = [];
  streamExtents(extents, read, (c) => parts.push(c));
  return Buffer.concat(parts);
}
