// Where a PE/COFF image (an .exe or an EFI application) keeps what Authenticode leaves out of its digest: the
// optional header's CheckSum, the security data directory entry (data directory 4) and the attribute certificate
// table it points to, with the table's WIN_CERTIFICATE entries. Offsets only: the signatures are parsed elsewhere.

/** WIN_CERTIFICATE.wCertificateType of a PKCS#7 SignedData (WIN_CERT_TYPE_PKCS_SIGNED_DATA). */
export const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
const PE32_MAGIC = 0x10b;
const PE32_PLUS_MAGIC = 0x20b;
const SECURITY_DIRECTORY = 4;

export interface WinCertificate {
  revision: number;
  type: number;
  /** bCertificate: the bytes after the 8-byte header. */
  data: Buffer;
}

export interface PeLayout {
  /** Offset of the optional header's CheckSum (4 bytes). */
  checksumOffset: number;
  /** Offset of the security directory entry (8 bytes), null when the optional header has fewer than 5 directories. */
  securityEntryOffset: number | null;
  /** The attribute certificate table (file offset and bytes), null when the image has none. */
  certTable: { offset: number; size: number } | null;
}

export class PeFormatError extends Error {}

/** The layout of a PE image; throws PeFormatError naming what is out of place. */
export function peLayout(image: Buffer): PeLayout {
  if (image.length < 64 || image.toString('latin1', 0, 2) !== 'MZ') throw new PeFormatError('not a PE image (no MZ header)');
  const pe = image.readUInt32LE(0x3c);
  if (pe + 24 + 2 > image.length || image.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new PeFormatError('not a PE image (no PE signature where the MZ header points)');
  const optionalSize = image.readUInt16LE(pe + 20);
  const opt = pe + 24;
  const magic = image.readUInt16LE(opt);
  if (magic !== PE32_MAGIC && magic !== PE32_PLUS_MAGIC) throw new PeFormatError(`unknown optional header magic 0x${magic.toString(16)}`);
  // NumberOfRvaAndSizes and the data directories follow the fixed fields (PE32+ has 64-bit image base and stacks).
  const countOffset = opt + (magic === PE32_PLUS_MAGIC ? 108 : 92);
  const dirs = countOffset + 4;
  if (countOffset + 4 > image.length || countOffset + 4 > opt + optionalSize) throw new PeFormatError('the optional header is cut short');
  const count = image.readUInt32LE(countOffset);
  const checksumOffset = opt + 64;
  if (count <= SECURITY_DIRECTORY || dirs + (SECURITY_DIRECTORY + 1) * 8 > opt + optionalSize) return { checksumOffset, securityEntryOffset: null, certTable: null };
  const securityEntryOffset = dirs + SECURITY_DIRECTORY * 8;
  if (securityEntryOffset + 8 > image.length) throw new PeFormatError('the data directories are cut short');
  // The security directory holds a file offset, not an RVA.
  const offset = image.readUInt32LE(securityEntryOffset);
  const size = image.readUInt32LE(securityEntryOffset + 4);
  if (offset === 0 && size === 0) return { checksumOffset, securityEntryOffset, certTable: null };
  if (offset < securityEntryOffset + 8 || size < 8 || offset + size > image.length) {
    throw new PeFormatError(`the certificate table (offset ${offset}, ${size} bytes) lies outside the ${image.length}-byte file`);
  }
  return { checksumOffset, securityEntryOffset, certTable: { offset, size } };
}

/** The WIN_CERTIFICATE entries of the table, each 8-byte aligned as the PE format places them. */
export function winCertificates(image: Buffer, table: { offset: number; size: number }): WinCertificate[] {
  const out: WinCertificate[] = [];
  const end = table.offset + table.size;
  let p = table.offset;
  while (p + 8 <= end) {
    const length = image.readUInt32LE(p);
    if (length < 8 || p + length > end) throw new PeFormatError(`a WIN_CERTIFICATE at offset ${p} claims ${length} bytes, past the table's end`);
    out.push({ revision: image.readUInt16LE(p + 4), type: image.readUInt16LE(p + 6), data: image.subarray(p + 8, p + length) });
    p += (length + 7) & ~7;
  }
  if (out.length === 0) throw new PeFormatError('the certificate table holds no WIN_CERTIFICATE');
  return out;
}

/**
 * The byte ranges Authenticode hashes: the whole file but the CheckSum, the security directory entry and the
 * certificate table (Windows hashes a signed file linearly this way; bytes after the table count too).
 */
export function authenticodeRanges(image: Buffer, layout: PeLayout): [number, number][] {
  const cuts: [number, number][] = [[layout.checksumOffset, layout.checksumOffset + 4]];
  if (layout.securityEntryOffset !== null) cuts.push([layout.securityEntryOffset, layout.securityEntryOffset + 8]);
  if (layout.certTable) cuts.push([layout.certTable.offset, layout.certTable.offset + layout.certTable.size]);
  cuts.sort((a, b) => a[0] - b[0]);
  const ranges: [number, number][] = [];
  let at = 0;
  for (const [from, to] of cuts) {
    if (from > at) ranges.push([at, from]);
    at = Math.max(at, to);
  }
  if (at < image.length) ranges.push([at, image.length]);
  return ranges;
}
