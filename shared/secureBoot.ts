// Secure Boot readiness: what the engine reads from the Authenticode signatures of the media's EFI boot files, shared
// by the CLI, the media report and the UI.

/**
 * How a boot file fares under Secure Boot, from its signatures:
 * - 'windows-uefi-ca-2023': a valid signature chains to the Windows UEFI CA 2023 (boots where that CA is in db);
 * - 'pca-2011-only': valid signatures chain to the Microsoft Windows Production PCA 2011 and none to the 2023 CA: it
 *   boots only where the 2011 CA is still trusted (not where KB5025885's revocation was applied);
 * - 'other-ca': every valid signature chains to another CA (named in `authorities`), such as the Microsoft UEFI CA
 *   2011 that signs third-party shims, or a CA Microsoft does not own;
 * - 'unsigned': no certificate table;
 * - 'damaged': a certificate table that does not verify (digest mismatch, bad signature, malformed).
 */
export type SecureBootClass = 'windows-uefi-ca-2023' | 'pca-2011-only' | 'other-ca' | 'unsigned' | 'damaged';

/** The Microsoft CAs recognised by certificate thumbprint. */
export type KnownCaId =
  | 'windows-uefi-ca-2023'
  | 'windows-production-pca-2011'
  | 'microsoft-uefi-ca-2011'
  | 'microsoft-uefi-ca-2023'
  | 'microsoft-option-rom-uefi-ca-2023'
  | 'microsoft-root-ca-2010'
  | 'microsoft-third-party-marketplace-root';

export interface CertificateSummary {
  /** Subject common name (or the whole subject when it has none). */
  subject: string;
  issuer: string;
  sha1: string;
  sha256: string;
  /** The Microsoft CA this certificate is, by thumbprint; null for any other. */
  known: KnownCaId | null;
}

export interface SignatureSummary {
  /** The signer certificate's subject CN; null when the signature names no certificate it carries. */
  signer: string | null;
  /** Signer first, then each issuer found in the signature, up to a self-signed root or the last one present. */
  chain: CertificateSummary[];
  /** The chain's top: the root when self-signed, else the name of the issuer the signature does not carry. */
  root: string | null;
  /** The recognised Microsoft CA the chain passes through (the nearest to the signer); null when none. */
  authority: KnownCaId | null;
  /** Name of the CA that matters for booting: the recognised one, else the top of the chain. */
  authorityName: string | null;
  /** Null when the signature verifies; else what is wrong with it. */
  problem: string | null;
}

export interface BootFileSignature {
  /** Where the file is, as the media shows it ("efi/boot/bootx64.efi", "efi/microsoft/boot/efisys.bin:EFI/BOOT/BOOTX64.EFI"). */
  path: string;
  class: SecureBootClass;
  /** Names of the CAs of the valid signatures (or of the problem for 'damaged'). */
  authorities: string[];
  signatures: SignatureSummary[];
  /** One sentence for people: who signed it and what follows. */
  summary: string;
}

export interface SecureBootReadiness {
  files: BootFileSignature[];
  /** The class of the media as a whole: its weakest boot manager (damaged > unsigned > pca-2011-only > other > 2023). */
  overall: SecureBootClass | null;
}

/** Short names of the classes, for lists and tables. */
export const SECURE_BOOT_CLASS_LABELS: Record<SecureBootClass, string> = {
  'windows-uefi-ca-2023': 'Windows UEFI CA 2023',
  'pca-2011-only': 'only Windows Production PCA 2011',
  'other-ca': 'another CA',
  unsigned: 'unsigned',
  damaged: 'damaged signature',
};

/** One line per signature of a file: signer, the CA that matters, the chain's root. */
export function signatureLines(f: BootFileSignature): string[] {
  if (f.signatures.length === 0) return f.class === 'damaged' ? f.authorities : [];
  return f.signatures.map((s) =>
    s.problem !== null
      ? `damaged: ${s.problem}`
      : `signer ${s.signer ?? '?'}; CA ${s.authorityName ?? '?'}; root ${s.root ?? '?'}`,
  );
}
