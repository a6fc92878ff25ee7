// The sizes of the image's structures: directory records, extents of large files, UDF identifiers, and blocks.
import { ISO_BLOCK, ISO_MAX_EXTENT, type Child, type DirNode, type FileNode } from './IsoTree.js';

// ---------------------------------------------------------------------------------------------------------------------
// Sizes

// ISO 9660 names are d-characters (ASCII), the same bytes in UTF-8 and Latin-1.
export const isoIdBytes = (e: Child): Buffer => Buffer.from(e.isoId);
export const jolietIdBytes = (e: Child): Buffer => ucs2be(e.jolietId);
export const recordLength = (idLen: number): number => 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
export const isoExtentCount = (f: FileNode): number => Math.max(1, Math.ceil(f.size / ISO_MAX_EXTENT));
export const blocksOf = (bytes: number): number => Math.ceil(bytes / ISO_BLOCK);

export function ucs2be(s: string): Buffer {
  const b = Buffer.from(s, 'utf16le');
  return b.swap16();
}

/** Bytes of a directory's records (".", "..", then children; multi-extent files take a record per extent), in whole blocks. */
export function dirSize(children: Child[], idLen: (e: Child) => number): number {
  let pos = 0;
  const put = (len: number): void => {
    if ((pos % ISO_BLOCK) + len > ISO_BLOCK) pos = Math.ceil(pos / ISO_BLOCK) * ISO_BLOCK;
    pos += len;
  };
  put(34);
  put(34);
  for (const c of children) {
    const len = recordLength(idLen(c));
    const n = c.kind === 'file' ? isoExtentCount(c) : 1;
    for (let i = 0; i < n; i++) put(len);
  }
  return Math.max(1, blocksOf(pos)) * ISO_BLOCK;
}

export function pathTableSize(dirs: DirNode[], idLen: (d: DirNode) => number): number {
  let size = 0;
  for (const d of dirs) {
    const n = d.parent ? idLen(d) : 1;
    size += 8 + n + (n % 2);
  }
  return size;
}

export const fidLength = (nameBytes: number): number => Math.ceil((38 + nameBytes) / 4) * 4;

export function udfDirSize(dir: DirNode): number {
  let size = fidLength(0);
  for (const c of dir.udfChildren) size += fidLength(cs0(c.udfName).length);
  return size;
}

/** OSTA CS0 compressed unicode: compression id 8 (one byte a character) or 16 (UCS-2 big-endian), then the characters. */
export function cs0(s: string): Buffer {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\xff]*$/.test(s)) {
    const b = Buffer.alloc(1 + s.length);
    b[0] = 8;
    b.write(s, 1, 'latin1');
    return b;
  }
  return Buffer.concat([Buffer.from([16]), ucs2be(s)]);
}
