// ISO 9660 and Joliet directories (their records, "." and ".." first) and the L and M path tables.
import { ISO_BLOCK, ISO_MAX_EXTENT, type Child, type DirNode } from './IsoTree.js';
import { isoExtentCount, recordLength } from './IsoSizes.js';
import { writeRecord } from './IsoEncoding.js';

export interface TreeView {
  size: (d: DirNode) => number;
  block: (d: DirNode) => number;
  children: (d: DirNode) => Child[];
  id: (e: Child) => Buffer;
}

export function serializeDir(dir: DirNode, view: TreeView, time: Buffer): Buffer {
  const b = Buffer.alloc(view.size(dir));
  let pos = 0;
  const put = (id: Buffer, extent: number, size: number, flags: number): void => {
    const len = recordLength(id.length);
    if ((pos % ISO_BLOCK) + len > ISO_BLOCK) pos = Math.ceil(pos / ISO_BLOCK) * ISO_BLOCK;
    pos += writeRecord(b, pos, id, extent, size, flags, time);
  };
  const parent = dir.parent ?? dir;
  put(Buffer.from([0]), view.block(dir), view.size(dir), 2);
  put(Buffer.from([1]), view.block(parent), view.size(parent), 2);
  for (const c of view.children(dir)) {
    const id = view.id(c);
    if (c.kind === 'dir') {
      put(id, view.block(c), view.size(c), 2);
      continue;
    }
    const n = isoExtentCount(c);
    for (let i = 0; i < n; i++) {
      const size = Math.min(ISO_MAX_EXTENT, c.size - i * ISO_MAX_EXTENT);
      put(id, c.size === 0 ? 0 : c.block + i * (ISO_MAX_EXTENT / ISO_BLOCK), size, i < n - 1 ? 0x80 : 0);
    }
  }
  return b;
}

export function serializePathTable(dirs: DirNode[], view: TreeView, number: (d: DirNode) => number, size: number, littleEndian: boolean): Buffer {
  const b = Buffer.alloc(size);
  let pos = 0;
  for (const d of dirs) {
    const id = d.parent ? view.id(d) : Buffer.from([0]);
    b[pos] = id.length;
    b[pos + 1] = 0;
    if (littleEndian) {
      b.writeUInt32LE(view.block(d), pos + 2);
      b.writeUInt16LE(d.parent ? number(d.parent) : 1, pos + 6);
    } else {
      b.writeUInt32BE(view.block(d), pos + 2);
      b.writeUInt16BE(d.parent ? number(d.parent) : 1, pos + 6);
    }
    id.copy(b, pos + 8);
    pos += 8 + id.length + (id.length % 2);
  }
  return b;
}
