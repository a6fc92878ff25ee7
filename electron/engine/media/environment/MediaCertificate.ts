// The media certificate (_SMSTSMediaPFX) ConfigMgr puts in Variables.dat.
import { createCipheriv, createHash, createHmac, createSign, generateKeyPair, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import * as crypto from 'node:crypto';

// ---------------------------------------------------------------------------------------------------------------
// The media certificate (_SMSTSMediaPFX): a self-signed certificate and its RSA key in a PKCS#12 file, made with
// Node's own crypto and a small DER writer. Key bag: pbeWithSHAAnd3-KeyTripleDES-CBC; MAC: HMAC-SHA1 (RFC 7292),
// the combination every Windows version imports.

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...items: Buffer[]): Buffer => der(0x30, Buffer.concat(items));
const setOf = (...items: Buffer[]): Buffer => der(0x31, Buffer.concat([...items].sort(Buffer.compare)));
const octets = (b: Buffer): Buffer => der(0x04, b);
const explicit = (n: number, content: Buffer): Buffer => der(0xa0 | n, content);
const derNull = (): Buffer => Buffer.from([0x05, 0x00]);
const bitString = (b: Buffer, unused = 0): Buffer => der(0x03, Buffer.concat([Buffer.from([unused]), b]));
const utf8String = (s: string): Buffer => der(0x0c, Buffer.from(s, 'utf8'));

function derInt(v: number | Buffer): Buffer {
  let b: Buffer;
  if (typeof v === 'number') {
    const bytes: number[] = [];
    for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
    b = Buffer.from(bytes.length ? bytes : [0]);
  } else {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    b = v.subarray(i);
  }
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return der(0x02, b);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let x = Math.floor(arc / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift((x & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

function derTime(d: Date): Buffer {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const y = d.getUTCFullYear();
  const rest = p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes()) + p(d.getUTCSeconds()) + 'Z';
  if (y >= 1950 && y < 2050) return der(0x17, Buffer.from(p(y % 100) + rest, 'ascii'));
  return der(0x18, Buffer.from(p(y, 4) + rest, 'ascii'));
}

function repeatTo(b: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) out[i] = b[i % b.length];
  return out;
}

// crypto.hash (Node 20.12 and later) hashes without making a Hash object: a quarter of the time for the KDF's 8,000 rounds.
const oneShot = (crypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer') => Buffer }).hash;
const sha1 = (b: Buffer): Buffer => (oneShot ? oneShot('sha1', b, 'buffer') : createHash('sha1').update(b).digest());

/** RFC 7292 appendix B.2 key derivation with SHA-1 (ID 1: key, 2: IV, 3: MAC key). */
function pkcs12Kdf(password: string, salt: Buffer, id: number, iterations: number, n: number): Buffer {
  const v = 64;
  const u = 20;
  const pw = Buffer.from(password + '\u0000', 'utf16le').swap16(); // BMPString with its terminating NUL
  const D = Buffer.alloc(v, id);
  const S = repeatTo(salt, v * Math.ceil(salt.length / v));
  const P = repeatTo(pw, v * Math.ceil(pw.length / v));
  const I = Buffer.concat([S, P]);
  const out: Buffer[] = [];
  const c = Math.ceil(n / u);
  for (let i = 0; i < c; i++) {
    let A: Buffer = createHash('sha1').update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = sha1(A);
    out.push(A);
    if (i + 1 < c) {
      const B = repeatTo(A, v);
      for (let j = 0; j < I.length; j += v) {
        let carry = 1;
        for (let k = v - 1; k >= 0; k--) {
          const x = I[j + k] + B[k] + carry;
          I[j + k] = x & 0xff;
          carry = x >> 8;
        }
      }
    }
  }
  return Buffer.concat(out).subarray(0, n);
}

export interface MediaCertificateOptions {
  notBefore: Date;
  notAfter: Date;
  subject?: string;
  /** The certificate's key pair; default a new RSA-2048 pair made here. */
  keys?: MediaKeyPair;
}

export interface MediaKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A new RSA-2048 key pair for the media certificate, made on libuv's thread pool (it takes 50–300 ms). */
export function generateMediaKeyPair(): Promise<MediaKeyPair> {
  return new Promise((resolve, reject) => generateKeyPair('rsa', { modulusLength: 2048 }, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey }))));
}

let spareKeys: Promise<MediaKeyPair> | null = null;

/** Starts making the next media's key pair ahead of need (the CLI does so before it opens the site). */
export function prepareMediaKeyPair(): void {
  if (spareKeys) return;
  spareKeys = generateMediaKeyPair();
  spareKeys.catch(() => undefined);
}

/** The key pair started by prepareMediaKeyPair, or a new one; each pair serves one media only. */
export function takeMediaKeyPair(): Promise<MediaKeyPair> {
  const keys = spareKeys ?? generateMediaKeyPair();
  spareKeys = null;
  return keys;
}

/** The PFX ConfigMgr puts on media as _SMSTSMediaPFX: its password is the first 31 characters of the media GUID. */
export function buildMediaPfx(mediaGuid: string, o: MediaCertificateOptions): Buffer {
  const password = mediaGuid.slice(0, 31);
  const { privateKey, publicKey } = o.keys ?? generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const sha256Rsa = seq(oid('1.2.840.113549.1.1.11'), derNull());
  const name = seq(setOf(seq(oid('2.5.4.3'), utf8String(o.subject ?? `tsmedia stand-alone media ${mediaGuid}`))));
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  serial[0] |= 0x01;
  const extensions = seq(
    seq(oid('2.5.29.15'), der(0x01, Buffer.from([0xff])), octets(bitString(Buffer.from([0xa0]), 5))), // digitalSignature, keyEncipherment
    seq(oid('2.5.29.37'), octets(seq(oid('1.3.6.1.5.5.7.3.2')))), // client authentication
  );
  const tbs = seq(explicit(0, derInt(2)), derInt(serial), sha256Rsa, name, seq(derTime(o.notBefore), derTime(o.notAfter)), name, spki, explicit(3, extensions));
  const signature = createSign('sha256').update(tbs).sign(privateKey);
  const cert = seq(tbs, sha256Rsa, bitString(signature));

  const iterations = 2000;
  const localKeyId = seq(oid('1.2.840.113549.1.9.21'), setOf(octets(createHash('sha1').update(cert).digest())));
  const keySalt = randomBytes(8);
  const des = createCipheriv('des-ede3-cbc', pkcs12Kdf(password, keySalt, 1, iterations, 24), pkcs12Kdf(password, keySalt, 2, iterations, 8));
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  const encryptedKey = seq(seq(oid('1.2.840.113549.1.12.1.3'), seq(octets(keySalt), derInt(iterations))), octets(Buffer.concat([des.update(pkcs8), des.final()])));
  const keyBag = seq(oid('1.2.840.113549.1.12.10.1.2'), explicit(0, encryptedKey), setOf(localKeyId));
  const certBag = seq(oid('1.2.840.113549.1.12.10.1.3'), explicit(0, seq(oid('1.2.840.113549.1.9.22.1'), explicit(0, octets(cert)))), setOf(localKeyId));
  const data = (content: Buffer): Buffer => seq(oid('1.2.840.113549.1.7.1'), explicit(0, octets(content)));
  const authSafe = seq(data(seq(certBag)), data(seq(keyBag)));
  const macSalt = randomBytes(8);
  const mac = createHmac('sha1', pkcs12Kdf(password, macSalt, 3, iterations, 20)).update(authSafe).digest();
  const macData = seq(seq(seq(oid('1.3.14.3.2.26'), derNull()), octets(mac)), octets(macSalt), derInt(iterations));
  return seq(derInt(3), data(authSafe), macData);
}

