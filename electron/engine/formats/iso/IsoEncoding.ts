// The small encodings every ISO 9660 structure uses: both-endian numbers, the 7- and 17-byte dates, a- and
// d-characters, UCS-2 fields, and one directory record.
import { InputError } from '../../errors.js';
import { windowsUpper } from '../windowsNames.js';
import { cut, dChars } from './IsoNames.js';
import { recordLength, ucs2be } from './IsoSizes.js';

// ---------------------------------------------------------------------------------------------------------------------
// Encoding helpers

export function both16(b: Buffer, off: number, v: number): void {
  b.writeUInt16LE(v, off);
  b.writeUInt16BE(v, off + 2);
}

export function both32(b: Buffer, off: number, v: number): void {
  b.writeUInt32LE(v, off);
  b.writeUInt32BE(v, off + 4);
}

export function checkTime(t: Date): void {
  if (!(t instanceof Date) || Number.isNaN(t.getTime())) throw new InputError('the image timestamp is not a valid date.');
  const y = t.getUTCFullYear();
  if (y < 1970 || y > 2155) throw new InputError(`the image timestamp ${t.toISOString()} is outside the years ISO 9660 can record (1970–2155).`);
}

export function isoTime7(t: Date): Buffer {
  return Buffer.from([t.getUTCFullYear() - 1900, t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds(), 0]);
}

export function isoTime17(t: Date | null): Buffer {
  const b = Buffer.alloc(17, 0x30);
  b[16] = 0;
  if (!t) return b;
  const p = (n: number, w: number): string => String(n).padStart(w, '0');
  const s = `${p(t.getUTCFullYear(), 4)}${p(t.getUTCMonth() + 1, 2)}${p(t.getUTCDate(), 2)}${p(t.getUTCHours(), 2)}${p(t.getUTCMinutes(), 2)}${p(t.getUTCSeconds(), 2)}${p(Math.floor(t.getUTCMilliseconds() / 10), 2)}`;
  b.write(s, 0, 'latin1');
  return b;
}

export function aChars(s: string | undefined, len: number): Buffer {
  const b = Buffer.alloc(len, 0x20);
  if (s) b.write(windowsUpper(s).replace(/[^A-Z0-9_ !"%&'()*+,\-./:;<=>?]/g, '_').slice(0, len), 0, 'latin1');
  return b;
}

export function ucs2Field(s: string | undefined, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i + 1 < len; i += 2) b.writeUInt16BE(0x20, i);
  if (s) ucs2be(cut(s, Math.floor(len / 2))).copy(b, 0);
  return b;
}

/** The ISO 9660 volume id: upper case d-characters, at most 32. */
export function isoVolumeId(label: string): string {
  return dChars(label).slice(0, 32);
}

export function writeRecord(b: Buffer, off: number, id: Buffer, extent: number, size: number, flags: number, time: Buffer): number {
  const len = recordLength(id.length);
  b[off] = len;
  b[off + 1] = 0;
  both32(b, off + 2, extent);
  both32(b, off + 10, size);
  time.copy(b, off + 18);
  b[off + 25] = flags;
  b[off + 26] = 0;
  b[off + 27] = 0;
  both16(b, off + 28, 1);
  b[off + 32] = id.length;
  id.copy(b, off + 33);
  return len;
}
