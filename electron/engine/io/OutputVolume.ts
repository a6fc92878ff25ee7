// What kind of place an output folder is: how much it can take (or that its file system does not say), and whether it
// is a network share, named as an administrator knows it (\\server\share, //server/share, server:/export). A share is
// written as a local disk is, but its errors are named after it, and an unreported size is not read as "full":
// smbnetfs and other FUSE mounts report size 0, and some servers report nothing at all.
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync, statfsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { posix, resolve } from 'node:path';
import { plainWindowsPath } from '../../../shared/windowsPaths.js';
import { errorMessage } from '../errors.js';

export interface ShareInfo {
  /** The share as its server names it: \\server\share (Windows, SMB), //server/share, or server:/export (NFS). */
  name: string;
  protocol: 'smb' | 'nfs' | 'other';
  /** Where it is mounted on this computer (a folder, or a mapped drive letter); null for a UNC path used directly. */
  mountedAt: string | null;
}

export interface OutputVolume {
  folder: string;
  /** Bytes an unprivileged writer may still write; null when the file system does not say. */
  free: number | null;
  /** Why `free` is null (for the plan and the log), or null when it is known. */
  freeUnknown: string | null;
  share: ShareInfo | null;
}

/** One mounted file system, as /proc/self/mountinfo (Linux) or `mount` (macOS) lists it. */
export interface MountEntry {
  mountpoint: string;
  fstype: string;
  source: string;
}

/** /proc/self/mountinfo escapes space, tab, newline and backslash as octal (\040 …). */
const unescapeMount = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Lines of /proc/self/mountinfo: "36 35 98:0 / /mnt1 rw,noatime master:1 - ext3 /dev/root rw" (proc(5)). */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 5 || right.length < 2) continue;
    out.push({ mountpoint: unescapeMount(left[4]), fstype: right[0], source: unescapeMount(right[1]) });
  }
  return out;
}

/** Lines of macOS `mount`: "//user@server/share on /Volumes/share (smbfs, nodev, nosuid, mounted by user)". */
export function parseMacMount(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(.+?) on (.+) \(([^,)]+)[,)]/.exec(line);
    if (m) out.push({ source: m[1], mountpoint: m[2], fstype: m[3].trim() });
  }
  return out;
}

/** The mount holding `path` (the longest mountpoint that contains it). */
export function mountOf(entries: MountEntry[], path: string): MountEntry | null {
  let best: MountEntry | null = null;
  for (const e of entries) {
    const m = e.mountpoint.replace(/\/+$/, '');
    const inside = e.mountpoint === '/' || path === m || path.startsWith(`${m}/`);
    if (inside && (!best || e.mountpoint.length >= best.mountpoint.length)) best = e;
  }
  return best;
}

/** SMB sources drop a user part: //user@server/share → //server/share (a password never reaches a message). */
const smbName = (source: string): string => source.replace(/^\/\/[^@/]*@/, '//');

/** The share a mounted file system stands for, or null for a local one. `path` is inside `entry.mountpoint`. */
export function shareOfMount(entry: MountEntry, path: string): ShareInfo | null {
  const t = entry.fstype.toLowerCase();
  const mountedAt = entry.mountpoint;
  if (t === 'cifs' || t === 'smb3' || t === 'smbfs' || t === 'smb2') return { name: smbName(entry.source), protocol: 'smb', mountedAt };
  if (t === 'nfs' || t === 'nfs4') return { name: entry.source, protocol: 'nfs', mountedAt };
  if (t === 'afpfs' || t === 'webdav' || t === 'fuse.sshfs' || t === 'fuse.rclone' || t === 'davfs' || t === 'fuse.davfs') {
    return { name: entry.source, protocol: 'other', mountedAt };
  }
  if (t === 'fuse.smbnetfs') {
    // smbnetfs shows the whole network: <mountpoint>/<server>/<share>/…
    const rest = path.slice(entry.mountpoint.replace(/\/+$/, '').length).split('/').filter(Boolean);
    if (rest.length < 2) return null;
    return { name: `//${rest[0]}/${rest[1]}`, protocol: 'smb', mountedAt: posix.join(entry.mountpoint, rest[0], rest[1]) };
  }
  if (t === 'fuse.gvfsd-fuse') {
    // GNOME: /run/user/<uid>/gvfs/smb-share:server=nas,share=media/…
    const m = /\/smb-share:([^/]+)/.exec(path);
    if (!m) return null;
    const fields = Object.fromEntries(m[1].split(',').map((kv) => kv.split('=') as [string, string]));
    if (!fields.server || !fields.share) return null;
    return { name: `//${fields.server}/${fields.share}`, protocol: 'smb', mountedAt: path.slice(0, m.index + m[0].length) };
  }
  return null;
}

/**
 * The share a Windows path is on, named as Windows users write it (\\server\share), from \\server\share\…,
 * //server/share/… or the long form \\?\UNC\server\share\…; null for a drive letter, a long local path (\\?\C:\…)
 * and a device (\\.\PhysicalDrive1, \\?\Volume{…}), which start with two separators too.
 */
export function uncShare(path: string): string | null {
  const m = /^[\\/]{2}([^\\/?.][^\\/]*)[\\/]([^\\/]+)/.exec(plainWindowsPath(path));
  return m ? `\\\\${m[1]}\\${m[2]}` : null;
}

/**
 * The share a Windows folder is on: a UNC path, or a drive letter mapped to one (its final path, `finalPath`, is a UNC
 * path; Windows' GetFinalPathNameByHandle names the share for a mapped drive). `mountedAt` is the drive letter ("Z:").
 */
export function windowsShare(folder: string, finalPath: (p: string) => string | null): ShareInfo | null {
  const direct = uncShare(folder);
  if (direct) return { name: direct, protocol: 'smb', mountedAt: null };
  const drive = /^([A-Za-z]:)(?:[\\/]|$)/.exec(plainWindowsPath(folder));
  if (!drive) return null;
  const real = finalPath(folder);
  const mapped = real === null ? null : uncShare(real);
  return mapped ? { name: mapped, protocol: 'smb', mountedAt: drive[1].toUpperCase() } : null;
}

function mountTable(): MountEntry[] {
  try {
    if (process.platform === 'linux') return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
    if (process.platform === 'darwin') return parseMacMount(execFileSync('/sbin/mount', { encoding: 'utf8', timeout: 5000 }));
  } catch {
    // Without the table a share is not recognised; the folder is still written as a local one.
  }
  return [];
}

function realOrSame(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return p;
  }
}

/** The share holding `folder`, or null when it is on a local disk (or its kind cannot be told). */
export function shareOf(folder: string): ShareInfo | null {
  if (process.platform === 'win32') {
    return windowsShare(resolve(folder), (p) => {
      try {
        return realpathSync.native(p);
      } catch {
        return null;
      }
    });
  }
  const real = realOrSame(resolve(folder));
  const entry = mountOf(mountTable(), real);
  return entry ? shareOfMount(entry, real) : null;
}

/**
 * Free space as statfs reports it, or null with the reason when it does not: a total of 0 blocks means "unknown"
 * (smbnetfs, some FUSE and WebDAV mounts), and a query that fails says nothing about the space either.
 */
export function freeSpace(folder: string): { free: number | null; why: string | null } {
  let s;
  try {
    s = statfsSync(folder);
  } catch (err) {
    return { free: null, why: `its free space cannot be asked (${errorMessage(err)})` };
  }
  return freeOfStatfs(s);
}

/** Free space from a statfs answer (sync or async): a total of 0 blocks is "not reported". */
export function freeOfStatfs(s: { blocks: number | bigint; bavail: number | bigint; bsize: number | bigint }): { free: number | null; why: string | null } {
  if (Number(s.blocks) === 0) return { free: null, why: 'its file system does not report its size' };
  return { free: Number(s.bavail) * Number(s.bsize), why: null };
}

export function outputVolume(folder: string): OutputVolume {
  const { free, why } = freeSpace(folder);
  return { folder, free, freeUnknown: why, share: shareOf(folder) };
}

/** "the network share //server/share" or "the folder /x", for messages about the place written to. */
export function describePlace(v: OutputVolume): string {
  return v.share ? `the network share ${v.share.name}${v.share.mountedAt ? ` (at ${v.share.mountedAt})` : ''}` : `the folder ${v.folder}`;
}

/**
 * Whether the folder answers now: listed once, and again after a pause or two, because a FUSE client (smbnetfs) fails
 * the first calls after a dropped connection until it has reconnected, while a stopped server fails them all.
 */
export async function folderAnswers(folder: string, tries = 3, pauseMs = 1000): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    try {
      await readdir(folder);
      return true;
    } catch {
      if (i + 1 < tries) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
  return false;
}
