// The encrypted file format of Variables.dat and Policy.xml, as ConfigMgr writes it (facts from public research:
// PXEThief, hashcat mode 19850; see the notes in each function):
//   24-byte header, six little-endian 32-bit fields: 0xECED0000, 0x14, plaintext size, ciphertext size, ALG_ID, 0
//   AES-CBC, zero IV, key from CryptDeriveKey(CALG_SHA1) over the secret's UTF-16LE bytes (no terminating NUL)
//   plaintext: the XML in UTF-16LE, starting with "<?xml ve" and ending with a UTF-16 NUL, PKCS#7-padded (what
//   CryptEncrypt with Final=TRUE does: the ciphertext is always 1-16 bytes longer than the plaintext)
//   8-byte trailer (its meaning is not public; decoders drop it; we write zeros)
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { XMLValidator } from '../../site/fastXml.js';
import { InputError } from '../../errors.js';

/** The fixed, public secret ConfigMgr derives the Variables.dat key from when the media has no password. */
export const BLANK_PASSWORD_KEY = '{BAC6E688-DE21-4ABE-B7FB-C9F54E6DB664}';

/** First header field of an encrypted media file, as bytes `00 00 ED EC` (seen in every published header). */
export const MEDIA_FILE_SIGNATURE = 0xeced0000;
export const MEDIA_HEADER_SIZE = 24;
export const MEDIA_TRAILER_SIZE = 8;
/** Windows ALG_IDs (wincrypt.h). */
export const CALG_AES_128 = 0x660e;
export const CALG_AES_256 = 0x6610;

export type AesBits = 128 | 256;
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

