// A large made-up site for the benchmark (`live-site-open`: 5,000 packages, 300 task sequences): N content packages
// of mixed kinds, K applications and M task sequences, each task sequence a sample one (the template site's) with new
// package IDs, references and application model names throughout its Sequence XML, References and reference rows.
// Synchronous and string-level, so 5,000 packages and 300 task sequences take well under a second.
import type { ReferenceKind } from '../../shared/analysis.js';
import {
  PACKAGE_TYPES,
  applicationRow,
  deploymentTypeRows,
  distributionPointRows,
  findClass,
  guidFrom,
  makeTable,
  siteRows,
  type AdminServiceData,
  type DistributionPointSpec,
  type ODataValue,
  type Row,
} from './AdminServiceData.js';

export interface SyntheticSiteOptions {
  /** Content packages (packages, driver packages, OS images, upgrade packages, boot images), besides the others. */
  packages: number;
  taskSequences: number;
  applications: number;
  /** Default 2: the first holds everything, the others lack every tenth package. */
  distributionPoints?: number;
  /** Default BIG. */
  siteCode?: string;
  /** Default contoso.com; null keeps bare server names. */
  dnsSuffix?: string | null;
}

/** One in twenty is a boot image, an OS image, an upgrade package; six driver packages; eleven packages. */
const KIND_CYCLE: ReferenceKind[] = [
  'BootImage', 'OperatingSystemImage', 'OperatingSystemUpgradePackage',
  ...Array<ReferenceKind>(6).fill('DriverPackage'),
  ...Array<ReferenceKind>(11).fill('Package'),
];

const SUBCLASS: Partial<Record<ReferenceKind, string>> = {
  BootImage: 'SMS_BootImagePackage',
  OperatingSystemImage: 'SMS_ImagePackage',
  OperatingSystemUpgradePackage: 'SMS_OperatingSystemInstallPackage',
  DriverPackage: 'SMS_DriverPackage',
  Package: 'SMS_Package',
};

const KIND_OF_TYPE = new Map<number, ReferenceKind>(
  (Object.entries(PACKAGE_TYPES) as [ReferenceKind, number | null][]).filter(([, t]) => t !== null).map(([k, t]) => [t as number, k]),
);

const MODEL_RE = /ScopeId_[0-9A-Fa-f-]+\/Application_[0-9A-Fa-f-]+/g;

const str = (v: ODataValue | undefined): string => (typeof v === 'string' ? v : '');

export function syntheticSite(template: AdminServiceData, options: SyntheticSiteOptions): AdminServiceData {
  const code = (options.siteCode ?? 'BIG').toUpperCase();
  const dnsSuffix = options.dnsSuffix === undefined ? 'contoso.com' : options.dnsSuffix;
  let counter = 0;
  const nextId = (): string => `${code}${(++counter).toString(16).toUpperCase().padStart(5, '0')}`;

  // Content packages, by kind.
  const base: Row[] = [];
  const subclassRows = new Map<string, Row[]>();
  const pools = new Map<ReferenceKind, Row[]>();
  for (let i = 0; i < options.packages; i++) {
    const kind = KIND_CYCLE[i % KIND_CYCLE.length];
    const row: Row = {
      PackageID: nextId(),
      Name: `${kind} ${i + 1}`,
      Version: `1.${i % 10}`,
      Description: '',
      Manufacturer: 'Contoso',
      PackageType: PACKAGE_TYPES[kind],
      SourceVersion: 1 + (i % 3),
      StoredPkgVersion: 1 + (i % 3),
      SourceSite: code,
      SourceDate: '2025-01-01T00:00:00Z',
      LastRefreshTime: '2025-01-01T00:00:00Z',
      PkgSourcePath: `\\\\CM01\\Sources\\${kind}\\${i + 1}`,
      PackageSize: 1024 * (1 + (i % 50)),
    };
    base.push(row);
    const pool = pools.get(kind) ?? [];
    pools.set(kind, pool);
    pool.push(row);
    const sub = SUBCLASS[kind] as string;
    const subRows = subclassRows.get(sub) ?? [];
    subclassRows.set(sub, subRows);
    subRows.push(row);
  }

  // Applications: every fourth depends on the next one.
  const scope = `ScopeId_${guidFrom(`${code} scope`)}`;
  const apps = Array.from({ length: options.applications }, (_, j) => ({
    packageId: nextId(),
    ciId: 16777217 + j,
    modelName: `${scope}/Application_${guidFrom(`${code} app ${j}`)}`,
    name: `Application ${j + 1}`,
    version: `${1 + (j % 5)}.0`,
    sourceSite: code,
    deploymentType: `DeploymentType_${guidFrom(`${code} dt ${j}`)}`,
    dependsOn: [] as string[],
  }));
  apps.forEach((a, j) => {
    if (j % 4 === 0 && j + 1 < apps.length) a.dependsOn.push(apps[j + 1].deploymentType);
  });
  const appRows = apps.map(applicationRow);
  for (const a of apps) {
    base.push({ PackageID: a.packageId, Name: a.name, Version: a.version, Description: '', PackageType: PACKAGE_TYPES.Application, SourceVersion: 1, SourceSite: code });
  }

  // Task sequences from the template's, in turn.
  const templates = findClass(template, 'SMS_TaskSequencePackage')?.rows ?? [];
  if (options.taskSequences > 0 && templates.length === 0) throw new Error('syntheticSite: the template site has no task sequences to copy.');
  const tplCode = template.siteCode;
  const tplKinds = new Map<string, ReferenceKind>();
  for (const r of findClass(template, 'SMS_PackageBaseclass')?.rows ?? []) {
    tplKinds.set(str(r.PackageID).toUpperCase(), KIND_OF_TYPE.get(Number(r.PackageType)) ?? 'Package');
  }
  const tplApps = findClass(template, 'SMS_Application')?.rows ?? [];
  const tplRefs = findClass(template, 'SMS_TaskSequenceReferencesInfo')?.rows ?? [];
  const tplAppRefs = findClass(template, 'SMS_TaskSequenceAppReferencesInfo')?.rows ?? [];
  const tsIds = Array.from({ length: options.taskSequences }, () => nextId());
  const byId = new Map(base.map((r) => [str(r.PackageID), r]));
  const idRe = new RegExp(`\\b${tplCode}[0-9A-F]{5}\\b|${MODEL_RE.source}`, 'g');

  const tsRows: Row[] = [];
  const refRows: Row[] = [];
  const appRefRows: Row[] = [];
  for (let i = 0; i < options.taskSequences; i++) {
    const t = templates[i % templates.length];
    const map = new Map<string, string>([[str(t.PackageID), tsIds[i]]]);
    const ordinal = new Map<ReferenceKind, number>();
    const mapContent = (id: string): void => {
      const kind = tplKinds.get(id);
      if (map.has(id) || !kind) return;
      if (kind === 'TaskSequence') {
        // A child task sequence: the copy of that template made in the same round.
        const idx = templates.findIndex((x) => str(x.PackageID) === id);
        const round = i - (i % templates.length);
        const target = tsIds[round + idx] ?? tsIds[idx];
        if (idx >= 0 && target) map.set(id, target);
        return;
      }
      if (kind === 'Application') return; // mapped with its model name below
      const pool = pools.get(kind) ?? [];
      if (pool.length === 0) return;
      const n = ordinal.get(kind) ?? 0;
      ordinal.set(kind, n + 1);
      map.set(id, str(pool[(i * 7 + n) % pool.length].PackageID));
    };
    const mapModel = (model: string): void => {
      if (map.has(model) || apps.length === 0) return;
      const n = ordinal.get('Application') ?? 0;
      ordinal.set('Application', n + 1);
      const a = apps[(i * 3 + n) % apps.length];
      map.set(model, a.modelName);
      const tplApp = tplApps.find((x) => str(x.ModelName) === model);
      if (tplApp) map.set(str(tplApp.PackageID), a.packageId);
    };
    const sequence = str(t.Sequence);
    for (const m of sequence.matchAll(idRe)) (m[0].startsWith('ScopeId_') ? mapModel : mapContent)(m[0]);
    const refs = Array.isArray(t.References) ? t.References : [];
    for (const r of refs) {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) continue;
      const p = str(r.Package);
      (p.startsWith('ScopeId_') ? mapModel : mapContent)(p);
    }
    if (t.BootImageID) mapContent(str(t.BootImageID));
    const swap = (s: string): string => map.get(s) ?? s;

    const name = `${str(t.Name)} #${i + 1}`;
    tsRows.push({
      ...t,
      PackageID: tsIds[i],
      Name: name,
      BootImageID: t.BootImageID ? swap(str(t.BootImageID)) : (t.BootImageID ?? null),
      SourceSite: code,
      Sequence: sequence.replace(idRe, swap),
      References: refs.map((r) => (r !== null && typeof r === 'object' && !Array.isArray(r) ? { ...r, Package: swap(str(r.Package)) } : r)),
    });
    base.push({ PackageID: tsIds[i], Name: name, Version: null, Description: str(t.Description), PackageType: PACKAGE_TYPES.TaskSequence, SourceVersion: 1, SourceSite: code });
    for (const r of tplRefs) {
      if (str(r.PackageID) !== str(t.PackageID)) continue;
      const target = byId.get(swap(str(r.ReferencePackageID)));
      refRows.push({
        ...r,
        PackageID: tsIds[i],
        ReferencePackageID: swap(str(r.ReferencePackageID)),
        ReferenceName: target ? target.Name : (r.ReferenceName ?? null),
        ReferenceVersion: target ? target.Version : (r.ReferenceVersion ?? null),
        ReferenceDescription: '',
      });
    }
    for (const r of tplAppRefs) {
      if (str(r.PackageID) !== str(t.PackageID)) continue;
      const model = swap(str(r.RefAppModelName));
      const a = apps.find((x) => x.modelName === model);
      appRefRows.push({ ...r, PackageID: tsIds[i], RefAppModelName: model, RefAppPackageID: a?.packageId ?? null, RefAppCI_ID: a?.ciId ?? null });
    }
  }

  // Distribution points.
  const dps: DistributionPointSpec[] = Array.from({ length: options.distributionPoints ?? 2 }, (_, k) => {
    const holds = new Map<string, { sourceVersion: number; packageType: number }>();
    base.forEach((r, n) => {
      if (r.PackageType === PACKAGE_TYPES.TaskSequence || (k > 0 && n % 10 === k)) return;
      holds.set(str(r.PackageID), { sourceVersion: Number(r.SourceVersion), packageType: Number(r.PackageType) });
    });
    return { name: `DP${String(k + 1).padStart(2, '0')}`, holds };
  });
  const dpRows = distributionPointRows(code, dps, dnsSuffix);
  const s = siteRows(code, 'Synthetic large site', false, dnsSuffix ? `CM01.${dnsSuffix}` : 'CM01');
  const sortById = (a: Row, b: Row): number => (str(a.PackageID) < str(b.PackageID) ? -1 : 1);
  return {
    siteCode: code,
    classes: [
      makeTable('SMS_ProviderLocation', s.provider),
      makeTable('SMS_Site', s.site),
      makeTable('SMS_TaskSequencePackage', tsRows),
      makeTable('SMS_TaskSequenceReferencesInfo', refRows),
      makeTable('SMS_TaskSequenceAppReferencesInfo', appRefRows),
      makeTable('SMS_PackageBaseclass', base.sort(sortById)),
      makeTable('SMS_Application', appRows),
      makeTable('SMS_DeploymentType', deploymentTypeRows(appRows)),
      makeTable('SMS_DistributionPointInfo', dpRows.info),
      makeTable('SMS_PackageStatusDistPointsSummarizer', dpRows.status),
      ...[...subclassRows].map(([cls, rows]) => makeTable(cls, rows)),
    ],
  };
}
