// Shows what stand-alone media holds: label, task sequence, packages and — with the password, or on media made
// without one — the variables, secret values masked. Reads an ISO set through IsoReader.
import { InputError } from '../errors.js';
import type { SecureBootReadiness } from '../../../shared/secureBoot.js';
import { bootFilesReadiness } from '../formats/pe/BootFiles.js';
import { openIso, type IsoVolume } from '../formats/iso/IsoReader.js';
import { MANIFEST_PATH, parseManifest, type MediaManifest } from './Manifest.js';
import { BLANK_PASSWORD_KEY, MEDIA_VARIABLE_NAMES, decryptMediaFile, parsePolicyXml, parseVariablesXml } from './TsEnvironment.js';

export interface InspectResult {
  label: string;
  volumeId: string;
  passwordRequired: boolean;
  unattended: boolean;
  taskSequence: { packageId: string | null; name: string };
  mediaGuid: string;
  discs: number;
  packages: { packageId: string; files: number; bytes: number }[];
  /** SMS\bin: the start programs for a start from the running Windows, by architecture; what autorun.inf opens. */
  startPrograms: { architectures: { name: string; files: number }[]; autorun: string | null };
  /** Null when the environment could not be opened (password-protected media without the password). */
  variables: { name: string; value: string; secret: boolean }[] | null;
  /** The task sequence XML from Policy.xml, when it could be decrypted. */
  sequenceXml: string | null;
  note: string | null;
  /** The EFI boot files on the disc (efisys.bin's included) and their Authenticode signatures. */
  secureBoot: SecureBootReadiness;
}

/** ConfigMgr's own variables whose values are credentials (masked like secret media variables). */
const INTERNAL_SECRETS = new Set([MEDIA_VARIABLE_NAMES.mediaPfx.toLowerCase()]);
const MASK = '********';

function readText(vol: IsoVolume, path: string): string | null {
  return vol.find(path) ? vol.readFileBuffer(path).toString('utf8') : null;
}

export function inspectMedia(paths: string[], password: string | null): InspectResult {
  const vols = paths.map((p) => ({ p, v: openIso(p) }));
  try {
    const first = vols.find(({ v }) => v.find('SMS/data/Variables.dat'));
    if (!first) throw new InputError(`${paths.join(', ')}: no SMS/data/Variables.dat: this is not the first disc of stand-alone media.`);
    const vol = first.v;
    const manifestText = readText(vol, MANIFEST_PATH);
    const manifest: MediaManifest | null = manifestText ? parseManifest(manifestText.trimEnd(), `${first.p}:${MANIFEST_PATH}`) : null;
    const ini = readText(vol, 'SMS/data/TsmBootstrap.ini') ?? '';
    const flag = (k: string): boolean => new RegExp(`^${k}=true\\s*$`, 'im').test(ini);
    const labelLine = /^label=(.*)$/m.exec(readText(vol, 'MediaLabel.txt') ?? '');
    const passwordRequired = flag('PasswordRequired');
    const secretNames = new Set((manifest?.secretVariables ?? []).map((n) => n.toLowerCase()));

    let variables: InspectResult['variables'] = null;
    let sequenceXml: string | null = null;
    let note: string | null = null;
    let mediaGuid = manifest?.mediaGuid ?? '';
    let tsName = manifest?.taskSequence ?? { packageId: null, name: '(unknown)' };
    if (passwordRequired && password === null) {
      note = 'The media is password-protected: give the password (--password-file) to see its variables and task sequence.';
    } else {
      const key = passwordRequired ? (password as string) : BLANK_PASSWORD_KEY;
      const vars = parseVariablesXml(decryptMediaFile(vol.readFileBuffer('SMS/data/Variables.dat'), key));
      mediaGuid = vars.find((v) => v.name === MEDIA_VARIABLE_NAMES.mediaGuid)?.value ?? mediaGuid;
      variables = vars.map((v) => {
        const secret = secretNames.has(v.name.toLowerCase()) || INTERNAL_SECRETS.has(v.name.toLowerCase());
        return { name: v.name, value: secret ? MASK : v.value, secret };
      });
      const policy = parsePolicyXml(decryptMediaFile(vol.readFileBuffer('SMS/data/Policy.xml'), passwordRequired ? (password as string) : mediaGuid));
      sequenceXml = policy.sequenceXml;
      tsName = { packageId: policy.packageId, name: policy.name };
      if (!passwordRequired) note = 'The media has no password: anyone with it can read this environment.';
    }
    const byPkg = new Map<string, { packageId: string; files: number; bytes: number }>();
    for (const f of manifest?.files ?? []) {
      if (!f.packageId) continue;
      const e = byPkg.get(f.packageId) ?? { packageId: f.packageId, files: 0, bytes: 0 };
      e.files += 1;
      e.bytes += f.size;
      byPkg.set(f.packageId, e);
    }
    // SMS\bin as the disc holds it (ConfigMgr's media have no manifest).
    const archs = new Map<string, number>();
    for (const f of vol.files()) {
      const arch = /^SMS\/bin\/([^/]+)\//i.exec(f.path)?.[1];
      if (arch) archs.set(arch, (archs.get(arch) ?? 0) + 1);
    }
    const secureBoot = bootFilesReadiness(vol.files().map((f) => ({ path: f.path, read: () => vol.readFileBuffer(f.path) })));
    const autorun = /^open=(.*)$/im.exec(readText(vol, 'autorun.inf') ?? '')?.[1]?.trim() ?? null;
    return {
      label: labelLine?.[1]?.trim() ?? vol.volumeId,
      volumeId: vol.volumeId,
      passwordRequired,
      unattended: flag('Unattended'),
      taskSequence: tsName,
      mediaGuid,
      discs: manifest?.discs ?? paths.length,
      packages: [...byPkg.values()],
      // x64 first, as the media is started with it on 64-bit Windows.
      startPrograms: { architectures: [...archs].map(([name, files]) => ({ name, files })).sort((a, b) => Number(b.name === 'x64') - Number(a.name === 'x64') || a.name.localeCompare(b.name)), autorun },
      variables,
      sequenceXml,
      note,
      secureBoot,
    };
  } finally {
    for (const { v } of vols) v.close();
  }
}
