// The media manifest: every file of the media with its size, SHA-256 and, for a disc set, where each part lives.
// Format "tsmedia-manifest/1", UTF-8 JSON, stored on every disc (and the USB volume) at SMS/data/tsmedia-manifest.json
// — identical on each disc — and read by `tsmedia verify` and `tsmedia inspect`. It holds no secret: paths, sizes,
// hashes, package IDs and the *names* of secret variables (so inspect can mask their values).
import { InputError } from '../errors.js';

export const MANIFEST_PATH = 'SMS/data/tsmedia-manifest.json';
// Format 2 adds `everyDisc`: a tool that knows only format 1 would read such a file as empty and call it damaged.
export const MANIFEST_FORMAT = 'tsmedia-manifest/2';
const READABLE_FORMATS: readonly string[] = ['tsmedia-manifest/1', MANIFEST_FORMAT];

export interface ManifestPart {
  disc: number;
  offset: number;
  size: number;
}

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
  packageId: string | null;
  /** Where the parts lie (disc numbers from 1); empty for a file every disc carries whole. */
  parts: ManifestPart[];
  /** A copy of the file is on every disc (SMS\bin); format 2 on. */
  everyDisc?: true;
}

export interface MediaManifest {
  format: string;
  label: string;
  mediaGuid: string;
  created: string;
  tool: string;
  taskSequence: { packageId: string | null; name: string };
  discs: number;
  passwordProtected: boolean;
  secretVariables: string[];
  files: ManifestFile[];
}

export function serializeManifest(m: MediaManifest): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 1)}\n`, 'utf8');
}

export function parseManifest(text: string, where: string): MediaManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${where}: the media manifest is not valid JSON (${(err as Error).message}); the media is damaged.`);
  }
  const m = raw as Partial<MediaManifest> | null;
  if (m && typeof m.format === 'string' && m.format.startsWith('tsmedia-manifest/') && !READABLE_FORMATS.includes(m.format)) {
    throw new InputError(`${where}: the media was made by a newer tsmedia (manifest format "${m.format}"); verify it with that version or later.`);
  }
  if (!m || !READABLE_FORMATS.includes(String(m.format)) || !Array.isArray(m.files) || typeof m.discs !== 'number') {
    throw new InputError(`${where}: not a tsmedia manifest (format "${String(m?.format)}"); was this media made by tsmedia?`);
  }
  for (const f of m.files) {
    if (typeof f.path !== 'string' || typeof f.size !== 'number' || !/^[0-9A-F]{64}$/i.test(String(f.sha256)) || !Array.isArray(f.parts)) {
      throw new InputError(`${where}: a manifest entry is damaged (${JSON.stringify(f).slice(0, 120)}).`);
    }
  }
  return m as MediaManifest;
}
