// The version resource (VS_VERSIONINFO) of a Windows executable or library, read with resedit: what Explorer shows as
// "File version" and "Product version".
/**
 * The part of resedit used here. Its own declarations pull the DOM library into every file of the program (a
 * `reference lib="dom"`), which would let browser globals pass type checks in the engine; so it is imported by a name TypeScript does not follow.
 */
interface ResEditReader {
  NtExecutable: { from(bin: Uint8Array, options?: { ignoreCert?: boolean }): object };
  NtExecutableResource: { from(exe: object, ignoreUnparsableData?: boolean): { entries: unknown[] } };
  Resource: { VersionInfo: { fromEntries(entries: unknown[]): { fixedInfo: { fileVersionMS: number; fileVersionLS: number; productVersionMS: number; productVersionLS: number } }[] } };
}

const RESEDIT = 'resedit';
let loaded: Promise<ResEditReader> | null = null;
const resedit = (): Promise<ResEditReader> => (loaded ??= import(RESEDIT) as Promise<ResEditReader>);

export interface PeVersion {
  fileVersion: string;
  productVersion: string;
}

const dotted = (ms: number, ls: number): string => [ms >>> 16, ms & 0xffff, ls >>> 16, ls & 0xffff].join('.');

/** The fixed version of a PE image, or null when the bytes are no PE image or carry no version resource. */
export async function peVersion(image: Buffer): Promise<PeVersion | null> {
  if (image.length < 64 || image.toString('latin1', 0, 2) !== 'MZ') return null;
  const { NtExecutable, NtExecutableResource, Resource } = await resedit();
  try {
    // Microsoft's binaries are signed: the certificate table is skipped, not checked.
    const exe = NtExecutable.from(image, { ignoreCert: true });
    const [info] = Resource.VersionInfo.fromEntries(NtExecutableResource.from(exe, true).entries);
    if (!info) return null;
    const f = info.fixedInfo;
    return { fileVersion: dotted(f.fileVersionMS, f.fileVersionLS), productVersion: dotted(f.productVersionMS, f.productVersionLS) };
  } catch {
    return null;
  }
}
