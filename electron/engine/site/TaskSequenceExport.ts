// Exported task sequences: the console's Export wizard zips (OPC: Manifest.xml, <Class>/<ID>/object.xml CIM-XML
// instances, ReferencesInfo.xml, AppReferencesInfo.xml) and bare `<sequence>` XML files.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { ReferenceKind } from '../../../shared/analysis.js';
import { kindFromPackageType } from '../../../shared/analysis.js';
import { CimInstance, parseCimInstance, parseInstanceArray } from './CimXml.js';
import { InputError, describeFsError, withLocation } from '../errors.js';
import { parseTaskSequence, type TaskSequenceDocument } from './TaskSequence.js';
import { decodeXmlBytes, descendants, localName, parseXml, positionInDocument, propertyValueStart, type XmlElement } from './xml.js';
import { readZipEntries } from './ZipArchive.js';

export interface ExportedReference {
  packageId: string;
  name: string | null;
  version: string | null;
  kind: ReferenceKind;
  description: string | null;
}

export interface ExportedAppReference {
  modelName: string;
  packageId: string;
  ciId: number | null;
}

export interface TaskSequencePackage {
  /** Null for a bare `<sequence>` file. */
  packageId: string | null;
  name: string;
  description: string;
  bootImageId: string | null;
  sourceSite: string | null;
  sequence: TaskSequenceDocument;
  sequenceXml: string;
  references: ExportedReference[];
  appReferences: ExportedAppReference[];
  /** Where it was read from: the file, and the zip entry for exports. */
  source: string;
}

export interface ExportedApplication {
  packageId: string | null;
  modelName: string | null;
  name: string | null;
  version: string | null;
  sourceVersion: number | null;
  deploymentTypes: string[];
  /** Logical names of the deployment types this application's deployment types depend on. */
  dependsOnDeploymentTypes: string[];
  /** The raw SDMPackageXML (AppMgmtDigest), kept so that a site snapshot can write the application back. */
  sdmPackageXml: string | null;
  source: string;
}

export interface ExportedContentObject {
  className: string;
  packageId: string;
  name: string | null;
  version: string | null;
  sourceVersion: number | null;
  kind: ReferenceKind;
  source: string;
}

export interface TaskSequenceExport {
  file: string;
  taskSequences: TaskSequencePackage[];
  applications: ExportedApplication[];
  contentObjects: ExportedContentObject[];
}

const CLASS_KINDS: Record<string, ReferenceKind> = {
  SMS_BootImagePackage: 'BootImage',
  SMS_ImagePackage: 'OperatingSystemImage',
  SMS_OperatingSystemInstallPackage: 'OperatingSystemUpgradePackage',
  SMS_DriverPackage: 'DriverPackage',
  SMS_Package: 'Package',
  SMS_SoftwareUpdatesPackage: 'SoftwareUpdatePackage',
  SMS_TaskSequencePackage: 'TaskSequence',
  SMS_Application: 'Application',
};

const OBJECT_RE = /^([^/]+)\/([^/]+)\/object\.xml$/i;

export function isExportMetadataEntry(name: string): boolean {
  return (
    /^manifest\.xml$/i.test(name) ||
    OBJECT_RE.test(name) ||
    /^SMS_TaskSequencePackage\/[^/]+\/(App)?ReferencesInfo\.xml$/i.test(name)
  );
}

/** Reads an export zip; throws InputError naming the zip and entry for anything malformed. */
export async function readExport(file: string): Promise<TaskSequenceExport> {
  const entries = await readZipEntries(file, isExportMetadataEntry);
  const byLower = new Map([...entries].map(([k, v]) => [k.toLowerCase(), { name: k, data: v }]));
  const text = (name: string): string | undefined => {
    const e = byLower.get(name.toLowerCase());
    return e ? decodeXmlBytes(e.data) : undefined;
  };
  const manifest = text('Manifest.xml');
  if (manifest === undefined) {
    throw new InputError('this zip has no Manifest.xml, so it is not a task sequence export. Use the console\'s Export Task Sequence wizard.', { file });
  }
  const entryObjects: string[] = [];
  const mRoot = parseXml(manifest, { file, entry: 'Manifest.xml' });
  for (const o of descendants(mRoot)) {
    if (localName(o.name) !== 'Object') continue;
    const m = /^SMS_TaskSequencePackage\.PackageID='([^']+)'$/.exec(o.attrs.Path ?? '');
    if (m) entryObjects.push(m[1]);
  }

  const objects: { className: string; id: string; entry: string; instance: CimInstance }[] = [];
  for (const { name, data } of byLower.values()) {
    const m = OBJECT_RE.exec(name);
    if (!m) continue;
    const instance = parseCimInstance(decodeXmlBytes(data), { file, entry: name });
    objects.push({ className: instance.className || m[1], id: m[2], entry: name, instance });
  }
  objects.sort((a, b) => (a.entry < b.entry ? -1 : a.entry > b.entry ? 1 : 0));

  for (const id of entryObjects) {
    if (!objects.some((o) => o.className === 'SMS_TaskSequencePackage' && o.id.toLowerCase() === id.toLowerCase())) {
      throw new InputError(`Manifest.xml lists task sequence ${id} but the entry SMS_TaskSequencePackage/${id}/object.xml is missing; export it again.`, { file });
    }
  }

  const taskSequences: TaskSequencePackage[] = [];
  const applications: ExportedApplication[] = [];
  const contentObjects: ExportedContentObject[] = [];
  const where = (entry: string): string => `${file} (${entry})`;
  for (const o of objects) {
    if (o.className === 'SMS_TaskSequencePackage') {
      taskSequences.push(readTaskSequenceObject(file, o.id, o.entry, o.instance, text));
    } else if (o.className === 'SMS_Application') {
      applications.push(readApplicationObject(file, o.entry, o.instance, text(o.entry)));
    } else {
      const packageId = o.instance.string('PackageID') ?? o.id;
      contentObjects.push({
        className: o.className,
        packageId,
        name: o.instance.string('Name'),
        version: o.instance.string('Version'),
        sourceVersion: o.instance.number('SourceVersion'),
        kind: CLASS_KINDS[o.className] ?? 'Unknown',
        source: where(o.entry),
      });
    }
  }
  if (taskSequences.length === 0) {
    throw new InputError('this export holds no task sequence (no SMS_TaskSequencePackage/<ID>/object.xml).', { file });
  }
  // Entry objects first, in the manifest's order; task sequences exported as dependencies after them.
  const rank = (ts: TaskSequencePackage): number => {
    const i = entryObjects.findIndex((id) => id.toLowerCase() === (ts.packageId ?? '').toLowerCase());
    return i < 0 ? entryObjects.length : i;
  };
  taskSequences.sort((a, b) => rank(a) - rank(b));
  return { file, taskSequences, applications, contentObjects };
}

/**
 * Runs a parse of XML held in a property of `entry`; a syntax error (placed by the parser within the property's text)
 * is placed in the entry instead, the line and column a user finds when opening the entry, and says where in the
 * property it is. Where the property cannot be found as written, the position stays the property's, said so.
 */
function inEmbeddedXml<T>(parse: () => T, file: string, entry: string, property: string, entryText: string | undefined): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof InputError) || err.location.line === undefined) throw err;
    const prefix = withLocation('', err.location);
    if (!err.message.startsWith(prefix)) throw err;
    const bare = err.message.slice(prefix.length);
    const { line, column } = err.location;
    const inProperty = `line ${line}${column !== undefined ? `, column ${column}` : ''} of the ${property} property`;
    const start = entryText === undefined ? null : propertyValueStart(entryText, property);
    const options = { code: err.code, params: err.params };
    const again = ' Export the task sequence again from the console, or correct the entry.';
    if (entryText === undefined || start === null) throw new InputError(`${inProperty}: ${bare}${again}`, { file, entry }, options);
    const at = positionInDocument(entryText, start, line, column ?? 1);
    // The parser's own positions in its words ("opened in line 1, col 11") are the property's too: the entry's instead.
    const inEntry = bare.replace(/\bline (\d+), col (\d+)\b/g, (_, l: string, c: string) => {
      const p = positionInDocument(entryText, start, Number(l), Number(c));
      return `line ${p.line}, column ${p.column}`;
    });
    throw new InputError(`${inEntry.replace(/\.$/, '')} (${inProperty}).${again}`, { file, entry, line: at.line, column: at.column }, options);
  }
}

function readTaskSequenceObject(
  file: string,
  dirId: string,
  entry: string,
  inst: CimInstance,
  text: (name: string) => string | undefined,
): TaskSequencePackage {
  const packageId = inst.string('PackageID') ?? dirId;
  const sequenceXml = inst.string('Sequence');
  if (sequenceXml === null) {
    throw new InputError(`task sequence ${packageId} has no Sequence property; the export is incomplete.`, { file, entry });
  }
  const sequence = inEmbeddedXml(() => parseTaskSequence(sequenceXml, { file, entry: `${entry}, property Sequence` }), file, entry, 'Sequence', text(entry));
  const dir = entry.slice(0, entry.lastIndexOf('/'));
  const refsEntry = `${dir}/ReferencesInfo.xml`;
  const refsText = text(refsEntry);
  const references: ExportedReference[] = [];
  if (refsText !== undefined) {
    for (const r of parseInstanceArray(refsText, { file, entry: refsEntry })) {
      const id = r.string('ReferencePackageID');
      if (!id) continue;
      const type = r.number('ReferencePackageType');
      references.push({
        packageId: id,
        name: r.string('ReferenceName'),
        version: r.string('ReferenceVersion'),
        kind: type === null ? 'Unknown' : kindFromPackageType(type),
        description: r.string('ReferenceDescription'),
      });
    }
  }
  const appEntry = `${dir}/AppReferencesInfo.xml`;
  const appText = text(appEntry);
  const appReferences: ExportedAppReference[] = [];
  if (appText !== undefined) {
    for (const r of parseInstanceArray(appText, { file, entry: appEntry })) {
      const modelName = r.string('RefAppModelName');
      const appPkg = r.string('RefAppPackageID');
      if (modelName && appPkg) appReferences.push({ modelName, packageId: appPkg, ciId: r.number('RefAppCI_ID') });
    }
  }
  return {
    packageId,
    name: inst.string('Name') ?? packageId,
    description: inst.string('Description') ?? '',
    bootImageId: inst.string('BootImageID'),
    sourceSite: inst.string('SourceSite'),
    sequence,
    sequenceXml,
    references,
    appReferences,
    source: `${file} (${entry})`,
  };
}

/** An application's deployment types and the deployment types they depend on, from its SDMPackageXML (AppMgmtDigest). */
export function sdmDeploymentTypes(root: XmlElement): { deploymentTypes: string[]; dependsOnDeploymentTypes: string[] } {
  const deploymentTypes: string[] = [];
  const depends: string[] = [];
  for (const el of descendants(root)) {
    const n = localName(el.name);
    if (n === 'DeploymentType' && el.attrs.LogicalName && !deploymentTypes.includes(el.attrs.LogicalName)) {
      deploymentTypes.push(el.attrs.LogicalName);
    }
    if (n === 'Dependencies') {
      for (const d of descendants(el)) {
        const dn = localName(d.name);
        if ((dn === 'DeploymentTypeApplicabilityReference' || dn === 'DeploymentTypeReference') && d.attrs.LogicalName) {
          if (!depends.includes(d.attrs.LogicalName)) depends.push(d.attrs.LogicalName);
        }
      }
    }
  }
  return { deploymentTypes, dependsOnDeploymentTypes: depends };
}

function readApplicationObject(file: string, entry: string, inst: CimInstance, entryText: string | undefined): ExportedApplication {
  const sdm = inst.string('SDMPackageXML');
  const { deploymentTypes, dependsOnDeploymentTypes: depends } =
    sdm === null ? { deploymentTypes: [], dependsOnDeploymentTypes: [] } : sdmDeploymentTypes(inEmbeddedXml(() => parseXml(sdm, { file, entry: `${entry}, property SDMPackageXML` }), file, entry, 'SDMPackageXML', entryText));
  return {
    packageId: inst.string('PackageID'),
    modelName: inst.string('ModelName'),
    name: inst.string('LocalizedDisplayName'),
    version: inst.string('SoftwareVersion'),
    sourceVersion: inst.number('SourceVersion'),
    deploymentTypes,
    dependsOnDeploymentTypes: depends,
    sdmPackageXml: sdm,
    source: `${file} (${entry})`,
  };
}

/** A bare `<sequence>` file (MDT templates, a task sequence saved as XML). */
export async function readSequenceFile(file: string): Promise<TaskSequencePackage> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new InputError(describeFsError(err, file));
  }
  const sequenceXml = decodeXmlBytes(buf);
  const sequence = parseTaskSequence(sequenceXml, { file });
  const references: ExportedReference[] = [];
  return {
    packageId: null,
    name: sequence.name ?? basename(file, extname(file)),
    description: '',
    bootImageId: null,
    sourceSite: null,
    sequence,
    sequenceXml,
    references,
    appReferences: [],
    source: file,
  };
}

