// Secure Boot readiness of a boot image as the site holds it: its EFI boot files read from the first distribution
// point whose content library holds the boot image's current content, before any media is written.
import { readFileSync } from 'node:fs';
import type { AnalysisResult, Finding } from '../../../shared/analysis.js';
import type { SecureBootReadiness } from '../../../shared/secureBoot.js';
import { ContentIntegrityError, InputError } from '../errors.js';
import { bootFilesReadiness, isEfiBootFile, isEfiBootImage, type BootFileSource } from '../formats/pe/BootFiles.js';
import { MICROSOFT_CAS, type KnownCa } from '../formats/pe/SecureBootClass.js';
import { analyzeTaskSequence, type AnalysisOptions } from '../site/Analysis.js';
import type { Site } from '../site/Site.js';
import type { TaskSequencePackage } from '../site/TaskSequenceExport.js';

/**
 * The readiness of the boot image's EFI files, from the first distribution point that can give them all; null when
 * none can (no library holds the boot image, or a blob is missing or unreadable: the plan names that when media is
 * made, so the analysis is not refused for it here).
 */
export async function bootImageReadiness(site: Site, bootImageId: string | null, known: readonly KnownCa[] = MICROSOFT_CAS): Promise<SecureBootReadiness | null> {
  if (!bootImageId) return null;
  for (const dp of site.distributionPoints) {
    const lib = dp.library;
    if (!lib || !(await lib.package(bootImageId))) continue;
    try {
      const sources: BootFileSource[] = [];
      for (const { contentId, file } of await lib.packageFiles(bootImageId)) {
        const path = file.path.replace(/\\/g, '/');
        if (!isEfiBootFile(path) && !isEfiBootImage(path)) continue;
        const blob = await lib.blobPath(file, contentId);
        sources.push({ path, read: () => readFileSync(blob) });
      }
      return bootFilesReadiness(sources, known);
    } catch (e) {
      if (e instanceof ContentIntegrityError || e instanceof InputError || (e instanceof Error && 'code' in e)) continue;
      throw e;
    }
  }
  return null;
}

/** The warning for boot files that boot only where the Windows Production PCA 2011 is still trusted. */
export function secureBootFindings(readiness: SecureBootReadiness | null, bootImageId: string | null): Finding[] {
  const old = readiness?.files.filter((f) => f.class === 'pca-2011-only') ?? [];
  if (old.length === 0) return [];
  return [
    {
      severity: 'warning',
      code: 'BOOT_MANAGER_PCA_2011_ONLY',
      step: null,
      message:
        `The boot image ${bootImageId ?? ''} has boot files signed only under the Microsoft Windows Production PCA 2011 (${old.map((f) => f.path).join(', ')}): ` +
        'with Secure Boot on, computers that applied the revocation of that CA (KB5025885, CVE-2023-24932) refuse to start the media. ' +
        'Update the boot image with a boot manager signed under the Windows UEFI CA 2023 to boot them, or acknowledge it for computers that still trust the 2011 CA.',
    },
  ];
}

/**
 * The task sequence's analysis with its boot image's Secure Boot readiness and the warning it calls for. `known` is
 * the recognised CAs: Microsoft's, unless a test stands its own CAs in for them.
 */
export async function analyzeForMedia(site: Site, ts: TaskSequencePackage, options: AnalysisOptions = {}, known: readonly KnownCa[] = MICROSOFT_CAS): Promise<AnalysisResult> {
  const analysis = await analyzeTaskSequence(site, ts, options);
  const secureBoot = await bootImageReadiness(site, ts.bootImageId, known);
  return { ...analysis, secureBoot, findings: [...analysis.findings, ...secureBootFindings(secureBoot, ts.bootImageId)] };
}
