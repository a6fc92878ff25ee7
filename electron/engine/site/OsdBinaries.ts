// The site server's OSD binaries: <ConfigMgr installation folder>\OSD\bin\x64 and \i386, shared as
// \\<site server>\SMS_<site code>\OSD\bin. They are no package's content: TSMBAutorun.exe, TsmBootstrap.exe and their
// libraries, which media need in SMS\bin\<arch> to be started from a running Windows (refresh and upgrade).
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type { OsdArchitecture, OsdBinariesSummary } from '../../../shared/analysis.js';
import { describeFsError } from '../errors.js';
import type { SiteDescriptor } from './SiteDescriptor.js';

export const OSD_ARCHITECTURES: readonly OsdArchitecture[] = ['x64', 'i386'];
/** What the start from Windows runs: autorun.inf opens the first, which starts the second. */
export const OSD_REQUIRED_FILES = ['TSMBAutorun.exe', 'TsmBootstrap.exe'];

export interface OsdFile {
  /** Path inside the architecture folder, "/" separated. */
  relativePath: string;
  path: string;
  size: number;
}

export interface OsdArchitectureFolder {
  name: OsdArchitecture;
  folder: string;
  files: OsdFile[];
  bytes: number;
}

export interface OsdBinaries {
  location: string | null;
  origin: OsdBinariesSummary['origin'];
  /** The usable architectures (holding the required files). */
  architectures: OsdArchitectureFolder[];
  /** Why x64 cannot be used; null when it can. */
  problem: string | null;
  /** Why i386 cannot be used (absent or incomplete); null when it can. */
  i386Problem: string | null;
  /** False where there is no site folder to look in (one export file analysed on its own): nothing is known. */
  looked: boolean;
}

/** The site server's share of its OSD binaries. */
export const siteServerOsdShare = (server: string, siteCode: string): string => `\\\\${server}\\SMS_${siteCode.toUpperCase()}\\OSD\\bin`;

const isUncPath = (p: string): boolean => /^(\\\\|\/\/)[^\\/]/.test(p);

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** A child folder or file by name, as Windows finds it (case-insensitively). */
async function childNamed(dir: string, name: string): Promise<string | null> {
  try {
    const hit = (await readdir(dir)).find((n) => n.toLowerCase() === name.toLowerCase());
    return hit === undefined ? null : join(dir, hit);
  } catch {
    return null;
  }
}

async function listFiles(dir: string, rel = ''): Promise<OsdFile[]> {
  const out: OsdFile[] = [];
  const names = (await readdir(dir)).sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' }) || (a < b ? -1 : 1));
  for (const n of names) {
    const p = join(dir, n);
    const r = rel ? `${rel}/${n}` : n;
    const st = await stat(p);
    if (st.isDirectory()) out.push(...(await listFiles(p, r)));
    else if (st.isFile()) out.push({ relativePath: r, path: p, size: st.size });
  }
  return out;
}

async function readArchitecture(root: string, name: OsdArchitecture): Promise<OsdArchitectureFolder | string> {
  const folder = await childNamed(root, name);
  if (folder === null || !(await isDir(folder))) return `${join(root, name)} does not exist`;
  let files: OsdFile[];
  try {
    files = await listFiles(folder);
  } catch (err) {
    return describeFsError(err, folder);
  }
  const lacking = OSD_REQUIRED_FILES.filter((f) => !files.some((x) => x.relativePath.toLowerCase() === f.toLowerCase()));
  if (lacking.length) return `${folder} lacks ${lacking.join(' and ')}: it is not the site server's OSD\\bin\\${name} folder`;
  return { name, folder, files, bytes: files.reduce((n, f) => n + f.size, 0) };
}

/**
 * Finds the OSD binaries of a site: the descriptor's "osdBinaries", else the site folder's OSD\bin, else the share of
 * the descriptor's "siteServer". Never throws: what cannot be used is said in `problem`.
 */
export async function locateOsdBinaries(root: string, descriptor: SiteDescriptor | null, siteCode: string | null): Promise<OsdBinaries> {
  const none = (location: string | null, origin: OsdBinaries['origin'], problem: string): OsdBinaries => ({ location, origin, architectures: [], problem, i386Problem: problem, looked: true });
  let location: string;
  let origin: OsdBinaries['origin'];
  const named = descriptor?.osdBinaries ?? null;
  const inSite = named === null ? await childNamed(root, 'OSD') : null;
  const siteBin = inSite !== null ? await childNamed(inSite, 'bin') : null;
  if (named !== null) {
    location = isAbsolute(named) || isUncPath(named) ? named : join(root, named);
    origin = 'descriptor';
  } else if (siteBin !== null && (await isDir(siteBin))) {
    location = siteBin;
    origin = 'site-folder';
  } else if (descriptor?.siteServer && siteCode) {
    location = siteServerOsdShare(descriptor.siteServer, siteCode);
    origin = 'site-server-share';
  } else {
    return none(
      null,
      null,
      `the site has no OSD\\bin folder and tsmedia-site.json names none. Copy <ConfigMgr installation folder>\\OSD\\bin from the site server into the site folder as OSD\\bin, or name it (or \\\\<site server>\\SMS_<site code>\\OSD\\bin) in tsmedia-site.json "osdBinaries".`,
    );
  }
  if (isUncPath(location) && process.platform !== 'win32') {
    return none(location, origin, `${location} is a Windows share, which this computer cannot open by that name: mount the share and name the mounted OSD/bin folder in tsmedia-site.json "osdBinaries".`);
  }
  // The architecture folder itself named ("…\OSD\bin\x64"): its parent is meant.
  if (OSD_ARCHITECTURES.some((a) => a === basename(location).toLowerCase()) && (await childNamed(location, OSD_REQUIRED_FILES[0])) !== null) {
    location = dirname(location);
  }
  try {
    if (!(await stat(location)).isDirectory()) return none(location, origin, `${location} is not a folder: name the site server's OSD\\bin folder.`);
  } catch (err) {
    return none(location, origin, `${describeFsError(err, location)}${origin === 'site-server-share' ? ' (the share of tsmedia-site.json "siteServer")' : ''}`);
  }
  const x64 = await readArchitecture(location, 'x64');
  const i386 = await readArchitecture(location, 'i386');
  return {
    location,
    origin,
    architectures: [x64, i386].filter((a): a is OsdArchitectureFolder => typeof a !== 'string'),
    problem: typeof x64 === 'string' ? x64 : null,
    i386Problem: typeof i386 === 'string' ? i386 : null,
    looked: true,
  };
}

export function summarizeOsdBinaries(b: OsdBinaries): OsdBinariesSummary {
  return {
    location: b.location,
    origin: b.origin,
    architectures: b.architectures.map((a) => ({ name: a.name, files: a.files.length, bytes: a.bytes })),
    problem: b.problem,
  };
}
