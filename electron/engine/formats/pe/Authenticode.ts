// The Authenticode signatures of a PE/EFI image, read with pkijs and asn1js (no ASN.1 parsed by hand): each
// WIN_CERTIFICATE of type PKCS#7 SignedData, its SpcIndirectDataContent digest checked against the image's own
// Authenticode digest, the SignerInfo's signature checked with the signer certificate's key, and the chain built
// from the certificates the signature carries, each link checked by signature (names alone never link two
// certificates). Certificates are identified by SHA-1 and SHA-256 thumbprints of their DER bytes as carried.
import { X509Certificate, createHash, verify as verifySignature } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Asn1js from 'asn1js';
import type * as Pkijs from 'pkijs';
import { PeFormatError, WIN_CERT_TYPE_PKCS_SIGNED_DATA, authenticodeRanges, peLayout, winCertificates } from './PeLayout.js';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_SUBJECT_KEY_ID = '2.5.29.14';
const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** One certificate as the signature carries it. */
export interface CarriedCertificate {
  der: Buffer;
  x509: X509Certificate;
  subjectCn: string;
  issuerCn: string;
  sha1: string;
  sha256: string;
}

export interface AuthenticodeSignature {
  /** The signer certificate; null when the signature carries none matching its SignerInfo. */
  signer: CarriedCertificate | null;
  /** Signer first, each next one the certificate whose key signed the one before. */
  chain: CarriedCertificate[];
  /** Whether the chain's last certificate is self-signed (a root). */
  selfSignedTop: boolean;
  /** Null when the image digest matches and the signature verifies; else why not. */
  problem: string | null;
}

export type AuthenticodeRead =
  | { kind: 'unsigned' }
  | { kind: 'malformed'; problem: string }
  | { kind: 'signed'; signatures: AuthenticodeSignature[] };

class SignatureFormatError extends Error {}

// pkijs and asn1js (their CommonJS builds, as an import of them resolves too) are loaded at the first signature read:
// loading them costs a tenth of a second, which every command paid at start, though unsigned files never need them.
const requireCjs = createRequire(import.meta.url);
let libraries: { asn1js: typeof Asn1js; pkijs: typeof Pkijs } | null = null;
const pki = (): { asn1js: typeof Asn1js; pkijs: typeof Pkijs } => (libraries ??= { asn1js: requireCjs('asn1js') as typeof Asn1js, pkijs: requireCjs('pkijs') as typeof Pkijs });

/** The CN of a distinguished name as Node prints it (one attribute a line), else the whole name on one line. */
function commonName(dn: string): string {
  const cns = dn.split('\n').filter((l) => l.startsWith('CN='));
  return cns.length > 0 ? cns.map((l) => l.slice(3)).join(', ') : dn.replace(/\n/g, ', ');
}

function carried(der: Buffer): CarriedCertificate {
  const x509 = new X509Certificate(der);
  return {
    der,
    x509,
    subjectCn: commonName(x509.subject),
    issuerCn: commonName(x509.issuer),
    sha1: createHash('sha1').update(der).digest('hex'),
    sha256: createHash('sha256').update(der).digest('hex'),
  };
}

/** Whether `parent` issued `child`: names match and the parent's key verifies the child's signature. */
function issued(parent: CarriedCertificate, child: CarriedCertificate): boolean {
  try {
    return child.x509.checkIssued(parent.x509) && child.x509.verify(parent.x509.publicKey);
  } catch {
    return false;
  }
}

/** The chain from the signer up through the certificates carried, each link proven by signature. */
export function buildChain(signer: CarriedCertificate, pool: CarriedCertificate[]): { chain: CarriedCertificate[]; selfSignedTop: boolean } {
  const chain = [signer];
  for (;;) {
    const top = chain[chain.length - 1] as CarriedCertificate;
    if (issued(top, top)) return { chain, selfSignedTop: true };
    const parent = pool.find((c) => !chain.some((k) => k.sha256 === c.sha256) && issued(c, top));
    if (!parent) return { chain, selfSignedTop: false };
    chain.push(parent);
  }
}

function bytes(view: ArrayBuffer | Uint8Array): Buffer {
  return view instanceof Uint8Array ? Buffer.from(view.buffer, view.byteOffset, view.byteLength) : Buffer.from(view);
}

function hashOf(oid: string, what: string): string {
  const name = HASHES[oid];
  if (!name) throw new SignatureFormatError(`${what}: digest algorithm ${oid} is not one Authenticode uses`);
  return name;
}

/** The Authenticode digest of the image with `hash`. */
function imageDigest(image: Buffer, ranges: [number, number][], hash: string): Buffer {
  const h = createHash(hash);
  for (const [from, to] of ranges) h.update(image.subarray(from, to));
  return h.digest();
}

/** The raw DER of each certificate in SignedData's [0] IMPLICIT certificates, in order, as carried (for thumbprints). */
function rawCertificates(signedDataAsn: Asn1js.AsnType): Buffer[] {
  const { asn1js } = pki();
  if (!(signedDataAsn instanceof asn1js.Sequence)) return [];
  const set = signedDataAsn.valueBlock.value.find((e) => e.idBlock.tagClass === 3 && e.idBlock.tagNumber === 0);
  if (!set || !(set instanceof asn1js.Constructed)) return [];
  return set.valueBlock.value.filter((e) => e instanceof asn1js.Sequence).map((e) => Buffer.from(e.valueBeforeDecodeView));
}

function subjectKeyId(cert: Pkijs.Certificate): Buffer | null {
  const { asn1js } = pki();
  const ext = cert.extensions?.find((e) => e.extnID === OID_SUBJECT_KEY_ID);
  const parsed: unknown = ext?.parsedValue;
  return parsed instanceof asn1js.OctetString ? bytes(parsed.valueBlock.valueHexView) : null;
}

/** The certificate the SignerInfo names (by issuer and serial number, or by subject key identifier). */
function findSigner(info: Pkijs.SignerInfo, certs: Pkijs.Certificate[]): number {
  const { asn1js, pkijs } = pki();
  const sid: unknown = info.sid;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return certs.findIndex((c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber));
  }
  // [0] SubjectKeyIdentifier, as pkijs leaves it: the key identifier's bytes.
  if (sid instanceof asn1js.Primitive) {
    const keyId = bytes(sid.valueBlock.valueHexView);
    return certs.findIndex((c) => subjectKeyId(c)?.equals(keyId) ?? false);
  }
  return -1;
}

/** Whether a SignerInfo's signature algorithm is one Node's verify checks here: RSA PKCS#1 v1.5 or ECDSA. */
function signatureSupported(oid: string): boolean {
  // rsaEncryption, sha*WithRSAEncryption, ecdsa-with-SHA*: what UEFI signers use.
  return oid === '1.2.840.113549.1.1.1' || /^1\.2\.840\.113549\.1\.1\.(5|11|12|13)$/.test(oid) || /^1\.2\.840\.10045\.4\.3\.[234]$/.test(oid);
}

/** One WIN_CERTIFICATE's SignedData, checked against the image. */
function readSignature(image: Buffer, ranges: [number, number][], data: Buffer): AuthenticodeSignature {
  const { asn1js, pkijs } = pki();
  const asn = asn1js.fromBER(data);
  if (asn.offset === -1) throw new SignatureFormatError(`the PKCS#7 data does not decode: ${asn.result.error}`);
  let signed: Pkijs.SignedData;
  let signedAsn: Asn1js.AsnType;
  try {
    const info = new pkijs.ContentInfo({ schema: asn.result });
    if (info.contentType !== OID_SIGNED_DATA) throw new SignatureFormatError(`the content type is ${info.contentType}, not SignedData`);
    signedAsn = info.content as Asn1js.AsnType;
    signed = new pkijs.SignedData({ schema: signedAsn });
  } catch (e) {
    if (e instanceof SignatureFormatError) throw e;
    throw new SignatureFormatError(`the PKCS#7 SignedData is malformed: ${(e as Error).message}`);
  }
  const encap = signed.encapContentInfo;
  if (encap.eContentType !== OID_SPC_INDIRECT_DATA || !encap.eContent) throw new SignatureFormatError(`the signed content is ${encap.eContentType}, not Authenticode's SpcIndirectDataContent`);
  // SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue, messageDigest DigestInfo }
  // Authenticode puts the SEQUENCE itself in eContent (PKCS#7 v1.5), where CMS would wrap it in an OCTET STRING.
  const eContent: unknown = encap.eContent;
  const indirectDer = eContent instanceof asn1js.OctetString ? bytes(eContent.getValue()) : bytes((eContent as Asn1js.BaseBlock).valueBeforeDecodeView);
  const indirect = asn1js.fromBER(indirectDer);
  const digestInfoAsn = indirect.result instanceof asn1js.Sequence ? indirect.result.valueBlock.value[1] : undefined;
  if (indirect.offset === -1 || !digestInfoAsn) throw new SignatureFormatError('the SpcIndirectDataContent is malformed');
  let digestInfo: Pkijs.DigestInfo;
  try {
    digestInfo = new pkijs.DigestInfo({ schema: digestInfoAsn });
  } catch (e) {
    throw new SignatureFormatError(`the SpcIndirectDataContent's DigestInfo is malformed: ${(e as Error).message}`);
  }

  const raw = rawCertificates(signedAsn);
  const certs = (signed.certificates ?? []).filter((c): c is Pkijs.Certificate => c instanceof pkijs.Certificate);
  const pool = raw.length === certs.length ? raw.map(carried) : [];
  if (pool.length !== certs.length) throw new SignatureFormatError('the certificates could not be read as carried');
  const info = signed.signerInfos[0];
  if (signed.signerInfos.length !== 1 || !info) throw new SignatureFormatError(`Authenticode has one SignerInfo, this has ${signed.signerInfos.length}`);
  const signerIndex = findSigner(info, certs);
  const signer = signerIndex >= 0 ? (pool[signerIndex] as CarriedCertificate) : null;
  const { chain, selfSignedTop } = signer ? buildChain(signer, pool) : { chain: [], selfSignedTop: false };
  const done = (problem: string | null): AuthenticodeSignature => ({ signer, chain, selfSignedTop, problem });

  const wanted = bytes(digestInfo.digest.valueBlock.valueHexView);
  const actual = imageDigest(image, ranges, hashOf(digestInfo.digestAlgorithm.algorithmId, 'the image digest'));
  if (!actual.equals(wanted)) return done(`the image digest does not match the signed one (${digestInfo.digestAlgorithm.algorithmId}): the file was changed after it was signed`);
  if (!signer) return done('the signature does not carry the certificate that made it');

  const hash = hashOf(info.digestAlgorithm.algorithmId, 'the signer');
  // Authenticode hashes SpcIndirectDataContent without its own tag and length (the SEQUENCE's contents only).
  const indirectBlock = indirect.result;
  const contents = indirectDer.subarray(indirectBlock.idBlock.blockLength + indirectBlock.lenBlock.blockLength);
  let signedBytes: Buffer;
  if (info.signedAttrs) {
    const attr = (oid: string): Pkijs.Attribute | undefined => info.signedAttrs?.attributes.find((a) => a.type === oid);
    const md: unknown = attr(OID_MESSAGE_DIGEST)?.values[0];
    if (!(md instanceof asn1js.OctetString)) return done('the signed attributes carry no message digest');
    const ct: unknown = attr(OID_CONTENT_TYPE)?.values[0];
    if (ct instanceof asn1js.ObjectIdentifier && ct.valueBlock.toString() !== OID_SPC_INDIRECT_DATA) return done('the signed attributes name another content type');
    if (!createHash(hash).update(contents).digest().equals(bytes(md.valueBlock.valueHexView))) return done('the signed attributes do not match the signed content: the signature was changed');
    signedBytes = bytes(info.signedAttrs.encodedValue);
  } else {
    signedBytes = contents;
  }
  const algorithm = info.signatureAlgorithm.algorithmId;
  if (!signatureSupported(algorithm)) return done(`signature algorithm ${algorithm} is not one this check knows`);
  try {
    const ok = verifySignature(hash, signedBytes, signer.x509.publicKey, bytes(info.signature.valueBlock.valueHexView));
    return done(ok ? null : `the signature does not verify with the key of ${signer.subjectCn}`);
  } catch (e) {
    return done(`the signature does not verify with the key of ${signer.subjectCn}: ${(e as Error).message}`);
  }
}

/** Reads and checks every Authenticode signature of a PE/EFI image. */
export function readAuthenticode(image: Buffer): AuthenticodeRead {
  try {
    const layout = peLayout(image);
    if (!layout.certTable) return { kind: 'unsigned' };
    const ranges = authenticodeRanges(image, layout);
    const entries = winCertificates(image, layout.certTable);
    const signatures: AuthenticodeSignature[] = [];
    for (const [i, entry] of entries.entries()) {
      const which = entries.length > 1 ? `signature ${i + 1}: ` : '';
      if (entry.type !== WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
        signatures.push({ signer: null, chain: [], selfSignedTop: false, problem: `${which}certificate type 0x${entry.type.toString(16)} is not PKCS#7 SignedData` });
        continue;
      }
      try {
        signatures.push(readSignature(image, ranges, entry.data));
      } catch (e) {
        // pkijs, asn1js and Node's X.509 parser throw plain errors on hostile DER (found by fuzzing): all mean malformed.
        const what = e instanceof SignatureFormatError ? e.message : `the PKCS#7 signature is malformed (${e instanceof Error ? e.message : String(e)})`;
        signatures.push({ signer: null, chain: [], selfSignedTop: false, problem: `${which}${what}` });
      }
    }
    return { kind: 'signed', signatures };
  } catch (e) {
    if (e instanceof PeFormatError) return { kind: 'malformed', problem: e.message };
    throw e;
  }
}
