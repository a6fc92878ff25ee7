// `tsmedia site snapshot`: an open site (a folder, or a live site read from the administration service) written as a
// site folder in the layout Site.open reads: exports/<PackageID>.zip per task sequence (exported "with dependencies"),
// bare sequences as exports/<name>.xml, and tsmedia-site.json holding the site's facts, the catalog of everything it
// knows and where each distribution point's content library is. The libraries themselves are not copied.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { ReferenceKind } from '../../../shared/analysis.js';
import { InputError, describeFsError, describeWriteError } from '../errors.js';
import { CancelledError, WriteError } from '../io/ImageWriter.js';
import { exportedApplicationDependencies, knownContent } from './Catalog.js';
import { writeExportZip, type CimValue, type ExportedObject, type ExportTaskSequence } from './ExportWriter.js';
import type { Site } from './Site.js';
import { DESCRIPTOR_FILE, parseSiteDescriptor, type DescriptorCatalogItem, type DescriptorDistributionPoint } from './SiteDescriptor.js';
import type { TaskSequencePackage } from './TaskSequenceExport.js';

export interface SiteSnapshotOptions {
  signal?: AbortSignal;
}

export interface SiteSnapshotResult {
  /** The snapshot folder (absolute). */
  outDir: string;
  /** The export zips and sequence files written, absolute paths under outDir. */
  exports: string[];
  taskSequences: number;
}

/** The descriptor a snapshot writes: the fields of tsmedia-site.json it fills. */
interface SnapshotDescriptor {
  comment: string;
  siteCode: string | null;
  siteName: string | null;
  centralAdministrationSite: boolean;
  siteServer?: string;
  osdBinaries?: string;
  distributionPoints: DescriptorDistributionPoint[];
  catalog: DescriptorCatalogItem[];
}

/** ReferencePackageType per kind, so that a reference reads back as the same kind; Unknown leaves the type out. */
const PACKAGE_TYPE: Record<ReferenceKind, number | null> = {
  Package: 0,
  DriverPackage: 3,
  TaskSequence: 4,
  SoftwareUpdatePackage: 5,
  OperatingSystemImage: 257,
  BootImage: 258,
  OperatingSystemUpgradePackage: 259,
  Application: 512,
  Unknown: null,
};

/**
 * The export class of each kind of content object, as TaskSequenceExport reads it back to that kind: an object read
 * from elsewhere (a live site's SMS_PackageBaseclass rows) keeps its kind. Task sequences and applications are
 * written as such, never as content objects.
 */
const CONTENT_CLASS: Partial<Record<ReferenceKind, string>> = {
  BootImage: 'SMS_BootImagePackage',
  OperatingSystemImage: 'SMS_ImagePackage',
  OperatingSystemUpgradePackage: 'SMS_OperatingSystemInstallPackage',
  DriverPackage: 'SMS_DriverPackage',
  Package: 'SMS_Package',
  SoftwareUpdatePackage: 'SMS_SoftwareUpdatesPackage',
};

/** The descriptor: what Site.open cannot learn from the exports alone. */
function descriptorOf(site: Site): SnapshotDescriptor {
  const d = site.descriptor;
  const catalog: DescriptorCatalogItem[] = [...knownContent(site).values()].map((k) => ({
    ...k,
    // The descriptor takes whole versions of 1 or more; any other value stays with the object written in an export.
    sourceVersion: k.sourceVersion !== null && Number.isInteger(k.sourceVersion) && k.sourceVersion >= 1 ? k.sourceVersion : null,
  }));
  const distributionPoints = site.distributionPoints.map((dp) => ({
    name: dp.name,
    contentLibrary: dp.root,
    // FileLib roots after the first are the library's extra roots (other drives); unknown when it could not be opened.
    extraContentLibraries: dp.library ? dp.library.fileLibRoots.slice(1).map((f) => dirname(f)) : [],
  }));
  const out: SnapshotDescriptor = {
    comment: `Written by tsmedia site snapshot from ${site.root}. The content libraries are not copied: distributionPoints names where they are.`,
    siteCode: site.siteCode !== null && /^[A-Za-z0-9]{3}$/.test(site.siteCode) ? site.siteCode : null,
    siteName: d?.siteName ?? null,
    centralAdministrationSite: site.isCentralAdministrationSite,
    distributionPoints,
    catalog,
  };
  if (d?.siteServer) out.siteServer = d.siteServer;
  // Found through the site server's share, the descriptor's siteServer (and site code) finds it again, the same way.
  const osd = site.osdBinaries;
  if (osd.location !== null && !(osd.origin === 'site-server-share' && d?.siteServer)) out.osdBinaries = osd.location;
  return out;
}

/** What every export looks up, worked out once per snapshot: application dependencies and CI_IDs, by package ID. */
interface SiteIndex {
  deps: Map<string, string[]>;
  ciIds: Map<string, number | null>;
}

const indexOf = (site: Site): SiteIndex => ({
  deps: exportedApplicationDependencies(site),
  ciIds: new Map(site.taskSequences.flatMap((t) => t.appReferences).map((a) => [a.packageId.toUpperCase(), a.ciId])),
});

/** The export of one task sequence with its dependencies: the content objects and applications it references. */
function exportOf(site: Site, index: SiteIndex, ts: TaskSequencePackage & { packageId: string }, sourceVersion: number | null): { ts: ExportTaskSequence; objects: ExportedObject[] } {
  const wanted = new Set<string>([ts.bootImageId ?? '', ...ts.references.map((r) => r.packageId)].map((id) => id.toUpperCase()));
  const apps = new Set<string>([...ts.appReferences.map((a) => a.packageId.toUpperCase()), ...ts.references.filter((r) => r.kind === 'Application').map((r) => r.packageId.toUpperCase())]);
  // Applications the referenced ones depend on, however deep, as "with dependencies" exports them.
  for (const id of apps) for (const d of index.deps.get(id) ?? []) apps.add(d);

  const objects: ExportedObject[] = [];
  const written = new Set<string>();
  const add = (className: string, packageId: string, properties: Record<string, CimValue>): void => {
    const key = `${className}/${packageId}`.toUpperCase();
    if (written.has(key)) return;
    written.add(key);
    objects.push({ className, properties });
  };
  for (const a of site.applications) {
    if (!a.packageId || !apps.has(a.packageId.toUpperCase())) continue;
    const ciId = index.ciIds.get(a.packageId.toUpperCase());
    add('SMS_Application', a.packageId, {
      PackageID: a.packageId,
      ...(ciId === undefined || ciId === null ? {} : { CI_ID: ciId }),
      ModelName: a.modelName,
      LocalizedDisplayName: a.name,
      SoftwareVersion: a.version,
      SourceVersion: a.sourceVersion,
      SDMPackageXML: a.sdmPackageXml,
    });
  }
  for (const o of site.contentObjects) {
    const className = CONTENT_CLASS[o.kind] ?? (o.kind === 'Unknown' ? o.className : null);
    if (!wanted.has(o.packageId.toUpperCase()) || className === null || /^SMS_(TaskSequencePackage|Application)$/i.test(className)) continue;
    add(className, o.packageId, { PackageID: o.packageId, Name: o.name, Version: o.version, SourceVersion: o.sourceVersion, PackageType: PACKAGE_TYPE[o.kind] });
  }
  return {
    ts: {
      packageId: ts.packageId,
      name: ts.name,
      description: ts.description,
      bootImageId: ts.bootImageId,
      sequenceXml: ts.sequenceXml,
      sourceSite: ts.sourceSite,
      sourceVersion: sourceVersion ?? undefined,
      references: ts.references.map((r) => ({ packageId: r.packageId, name: r.name, version: r.version, type: PACKAGE_TYPE[r.kind], description: r.description })),
      appReferences: ts.appReferences.map((a) => ({ modelName: a.modelName, packageId: a.packageId, ciId: a.ciId })),
    },
    objects,
  };
}

/** A file name for a bare sequence: its name without the characters Windows refuses, unique in the folder. */
function sequenceFileName(name: string, taken: Set<string>): string {
  const safe = [...name].slice(0, 100).map((c) => (c < ' ' || '<>:"/\\|?*'.includes(c) ? '_' : c)).join('');
  let base = safe.replace(/[. ]+$/, '').trim();
  if (base === '' || /^(con|prn|aux|nul|com\d|lpt\d)$/i.test(base)) base = `_${base}`;
  let file = `${base}.xml`;
  for (let n = 2; taken.has(file.toLowerCase()); n++) file = `${base} (${n}).xml`;
  taken.add(file.toLowerCase());
  return file;
}

/** The sequence's own bytes: UTF-16 with its mark where its declaration says so, else UTF-8. */
function sequenceBytes(xml: string): Buffer {
  if (/^\s*<\?xml[^>]*encoding\s*=\s*["']utf-16/i.test(xml)) return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
  return Buffer.from(xml, 'utf8');
}

/** Whether `dir` is absent or an empty folder; throws an InputError for anything else there. */
async function refuseOccupied(dir: string): Promise<boolean> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new InputError(describeFsError(err, dir));
  }
  if (!isDir) throw new InputError(`${dir} is a file, not a folder. Choose a new or empty folder for the snapshot.`);
  if ((await readdir(dir)).length > 0) {
    throw new InputError(`${dir} is not empty, and a snapshot never writes over a folder. Choose a new or empty folder for it, or empty this one first.`);
  }
  return true;
}

/**
 * Writes `site` as a site folder at `outDir`, which must not exist or be empty. Everything is written into a
 * temporary folder beside it and renamed at the end: a failure or a cancel leaves nothing under the final name.
 */
export async function writeSiteSnapshot(site: Site, outDir: string, options: SiteSnapshotOptions = {}): Promise<SiteSnapshotResult> {
  const out = resolve(outDir);
  const check = (): void => {
    if (options.signal?.aborted) throw new CancelledError();
  };
  check();
  await refuseOccupied(out);
  const descriptor = descriptorOf(site);
  const descriptorText = `${JSON.stringify(descriptor, null, 2)}\n`;
  // What Site.open would refuse is refused here, before anything is written (a DP name twice, a site server name).
  parseSiteDescriptor(descriptorText, join(out, DESCRIPTOR_FILE));

  const parent = dirname(out);
  let tmp: string;
  try {
    await mkdir(parent, { recursive: true });
    // Not mkdtemp: its folder is private (0700); this one gets the modes a folder made by the user gets.
    tmp = join(parent, `.${basename(out)}.partial-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp);
  } catch (err) {
    throw new InputError(`${describeWriteError(err, parent)} Choose another folder for the snapshot.`);
  }
  try {
    const exportsDir = join(tmp, 'exports');
    await mkdir(exportsDir);
    const names: string[] = [];
    const taken = new Set<string>();
    const known = knownContent(site);
    const index = indexOf(site);
    for (const ts of site.taskSequences) {
      check();
      if (ts.packageId === null) {
        const file = sequenceFileName(ts.name, taken);
        await writeFile(join(exportsDir, file), sequenceBytes(ts.sequenceXml));
        names.push(file);
        continue;
      }
      const { ts: exported, objects } = exportOf(site, index, { ...ts, packageId: ts.packageId }, known.get(ts.packageId.toUpperCase())?.sourceVersion ?? null);
      const file = `${ts.packageId}.zip`;
      taken.add(file.toLowerCase());
      await writeExportZip(join(exportsDir, file), [exported], objects, { siteServer: site.descriptor?.siteServer ?? undefined });
      names.push(file);
    }
    await writeFile(join(tmp, DESCRIPTOR_FILE), descriptorText);
    check();
    // An empty folder given for the snapshot is replaced (a rename onto a folder fails on Windows); it was empty just now.
    if (await refuseOccupied(out)) await rmdir(out);
    await rename(tmp, out);
    return { outDir: out, exports: names.sort().map((n) => join(out, 'exports', n)), taskSequences: site.taskSequences.length };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if (err instanceof InputError || err instanceof CancelledError || typeof (err as NodeJS.ErrnoException).code !== 'string') throw err;
    // A file system failure (a full disk, a share gone): the partial folder is gone, nothing has the final name.
    throw new WriteError(`${describeWriteError(err, out)} The snapshot was not written.`);
  }
}
