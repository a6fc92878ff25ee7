// Which files of Windows boot media firmware starts under UEFI, and their Secure Boot readiness: efi\boot\bootx64.efi
// (what a USB stick or the ISO's file system boots), bootmgr.efi, efi\microsoft\boot\*.efi, and the EFI files inside
// efi\microsoft\boot\efisys.bin — the FAT image that the ISO's UEFI El Torito entry boots.
import type { BootFileSignature, SecureBootReadiness } from '../../../../shared/secureBoot.js';
import { InputError } from '../../errors.js';
import { readSmallFatImage } from '../fat32/FatSmallImage.js';
import { MICROSOFT_CAS, classifyBootFile, overallClass, type KnownCa } from './SecureBootClass.js';

export const EFISYS_PATH = 'efi/microsoft/boot/efisys.bin';

/** Whether a media path ("/" separated, any case) is an EFI boot file the check reads. */
export function isEfiBootFile(path: string): boolean {
  const p = path.toLowerCase();
  return p === 'efi/boot/bootx64.efi' || p === 'bootmgr.efi' || /^efi\/microsoft\/boot\/[^/]+\.efi$/.test(p);
}

/** Whether a media path is the El Torito UEFI image (efisys.bin, or the no-prompt efisys_noprompt.bin). */
export function isEfiBootImage(path: string): boolean {
  return /^efi\/microsoft\/boot\/efisys(_noprompt)?\.bin$/.test(path.toLowerCase());
}

export interface BootFileSource {
  /** As the media shows it. */
  path: string;
  read(): Buffer;
}

/** The boot files among `files`, read and classified; efisys.bin's own .efi files named "efisys.bin:EFI/BOOT/…". */
export function bootFilesReadiness(files: readonly BootFileSource[], known: readonly KnownCa[] = MICROSOFT_CAS): SecureBootReadiness {
  const out: BootFileSignature[] = [];
  const chosen = files.filter((f) => isEfiBootFile(f.path) || isEfiBootImage(f.path)).sort((a, b) => a.path.localeCompare(b.path));
  for (const f of chosen) {
    if (isEfiBootFile(f.path)) {
      out.push(classifyBootFile(f.path, f.read(), known));
      continue;
    }
    let inside;
    try {
      inside = readSmallFatImage(f.read(), f.path);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      // An image firmware cannot read boots nothing: shown like a damaged file, the reason named.
      out.push({ path: f.path, class: 'damaged', authorities: [e.message], signatures: [], summary: `${e.message}` });
      continue;
    }
    for (const inner of inside) {
      if (inner.path.toLowerCase().endsWith('.efi')) out.push(classifyBootFile(`${f.path}:${inner.path}`, inner.data, known));
    }
  }
  return { files: out, overall: overallClass(out) };
}
