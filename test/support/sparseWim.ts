// A WIM whose data resources are holes, for planning splits of multi-gigabyte WIMs without writing gigabytes: a header,
// the data resources, a metadata resource, the lookup table (metadata entry first, as wimlib writes it) and the XML
// data. Planning a split reads only the header and the lookup table.
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { WIM_HEADER_SIZE, WimResourceFlag } from '../../electron/engine/formats/wim/WimSplit.js';

export interface SparseWimResource {
  offset: number;
  size: number;
  flags: number;
  hash: Buffer;
}

export interface SparseWim {
  /** The data resources in file order, then the metadata resource. */
  resources: SparseWimResource[];
  tableOffset: number;
  xmlOffset: number;
  /** The file's size. */
  size: number;
}

const METADATA_BYTES = 5000;
const ENTRY = 50;
const XML = Buffer.from('\ufeff<WIM><TOTALBYTES>0</TOTALBYTES><IMAGE INDEX="1"><NAME>sparse</NAME></IMAGE></WIM>', 'utf16le');

/** The bytes a sparse WIM of `dataResources` data resources holds besides them. */
export const sparseWimOverhead = (dataResources: number): number => WIM_HEADER_SIZE + METADATA_BYTES + (dataResources + 1) * ENTRY + XML.length;

/** Writes the WIM; `headerFlags` is the header's flags field (0x80: RP_FIX). */
export function writeSparseWim(path: string, dataSizes: readonly number[], headerFlags = 0): SparseWim {
  const resources: SparseWimResource[] = [];
  let pos = WIM_HEADER_SIZE;
  dataSizes.forEach((size, i) => {
    resources.push({ offset: pos, size, flags: 0, hash: createHash('sha1').update(`blob ${i}`).digest() });
    pos += size;
  });
  resources.push({ offset: pos, size: METADATA_BYTES, flags: WimResourceFlag.METADATA, hash: createHash('sha1').update('metadata').digest() });
  pos += METADATA_BYTES;
  const table = Buffer.alloc(resources.length * ENTRY);
  [resources[resources.length - 1], ...resources.slice(0, -1)].forEach((r, k) => {
    table.writeBigUInt64LE((BigInt(r.flags) << 56n) | BigInt(r.size), k * ENTRY);
    table.writeBigUInt64LE(BigInt(r.offset), k * ENTRY + 8);
    table.writeBigUInt64LE(BigInt(r.size), k * ENTRY + 16);
    table.writeUInt16LE(1, k * ENTRY + 24);
    table.writeUInt32LE(1, k * ENTRY + 26);
    r.hash.copy(table, k * ENTRY + 30);
  });
  const tableOffset = pos;
  pos += table.length;
  const xmlOffset = pos;
  pos += XML.length;
  const header = Buffer.alloc(WIM_HEADER_SIZE);
  header.write('MSWIM\0\0\0', 0, 'latin1');
  header.writeUInt32LE(WIM_HEADER_SIZE, 8);
  header.writeUInt32LE(0x10d00, 12);
  header.writeUInt32LE(headerFlags, 16);
  createHash('md5').update(path).digest().copy(header, 24);
  header.writeUInt16LE(1, 40); // part 1
  header.writeUInt16LE(1, 42); // of 1
  header.writeUInt32LE(1, 44); // one image
  const reshdr = (at: number, size: number, offset: number): void => {
    header.writeBigUInt64LE((2n << 56n) | BigInt(size), at);
    header.writeBigUInt64LE(BigInt(offset), at + 8);
    header.writeBigUInt64LE(BigInt(size), at + 16);
  };
  reshdr(48, table.length, tableOffset);
  reshdr(72, XML.length, xmlOffset);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header, 0, header.length, 0);
    writeSync(fd, table, 0, table.length, tableOffset);
    writeSync(fd, XML, 0, XML.length, xmlOffset);
  } finally {
    closeSync(fd);
  }
  return { resources, tableOffset, xmlOffset, size: pos };
}
