// A live site: the same Site the folder reader builds, read from the administration service instead of exports.
// Classes read and why (see docs/reference/live-site.md):
//  - SMS_ProviderLocation (ProviderForLocalSite) and SMS_Site: the site code, name, and whether it is a CAS (Type 4).
//  - SMS_TaskSequencePackage: the list, then each instance for the lazy Sequence and References.
//  - SMS_TaskSequenceReferencesInfo: names, versions and kinds of what each references, as the console exports them.
//  - SMS_TaskSequenceAppReferencesInfo: the applications each task sequence installs (the export's AppReferencesInfo).
//  - SMS_PackageBaseclass: every package of every kind in one paged read (names, versions, kinds, source versions).
//  - SMS_Application (IsLatest) and, for the applications task sequences need, the lazy SDMPackageXML; SMS_DeploymentType
//    to find which application a dependency's deployment type belongs to.
//  - SMS_DistributionPointInfo and SMS_PackageStatusDistPointsSummarizer: the distribution points and the version of
//    each package each holds (State 0, installed). The bytes still come from each DP's content library.
import { join, isAbsolute } from 'node:path';
import { kindFromPackageType, type ReferenceKind } from '../../../../shared/analysis.js';
import { InputError, codedInputError, errorMessage } from '../../errors.js';
import { ContentLibrary } from '../ContentLibrary.js';
import { locateOsdBinaries } from '../OsdBinaries.js';
import { Site, type DistributionPoint } from '../Site.js';
import type { SiteDescriptor } from '../SiteDescriptor.js';
import { parseTaskSequence } from '../TaskSequence.js';
import { sdmDeploymentTypes, type ExportedApplication, type ExportedAppReference, type ExportedContentObject, type ExportedReference, type TaskSequencePackage } from '../TaskSequenceExport.js';
import { parseXml } from '../xml.js';
import { AdminServiceClient, type AdminServiceOptions, type JsonObject, type JsonValue } from './AdminServiceClient.js';
import type { SiteAddress } from './SiteAddress.js';

export interface LiveSiteOptions extends AdminServiceOptions {
  /** The descriptor of a folder that names this service: its distribution point mapping and OSD binaries. */
  descriptor?: SiteDescriptor | null;
  descriptorRoot?: string | null;
}

const str = (v: JsonValue | undefined): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: JsonValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);

/** PackageType → the class an export would hold it as (SMS_PackageBaseclass documents the values). */
const CLASS_OF_TYPE: Record<number, string> = {
  0: 'SMS_Package',
  3: 'SMS_DriverPackage',
  4: 'SMS_TaskSequencePackage',
  5: 'SMS_SoftwareUpdatesPackage',
  8: 'SMS_ContentPackage',
  257: 'SMS_ImagePackage',
  258: 'SMS_BootImagePackage',
  259: 'SMS_OperatingSystemInstallPackage',
};
const kindOfType = (t: number | null): ReferenceKind => (t === 8 ? 'Application' : t === null ? 'Unknown' : kindFromPackageType(t));

/** "…\\DP01.contoso.com\\" inside a NAL path names the server. */
const nalNames = (nal: string, server: string): boolean => nal.toLowerCase().includes(`\\\\${server.toLowerCase()}\\`);

export async function openLiveSite(address: SiteAddress, options: LiveSiteOptions): Promise<Site> {
  const client = await AdminServiceClient.connect(address, options);
  try {
    return await readSite(client, address, options);
  } finally {
    client.close();
  }
}

async function readSite(client: AdminServiceClient, address: SiteAddress, options: LiveSiteOptions): Promise<Site> {
  const where = (cls: string, key?: string | number): string => `${address.base}/wmi/${cls}${key === undefined ? '' : `(${typeof key === 'number' ? key : `'${key}'`})`}`;
  const providers = await client.collection('SMS_ProviderLocation', { filter: 'ProviderForLocalSite eq true', select: ['SiteCode', 'Machine'] });
  const siteCode = str(providers[0]?.SiteCode);
  if (!siteCode) throw codedInputError('SITE_SERVER_ERROR', { server: address.server, status: 200 }, `${address.server} names no site of its own (SMS_ProviderLocation): is it an SMS Provider?`);

  const [sites, tsRows, refRows, appRefRows, packageRows, appRows, dpRows, statusRows] = await Promise.all([
    client.collection('SMS_Site', { filter: `SiteCode eq '${siteCode}'`, select: ['SiteCode', 'SiteName', 'Type', 'ServerName'] }),
    client.collection('SMS_TaskSequencePackage', { select: ['PackageID', 'Name', 'Description', 'BootImageID', 'SourceSite', 'SourceVersion', 'PackageType'] }),
    // The console's own list of what each task sequence references (what its export writes as ReferencesInfo.xml);
    // a site without the class falls back to the References property and the packages' own rows.
    client.collection('SMS_TaskSequenceReferencesInfo', { select: ['PackageID', 'ReferencePackageID', 'ReferenceName', 'ReferenceVersion', 'ReferencePackageType', 'ReferenceDescription'] }).catch((err: unknown) => {
      if (err instanceof InputError && err.code === 'SITE_CLASS_MISSING') return null;
      throw err;
    }),
    client.collection('SMS_TaskSequenceAppReferencesInfo', { select: ['PackageID', 'RefAppModelName', 'RefAppPackageID', 'RefAppCI_ID'] }),
    client.collection('SMS_PackageBaseclass', { select: ['PackageID', 'Name', 'Version', 'PackageType', 'SourceVersion', 'Description'] }),
    client.collection('SMS_Application', { filter: 'IsLatest eq true', select: ['CI_ID', 'CI_UniqueID', 'ModelName', 'LocalizedDisplayName', 'SoftwareVersion', 'PackageID', 'IsLatest'] }),
    client.collection('SMS_DistributionPointInfo', { select: ['ServerName', 'NALPath', 'SiteCode'] }),
    client.collection('SMS_PackageStatusDistPointsSummarizer', { select: ['PackageID', 'ServerNALPath', 'SiteCode', 'SourceVersion', 'State', 'PackageType'] }),
  ]);
  const site = sites[0] ?? {};

  const packages = new Map<string, JsonObject>();
  for (const p of packageRows) {
    const id = str(p.PackageID);
    if (id) packages.set(id.toUpperCase(), p);
  }

  // Task sequences: the lazy Sequence and References from each instance, a few connections at a time.
  const refsOf = new Map<string, ExportedReference[]>();
  for (const r of refRows ?? []) {
    const ts = str(r.PackageID);
    const packageId = str(r.ReferencePackageID);
    if (!ts || !packageId) continue;
    const type = num(r.ReferencePackageType);
    const list = refsOf.get(ts.toUpperCase()) ?? [];
    list.push({ packageId, name: str(r.ReferenceName), version: str(r.ReferenceVersion), kind: type === null ? 'Unknown' : kindFromPackageType(type), description: str(r.ReferenceDescription) });
    refsOf.set(ts.toUpperCase(), list);
  }
  const appRefsOf = new Map<string, ExportedAppReference[]>();
  for (const r of appRefRows) {
    const ts = str(r.PackageID);
    const modelName = str(r.RefAppModelName);
    const packageId = str(r.RefAppPackageID);
    if (!ts || !modelName || !packageId) continue;
    const list = appRefsOf.get(ts.toUpperCase()) ?? [];
    list.push({ modelName, packageId, ciId: num(r.RefAppCI_ID) });
    appRefsOf.set(ts.toUpperCase(), list);
  }
  const taskSequences = await Promise.all(
    tsRows
      .map((row) => str(row.PackageID))
      .filter((id): id is string => id !== null)
      .map(async (id): Promise<TaskSequencePackage> => {
        const inst = await client.instance('SMS_TaskSequencePackage', id);
        const source = where('SMS_TaskSequencePackage', id);
        if (!inst) throw new InputError(`${source}: the task sequence went away while it was read; open the site again.`);
        const sequenceXml = str(inst.Sequence);
        if (sequenceXml === null) {
          throw codedInputError('SITE_CLASS_MISSING', { server: address.server, className: 'SMS_TaskSequencePackage.Sequence' }, `${source} has no Sequence: the service did not return the lazy property. The site's version may lack it, or the account cannot read the task sequence.`);
        }
        const references: ExportedReference[] = [...(refsOf.get(id.toUpperCase()) ?? [])];
        for (const r of Array.isArray(inst.References) ? inst.References : []) {
          const pkgId = r !== null && typeof r === 'object' && !Array.isArray(r) ? str(r.Package) : null;
          // Applications are referenced by model name ("ScopeId_…/Application_…"); AppReferencesInfo lists them.
          if (!pkgId || pkgId.includes('/') || references.some((x) => x.packageId.toUpperCase() === pkgId.toUpperCase())) continue;
          const p = packages.get(pkgId.toUpperCase());
          references.push({ packageId: pkgId, name: str(p?.Name), version: str(p?.Version), kind: kindOfType(num(p?.PackageType)), description: str(p?.Description) });
        }
        return {
          packageId: str(inst.PackageID) ?? id,
          name: str(inst.Name) ?? id,
          description: str(inst.Description) ?? '',
          bootImageId: str(inst.BootImageID),
          sourceSite: str(inst.SourceSite),
          sequence: parseTaskSequence(sequenceXml, { file: source, entry: 'property Sequence' }),
          sequenceXml,
          references,
          appReferences: appRefsOf.get(id.toUpperCase()) ?? [],
          source,
        };
      }),
  );

  const applications = await readApplications(client, appRows, packages, taskSequences, where);

  const contentObjects: ExportedContentObject[] = [];
  for (const [id, p] of packages) {
    const type = num(p.PackageType);
    if (type === 8) continue; // applications are listed above, by their SMS_Application
    contentObjects.push({ className: CLASS_OF_TYPE[type ?? -1] ?? 'SMS_PackageBaseclass', packageId: id, name: str(p.Name), version: str(p.Version), sourceVersion: num(p.SourceVersion), kind: kindOfType(type), source: where('SMS_PackageBaseclass', id) });
  }

  const folder = options.descriptor ?? null;
  const descriptor: SiteDescriptor = {
    siteCode,
    siteName: str(site.SiteName),
    centralAdministrationSite: num(site.Type) === 4,
    exports: null,
    distributionPoints: folder?.distributionPoints ?? null,
    catalog: [],
    osdBinaries: folder?.osdBinaries ?? null,
    siteServer: folder?.siteServer ?? str(site.ServerName),
    adminService: address.base,
  };
  const root = options.descriptorRoot ?? address.base;
  const distributionPoints = await openDistributionPoints(dpRows, statusRows, descriptor, options.descriptorRoot ?? null);
  const osdBinaries = await locateOsdBinaries(root, descriptor, siteCode);
  return new Site({ root, descriptor, taskSequences, applications, contentObjects, distributionPoints, osdBinaries });
}

/**
 * Every latest application (name, version, content package); the SDMPackageXML (lazy) only of those task sequences
 * install and, through their dependencies, of the applications those need: a site has thousands, media a few.
 */
async function readApplications(
  client: AdminServiceClient,
  appRows: JsonObject[],
  packages: Map<string, JsonObject>,
  taskSequences: TaskSequencePackage[],
  where: (cls: string, key?: string | number) => string,
): Promise<ExportedApplication[]> {
  const byModel = new Map<string, JsonObject>();
  for (const a of appRows) {
    const m = str(a.ModelName);
    if (m) byModel.set(m.toLowerCase(), a);
  }
  const sdm = new Map<string, { deploymentTypes: string[]; dependsOnDeploymentTypes: string[]; xml: string }>();
  let dtOwner: Map<string, string> | null = null;
  const queue = [...new Set(taskSequences.flatMap((t) => t.appReferences.map((r) => r.modelName.toLowerCase())))];
  while (queue.length > 0) {
    const batch = queue.splice(0).filter((m) => !sdm.has(m) && byModel.has(m));
    const read = await Promise.all(
      batch.map(async (m) => {
        const row = byModel.get(m) as JsonObject;
        const ciId = num(row.CI_ID);
        const inst = ciId === null ? null : await client.instance('SMS_Application', ciId);
        const xml = str(inst?.SDMPackageXML);
        if (xml === null) return { m, parsed: { deploymentTypes: [], dependsOnDeploymentTypes: [], xml: '' } };
        const source = where('SMS_Application', ciId ?? 0);
        return { m, parsed: { ...sdmDeploymentTypes(parseXml(xml, { file: source, entry: 'property SDMPackageXML' })), xml } };
      }),
    );
    for (const { m, parsed } of read) sdm.set(m, parsed);
    const unresolved = read.flatMap((r) => r.parsed.dependsOnDeploymentTypes);
    if (unresolved.length === 0) continue;
    // Which application owns a deployment type: read once, only when some application has dependencies.
    dtOwner ??= await deploymentTypeOwners(client);
    for (const dt of unresolved) {
      const owner = dtOwner.get(dt.toLowerCase());
      if (owner && !sdm.has(owner)) queue.push(owner);
    }
  }
  return appRows
    .filter((a) => str(a.ModelName) !== null)
    .map((a): ExportedApplication => {
      const modelName = str(a.ModelName) as string;
      const parsed = sdm.get(modelName.toLowerCase());
      const packageId = str(a.PackageID);
      return {
        packageId,
        modelName,
        name: str(a.LocalizedDisplayName),
        version: str(a.SoftwareVersion),
        sourceVersion: packageId ? num(packages.get(packageId.toUpperCase())?.SourceVersion) : null,
        deploymentTypes: parsed?.deploymentTypes ?? [],
        dependsOnDeploymentTypes: parsed?.dependsOnDeploymentTypes ?? [],
        sdmPackageXml: parsed?.xml || null,
        source: where('SMS_Application', num(a.CI_ID) ?? 0),
      };
    })
    .sort((x, y) => (x.modelName ?? '').localeCompare(y.modelName ?? ''));
}

/** Deployment type logical name ("DeploymentType_…") → its application's model name (lower case). */
async function deploymentTypeOwners(client: AdminServiceClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const d of await client.collection('SMS_DeploymentType', { filter: 'IsLatest eq true', select: ['CI_ID', 'ModelName', 'AppModelName'] })) {
    const model = str(d.ModelName);
    const app = str(d.AppModelName);
    if (model && app) out.set(model.slice(model.lastIndexOf('/') + 1).toLowerCase(), app.toLowerCase());
  }
  return out;
}

async function openDistributionPoints(dpRows: JsonObject[], statusRows: JsonObject[], descriptor: SiteDescriptor, descriptorRoot: string | null): Promise<DistributionPoint[]> {
  const at = (p: string): string => (isAbsolute(p) || descriptorRoot === null ? p : join(descriptorRoot, p));
  const servers = [...new Set(dpRows.map((d) => str(d.ServerName)).filter((s): s is string => s !== null))].sort((a, b) => a.localeCompare(b));
  const out: DistributionPoint[] = [];
  for (const server of servers) {
    const short = server.split('.')[0].toLowerCase();
    const mapped = descriptor.distributionPoints?.find((d) => d.name.toLowerCase() === server.toLowerCase() || d.name.toLowerCase() === short) ?? null;
    const name = mapped?.name ?? server;
    const held = new Map<string, number>();
    for (const s of statusRows) {
      const id = str(s.PackageID);
      const nal = str(s.ServerNALPath) ?? '';
      if (id && num(s.State) === 0 && nalNames(nal, server)) held.set(id.toUpperCase(), num(s.SourceVersion) ?? 0);
    }
    let root: string;
    let extra: string[] = [];
    if (mapped) {
      root = at(mapped.contentLibrary);
      extra = mapped.extraContentLibraries.map(at);
    } else if (process.platform === 'win32') {
      root = `\\\\${server}\\SCCMContentLib$`;
    } else {
      out.push({ name, root: `\\\\${server}\\SCCMContentLib$`, library: null, error: `its content library \\\\${server}\\SCCMContentLib$ is a Windows share this computer cannot open by name: mount it and map "${server}" to the mounted folder in tsmedia-site.json "distributionPoints" (with "adminService" naming this site).`, heldVersions: held });
      continue;
    }
    try {
      const library = await ContentLibrary.open(root, extra);
      await library.packages();
      out.push({ name, root, library, error: null, heldVersions: held });
    } catch (err) {
      out.push({ name, root, library: null, error: errorMessage(err), heldVersions: held });
    }
  }
  return out;
}
