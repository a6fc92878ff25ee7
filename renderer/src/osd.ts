// What the site's OSD binaries (SiteInfo.osdBinaries) allow: autorun.inf opens SMS\bin\<arch>\TSMBAutorun.exe, so it
// needs usable x64 binaries; the i386 option needs an i386 folder. The engine refuses the same requests
// (AUTORUN_NEEDS_OSD_BINARIES, OSD_BINARIES_ABSENT, OSD_BINARIES_NO_I386): the wizard only keeps them from being asked.
// While the site is not read yet (null), nothing is said to be missing.
import type { OsdArchitecture, OsdBinariesSummary } from '../../shared/analysis.js';

type Osd = OsdBinariesSummary | null | undefined;

/** Why the site has no usable OSD binaries (the engine's sentence), or null when it has them (problem null means x64
 * is usable) or is not read yet. */
export function osdProblem(osd: Osd): string | null {
  return osd ? osd.problem : null;
}

/** Why the i386 binaries cannot be added, as a resource key under "mediaType." and its values; null when they can. */
export function i386Unavailable(osd: Osd): { key: 'i386NoBinaries' } | { key: 'i386NoFolder'; location: string } | null {
  if (osdProblem(osd) !== null) return { key: 'i386NoBinaries' };
  if (!osd || osd.architectures.some((a) => a.name === 'i386')) return null;
  return { key: 'i386NoFolder', location: osd.location ?? '' };
}

/** The SMS\bin\<arch> folders the media gets: none without usable binaries, x64, and i386 when asked for and there. */
export function smsBinArchitectures(osd: Osd, i386: boolean): OsdArchitecture[] {
  if (!osd || osdProblem(osd) !== null) return [];
  return i386 && i386Unavailable(osd) === null ? ['x64', 'i386'] : ['x64'];
}

/** What autorun.inf opens: the 32-bit program when it is on the media (it starts on 32- and 64-bit Windows). */
export function autorunTarget(archs: OsdArchitecture[]): string {
  return `SMS\\bin\\${archs.includes('i386') ? 'i386' : 'x64'}\\TSMBAutorun.exe`;
}
