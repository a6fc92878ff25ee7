// The catalog: every package, driver package, boot image, OS image, application and task sequence the site knows,
// merged from the descriptor, the exports' objects and references, and the content libraries.
import type { CatalogItem, ReferenceKind } from '../../../shared/analysis.js';
import type { Site } from './Site.js';

interface Draft {
  packageId: string;
  name: string | null;
  kind: ReferenceKind;
  version: string | null;
  sourceVersion: number | null;
  modelName: string | null;
  dependencies: string[];
}

/** Merges what each source knows; earlier sources win for each field. */
function merge(into: Map<string, Draft>, d: Partial<Draft> & { packageId: string }): void {
  const id = d.packageId.toUpperCase();
  const cur = into.get(id);
  if (!cur) {
    into.set(id, {
      packageId: id,
      name: d.name ?? null,
      kind: d.kind ?? 'Unknown',
      version: d.version ?? null,
      sourceVersion: d.sourceVersion ?? null,
      modelName: d.modelName ?? null,
      dependencies: d.dependencies ?? [],
    });
    return;
  }
  cur.name ??= d.name ?? null;
  if (cur.kind === 'Unknown' && d.kind) cur.kind = d.kind;
  cur.version ??= d.version ?? null;
  cur.sourceVersion ??= d.sourceVersion ?? null;
  cur.modelName ??= d.modelName ?? null;
  if (cur.dependencies.length === 0 && d.dependencies) cur.dependencies = d.dependencies;
}

/** Application dependencies read from the exports' SDMPackageXML, by application package ID. */
export function exportedApplicationDependencies(site: Site): Map<string, string[]> {
  const byDt = new Map<string, string>();
  for (const a of site.applications) if (a.packageId) for (const dt of a.deploymentTypes) byDt.set(dt, a.packageId.toUpperCase());
  const out = new Map<string, string[]>();
  for (const a of site.applications) {
    if (!a.packageId) continue;
    const deps: string[] = [];
    for (const dt of a.dependsOnDeploymentTypes) {
      const target = byDt.get(dt);
      if (target && target !== a.packageId.toUpperCase() && !deps.includes(target)) deps.push(target);
    }
    out.set(a.packageId.toUpperCase(), deps);
  }
  return out;
}

/** Everything the site says about its content, without touching the content libraries. */
export function knownContent(site: Site): Map<string, Draft> {
  const items = new Map<string, Draft>();
  for (const c of site.descriptor?.catalog ?? []) {
    merge(items, { ...c, kind: c.kind ?? undefined, name: c.name ?? undefined, version: c.version ?? undefined, sourceVersion: c.sourceVersion ?? undefined, modelName: c.modelName ?? undefined });
  }
  const appDeps = exportedApplicationDependencies(site);
  for (const a of site.applications) {
    if (!a.packageId) continue;
    merge(items, {
      packageId: a.packageId,
      name: a.name ?? undefined,
      kind: 'Application',
      version: a.version ?? undefined,
      sourceVersion: a.sourceVersion ?? undefined,
      modelName: a.modelName ?? undefined,
      dependencies: appDeps.get(a.packageId.toUpperCase()),
    });
  }
  for (const o of site.contentObjects) {
    merge(items, { packageId: o.packageId, name: o.name ?? undefined, kind: o.kind, version: o.version ?? undefined, sourceVersion: o.sourceVersion ?? undefined });
  }
  for (const ts of site.taskSequences) {
    if (ts.packageId) merge(items, { packageId: ts.packageId, name: ts.name, kind: 'TaskSequence' });
    for (const r of ts.references) merge(items, { packageId: r.packageId, name: r.name ?? undefined, kind: r.kind, version: r.version ?? undefined });
    for (const a of ts.appReferences) merge(items, { packageId: a.packageId, kind: 'Application', modelName: a.modelName });
  }
  return items;
}

const sharedKnown = new WeakMap<Site, ReadonlyMap<string, Readonly<Draft>>>();

/**
 * knownContent, worked out once per site and shared by readers that change nothing: the list of a site's task
 * sequences analyses each of them, and a live site knows thousands of packages. A Site never changes once open.
 */
export function knownContentOf(site: Site): ReadonlyMap<string, Readonly<Draft>> {
  let known = sharedKnown.get(site);
  if (!known) {
    known = knownContent(site);
    sharedKnown.set(site, known);
  }
  return known;
}

/** Distribution points holding a package's current content (at `sourceVersion` when the site knows it). */
export async function holders(site: Site, packageId: string, sourceVersion: number | null): Promise<string[]> {
  const out: string[] = [];
  for (const dp of site.distributionPoints) {
    if (!dp.library) {
      // A live site's DP whose content library is not mapped here: the service's word on what it holds.
      const held = dp.heldVersions?.get(packageId.toUpperCase());
      if (held !== undefined && (sourceVersion === null || held === sourceVersion)) out.push(dp.name);
      continue;
    }
    const pkg = await dp.library.package(packageId);
    if (!pkg || pkg.contentIds.length === 0) continue;
    if (sourceVersion !== null && pkg.versions.length > 0 && !pkg.versions.includes(sourceVersion)) continue;
    out.push(dp.name);
  }
  return out;
}

export async function buildCatalog(site: Site): Promise<CatalogItem[]> {
  const items = knownContent(site);
  for (const dp of site.distributionPoints) {
    if (!dp.library) continue;
    for (const pkg of (await dp.library.packages()).values()) {
      const isApp = pkg.versions.length === 0 && pkg.contentIds.some((c) => /^Content_/i.test(c));
      merge(items, { packageId: pkg.packageId, kind: isApp ? 'Application' : 'Unknown' });
    }
  }
  const out: CatalogItem[] = [];
  for (const d of [...items.values()].sort((a, b) => (a.packageId < b.packageId ? -1 : a.packageId > b.packageId ? 1 : 0))) {
    const dps = await holders(site, d.packageId, d.sourceVersion);
    let sizeBytes: number | null = null;
    const first = site.distributionPoints.find((p) => p.name === dps[0]);
    if (first?.library) {
      try {
        sizeBytes = await first.library.packageSize(d.packageId);
      } catch {
        sizeBytes = null;
      }
    }
    out.push({ ...d, sizeBytes, distributionPoints: dps });
  }
  return out;
}
