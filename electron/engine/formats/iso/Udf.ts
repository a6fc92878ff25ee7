// The UDF 1.02 bridge: descriptor tags and CRC, the volume descriptor sequences, the anchor, file entries and
// directory identifiers in the partition.
import { ISO_BLOCK, UDF_LVID, UDF_LVID_BLOCKS, UDF_MAIN_VDS, UDF_MAX_EXTENT, UDF_RESERVE_VDS, UDF_VDS_BLOCKS, type DirNode } from './IsoTree.js';
import { cut } from './IsoNames.js';
import { blocksOf, cs0, fidLength } from './IsoSizes.js';

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC-16-CCITT (polynomial 0x1021, initial 0), as ECMA-167 7.2.6 computes descriptor CRCs. */
export function crc16(b: Buffer, start = 0, end = b.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ b[i]) & 0xff];
  return crc;
}

/** Fills in the 16-byte tag of the descriptor at `off` whose body (bytes 16 … 16 + crcLength) is already written. */
export function udfTag(b: Buffer, off: number, id: number, location: number, crcLength: number): void {
  b.writeUInt16LE(id, off);
  b.writeUInt16LE(2, off + 2);
  b[off + 4] = 0;
  b[off + 5] = 0;
  b.writeUInt16LE(1, off + 6);
  b.writeUInt16LE(crc16(b, off + 16, off + 16 + crcLength), off + 8);
  b.writeUInt16LE(crcLength, off + 10);
  b.writeUInt32LE(location, off + 12);
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += b[off + i];
  b[off + 4] = sum & 0xff;
}

export function dstring(b: Buffer, off: number, len: number, s: string): void {
  if (s === '') return;
  // eslint-disable-next-line no-control-regex
  const wide = !/^[\x00-\xff]*$/.test(s);
  const enc = cs0(cut(s, wide ? Math.floor((len - 2) / 2) : len - 2));
  enc.copy(b, off);
  b[off + len - 1] = enc.length;
}

export function charspec(b: Buffer, off: number): void {
  b[off] = 0;
  b.write('OSTA Compressed Unicode', off + 1, 'latin1');
}

const OS_CLASS = 0;
const OS_ID = 0;
function regid(b: Buffer, off: number, id: string, suffix: number[] = []): void {
  b[off] = 0;
  b.write(id, off + 1, 'latin1');
  Buffer.from(suffix).copy(b, off + 24);
}
export const implId = (b: Buffer, off: number): void => regid(b, off, '*tsmedia', [OS_CLASS, OS_ID]);
const udfId = (b: Buffer, off: number, id: string): void => regid(b, off, id, [0x02, 0x01, OS_CLASS, OS_ID]);
export const domainId = (b: Buffer, off: number): void => regid(b, off, '*OSTA UDF Compliant', [0x02, 0x01, 0]);

export function udfTime(b: Buffer, off: number, t: Date): void {
  b.writeUInt16LE(0x1000, off); // type 1 (local time), offset 0 minutes: UTC
  b.writeInt16LE(t.getUTCFullYear(), off + 2);
  b[off + 4] = t.getUTCMonth() + 1;
  b[off + 5] = t.getUTCDate();
  b[off + 6] = t.getUTCHours();
  b[off + 7] = t.getUTCMinutes();
  b[off + 8] = t.getUTCSeconds();
  const ms = t.getUTCMilliseconds();
  b[off + 9] = Math.floor(ms / 10);
  b[off + 10] = (ms % 10) * 10;
  b[off + 11] = 0;
}

export function longAd(b: Buffer, off: number, length: number, block: number, uniqueId?: number): void {
  b.writeUInt32LE(length, off);
  b.writeUInt32LE(block, off + 4);
  b.writeUInt16LE(0, off + 8);
  if (uniqueId !== undefined) b.writeUInt32LE(uniqueId >>> 0, off + 12);
}

export function writeU64(b: Buffer, off: number, v: number): void {
  b.writeUInt32LE(v % 0x1_0000_0000, off);
  b.writeUInt32LE(Math.floor(v / 0x1_0000_0000), off + 4);
}

/** A hex prefix unique to this volume but deterministic: FNV-1a of the label and the time. */
function volumeSetPrefix(label: string, t: Date): string {
  let h = 0x811c9dc5;
  for (const c of `${label}|${t.toISOString()}`) h = Math.imul(h ^ (c.codePointAt(0) as number), 0x01000193) >>> 0;
  const secs = Math.floor(t.getTime() / 1000) >>> 0;
  return secs.toString(16).toUpperCase().padStart(8, '0') + h.toString(16).toUpperCase().padStart(8, '0');
}

export interface UdfVdsArgs {
  label: string;
  time: Date;
  partition: number;
  partitionLength: number;
  fsdBlock: number;
}

/** The volume descriptor sequence written at `start` (main or reserve): 6 descriptors, one block each. */
export function udfVds(meta: Buffer, metaBase: number, start: number, a: UdfVdsArgs): void {
  const at = (blk: number): number => (blk - metaBase) * ISO_BLOCK;
  let seq = 0;
  // Primary volume descriptor.
  let o = at(start);
  meta.writeUInt32LE(++seq, o + 16);
  meta.writeUInt32LE(0, o + 20);
  dstring(meta, o + 24, 32, a.label);
  meta.writeUInt16LE(1, o + 56);
  meta.writeUInt16LE(1, o + 58);
  meta.writeUInt16LE(2, o + 60);
  meta.writeUInt16LE(2, o + 62);
  meta.writeUInt32LE(1, o + 64);
  meta.writeUInt32LE(1, o + 68);
  dstring(meta, o + 72, 128, volumeSetPrefix(a.label, a.time) + a.label);
  charspec(meta, o + 200);
  charspec(meta, o + 264);
  implId(meta, o + 344);
  udfTime(meta, o + 376, a.time);
  implId(meta, o + 388);
  udfTag(meta, o, 1, start, 512 - 16);
  // Implementation use volume descriptor (LV info).
  o = at(start + 1);
  meta.writeUInt32LE(++seq, o + 16);
  udfId(meta, o + 20, '*UDF LV Info');
  charspec(meta, o + 52);
  dstring(meta, o + 116, 128, a.label);
  implId(meta, o + 352);
  udfTag(meta, o, 4, start + 1, 512 - 16);
  // Partition descriptor.
  o = at(start + 2);
  meta.writeUInt32LE(++seq, o + 16);
  meta.writeUInt16LE(1, o + 20); // allocated
  meta.writeUInt16LE(0, o + 22); // partition number
  regid(meta, o + 24, '+NSR02');
  meta.writeUInt32LE(1, o + 184); // read-only
  meta.writeUInt32LE(a.partition, o + 188);
  meta.writeUInt32LE(a.partitionLength, o + 192);
  implId(meta, o + 196);
  udfTag(meta, o, 5, start + 2, 512 - 16);
  // Logical volume descriptor.
  o = at(start + 3);
  meta.writeUInt32LE(++seq, o + 16);
  charspec(meta, o + 20);
  dstring(meta, o + 84, 128, a.label);
  meta.writeUInt32LE(ISO_BLOCK, o + 212);
  domainId(meta, o + 216);
  longAd(meta, o + 248, ISO_BLOCK, a.fsdBlock);
  meta.writeUInt32LE(6, o + 264);
  meta.writeUInt32LE(1, o + 268);
  implId(meta, o + 272);
  meta.writeUInt32LE(UDF_LVID_BLOCKS * ISO_BLOCK, o + 432);
  meta.writeUInt32LE(UDF_LVID, o + 436);
  meta[o + 440] = 1; // type 1 partition map
  meta[o + 441] = 6;
  meta.writeUInt16LE(1, o + 442); // volume sequence number
  meta.writeUInt16LE(0, o + 444); // partition number
  udfTag(meta, o, 6, start + 3, 446 - 16);
  // Unallocated space descriptor: none.
  o = at(start + 4);
  meta.writeUInt32LE(++seq, o + 16);
  meta.writeUInt32LE(0, o + 20);
  udfTag(meta, o, 7, start + 4, 24 - 16);
  // Terminating descriptor.
  o = at(start + 5);
  udfTag(meta, o, 8, start + 5, 512 - 16);
}

/** A whole block, so an image ending with it has its full size even when written sparse. */
export function avdp(block: number): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  b.writeUInt32LE(UDF_VDS_BLOCKS * ISO_BLOCK, 16);
  b.writeUInt32LE(UDF_MAIN_VDS, 20);
  b.writeUInt32LE(UDF_VDS_BLOCKS * ISO_BLOCK, 24);
  b.writeUInt32LE(UDF_RESERVE_VDS, 28);
  udfTag(b, 0, 2, block, 512 - 16);
  return b;
}

const PERM_DIR = 0x14a5; // r-x for owner, group, others
const PERM_FILE = 0x1084 | 0x0421; // r-x as well: Windows ignores it, Linux can run scripts from the disc

/** A file entry (ECMA-167 4/14.9) with short_ads for `size` bytes at partition block `dataRel`. */
export function fileEntry(rel: number, fileType: 4 | 5, size: number, dataRel: number, links: number, uniqueId: number, time: Date): Buffer {
  const ads: [number, number][] = [];
  for (let done = 0; done < size; done += UDF_MAX_EXTENT) ads.push([Math.min(UDF_MAX_EXTENT, size - done), dataRel + done / ISO_BLOCK]);
  const b = Buffer.alloc(176 + ads.length * 8);
  b.writeUInt32LE(0, 16); // prior recorded direct entries
  b.writeUInt16LE(4, 20); // strategy 4
  b.writeUInt16LE(1, 24); // max entries
  b[27] = fileType;
  b.writeUInt16LE(0, 34); // short_ad
  b.writeUInt32LE(0xffffffff, 36); // uid: unknown
  b.writeUInt32LE(0xffffffff, 40); // gid: unknown
  b.writeUInt32LE(fileType === 4 ? PERM_DIR : PERM_FILE, 44);
  b.writeUInt16LE(links, 48);
  writeU64(b, 56, size);
  writeU64(b, 64, blocksOf(size));
  udfTime(b, 72, time);
  udfTime(b, 84, time);
  udfTime(b, 96, time);
  b.writeUInt32LE(1, 108); // checkpoint
  implId(b, 128);
  writeU64(b, 160, uniqueId);
  b.writeUInt32LE(0, 168);
  b.writeUInt32LE(ads.length * 8, 172);
  ads.forEach(([len, pos], i) => {
    b.writeUInt32LE(len, 176 + i * 8);
    b.writeUInt32LE(pos, 180 + i * 8);
  });
  udfTag(b, 0, 261, rel, b.length - 16);
  return b;
}

/** A directory's file identifier descriptors (parent first), tags located at their partition blocks. */
export function udfDirData(dir: DirNode, partition: number): Buffer {
  const b = Buffer.alloc(dir.udfDataSize);
  const dataRel = dir.udfData - partition;
  let pos = 0;
  const fid = (characteristics: number, name: Buffer, feRel: number, uniqueId: number): void => {
    const len = fidLength(name.length);
    b.writeUInt16LE(1, pos + 16);
    b[pos + 18] = characteristics;
    b[pos + 19] = name.length;
    longAd(b, pos + 20, ISO_BLOCK, feRel, uniqueId);
    b.writeUInt16LE(0, pos + 36);
    name.copy(b, pos + 38);
    udfTag(b, pos, 257, dataRel + Math.floor(pos / ISO_BLOCK), len - 16);
    pos += len;
  };
  const parent = dir.parent ?? dir;
  fid(0x0a, Buffer.alloc(0), parent.udfFe - partition, parent.udfUniqueId);
  for (const c of dir.udfChildren) {
    fid(c.kind === 'dir' ? 0x02 : 0, cs0(c.udfName), c.udfFe - partition, c.udfUniqueId);
  }
  return b;
}
