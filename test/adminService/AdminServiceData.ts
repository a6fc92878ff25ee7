// What the test AdminService serves: per WMI class, its key, its lazy properties and its rows, shaped as Microsoft
// documents the classes. Built from a folder site as tsmedia reads it today (Site.open: the descriptor, the exports,
// the content libraries), the export zips' object.xml read again with their CIM types (CimRows.ts); the synthetic
// large site is in SyntheticSite.ts.
//
// Choices a real site decides differently, kept so the live site reads the same as the folder site:
// - SMS_PackageBaseclass holds what the folder site's catalog knows (descriptor first, then the exports' objects and
//   references), skipping items of unknown kind; a value nobody knows is null.
// - Each distribution point's SMS_PackageStatusDistPointsSummarizer rows are what its content library holds, State 0,
//   SourceVersion the library's current version (an application's unversioned content: the version the site knows).
import { readdir, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { isAbsolute, join } from 'node:path';
import type { ReferenceKind } from '../../shared/analysis.js';
import { knownContent } from '../../electron/engine/site/Catalog.js';
import { Site } from '../../electron/engine/site/Site.js';
import { isExportMetadataEntry } from '../../electron/engine/site/TaskSequenceExport.js';
import { decodeXmlBytes } from '../../electron/engine/site/xml.js';
import { readZipEntries } from '../../electron/engine/site/ZipArchive.js';
import { buildAppMgmtDigest } from '../../electron/engine/site/ExportWriter.js';
import { parseInstanceArrayRows, parseInstanceRow, type ODataValue, type Row } from './CimRows.js';

export type { ODataValue, Row } from './CimRows.js';

export interface ClassTable {
  /** The class name as WMI spells it (requests match it without regard to case). */
  name: string;
  /** The key property a single-instance read `Class('<key>')` / `Class(<n>)` selects by; null: no single reads. */
  key: string | null;
  /** Properties only a single-instance read returns. */
  lazy: readonly string[];
  rows: Row[];
}

export interface AdminServiceData {
  siteCode: string;
  classes: ClassTable[];
}

/** Keys and lazy properties of the classes served (SMS_TaskSequencePackage, SMS_Application as documented). */
const SHAPES: Record<string, { key: string | null; lazy: string[] }> = {
  SMS_ProviderLocation: { key: null, lazy: [] },
  SMS_Site: { key: 'SiteCode', lazy: [] },
  SMS_TaskSequencePackage: { key: 'PackageID', lazy: ['Sequence', 'References'] },
  SMS_TaskSequenceReferencesInfo: { key: null, lazy: [] },
  SMS_TaskSequenceAppReferencesInfo: { key: null, lazy: [] },
  SMS_PackageBaseclass: { key: 'PackageID', lazy: [] },
  SMS_Package: { key: 'PackageID', lazy: [] },
  SMS_BootImagePackage: { key: 'PackageID', lazy: [] },
  SMS_ImagePackage: { key: 'PackageID', lazy: [] },
  SMS_OperatingSystemInstallPackage: { key: 'PackageID', lazy: [] },
  SMS_DriverPackage: { key: 'PackageID', lazy: [] },
  SMS_SoftwareUpdatesPackage: { key: 'PackageID', lazy: [] },
  SMS_Application: { key: 'CI_ID', lazy: ['SDMPackageXML'] },
  SMS_DistributionPointInfo: { key: 'ID', lazy: [] },
  SMS_PackageStatusDistPointsSummarizer: { key: null, lazy: [] },
};

/** SMS_PackageBaseclass.PackageType as documented (8: an application's content package). */
export const PACKAGE_TYPES: Record<ReferenceKind, number | null> = {
  Package: 0,
  DriverPackage: 3,
  TaskSequence: 4,
  SoftwareUpdatePackage: 5,
  Application: 8,
  OperatingSystemImage: 257,
  BootImage: 258,
  OperatingSystemUpgradePackage: 259,
  Unknown: null,
};

/** The SMS_PackageBaseclass properties a subclass instance carries into a base-class read. */
const BASECLASS_PROPS = [
  'PackageID', 'Name', 'Version', 'Description', 'Manufacturer', 'Language', 'PackageType', 'SourceVersion', 'StoredPkgVersion',
  'SourceSite', 'SourceDate', 'LastRefreshTime', 'PkgSourcePath', 'PackageSize', 'PkgFlags', 'ObjectPath',
];

const byKey = (key: string) => (a: Row, b: Row): number => {
  const x = String(a[key] ?? '');
  const y = String(b[key] ?? '');
  return x < y ? -1 : x > y ? 1 : 0;
};

export function makeTable(name: string, rows: Row[]): ClassTable {
  const shape = SHAPES[name] ?? { key: null, lazy: [] };
  return { name, key: shape.key, lazy: shape.lazy, rows };
}

/** The table for a class name, compared without regard to case (as the service does). */
export function findClass(data: AdminServiceData, name: string): ClassTable | undefined {
  const n = name.toLowerCase();
  return data.classes.find((c) => c.name.toLowerCase() === n);
}

/** A GUID-shaped uppercase identifier derived from a seed, so generated names are the same on every run. */
export function guidFrom(seed: string): string {
  const h = createHash('sha1').update(seed).digest('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `\\DP01.contoso.com\` in the NAL path form SMS_DistributionPointInfo and the summarizer use. */
export function nalPath(server: string, siteCode: string): string {
  return `["Display=\\\\${server}\\"]MSWNET:["SMS_SITE=${siteCode}"]\\\\${server}\\`;
}

export interface DistributionPointSpec {
  /** The name a folder site gives it (SCCMContentLib_<NAME>, or the descriptor's name). */
  name: string;
  /** What the library holds: package ID → the content version installed there. */
  holds: Map<string, { sourceVersion: number; packageType: number }>;
}

/** SMS_DistributionPointInfo and SMS_PackageStatusDistPointsSummarizer rows of a site's distribution points. */
export function distributionPointRows(siteCode: string, dps: readonly DistributionPointSpec[], dnsSuffix: string | null): { info: Row[]; status: Row[] } {
  const info: Row[] = [];
  const status: Row[] = [];
  dps.forEach((dp, i) => {
    const server = dnsSuffix && !dp.name.includes('.') ? `${dp.name}.${dnsSuffix}` : dp.name;
    const nal = nalPath(server, siteCode);
    info.push({
      ID: i + 1,
      ServerName: server,
      NALPath: nal,
      SiteCode: siteCode,
      SiteName: `${siteCode} site`,
      ShareName: '',
      Description: '',
      IsPXE: false,
      IsActive: true,
      IsPeerDP: false,
      IsPullDP: false,
      IsMulticast: false,
      IsProtected: false,
      BitsEnabled: true,
      Drive: 'C',
      ResourceType: 'Windows NT Server',
      GroupCount: 0,
    });
    for (const [packageId, h] of [...dp.holds].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      status.push({
        PackageID: packageId,
        ServerNALPath: nal,
        SiteCode: siteCode,
        SourceVersion: h.sourceVersion,
        State: 0,
        PackageType: h.packageType,
        SourceNALPath: '',
        LastCopied: '2025-01-01T00:00:00Z',
        SummaryDate: '2025-01-01T00:00:00Z',
        InstallStatus: 'Package Installation complete',
      });
    }
  });
  return { info, status };
}

/** SMS_ProviderLocation and SMS_Site rows. */
export function siteRows(siteCode: string, siteName: string, cas: boolean, serverName: string): { provider: Row[]; site: Row[] } {
  return {
    provider: [{ Machine: serverName, NamespacePath: `\\\\${serverName}\\root\\sms\\site_${siteCode}`, ProviderForLocalSite: true, SiteCode: siteCode }],
    site: [
      {
        SiteCode: siteCode,
        SiteName: siteName,
        Type: cas ? 4 : 2,
        ServerName: serverName,
        Version: '5.00.9128.1000',
        BuildNumber: 9128,
        ReportingSiteCode: '',
        InstallDir: 'C:\\Program Files\\Microsoft Configuration Manager',
        Status: 1,
        Mode: 0,
      },
    ],
  };
}

export interface SyntheticApplication {
  packageId: string;
  ciId: number;
  modelName: string;
  name: string;
  version: string | null;
  sourceSite: string;
  /** Deployment type logical name of this application's one deployment type. */
  deploymentType: string;
  /** Deployment type logical names this application's deployment type depends on. */
  dependsOn: string[];
}

/** An SMS_Application row (SDMPackageXML included; the server leaves it out of collection reads). */
export function applicationRow(a: SyntheticApplication): Row {
  const [scope, logical] = a.modelName.split('/');
  const sdm = buildAppMgmtDigest({
    authoringScopeId: scope,
    applicationLogicalName: logical,
    deploymentTypeLogicalName: a.deploymentType,
    title: a.name,
    ...(a.version ? { softwareVersion: a.version } : {}),
    contentId: `Content_${guidFrom(`${a.packageId} content`)}`,
    contentVersion: 1,
    files: [{ name: 'setup.msi', size: 4096 }],
    dependencies: a.dependsOn.map((dt) => ({ authoringScopeId: scope, deploymentTypeLogicalName: dt, ruleId: `DTRule_${guidFrom(`${a.packageId} ${dt}`)}` })),
  });
  return {
    CI_ID: a.ciId,
    CI_UniqueID: `${a.modelName}/1`,
    CIVersion: 1,
    IsLatest: true,
    IsExpired: false,
    LocalizedDisplayName: a.name,
    Manufacturer: '',
    ModelName: a.modelName,
    NumberOfDependentDTs: a.dependsOn.length,
    PackageID: a.packageId,
    SDMPackageXML: sdm,
    SoftwareVersion: a.version,
    SourceSite: a.sourceSite,
  };
}

/**
 * SMS_DeploymentType rows of applications (documented: CI_ID, ModelName "ScopeId_…/DeploymentType_…", AppModelName,
 * IsLatest, LocalizedDisplayName): the client reads them to find which application a dependency belongs to.
 */
export function deploymentTypeRows(apps: readonly Row[]): Row[] {
  return apps.flatMap((a) => {
    const scope = String(a.ModelName ?? '').split('/')[0];
    return deploymentTypesOf(a.SDMPackageXML).map((dt, i): Row => ({ CI_ID: Number(a.CI_ID) * 16 + i, ModelName: `${scope}/${dt}`, AppModelName: a.ModelName ?? null, IsLatest: true, LocalizedDisplayName: a.LocalizedDisplayName ?? null }));
  });
}

/** Deployment type logical names an SDMPackageXML declares. */
function deploymentTypesOf(sdm: ODataValue | undefined): string[] {
  if (typeof sdm !== 'string') return [];
  return [...sdm.matchAll(/<DeploymentType\s[^>]*LogicalName="([^"]+)"/g)].map((m) => m[1]).filter((v, i, a) => a.indexOf(v) === i);
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The export zips of a site folder, found as Site.open finds them (the descriptor's "exports", else exports/). */
async function exportZips(site: Site): Promise<string[]> {
  const out: string[] = [];
  for (const p of site.descriptor?.exports ?? ['exports']) {
    const full = isAbsolute(p) ? p : join(site.root, p);
    if (await isDir(full)) {
      for (const n of (await readdir(full)).sort()) if (/\.zip$/i.test(n)) out.push(join(full, n));
    } else if (/\.zip$/i.test(full)) out.push(full);
  }
  return out;
}

export interface FolderSiteOptions {
  /** DNS suffix of the distribution points' and the site server's names; null keeps the bare names. Default contoso.com. */
  dnsSuffix?: string | null;
}

/** The service's view of a folder site (the sample site, a folder holding the real exports). */
export async function loadFolderSite(root: string, options: FolderSiteOptions = {}): Promise<AdminServiceData> {
  const dnsSuffix = options.dnsSuffix === undefined ? 'contoso.com' : options.dnsSuffix;
  const site = await Site.open(root);
  const siteCode = site.siteCode ?? 'PS1';

  // Every object of every export, first export first (Site.open already refused a task sequence in two exports).
  const objects = new Map<string, Map<string, Row>>();
  const refRows: Row[] = [];
  const appRefRows: Row[] = [];
  for (const zip of await exportZips(site)) {
    const entries = await readZipEntries(zip, isExportMetadataEntry);
    for (const [entry, data] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const obj = /^([^/]+)\/([^/]+)\/object\.xml$/i.exec(entry);
      const refs = /^SMS_TaskSequencePackage\/[^/]+\/(App)?ReferencesInfo\.xml$/i.exec(entry);
      if (obj) {
        const { className, row } = parseInstanceRow(decodeXmlBytes(data), { file: zip, entry });
        const cls = className || obj[1];
        const key = String(row.PackageID ?? row.ModelName ?? obj[2]).toUpperCase();
        const table = objects.get(cls) ?? new Map<string, Row>();
        objects.set(cls, table);
        if (!table.has(key)) table.set(key, row);
      } else if (refs) {
        const rows = parseInstanceArrayRows(decodeXmlBytes(data), { file: zip, entry }).map((r) => r.row);
        (refs[1] ? appRefRows : refRows).push(...rows);
      }
    }
  }
  const rowsOf = (cls: string): Row[] => [...(objects.get(cls)?.values() ?? [])];

  const known = knownContent(site);
  const objectRow = (packageId: string): Row | undefined => {
    for (const [cls, table] of objects) if (cls !== 'SMS_Application' && table.has(packageId)) return table.get(packageId);
    return undefined;
  };
  const refDescription = (packageId: string): ODataValue =>
    refRows.find((r) => String(r.ReferencePackageID ?? '').toUpperCase() === packageId)?.ReferenceDescription ?? null;

  const baseRows: Row[] = [];
  for (const d of known.values()) {
    const type = PACKAGE_TYPES[d.kind];
    if (type === null) continue;
    const obj = objectRow(d.packageId);
    const row: Row = {};
    for (const p of BASECLASS_PROPS) if (obj && p in obj) row[p] = obj[p];
    Object.assign(row, {
      PackageID: d.packageId,
      Name: d.name ?? obj?.Name ?? null,
      Version: d.version ?? obj?.Version ?? null,
      Description: obj?.Description ?? refDescription(d.packageId),
      PackageType: type,
      SourceVersion: d.sourceVersion ?? obj?.SourceVersion ?? null,
      SourceSite: obj?.SourceSite ?? siteCode,
    });
    baseRows.push(row);
  }

  // Applications: the exported objects, and one made up for each application the site knows only by reference.
  const apps: Row[] = rowsOf('SMS_Application').map((r): Row => ({ ...r, IsLatest: r.IsLatest ?? true }));
  const appIds = new Set(apps.map((a) => String(a.PackageID ?? '').toUpperCase()));
  const dtByPackage = new Map<string, string[]>(apps.map((a) => [String(a.PackageID ?? '').toUpperCase(), deploymentTypesOf(a.SDMPackageXML)]));
  const madeUp = [...known.values()].filter((d) => d.kind === 'Application' && !appIds.has(d.packageId));
  for (const d of madeUp) dtByPackage.set(d.packageId, [`DeploymentType_${guidFrom(`${d.packageId} dt`)}`]);
  let nextCi = 16800001;
  for (const d of madeUp) {
    const ref = appRefRows.find((r) => String(r.RefAppPackageID ?? '').toUpperCase() === d.packageId);
    const ciId = typeof ref?.RefAppCI_ID === 'number' ? ref.RefAppCI_ID : nextCi++;
    apps.push(
      applicationRow({
        packageId: d.packageId,
        ciId,
        modelName: d.modelName ?? `ScopeId_${guidFrom(siteCode)}/Application_${guidFrom(d.packageId)}`,
        name: d.name ?? d.packageId,
        version: d.version,
        sourceSite: siteCode,
        deploymentType: (dtByPackage.get(d.packageId) ?? [])[0],
        dependsOn: d.dependencies.flatMap((p) => (dtByPackage.get(p) ?? []).slice(0, 1)),
      }),
    );
  }

  // Distribution points: what each library holds.
  const dps: DistributionPointSpec[] = [];
  for (const dp of site.distributionPoints) {
    const holds = new Map<string, { sourceVersion: number; packageType: number }>();
    for (const pkg of dp.library ? (await dp.library.packages()).values() : []) {
      if (pkg.contentIds.length === 0) continue;
      const d = known.get(pkg.packageId);
      holds.set(pkg.packageId, {
        sourceVersion: pkg.currentVersion ?? d?.sourceVersion ?? 1,
        packageType: (d ? PACKAGE_TYPES[d.kind] : null) ?? 0,
      });
    }
    dps.push({ name: dp.name, holds });
  }
  const dpRows = distributionPointRows(siteCode, dps, dnsSuffix);
  const server = site.descriptor?.siteServer ?? 'CM01';
  const serverName = dnsSuffix && !server.includes('.') ? `${server}.${dnsSuffix}` : server;
  const s = siteRows(siteCode, site.descriptor?.siteName ?? `${siteCode} site`, site.isCentralAdministrationSite, serverName);

  const tables: ClassTable[] = [
    makeTable('SMS_ProviderLocation', s.provider),
    makeTable('SMS_Site', s.site),
    makeTable('SMS_TaskSequencePackage', rowsOf('SMS_TaskSequencePackage').sort(byKey('PackageID'))),
    makeTable('SMS_TaskSequenceReferencesInfo', refRows.sort(byKey('PackageID'))),
    makeTable('SMS_TaskSequenceAppReferencesInfo', appRefRows.sort(byKey('PackageID'))),
    makeTable('SMS_PackageBaseclass', baseRows.sort(byKey('PackageID'))),
    makeTable('SMS_Application', apps.sort(byKey('PackageID'))),
    makeTable('SMS_DeploymentType', deploymentTypeRows(apps)),
    makeTable('SMS_DistributionPointInfo', dpRows.info),
    makeTable('SMS_PackageStatusDistPointsSummarizer', dpRows.status),
  ];
  // The content classes the exports hold objects of (SMS_BootImagePackage, SMS_Package, …), as WMI serves them.
  for (const cls of [...objects.keys()].sort()) {
    if (!tables.some((t) => t.name === cls) && SHAPES[cls]) tables.push(makeTable(cls, rowsOf(cls).sort(byKey('PackageID'))));
  }
  return { siteCode, classes: tables };
}
