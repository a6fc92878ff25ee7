// Creates a stand-alone CD/DVD set: plan → environment → discs → write (worker) → read back → commit by rename, with
// the CMTrace log, the manifest and the media report. Earlier output is never touched until the new set is complete.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Finding } from '../../shared/analysis.js';
import type { IsoMediaRequest, MediaProgress } from '../../shared/media.js';
import { discBlocks, discFileName } from '../../shared/media.js';
import { variableNameProblem, variableValueProblem } from '../../shared/variables.js';
import { CmTraceLog, userLogFolder } from './CmTraceLog.js';
import { packDiscs, type Disc } from './DiscSet.js';
import { InputError, describeFsError } from './errors.js';
import { CancelledError } from './ImageWriter.js';
import { runImageJobs, type WorkerJob } from './ImageJobs.js';
import { measureIso, planIso, type IsoFile, type IsoPlan } from './IsoImage.js';
import { MANIFEST_FORMAT, MANIFEST_PATH, serializeManifest, type ManifestFile, type MediaManifest } from './Manifest.js';
import { bufferFile, checkLabel, newMediaGuid, planContent, prestartFiles, rootFiles, type MediaFile, type PlannedContent } from './MediaPlan.js';
import { MediaReport, writeReportFiles } from './MediaReport.js';
import { packageVersion } from './paths.js';
import { ProgressReporter } from './Progress.js';
import { checkFreeSpace, commit, removeQuietly, removeStalePartials, tempPathFor, writeTempFile } from './SafeOutput.js';
import type { Site } from './Site.js';
import { buildMediaEnvironment } from './TsEnvironment.js';

export interface CreateMediaOptions {
  signal?: AbortSignal;
  onProgress?: (p: MediaProgress) => void;
  /** Called once the plan is known, before anything is written (the CLI prints warnings and the disc plan). */
  onPlan?: (summary: PlanSummary) => void;
  /** Where CreateTSMedia.log also goes besides the output folder; default the user's log folder. */
  userLogDir?: string | null;
}

export interface PlanSummary {
  warnings: Finding[];
  discs: { file: string; bytes: number; files: number }[];
  packages: PlannedContent['packages'];
  totalBytes: number;
  passwordProtected: boolean;
}

export interface CreatedDisc {
  path: string;
  bytes: number;
  sha256: string;
}

export interface CreateMediaResult {
  discs: CreatedDisc[];
  mediaGuid: string;
  manifest: MediaManifest;
  reportFiles: string[];
  logFiles: string[];
  warnings: Finding[];
  verified: boolean;
}

const PASSWORDLESS_NOTE =
  'No password: the task sequence environment (steps and variables) is encrypted with ConfigMgr\'s public fixed key and can be read by anyone who has the media.';

export function parseMediaDate(value: string | null, field: string): Date | null {
  if (value === null || value.trim() === '') return null;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? `${value.trim()}T00:00:00Z` : value.trim());
  if (Number.isNaN(d.getTime())) throw new InputError(`${field}: "${value}" is not a date (use YYYY-MM-DD or an ISO 8601 date and time).`);
  return d;
}

/** Checks what can be checked before any content is read. */
export function validateRequest(req: IsoMediaRequest): { label: string; start: Date | null; expire: Date | null; timestamp: Date } {
  const label = checkLabel(req.label);
  const start = parseMediaDate(req.startDate, '--start');
  const expire = parseMediaDate(req.expireDate, '--expire');
  if (start && expire && expire.getTime() <= start.getTime()) throw new InputError('--expire must be after --start.');
  const seen = new Set<string>();
  for (const v of req.variables) {
    const p = variableNameProblem(v.name) ?? variableValueProblem(v.name, v.value);
    if (p) throw new InputError(`variable ${v.name || '(empty name)'}: ${p}`);
    if (seen.has(v.name.toLowerCase())) throw new InputError(`variable ${v.name} is given twice (names are case-insensitive).`);
    seen.add(v.name.toLowerCase());
  }
  if (req.password !== null && req.password.length === 0) throw new InputError('the password is empty; give a password or none.');
  if (req.prestartFiles && !req.prestartCommand) throw new InputError('--prestart-files needs --prestart (the command that uses them).');
  if (!/\.iso$/i.test(req.out)) throw new InputError(`--out ${req.out}: the media file must end in .iso.`);
  const outDir = dirname(resolve(req.out));
  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) throw new InputError(`--out ${req.out}: the folder ${outDir} does not exist. Create it first.`);
  if (existsSync(req.out) && statSync(req.out).isDirectory()) throw new InputError(`--out ${req.out} is a folder; give the path of the first ISO file.`);
  if (req.staging) {
    try {
      if (!statSync(req.staging).isDirectory()) throw new Error('not a folder');
    } catch (err) {
      throw new InputError(`--staging: ${describeFsError(err, req.staging)}`);
    }
  }
  const timestamp = req.timestamp ? parseMediaDate(req.timestamp, '--timestamp') ?? new Date() : new Date();
  return { label, start, expire, timestamp };
}

function isoFilesFor(disc: Disc, files: readonly MediaFile[]): IsoFile[] {
  return disc.parts.map((p) => ({ path: p.path, source: files[p.file].source, sourceOffset: p.sourceOffset, size: p.size }));
}

export async function createIsoSet(site: Site, req: IsoMediaRequest, options: CreateMediaOptions = {}): Promise<CreateMediaResult> {
  const { label, start, expire, timestamp } = validateRequest(req);
  const out = resolve(req.out);
  const outDir = dirname(out);
  const logPaths = [join(outDir, 'CreateTSMedia.log')];
  const userDir = options.userLogDir === undefined ? userLogFolder() : options.userLogDir;
  if (userDir) logPaths.push(join(userDir, 'CreateTSMedia.log'));
  const log = new CmTraceLog(logPaths);
  const secrets = [req.password ?? '', ...req.variables.filter((v) => v.secret).map((v) => v.value)].filter((s) => s !== '');
  log.mask(...secrets);
  const progress = new ProgressReporter((p) => options.onProgress?.(p));
  const temps: string[] = [];
  try {
    log.info(`tsmedia ${packageVersion()}: creating stand-alone media (CD/DVD set) for task sequence ${req.taskSequenceId} from site ${site.root}`);
    progress.begin('plan', 0);
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
    log.info(`options: media size ${String(req.size)}, label "${label}", unattended ${req.unattended}, autorun ${req.autorun}, password ${req.password ? 'set' : 'none'}, start ${start?.toISOString() ?? 'none'}, expire ${expire?.toISOString() ?? 'none'}, distribution points ${content.distributionPoints.join(', ')}`);
    if (!req.password) log.warning(PASSWORDLESS_NOTE);
    for (const p of content.packages) log.info(`package ${p.packageId} (${p.kind}${p.name ? `, ${p.name}` : ''}): ${p.files} files, ${p.bytes} bytes from ${p.distributionPoint}, content ${p.contentIds.join(', ')}`);
    if (req.prestartCommand) log.info(`prestart command: ${req.prestartCommand}`);
    for (const v of req.variables) log.info(`variable ${v.name} = ${v.secret ? '********' : v.value}`);

    const mediaGuid = newMediaGuid();
    const prestart = req.prestartFiles ? prestartFiles(req.prestartFiles) : [];
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
      taskSequence: { packageId: ts.packageId ?? req.taskSequenceId, name: ts.name, sequenceXml: ts.sequenceXml },
      packageIds: content.packages.map((p) => p.packageId),
    });
    const envFiles = [
      bufferFile('SMS/data/TsmBootstrap.ini', env.tsmBootstrapIni, 'environment'),
      bufferFile('SMS/data/Variables.dat', env.variablesDat, 'environment'),
      bufferFile('SMS/data/Policy.xml', env.policyXml, 'environment'),
      ...rootFiles({ label, autorun: req.autorun }),
    ];
    const boot = content.files.filter((f) => f.role === 'boot');
    const rest = content.files.filter((f) => f.role !== 'boot');
    // Placeholder manifest of a generous fixed size: packing needs its size before its parts are known.
    const placeholderSize = 4096 + (boot.length + envFiles.length + rest.length + prestart.length) * 512;
    const manifestIndex = boot.length + envFiles.length;
    const files: MediaFile[] = [...boot, ...envFiles, bufferFile(MANIFEST_PATH, Buffer.alloc(placeholderSize, 0x20), 'environment'), ...rest, ...prestart];

    const isoOptions = (disc: Disc, fileList: readonly MediaFile[]): Parameters<typeof planIso>[0] => ({
      volumeId: label,
      files: isoFilesFor(disc, fileList),
      directories: disc.directories,
      bootBios: disc.parts.some((p) => p.path === content.bootBios) ? content.bootBios : null,
      bootEfi: disc.parts.some((p) => p.path === content.bootEfi) ? content.bootEfi : null,
      timestamp,
      applicationId: `TSMEDIA ${packageVersion()}`,
    });
    const discs = packDiscs(files, content.directories, discBlocks(req.size), (d) => measureIso(isoOptions(d, files)).blocks);

    // The real manifest, padded to the placeholder's size so the packing holds.
    const partsOf = new Map<number, ManifestFile['parts']>();
    discs.forEach((d, i) => d.parts.forEach((p) => partsOf.set(p.file, [...(partsOf.get(p.file) ?? []), { disc: i + 1, offset: p.sourceOffset, size: p.size }])));
    const manifest: MediaManifest = {
      format: MANIFEST_FORMAT,
      label,
      mediaGuid,
      created: timestamp.toISOString(),
      tool: `tsmedia ${packageVersion()}`,
      taskSequence: { packageId: ts.packageId, name: ts.name },
      discs: discs.length,
      passwordProtected: req.password !== null,
      secretVariables: req.variables.filter((v) => v.secret).map((v) => v.name),
      files: files
        .map((f, i) => ({ f, i }))
        .filter(({ i }) => i !== manifestIndex)
        .map(({ f, i }) => ({ path: f.path, size: f.size, sha256: f.sha256, packageId: f.packageId, parts: partsOf.get(i) ?? [] })),
    };
    const manifestBytes = serializeManifest(manifest);
    if (manifestBytes.length > placeholderSize) throw new Error(`manifest (${manifestBytes.length} bytes) outgrew its reserved ${placeholderSize} bytes`);
    files[manifestIndex] = bufferFile(MANIFEST_PATH, Buffer.concat([manifestBytes, Buffer.alloc(placeholderSize - manifestBytes.length, 0x20)]), 'environment');
    // Every disc carries the manifest, so any one of them tells what the set holds.
    for (const d of discs.slice(1)) d.parts.unshift({ file: manifestIndex, path: MANIFEST_PATH, sourceOffset: 0, size: placeholderSize });
    const plans: IsoPlan[] = discs.map((d) => planIso(isoOptions({ ...d, directories: [...new Set([...d.directories, 'SMS', 'SMS/data'])].sort() }, files)));
    const capacity = discBlocks(req.size);
    plans.forEach((p, i) => {
      if (p.blocks > capacity) throw new Error(`disc ${i + 1} needs ${p.blocks} blocks, more than its ${capacity}`);
    });

    const finals = discs.map((_, i) => discFileName(out, i + 1));
    const totalBytes = plans.reduce((s, p) => s + p.size, 0);
    options.onPlan?.({
      warnings: content.warnings,
      discs: plans.map((p, i) => ({ file: finals[i], bytes: p.size, files: discs[i].parts.length })),
      packages: content.packages,
      totalBytes,
      passwordProtected: req.password !== null,
    });
    log.info(`plan: ${discs.length} disc(s), ${totalBytes} bytes: ${finals.map((f, i) => `${basename(f)} ${plans[i].size} bytes`).join(', ')}`);
    checkFreeSpace(outDir, totalBytes + 4 * 1024 * 1024, `--out ${req.out}`);
    for (const p of removeStalePartials(finals)) log.info(`removed a partial file an interrupted run left: ${p}`);

    // Write every disc under a temporary name, in one worker so a file split across discs is checked whole.
    const discTemps = finals.map((f) => tempPathFor(f));
    temps.push(...discTemps);
    const jobs: WorkerJob[] = plans.map((p, i) => ({ kind: 'write', path: discTemps[i], layout: { size: p.size, regions: p.regions, extents: p.extents } }));
    progress.begin('write', totalBytes, discs.length);
    const offsets = plans.map((_, i) => plans.slice(0, i).reduce((s, p) => s + p.size, 0));
    const written = await runImageJobs(jobs, {
      signal: options.signal,
      onProgress: (i, bytes, path) => progress.update(offsets[i] + bytes, path, i + 1),
    });
    progress.flush();
    written.forEach((w, i) => log.info(`wrote ${basename(finals[i])}: ${w.bytes} bytes, SHA-256 ${w.sha256}`));

    let verified = false;
    if (!req.skipVerify) {
      progress.begin('verify', totalBytes, discs.length);
      const reread = await runImageJobs(
        discTemps.map((path) => ({ kind: 'hash', path })),
        { signal: options.signal, onProgress: (i, bytes) => progress.update(offsets[i] + bytes, basename(finals[i]), i + 1) },
      );
      progress.flush();
      reread.forEach((r, i) => {
        if (r.sha256 !== written[i].sha256 || r.bytes !== written[i].bytes) {
          throw new InputError(`${basename(finals[i])}: reading the written image back gave different bytes (SHA-256 ${r.sha256}, written ${written[i].sha256}). The destination disk may be failing; nothing was replaced.`);
        }
      });
      verified = true;
      log.info(`verified: every disc read back identical (${discs.length} disc(s))`);
    }

    progress.begin('finalize', 0, discs.length);
    const report = new MediaReport({ request: req, label, mediaGuid, content, manifest, discs: finals.map((f, i) => ({ path: f, bytes: written[i].bytes, sha256: written[i].sha256 })), start, expire, timestamp, verified });
    const extra: { temp: string; final: string }[] = [];
    finals.forEach((f, i) => {
      const temp = tempPathFor(`${f}.sha256`);
      temps.push(temp);
      writeTempFile(temp, `${written[i].sha256}  ${basename(f)}\n`);
      extra.push({ temp, final: `${f}.sha256` });
    });
    const reportPairs = writeReportFiles(report, out, (final) => {
      const t = tempPathFor(final);
      temps.push(t);
      return t;
    });
    commit([...finals.map((f, i) => ({ temp: discTemps[i], final: f })), ...extra, ...reportPairs]);
    temps.length = 0;
    log.info(`done: ${finals.join(', ')}`);
    progress.begin('done', totalBytes, discs.length);
    progress.update(totalBytes, null);
    progress.flush();
    return {
      discs: finals.map((f, i) => ({ path: f, bytes: written[i].bytes, sha256: written[i].sha256 })),
      mediaGuid,
      manifest,
      reportFiles: reportPairs.map((p) => p.final),
      logFiles: logPaths,
      warnings: content.warnings,
      verified,
    };
  } catch (err) {
    removeQuietly(temps);
    if (err instanceof CancelledError) log.warning('cancelled by the user; nothing was replaced and the partial files were removed.');
    else log.error(`failed: ${(err as Error).message}`);
    throw err;
  } finally {
    log.close();
  }
}
