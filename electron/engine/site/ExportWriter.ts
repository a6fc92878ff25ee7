// Writes a task sequence export zip in the format of the console's Export Task Sequence wizard (Export-CMTaskSequence):
// an Open Packaging Convention zip holding [Content_Types].xml, _rels/.rels, a core-properties .psmdcp part,
// Manifest.xml, SMS_TaskSequencePackage/USERSTATE_MIGRATION_PACKAGE.xml and, per task sequence,
// SMS_TaskSequencePackage/<PackageID>/{object.xml, ReferencesInfo.xml, AppReferencesInfo.xml}; objects exported
// "with dependencies" go to <className>/<PackageID>/object.xml. object.xml is a WMI CIM-XML <INSTANCE>.
// Output is deterministic: fixed entry times, part names and relationship IDs derived from the content.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import { InputError } from '../errors.js';

export type CimValue = string | number | boolean | null;

export interface ExportedObject {
  className: string;
  properties: Record<string, CimValue>;
}

export interface ExportReference {
  packageId: string;
  /** Null (as for name, version, type and description): the property is left out, as a site that lacks it. */
  name: string | null;
  version: string | null;
  /** ReferencePackageType: 0 package, 3 driver package, 4 task sequence, 257 OS image, 258 boot image, 259 OS upgrade, 512 application. */
  type: number | null;
  description?: string | null;
  /** ReferenceProgramName; default "*". */
  program?: string;
}

export interface ExportAppReference {
  modelName: string;
  packageId: string;
  ciId: number | null;
}

export interface ExportTaskSequence {
  packageId: string;
  name: string;
  description?: string;
  bootImageId: string | null;
  sequenceXml: string;
  sourceSite: string | null;
  /** SourceVersion of the task sequence package; default 1. */
  sourceVersion?: number;
  references: ExportReference[];
  appReferences: ExportAppReference[];
}

export interface ExportZipOptions {
  /** Content of SMS_TaskSequencePackage/USERSTATE_MIGRATION_PACKAGE.xml; default "00000000" (none). */
  userStateMigrationPackageId?: string;
  /** Manifest AUTHORING_SCOPE; default derived from the exported package IDs. */
  authoringScopeId?: string;
  /** Site server name used in __PATH / __SERVER; default "CM01". */
  siteServer?: string;
  /** Zip entry time and the CIM datetime of SourceDate / LastRefreshTime; default 2025-01-01T00:00:00. */
  date?: Date;
}

const FIXED_DATE = new Date(Date.UTC(2025, 0, 1, 0, 0, 0));
const BOM = '\uFEFF';
const XSI_XSD = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };

/**
 * Escapes text for XML element content and attribute values (& < > " ' and CR: a parser turns a raw CR LF into LF,
 * so a value read from a site that holds CR would not come back the same).
 */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) => ESCAPES[c]);
}

/**
 * Escaping as .NET's XmlSerializer writes element text: & < > only (quotes stay literal, line ends as they are: the
 * embedded instances' CR LF are layout; a CR inside one of their values is already &#13;, escaped once more here).
 */
function textEscape(s: string): string {
  return s.replace(/[&<>]/g, (c) => ESCAPES[c]);
}

function cimDateTime(d: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.000000+000`;
}

const CIM_DATETIME_RE = /^\d{14}\.\d{6}[+-]\d{3}$/;

function cimTypeOf(v: CimValue): string {
  if (v === null) return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 'real64';
    if (v < 0) return v >= -0x80000000 ? 'sint32' : 'sint64';
    return v <= 0xffffffff ? 'uint32' : 'uint64';
  }
  return CIM_DATETIME_RE.test(v) ? 'datetime' : 'string';
}

function cimText(v: Exclude<CimValue, null>): string {
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return xmlEscape(String(v));
}

function cimTypeQualifier(type: string, ind: string): string {
  return (
    `${ind}  <QUALIFIER NAME="CIMTYPE" PROPAGATED="true" TYPE="string" TOINSTANCE="true">\r\n` +
    `${ind}    <VALUE>${type}</VALUE>\r\n` +
    `${ind}  </QUALIFIER>\r\n`
  );
}

interface ObjectRef {
  className: string;
  props: [string, CimValue][];
}

type CimProperty =
  | { kind: 'value'; name: string; value: CimValue; type?: string }
  | { kind: 'array'; name: string; values: string[] }
  | { kind: 'objects'; name: string; refClass: string; objects: ObjectRef[] };

function systemProperties(className: string, relPath: string, server: string, namespace: string, propertyCount: number, ind: string, embedded: boolean): string {
  const derivation = derivationOf(className);
  const sys = (name: string, type: string, value: string | null): string =>
    value === null
      ? `${ind}<PROPERTY NAME="${name}" CLASSORIGIN="___SYSTEM" TYPE="${type}"></PROPERTY>\r\n`
      : `${ind}<PROPERTY NAME="${name}" CLASSORIGIN="___SYSTEM" TYPE="${type}">\r\n${ind}  <VALUE>${xmlEscape(value)}</VALUE>\r\n${ind}</PROPERTY>\r\n`;
  let out = '';
  out += sys('__PATH', 'string', embedded ? null : `\\\\${server}\\${namespace}:${relPath}`);
  out += sys('__NAMESPACE', 'string', embedded ? null : namespace);
  out += sys('__SERVER', 'string', embedded ? null : server);
  out += `${ind}<PROPERTY.ARRAY NAME="__DERIVATION" CLASSORIGIN="___SYSTEM" TYPE="string">\r\n${ind}  <VALUE.ARRAY>`;
  if (embedded || derivation.length === 0) out += '</VALUE.ARRAY>\r\n';
  else out += `\r\n${derivation.map((d) => `${ind}    <VALUE>${d}</VALUE>\r\n`).join('')}${ind}  </VALUE.ARRAY>\r\n`;
  out += `${ind}</PROPERTY.ARRAY>\r\n`;
  out += sys('__PROPERTY_COUNT', 'sint32', String(propertyCount));
  out += sys('__RELPATH', 'string', embedded ? null : relPath);
  out += sys('__DYNASTY', 'string', embedded ? className : (derivation[derivation.length - 1] ?? className));
  out += sys('__SUPERCLASS', 'string', embedded ? null : (derivation[0] ?? null));
  out += sys('__CLASS', 'string', className);
  out += sys('__GENUS', 'sint32', '2');
  return out;
}

function derivationOf(className: string): string[] {
  switch (className) {
    case 'SMS_TaskSequencePackage':
    case 'SMS_Package':
    case 'SMS_DriverPackage':
    case 'SMS_ImagePackage':
    case 'SMS_BootImagePackage':
    case 'SMS_OperatingSystemInstallPackage':
      return ['SMS_PackageBaseclass', 'SMS_BaseClass'];
    case 'SMS_Application':
      return ['SMS_ConfigurationItemBaseClass', 'SMS_BaseClass'];
    default:
      return ['SMS_BaseClass'];
  }
}

const byNameCi = (a: string, b: string): number => {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
};

function propertyXml(p: CimProperty, origin: string, ind: string): string {
  if (p.kind === 'value') {
    const type = p.type ?? cimTypeOf(p.value);
    let out = `${ind}<PROPERTY NAME="${p.name}" CLASSORIGIN="${origin}" TYPE="${type}">\r\n` + cimTypeQualifier(type, ind);
    if (p.value !== null) out += `${ind}  <VALUE>${cimText(p.value)}</VALUE>\r\n`;
    return out + `${ind}</PROPERTY>\r\n`;
  }
  if (p.kind === 'array') {
    let out = `${ind}<PROPERTY.ARRAY NAME="${p.name}" CLASSORIGIN="${origin}" TYPE="string">\r\n` + cimTypeQualifier('string', ind);
    out += `${ind}  <VALUE.ARRAY>\r\n${p.values.map((v) => `${ind}    <VALUE>${xmlEscape(v)}</VALUE>\r\n`).join('')}${ind}  </VALUE.ARRAY>\r\n`;
    return out + `${ind}</PROPERTY.ARRAY>\r\n`;
  }
  let out = `${ind}<PROPERTY.OBJECTARRAY NAME="${p.name}" CLASSORIGIN="${origin}" REFERENCECLASS="${p.refClass}">\r\n`;
  out += cimTypeQualifier(`object:${p.refClass}`, ind);
  if (p.objects.length === 0) return out + `${ind}  <VALUE.OBJECTARRAY></VALUE.OBJECTARRAY>\r\n${ind}</PROPERTY.OBJECTARRAY>\r\n`;
  out += `${ind}  <VALUE.OBJECTARRAY>\r\n`;
  for (const o of p.objects) {
    const i2 = `${ind}      `;
    out += `${ind}    <VALUE.OBJECT>\r\n${ind}      <INSTANCE CLASSNAME="${o.className}">\r\n`;
    out += systemProperties(o.className, '', '', '', o.props.length, `${i2}  `, true);
    for (const [name, value] of o.props) out += propertyXml({ kind: 'value', name, value }, o.className, `${i2}  `);
    out += `${i2}</INSTANCE>\r\n${ind}    </VALUE.OBJECT>\r\n`;
  }
  return out + `${ind}  </VALUE.OBJECTARRAY>\r\n${ind}</PROPERTY.OBJECTARRAY>\r\n`;
}

const TS_OWN_PROPERTIES = new Set(
  ['BootImageID', 'Category', 'Duration', 'EstimatedDownloadSizeMB', 'EstimatedRunTimeMinutes', 'ProgramFlags', 'References', 'Sequence', 'SupportedOperatingSystems', 'TaskSequenceFlags', 'Type'].map((s) => s.toLowerCase()),
);

function originFor(className: string, prop: string): string {
  if (className === 'SMS_TaskSequencePackage') return TS_OWN_PROPERTIES.has(prop.toLowerCase()) ? className : 'SMS_PackageBaseclass';
  return className;
}

/** A CIM-XML <INSTANCE> document as the console exports it (no BOM, CRLF, two-space indent). */
function instanceXml(className: string, relPath: string, props: CimProperty[], server: string, siteCode: string): string {
  const namespace = `root\\sms\\site_${siteCode}`;
  const sorted = [...props].sort((a, b) => byNameCi(a.name, b.name));
  let out = `<INSTANCE CLASSNAME="${className}">\r\n`;
  out += '  <QUALIFIER NAME="dynamic" PROPAGATED="true" TYPE="boolean" TOSUBCLASS="false" TOINSTANCE="true">\r\n    <VALUE>TRUE</VALUE>\r\n  </QUALIFIER>\r\n';
  out += '  <QUALIFIER NAME="SecurityVerbs" TYPE="sint32" TOSUBCLASS="false">\r\n    <VALUE>-1</VALUE>\r\n  </QUALIFIER>\r\n';
  out += systemProperties(className, relPath, server, namespace, sorted.length, '  ', false);
  for (const p of sorted) out += propertyXml(p, originFor(className, p.name), '  ');
  return out + '</INSTANCE>';
}

function keyOf(className: string, properties: Record<string, CimValue>): { folder: string; relPath: string } {
  const packageId = properties['PackageID'];
  if (className === 'SMS_Application') {
    const ci = properties['CI_ID'];
    if (typeof packageId !== 'string' || packageId === '') throw new InputError(`${className}: the PackageID property is required.`);
    return { folder: packageId, relPath: `${className}.CI_ID=${typeof ci === 'number' ? ci : 0}` };
  }
  if (typeof packageId !== 'string' || packageId === '') throw new InputError(`${className}: the PackageID property is required.`);
  return { folder: packageId, relPath: `${className}.PackageID="${packageId}"` };
}

/** An embedded-XML string list, as .NET serializes a string[] (ReferencesInfo.xml, AppReferencesInfo.xml). */
function arrayOfString(items: string[]): string {
  if (items.length === 0) return `${BOM}<ArrayOfString ${XSI_XSD} />`;
  return `${BOM}<ArrayOfString ${XSI_XSD}>\r\n${items.map((s) => `  <string>${textEscape(s)}</string>\r\n`).join('')}</ArrayOfString>`;
}

/** A small CIM instance as ReferencesInfo.xml embeds it (typed by TYPE attributes, no qualifiers); null values are left out. */
function infoInstance(className: string, props: [string, string, string | null][]): string {
  let out = `<INSTANCE CLASSNAME="${className}">\r\n  <PROPERTY TYPE="string" NAME="__RELPATH">\r\n    <VALUE></VALUE>\r\n  </PROPERTY>\r\n`;
  for (const [name, type, value] of props) {
    if (value === null) continue;
    out += `  <PROPERTY NAME="${name}" TYPE="${type}">\r\n    <VALUE>${xmlEscape(value)}</VALUE>\r\n  </PROPERTY>\r\n`;
  }
  return out + '</INSTANCE>';
}

const PACKAGE_ID_RE = /^[A-Za-z0-9]{3}[A-Za-z0-9]{5}$/;

function checkPackageId(id: string, what: string): void {
  if (!PACKAGE_ID_RE.test(id)) throw new InputError(`${what}: "${id}" is not a package ID (8 letters or digits).`);
}

function taskSequenceObject(ts: ExportTaskSequence, server: string, dateText: string): string {
  const refs: ObjectRef[] = [];
  for (const r of ts.references) {
    if (r.type === 512 || r.packageId === ts.bootImageId) continue;
    refs.push({ className: 'SMS_TaskSequence_Reference', props: [['Package', r.packageId], ['Program', r.program ?? '*'], ['Type', 0]] });
  }
  for (const a of ts.appReferences) {
    refs.push({ className: 'SMS_TaskSequence_Reference', props: [['Package', a.modelName], ['Program', ''], ['Type', 1]] });
  }
  const props: CimProperty[] = [
    { kind: 'value', name: 'BootImageID', value: ts.bootImageId ?? '' },
    { kind: 'value', name: 'Category', value: '' },
    { kind: 'value', name: 'Description', value: ts.description ?? '' },
    { kind: 'value', name: 'Duration', value: 360 },
    { kind: 'value', name: 'EstimatedDownloadSizeMB', value: 0 },
    { kind: 'value', name: 'LastRefreshTime', value: dateText, type: 'datetime' },
    { kind: 'value', name: 'Manufacturer', value: '' },
    { kind: 'value', name: 'Name', value: ts.name },
    { kind: 'value', name: 'PackageID', value: ts.packageId },
    { kind: 'value', name: 'PackageType', value: 4 },
    { kind: 'value', name: 'PkgSourcePath', value: '' },
    { kind: 'objects', name: 'References', refClass: 'SMS_TaskSequence_Reference', objects: refs },
    { kind: 'array', name: 'SecuredScopeNames', values: ['Default'] },
    { kind: 'value', name: 'Sequence', value: ts.sequenceXml },
    { kind: 'value', name: 'SourceDate', value: dateText, type: 'datetime' },
    { kind: 'value', name: 'SourceSite', value: ts.sourceSite },
    { kind: 'value', name: 'SourceVersion', value: ts.sourceVersion ?? 1 },
    { kind: 'value', name: 'StoredPkgVersion', value: ts.sourceVersion ?? 1 },
    { kind: 'objects', name: 'SupportedOperatingSystems', refClass: 'SMS_OS_Details', objects: [] },
    { kind: 'value', name: 'TaskSequenceFlags', value: 0 },
    // 2: an operating system deployment task sequence (has a boot image); 1: a generic one.
    { kind: 'value', name: 'Type', value: ts.bootImageId ? 2 : 1 },
    { kind: 'value', name: 'Version', value: '' },
  ];
  return instanceXml('SMS_TaskSequencePackage', `SMS_TaskSequencePackage.PackageID="${ts.packageId}"`, props, server, ts.sourceSite ?? 'XYZ');
}

function referencesInfo(ts: ExportTaskSequence): string {
  return arrayOfString(
    ts.references.map((r) =>
      infoInstance('SMS_TaskSequenceReferencesInfo', [
        ['PackageID', 'string', ts.packageId],
        ['ProgramName', 'string', '*'],
        ['ReferenceDescription', 'string', r.description ?? ''],
        ['ReferenceName', 'string', r.name],
        ['ReferencePackageID', 'string', r.packageId],
        ['ReferencePackageType', 'uint32', r.type === null ? null : String(r.type)],
        ['ReferenceProgramName', 'string', r.program ?? '*'],
        ['ReferenceVersion', 'string', r.version],
      ]),
    ),
  );
}

function appReferencesInfo(ts: ExportTaskSequence): string {
  return arrayOfString(
    ts.appReferences.map((a) =>
      infoInstance('SMS_TaskSequenceAppReferencesInfo', [
        ['PackageID', 'string', ts.packageId],
        ['RefAppCI_ID', 'uint32', a.ciId === null ? null : String(a.ciId)],
        ['RefAppModelName', 'string', a.modelName],
        ['RefAppPackageID', 'string', a.packageId],
      ]),
    ),
  );
}

function toGuid(hex: string): string {
  const h = hex.toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The entries of the export zip, in the order they are written. Exported for tests. */
export function buildExportEntries(
  taskSequences: readonly ExportTaskSequence[],
  extraObjects: readonly ExportedObject[] = [],
  options: ExportZipOptions = {},
): { name: string; data: Buffer }[] {
  if (taskSequences.length === 0) throw new InputError('An export needs at least one task sequence.');
  const server = options.siteServer ?? 'CM01';
  const dateText = cimDateTime(options.date ?? FIXED_DATE);
  const seen = new Set<string>();
  for (const ts of taskSequences) {
    checkPackageId(ts.packageId, `Task sequence "${ts.name}"`);
    if (ts.bootImageId) checkPackageId(ts.bootImageId, `Task sequence ${ts.packageId}, boot image`);
    if (seen.has(ts.packageId.toUpperCase())) throw new InputError(`Task sequence ${ts.packageId} is listed twice.`);
    seen.add(ts.packageId.toUpperCase());
  }

  const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
  const entries: { name: string; data: Buffer }[] = [];
  const rels: { type: string; target: string; data: Buffer }[] = [];

  entries.push({
    name: 'SMS_TaskSequencePackage/USERSTATE_MIGRATION_PACKAGE.xml',
    data: utf8(`${BOM}<string>${textEscape(options.userStateMigrationPackageId ?? '00000000')}</string>`),
  });
  for (const ts of taskSequences) {
    const obj = utf8(taskSequenceObject(ts, server, dateText));
    const base = `SMS_TaskSequencePackage/${ts.packageId}`;
    entries.push({ name: `${base}/object.xml`, data: obj });
    rels.push({ type: 'SMS_TaskSequencePackage', target: `/${base}/object.xml`, data: obj });
    entries.push({ name: `${base}/ReferencesInfo.xml`, data: utf8(referencesInfo(ts)) });
    entries.push({ name: `${base}/AppReferencesInfo.xml`, data: utf8(appReferencesInfo(ts)) });
  }
  const extraSeen = new Set<string>();
  for (const o of extraObjects) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.className)) throw new InputError(`"${o.className}" is not a WMI class name.`);
    const { folder, relPath } = keyOf(o.className, o.properties);
    const name = `${o.className}/${folder}/object.xml`;
    if (extraSeen.has(name.toLowerCase()) || (o.className === 'SMS_TaskSequencePackage' && seen.has(folder.toUpperCase()))) throw new InputError(`${name}: exported twice.`);
    extraSeen.add(name.toLowerCase());
    const siteCode = typeof o.properties['SourceSite'] === 'string' ? o.properties['SourceSite'] : (taskSequences[0]?.sourceSite ?? 'XYZ');
    const props: CimProperty[] = Object.entries(o.properties).map(([k, v]) => ({ kind: 'value', name: k, value: v }));
    const data = utf8(instanceXml(o.className, relPath, props, server, siteCode));
    entries.push({ name, data });
    rels.push({ type: o.className, target: `/${name}`, data });
  }

  // Names and IDs that the console makes random are derived from the content here, so output is reproducible.
  const digest = createHash('sha256');
  for (const e of entries) digest.update(e.name).update('\0').update(e.data);
  const d = digest.digest('hex');
  const psmdcpName = d.slice(0, 32);
  const coreRelId = `R${d.slice(32, 48)}`;
  const scope = options.authoringScopeId ?? `ScopeId_${toGuid(d.slice(16, 48))}`;

  const relXml =
    `${BOM}<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
    rels
      .map((r) => {
        const id = `${r.type}-${createHash('sha256').update(r.data).digest('hex').toUpperCase()}`;
        return `<Relationship Type="${xmlEscape(r.type)}" Target="${xmlEscape(r.target)}" TargetMode="External" Id="${id}" />`;
      })
      .join('') +
    `<Relationship Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="/package/services/metadata/core-properties/${psmdcpName}.psmdcp" Id="${coreRelId}" /></Relationships>`;
  entries.push({ name: '_rels/.rels', data: utf8(relXml) });

  const manifest =
    `${BOM}<LibraryDocument ${XSI_XSD}>\r\n` +
    `  <Properties>\r\n    <Property Name="AUTHORING_SCOPE" Value="${xmlEscape(scope)}" />\r\n  </Properties>\r\n` +
    `  <Contents />\r\n  <EntryObjects>\r\n` +
    taskSequences
      .map((ts) => `    <Object Path="SMS_TaskSequencePackage.PackageID='${ts.packageId}'" Type="SMS_TaskSequencePackage" />\r\n`)
      .join('') +
    `  </EntryObjects>\r\n</LibraryDocument>`;
  entries.push({ name: 'Manifest.xml', data: utf8(manifest) });
  entries.push({
    name: `package/services/metadata/core-properties/${psmdcpName}.psmdcp`,
    data: utf8(
      `${BOM}<?xml version="1.0" encoding="utf-8"?><coreProperties xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"><dc:description /></coreProperties>`,
    ),
  });
  entries.push({
    name: '[Content_Types].xml',
    data: utf8(
      `${BOM}<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="text/xml" /><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" /><Default Extension="psmdcp" ContentType="application/vnd.openxmlformats-package.core-properties+xml" /></Types>`,
    ),
  });
  return entries;
}

/** Writes the export zip to `path` (via `<path>.tmp`, renamed when complete). Entries are stored, as the console does. */
export async function writeExportZip(
  path: string,
  taskSequences: ExportTaskSequence[],
  extraObjects: ExportedObject[] = [],
  options: ExportZipOptions = {},
): Promise<void> {
  const entries = buildExportEntries(taskSequences, extraObjects, options);
  const d = options.date ?? FIXED_DATE;
  // yazl writes DOS times in local time: build a Date whose local fields are the wanted UTC fields, and write no
  // extended (UTC) timestamp, so that the bytes do not depend on the time zone.
  const mtime = new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name, { mtime, compress: false, forceDosTimestamp: true, mode: 0o100644 });
  zip.end();
  const tmp = `${path}.tmp`;
  try {
    await pipeline(zip.outputStream, createWriteStream(tmp));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface AppDigestDependency {
  /** The dependency's deployment type: ScopeId_… and DeploymentType_…. */
  authoringScopeId: string;
  deploymentTypeLogicalName: string;
  /** Rule id, e.g. DTRule_<guid>. */
  ruleId: string;
  /** Dependency group name shown in the console. */
  groupName?: string;
}

export interface AppDigestInput {
  authoringScopeId: string;
  applicationLogicalName: string;
  deploymentTypeLogicalName: string;
  title: string;
  publisher?: string;
  softwareVersion?: string;
  deploymentTypeTitle?: string;
  /** Content ID without its version suffix (Content_<guid>) and its version. */
  contentId?: string;
  contentVersion?: number;
  files?: { name: string; size: number }[];
  installCommandLine?: string;
  productCode?: string;
  dependencies?: AppDigestDependency[];
}

/** An application's SDMPackageXML (AppMgmtDigest) with one MSI deployment type and its dependencies. */
export function buildAppMgmtDigest(a: AppDigestInput): string {
  const e = xmlEscape;
  const scope = e(a.authoringScopeId);
  const dtTitle = a.deploymentTypeTitle ?? `${a.title} - Windows Installer (*.msi file)`;
  let x = '<?xml version="1.0" encoding="utf-16"?>';
  x += '<AppMgmtDigest xmlns="http://schemas.microsoft.com/SystemCenterConfigurationManager/2009/AppMgmtDigest" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">';
  x += `<Application AuthoringScopeId="${scope}" LogicalName="${e(a.applicationLogicalName)}" Version="1">`;
  x += `<DisplayInfo DefaultLanguage="en-US"><Info Language="en-US"><Title>${e(a.title)}</Title>`;
  if (a.publisher) x += `<Publisher>${e(a.publisher)}</Publisher>`;
  if (a.softwareVersion) x += `<Version>${e(a.softwareVersion)}</Version>`;
  x += '</Info></DisplayInfo>';
  x += `<DeploymentTypes><DeploymentType AuthoringScopeId="${scope}" LogicalName="${e(a.deploymentTypeLogicalName)}" Version="1"/></DeploymentTypes>`;
  x += `<Title>${e(a.title)}</Title><Description/>`;
  if (a.publisher) x += `<Publisher>${e(a.publisher)}</Publisher>`;
  if (a.softwareVersion) x += `<SoftwareVersion>${e(a.softwareVersion)}</SoftwareVersion>`;
  x += '<AutoInstall>true</AutoInstall></Application>';
  x += `<DeploymentType AuthoringScopeId="${scope}" LogicalName="${e(a.deploymentTypeLogicalName)}" Version="1">`;
  x += `<Title>${e(dtTitle)}</Title><DeploymentTechnology>GLOBAL/MSIDeploymentTechnology</DeploymentTechnology><Technology>MSI</Technology><Hosting>Native</Hosting>`;
  x += '<Installer Technology="MSI"><ExecuteAsUser>false</ExecuteAsUser>';
  if (a.contentId) {
    x += `<Contents><Content ContentId="${e(a.contentId)}" Version="${a.contentVersion ?? 1}">`;
    for (const f of a.files ?? []) x += `<File Name="${e(f.name)}" Size="${f.size}"/>`;
    x += '<Location>\\\\CM01\\Sources\\Applications\\</Location><PeerCache>true</PeerCache><OnFastNetwork>Download</OnFastNetwork><OnSlowNetwork>DoNothing</OnSlowNetwork></Content></Contents>';
  }
  if (a.productCode) {
    x += `<DetectAction><Provider>MSI</Provider><Args><Arg Name="ProductCode" Type="String">${e(a.productCode)}</Arg></Args></DetectAction>`;
  }
  x += '<InstallAction><Provider>MSI</Provider><Args>';
  x += `<Arg Name="InstallCommandLine" Type="String">${e(a.installCommandLine ?? 'msiexec /i setup.msi /qn')}</Arg>`;
  x += '<Arg Name="ExecutionContext" Type="String">System</Arg><Arg Name="RequiresLogOn" Type="String"/><Arg Name="RequiresElevatedRights" Type="Boolean">false</Arg>';
  x += '</Args></InstallAction></Installer>';
  if (a.dependencies && a.dependencies.length > 0) {
    x += '<Dependencies>';
    for (const d of a.dependencies) {
      x += `<DeploymentTypeRule xmlns="http://schemas.microsoft.com/SystemCenterConfigurationManager/2009/06/14/Rules" id="${e(d.ruleId)}" Severity="Critical">`;
      if (d.groupName) x += `<Annotation><DisplayName Text="${e(d.groupName)}"/></Annotation>`;
      x += '<DeploymentTypeIntentExpression DesiredState="Required">';
      x += `<DeploymentTypeApplicabilityReference AuthoringScopeId="${e(d.authoringScopeId)}" LogicalName="${e(d.deploymentTypeLogicalName)}" Version="1" Changeable="true"/>`;
      x += '</DeploymentTypeIntentExpression></DeploymentTypeRule>';
    }
    x += '</Dependencies>';
  }
  x += '</DeploymentType></AppMgmtDigest>';
  return x;
}
