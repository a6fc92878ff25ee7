// The optional site descriptor (tsmedia-site.json) beside a site's exports and content libraries.
import type { ReferenceKind } from '../../../shared/analysis.js';
import { REFERENCE_KINDS } from '../../../shared/analysis.js';
import { InputError } from '../errors.js';

export const DESCRIPTOR_FILE = 'tsmedia-site.json';

export interface DescriptorDistributionPoint {
  name: string;
  /** Path of the SCCMContentLib folder (relative to the descriptor's folder, or absolute: a mounted share). */
  contentLibrary: string;
  /** Further SCCMContentLib roots on other drives holding FileLib (SCCMContentLibD$, …). */
  extraContentLibraries: string[];
}

export interface DescriptorCatalogItem {
  packageId: string;
  name: string | null;
  kind: ReferenceKind | null;
  version: string | null;
  sourceVersion: number | null;
  modelName: string | null;
  dependencies: string[];
}

export interface SiteDescriptor {
  siteCode: string | null;
  siteName: string | null;
  centralAdministrationSite: boolean;
  /** Export zips, sequence XML files or folders holding them; default ["exports"]. */
  exports: string[] | null;
  /** When given, these replace the SCCMContentLib* folder convention. */
  distributionPoints: DescriptorDistributionPoint[] | null;
  catalog: DescriptorCatalogItem[];
  /**
   * The site server's OSD\bin folder (holding x64\ and i386\): a copy, or the share \\<server>\SMS_<code>\OSD\bin;
   * relative to the descriptor's folder or absolute. Default: the site folder's OSD\bin.
   */
  osdBinaries: string | null;
  /** The site server's name: where there is no OSD\bin folder, its share SMS_<site code>\OSD\bin is used. */
  siteServer: string | null;
  /** The site's administration service (https://<provider>/AdminService): the folder then opens as a live site. */
  adminService: string | null;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const KNOWN = ['siteCode', 'siteName', 'centralAdministrationSite', 'exports', 'distributionPoints', 'catalog', 'osdBinaries', 'siteServer', 'adminService'];
/** Accepted at the top level but not listed in messages: an editor's schema link and a free note. */
const KNOWN_QUIET = ['$schema', 'comment'];
const KNOWN_DP = ['name', 'contentLibrary', 'extraContentLibraries'];
const KNOWN_CATALOG = ['packageId', 'name', 'kind', 'version', 'sourceVersion', 'modelName', 'dependencies'];

/** Validates a parsed descriptor; every problem names the file and the field. */
export function parseSiteDescriptor(text: string, file: string): SiteDescriptor {
  let raw: Json;
  try {
    raw = JSON.parse(text) as Json;
  } catch (err) {
    throw new InputError(`not valid JSON (${(err as Error).message}).`, { file });
  }
  const fail = (field: string, what: string): never => {
    throw new InputError(`field "${field}" ${what}`, { file });
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('(root)', 'must be a JSON object.');
  const obj = raw as { [k: string]: Json };
  // Unknown fields are refused at every level, so a typo (catalog[0].sourceVerison) does not silently become a default.
  const refuseUnknown = (o: { [k: string]: Json }, known: string[], prefix: string, quiet: string[] = []): void => {
    for (const k of Object.keys(o)) {
      if (!known.includes(k) && !quiet.includes(k)) fail(`${prefix}${k}`, `is not a descriptor field (known${prefix ? ` in ${prefix.slice(0, -1)}` : ''}: ${known.join(', ')}). Correct or remove it.`);
    }
  };
  refuseUnknown(obj, KNOWN, '', KNOWN_QUIET);

  const str = (v: Json | undefined, field: string): string | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') return fail(field, 'must be a string.');
    return v;
  };
  const strList = (v: Json | undefined, field: string): string[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) return fail(field, 'must be a list of non-empty strings.');
    return v as string[];
  };

  const siteCode = str(obj.siteCode, 'siteCode');
  if (siteCode !== null && !/^[A-Za-z0-9]{3}$/.test(siteCode)) fail('siteCode', 'must be three letters or digits (e.g. "PS1").');
  const cas = obj.centralAdministrationSite;
  if (cas !== undefined && typeof cas !== 'boolean') fail('centralAdministrationSite', 'must be true or false.');

  let distributionPoints: DescriptorDistributionPoint[] | null = null;
  if (obj.distributionPoints !== undefined) {
    if (!Array.isArray(obj.distributionPoints)) fail('distributionPoints', 'must be a list.');
    distributionPoints = (obj.distributionPoints as Json[]).map((d, i) => {
      const f = `distributionPoints[${i}]`;
      if (d === null || typeof d !== 'object' || Array.isArray(d)) return fail(f, 'must be an object with "name" and "contentLibrary".');
      refuseUnknown(d, KNOWN_DP, `${f}.`);
      const name = str(d.name, `${f}.name`);
      const lib = str(d.contentLibrary, `${f}.contentLibrary`);
      if (!name) return fail(`${f}.name`, 'is required.');
      if (!lib) return fail(`${f}.contentLibrary`, 'is required (the path of its SCCMContentLib folder).');
      return { name, contentLibrary: lib, extraContentLibraries: strList(d.extraContentLibraries, `${f}.extraContentLibraries`) };
    });
    const names = new Set<string>();
    for (const d of distributionPoints) {
      if (names.has(d.name.toLowerCase())) fail('distributionPoints', `names "${d.name}" twice.`);
      names.add(d.name.toLowerCase());
    }
  }

  const catalog: DescriptorCatalogItem[] = [];
  if (obj.catalog !== undefined) {
    if (!Array.isArray(obj.catalog)) fail('catalog', 'must be a list.');
    const seen = new Set<string>();
    (obj.catalog as Json[]).forEach((c, i) => {
      const f = `catalog[${i}]`;
      if (c === null || typeof c !== 'object' || Array.isArray(c)) return fail(f, 'must be an object with "packageId".');
      refuseUnknown(c, KNOWN_CATALOG, `${f}.`);
      const packageId = str(c.packageId, `${f}.packageId`);
      if (!packageId) return fail(`${f}.packageId`, 'is required.');
      if (seen.has(packageId.toUpperCase())) fail(`${f}.packageId`, `repeats ${packageId}; each package is listed once.`);
      seen.add(packageId.toUpperCase());
      const kind = str(c.kind, `${f}.kind`);
      if (kind !== null && !REFERENCE_KINDS.includes(kind as ReferenceKind)) fail(`${f}.kind`, `must be one of ${REFERENCE_KINDS.join(', ')}.`);
      const sv = c.sourceVersion;
      if (sv !== undefined && sv !== null && (typeof sv !== 'number' || !Number.isInteger(sv) || sv < 1)) fail(`${f}.sourceVersion`, 'must be a whole number of 1 or more.');
      catalog.push({
        packageId: packageId.toUpperCase(),
        name: str(c.name, `${f}.name`),
        kind: kind as ReferenceKind | null,
        version: str(c.version, `${f}.version`),
        sourceVersion: typeof sv === 'number' ? sv : null,
        modelName: str(c.modelName, `${f}.modelName`),
        dependencies: strList(c.dependencies, `${f}.dependencies`).map((d) => d.toUpperCase()),
      });
    });
  }

  const siteServer = str(obj.siteServer, 'siteServer');
  // A NetBIOS or DNS name, without the leading backslashes (they are added for the share).
  if (siteServer !== null && !/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(siteServer)) fail('siteServer', 'must be the site server\'s name (e.g. "CM01" or "cm01.contoso.com"), without backslashes.');
  const osdBinaries = str(obj.osdBinaries, 'osdBinaries');
  if (osdBinaries === '') fail('osdBinaries', 'must be the path of the site server\'s OSD\\bin folder, or left out.');

  const adminService = str(obj.adminService, 'adminService');
  if (adminService !== null && !/^https:\/\/[^/\s]+/i.test(adminService)) fail('adminService', 'must be the https:// address of the administration service (e.g. "https://cm01.contoso.com/AdminService").');
  if (adminService !== null && obj.exports !== undefined) fail('exports', 'cannot be given with "adminService": a live site\'s task sequences come from the service. Remove one of them.');

  return {
    siteCode,
    adminService,
    osdBinaries,
    siteServer,
    siteName: str(obj.siteName, 'siteName'),
    centralAdministrationSite: cas === true,
    exports: obj.exports === undefined ? null : strList(obj.exports, 'exports'),
    distributionPoints,
    catalog,
  };
}
