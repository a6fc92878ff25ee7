// The content library's direct reading of plain INIs gives exactly what the ini package gives, for ConfigMgr's own
// INIs and for any text: where it does not know the answer it says so (null), and the package reads the file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseIniWithPackage, parsePlainIni } from '../electron/engine/site/ContentLibrary.js';

const H = 'A'.repeat(64);

test('ConfigMgr INIs are read directly, as the ini package reads them', () => {
  for (const text of [
    `[File]\r\nHash=${H}\r\nSize=5\r\nAttributes=21\r\nTimeModified=133801632000000000\r\n`,
    '[Packages]\nXYZ00001.3=\n\n[Info]\nVersion=3\n',
    '[Info]\nVersion=3\nHash=ABC\n[Info]\nSize = 7 \n; a comment\n# another\n',
  ]) {
    const plain = parsePlainIni(text);
    assert.notEqual(plain, null, text);
    assert.deepEqual(plain, parseIniWithPackage(text), text);
  }
});

test('what is not plain is left to the ini package', () => {
  for (const text of ['Top=1\n[File]\nSize=1\n', '[a.b]\nx=1\n', '[File]\nName="quoted"\n', '[File]\nx=1 ; comment\n', '[File]\nFlag\n', '[File]\nx=true\n', '[File]\nk[]=1\n', '[File] junk\n', ' [File]\n', '[constructor]\nx=1\n', '[File]\ntoString=1\n']) {
    assert.equal(parsePlainIni(text), null, text);
  }
});

test('for any text, the direct reading is null or the ini package\'s', () => {
  const piece = fc.constantFrom('[', ']', '=', ';', '#', '"', "'", '\\', '.', ' ', '\t', '\r', '\n', '\u2028', 'a', 'B', '1', 'File', 'Hash', 'true', 'null', '[]', '__proto__', 'constructor', '\u00a0');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
      const text = parts.join('');
      const plain = parsePlainIni(text);
      if (plain !== null) assert.deepEqual(plain, parseIniWithPackage(text), JSON.stringify(text));
    }),
    { numRuns: 20000, seed: 20261206 },
  );
});
