// A site: a folder with exported task sequences (exports/*.zip, bare sequence XML) and one or more content libraries
// (SCCMContentLib*/, each one distribution point), optionally described further by tsmedia-site.json.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, isAbsolute, join, resolve } from 'node:path';
import { ContentLibrary } from './ContentLibrary.js';
import { cachedExport } from './ParseCache.js';
import { InputError, describeFsError, errorMessage } from '../errors.js';
import { DESCRIPTOR_FILE, parseSiteDescriptor, type SiteDescriptor } from './SiteDescriptor.js';
import { locateOsdBinaries, type OsdBinaries } from './OsdBinaries.js';
import {
  readExport,
  readSequenceFile,
  type ExportedApplication,
  type ExportedContentObject,
  type TaskSequencePackage,
} from './TaskSequenceExport.js';

export interface DistributionPoint {
  name: string;
  root: string;
  /** Null when the library could not be opened; `error` says why. */
  library: ContentLibrary | null;
  error: string | null;
  /** A live site's word on what the DP holds (package ID → source version installed); null for a folder site. */
  heldVersions?: ReadonlyMap<string, number> | null;
}

export interface SiteParts {
  root: string;
  descriptor: SiteDescriptor | null;
  taskSequences: TaskSequencePackage[];
  applications: ExportedApplication[];
  contentObjects: ExportedContentObject[];
  distributionPoints: DistributionPoint[];
  osdBinaries: OsdBinaries;
}

/** Folder-convention DP names: "SCCMContentLib_DP01" → "DP01"; a bare "SCCMContentLib" keeps its name. */
export function distributionPointNameFromFolder(folder: string): string {
  const rest = folder.replace(/^SCCMContentLib/i, '').replace(/^[\s_.\-$]+/, '');
  return rest === '' ? folder : rest;
}

/** The descriptor's site code, else the site the exports were made at. */
const siteCodeOf = (descriptor: SiteDescriptor | null, taskSequences: readonly TaskSequencePackage[]): string | null =>
  descriptor?.siteCode ?? taskSequences.find((t) => t.sourceSite)?.sourceSite ?? null;

async function kindOf(p: string): Promise<'file' | 'dir' | null> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

export class Site {
  readonly root: string;
  readonly descriptor: SiteDescriptor | null;
  readonly taskSequences: readonly TaskSequencePackage[];
  readonly applications: readonly ExportedApplication[];
  readonly contentObjects: readonly ExportedContentObject[];
  readonly distributionPoints: readonly DistributionPoint[];
  /** The site server's OSD\bin, for media started from a running Windows. */
  readonly osdBinaries: OsdBinaries;

  constructor(parts: SiteParts) {
    this.root = parts.root;
    this.descriptor = parts.descriptor;
    this.taskSequences = parts.taskSequences;
    this.applications = parts.applications;
    this.contentObjects = parts.contentObjects;
    this.distributionPoints = parts.distributionPoints;
    this.osdBinaries = parts.osdBinaries;
  }

  get siteCode(): string | null {
    return siteCodeOf(this.descriptor, this.taskSequences);
  }

  get isCentralAdministrationSite(): boolean {
    return this.descriptor?.centralAdministrationSite ?? false;
  }

  taskSequence(packageId: string): TaskSequencePackage | undefined {
    const id = packageId.toUpperCase();
    return this.taskSequences.find((t) => t.packageId?.toUpperCase() === id);
  }

  /** Opens a site folder; throws InputError naming the file for anything it cannot read. */
  static async open(dir: string): Promise<Site> {
    const root = resolve(dir);
    if ((await kindOf(root)) !== 'dir') throw new InputError(`${root}: the site folder does not exist or is not a folder.`);
    const descPath = join(root, DESCRIPTOR_FILE);
    let descriptor: SiteDescriptor | null = null;
    if ((await kindOf(descPath)) === 'file') {
      let text: string;
      try {
        text = await readFile(descPath, 'utf8');
      } catch (err) {
        throw new InputError(describeFsError(err, descPath));
      }
      descriptor = parseSiteDescriptor(text, descPath);
    }
    const at = (p: string): string => (isAbsolute(p) ? p : join(root, p));

    // Exports: listed paths (files or folders), default the "exports" folder.
    const exportFiles: string[] = [];
    const exportPaths = descriptor?.exports ?? ['exports'];
    for (const p of exportPaths) {
      const full = at(p);
      const k = await kindOf(full);
      if (k === 'file') exportFiles.push(full);
      else if (k === 'dir') {
        let names: string[];
        try {
          names = await readdir(full);
        } catch (err) {
          throw new InputError(describeFsError(err, full));
        }
        for (const n of names.sort()) if (/\.(zip|xml)$/i.test(n)) exportFiles.push(join(full, n));
      } else if (descriptor?.exports) {
        throw new InputError(`${full}: listed in ${DESCRIPTOR_FILE} "exports" but not found.`);
      }
    }

    const taskSequences: TaskSequencePackage[] = [];
    const applications: ExportedApplication[] = [];
    const contentObjects: ExportedContentObject[] = [];
    for (const f of exportFiles) {
      if (extname(f).toLowerCase() === '.zip') {
        const ex = await cachedExport(f, readExport);
        taskSequences.push(...ex.taskSequences);
        applications.push(...ex.applications);
        contentObjects.push(...ex.contentObjects);
      } else {
        const ts = await readSequenceFile(f);
        taskSequences.push(ts);
      }
    }
    const seen = new Map<string, string>();
    for (const ts of taskSequences) {
      if (!ts.packageId) continue;
      const id = ts.packageId.toUpperCase();
      const prev = seen.get(id);
      if (prev !== undefined) {
        throw new InputError(`task sequence ${ts.packageId} is in two exports: ${prev} and ${ts.source}. Remove one of them from the site.`);
      }
      seen.set(id, ts.source);
    }

    // Distribution points: from the descriptor, else every SCCMContentLib* folder at the root.
    const dpSpecs: { name: string; root: string; extra: string[] }[] = [];
    if (descriptor?.distributionPoints) {
      for (const d of descriptor.distributionPoints) dpSpecs.push({ name: d.name, root: at(d.contentLibrary), extra: d.extraContentLibraries.map(at) });
    } else {
      for (const n of (await readdir(root)).sort()) {
        if (/^SCCMContentLib/i.test(n) && (await kindOf(join(root, n))) === 'dir') {
          dpSpecs.push({ name: distributionPointNameFromFolder(n), root: join(root, n), extra: [] });
        }
      }
    }
    const distributionPoints: DistributionPoint[] = [];
    for (const d of dpSpecs) {
      try {
        const library = await ContentLibrary.open(d.root, d.extra);
        await library.packages();
        distributionPoints.push({ name: d.name, root: d.root, library, error: null });
      } catch (err) {
        distributionPoints.push({ name: d.name, root: d.root, library: null, error: errorMessage(err) });
      }
    }
    const osdBinaries = await locateOsdBinaries(root, descriptor, siteCodeOf(descriptor, taskSequences));
    return new Site({ root, descriptor, taskSequences, applications, contentObjects, distributionPoints, osdBinaries });
  }

  /** A site made of one export or sequence file, with no distribution points (for `tsmedia analyze FILE`). */
  static async fromFile(file: string): Promise<Site> {
    const full = resolve(file);
    const problem = `${basename(full)} is a single file, not a site folder: it has no OSD\\bin folder.`;
    const osdBinaries: OsdBinaries = { location: null, origin: null, architectures: [], problem, i386Problem: problem, looked: false };
    if (extname(full).toLowerCase() === '.zip') {
      const ex = await cachedExport(full, readExport);
      return new Site({ root: full, descriptor: null, taskSequences: ex.taskSequences, applications: ex.applications, contentObjects: ex.contentObjects, distributionPoints: [], osdBinaries });
    }
    if (extname(full).toLowerCase() === '.xml') {
      const ts = await readSequenceFile(full);
      return new Site({ root: full, descriptor: null, taskSequences: [ts], applications: [], contentObjects: [], distributionPoints: [], osdBinaries });
    }
    throw new InputError(`${basename(full)}: expected an exported task sequence (.zip) or a task sequence XML file (.xml).`, { file: full });
  }
}
