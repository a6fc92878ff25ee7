// Windows path forms, as string rules (no Node imports: the renderer uses them too). A network share is written
// \\server\share\folder\media.iso, or in the long form \\?\UNC\server\share\…; a local path may carry the long prefix
// too (\\?\C:\…). Node's path.win32 reads \\?\UNC\server\share as the share "UNC" of a server called "?", so its
// dirname() climbs past the share to \\?\UNC\server, and the two forms of one place differ as strings: places are
// compared (and walked up) in their plain form. Device paths (\\.\PhysicalDrive1) share the prefix but are drives.

const LONG_UNC = /^[\\/]{2}[?.][\\/]UNC[\\/]/i;
const LONG_DRIVE = /^[\\/]{2}[?.][\\/](?=[A-Za-z]:[\\/])/;

/**
 * The plain form of a long Windows path: `\\?\UNC\server\share\x` → `\\server\share\x`, `\\?\C:\x` (or `\\.\C:\x`) →
 * `C:\x`. Anything else is returned as it is: a device (`\\.\C:`, `\\.\PhysicalDrive1`, `\\?\Volume{…}`), a plain path.
 */
export function plainWindowsPath(p: string): string {
  const unc = LONG_UNC.exec(p);
  if (unc) return `\\\\${p.slice(unc[0].length)}`;
  const drive = LONG_DRIVE.exec(p);
  return drive ? p.slice(drive[0].length) : p;
}

/**
 * Whether a Windows path names a drive or volume rather than a file: `\\.\PhysicalDrive1`, `\\.\C:`, `\\?\Volume{…}`,
 * `\\?\GLOBALROOT\Device\…`. A file in the long form (`\\?\C:\x.iso`, `\\?\UNC\server\share\x.iso`) is not one.
 */
export function isWindowsDevicePath(p: string): boolean {
  if (LONG_UNC.test(p) || LONG_DRIVE.test(p)) return false;
  return /^[\\/]{2}[?.][\\/](?:[^\\/]+|GLOBALROOT[\\/].+)$/i.test(p);
}
