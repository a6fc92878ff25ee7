// Self-signed server certificates for the test AdminService, made in-process (node:crypto keys, pkijs/asn1js for the
// X.509 structure) so the tests need no openssl program and run the same under Windows.
import { X509Certificate, createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

export interface TestCertificate {
  /** PEM of the certificate (what a client pins or passes as `ca`). */
  certPem: string;
  /** PEM (PKCS#8) of its private key. */
  keyPem: string;
  der: Buffer;
  /** SHA-256 of the DER bytes, uppercase hex without colons (as the client shows and pins it). */
  thumbprint: string;
}

export interface CertificateOptions {
  /** Subject CN and subjectAltName entries: IP addresses become iPAddress names, the rest dNSName. Default 127.0.0.1, localhost. */
  hostNames?: readonly string[];
  /** Days of validity from an hour ago; default 365. A negative value makes an expired certificate. */
  days?: number;
}

const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
const OID_SAN = '2.5.29.17';
const OID_EKU = '2.5.29.37';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_SHA256_RSA = '1.2.840.113549.1.1.11';

const toArrayBuffer = (b: Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** IPv4 or IPv6 text to the octets an iPAddress GeneralName holds. */
function ipOctets(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand "::" and write eight 16-bit groups.
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function name(cn: string): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [
      new pkijs.AttributeTypeAndValue({ type: OID_CN, value: new asn1js.Utf8String({ value: cn }) }),
      new pkijs.AttributeTypeAndValue({ type: OID_O, value: new asn1js.Utf8String({ value: 'tsmedia test AdminService' }) }),
    ],
  });
}

/**
 * A fresh RSA-2048 key and a self-signed certificate for it, as Configuration Manager's own self-signed SMS role
 * certificates are: no CA, only the server-authentication usage. No keyUsage extension: OpenSSL treats a self-signed
 * certificate whose keyUsage lacks keyCertSign as not self-issued, and a client pinning it would then fail to verify.
 */
export function makeTestCertificate(options: CertificateOptions = {}): TestCertificate {
  const hosts = options.hostNames && options.hostNames.length > 0 ? options.hostNames : ['127.0.0.1', 'localhost'];
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // a positive INTEGER
  cert.serialNumber = new asn1js.Integer({ valueHex: toArrayBuffer(serial) });
  cert.issuer = name(hosts[0]);
  cert.subject = name(hosts[0]);
  const days = options.days ?? 365;
  const start = Date.now() - 3600_000;
  cert.notBefore.value = new Date(days < 0 ? start + days * 86400_000 - 86400_000 : start);
  cert.notAfter.value = new Date(start + days * 86400_000);
  const spki = asn1js.fromBER(toArrayBuffer(publicKey.export({ type: 'spki', format: 'der' })));
  cert.subjectPublicKeyInfo = new pkijs.PublicKeyInfo({ schema: spki.result });

  const altNames = new pkijs.GeneralNames({
    names: hosts.map((h) =>
      isIP(h) ? new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: toArrayBuffer(ipOctets(h)) }) }) : new pkijs.GeneralName({ type: 2, value: h }),
    ),
  });
  const eku = new pkijs.ExtKeyUsage({ keyPurposes: [OID_SERVER_AUTH] });
  cert.extensions = [
    new pkijs.Extension({ extnID: OID_SAN, critical: false, extnValue: altNames.toSchema().toBER(false), parsedValue: altNames }),
    new pkijs.Extension({ extnID: OID_EKU, critical: false, extnValue: eku.toSchema().toBER(false), parsedValue: eku }),
  ];

  const algorithm = new pkijs.AlgorithmIdentifier({ algorithmId: OID_SHA256_RSA, algorithmParams: new asn1js.Null() });
  cert.signature = algorithm;
  cert.signatureAlgorithm = algorithm;
  // Signed with node:crypto over the encoded TBS part (pkijs's own sign() would need a WebCrypto engine and a Promise).
  const tbs = Buffer.from(cert.encodeTBS().toBER(false));
  cert.tbsView = new Uint8Array(tbs);
  cert.signatureValue = new asn1js.BitString({ valueHex: toArrayBuffer(sign('sha256', tbs, privateKey)) });
  const der = Buffer.from(cert.toSchema(false).toBER(false));

  // Read back by Node's own X.509 parser: a structure pkijs wrote wrongly fails here, not later in a TLS handshake.
  const x509 = new X509Certificate(der);
  if (!x509.verify(publicKey)) throw new Error('makeTestCertificate: the certificate does not verify with its own key.');
  return {
    certPem: x509.toString(),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    der,
    thumbprint: createHash('sha256').update(der).digest('hex').toUpperCase(),
  };
}
