// The analysis contract: what the engine reports about a task sequence, shared by the CLI, the IPC layer and the UI.
import type { SecureBootReadiness } from './secureBoot.js';

/** Kinds of content a task sequence can reference (SMS_TaskSequenceReferencesInfo.ReferencePackageType, named). */
export type ReferenceKind =
  | 'BootImage'
  | 'OperatingSystemImage'
  | 'OperatingSystemUpgradePackage'
  | 'DriverPackage'
  | 'Package'
  | 'Application'
  | 'TaskSequence'
  | 'SoftwareUpdatePackage'
  | 'Unknown';

export const REFERENCE_KINDS: readonly ReferenceKind[] = [
  'BootImage',
  'OperatingSystemImage',
  'OperatingSystemUpgradePackage',
  'DriverPackage',
  'Package',
  'Application',
  'TaskSequence',
  'SoftwareUpdatePackage',
  'Unknown',
];

/** ConfigMgr's numeric package types, as written in ReferencesInfo.xml. */
export function kindFromPackageType(type: number): ReferenceKind {
  switch (type) {
    case 0:
      return 'Package';
    case 3:
      return 'DriverPackage';
    case 4:
      return 'TaskSequence';
    case 5:
      return 'SoftwareUpdatePackage';
    case 257:
      return 'OperatingSystemImage';
    case 258:
      return 'BootImage';
    case 259:
      return 'OperatingSystemUpgradePackage';
    case 512:
      return 'Application';
    default:
      return 'Unknown';
  }
}

export type Severity = 'error' | 'warning' | 'info';

/** Stable finding codes; the first eleven are the stand-alone rules of SPEC.md. */
export type FindingCode =
  | 'AUTO_APPLY_DRIVERS'
  | 'DOWNLOAD_PACKAGE_CONTENT'
  | 'SOFTWARE_UPDATES'
  | 'SOFTWARE_BEFORE_OS'
  | 'NO_OS_DEPLOYMENT'
  | 'USER_DEVICE_AFFINITY'
  | 'DYNAMIC_PACKAGE_INSTALL'
  | 'DYNAMIC_APPLICATION_INSTALL'
  | 'PRE_PRODUCTION_CLIENT'
  | 'INSTALL_PACKAGE_AT_CAS'
  | 'NO_BOOT_IMAGE'
  | 'CHILD_TASK_SEQUENCE_NOT_FOUND'
  | 'APPLICATION_NOT_RESOLVED'
  | 'OSD_BINARIES_MISSING'
  | 'BOOT_MANAGER_PCA_2011_ONLY';

export interface Finding {
  severity: Severity;
  code: FindingCode;
  /** The step's name, or null for findings about the whole task sequence. */
  step: string | null;
  message: string;
}

export interface StepSummary {
  /** The step's `type` attribute; null where the XML has none (MDT templates have such steps). */
  type: string | null;
  name: string;
  /** Effective state: a step inside a disabled group is disabled. */
  disabled: boolean;
  /** Names of the enclosing groups, outermost first. */
  path: string[];
}

export interface ReferenceSummary {
  packageId: string;
  kind: ReferenceKind;
  name: string | null;
  /** The version shown by the console (ReferenceVersion), when known. */
  version: string | null;
  /** The content (source) version the distribution points must hold, when the site knows it. */
  sourceVersion: number | null;
  /** Why the task sequence needs it: reference list, boot image, a step, a child task sequence, a dependency. */
  via: string[];
}

export interface MissingContent {
  packageId: string;
  reason: 'absent' | 'older-version' | 'no-content' | 'unreadable';
  /** Versions the distribution point holds (for older-version). */
  have: number[];
  want: number | null;
}

export interface DistributionPointStatus {
  name: string;
  hasAllContent: boolean;
  missing: string[];
  details: MissingContent[];
  /** Set when the content library could not be read at all. */
  error: string | null;
}

/**
 * Where a task sequence's media is started. 'boot': the computer boots from the media (a new computer, bare metal).
 * 'windows': from the running Windows, with SMS\bin\<arch>\TSMBAutorun.exe (refresh and upgrade): its first steps
 * run in the full operating system. 'either': its steps allow both (nothing decides, or the full-OS steps are kept for
 * a start from Windows by a condition on _SMSTSInWinPE).
 */
export type StartsFrom = 'boot' | 'windows' | 'either';

/** The three uses of stand-alone media in Microsoft's article, where the steps show one. */
export type StartScenario = 'new-computer' | 'refresh' | 'upgrade';

export interface StartClassification {
  startsFrom: StartsFrom;
  scenario: StartScenario | null;
  /** The step that decides it ("Group › Step" inside a child task sequence), null where no step does. */
  step: string | null;
  /** Why, in a sentence naming the step and what it is. */
  reason: string;
}

/** The site server's OSD binaries (OSD\bin\<arch>) as the site offers them to the media. */
export interface OsdBinariesSummary {
  /** Where they were looked for or found: a folder in the site, the descriptor's path, or the site server's share. */
  location: string | null;
  origin: 'site-folder' | 'descriptor' | 'site-server-share' | null;
  /** Architectures present and usable ("x64", "i386"), each with its file count and bytes. */
  architectures: { name: OsdArchitecture; files: number; bytes: number }[];
  /** Why they cannot be used (absent, unreadable, lacking TSMBAutorun.exe); null when x64 is usable. */
  problem: string | null;
}

export type OsdArchitecture = 'x64' | 'i386';

export interface AnalysisResult {
  packageId: string | null;
  name: string;
  bootImageId: string | null;
  source: string;
  steps: StepSummary[];
  references: ReferenceSummary[];
  findings: Finding[];
  distributionPoints: DistributionPointStatus[];
  /** Whether the media is booted or started from the running Windows. */
  start: StartClassification;
  /** The boot image's EFI boot files and their signatures; null when no distribution point holds its content. */
  secureBoot: SecureBootReadiness | null;
}

export interface SequenceSummary {
  /** Null for a bare sequence XML file. */
  packageId: string | null;
  name: string;
  bootImageId: string | null;
  selectable: boolean;
  /** Why the task sequence cannot be chosen; null when it can. */
  reason: string | null;
  findings: FindingCode[];
  source: string;
  /** Null when the task sequence could not be read far enough to say. */
  startsFrom: StartsFrom | null;
}

export interface CatalogItem {
  packageId: string;
  name: string | null;
  kind: ReferenceKind;
  version: string | null;
  sourceVersion: number | null;
  /** Bytes of the current content, from the first content library that holds it; null when no library does. */
  sizeBytes: number | null;
  /** Application model name (ScopeId_…/Application_…), for applications. */
  modelName: string | null;
  /** Package IDs this item depends on (application dependencies). */
  dependencies: string[];
  /** Distribution points holding the current content. */
  distributionPoints: string[];
}

/** Finding codes that refuse media creation (the others are warnings the user acknowledges). */
export function isBlocking(f: Pick<Finding, 'severity'>): boolean {
  return f.severity === 'error';
}
