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

/**
 * Device names Windows reserves in every folder, alone or with any extension ("CON", "nul.txt", "COM1.tar.gz"), as the
 * Win32 naming rules list them (COM and LPT with 0–9 and the superscript digits ¹²³). Trailing spaces before the first
 * period count too ("CON .txt" is CON).
 */
const DEVICE_NAME = /^(CON|PRN|AUX|NUL|COM[0-9\u00b9\u00b2\u00b3]|LPT[0-9\u00b9\u00b2\u00b3]) *(\..*)?$/i;

/** Why WinPE (Windows) cannot open a file or folder of this name, or null when it can. */
export function windowsNameProblem(name: string): string | null {
  if (DEVICE_NAME.test(name)) return `"${name.split('.')[0].trimEnd()}" is a device name Windows reserves (CON, PRN, AUX, NUL, COM0–9, LPT0–9, also with an extension)`;
  if (/[. ]$/.test(name)) return 'it ends with a period or a space, which Windows drops from a name';
  // eslint-disable-next-line no-control-regex
  const bad = /[\x00-\x1f"*:<>?|]/.exec(name);
  if (bad) return `it contains ${/[\x20-\x7e]/.test(bad[0]) ? `"${bad[0]}"` : 'a control character'}, which Windows does not allow in a name`;
  return null;
}
