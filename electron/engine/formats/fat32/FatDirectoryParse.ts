// Reading a FAT directory's bytes: live entries with their VFAT long names assembled (and their checksums checked,
// else the 8.3 name as the NT case bits say), the volume label, the "." and ".." entries, and where the entries end.
import { ATTR_DIRECTORY, ATTR_LFN, ATTR_VOLUME_ID } from './FatGeometry.js';
import { fromDosDateTime } from './FatDirectory.js';
import { lfnChecksum } from './FatNames.js';

export interface FatDirEntryInfo {
  /** Long name when valid, else the 8.3 name (lower-cased as the NT case bits say). */
  name: string;
  /** The 11 bytes of the short name as stored (latin1). */
  short11: string;
  attributes: number;
  cluster: number;
  size: number;
  mtime: Date;
  /** Slot (32-byte index in the directory) of the first long-name entry, or of the short entry without one. */
  firstSlot: number;
  /** Slot of the short entry. */
  slot: number;
}

const LFN_CHAR_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];

/** Parses one directory's bytes. `fail` throws; `where` names the directory. */
export function parseDirectory(data: Buffer, where: string, fail: (what: string) => never): { entries: FatDirEntryInfo[]; endSlot: number; label: string | null; dots: FatDirEntryInfo[] } {
  const entries: FatDirEntryInfo[] = [];
  const dots: FatDirEntryInfo[] = [];
  let label: string | null = null;
  const slots = Math.floor(data.length / 32);
  let parts: string[] = [];
  let expect = 0;
  let sum = -1;
  let first = -1;
  const reset = (): void => {
    parts = [];
    expect = 0;
    sum = -1;
    first = -1;
  };
  let slot = 0;
  for (; slot < slots; slot++) {
    const off = slot * 32;
    const b0 = data[off];
    if (b0 === 0x00) break;
    if (b0 === 0xe5) {
      reset();
      continue;
    }
    const attr = data[off + 11];
    if ((attr & 0x3f) === ATTR_LFN) {
      const seq = b0 & 0x1f;
      if (b0 & 0x40) {
        reset();
        if (seq === 0 || seq > 20) continue; // 20 entries hold 260 characters: anything more is not a name
        expect = seq;
        parts = new Array<string>(seq).fill('');
        sum = data[off + 13];
        first = slot;
      }
      if (expect === 0 || seq !== expect || data[off + 13] !== sum) {
        reset();
        continue;
      }
      let s = '';
      for (const o of LFN_CHAR_OFFSETS) {
        const u = data.readUInt16LE(off + o);
        if (u === 0x0000) break;
        s += String.fromCharCode(u);
      }
      parts[seq - 1] = s;
      expect--;
      continue;
    }
    const short11 = data.toString('latin1', off, off + 11);
    if (attr & ATTR_VOLUME_ID && !(attr & ATTR_DIRECTORY)) {
      if (label === null) label = short11.replace(/ +$/, '');
      reset();
      continue;
    }
    const raw = Buffer.from(data.subarray(off, off + 11));
    if (raw[0] === 0x05) raw[0] = 0xe5; // a real 0xE5 first byte is stored as 0x05
    const longOk = first >= 0 && expect === 0 && sum === lfnChecksum(data.subarray(off, off + 11));
    let name: string;
    if (longOk) {
      name = parts.join('');
    } else {
      const nt = data[off + 12];
      let base = raw.toString('latin1', 0, 8).replace(/ +$/, '');
      let ext = raw.toString('latin1', 8, 11).replace(/ +$/, '');
      if (nt & 0x08) base = base.toLowerCase();
      if (nt & 0x10) ext = ext.toLowerCase();
      name = ext ? `${base}.${ext}` : base;
    }
    const e: FatDirEntryInfo = {
      name,
      short11,
      attributes: attr,
      cluster: (data.readUInt16LE(off + 20) << 16) + data.readUInt16LE(off + 26),
      size: data.readUInt32LE(off + 28),
      mtime: fromDosDateTime(data.readUInt16LE(off + 24), data.readUInt16LE(off + 22)),
      firstSlot: longOk ? first : slot,
      slot,
    };
    reset();
    if (short11 === '.          ' || short11 === '..         ') {
      dots.push(e);
      continue;
    }
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0')) {
      fail(`${where}: an entry named "${name.split('\0').join('\\0')}" (slot ${slot}), which no file may have`);
    }
    entries.push(e);
  }
  return { entries, endSlot: slot, label, dots };
}

