// How a whole drive is opened for writing on each platform. Linux: O_EXCL, which the kernel refuses (EBUSY) while a
// partition is mounted or another program holds the drive. Windows: no sharing at all — libuv's UV_FS_O_EXLOCK gives
// CreateFile a share mode of 0, and libuv's own source says exclusive sharing "is necessary for opening raw block
// devices, otherwise Windows will prevent any attempt to write past the master boot record". Node does not export that
// constant on Windows, so its value from libuv's include/uv/win.h is used (measured under Wine with Node 20's
// node.exe: a second open of a file held this way fails with EBUSY). macOS: the raw device /dev/rdiskN, as it is.
// Linux also gets O_DIRECT: writes go past the page cache to the drive, which wants whole sectors from aligned memory,
// as Windows' and macOS' raw devices do (the writer's I/O on a drive is all of that: SectorIo).
import { constants, openSync } from 'node:fs';
import { directFlag } from './SectorIo.js';

/** libuv's UV_FS_O_EXLOCK on Windows (include/uv/win.h): CreateFile's dwShareMode 0. */
export const UV_FS_O_EXLOCK_WIN32 = 0x10000000;

/** open() flags for reading and writing a whole drive exclusively on `platform`. */
export function deviceOpenFlags(platform: NodeJS.Platform = process.platform): number {
  if (platform === 'linux') return constants.O_RDWR | constants.O_EXCL | directFlag();
  if (platform === 'win32') return constants.O_RDWR | UV_FS_O_EXLOCK_WIN32;
  return constants.O_RDWR;
}

/** libuv's UV_FS_O_DIRECT on Windows (include/uv/win.h): CreateFile's FILE_FLAG_NO_BUFFERING. */
export const UV_FS_O_DIRECT_WIN32 = 0x02000000;

/**
 * open() flags for reading a file past this computer's cache, so a read-back of a file on a network share reads what
 * the server holds, not what this computer kept of its own writes: O_DIRECT on Linux (NFS and cifs keep written pages;
 * FUSE honours it too), FILE_FLAG_NO_BUFFERING on Windows (the SMB redirector caches under a lease). macOS has only
 * fcntl(F_NOCACHE), which Node cannot reach: there it is a plain read.
 */
export function uncachedReadFlags(platform: NodeJS.Platform = process.platform): number {
  if (platform === 'linux') return constants.O_RDONLY | directFlag();
  if (platform === 'win32') return constants.O_RDONLY | UV_FS_O_DIRECT_WIN32;
  return constants.O_RDONLY;
}

/** Opens a file to read past the cache (uncachedReadFlags); a file system that refuses that (EINVAL: no O_DIRECT) is read as it comes. */
export function openUncachedRead(path: string): number {
  try {
    return openSync(path, uncachedReadFlags());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
    return openSync(path, 'r');
  }
}
