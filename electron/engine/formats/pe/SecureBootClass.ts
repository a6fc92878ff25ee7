// Secure Boot readiness of one EFI boot file: its Authenticode signatures (Authenticode.ts) classified by the
// Microsoft CA each valid one chains to. CAs are recognised by the thumbprint of the certificate the signature
// carries, never by name: a CA whose subject copies a Microsoft one is just another CA.
import type { BootFileSignature, CertificateSummary, KnownCaId, SecureBootClass, SignatureSummary } from '../../../../shared/secureBoot.js';
import { readAuthenticode, type AuthenticodeSignature, type CarriedCertificate } from './Authenticode.js';

export interface KnownCa {
  id: KnownCaId;
  name: string;
  /** Lower-case hex of the DER certificate's SHA-1. */
  sha1: string;
  /** Lower-case hex of its SHA-256; null where no copy of the certificate was at hand to compute it. */
  sha256: string | null;
}

/**
 * Microsoft's Secure Boot CAs and the roots that sign them. Sources in docs/reference (Secure Boot readiness); the
 * SHA-256 values were computed here from the certificates Debian ships (shim-signed's signatures, ovmf's
 * OVMF_VARS.ms.fd), where the SHA-1 of the same certificate matched the published one.
 */
export const MICROSOFT_CAS: readonly KnownCa[] = [
  { id: 'windows-uefi-ca-2023', name: 'Windows UEFI CA 2023', sha1: '45a0fa32604773c82433c3b7d59e7466b3ac0c67', sha256: null },
  {
    id: 'windows-production-pca-2011',
    name: 'Microsoft Windows Production PCA 2011',
    sha1: '580a6f4cc4e4b669b9ebdc1b2b3e087b80d0678d',
    sha256: 'e8e95f0733a55e8bad7be0a1413ee23c51fcea64b3c8fa6a786935fddcc71961',
  },
  {
    id: 'microsoft-uefi-ca-2011',
    name: 'Microsoft Corporation UEFI CA 2011',
    sha1: '46def63b5ce61cf8ba0de2e6639c1019d0ed14f3',
    sha256: '48e99b991f57fc52f76149599bff0a58c47154229b9f8d603ac40d3500248507',
  },
  {
    id: 'microsoft-uefi-ca-2023',
    name: 'Microsoft UEFI CA 2023',
    sha1: 'b5eeb4a6706048073f0ed296e7f580a790b59eaa',
    sha256: 'f6124e34125bee3fe6d79a574eaa7b91c0e7bd9d929c1a321178efd611dad901',
  },
  { id: 'microsoft-option-rom-uefi-ca-2023', name: 'Microsoft Option ROM UEFI CA 2023', sha1: '3fb39e2b8bd183bf9e4594e72183ca60afcd4277', sha256: null },
  { id: 'microsoft-root-ca-2010', name: 'Microsoft Root Certificate Authority 2010', sha1: '3b1efd3a66ea28b16697394703a72ca340a05bd5', sha256: null },
];

/** The known CA a certificate is: both thumbprints must match where the table has both. */
export function recognise(cert: { sha1: string; sha256: string }, known: readonly KnownCa[]): KnownCa | null {
  return known.find((k) => k.sha1 === cert.sha1 && (k.sha256 === null || k.sha256 === cert.sha256)) ?? null;
}

/** Which known CA the boot class hinges on: the nearest to the signer. A root only counts through its CA. */
const BOOT_CLASS: Partial<Record<KnownCaId, SecureBootClass>> = {
  'windows-uefi-ca-2023': 'windows-uefi-ca-2023',
  'windows-production-pca-2011': 'pca-2011-only',
};

function certificateSummary(c: CarriedCertificate, known: readonly KnownCa[]): CertificateSummary {
  return { subject: c.subjectCn, issuer: c.issuerCn, sha1: c.sha1, sha256: c.sha256, known: recognise(c, known)?.id ?? null };
}

function signatureSummary(s: AuthenticodeSignature, known: readonly KnownCa[]): SignatureSummary {
  const chain = s.chain.map((c) => certificateSummary(c, known));
  const top = s.chain[s.chain.length - 1];
  const hit = s.chain.map((c) => recognise(c, known)).find((k) => k !== null) ?? null;
  const root = top ? (s.selfSignedTop ? top.subjectCn : top.issuerCn) : null;
  // An unrecognised CA is named as its certificate names itself, marked so that a copied name never reads as Microsoft's.
  const authorityName = hit?.name ?? (root === null ? null : `"${root}" (a CA not recognised by thumbprint)`);
  return { signer: s.signer?.subjectCn ?? null, chain, root, authority: hit?.id ?? null, authorityName, problem: s.problem };
}

const CLASS_WORDS: Record<SecureBootClass, string> = {
  'windows-uefi-ca-2023': 'signed under the Windows UEFI CA 2023: boots where that CA is in the firmware\'s db',
  'pca-2011-only': 'signed only under the Microsoft Windows Production PCA 2011: boots only where that CA is still trusted (not on computers that applied the revocation of KB5025885)',
  'other-ca': 'signed under another CA',
  unsigned: 'unsigned: Secure Boot refuses it',
  damaged: 'its signature is damaged: Secure Boot refuses it',
};

/** Reads and classifies one boot file. `known` is the recognised CAs (the real table unless a test injects its own). */
export function classifyBootFile(path: string, image: Buffer, known: readonly KnownCa[] = MICROSOFT_CAS): BootFileSignature {
  const read = readAuthenticode(image);
  if (read.kind === 'unsigned') return { path, class: 'unsigned', authorities: [], signatures: [], summary: `${path}: ${CLASS_WORDS.unsigned}.` };
  if (read.kind === 'malformed') return { path, class: 'damaged', authorities: [read.problem], signatures: [], summary: `${path}: ${CLASS_WORDS.damaged} (${read.problem}).` };
  const signatures = read.signatures.map((s) => signatureSummary(s, known));
  const valid = signatures.filter((s) => s.problem === null);
  if (valid.length === 0) {
    const problems = signatures.map((s) => s.problem as string);
    return { path, class: 'damaged', authorities: problems, signatures, summary: `${path}: ${CLASS_WORDS.damaged} (${problems.join('; ')}).` };
  }
  const classes = valid.map((s) => (s.authority ? BOOT_CLASS[s.authority] : undefined) ?? 'other-ca');
  const cls: SecureBootClass = classes.includes('windows-uefi-ca-2023') ? 'windows-uefi-ca-2023' : classes.includes('pca-2011-only') ? 'pca-2011-only' : 'other-ca';
  const authorities = [...new Set(valid.map((s) => s.authorityName ?? '(a CA the signature does not name)'))];
  const signers = [...new Set(valid.map((s) => s.signer ?? '?'))];
  const words = cls === 'other-ca' ? `signed under ${authorities.join(' and ')}` : CLASS_WORDS[cls];
  return { path, class: cls, authorities, signatures, summary: `${path}: ${words} (signer ${signers.join(', ')}).` };
}

const WEAKEST: readonly SecureBootClass[] = ['damaged', 'unsigned', 'pca-2011-only', 'other-ca', 'windows-uefi-ca-2023'];

/** The class of a set of boot files: the weakest one's. */
export function overallClass(files: readonly BootFileSignature[]): SecureBootClass | null {
  return WEAKEST.find((c) => files.some((f) => f.class === c)) ?? null;
}
