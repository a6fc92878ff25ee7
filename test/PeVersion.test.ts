// The version resource reader on its own: a real version resource (made with resedit, as the sample site's stand-ins
// are), the first RT_VERSION entry taken, an image with a COFF symbol table (resedit refused those), and damaged
// images giving null or 0.0.0.0 rather than an exception.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { peVersion } from '../electron/engine/formats/PeVersion.js';
import { standInPe } from '../scripts/lib/StandInPe.js';

const pe = (version: string, is32Bit = false): Promise<Buffer> => standInPe({ name: 'x.exe', version, description: 'test', is32Bit, isDll: false });

/** The file offset of the VS_VERSIONINFO block: found by its key, as a reader of the bytes would. */
const versionBlock = (image: Buffer): number => image.indexOf(Buffer.from('VS_VERSION_INFO', 'utf16le')) - 6;

test('peVersion reads the fixed file and product versions of 64- and 32-bit images', async () => {
  assert.deepEqual(await peVersion(await pe('5.0.9128.1000')), { fileVersion: '5.0.9128.1000', productVersion: '5.0.9128.1000' });
  assert.deepEqual(await peVersion(await pe('1.2.3.4', true)), { fileVersion: '1.2.3.4', productVersion: '1.2.3.4' });
});

test('peVersion reads an image that has a COFF symbol table', async () => {
  const image = await pe('10.0.1.2');
  const coff = image.readUInt32LE(0x3c) + 4;
  image.writeUInt32LE(0x200, coff + 8); // PointerToSymbolTable
  image.writeUInt32LE(1, coff + 12); // NumberOfSymbols
  assert.deepEqual(await peVersion(image), { fileVersion: '10.0.1.2', productVersion: '10.0.1.2' });
});

test('peVersion gives null for no PE image, no resources and damaged headers, and 0.0.0.0 for a bad fixed part', async () => {
  assert.equal(await peVersion(Buffer.alloc(32)), null);
  assert.equal(await peVersion(Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200)])), null);
  const good = await pe('7.7.7.7');
  // Every truncation of the image: null or the version, never an exception.
  for (let n = 64; n < good.length; n += 61) {
    const v = await peVersion(good.subarray(0, n));
    assert.ok(v === null || v.fileVersion === '7.7.7.7', `${n} bytes: ${JSON.stringify(v)}`);
  }
  const badSignature = Buffer.from(good);
  badSignature.writeUInt32LE(0x12345678, versionBlock(badSignature) + 40);
  assert.deepEqual(await peVersion(badSignature), { fileVersion: '0.0.0.0', productVersion: '0.0.0.0' });
  const badKey = Buffer.from(good);
  badKey.write('X', versionBlock(badKey) + 6, 'utf16le');
  assert.equal(await peVersion(badKey), null);
  const badPe = Buffer.from(good);
  badPe.writeUInt32LE(0, badPe.readUInt32LE(0x3c));
  assert.equal(await peVersion(badPe), null);
});
