// Names as Windows compares them, for every file system tsmedia writes (ISO 9660/Joliet/UDF and FAT32 alike).

/** Upper case as Windows compares names: one code point at a time, never changing a name's length. */
export function windowsUpper(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const u = ch.toUpperCase();
    out += u.length === ch.length ? u : ch;
  }
  return out;
}
