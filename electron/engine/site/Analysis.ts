// Stand-alone analysis of one task sequence: the content it needs, what cannot work offline (SPEC.md "Stand-alone
// media rules"), and which distribution points hold all of that content.
import type {
  AnalysisResult,
  StartClassification,
  DistributionPointStatus,
  Finding,
  MissingContent,
  ReferenceKind,
  ReferenceSummary,
  SequenceSummary,
} from '../../../shared/analysis.js';
import { knownContentOf } from './Catalog.js';
import { InputError } from '../errors.js';
import type { Site } from './Site.js';
import { classifyStart, type WalkedStep } from './StartScenario.js';
import { allSteps, stepClass, stepVariable, type TsStep } from './TaskSequence.js';
import type { TaskSequencePackage } from './TaskSequenceExport.js';

export interface AnalysisOptions {
  /** "Detect associated application dependencies and add them to this media". */
  detectDependencies?: boolean;
}

/** Step variables that name content, with the kind of content they name. */
const CONTENT_VARIABLES: { variable: string; kind: ReferenceKind; list?: boolean }[] = [
  { variable: 'ImagePackageID', kind: 'OperatingSystemImage' },
  { variable: 'OSDApplyDriverDriverPackageID', kind: 'DriverPackage' },
  { variable: '_SMSClientPackageID', kind: 'Package' },
  { variable: '_SMSClientPreProductionPackageID', kind: 'Package' },
  { variable: '_OSDMigrateUsmtPackageID', kind: 'Package' },
  { variable: '_OSDMigrateUsmtRestorePackageID', kind: 'Package' },
  { variable: 'PackageID', kind: 'Package' },
  { variable: 'OSDRunPowerShellScriptPackageID', kind: 'Package' },
  { variable: 'OSDUpgradeInstallPackageID', kind: 'OperatingSystemUpgradePackage' },
  { variable: 'OSDSubTasksequencePackageID', kind: 'TaskSequence' },
  { variable: 'OSDDownloadDownloadPackages', kind: 'Unknown', list: true },
];

const PACKAGE_ID_RE = /^[A-Za-z0-9]{3}[0-9A-Fa-f]{5}$/;
const OS_CLASSES = new Set(['ApplyOperatingSystemAction', 'UpgradeOperatingSystemAction', 'BDD_InstallOS']);
const SOFTWARE_CLASSES = new Set(['InstallSoftwareAction', 'InstallApplicationAction', 'BDD_InstallApplication']);
const UDA_VARIABLES = new Set(['smstsudausers', 'smstsassignusersmode']);

export const CAS_WORKAROUND =
  'WMIC /namespace:\\\\root\\ccm\\policy\\machine\\requestedconfig path ccm_SoftwareDistributionClientConfig CREATE ComponentName="Enable SWDist", Enabled="true", LockSettings="TRUE", PolicySource="local", PolicyVersion="1.0", SiteSettingsKey="1" /NOINTERACTIVE';

/** The package IDs a step names through its variables and command line. */
export function stepContentReferences(step: TsStep): { packageId: string; kind: ReferenceKind }[] {
  const out: { packageId: string; kind: ReferenceKind }[] = [];
  const add = (raw: string, kind: ReferenceKind): void => {
    const id = raw.trim().toUpperCase();
    if (PACKAGE_ID_RE.test(id) && id !== '00000000' && !out.some((o) => o.packageId === id)) out.push({ packageId: id, kind });
  };
  for (const { variable, kind, list } of CONTENT_VARIABLES) {
    const v = stepVariable(step, variable);
    if (!v) continue;
    if (list) for (const part of v.split(/[,;]/)) add(part, kind);
    else add(v, kind);
  }
  if (stepClass(step) === 'ApplyOperatingSystemAction') {
    const m = /\/image:([A-Za-z0-9]{8})/i.exec(step.action);
    if (m) add(m[1], 'OperatingSystemImage');
  }
  return out;
}

/** Application model names an Install Application step lists (ApplicationName, comma-separated). */
function stepApplications(step: TsStep): string[] {
  if (stepClass(step) !== 'InstallApplicationAction') return [];
  const v = stepVariable(step, 'ApplicationName') ?? '';
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function decodeScript(value: string): string {
  // Run PowerShell Script keeps its script as base64 of UTF-16LE (with a BOM); plain text otherwise.
  if (/^[A-Za-z0-9+/=\s]+$/.test(value) && value.length % 4 === 0) {
    const buf = Buffer.from(value, 'base64');
    const text = buf[0] === 0xff && buf[1] === 0xfe ? buf.subarray(2).toString('utf16le') : buf.toString('utf16le');
    return text;
  }
  return value;
}

function enablesSoftwareDistribution(step: TsStep): boolean {
  const cls = stepClass(step);
  if (cls !== 'RunCommandLineAction' && cls !== 'RunPowerShellScriptAction') return false;
  const text = [step.action, ...step.variables.map((v) => (v.name === 'OSDRunPowerShellScriptSourceScript' ? decodeScript(v.value) : v.value))].join('\n');
  return /CCM_SoftwareDistributionClientConfig/i.test(text) && /Enable SWDist/i.test(text);
}

type Walked = WalkedStep;

interface SiteIndex {
  known: ReturnType<typeof knownContentOf>;
  appByModel: Map<string, string>;
  appDeps: Map<string, readonly string[]>;
}
const indexes = new WeakMap<Site, SiteIndex>();

/** What every analysis of a site looks up, made once per site (a live site lists thousands of packages). */
function indexOf(site: Site): SiteIndex {
  let index = indexes.get(site);
  if (!index) {
    const known = knownContentOf(site);
    index = { known, appByModel: new Map(), appDeps: new Map() };
    for (const k of known.values()) {
      if (k.modelName) index.appByModel.set(k.modelName.toLowerCase(), k.packageId);
      index.appDeps.set(k.packageId, k.dependencies);
    }
    indexes.set(site, index);
  }
  return index;
}

class Analyzer {
  private readonly refs = new Map<string, ReferenceSummary>();
  private readonly known;
  private readonly appByModel;
  private readonly appDeps;
  readonly findings: Finding[] = [];
  /** Steps of the task sequence and of its child task sequences, in run order. */
  readonly walked: Walked[] = [];

  constructor(private readonly site: Site) {
    const index = indexOf(site);
    this.known = index.known;
    this.appDeps = index.appDeps;
    // Each analysis adds its own task sequences' application references: a copy (applications only, a few hundred).
    this.appByModel = new Map(index.appByModel);
  }

  addRef(packageId: string, kind: ReferenceKind, via: string, extra: Partial<ReferenceSummary> = {}): void {
    const id = packageId.toUpperCase();
    const k = this.known.get(id);
    let r = this.refs.get(id);
    if (!r) {
      r = {
        packageId: id,
        kind: k && k.kind !== 'Unknown' ? k.kind : kind,
        name: k?.name ?? null,
        version: k?.version ?? null,
        sourceVersion: k?.sourceVersion ?? null,
        via: [],
      };
      this.refs.set(id, r);
    }
    if (r.kind === 'Unknown' && kind !== 'Unknown') r.kind = kind;
    r.name ??= extra.name ?? null;
    r.version ??= extra.version ?? null;
    if (!r.via.includes(via)) r.via.push(via);
  }

  /** Adds a task sequence's references and steps; follows child task sequences, refusing cycles. */
  visit(ts: TaskSequencePackage, chain: string[]): void {
    const label = ts.packageId ?? ts.name;
    if (chain.length === 0 && ts.bootImageId) this.addRef(ts.bootImageId, 'BootImage', 'boot image');
    for (const app of ts.appReferences) this.appByModel.set(app.modelName.toLowerCase(), app.packageId.toUpperCase());
    for (const r of ts.sequence.references) {
      if (r.package && r.package !== '00000000') this.addRef(r.package, 'Unknown', `reference list of ${label}`);
      if (r.application) this.addApplication(r.application, `reference list of ${label}`, ts);
    }
    for (const r of ts.references) {
      if (r.packageId.toUpperCase() === ts.packageId?.toUpperCase()) continue;
      this.addRef(r.packageId, r.kind, `references of ${label}`, { name: r.name, version: r.version });
    }
    for (const step of allSteps(ts.sequence.children)) {
      this.walked.push({ owner: chain.length ? label : '', step });
      const via = `step "${step.name}"${step.disabled ? ' (disabled)' : ''}${chain.length ? ` of ${label}` : ''}`;
      for (const { packageId, kind } of stepContentReferences(step)) {
        this.addRef(packageId, kind, via);
        if (kind === 'TaskSequence' && !step.disabled) this.visitChild(packageId, [...chain, ts.packageId ?? label], step);
      }
      for (const model of stepApplications(step)) this.addApplication(model, via, ts);
    }
  }

  private visitChild(packageId: string, chain: string[], step: TsStep): void {
    const id = packageId.toUpperCase();
    if (chain.some((c) => c.toUpperCase() === id)) {
      throw new InputError(`child task sequences form a cycle: ${[...chain, id].join(' → ')} (step "${step.name}"). Remove the Run Task Sequence step that closes it.`);
    }
    const child = this.site.taskSequence(id);
    if (!child) {
      this.findings.push({
        severity: 'warning',
        code: 'CHILD_TASK_SEQUENCE_NOT_FOUND',
        step: step.name,
        message: `Runs task sequence ${id}, which this site does not hold: its content cannot be checked or added. Export it into the site.`,
      });
      return;
    }
    this.visit(child, chain);
  }

  private addApplication(model: string, via: string, ts: TaskSequencePackage): void {
    const id = this.appByModel.get(model.toLowerCase());
    if (!id) {
      this.findings.push({
        severity: 'warning',
        code: 'APPLICATION_NOT_RESOLVED',
        step: null,
        message: `The application ${model} (${via}) is not in ${ts.packageId ?? ts.name}'s AppReferencesInfo or the site catalog; its content cannot be found. Export the task sequence with its dependencies.`,
      });
      return;
    }
    this.addRef(id, 'Application', via);
  }

  /** Application dependencies, transitively; a cycle is an error naming the chain. */
  addDependencies(): void {
    const apps = [...this.refs.values()].filter((r) => r.kind === 'Application').map((r) => r.packageId);
    const done = new Set<string>();
    const walk = (id: string, chain: string[]): void => {
      if (chain.includes(id)) throw new InputError(`application dependencies form a cycle: ${[...chain, id].join(' → ')}. Fix the dependencies in the console.`);
      if (done.has(id)) return;
      for (const dep of this.appDeps.get(id) ?? []) {
        this.addRef(dep, 'Application', `dependency of ${id}`);
        walk(dep, [...chain, id]);
      }
      done.add(id);
    };
    for (const id of apps) walk(id, []);
  }

  references(): ReferenceSummary[] {
    return [...this.refs.values()].map((r) => ({ ...r }));
  }
}

/** The stand-alone findings for a list of steps in run order (child task sequences' steps included). */
export function standAloneFindings(walked: readonly Walked[], site: Site, bootImageId: string | null): Finding[] {
  const findings: Finding[] = [];
  const enabled = walked.filter((w) => !w.step.disabled);
  const name = (w: Walked): string => (w.owner ? `${w.owner} › ${w.step.name}` : w.step.name);
  const add = (severity: Finding['severity'], code: Finding['code'], w: Walked | null, message: string): void => {
    findings.push({ severity, code, step: w ? name(w) : null, message });
  };

  if (!bootImageId) {
    add('error', 'NO_BOOT_IMAGE', null, 'This task sequence is not associated with a boot image, so stand-alone media cannot be made from it. Set a boot image in its properties (Advanced tab) and export it again.');
  }
  const firstOs = enabled.findIndex((w) => OS_CLASSES.has(stepClass(w.step)));
  if (firstOs < 0) {
    add('warning', 'NO_OS_DEPLOYMENT', null, 'No enabled step deploys an operating system (Apply Operating System Image or Upgrade Operating System). Stand-alone media supports only operating system deployments.');
  }
  let setupIndex = -1;
  let workaround = false;
  let casReported = false;
  enabled.forEach((w, i) => {
    const s = w.step;
    const cls = stepClass(s);
    if (cls === 'AutoApplyAction') {
      add('warning', 'AUTO_APPLY_DRIVERS', w, 'Auto Apply Drivers needs the driver catalog on a management point and fails on stand-alone media. Use Apply Driver Package instead.');
    }
    if (cls === 'DownloadPackageContentAction') {
      add('warning', 'DOWNLOAD_PACKAGE_CONTENT', w, 'Download Package Content enumerates content locations through a management point, which stand-alone media does not have; the step will fail. Reference the packages in other steps instead.');
    }
    if (cls === 'InstallUpdateAction') {
      add('warning', 'SOFTWARE_UPDATES', w, 'Installing software updates is not supported on stand-alone media. Service the operating system image offline instead.');
    }
    if (SOFTWARE_CLASSES.has(cls) && firstOs >= 0 && i < firstOs) {
      add('warning', 'SOFTWARE_BEFORE_OS', w, `Installs software before the operating system is deployed (step "${enabled[firstOs].step.name}"), which stand-alone media does not support. Move it after that step.`);
    }
    if (cls === 'InstallSoftwareAction' && (stepVariable(s, 'BaseVariableName') ?? '').trim() !== '') {
      add('warning', 'DYNAMIC_PACKAGE_INSTALL', w, 'Installs packages from a base variable list (dynamic package install), which stand-alone media does not support. Name each package in its own Install Package step.');
    }
    if (cls === 'InstallApplicationAction' && (stepVariable(s, 'BaseVariableName') ?? '').trim() !== '') {
      add('warning', 'DYNAMIC_APPLICATION_INSTALL', w, 'Installs applications from a base variable list (dynamic application install), which stand-alone media does not support. List the applications in the step instead.');
    }
    if (cls === 'SetupWindowsAndSMSAction') {
      if (setupIndex < 0) setupIndex = i;
      if ((stepVariable(s, '_SMSClientPreProductionPackageID') ?? '').trim() !== '') {
        add('warning', 'PRE_PRODUCTION_CLIENT', w, '"Use pre-production client package when available" is not supported on stand-alone media. Clear that option in Setup Windows and ConfigMgr.');
      }
    }
    if (cls === 'SetVariableAction' && UDA_VARIABLES.has((stepVariable(s, 'VariableName') ?? '').trim().toLowerCase())) {
      add('warning', 'USER_DEVICE_AFFINITY', w, 'Associates users with the computer (user device affinity), which stand-alone media does not support. Remove this step or set affinity after deployment.');
    }
    if (setupIndex >= 0 && i > setupIndex && enablesSoftwareDistribution(s)) workaround = true;
    if (cls === 'InstallSoftwareAction' && site.isCentralAdministrationSite && !workaround && !casReported) {
      casReported = true;
      add(
        'warning',
        'INSTALL_PACKAGE_AT_CAS',
        w,
        `Media made at a central administration site for a task sequence with Install Package fails (WMI method SMS_TaskSequencePackage.GetClientConfigPolicies failed (0x80041001)). Make the media at a primary site, or add a Run Command Line step after Setup Windows and ConfigMgr and before this step that runs: ${CAS_WORKAROUND}`,
      );
    }
  });
  return findings;
}

/** A task sequence started from Windows needs TSMBAutorun.exe on the media: refused where the site cannot give it. */
export function startFindings(start: StartClassification, site: Site): Finding[] {
  const problem = site.osdBinaries.problem;
  // One export analysed on its own has no site to hold OSD binaries: the media's site decides.
  if (start.startsFrom !== 'windows' || problem === null || !site.osdBinaries.looked) return [];
  return [
    {
      severity: 'error',
      code: 'OSD_BINARIES_MISSING',
      step: start.step,
      message: `This task sequence starts in the running Windows, so its media must be started there with SMS\\bin\\x64\\TSMBAutorun.exe, which comes from the site server's OSD\\bin folder; booting the media would run this step in Windows PE, where it fails. The site cannot give those files: ${problem}`,
    },
  ];
}

function globalUdaFindings(ts: TaskSequencePackage): Finding[] {
  return ts.sequence.globalVariables
    .filter((v) => UDA_VARIABLES.has(v.name.toLowerCase()) && v.value.trim() !== '')
    .map((v) => ({
      severity: 'warning' as const,
      code: 'USER_DEVICE_AFFINITY' as const,
      step: null,
      message: `The task sequence sets ${v.name} (user device affinity), which stand-alone media does not support. Remove the variable.`,
    }));
}

/** Which distribution points hold every content reference at the version the site needs. */
export async function distributionPointStatus(site: Site, refs: readonly ReferenceSummary[]): Promise<DistributionPointStatus[]> {
  const needed = refs.filter((r) => r.kind !== 'TaskSequence');
  const out: DistributionPointStatus[] = [];
  for (const dp of site.distributionPoints) {
    if (!dp.library) {
      out.push({ name: dp.name, hasAllContent: false, missing: needed.map((r) => r.packageId), details: needed.map((r) => ({ packageId: r.packageId, reason: 'unreadable', have: [], want: r.sourceVersion })), error: dp.error });
      continue;
    }
    const details: MissingContent[] = [];
    for (const r of needed) {
      const pkg = await dp.library.package(r.packageId);
      if (!pkg) details.push({ packageId: r.packageId, reason: 'absent', have: [], want: r.sourceVersion });
      else if (pkg.contentIds.length === 0) details.push({ packageId: r.packageId, reason: 'no-content', have: [], want: r.sourceVersion });
      else if (r.sourceVersion !== null && pkg.versions.length > 0 && !pkg.versions.includes(r.sourceVersion)) {
        details.push({ packageId: r.packageId, reason: 'older-version', have: pkg.versions, want: r.sourceVersion });
      }
    }
    out.push({ name: dp.name, hasAllContent: details.length === 0, missing: details.map((d) => d.packageId), details, error: null });
  }
  return out;
}

export async function analyzeTaskSequence(site: Site, ts: TaskSequencePackage, options: AnalysisOptions = {}): Promise<AnalysisResult> {
  const a = new Analyzer(site);
  a.visit(ts, []);
  if (options.detectDependencies) a.addDependencies();
  const start = classifyStart(a.walked);
  const findings = [...startFindings(start, site), ...standAloneFindings(a.walked, site, ts.bootImageId), ...globalUdaFindings(ts), ...a.findings];
  const references = a.references();
  return {
    packageId: ts.packageId,
    name: ts.name,
    bootImageId: ts.bootImageId,
    source: ts.source,
    steps: [...allSteps(ts.sequence.children)].map((s) => ({ type: s.type, name: s.name, disabled: s.disabled, path: s.path })),
    references,
    findings,
    distributionPoints: await distributionPointStatus(site, references),
    start,
    // The boot files' signatures are read by the media layer (media/BootImageSignatures.ts, analyzeForMedia).
    secureBoot: null,
  };
}

export async function summarizeSequences(site: Site): Promise<SequenceSummary[]> {
  const out: SequenceSummary[] = [];
  const ordered = [...site.taskSequences].sort((a, b) => (a.packageId ?? '\uffff').localeCompare(b.packageId ?? '\uffff'));
  for (const ts of ordered) {
    let codes: Finding['code'][] = [];
    let reason: string | null = null;
    let startsFrom: SequenceSummary['startsFrom'] = null;
    try {
      const a = new Analyzer(site);
      a.visit(ts, []);
      const start = classifyStart(a.walked);
      startsFrom = start.startsFrom;
      codes = [...startFindings(start, site), ...standAloneFindings(a.walked, site, ts.bootImageId), ...globalUdaFindings(ts), ...a.findings].map((f) => f.code);
    } catch (err) {
      reason = (err as Error).message;
    }
    if (!ts.bootImageId) reason = ts.packageId ? 'Not associated with a boot image: stand-alone media needs one (task sequence properties, Advanced tab).' : 'A bare sequence file has no package ID and no boot image: import it into ConfigMgr, set a boot image and export it.';
    out.push({ packageId: ts.packageId, name: ts.name, bootImageId: ts.bootImageId, selectable: reason === null, reason, findings: [...new Set(codes)], source: ts.source, startsFrom });
  }
  return out;
}
