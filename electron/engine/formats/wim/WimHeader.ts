// Reading a WIM (Windows image): its header, resource headers and lookup table, checked against the file.
//
// Format facts (from wimlib's documentation and header descriptions, Microsoft's WIM overview and WIMGAPI reference,
// libyal's WIM format notes, and what `wimlib-imagex split` was seen to write; no code copied):
//   header (little-endian): 0 magic "MSWIM\0\0\0", 8 header size (208), 12 version (0x10D00; 0xE00 for solid WIMs),
//   16 flags, 20 chunk size, 24 GUID (16), 40 part number (u16, from 1), 42 total parts (u16), 44 image count,
//   48 lookup table reshdr, 72 XML data reshdr, 96 boot metadata reshdr, 120 boot index, 124 integrity table reshdr,
//   148 60 unused bytes.
//   reshdr (24 bytes): size in the file (7 bytes), flags (1), offset from the start of the file (8), original size (8).
//   lookup table entry (50 bytes): reshdr, part number (u16), reference count (u32), SHA-1 (20).
//   Images are the lookup-table entries flagged METADATA, in table order. In a split set all metadata resources are in
//   part 1; every part has the same GUID, the SPANNED header flag, its own part number, the image count and the XML
//   data, and a lookup table listing only its own resources with its part number in each entry.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { describeFsError, InputError } from '../../errors.js';
import type { ImageLayout } from '../../io/ImageLayout.js';
import { readFully } from '../../io/PositionedRead.js';

export const WIM_HEADER_SIZE = 208;
export const WIM_LOOKUP_ENTRY_SIZE = 50;
export const WIM_VERSION_DEFAULT = 0x10d00;
export const WIM_VERSION_SOLID = 0xe00;
/** More parts than a 16-bit part number can count. */
export const MAX_PARTS = 0xffff;
/** A lookup table this large would describe 1.3 million resources; real install.wim files hold well under 200,000. */
const MAX_LOOKUP_TABLE_BYTES = 64 * 1024 * 1024;
export const COPY_BUFFER = 8 * 1024 * 1024;

export const WimHeaderFlag = {
  COMPRESSION: 0x02,
  READONLY: 0x04,
  SPANNED: 0x08,
  RESOURCE_ONLY: 0x10,
  METADATA_ONLY: 0x20,
  WRITE_IN_PROGRESS: 0x40,
  RP_FIX: 0x80,
} as const;

export const WimResourceFlag = {
  FREE: 0x01,
  METADATA: 0x02,
  COMPRESSED: 0x04,
  SPANNED: 0x08,
  SOLID: 0x10,
} as const;

export const MAGIC = Buffer.from('MSWIM\0\0\0', 'latin1');
const PIPABLE_MAGIC = Buffer.from('WLPWM\0\0\0', 'latin1');

/** Where a resource is in its WIM file and how big it is. */
export interface WimResourceHeader {
  /** Bytes it takes in the file (compressed size for a compressed resource). */
  size: number;
  flags: number;
  /** Byte offset from the start of the file. */
  offset: number;
  /** Size once decompressed. */
  originalSize: number;
}

export interface WimHeader {
  path: string;
  fileSize: number;
  version: number;
  flags: number;
  chunkSize: number;
  guid: Buffer;
  /** 1-based; 1 for a WIM that is not split. */
  partNumber: number;
  totalParts: number;
  imageCount: number;
  lookupTable: WimResourceHeader;
  xmlData: WimResourceHeader;
  /** All zero when no image is bootable. */
  bootMetadata: WimResourceHeader;
  /** 1-based index of the bootable image, 0 for none. */
  bootIndex: number;
  /** All zero when the WIM has no integrity table. */
  integrityTable: WimResourceHeader;
}

export interface WimLookupEntry {
  /** Position in the lookup table (0-based). */
  index: number;
  resource: WimResourceHeader;
  partNumber: number;
  refCount: number;
  /** SHA-1 of the uncompressed data (20 bytes). */
  hash: Buffer;
}

/** One .swm part: an ImageLayout over the original WIM plus its name. */
export interface WimPartPlan extends ImageLayout {
  /** `<baseName>000.swm`, `<baseName>001.swm`, … */
  fileName: string;
  /** 1-based, as written in the part's header. */
  partNumber: number;
  totalParts: number;
  /** Lookup-table entries in this part. */
  entryCount: number;
}

export interface PlanWimSplitOptions {
  /** Names the WIM in messages and in the extents' source (default: its path). */
  label?: string;
  /** Folder of the parts on the media, prefixed to the extents' paths for progress and messages. */
  mediaDir?: string;
}

export const ZERO_RESHDR: WimResourceHeader = { size: 0, flags: 0, offset: 0, originalSize: 0 };

/** `<baseName>000.swm` for index 0, as Configuration Manager names the parts. */
export function swmPartName(baseName: string, index: number): string {
  return `${baseName}${String(index).padStart(3, '0')}.swm`;
}

export function fail(file: string, message: string): never {
  throw new InputError(message, { file });
}

function openForRead(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    throw new InputError(describeFsError(err, path));
  }
}

/** Reads exactly `length` bytes at `position`; a short file is an InputError (never a loop without end). */
function readExactly(fd: number, path: string, name: string, length: number, position: number, what: string): Buffer {
  const b = Buffer.alloc(length);
  let got: number;
  try {
    got = readFully(fd, b, 0, length, position);
  } catch (err) {
    throw new InputError(`cannot read the ${what}: ${describeFsError(err, path)}`, { file: name === path ? undefined : name });
  }
  if (got < length) fail(name, `the file ends inside the ${what} (at byte ${position + got}; ${length} bytes from ${position} were expected). It is truncated.`);
  return b;
}

function safeNumber(v: bigint, name: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(name, `${what} is ${v}, more than any file can hold: the WIM is damaged.`);
  return Number(v);
}

function readReshdr(b: Buffer, at: number, name: string, what: string): WimResourceHeader {
  const sizeAndFlags = b.readBigUInt64LE(at);
  return {
    size: safeNumber(sizeAndFlags & 0x00ff_ffff_ffff_ffffn, name, `the size of the ${what}`),
    flags: Number(sizeAndFlags >> 56n),
    offset: safeNumber(b.readBigUInt64LE(at + 8), name, `the offset of the ${what}`),
    originalSize: safeNumber(b.readBigUInt64LE(at + 16), name, `the original size of the ${what}`),
  };
}

export function writeReshdr(b: Buffer, at: number, r: WimResourceHeader): void {
  b.writeBigUInt64LE((BigInt(r.flags & 0xff) << 56n) | BigInt(r.size), at);
  b.writeBigUInt64LE(BigInt(r.offset), at + 8);
  b.writeBigUInt64LE(BigInt(r.originalSize), at + 16);
}

export function checkInFile(name: string, h: { fileSize: number }, r: WimResourceHeader, what: string): void {
  if (r.offset < WIM_HEADER_SIZE) fail(name, `the ${what} starts at byte ${r.offset}, inside the 208-byte header: the WIM is damaged.`);
  if (r.offset + r.size > h.fileSize) {
    fail(name, `the ${what} (${r.size} bytes at byte ${r.offset}) ends past the end of the file (${h.fileSize} bytes): the WIM is truncated or damaged.`);
  }
}

/**
 * Reads and checks the 208-byte header of a WIM (or of one .swm part). Throws InputError naming the file (as `name`
 * when given, e.g. the package and file a content-library blob holds).
 */
export function readWimHeader(path: string, name: string = path): WimHeader {
  const fd = openForRead(path);
  try {
    let fileSize: number;
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) fail(name, 'not a regular file; a WIM file was expected.');
      fileSize = st.size;
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(describeFsError(err, path));
    }
    if (fileSize < WIM_HEADER_SIZE) fail(name, `${fileSize} bytes, too small to be a WIM (its header alone is ${WIM_HEADER_SIZE} bytes).`);
    const b = readExactly(fd, path, name, WIM_HEADER_SIZE, 0, 'WIM header');
    const magic = b.subarray(0, 8);
    if (magic.equals(PIPABLE_MAGIC)) {
      fail(name, "a pipable WIM (wimlib's own variant), which Windows cannot read. Export it to a normal WIM first (wimlib-imagex export without --pipable).");
    }
    if (!magic.equals(MAGIC)) fail(name, 'not a WIM file: it does not start with the signature "MSWIM".');
    const headerSize = b.readUInt32LE(8);
    if (headerSize !== WIM_HEADER_SIZE) fail(name, `the WIM header says it is ${headerSize} bytes; ${WIM_HEADER_SIZE} is the only size Windows writes.`);
    const version = b.readUInt32LE(12);
    if (version !== WIM_VERSION_DEFAULT && version !== WIM_VERSION_SOLID) {
      fail(name, `WIM version 0x${version.toString(16)} is not supported (0x10d00, or 0xe00 for solid WIMs, were expected).`);
    }
    const h: WimHeader = {
      path,
      fileSize,
      version,
      flags: b.readUInt32LE(16),
      chunkSize: b.readUInt32LE(20),
      guid: Buffer.from(b.subarray(24, 40)),
      partNumber: b.readUInt16LE(40),
      totalParts: b.readUInt16LE(42),
      imageCount: b.readUInt32LE(44),
      lookupTable: readReshdr(b, 48, name, 'lookup table'),
      xmlData: readReshdr(b, 72, name, 'XML data'),
      bootMetadata: readReshdr(b, 96, name, 'boot metadata'),
      bootIndex: b.readUInt32LE(120),
      integrityTable: readReshdr(b, 124, name, 'integrity table'),
    };
    if (h.totalParts === 0 || h.partNumber === 0 || h.partNumber > h.totalParts) {
      fail(name, `the header says part ${h.partNumber} of ${h.totalParts}, which is impossible: the WIM is damaged.`);
    }
    if (h.lookupTable.size === 0) fail(name, 'the WIM has no lookup table: it is damaged or unfinished.');
    if (h.lookupTable.flags & (WimResourceFlag.COMPRESSED | WimResourceFlag.SOLID)) fail(name, 'the lookup table is compressed, which Windows never writes and is not supported.');
    if (h.lookupTable.size !== h.lookupTable.originalSize) {
      fail(name, `the lookup table's sizes disagree (${h.lookupTable.size} bytes stored, ${h.lookupTable.originalSize} original): the WIM is damaged.`);
    }
    checkInFile(name, h, h.lookupTable, 'lookup table');
    if (h.xmlData.size === 0) fail(name, 'the WIM has no XML data: it is damaged or unfinished.');
    checkInFile(name, h, h.xmlData, 'XML data');
    if (h.bootMetadata.size !== 0) checkInFile(name, h, h.bootMetadata, 'boot metadata');
    if (h.integrityTable.size !== 0) checkInFile(name, h, h.integrityTable, 'integrity table');
    if (h.bootIndex > h.imageCount) fail(name, `the boot index is ${h.bootIndex} but the WIM has only ${h.imageCount} image(s): the WIM is damaged.`);
    return h;
  } finally {
    closeSync(fd);
  }
}

/** Reads the lookup table the header points at (bounded in size: a damaged header cannot make it read gigabytes). */
export function readWimLookupTable(header: WimHeader, name: string = header.path): WimLookupEntry[] {
  const { path, lookupTable } = header;
  if (lookupTable.size > MAX_LOOKUP_TABLE_BYTES) {
    fail(name, `the lookup table is ${lookupTable.size} bytes, more than any real WIM has (limit ${MAX_LOOKUP_TABLE_BYTES}): the WIM is damaged.`);
  }
  if (lookupTable.size % WIM_LOOKUP_ENTRY_SIZE !== 0) {
    fail(name, `the lookup table is ${lookupTable.size} bytes, not a whole number of ${WIM_LOOKUP_ENTRY_SIZE}-byte entries: the WIM is damaged.`);
  }
  const fd = openForRead(path);
  let b: Buffer;
  try {
    b = readExactly(fd, path, name, lookupTable.size, lookupTable.offset, 'lookup table');
  } finally {
    closeSync(fd);
  }
  const count = lookupTable.size / WIM_LOOKUP_ENTRY_SIZE;
  const entries: WimLookupEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * WIM_LOOKUP_ENTRY_SIZE;
    entries.push({
      index: i,
      resource: readReshdr(b, at, name, `resource of lookup-table entry ${i}`),
      partNumber: b.readUInt16LE(at + 24),
      refCount: b.readUInt32LE(at + 26),
      hash: Buffer.from(b.subarray(at + 30, at + 50)),
    });
  }
  return entries;
}
