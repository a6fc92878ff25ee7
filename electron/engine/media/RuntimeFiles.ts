// SMS\bin\<arch> on the media: the site server's OSD binaries that start the task sequence from a running Windows
// (TSMBAutorun.exe, TsmBootstrap.exe and their libraries), hashed and versioned here, copied byte for byte onto every
// medium, listed in the manifest like any content.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { OsdArchitecture, StartClassification } from '../../../shared/analysis.js';
import type { MediaStart } from '../../../shared/media.js';
import { codedInputError, describeFsError, InputError } from '../errors.js';
import { peVersion, type PeVersion } from '../formats/PeVersion.js';
import type { Site } from '../site/Site.js';
import { sha256Hex, type MediaFile } from './MediaPlan.js';

/** Files larger than this are hashed as a stream and not searched for a version (OSD binaries are a few MB each). */
const VERSION_READ_LIMIT = 64 * 1024 * 1024;

export interface RuntimeFileInfo {
  /** Path on the media, "/" separated. */
  path: string;
  size: number;
  sha256: string;
  /** The file version of an executable or library; null for other files. */
  fileVersion: string | null;
  productVersion: string | null;
}

export interface PlannedRuntime {
  /** The OSD\bin folder they were copied from. */
  location: string;
  architectures: OsdArchitecture[];
  files: MediaFile[];
  /** File and product versions by media path, for the executables and libraries that carry them. */
  versions: Map<string, PeVersion>;
  /** What autorun.inf opens (Windows path on the media). */
  autorunTarget: string;
}

async function streamHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex').toUpperCase();
}

/**
 * The SMS\bin files of the media, or null where the site has no usable OSD binaries (the analysis has said whether
 * the task sequence needs them). `i386` also copies the 32-bit folder, which must then be there.
 */
export async function planRuntimeFiles(site: Site, i386: boolean): Promise<PlannedRuntime | null> {
  const osd = site.osdBinaries;
  if (osd.problem !== null || osd.location === null) {
    if (i386) throw codedInputError('OSD_BINARIES_ABSENT', { problem: osd.problem ?? '' }, `--i386-binaries: the site's OSD binaries cannot be used: ${osd.problem ?? 'not found'}`);
    return null;
  }
  const wanted: OsdArchitecture[] = i386 ? ['x64', 'i386'] : ['x64'];
  const files: MediaFile[] = [];
  const versions = new Map<string, PeVersion>();
  for (const name of wanted) {
    const arch = osd.architectures.find((a) => a.name === name);
    if (!arch) throw codedInputError('OSD_BINARIES_NO_I386', { location: osd.location }, `--i386-binaries: ${osd.i386Problem ?? `${osd.location} has no i386 folder`}. Leave the option off, or copy the site server's OSD\\bin\\i386 there too.`);
    for (const f of arch.files) {
      let sha256: string;
      let version: PeVersion | null = null;
      let size: number;
      try {
        if (f.size <= VERSION_READ_LIMIT) {
          const data = await readFile(f.path);
          sha256 = sha256Hex(data);
          version = await peVersion(data);
          size = data.length;
        } else {
          sha256 = await streamHash(f.path);
          size = f.size;
        }
      } catch (err) {
        throw new InputError(`OSD binaries: ${describeFsError(err, f.path)}`);
      }
      if (size !== f.size) throw new InputError(`OSD binaries: ${f.path} changed while it was read (${f.size} bytes, then ${size}); try again once the folder is no longer being copied.`);
      const path = `SMS/bin/${name}/${f.relativePath}`;
      files.push({ path, size, sha256, source: { kind: 'file', path: f.path, size, sha256, label: `OSD binary ${name}\\${f.relativePath.replace(/\//g, '\\')}` }, role: 'runtime', packageId: null });
      if (version) versions.set(path, version);
    }
  }
  // A 32-bit TSMBAutorun.exe starts on 32- and 64-bit Windows alike; the x64 one only on 64-bit Windows.
  const autorunArch = i386 ? 'i386' : 'x64';
  const autorun = files.find((f) => f.path.toLowerCase() === `sms/bin/${autorunArch}/tsmbautorun.exe`) as MediaFile;
  return { location: osd.location, architectures: wanted, files, versions, autorunTarget: autorun.path.replace(/\//g, '\\') };
}

/** Every SMS\bin file with its version, for the report. */
export function runtimeFileInfo(r: PlannedRuntime): RuntimeFileInfo[] {
  return r.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, fileVersion: r.versions.get(f.path)?.fileVersion ?? null, productVersion: r.versions.get(f.path)?.productVersion ?? null }));
}

/** How the media made are started, for the command line and the wizard's Completion page. */
export function mediaStart(start: StartClassification, runtime: PlannedRuntime | null): MediaStart {
  return { startsFrom: start.startsFrom, scenario: start.scenario, tsmbAutorun: runtime ? 'SMS\\bin\\x64\\TSMBAutorun.exe' : null };
}
