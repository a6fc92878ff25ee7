// The journal of an in-place refresh (Fat32RefreshInPlace): the sectors a refresh will overwrite where they are, with
// their new bytes. Its body is written into clusters the FAT calls free (nothing of the file system reads them), then a
// header naming the body is written into the last reserved sector (before the first FAT, which nothing reads either):
// that one-sector write commits it. The header carries the body's SHA-256, so a body changed afterwards (another tool
// writing into free space) reads as damaged, never as a journal to apply.
//
// Offsets count from the start of the drive or image (not the volume's): a record may be the MBR's sector.
//
// Header (one sector)                        Body (whole sectors, in one run of free clusters)
//   0   16  magic "TSMEDIA-JOURNAL1"           0   4     record count N
//   16  8   the body's byte offset in the      4   4     table bytes H (8 + 16·N, rounded up to whole sectors)
//           drive or image                     8   16·N  records: byte offset in the drive or image (8),
//   24  8   the body's bytes                             length (4), 0 (4)
//   32  32  SHA-256 of the body                H   …     each record's data in turn; every length is whole sectors
import { createHash } from 'node:crypto';

const MAGIC = Buffer.from('TSMEDIA-JOURNAL1', 'latin1');
const TABLE = 8;
const RECORD = 16;

export interface JournalRecord {
  /** Byte offset in the drive or image. */
  offset: number;
  data: Buffer;
}

export interface Journal {
  records: JournalRecord[];
  /** Where its body lies: byte offset in the drive or image, and bytes. */
  bodyOffset: number;
  bodyBytes: number;
}

const tableBytes = (count: number, sectorSize: number): number => Math.ceil((TABLE + RECORD * count) / sectorSize) * sectorSize;

/** Bytes the body of a journal of these records takes. */
export function journalBodyBytes(records: readonly { data: { length: number } }[], sectorSize: number): number {
  return records.reduce((n, r) => n + r.data.length, tableBytes(records.length, sectorSize));
}

export function encodeJournalBody(records: readonly JournalRecord[], sectorSize: number): Buffer {
  const head = tableBytes(records.length, sectorSize);
  const b = Buffer.alloc(journalBodyBytes(records, sectorSize));
  b.writeUInt32LE(records.length, 0);
  b.writeUInt32LE(head, 4);
  let at = head;
  records.forEach((r, i) => {
    if (r.data.length % sectorSize !== 0) throw new Error(`journal record ${i}: ${r.data.length} bytes is not whole sectors`);
    b.writeBigUInt64LE(BigInt(r.offset), TABLE + i * RECORD);
    b.writeUInt32LE(r.data.length, TABLE + i * RECORD + 8);
    r.data.copy(b, at);
    at += r.data.length;
  });
  return b;
}

/** The header sector that commits `body`, written at `bodyOffset` (in the drive or image). */
export function journalHeader(body: Buffer, bodyOffset: number, sectorSize: number): Buffer {
  const h = Buffer.alloc(sectorSize);
  MAGIC.copy(h, 0);
  h.writeBigUInt64LE(BigInt(bodyOffset), 16);
  h.writeBigUInt64LE(BigInt(body.length), 24);
  createHash('sha256').update(body).digest().copy(h, 32);
  return h;
}

/** Whether a header sector is a journal's (whole or not): else it is empty or something else's. */
export const isJournalHeader = (sector: Buffer): boolean => sector.subarray(0, MAGIC.length).equals(MAGIC);

/**
 * The journal a header sector commits, read through `read(offset, length)` (offsets in the drive or image; `limit`:
 * the volume's end), or null for no journal, or 'damaged' for a header whose body is no longer as it was.
 */
export function readJournal(header: Buffer, read: (offset: number, length: number) => Buffer, limit: number): Journal | null | 'damaged' {
  if (!isJournalHeader(header)) return null;
  const bodyOffset = Number(header.readBigUInt64LE(16));
  const bodyBytes = Number(header.readBigUInt64LE(24));
  if (bodyBytes < TABLE || bodyOffset + bodyBytes > limit) return 'damaged';
  const body = read(bodyOffset, bodyBytes);
  if (!createHash('sha256').update(body).digest().equals(header.subarray(32, 64))) return 'damaged';
  const count = body.readUInt32LE(0);
  let at = body.readUInt32LE(4);
  const records: JournalRecord[] = [];
  for (let i = 0; i < count; i++) {
    const offset = Number(body.readBigUInt64LE(TABLE + i * RECORD));
    const length = body.readUInt32LE(TABLE + i * RECORD + 8);
    if (at + length > bodyBytes) return 'damaged';
    records.push({ offset, data: body.subarray(at, at + length) });
    at += length;
  }
  return { records, bodyOffset, bodyBytes };
}
