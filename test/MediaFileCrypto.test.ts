// The encrypted media file format (Variables.dat, Policy.xml) checked against an independent implementation in this
// file: the key from CryptDeriveKey as Microsoft documents it (written out here step by step), AES-CBC with a zero IV
// from Node's crypto, and the 24-byte header built field by field. Files we write are opened by that implementation;
// files it seals (well-formed, odd, damaged or foreign) are opened or refused by ours. Fast: no RSA key, no oracle
// process, so the `environment` mutation group runs it against every mutant of MediaFileCrypto.ts.
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import {
  BLANK_PASSWORD_KEY,
  CALG_AES_128,
  CALG_AES_256,
  MEDIA_FILE_SIGNATURE,
  MEDIA_HEADER_SIZE,
  MEDIA_TRAILER_SIZE,
  decryptMediaFile,
  deriveMediaKey,
  encryptMediaFile,
  readMediaFileHeader,
} from '../electron/engine/media/environment/MediaFileCrypto.js';

const sha1 = (b: Buffer): Buffer => createHash('sha1').update(b).digest();

/**
 * CryptDeriveKey as Microsoft's documentation describes it (wincrypt, "Remarks"): hash the base data; form a 64-byte
 * buffer of 0x36 and XOR its first k bytes (k = hash length) with the hash; likewise a 64-byte buffer of 0x5C; hash
 * each; concatenate; the key is the first n bytes. The base data is the secret in UTF-16LE without a NUL (PXEThief).
 */
function documentedDeriveKey(secret: string, keyBytes: number): Buffer {
  const hash = sha1(Buffer.from(secret, 'utf16le'));
  const pad = (constant: number): Buffer => Buffer.from(Array.from({ length: 64 }, (_, i) => (i < hash.length ? hash[i] ^ constant : constant)));
  return Buffer.concat([sha1(pad(0x36)), sha1(pad(0x5c))]).subarray(0, keyBytes);
}

interface Seal {
  /** The plaintext bytes the header counts. */
  plain: Buffer;
  /** Bytes appended after them before encryption (the padding); default PKCS#7 to the next 16-byte block. */
  padding?: Buffer;
  bits?: 128 | 256;
  signature?: number;
  field?: number;
  plaintextSize?: number;
  ciphertextSize?: number;
  algId?: number;
  trailer?: Buffer;
}

/** A media file sealed without our writer: header field by field, AES-CBC with a zero IV and no automatic padding. */
function seal(secret: string, s: Seal): Buffer {
  const bits = s.bits ?? 128;
  const padLen = 16 - (s.plain.length % 16);
  const padding = s.padding ?? Buffer.alloc(padLen, padLen);
  const body = Buffer.concat([s.plain, padding]);
  const c = createCipheriv(`aes-${bits}-cbc`, documentedDeriveKey(secret, bits / 8), Buffer.alloc(16));
  c.setAutoPadding(false);
  const encrypted = Buffer.concat([c.update(body), c.final()]);
  const header = Buffer.alloc(24);
  header.writeUInt32LE(s.signature ?? 0xeced0000, 0);
  header.writeUInt32LE(s.field ?? 0x14, 4);
  header.writeUInt32LE(s.plaintextSize ?? s.plain.length, 8);
  header.writeUInt32LE(s.ciphertextSize ?? encrypted.length, 12);
  header.writeUInt32LE(s.algId ?? (bits === 256 ? 0x6610 : 0x660e), 16);
  return Buffer.concat([header, encrypted, s.trailer ?? Buffer.alloc(8)]);
}

const utf16 = (text: string): Buffer => Buffer.from(text, 'utf16le');
/** The plaintext as ConfigMgr writes it: UTF-16LE text and a UTF-16 NUL. */
const withNul = (text: string): Buffer => Buffer.concat([utf16(text), Buffer.alloc(2)]);

const XML = '<?xml version="1.0" ?><MediaVarList Version="4.00.5345.0000"><var name="A"><![CDATA[Año]]></var></MediaVarList>';

const refused = (buf: Buffer, secret: string, message: string | RegExp): void => {
  assert.throws(
    () => decryptMediaFile(buf, secret),
    (e: unknown) => e instanceof InputError && (typeof message === 'string' ? e.message === message : message.test(e.message)),
    String(message),
  );
};
const WRONG = 'The media file cannot be decrypted: the password is wrong, or the file is damaged (the decrypted content is not the expected XML).';

describe('key derivation against the documented CryptDeriveKey', () => {
  test('AES-128 and AES-256 keys equal the documented steps for several secrets', () => {
    for (const secret of ['Password1', 'P@ssw0rd-Año', BLANK_PASSWORD_KEY, 'x', '日本語のパスワード', 'a'.repeat(200)]) {
      assert.deepEqual(deriveMediaKey(secret, 128), documentedDeriveKey(secret, 16), secret);
      assert.deepEqual(deriveMediaKey(secret, 256), documentedDeriveKey(secret, 32), secret);
    }
  });

  test('the documented derivation itself matches hashcat mode 19850\'s published vector', () => {
    // module_19850.c: "Password1"; the first ciphertext block is AES(key, UTF-16LE "<?xml ve") under a zero IV
    const c = createCipheriv('aes-128-ecb', documentedDeriveKey('Password1', 16), null);
    c.setAutoPadding(false);
    assert.equal(c.update(utf16('<?xml ve')).toString('hex'), '11cb54aa3b699f61f86ab312e6fb97ec');
  });

  test('an empty secret is refused with a message', () => {
    for (const bits of [128, 256] as const) {
      assert.throws(() => deriveMediaKey('', bits), (e: unknown) => e instanceof InputError && e.message === 'A media password cannot be empty.');
    }
  });
});

describe('files we write, opened by the independent implementation', () => {
  test('header fields, AES-CBC with a zero IV, PKCS#7 padding, UTF-16LE text and NUL, 8-byte zero trailer', () => {
    assert.equal(MEDIA_FILE_SIGNATURE, 0xeced0000);
    assert.equal(MEDIA_HEADER_SIZE, 24);
    assert.equal(MEDIA_TRAILER_SIZE, 8);
    assert.equal(CALG_AES_128, 0x660e, 'wincrypt.h CALG_AES_128');
    assert.equal(CALG_AES_256, 0x6610, 'wincrypt.h CALG_AES_256');
    for (const bits of [128, 256] as const) {
      for (const text of [XML, '<a/>', '<b>1234567</b>', '<c>' + 'é'.repeat(301) + '</c>']) {
        const f = encryptMediaFile(text, 'secret-Ñ', bits);
        const plainLen = text.length * 2 + 2;
        const cipherLen = plainLen + 16 - (plainLen % 16);
        assert.deepEqual(f.subarray(0, 4), Buffer.from([0x00, 0x00, 0xed, 0xec]), 'signature bytes');
        assert.equal(f.readUInt32LE(4), 0x14);
        assert.equal(f.readUInt32LE(8), plainLen);
        assert.equal(f.readUInt32LE(12), cipherLen);
        assert.equal(f.readUInt32LE(16), bits === 256 ? 0x6610 : 0x660e);
        assert.equal(f.readUInt32LE(20), 0);
        assert.equal(f.length, 24 + cipherLen + 8);
        assert.deepEqual(f.subarray(24 + cipherLen), Buffer.alloc(8));
        const d = createDecipheriv(`aes-${bits}-cbc`, documentedDeriveKey('secret-Ñ', bits / 8), Buffer.alloc(16));
        const plain = Buffer.concat([d.update(f.subarray(24, 24 + cipherLen)), d.final()]); // checks PKCS#7 itself
        assert.deepEqual(plain, withNul(text));
      }
    }
  });

  test('the default is AES-128; a NUL in the text is refused', () => {
    assert.equal(encryptMediaFile('<a/>', 'pw').readUInt32LE(16), 0x660e);
    assert.throws(
      () => encryptMediaFile('<a/>\u0000', 'pw'),
      (e: unknown) => e instanceof InputError && e.message === 'The text to encrypt contains a NUL character, which media files cannot hold.',
    );
  });
});

describe('files sealed independently, opened by ours', () => {
  test('well-formed files of both key sizes', () => {
    for (const bits of [128, 256] as const) {
      assert.equal(decryptMediaFile(seal('pw', { plain: withNul(XML), bits }), 'pw'), XML);
    }
  });

  test('one byte, a full block, zero padding, no padding and no trailer are all read', () => {
    const k = 'pw';
    // 31 bytes: one byte of PKCS#7 padding (0x01)
    assert.equal(decryptMediaFile(seal(k, { plain: Buffer.concat([utf16('<abcdefghijkl/>'), Buffer.from([0x20])]) }), k), '<abcdefghijkl/>');
    // 32 bytes, on a block boundary: a whole block of 0x10 follows
    const onBoundary = utf16('<abcdefghijk/>  ');
    assert.equal(onBoundary.length, 32);
    const full = seal(k, { plain: onBoundary });
    assert.equal(full.readUInt32LE(12), 48);
    assert.equal(decryptMediaFile(full, k), '<abcdefghijk/>  ');
    // zero padding (what a writer without PKCS#7 leaves)
    assert.equal(decryptMediaFile(seal(k, { plain: utf16('<a>1234567890123</a>'), padding: Buffer.alloc(8) }), k), '<a>1234567890123</a>');
    // no padding at all: the plaintext fills the ciphertext
    assert.equal(decryptMediaFile(seal(k, { plain: onBoundary, padding: Buffer.alloc(0) }), k), '<abcdefghijk/>  ');
    // the ciphertext runs to the end of the file: no trailer
    assert.equal(decryptMediaFile(seal(k, { plain: withNul(XML), trailer: Buffer.alloc(0) }), k), XML);
  });

  test('the text ends at the first NUL, a byte-order mark is dropped, an odd last byte is not read as text', () => {
    assert.equal(decryptMediaFile(seal('pw', { plain: Buffer.concat([withNul('<a/>'), utf16('garbage')]) }), 'pw'), '<a/>');
    assert.equal(decryptMediaFile(seal('pw', { plain: withNul('\uFEFF<a/>') }), 'pw'), '<a/>');
    // nine plaintext bytes: "<a/>" and one odd byte; seven bytes of PKCS#7 (0x07) follow it
    assert.equal(decryptMediaFile(seal('pw', { plain: Buffer.concat([utf16('<a/>'), Buffer.from([0x00])]) }), 'pw'), '<a/>');
  });

  test('the header is read field by field', () => {
    const f = seal('pw', { plain: withNul('<a/>'), signature: 0x11223344, field: 0x55667788, algId: 0x6801 });
    assert.deepEqual(readMediaFileHeader(f), {
      signature: 0x11223344,
      headerField: 0x55667788,
      plaintextSize: 10,
      ciphertextSize: 16,
      algorithmId: 0x6801,
      bits: null,
    });
    assert.equal(readMediaFileHeader(seal('pw', { plain: withNul('<a/>') })).bits, 128);
    assert.equal(readMediaFileHeader(seal('pw', { plain: withNul('<a/>'), bits: 256 })).bits, 256);
    assert.equal(readMediaFileHeader(Buffer.alloc(24)).bits, null);
    assert.throws(
      () => readMediaFileHeader(Buffer.alloc(23)),
      (e: unknown) => e instanceof InputError && e.message === 'This is not an encrypted ConfigMgr media file: it has 23 bytes, fewer than the 24-byte header.',
    );
  });
});

describe('files ours refuses', () => {
  const good = (over: Partial<Seal> = {}): Buffer => seal('pw', { plain: withNul(XML), ...over });

  test('shorter than the header', () => {
    refused(Buffer.alloc(0), 'pw', 'This is not an encrypted ConfigMgr media file: it has 0 bytes, fewer than the 24-byte header.');
    refused(good().subarray(0, 23), 'pw', 'This is not an encrypted ConfigMgr media file: it has 23 bytes, fewer than the 24-byte header.');
  });

  test('another signature or another second field, each alone', () => {
    const expected = (sig: string, field: string): string =>
      `This is not an encrypted ConfigMgr media file: its header starts ${sig} ${field} (expected 0xECED0000 0x00000014).`;
    refused(good({ signature: 0xeced0001 }), 'pw', expected('0xECED0001', '0x00000014'));
    refused(good({ field: 0x15 }), 'pw', expected('0xECED0000', '0x00000015'));
    refused(good({ signature: 0, field: 0 }), 'pw', expected('0x00000000', '0x00000000'));
    refused(Buffer.from('[MediaInfo]\r\nMediaType=FullMedia\r\n....................'), 'pw', expected('0x64654D5B', '0x6E496169'));
  });

  test('an algorithm other than AES-128 and AES-256', () => {
    for (const [alg, hex] of [[0x6801, '0x00006801'], [0x660f, '0x0000660F'], [0, '0x00000000']] as const) {
      refused(good({ algId: alg }), 'pw', `The media file is encrypted with algorithm ${hex}; only AES-128 (0x660E) and AES-256 (0x6610) are supported.`);
    }
  });

  test('sizes that do not fit: none, not whole blocks, past the end, more plaintext than ciphertext', () => {
    const damaged = (cipher: number, plain: number, available: number): string =>
      `The media file is damaged: its header gives ${cipher} encrypted bytes for ${plain} plain bytes, and ${available} bytes follow the header.`;
    const f = good();
    const cipherLen = f.readUInt32LE(12);
    const plainLen = f.readUInt32LE(8);
    const available = f.length - 24;
    refused(good({ ciphertextSize: 0, plaintextSize: 0 }), 'pw', damaged(0, 0, available));
    refused(good({ ciphertextSize: cipherLen - 8 }), 'pw', damaged(cipherLen - 8, plainLen, available));
    refused(good({ ciphertextSize: cipherLen + 8 }), 'pw', damaged(cipherLen + 8, plainLen, available));
    refused(good({ ciphertextSize: 1 }), 'pw', damaged(1, plainLen, available));
    refused(good({ ciphertextSize: cipherLen + 16 }), 'pw', damaged(cipherLen + 16, plainLen, available));
    refused(good({ trailer: Buffer.alloc(0) }).subarray(0, 24 + cipherLen - 1), 'pw', damaged(cipherLen, plainLen, cipherLen - 1));
    refused(good({ plaintextSize: cipherLen + 1 }), 'pw', damaged(cipherLen, cipherLen + 1, available));
    refused(good().subarray(0, 24), 'pw', damaged(cipherLen, plainLen, 0));
    // exactly at the limits is fine: ciphertext to the last byte, plaintext as long as the ciphertext
    assert.equal(decryptMediaFile(good({ trailer: Buffer.alloc(0) }), 'pw'), XML);
    assert.equal(decryptMediaFile(good({ plaintextSize: cipherLen }), 'pw'), XML, 'the text still ends at its NUL');
  });

  test('padding that is neither PKCS#7 nor zeros', () => {
    const plain = utf16('<a>12345</a>'); // 24 bytes: 8 of padding
    assert.equal(decryptMediaFile(seal('pw', { plain, padding: Buffer.alloc(8, 8) }), 'pw'), '<a>12345</a>');
    assert.equal(decryptMediaFile(seal('pw', { plain, padding: Buffer.alloc(8, 0) }), 'pw'), '<a>12345</a>');
    refused(seal('pw', { plain, padding: Buffer.alloc(8, 7) }), 'pw', WRONG);
    refused(seal('pw', { plain, padding: Buffer.alloc(8, 9) }), 'pw', WRONG);
    refused(seal('pw', { plain, padding: Buffer.from([8, 8, 8, 8, 8, 8, 8, 0]) }), 'pw', WRONG);
    refused(seal('pw', { plain, padding: Buffer.from([0, 0, 0, 0, 0, 0, 0, 8]) }), 'pw', WRONG);
    refused(seal('pw', { plain, padding: Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]) }), 'pw', WRONG);
    // padding longer than a block is not PKCS#7, even when every byte gives its length
    const p31 = Buffer.concat([utf16('<abcdefghijkl/>'), Buffer.from([0x20])]); // 31 bytes
    refused(seal('pw', { plain: p31, padding: Buffer.alloc(17, 17) }), 'pw', WRONG);
    assert.equal(decryptMediaFile(seal('pw', { plain: p31, padding: Buffer.alloc(17, 0) }), 'pw'), '<abcdefghijkl/>');
    const p26 = utf16('<abcdefg/>   '); // 26 bytes
    refused(seal('pw', { plain: p26, padding: Buffer.alloc(22, 22) }), 'pw', WRONG);
    assert.equal(decryptMediaFile(seal('pw', { plain: p26, padding: Buffer.alloc(22, 0) }), 'pw'), '<abcdefg/>   ');
  });

  test('a wrong password, text that does not start with "<", text that is not XML', () => {
    refused(good(), 'wrong', WRONG);
    refused(seal('pw', { plain: withNul(' <a/>') }), 'pw', WRONG);
    refused(seal('pw', { plain: withNul('x<a/>') }), 'pw', WRONG);
    refused(seal('pw', { plain: withNul('<a>') }), 'pw', WRONG);
    refused(seal('pw', { plain: withNul('') }), 'pw', WRONG);
    refused(seal('pw', { plain: withNul('\u0000<a/>') }), 'pw', WRONG);
  });
});
