// The version resource (VS_VERSIONINFO) of a Windows executable or library: what Explorer shows as "File version" and
// "Product version". Read here from the PE headers and the resource directory (the first RT_VERSION entry, as resedit
// and Windows' own GetFileVersionInfo take it): resedit, used before, loaded 55 modules (0.05–0.1 s at every start
// that reads the site's OSD binaries) for these four numbers. Every offset is checked; anything malformed gives null.

export interface PeVersion {
  fileVersion: string;
  productVersion: string;
}

const RT_VERSION = 16;
const FIXED_FILE_INFO_SIGNATURE = 0xfeef04bd;
/** Nesting of the resource tree: type, name, language. */
const LEVELS = 3;

const dotted = (ms: number, ls: number): string => [ms >>> 16, ms & 0xffff, ls >>> 16, ls & 0xffff].join('.');

class Malformed extends Error {}

function u16(b: Buffer, at: number): number {
  if (at < 0 || at + 2 > b.length) throw new Malformed();
  return b.readUInt16LE(at);
}

function u32(b: Buffer, at: number): number {
  if (at < 0 || at + 4 > b.length) throw new Malformed();
  return b.readUInt32LE(at);
}

interface Section {
  va: number;
  virtualSize: number;
  rawOffset: number;
  rawSize: number;
}

/** The sections and the resource directory's RVA (0 when the image has none). */
function headers(image: Buffer): { sections: Section[]; resourceRva: number } {
  const pe = u32(image, 0x3c);
  if (u32(image, pe) !== 0x00004550) throw new Malformed(); // "PE\0\0"
  const sectionCount = u16(image, pe + 6);
  const optionalSize = u16(image, pe + 20);
  const opt = pe + 24;
  const magic = u16(image, opt);
  if (magic !== 0x10b && magic !== 0x20b) throw new Malformed();
  const dirs = opt + (magic === 0x10b ? 96 : 112);
  const dirCount = u32(image, dirs - 4);
  const resourceRva = dirCount > 2 && dirs + 24 <= opt + optionalSize ? u32(image, dirs + 16) : 0;
  const sections: Section[] = [];
  for (let i = 0, s = opt + optionalSize; i < sectionCount; i++, s += 40) {
    sections.push({ virtualSize: u32(image, s + 8), va: u32(image, s + 12), rawSize: u32(image, s + 16), rawOffset: u32(image, s + 20) });
  }
  return { sections, resourceRva };
}

/** The file offset of `length` bytes at `rva`, inside one section's raw data. */
function offsetOf(sections: Section[], rva: number, length: number): number {
  for (const s of sections) {
    const size = Math.max(s.virtualSize, s.rawSize);
    if (rva < s.va || rva >= s.va + size) continue;
    const at = rva - s.va;
    if (at + length > s.rawSize) throw new Malformed();
    return s.rawOffset + at;
  }
  throw new Malformed();
}

/** The first RT_VERSION leaf's data (RVA and size): its first name, that name's first language. */
function versionEntry(image: Buffer, base: number): { rva: number; size: number } | null {
  const seen = new Set<number>();
  const entries = (dir: number): { id: number | null; target: number }[] => {
    if (seen.has(dir)) throw new Malformed(); // a loop in the tree
    seen.add(dir);
    const named = u16(image, base + dir + 12);
    const ids = u16(image, base + dir + 14);
    const out: { id: number | null; target: number }[] = [];
    for (let i = 0, e = base + dir + 16; i < named + ids; i++, e += 8) {
      const name = u32(image, e);
      out.push({ id: name & 0x80000000 ? null : name, target: u32(image, e + 4) });
    }
    return out;
  };
  const leaf = (target: number, level: number): { rva: number; size: number } | null => {
    if (target & 0x80000000) {
      if (level >= LEVELS) throw new Malformed();
      for (const e of entries(target & 0x7fffffff)) {
        const found = leaf(e.target, level + 1);
        if (found) return found;
      }
      return null;
    }
    if (level !== LEVELS) throw new Malformed();
    return { rva: u32(image, base + target), size: u32(image, base + target + 4) };
  };
  const types = entries(0);
  const version = types.find((t) => t.id === RT_VERSION);
  return version ? leaf(version.target, 1) : null;
}

/** VS_VERSIONINFO's fixed part; a block without a valid VS_FIXEDFILEINFO gives 0.0.0.0, as resedit read it. */
function fixedVersion(data: Buffer): PeVersion {
  const total = u16(data, 0);
  const valueLength = u16(data, 2);
  if (u16(data, 4) !== 0 || total < valueLength + 40) throw new Malformed();
  if (data.toString('utf16le', 6, 36) !== 'VS_VERSION_INFO' || u16(data, 36) !== 0) throw new Malformed();
  // The value starts at 40: 6 bytes of header and the key with its NUL, rounded up to 4.
  const last = Math.min(valueLength + 40, data.length);
  const at = (offset: number): number => (offset + 4 <= last ? data.readUInt32LE(offset) : 0);
  if (valueLength === 0 || at(40) !== FIXED_FILE_INFO_SIGNATURE || at(44) > 0x10000) return { fileVersion: '0.0.0.0', productVersion: '0.0.0.0' };
  return { fileVersion: dotted(at(48), at(52)), productVersion: dotted(at(56), at(60)) };
}

/** The fixed version of a PE image, or null when the bytes are no PE image or carry no version resource. */
export async function peVersion(image: Buffer): Promise<PeVersion | null> {
  if (image.length < 64 || image.toString('latin1', 0, 2) !== 'MZ') return null;
  try {
    const { sections, resourceRva } = headers(image);
    if (resourceRva === 0) return null;
    const base = offsetOf(sections, resourceRva, 16);
    const entry = versionEntry(image, base);
    if (!entry) return null;
    const at = offsetOf(sections, entry.rva, entry.size);
    return fixedVersion(image.subarray(at, at + entry.size));
  } catch (err) {
    if (err instanceof Malformed) return null;
    throw err;
  }
}
