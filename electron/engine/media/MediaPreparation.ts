// What every kind of stand-alone media shares before its file system is planned: the checked options, the log, the
// content plan, the encrypted environment, and the ordered list of media files with a reserved manifest slot.
import { existsSync, statSync } from 'node:fs';
import type { Finding } from '../../../shared/analysis.js';
import type { MediaRequestBase } from '../../../shared/media.js';
import { variableNameIssue, variableValueIssue } from '../../../shared/variables.js';
import { CmTraceLog, LOG_FILE_NAME, isCmTraceLogOrAbsent, userLogFolder } from './CmTraceLog.js';
import { join } from 'node:path';
import { InputError, codedInputError, describeFsError } from '../errors.js';
import { MANIFEST_FORMAT, MANIFEST_PATH, serializeManifest, type ManifestPart, type MediaManifest } from './Manifest.js';
import { checkContentNames } from './ContentNames.js';
import { bufferFile, checkLabel, newMediaGuid, planContent, prestartFiles, rootFiles, type MediaFile, type PlannedContent } from './MediaPlan.js';
import { packageVersion } from '../paths.js';
import type { Site } from '../site/Site.js';
import type { TaskSequencePackage } from '../site/TaskSequenceExport.js';
import { buildMediaEnvironment, takeMediaKeyPair } from './TsEnvironment.js';
import { planRuntimeFiles, type PlannedRuntime } from './RuntimeFiles.js';

export const PASSWORDLESS_NOTE =
  'No password: the task sequence environment (steps and variables) is encrypted with ConfigMgr\'s public fixed key and can be read by anyone who has the media.';

export function parseMediaDate(value: string | null, field: string): Date | null {
  if (value === null || value.trim() === '') return null;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? `${value.trim()}T00:00:00Z` : value.trim());
  if (Number.isNaN(d.getTime())) throw new InputError(`${field}: "${value}" is not a date (use YYYY-MM-DD or an ISO 8601 date and time).`);
  return d;
}

export interface CheckedOptions {
  label: string;
  start: Date | null;
  expire: Date | null;
  timestamp: Date;
}

/** Checks what can be checked before any content is read. */
export function validateBaseRequest(req: MediaRequestBase): CheckedOptions {
  const label = checkLabel(req.label);
  const start = parseMediaDate(req.startDate, '--start');
  const expire = parseMediaDate(req.expireDate, '--expire');
  if (start && expire && expire.getTime() <= start.getTime()) throw new InputError('--expire must be after --start.');
  const seen = new Set<string>();
  for (const v of req.variables) {
    const nameIssue = variableNameIssue(v.name);
    if (nameIssue) throw codedInputError('VARIABLE_NAME_INVALID', { issue: nameIssue.code, ...nameIssue.params, name: v.name }, `variable ${v.name || '(empty name)'}: ${nameIssue.message}`);
    const valueIssue = variableValueIssue(v.name, v.value);
    if (valueIssue) throw codedInputError('VARIABLE_VALUE_INVALID', { issue: valueIssue.code, ...valueIssue.params }, `variable ${v.name}: ${valueIssue.message}`);
    if (seen.has(v.name.toLowerCase())) throw codedInputError('VARIABLE_DUPLICATE', { name: v.name }, `variable ${v.name} is given twice (names are case-insensitive).`);
    seen.add(v.name.toLowerCase());
  }
  if (req.password !== null && req.password.length === 0) throw new InputError('the password is empty; give a password or none.');
  if (req.prestartFiles && !req.prestartCommand) throw new InputError('--prestart-files needs --prestart (the command that uses them).');
  if (req.staging) {
    try {
      if (!statSync(req.staging).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    } catch (err) {
      throw new InputError(`--staging: ${describeFsError(err, req.staging)}`);
    }
  }
  if (req.prestartFiles && !existsSync(req.prestartFiles)) throw new InputError(`--prestart-files: ${req.prestartFiles}: not found.`);
  const timestamp = req.timestamp ? parseMediaDate(req.timestamp, '--timestamp') ?? new Date() : new Date();
  return { label, start, expire, timestamp };
}

/** The secrets of a request: the password and secret variable values (masked in logs, never written in clear). */
export function requestSecrets(req: MediaRequestBase): string[] {
  return [req.password ?? '', ...req.variables.filter((v) => v.secret).map((v) => v.value)].filter((s) => s !== '');
}

export interface PreparedMedia {
  options: CheckedOptions;
  content: PlannedContent;
  taskSequence: TaskSequencePackage;
  mediaGuid: string;
  /** SMS\bin: the site server's OSD binaries; null where the site has none. */
  runtime: PlannedRuntime | null;
  /** Boot files, environment, the manifest slot, SMS\bin, packages, prestart files: in media order. */
  files: MediaFile[];
  manifestIndex: number;
  manifestSize: number;
}

/** Plans content and builds the environment; logs the options, packages, prestart command and (masked) variables. */
export async function prepareMedia(site: Site, req: MediaRequestBase, options: CheckedOptions, log: CmTraceLog, kind: string): Promise<PreparedMedia> {
  const { label, start, expire } = options;
  log.info(`tsmedia ${packageVersion()}: creating stand-alone media (${kind}) for task sequence ${req.taskSequenceId} from site ${site.root}`);
  // The certificate's RSA key is made on the thread pool while the content is planned.
  const keys = takeMediaKeyPair();
  keys.catch(() => undefined);
  const content = await planContent(site, {
    taskSequenceId: req.taskSequenceId,
    distributionPoints: req.distributionPoints,
    applications: req.applications,
    packages: req.packages,
    driverPackages: req.driverPackages,
    detectDependencies: req.detectDependencies,
  });
  const ts = site.taskSequence(req.taskSequenceId);
  if (!ts) throw new InputError(`task sequence ${req.taskSequenceId} vanished from the site.`);
  for (const w of content.warnings) log.warning(`finding ${w.code}${w.step ? ` (step "${w.step}")` : ''}: ${w.message}`);
  log.info(
    `options: label "${label}", unattended ${req.unattended}, autorun ${req.autorun}, password ${req.password ? 'set' : 'none'}, start ${start?.toISOString() ?? 'none'}, expire ${expire?.toISOString() ?? 'none'}, distribution points ${content.distributionPoints.join(', ')}`,
  );
  if (!req.password) log.warning(PASSWORDLESS_NOTE);
  for (const p of content.packages) log.info(`package ${p.packageId} (${p.kind}${p.name ? `, ${p.name}` : ''}): ${p.files} files, ${p.bytes} bytes from ${p.distributionPoint}, content ${p.contentIds.join(', ')}`);
  if (req.prestartCommand) log.info(`prestart command: ${req.prestartCommand}`);
  for (const v of req.variables) log.info(`variable ${v.name} = ${v.secret ? '********' : v.value}`);
  const begins = content.analysis.start;
  log.info(`starts from: ${begins.startsFrom}${begins.scenario ? ` (${begins.scenario})` : ''}: ${begins.reason}`);

  const runtime = await planRuntimeFiles(site, req.i386Binaries);
  if (runtime === null) {
    log.info(`OSD binaries: none on the media (${site.osdBinaries.problem ?? 'not found'})`);
    if (req.autorun) {
      throw codedInputError(
        'AUTORUN_NEEDS_OSD_BINARIES',
        { problem: site.osdBinaries.problem ?? '' },
        `--autorun: autorun.inf opens SMS\\bin\\x64\\TSMBAutorun.exe, which comes from the site server's OSD binaries, and the site cannot give them: ${site.osdBinaries.problem ?? 'not found'} Or leave --autorun off.`,
      );
    }
  } else {
    checkContentNames(runtime.files);
    const autorunVersion = runtime.versions.get(runtime.autorunTarget.replace(/\\/g, '/'))?.fileVersion ?? 'no version';
    log.info(`OSD binaries: ${runtime.architectures.join(' and ')} from ${runtime.location}, ${runtime.files.length} files, ${runtime.files.reduce((n, f) => n + f.size, 0)} bytes; ${runtime.autorunTarget} ${autorunVersion}`);
  }

  const mediaGuid = newMediaGuid();
  const prestart = req.prestartFiles ? prestartFiles(req.prestartFiles) : [];
  checkContentNames(prestart);
  const env = buildMediaEnvironment({
    siteCode: site.siteCode ?? ts.sourceSite ?? 'XXX',
    mediaGuid,
    password: req.password,
    unattended: req.unattended,
    startDate: start,
    expireDate: expire,
    mediaVariables: req.variables,
    prestartCommand: req.prestartCommand,
    prestartFilesPath: prestart.length ? 'SMS\\PreStart' : null,
    taskSequence: { packageId: ts.packageId ?? req.taskSequenceId, name: ts.name, sequenceXml: ts.sequenceXml, bootImageId: ts.bootImageId },
    packageIds: content.packages.map((p) => p.packageId),
    certificateKeys: await keys,
  });
  const envFiles = [
    bufferFile('SMS/data/TsmBootstrap.ini', env.tsmBootstrapIni, 'environment'),
    bufferFile('SMS/data/Variables.dat', env.variablesDat, 'environment'),
    bufferFile('SMS/data/Policy.xml', env.policyXml, 'environment'),
    ...rootFiles({ label, autorun: req.autorun && runtime ? runtime.autorunTarget : null }),
  ];
  const runtimeFiles = runtime?.files ?? [];
  const boot = content.files.filter((f) => f.role === 'boot');
  const rest = content.files.filter((f) => f.role !== 'boot');
  // A manifest slot of a generous fixed size: file systems are planned before the manifest's parts are known.
  const manifestSize = 4096 + (boot.length + envFiles.length + runtimeFiles.length + rest.length + prestart.length) * 512;
  const manifestIndex = boot.length + envFiles.length;
  const files: MediaFile[] = [...boot, ...envFiles, bufferFile(MANIFEST_PATH, Buffer.alloc(manifestSize, 0x20), 'environment'), ...runtimeFiles, ...rest, ...prestart];
  return { options, content, taskSequence: ts, mediaGuid, runtime, files, manifestIndex, manifestSize };
}

/** The files every disc of a set carries whole: the manifest, and SMS\bin so that any disc starts from Windows. */
export function everyDiscFiles(p: Pick<PreparedMedia, 'files' | 'manifestIndex'>): number[] {
  return [p.manifestIndex, ...p.files.flatMap((f, i) => (f.role === 'runtime' ? [i] : []))];
}

/** The manifest of the media whose files are where `partsOf` says. */
export function buildManifest(p: PreparedMedia, req: MediaRequestBase, discs: number, partsOf: (fileIndex: number) => ManifestPart[]): MediaManifest {
  return {
    format: MANIFEST_FORMAT,
    label: p.options.label,
    mediaGuid: p.mediaGuid,
    created: p.options.timestamp.toISOString(),
    tool: `tsmedia ${packageVersion()}`,
    taskSequence: { packageId: p.taskSequence.packageId, name: p.taskSequence.name },
    discs,
    passwordProtected: req.password !== null,
    secretVariables: req.variables.filter((v) => v.secret).map((v) => v.name),
    files: p.files
      .map((f, i) => ({ f, i }))
      .filter(({ i }) => i !== p.manifestIndex)
      .map(({ f, i }) => ({ path: f.path, size: f.size, sha256: f.sha256, packageId: f.packageId, parts: partsOf(i), ...(f.role === 'runtime' ? { everyDisc: true as const } : {}) })),
  };
}

/** Gives the manifest slot a new reserved size (a disc set whose files are split into many parts needs more). */
export function reserveManifest(p: PreparedMedia, size: number): void {
  p.manifestSize = size;
  p.files[p.manifestIndex] = bufferFile(MANIFEST_PATH, Buffer.alloc(size, 0x20), 'environment');
}

/** Fills the manifest slot (padded with spaces to its reserved size, so the planned layout holds). */
export function finalizeManifest(p: PreparedMedia, req: MediaRequestBase, discs: number, partsOf: (fileIndex: number) => ManifestPart[]): MediaManifest {
  const manifest = buildManifest(p, req, discs, partsOf);
  const bytes = serializeManifest(manifest);
  if (bytes.length > p.manifestSize) throw new Error(`manifest (${bytes.length} bytes) outgrew its reserved ${p.manifestSize} bytes`);
  p.files[p.manifestIndex] = bufferFile(MANIFEST_PATH, Buffer.concat([bytes, Buffer.alloc(p.manifestSize - bytes.length, 0x20)]), 'environment');
  return manifest;
}

export type { Finding };

/**
 * CreateTSMedia.log in the output folder (when there is one) and in the user's log folder (`userLogDir`: undefined for
 * the default, null for none), with the request's secrets masked from the first line on. A file of that name in the
 * output folder that is no CMTrace log is someone else's: it is left as it is, and the log says so.
 */
export function openMediaLog(outputDir: string | null, userLogDir: string | null | undefined, req: MediaRequestBase): CmTraceLog {
  const userDir = userLogDir === undefined ? userLogFolder() : userLogDir;
  const beside = outputDir ? join(outputDir, LOG_FILE_NAME) : null;
  const foreign = beside !== null && !isCmTraceLogOrAbsent(beside);
  const paths = [...(beside && !foreign ? [beside] : []), ...(userDir ? [join(userDir, LOG_FILE_NAME)] : [])];
  const log = new CmTraceLog(paths);
  log.mask(...requestSecrets(req));
  if (foreign) log.warning(`${beside} is not a CMTrace log: it was left as it is, and this run's log is written only here.`);
  return log;
}
