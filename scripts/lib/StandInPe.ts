// Stand-in Windows executables for the sample site's OSD binaries: valid, empty PE images (no code) that carry a real
// version resource, made with resedit, so that version reading meets the structure Windows' own files have. They are
// not Microsoft's files and do nothing when run.

/** The part of resedit used here (its own declarations would pull the DOM library into the program; see PeVersion.ts). */
interface ResEditWriter {
  NtExecutable: { createEmpty(is32Bit?: boolean, isDLL?: boolean): { generate(): ArrayBuffer } };
  NtExecutableResource: { from(exe: object): { entries: unknown[]; outputResource(exe: object): void } };
  Resource: {
    VersionInfo: {
      createEmpty(): {
        setFileVersion(major: number, minor: number, micro: number, revision: number, lang: number): void;
        setProductVersion(major: number, minor: number, micro: number, revision: number, lang: number): void;
        setStringValues(lang: { lang: number; codepage: number }, values: Record<string, string>): void;
        outputToResourceEntries(entries: unknown[]): void;
        fixedInfo: { fileOS: number; fileType: number };
      };
    };
  };
}

const RESEDIT = 'resedit';

export interface StandInPeOptions {
  /** File name, as OriginalFilename. */
  name: string;
  /** "a.b.c.d" */
  version: string;
  description: string;
  is32Bit: boolean;
  isDll: boolean;
}

/** A PE image with a VS_VERSIONINFO resource (US English, Unicode) and nothing else. */
export async function standInPe(o: StandInPeOptions): Promise<Buffer> {
  const { NtExecutable, NtExecutableResource, Resource } = (await import(RESEDIT)) as ResEditWriter;
  const exe = NtExecutable.createEmpty(o.is32Bit, o.isDll);
  const res = NtExecutableResource.from(exe);
  const vi = Resource.VersionInfo.createEmpty();
  const [a, b, c, d] = o.version.split('.').map(Number);
  vi.setFileVersion(a, b, c, d, 1033);
  vi.setProductVersion(a, b, c, d, 1033);
  // VOS_NT_WINDOWS32, and VFT_APP or VFT_DLL, as Windows' own binaries say.
  vi.fixedInfo.fileOS = 0x00040004;
  vi.fixedInfo.fileType = o.isDll ? 2 : 1;
  vi.setStringValues(
    { lang: 1033, codepage: 1200 },
    {
      CompanyName: 'tsmedia sample (not Microsoft)',
      FileDescription: `tsmedia sample stand-in: ${o.description}`,
      FileVersion: o.version,
      OriginalFilename: o.name,
      ProductName: 'tsmedia sample stand-in',
      ProductVersion: o.version,
    },
  );
  vi.outputToResourceEntries(res.entries);
  res.outputResource(exe);
  return Buffer.from(exe.generate());
}
