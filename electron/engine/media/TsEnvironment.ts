// The task sequence environment on stand-alone media (SPEC.md "What ConfigMgr puts on stand-alone media"):
// SMS\data\TsmBootstrap.ini, SMS\data\Variables.dat and SMS\data\Policy.xml, encrypted the way ConfigMgr does so that
// the public decoders of ConfigMgr media (PXEThief and its forks, hashcat mode 19850) read what we write.
//
// Encrypted file layout (facts from public research, see the notes in each function):
//   24-byte header, six little-endian 32-bit fields: 0xECED0000, 0x14, plaintext size, ciphertext size, ALG_ID, 0
//   AES-CBC, zero IV, key from CryptDeriveKey(CALG_SHA1) over the secret's UTF-16LE bytes (no terminating NUL)
//   plaintext: the XML in UTF-16LE, starting with "<?xml ve" and ending with a UTF-16 NUL, PKCS#7-padded (what
//   CryptEncrypt with Final=TRUE does: the ciphertext is always 1-16 bytes longer than the plaintext)
//   8-byte trailer (its meaning is not public; decoders drop it; we write zeros)
import { createCipheriv, createDecipheriv, createHash, createHmac, createSign, generateKeyPair, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { XMLValidator } from 'fast-xml-parser';
import { MAX_VARIABLE_VALUE, variableNameIssue, variableValueIssue } from '../../../shared/variables.js';
import { InputError, codedInputError } from '../errors.js';
import { child, descendants, localName, parseXml } from '../site/xml.js';

/** The fixed, public secret ConfigMgr derives the Variables.dat key from when the media has no password. */
export const BLANK_PASSWORD_KEY = '{BAC6E688-DE21-4ABE-B7FB-C9F54E6DB664}';

/** First header field of an encrypted media file, as bytes `00 00 ED EC` (seen in every published header). */
export const MEDIA_FILE_SIGNATURE = 0xeced0000;
export const MEDIA_HEADER_SIZE = 24;
export const MEDIA_TRAILER_SIZE = 8;
/** Windows ALG_IDs (wincrypt.h). */
export const CALG_AES_128 = 0x660e;
export const CALG_AES_256 = 0x6610;
/** The Version attribute of <MediaVarList> on real media. */
export const MEDIA_VAR_LIST_VERSION = '4.00.5345.0000';

export type AesBits = 128 | 256;

export interface MediaVariable {
  name: string;
  value: string;
}

export interface SecretMediaVariable extends MediaVariable {
  /** "Do not display this value": never logged. */
  secret: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Key derivation and the encrypted file format

/**
 * Windows CryptDeriveKey(CALG_SHA1) for an AES key: SHA-1 of the secret's UTF-16LE bytes (PXEThief and hashcat mode
 * 19850 hash the password without a terminating NUL), then SHA-1 of a 64-byte 0x36 buffer and of a 64-byte 0x5C
 * buffer, each XOR-ed with that digest; the key is the first 16 (AES-128) or 32 (AES-256) bytes of the two digests.
 */
export function deriveMediaKey(secret: string, bits: AesBits): Buffer {
  if (secret.length === 0) throw new InputError('A media password cannot be empty.');
  const digest = createHash('sha1').update(Buffer.from(secret, 'utf16le')).digest();
  const inner = Buffer.alloc(64, 0x36);
  const outer = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < digest.length; i++) {
    inner[i] ^= digest[i];
    outer[i] ^= digest[i];
  }
  const material = Buffer.concat([createHash('sha1').update(inner).digest(), createHash('sha1').update(outer).digest()]);
  return material.subarray(0, bits / 8);
}

function algorithmId(bits: AesBits): number {
  return bits === 256 ? CALG_AES_256 : CALG_AES_128;
}

function bitsOf(algId: number): AesBits | null {
  if (algId === CALG_AES_128) return 128;
  if (algId === CALG_AES_256) return 256;
  return null;
}

/** Encrypts XML text the way ConfigMgr encrypts Variables.dat and Policy.xml on media. */
export function encryptMediaFile(plaintext: string, secret: string, bits: AesBits = 128): Buffer {
  if (plaintext.includes('\u0000')) throw new InputError('The text to encrypt contains a NUL character, which media files cannot hold.');
  const key = deriveMediaKey(secret, bits);
  const plain = Buffer.concat([Buffer.from(plaintext, 'utf16le'), Buffer.alloc(2)]);
  const cipher = createCipheriv(bits === 256 ? 'aes-256-cbc' : 'aes-128-cbc', key, Buffer.alloc(16));
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]); // PKCS#7, as CryptEncrypt(Final=TRUE)
  const header = Buffer.alloc(MEDIA_HEADER_SIZE);
  header.writeUInt32LE(MEDIA_FILE_SIGNATURE, 0);
  header.writeUInt32LE(0x14, 4);
  header.writeUInt32LE(plain.length, 8);
  header.writeUInt32LE(encrypted.length, 12);
  header.writeUInt32LE(algorithmId(bits), 16);
  header.writeUInt32LE(0, 20);
  return Buffer.concat([header, encrypted, Buffer.alloc(MEDIA_TRAILER_SIZE)]);
}

export interface MediaFileHeader {
  signature: number;
  headerField: number;
  plaintextSize: number;
  ciphertextSize: number;
  algorithmId: number;
  bits: AesBits | null;
}

export function readMediaFileHeader(buf: Buffer): MediaFileHeader {
  if (buf.length < MEDIA_HEADER_SIZE) throw new InputError(`This is not an encrypted ConfigMgr media file: it has ${buf.length} bytes, fewer than the 24-byte header.`);
  const algId = buf.readUInt32LE(16);
  return {
    signature: buf.readUInt32LE(0),
    headerField: buf.readUInt32LE(4),
    plaintextSize: buf.readUInt32LE(8),
    ciphertextSize: buf.readUInt32LE(12),
    algorithmId: algId,
    bits: bitsOf(algId),
  };
}

const hex32 = (n: number): string => '0x' + n.toString(16).toUpperCase().padStart(8, '0');

/**
 * Decrypts a Variables.dat or Policy.xml. A wrong password (or a damaged file) is detected by the result not being
 * XML: the padding must be right and the text must be a well-formed XML document.
 */
export function decryptMediaFile(buf: Buffer, secret: string): string {
  const h = readMediaFileHeader(buf);
  if (h.signature !== MEDIA_FILE_SIGNATURE || h.headerField !== 0x14) {
    throw new InputError(`This is not an encrypted ConfigMgr media file: its header starts ${hex32(h.signature)} ${hex32(h.headerField)} (expected 0xECED0000 0x00000014).`);
  }
  if (h.bits === null) throw new InputError(`The media file is encrypted with algorithm ${hex32(h.algorithmId)}; only AES-128 (0x660E) and AES-256 (0x6610) are supported.`);
  const available = buf.length - MEDIA_HEADER_SIZE;
  if (h.ciphertextSize === 0 || h.ciphertextSize % 16 !== 0 || h.ciphertextSize > available || h.plaintextSize > h.ciphertextSize) {
    throw new InputError(`The media file is damaged: its header gives ${h.ciphertextSize} encrypted bytes for ${h.plaintextSize} plain bytes, and ${available} bytes follow the header.`);
  }
  const decipher = createDecipheriv(h.bits === 256 ? 'aes-256-cbc' : 'aes-128-cbc', deriveMediaKey(secret, h.bits), Buffer.alloc(16));
  decipher.setAutoPadding(false);
  const body = buf.subarray(MEDIA_HEADER_SIZE, MEDIA_HEADER_SIZE + h.ciphertextSize);
  const plain = Buffer.concat([decipher.update(body), decipher.final()]);
  const wrong = (): InputError =>
    new InputError('The media file cannot be decrypted: the password is wrong, or the file is damaged (the decrypted content is not the expected XML).');
  const padding = plain.subarray(h.plaintextSize);
  const pkcs7 = padding.length >= 1 && padding.length <= 16 && padding.every((b) => b === padding.length);
  const zeros = padding.every((b) => b === 0);
  if (!pkcs7 && !zeros) throw wrong();
  let text = plain.subarray(0, h.plaintextSize - (h.plaintextSize % 2)).toString('utf16le');
  const nul = text.indexOf('\u0000');
  if (nul >= 0) text = text.slice(0, nul);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (!text.startsWith('<') || XMLValidator.validate(text) !== true) throw wrong();
  return text;
}

// ---------------------------------------------------------------------------------------------------------------
// XML of the two files

const XML_DECLARATION = '<?xml version="1.0" ?>';

/** Characters XML 1.0 cannot carry at all, not even in CDATA. */
function xmlCharProblem(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      return `an unpaired UTF-16 surrogate at position ${i + 1}`;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return `an unpaired UTF-16 surrogate at position ${i + 1}`;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0xfffe || c === 0xffff) {
      return `the control character U+${c.toString(16).toUpperCase().padStart(4, '0')} at position ${i + 1}`;
    }
  }
  return null;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * CDATA sections holding any text exactly: "]]>" is split across two sections, and a carriage return is written as
 * &#13; between sections (XML parsers turn a raw CR or CR LF, even inside CDATA, into LF).
 */
function cdata(s: string): string {
  return s
    .split('\r')
    .map((part) => '<![CDATA[' + part.split(']]>').join(']]]]><![CDATA[>') + ']]>')
    .join('&#13;');
}

/**
 * The decrypted Variables.dat: `<?xml version="1.0" ?><MediaVarList Version="4.00.5345.0000"><var name="N"><![CDATA[v]]></var>…`.
 * The declaration matters: hashcat mode 19850 recognises the right password by the first block decrypting to
 * UTF-16LE "<?xml ve", and lxml (PXEThief) detects UTF-16 from its first bytes.
 */
export function buildVariablesXml(vars: readonly MediaVariable[]): string {
  let out = XML_DECLARATION + `<MediaVarList Version="${MEDIA_VAR_LIST_VERSION}">`;
  for (const v of vars) {
    const badName = xmlCharProblem(v.name);
    if (badName) throw new InputError(`A variable name holds ${badName}.`);
    const bad = xmlCharProblem(v.value);
    if (bad) throw new InputError(`Variable "${v.name}": its value holds ${bad}, which media variables cannot carry.`);
    out += `<var name="${escapeAttr(v.name)}">${cdata(v.value)}</var>`;
  }
  return out + '</MediaVarList>';
}

export function parseVariablesXml(xml: string): MediaVariable[] {
  const where = { file: 'Variables.dat' };
  const root = parseXml(xml, where);
  if (localName(root.name) !== 'MediaVarList') throw new InputError(`the root element is <${root.name}>, expected <MediaVarList>.`, where);
  const out: MediaVariable[] = [];
  for (const el of root.children) {
    if (localName(el.name) !== 'var') continue;
    const name = el.attrs.name;
    if (name === undefined) throw new InputError('a <var> element has no name attribute.', where);
    out.push({ name, value: el.text });
  }
  return out;
}

export interface TaskSequencePolicyInput {
  packageId: string;
  name: string;
  advertisementId: string;
  /** The task sequence XML (<sequence …>), as in SMS_TaskSequencePackage.Sequence. */
  sequenceXml: string;
  siteCode?: string;
  bootImageId?: string | null;
  /** TS_Type: 2 for an operating system deployment task sequence (SMS_TaskSequencePackage.Type), 1 generic. */
  type?: number;
  /** PRG_ProgramID: task sequences use "*". */
  programId?: string;
}

export interface TaskSequencePolicy {
  packageId: string;
  name: string;
  advertisementId: string;
  sequenceXml: string;
  /** Every property of the CCM_TaskSequence instance, by name. */
  properties: Record<string, string>;
}

/** The plain <sequence …> element: a byte-order mark, leading blanks and an XML declaration are removed. */
export function normalizeSequenceXml(sequenceXml: string): string {
  let s = sequenceXml.charCodeAt(0) === 0xfeff ? sequenceXml.slice(1) : sequenceXml;
  s = s.trimStart();
  if (s.startsWith('<?xml')) {
    const end = s.indexOf('?>');
    if (end < 0) throw new InputError('The task sequence XML has an unterminated XML declaration.');
    s = s.slice(end + 2).trimStart();
  }
  if (!/^<sequence[\s>/]/.test(s)) throw new InputError('The task sequence XML must have <sequence> as its root element.');
  const bad = xmlCharProblem(s);
  if (bad) throw new InputError(`The task sequence XML holds ${bad}.`);
  const valid = XMLValidator.validate(s);
  if (valid !== true) throw new InputError(`The task sequence XML is malformed: ${valid.err.msg} (line ${valid.err.line}).`);
  // Line ends as any XML parser reads them; the sequence means the same and carries no &#13; references.
  return s.trimEnd().replace(/\r\n?/g, '\n');
}

/** A GUID-shaped id derived from text, so that the same media gives the same policy bytes. */
function stableGuid(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('\u0000'), 'utf8').digest('hex');
  return `{${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}}`;
}

/**
 * The decrypted Policy.xml: a ConfigMgr policy (`<Policy>` / `<PolicyRule>` / `<PolicyAction PolicyActionType="WMI-XML">`)
 * holding one `<instance class="CCM_TaskSequence">` whose properties are `<property name="…" type="…"><value>…</value>`.
 * Decoders read PKG_Name, ADV_AdvertisementID and TS_Sequence as `//*[@name='…']/value`; TS_Sequence must begin with
 * "<sequence" (PXEThief checks its first nine characters). No line breaks inside tags: PXEThief removes every
 * non-printable character (tabs and line breaks included) before parsing.
 */
export function buildPolicyXml(p: TaskSequencePolicyInput): string {
  const sequence = normalizeSequenceXml(p.sequenceXml);
  for (const [what, v] of [['package ID', p.packageId], ['name', p.name], ['advertisement ID', p.advertisementId]] as const) {
    if (v.length === 0) throw new InputError(`The task sequence ${what} cannot be empty.`);
    const bad = xmlCharProblem(v);
    if (bad) throw new InputError(`The task sequence ${what} holds ${bad}.`);
  }
  const props: [string, number, string][] = [
    ['ADV_AdvertisementID', 8, p.advertisementId],
    ['PKG_PackageID', 8, p.packageId],
    ['PKG_Name', 8, p.name],
    ['PRG_ProgramID', 8, p.programId ?? '*'],
  ];
  if (p.bootImageId) props.push(['TS_BootImageID', 8, p.bootImageId]);
  props.push(['TS_Type', 19, String(p.type ?? 2)]);
  props.push(['TS_Sequence', 8, sequence]);
  const source = p.siteCode ? `SMS:${p.siteCode}` : 'SMS';
  const nl = '\r\n';
  const lines = [
    XML_DECLARATION,
    `<Policy PolicyType="Machine" SchemaVersion="1.00" PolicyID="${escapeAttr(`${p.advertisementId}-${p.packageId}-6F6BCC28`)}" PolicyVersion="1.00" PolicySource="${escapeAttr(source)}">`,
    `<PolicyRule PolicyRuleID="${stableGuid(p.advertisementId, p.packageId)}">`,
    '<PolicyAction PolicyActionType="WMI-XML">',
    '<instance class="CCM_TaskSequence">',
    ...props.map(([name, type, value]) => `<property name="${name}" type="${type}"><value>${cdata(value)}</value></property>`),
    '</instance>',
    '</PolicyAction>',
    '</PolicyRule>',
    '</Policy>',
  ];
  return lines.join(nl) + nl;
}

export function parsePolicyXml(xml: string): TaskSequencePolicy {
  const where = { file: 'Policy.xml' };
  const root = parseXml(xml, where);
  const properties: Record<string, string> = {};
  for (const el of descendants(root)) {
    if (localName(el.name) !== 'property' || el.attrs.name === undefined) continue;
    const value = child(el, 'value');
    if (value && !(el.attrs.name in properties)) properties[el.attrs.name] = value.text.trim();
  }
  const need = (name: string): string => {
    const v = properties[name];
    if (v === undefined) throw new InputError(`the policy has no ${name} property.`, where);
    return v;
  };
  return {
    packageId: need('PKG_PackageID'),
    name: need('PKG_Name'),
    advertisementId: need('ADV_AdvertisementID'),
    sequenceXml: need('TS_Sequence'),
    properties,
  };
}

/**
 * SMS\data\TsmBootstrap.ini. Public readers (PXEThiefUp) read exactly these three keys of [MediaInfo]; nothing
 * public shows other keys (no media GUID or date range there), so the date range travels in Variables.dat.
 */
export function buildTsmBootstrapIni(o: { passwordRequired: boolean; unattended: boolean }): string {
  return ['[MediaInfo]', 'MediaType=FullMedia', `PasswordRequired=${o.passwordRequired}`, `Unattended=${o.unattended}`, ''].join('\r\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Dates as ConfigMgr writes them in variables

const FILETIME_EPOCH_OFFSET_MS = 11_644_473_600_000n;

/**
 * A date as "<high>;<low>": the two 32-bit halves, in decimal, of the Windows FILETIME (100 ns since 1601, UTC).
 * This is how _SMSTSMEDIAEXPIRE reads on real media (a public prestart script rebuilds the date as (high << 32) + low).
 */
export function mediaDateValue(d: Date): string {
  const ft = (BigInt(d.getTime()) + FILETIME_EPOCH_OFFSET_MS) * 10_000n;
  return `${ft >> 32n};${ft & 0xffffffffn}`;
}

export function parseMediaDateValue(v: string): Date {
  const m = /^(\d+);(\d+)$/.exec(v.trim());
  if (!m) throw new InputError(`"${v}" is not a media date (expected "<high>;<low>" of a FILETIME).`);
  const ft = (BigInt(m[1]) << 32n) + BigInt(m[2]);
  return new Date(Number(ft / 10_000n - FILETIME_EPOCH_OFFSET_MS));
}

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
    let A = createHash('sha1').update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash('sha1').update(A).digest();
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

// ---------------------------------------------------------------------------------------------------------------
// The whole environment

/**
 * Names of the variables ConfigMgr's own and ours. "real": seen on real media or in public tools that read real
 * media; "ours": no public source shows ConfigMgr's name, so this one is tsmedia's choice.
 */
export const MEDIA_VARIABLE_NAMES = {
  /** real (PXEThief): the media GUID; the Policy.xml key when the media has no password. */
  mediaGuid: '_SMSMediaGuid',
  /** real (PXEThief). */
  siteCode: '_SMSTSSiteCode',
  /** real (PXEThief): hex of a PFX whose password is the first 31 characters of the media GUID. */
  mediaPfx: '_SMSTSMediaPFX',
  /** real (PXEThiefUp reads it from stand-alone media): "true". */
  standAloneMedia: '_SMSTSStandAloneMedia',
  /** real (PXEThiefUp reads it): the branding title. */
  brandingTitle: '_SMSTSBrandingTitle',
  /** real (Microsoft's docs: the wizard sets _SMSTSMediaType on the media): "FullMedia" for stand-alone media. */
  mediaType: '_SMSTSMediaType',
  /** real (a public prestart script reads it): expiration date, "<high>;<low>" of a FILETIME (UTC). */
  mediaExpire: '_SMSTSMEDIAEXPIRE',
  /** ours: start date, same format as _SMSTSMEDIAEXPIRE. */
  mediaStart: '_SMSTSMEDIASTART',
  /** ours: "true" when unattended deployment is allowed (TsmBootstrap.ini carries it as Unattended=). */
  unattended: '_SMSTSUnattended',
  /** ours: the prestart command line. */
  prestartCommand: '_SMSTSPreStartCommandLine',
  /** ours: where the prestart command's files are on the media. */
  prestartFiles: '_SMSTSPreStartFilesPath',
  /** ours: the package IDs on the media, comma-separated (the form of OSDDownloadDownloadPackages). */
  packages: '_SMSTSMediaPackageIDs',
} as const;

export interface MediaEnvironmentInput {
  siteCode: string;
  /** The media GUID (the caller makes one; tests pass a fixed one). */
  mediaGuid: string;
  /** null: the media has no password (Variables.dat uses BLANK_PASSWORD_KEY, Policy.xml the media GUID). */
  password: string | null;
  unattended: boolean;
  startDate: Date | null;
  expireDate: Date | null;
  mediaVariables: readonly SecretMediaVariable[];
  prestartCommand: string | null;
  /** Where the prestart command's files are on the media, or null. */
  prestartFilesPath: string | null;
  taskSequence: { packageId: string; name: string; sequenceXml: string; bootImageId?: string | null; type?: number };
  /** The packages on the media. */
  packageIds: readonly string[];
  /** ADV_AdvertisementID of the policy. Stand-alone media has no deployment; default `<site code>20000`. */
  advertisementId?: string;
  /** _SMSTSBrandingTitle; default "IT Organization". */
  brandingTitle?: string;
  /** AES key size; default 128 (the algorithm in every published header). */
  encryption?: AesBits;
  /** Put _SMSTSMediaPFX in Variables.dat (a new RSA key each time); default true. */
  mediaCertificate?: boolean;
  /** "Now", for the certificate's validity when no start date is given. */
  now?: Date;
  /** The media certificate's key pair (made ahead, off the main thread); default one made when needed. */
  certificateKeys?: MediaKeyPair;
}

export interface MediaEnvironment {
  variablesDat: Buffer;
  policyXml: Buffer;
  tsmBootstrapIni: Buffer;
  mediaGuid: string;
  /** Everything in Variables.dat, in order; secret ones must never be shown or logged. */
  variables: SecretMediaVariable[];
}

const GUID_RE = /^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$/;

function validDate(d: Date | null, what: string): Date | null {
  if (d === null) return null;
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new InputError(`The media ${what} date is not a valid date.`);
  return d;
}

/** Checks the administrator's media variables; every error names the variable. */
export function validateMediaVariables(vars: readonly SecretMediaVariable[]): void {
  const seen = new Map<string, string>();
  for (const v of vars) {
    const nameIssue = variableNameIssue(v.name);
    if (nameIssue) throw codedInputError('VARIABLE_NAME_INVALID', { issue: nameIssue.code, ...nameIssue.params, name: v.name }, `Media variable "${v.name}": ${nameIssue.message}`);
    const valueIssue = variableValueIssue(v.name, v.value);
    if (valueIssue) throw codedInputError('VARIABLE_VALUE_INVALID', { issue: valueIssue.code, ...valueIssue.params }, `Media variable "${v.name}": ${valueIssue.message}`);
    const bad = xmlCharProblem(v.value);
    if (bad) throw new InputError(`Media variable "${v.name}": its value holds ${bad}, which media variables cannot carry.`);
    const key = v.name.toLowerCase();
    const before = seen.get(key);
    if (before !== undefined) {
      throw new InputError(`Media variable "${v.name}" is defined twice (also as "${before}"); variable names are not case-sensitive.`);
    }
    seen.set(key, v.name);
  }
}

export function buildMediaEnvironment(input: MediaEnvironmentInput): MediaEnvironment {
  const N = MEDIA_VARIABLE_NAMES;
  if (!/^[A-Za-z0-9]{3}$/.test(input.siteCode)) throw new InputError(`"${input.siteCode}" is not a site code (three letters or digits).`);
  const siteCode = input.siteCode.toUpperCase();
  if (!GUID_RE.test(input.mediaGuid)) throw new InputError(`"${input.mediaGuid}" is not a GUID; the media GUID must be one.`);
  if (input.password !== null && input.password.length === 0) {
    throw new InputError('The media password cannot be empty; give none to make media without a password.');
  }
  const start = validDate(input.startDate, 'start');
  const expire = validDate(input.expireDate, 'expiration');
  if (start && expire && expire.getTime() <= start.getTime()) {
    throw new InputError(`The media expiration date (${expire.toISOString()}) must be after its start date (${start.toISOString()}).`);
  }
  validateMediaVariables(input.mediaVariables);

  const own: SecretMediaVariable[] = [];
  const add = (name: string, value: string, secret = false): void => {
    own.push({ name, value, secret });
  };
  add(N.siteCode, siteCode);
  add(N.mediaGuid, input.mediaGuid);
  add(N.mediaType, 'FullMedia');
  add(N.standAloneMedia, 'true');
  add(N.brandingTitle, input.brandingTitle ?? 'IT Organization');
  add(N.unattended, String(input.unattended));
  if (start) add(N.mediaStart, mediaDateValue(start));
  if (expire) add(N.mediaExpire, mediaDateValue(expire));

  if (input.prestartCommand !== null) {
    const cmd = input.prestartCommand;
    if (cmd.trim() === '') throw new InputError('The prestart command is empty; give none to have no prestart command.');
    if (cmd.length > MAX_VARIABLE_VALUE) throw new InputError(`The prestart command has ${cmd.length} characters; at most ${MAX_VARIABLE_VALUE} are allowed.`);
    const bad = xmlCharProblem(cmd);
    if (bad) throw new InputError(`The prestart command holds ${bad}.`);
    add(N.prestartCommand, cmd);
    if (input.prestartFilesPath !== null) {
      if (input.prestartFilesPath.trim() === '') throw new InputError('The path of the prestart command\'s files is empty.');
      add(N.prestartFiles, input.prestartFilesPath);
    }
  } else if (input.prestartFilesPath !== null) {
    throw new InputError('Files for the prestart command were given, but no prestart command.');
  }

  const packages: string[] = [];
  const seenPackages = new Set<string>();
  for (const id of [input.taskSequence.packageId, ...input.packageIds]) {
    if (!/^[A-Za-z0-9]{8}$/.test(id)) throw new InputError(`"${id}" is not a package ID (eight letters or digits).`);
    const upper = id.toUpperCase();
    if (!seenPackages.has(upper)) {
      seenPackages.add(upper);
      packages.push(upper);
    }
  }
  add(N.packages, packages.join(','));

  if (input.mediaCertificate ?? true) {
    const notBefore = start ?? input.now ?? new Date();
    const notAfter = expire ?? new Date(notBefore.getTime() + 365 * 86_400_000);
    add(N.mediaPfx, buildMediaPfx(input.mediaGuid, { notBefore, notAfter, keys: input.certificateKeys }).toString('hex').toUpperCase(), true);
  }

  const variables = [...own, ...input.mediaVariables.map((v) => ({ name: v.name, value: v.value, secret: v.secret }))];
  const bits = input.encryption ?? 128;
  const policy = buildPolicyXml({
    packageId: input.taskSequence.packageId.toUpperCase(),
    name: input.taskSequence.name,
    advertisementId: input.advertisementId ?? `${siteCode}20000`,
    sequenceXml: input.taskSequence.sequenceXml,
    siteCode,
    bootImageId: input.taskSequence.bootImageId ?? null,
    type: input.taskSequence.type,
  });
  const variablesKey = input.password ?? BLANK_PASSWORD_KEY;
  const policyKey = input.password ?? input.mediaGuid;
  return {
    variablesDat: encryptMediaFile(buildVariablesXml(variables), variablesKey, bits),
    policyXml: encryptMediaFile(policy, policyKey, bits),
    tsmBootstrapIni: Buffer.from(buildTsmBootstrapIni({ passwordRequired: input.password !== null, unattended: input.unattended }), 'latin1'),
    mediaGuid: input.mediaGuid,
    variables,
  };
}
