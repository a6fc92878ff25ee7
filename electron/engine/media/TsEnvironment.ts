// The task sequence environment on stand-alone media (SPEC.md "What ConfigMgr puts on stand-alone media"):
// SMS\data\TsmBootstrap.ini, SMS\data\Variables.dat and SMS\data\Policy.xml, encrypted the way ConfigMgr does so that
// the public decoders of ConfigMgr media (PXEThief and its forks, hashcat mode 19850) read what we write.
//
// Its parts, each its own module: environment/MediaFileCrypto (the encrypted file format), environment/EnvironmentXml
// (the XML inside, the bootstrap INI, dates), environment/MediaCertificate (the PKCS#12 certificate); this module puts
// them together.
import { MAX_VARIABLE_VALUE, variableNameIssue, variableValueIssue } from '../../../shared/variables.js';
import { InputError, codedInputError } from '../errors.js';
import { BLANK_PASSWORD_KEY, encryptMediaFile, type AesBits } from './environment/MediaFileCrypto.js';
import { buildPolicyXml, buildTsmBootstrapIni, buildVariablesXml, mediaDateValue, xmlCharProblem, type SecretMediaVariable } from './environment/EnvironmentXml.js';
import { buildMediaPfx, type MediaKeyPair } from './environment/MediaCertificate.js';

export * from './environment/MediaFileCrypto.js';
export * from './environment/EnvironmentXml.js';
export * from './environment/MediaCertificate.js';

// ---------------------------------------------------------------------------------------------------------------
// The whole environment

/**
 * Names of the variables ConfigMgr's own and ours. "real": seen on real media or in public tools that read real
 * media; "ours": no public source shows ConfigMgr's name, so this one is tsmedia's choice.
 */
export const MEDIA_VARIABLE_NAMES = {
  /** real (PXEThief): the media GUID; the Policy.xml key when the media has no password. */
  mediaGuid: '_SMSMediaGuid',
  /** real (PXEThief). */
  siteCode: '_SMSTSSiteCode',
  /** real (PXEThief): hex of a PFX whose password is the first 31 characters of the media GUID. */
  mediaPfx: '_SMSTSMediaPFX',
  /** real (PXEThiefUp reads it from stand-alone media): "true". */
  standAloneMedia: '_SMSTSStandAloneMedia',
  /** real (PXEThiefUp reads it): the branding title. */
  brandingTitle: '_SMSTSBrandingTitle',
  /** real (Microsoft's docs: the wizard sets _SMSTSMediaType on the media): "FullMedia" for stand-alone media. */
  mediaType: '_SMSTSMediaType',
  /** real (a public prestart script reads it): expiration date, "<high>;<low>" of a FILETIME (UTC). */
  mediaExpire: '_SMSTSMEDIAEXPIRE',
  /** ours: start date, same format as _SMSTSMEDIAEXPIRE. */
  mediaStart: '_SMSTSMEDIASTART',
  /** ours: "true" when unattended deployment is allowed (TsmBootstrap.ini carries it as Unattended=). */
  unattended: '_SMSTSUnattended',
  /** ours: the prestart command line. */
  prestartCommand: '_SMSTSPreStartCommandLine',
  /** ours: where the prestart command's files are on the media. */
  prestartFiles: '_SMSTSPreStartFilesPath',
  /** ours: the package IDs on the media, comma-separated (the form of OSDDownloadDownloadPackages). */
  packages: '_SMSTSMediaPackageIDs',
} as const;

export interface MediaEnvironmentInput {
  siteCode: string;
  /** The media GUID (the caller makes one; tests pass a fixed one). */
  mediaGuid: string;
  /** null: the media has no password (Variables.dat uses BLANK_PASSWORD_KEY, Policy.xml the media GUID). */
  password: string | null;
  unattended: boolean;
  startDate: Date | null;
  expireDate: Date | null;
  mediaVariables: readonly SecretMediaVariable[];
  prestartCommand: string | null;
  /** Where the prestart command's files are on the media, or null. */
  prestartFilesPath: string | null;
  taskSequence: { packageId: string; name: string; sequenceXml: string; bootImageId?: string | null; type?: number };
  /** The packages on the media. */
  packageIds: readonly string[];
  /** ADV_AdvertisementID of the policy. Stand-alone media has no deployment; default `<site code>20000`. */
  advertisementId?: string;
  /** _SMSTSBrandingTitle; default "IT Organization". */
  brandingTitle?: string;
  /** AES key size; default 128 (the algorithm in every published header). */
  encryption?: AesBits;
  /** Put _SMSTSMediaPFX in Variables.dat (a new RSA key each time); default true. */
  mediaCertificate?: boolean;
  /** "Now", for the certificate's validity when no start date is given. */
  now?: Date;
  /** The media certificate's key pair (made ahead, off the main thread); default one made when needed. */
  certificateKeys?: MediaKeyPair;
}

export interface MediaEnvironment {
  variablesDat: Buffer;
  policyXml: Buffer;
  tsmBootstrapIni: Buffer;
  mediaGuid: string;
  /** Everything in Variables.dat, in order; secret ones must never be shown or logged. */
  variables: SecretMediaVariable[];
}

const GUID_RE = /^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$/;

function validDate(d: Date | null, what: string): Date | null {
  if (d === null) return null;
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new InputError(`The media ${what} date is not a valid date.`);
  return d;
}

/** Checks the administrator's media variables; every error names the variable. */
export function validateMediaVariables(vars: readonly SecretMediaVariable[]): void {
  const seen = new Map<string, string>();
  for (const v of vars) {
    const nameIssue = variableNameIssue(v.name);
    if (nameIssue) throw codedInputError('VARIABLE_NAME_INVALID', { issue: nameIssue.code, ...nameIssue.params, name: v.name }, `Media variable "${v.name}": ${nameIssue.message}`);
    const valueIssue = variableValueIssue(v.name, v.value);
    if (valueIssue) throw codedInputError('VARIABLE_VALUE_INVALID', { issue: valueIssue.code, ...valueIssue.params }, `Media variable "${v.name}": ${valueIssue.message}`);
    const bad = xmlCharProblem(v.value);
    if (bad) throw new InputError(`Media variable "${v.name}": its value holds ${bad}, which media variables cannot carry.`);
    const key = v.name.toLowerCase();
    const before = seen.get(key);
    if (before !== undefined) {
      throw new InputError(`Media variable "${v.name}" is defined twice (also as "${before}"); variable names are not case-sensitive.`);
    }
    seen.set(key, v.name);
  }
}

export function buildMediaEnvironment(input: MediaEnvironmentInput): MediaEnvironment {
  const N = MEDIA_VARIABLE_NAMES;
  if (!/^[A-Za-z0-9]{3}$/.test(input.siteCode)) throw new InputError(`"${input.siteCode}" is not a site code (three letters or digits).`);
  const siteCode = input.siteCode.toUpperCase();
  if (!GUID_RE.test(input.mediaGuid)) throw new InputError(`"${input.mediaGuid}" is not a GUID; the media GUID must be one.`);
  if (input.password !== null && input.password.length === 0) {
    throw new InputError('The media password cannot be empty; give none to make media without a password.');
  }
  const start = validDate(input.startDate, 'start');
  const expire = validDate(input.expireDate, 'expiration');
  if (start && expire && expire.getTime() <= start.getTime()) {
    throw new InputError(`The media expiration date (${expire.toISOString()}) must be after its start date (${start.toISOString()}).`);
  }
  validateMediaVariables(input.mediaVariables);

  const own: SecretMediaVariable[] = [];
  const add = (name: string, value: string, secret = false): void => {
    own.push({ name, value, secret });
  };
  add(N.siteCode, siteCode);
  add(N.mediaGuid, input.mediaGuid);
  add(N.mediaType, 'FullMedia');
  add(N.standAloneMedia, 'true');
  add(N.brandingTitle, input.brandingTitle ?? 'IT Organization');
  add(N.unattended, String(input.unattended));
  if (start) add(N.mediaStart, mediaDateValue(start));
  if (expire) add(N.mediaExpire, mediaDateValue(expire));

  if (input.prestartCommand !== null) {
    const cmd = input.prestartCommand;
    if (cmd.trim() === '') throw new InputError('The prestart command is empty; give none to have no prestart command.');
    if (cmd.length > MAX_VARIABLE_VALUE) throw new InputError(`The prestart command has ${cmd.length} characters; at most ${MAX_VARIABLE_VALUE} are allowed.`);
    const bad = xmlCharProblem(cmd);
    if (bad) throw new InputError(`The prestart command holds ${bad}.`);
    add(N.prestartCommand, cmd);
    if (input.prestartFilesPath !== null) {
      if (input.prestartFilesPath.trim() === '') throw new InputError('The path of the prestart command\'s files is empty.');
      add(N.prestartFiles, input.prestartFilesPath);
    }
  } else if (input.prestartFilesPath !== null) {
    throw new InputError('Files for the prestart command were given, but no prestart command.');
  }

  const packages: string[] = [];
  const seenPackages = new Set<string>();
  for (const id of [input.taskSequence.packageId, ...input.packageIds]) {
    if (!/^[A-Za-z0-9]{8}$/.test(id)) throw new InputError(`"${id}" is not a package ID (eight letters or digits).`);
    const upper = id.toUpperCase();
    if (!seenPackages.has(upper)) {
      seenPackages.add(upper);
      packages.push(upper);
    }
  }
  add(N.packages, packages.join(','));

  if (input.mediaCertificate ?? true) {
    const notBefore = start ?? input.now ?? new Date();
    const notAfter = expire ?? new Date(notBefore.getTime() + 365 * 86_400_000);
    add(N.mediaPfx, buildMediaPfx(input.mediaGuid, { notBefore, notAfter, keys: input.certificateKeys }).toString('hex').toUpperCase(), true);
  }

  const variables = [...own, ...input.mediaVariables.map((v) => ({ name: v.name, value: v.value, secret: v.secret }))];
  const bits = input.encryption ?? 128;
  const policy = buildPolicyXml({
    packageId: input.taskSequence.packageId.toUpperCase(),
    name: input.taskSequence.name,
    advertisementId: input.advertisementId ?? `${siteCode}20000`,
    sequenceXml: input.taskSequence.sequenceXml,
    siteCode,
    bootImageId: input.taskSequence.bootImageId ?? null,
    type: input.taskSequence.type,
  });
  const variablesKey = input.password ?? BLANK_PASSWORD_KEY;
  const policyKey = input.password ?? input.mediaGuid;
  return {
    variablesDat: encryptMediaFile(buildVariablesXml(variables), variablesKey, bits),
    policyXml: encryptMediaFile(policy, policyKey, bits),
    tsmBootstrapIni: Buffer.from(buildTsmBootstrapIni({ passwordRequired: input.password !== null, unattended: input.unattended }), 'latin1'),
    mediaGuid: input.mediaGuid,
    variables,
  };
}

