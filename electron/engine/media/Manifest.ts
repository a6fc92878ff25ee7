// The media manifest: every file of the media with its size, SHA-256 and, for a disc set, where each part lives.
// Format "tsmedia-manifest/1", UTF-8 JSON, stored on every disc (and the USB volume) at SMS/data/tsmedia-manifest.json
// — identical on each disc — and read by `tsmedia verify` and `tsmedia inspect`. It holds no secret: paths, sizes,
// hashes, package IDs and the *names* of secret variables (so inspect can mask their values).
import { InputError } from '../errors.js';

export const MANIFEST_PATH = 'SMS/data/tsmedia-manifest.json';
export const MANIFEST_FORMAT = 'tsmedia-manifest/1';

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
  parts: ManifestPart[];
}

export interface MediaManifest {
  format: typeof MANIFEST_FORMAT;
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
  if (!m || m.format !== MANIFEST_FORMAT || !Array.isArray(m.files) || typeof m.discs !== 'number') {
    throw new InputError(`${where}: not a tsmedia manifest (format "${String(m?.format)}"); was this media made by tsmedia?`);
  }
  for (const f of m.files) {
    if (typeof f.path !== 'string' || typeof f.size !== 'number' || !/^[0-9A-F]{64}$/i.test(String(f.sha256)) || !Array.isArray(f.parts)) {
      throw new InputError(`${where}: a manifest entry is damaged (${JSON.stringify(f).slice(0, 120)}).`);
    }
  }
  return m as MediaManifest;
}
