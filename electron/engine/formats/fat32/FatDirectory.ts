// FAT directory entries: DOS dates and times, the 32-byte short entry, and the VFAT long-name entries in front of it.
import { ATTR_LFN } from './FatGeometry.js';
import { lfnChecksum, lfnSlots } from './FatNames.js';

// ---------------------------------------------------------------------------------------------------------------------
// Directory entries

export interface DosDateTime {
  date: number;
  time: number;
  /** Creation time's 10 ms units (0–199) beyond the 2-second resolution of `time`. */
  centis: number;
}

/** A time in FAT's encoding from the Date's UTC fields, clamped to the years 1980–2107. */
export function dosDateTime(d: Date): DosDateTime {
  const y = d.getUTCFullYear();
  if (y < 1980) return { date: (1 << 5) | 1, time: 0, centis: 0 };
  if (y > 2107) return { date: (127 << 9) | (12 << 5) | 31, time: (23 << 11) | (59 << 5) | 29, centis: 199 };
  const s = d.getUTCSeconds();
  return {
    date: ((y - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
    time: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (s >> 1),
    centis: (s & 1) * 100 + Math.floor(d.getUTCMilliseconds() / 10),
  };
}

/** Decodes a FAT date and time (as UTC). */
export function fromDosDateTime(date: number, time: number): Date {
  const y = 1980 + (date >> 9);
  const m = Math.max(1, Math.min(12, (date >> 5) & 0x0f));
  const day = Math.max(1, date & 0x1f);
  return new Date(Date.UTC(y, m - 1, day, Math.min(23, time >> 11), Math.min(59, (time >> 5) & 0x3f), Math.min(59, (time & 0x1f) * 2)));
}

export interface ShortEntry {
  short11: string;
  attributes: number;
  cluster: number;
  size: number;
  time: Date;
}

/** Writes one 32-byte short (8.3) entry: name, attributes, creation/access/write times, first cluster, size. */
export function writeShortEntry(buf: Buffer, off: number, e: ShortEntry): void {
  buf.fill(0, off, off + 32);
  buf.write(e.short11, off, 11, 'latin1');
  buf[off + 11] = e.attributes;
  const t = dosDateTime(e.time);
  buf[off + 13] = t.centis;
  buf.writeUInt16LE(t.time, off + 14);
  buf.writeUInt16LE(t.date, off + 16);
  buf.writeUInt16LE(t.date, off + 18);
  buf.writeUInt16LE((e.cluster >>> 16) & 0xffff, off + 20);
  buf.writeUInt16LE(t.time, off + 22);
  buf.writeUInt16LE(t.date, off + 24);
  buf.writeUInt16LE(e.cluster & 0xffff, off + 26);
  buf.writeUInt32LE(e.size, off + 28);
}

const LFN_CHAR_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

/** Writes the long-name entries of `name` (last part first, as stored) at `off`; returns the bytes written. */
export function writeLfnEntries(buf: Buffer, off: number, name: string, checksum: number): number {
  const n = lfnSlots(name);
  for (let k = 0; k < n; k++) {
    const seq = n - k; // physical order: highest sequence first
    const p = off + k * 32;
    buf.fill(0, p, p + 32);
    buf[p] = seq | (seq === n ? 0x40 : 0);
    buf[p + 11] = ATTR_LFN;
    buf[p + 13] = checksum;
    for (let j = 0; j < 13; j++) {
      const i = (seq - 1) * 13 + j;
      const unit = i < name.length ? name.charCodeAt(i) : i === name.length ? 0x0000 : 0xffff;
      buf.writeUInt16LE(unit, p + LFN_CHAR_OFFSETS[j]);
    }
  }
  return n * 32;
}

/** Writes a name's long-name entries (when it needs them) and its short entry; returns the bytes written. */
export function writeNamedEntry(buf: Buffer, off: number, name: string, lfn: boolean, e: ShortEntry): number {
  let p = off;
  if (lfn) p += writeLfnEntries(buf, p, name, lfnChecksum(e.short11));
  writeShortEntry(buf, p, e);
  return p + 32 - off;
}

