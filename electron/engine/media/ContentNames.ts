// Names in the content that WinPE could not open from the media, refused when the media is planned, on every OS: a
// content library stores each file's name in its own INI and the file by hash, so a library kept or copied on Linux (or
// written through Windows' "\\?\" paths) can hold "CON.inf", "readme." or both "Setup.exe" and "setup.exe" in one folder,
// none of which Windows can open or tell apart.
import { windowsNameProblem, windowsUpper } from '../formats/windowsNames.js';
import { codedInputError } from '../errors.js';
import type { MediaFile } from './MediaPlan.js';

/** Whose file it is, for the message: "package SMP00005", "the boot image SMP00003", "the prestart files". */
function owner(f: MediaFile): string {
  if (f.role === 'boot') return `the boot image ${f.packageId ?? ''}`.trimEnd();
  if (f.role === 'prestart') return 'the prestart files';
  if (f.role === 'runtime') return "the site server's OSD binaries";
  return f.packageId ? `package ${f.packageId}` : 'the media';
}

/** The package ID for the wizard's sentence ("prestart" for the prestart files). */
const idOf = (f: MediaFile | null): string | null => (f === null ? null : f.role === 'prestart' ? 'prestart' : f.role === 'runtime' ? 'OSD\\bin' : f.packageId);

/** The file as its source names it: "SMP00005.1\Drivers\CON.inf" in a library, a prestart file's own path, else its media path. */
const sourceName = (f: MediaFile): string => (f.source.kind === 'library' ? f.source.label : f.source.kind === 'file' ? f.source.path : f.path);

/**
 * Throws a coded InputError for the first file or folder whose name Windows reserves or drops (CONTENT_NAME_INVALID),
 * and for two files of one folder whose names differ only in case (CONTENT_NAMES_CASE). Folders that differ only in
 * case are one folder on the media, as on Windows; their files are compared within it.
 */
export function checkContentNames(files: MediaFile[], directories: string[] = []): void {
  const named = new Set<string>();
  const checkName = (f: MediaFile | null, mediaPath: string): void => {
    for (const part of mediaPath.split('/')) {
      if (named.has(part)) continue;
      const problem = windowsNameProblem(part);
      if (problem === null) {
        named.add(part);
        continue;
      }
      const folderOf = /^SMS\/PKG\/([^/]+)\//.exec(mediaPath)?.[1];
      const pkg = f ? owner(f) : folderOf ? `package ${folderOf}` : 'the boot image';
      const path = f ? sourceName(f) : mediaPath;
      throw codedInputError(
        'CONTENT_NAME_INVALID',
        { package: idOf(f) ?? folderOf ?? 'boot image', path, name: part },
        `${pkg}: "${path}" cannot go on the media: ${problem}, so WinPE could not open it. Rename it in the package source and update the content on its distribution points.`,
      );
    }
  };
  const seen = new Map<string, MediaFile>();
  for (const f of files) {
    checkName(f, f.path);
    const key = windowsUpper(f.path);
    const other = seen.get(key);
    if (other && other.path !== f.path) {
      const pkg = owner(f);
      throw codedInputError(
        'CONTENT_NAMES_CASE',
        { package: idOf(f) ?? 'prestart', path: sourceName(f), other: sourceName(other) },
        `${pkg}: "${sourceName(other)}" and "${sourceName(f)}" differ only in case; Windows sees one file, so WinPE would find only one of them. Rename one in the package source and update the content on its distribution points.`,
      );
    }
    seen.set(key, f);
  }
  // Folders after files, so a folder holding files is named by one of them (with its package's own path).
  for (const d of directories) checkName(null, d);
}
