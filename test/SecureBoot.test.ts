// Secure Boot readiness of EFI boot files: real Microsoft signatures (Debian's shim-signed), binaries signed with
// sbsigntool by test CAs made here with openssl (one with a subject copied from a Microsoft CA), an unsigned image
// and damaged signatures. The PCA 2011 and Windows UEFI CA 2023 classes are proven with test CAs whose thumbprints
// are injected into the recogniser in place of Microsoft's (no Windows boot manager can be downloaded here); the real
// table's thumbprints are proven against the real certificates Debian ships.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test, type TestContext } from 'node:test';
import { MICROSOFT_CAS, classifyBootFile, overallClass, recognise, type KnownCa } from '../electron/engine/formats/pe/SecureBootClass.js';
import { authenticodeRanges, peLayout, winCertificates } from '../electron/engine/formats/pe/PeLayout.js';
import { hasCommand, requireOrSkip, tempDir } from './helpers.js';
import { issue, makeRoot, ovmfMicrosoftCertificates, sbsign, shimSigned, unsignedEfi, type TestCa } from './support/secureBootFixtures.js';

const TOOLS = hasCommand('openssl') && hasCommand('sbsign');
const NO_TOOLS = 'needs openssl and sbsign (apt-get install openssl sbsigntool; scripts/setup.sh installs them)';
const MS_SUBJECT = (cn: string): string => `/C=US/ST=Washington/L=Redmond/O=Microsoft Corporation/CN=${cn}`;

const known = (id: KnownCa['id'], ca: TestCa): KnownCa => ({ id, name: `test stand-in for ${id}`, sha1: ca.sha1, sha256: ca.sha256 });

interface Signed {
  unsigned: Buffer;
  /** Leaf under a self-signed root whose subject is Microsoft Windows Production PCA 2011's. */
  copiedPca: Buffer;
  /** Leaf → intermediate → root (two levels above the signer). */
  twoLevel: Buffer;
  /** Leaf under the test "2011" CA, and under the test "2023" CA. */
  under2011: Buffer;
  /** Leaf under the test "2011" CA, the CA's certificate left out of the signature. */
  leafOnly: Buffer;
  under2023: Buffer;
  copiedRoot: TestCa;
  twoRoot: TestCa;
  twoIntermediate: TestCa;
  ca2011: TestCa;
  ca2023: TestCa;
}

let signed: Signed | null = null;

describe('Secure Boot readiness of EFI boot files', () => {
  before(async () => {
    if (!TOOLS) return;
    const dir = tempDir({ after: (fn) => process.on('exit', fn) }, 'tsmedia-sb-');
    const input = join(dir, 'bootx64.efi');
    const unsigned = await unsignedEfi();
    writeFileSync(input, unsigned);
    const sign = (name: string, leaf: TestCa, extra: TestCa[]): Buffer => {
      const out = join(dir, `${name}.efi`);
      sbsign(dir, input, out, leaf, extra);
      return readFileSync(out);
    };
    const copiedRoot = makeRoot(dir, 'copied-pca', MS_SUBJECT('Microsoft Windows Production PCA 2011'));
    const copiedLeaf = issue(dir, copiedRoot, 'copied-leaf', MS_SUBJECT('Microsoft Windows'), false);
    const twoRoot = makeRoot(dir, 'two-root', '/O=tsmedia test/CN=tsmedia Test Root');
    const twoIntermediate = issue(dir, twoRoot, 'two-int', '/O=tsmedia test/CN=tsmedia Test Intermediate CA', true);
    const twoLeaf = issue(dir, twoIntermediate, 'two-leaf', '/O=tsmedia test/CN=tsmedia Test Signer', false);
    const ca2011 = makeRoot(dir, 'ca2011', '/O=tsmedia test/CN=Test PCA 2011 stand-in');
    const leaf2011 = issue(dir, ca2011, 'leaf2011', '/O=tsmedia test/CN=Test Windows 2011', false);
    const ca2023 = makeRoot(dir, 'ca2023', '/O=tsmedia test/CN=Test Windows UEFI CA 2023 stand-in');
    const leaf2023 = issue(dir, ca2023, 'leaf2023', '/O=tsmedia test/CN=Test Windows 2023', false);
    signed = {
      unsigned,
      copiedPca: sign('copied', copiedLeaf, [copiedRoot]),
      twoLevel: sign('two', twoLeaf, [twoIntermediate, twoRoot]),
      under2011: sign('u2011', leaf2011, [ca2011]),
      under2023: sign('u2023', leaf2023, [ca2023]),
      leafOnly: sign('leafonly', leaf2011, []),
      copiedRoot,
      twoRoot,
      twoIntermediate,
      ca2011,
      ca2023,
    };
  });

  const need = (t: TestContext): Signed | null => (requireOrSkip(t, TOOLS, NO_TOOLS) ? signed : null);

  test('an unsigned image is named unsigned; a file that is no PE image is damaged', async () => {
    const r = classifyBootFile('efi/boot/bootx64.efi', await unsignedEfi());
    assert.equal(r.class, 'unsigned');
    assert.deepEqual(r.signatures, []);
    assert.match(r.summary, /^efi\/boot\/bootx64\.efi: unsigned/);
    const junk = classifyBootFile('bootmgr.efi', Buffer.concat([Buffer.from('MZ'), Buffer.alloc(3000, 7)]));
    assert.equal(junk.class, 'damaged');
    assert.match(junk.summary, /not a PE image/);
  });

  test('a CA whose subject copies Microsoft Windows Production PCA 2011 is another CA, not Microsoft\'s', (t) => {
    const s = need(t);
    if (!s) return;
    const r = classifyBootFile('bootmgr.efi', s.copiedPca);
    assert.equal(r.class, 'other-ca');
    const [sig] = r.signatures;
    assert.equal(r.signatures.length, 1);
    assert.equal(sig?.problem, null);
    assert.equal(sig?.signer, 'Microsoft Windows');
    assert.equal(sig?.root, 'Microsoft Windows Production PCA 2011', 'the chain reaches the copied root by signature');
    assert.equal(sig?.authority, null, 'the copied name is not recognised');
    assert.deepEqual(sig?.chain.map((c) => c.known), [null, null]);
    assert.equal(sig?.chain[1]?.sha1, s.copiedRoot.sha1);
    assert.match(r.summary, /not recognised by thumbprint/);
    assert.doesNotMatch(r.summary, /only under/);
  });

  test('a chain of two levels is built up to its self-signed root', (t) => {
    const s = need(t);
    if (!s) return;
    const r = classifyBootFile('efi/boot/bootx64.efi', s.twoLevel);
    assert.equal(r.class, 'other-ca');
    const sig = r.signatures[0];
    assert.deepEqual(sig?.chain.map((c) => c.subject), ['tsmedia Test Signer', 'tsmedia Test Intermediate CA', 'tsmedia Test Root']);
    assert.deepEqual(sig?.chain.map((c) => c.sha256).slice(1), [s.twoIntermediate.sha256, s.twoRoot.sha256]);
    assert.equal(sig?.root, 'tsmedia Test Root');
    assert.deepEqual(r.authorities, ['"tsmedia Test Root" (a CA not recognised by thumbprint)']);
    // The intermediate recognised by thumbprint (injected) is the authority: the nearest known CA to the signer.
    const viaIntermediate = classifyBootFile('x.efi', s.twoLevel, [known('windows-production-pca-2011', s.twoIntermediate)]);
    assert.equal(viaIntermediate.class, 'pca-2011-only');
    assert.equal(viaIntermediate.signatures[0]?.authority, 'windows-production-pca-2011');
  });

  test('PCA 2011 only, and Windows UEFI CA 2023, by thumbprints injected in place of Microsoft\'s', (t) => {
    const s = need(t);
    if (!s) return;
    const table = [known('windows-production-pca-2011', s.ca2011), known('windows-uefi-ca-2023', s.ca2023)];
    const old = classifyBootFile('bootmgr.efi', s.under2011, table);
    assert.equal(old.class, 'pca-2011-only');
    assert.match(old.summary, /only under the Microsoft Windows Production PCA 2011/);
    assert.deepEqual(old.authorities, ['test stand-in for windows-production-pca-2011']);
    const now = classifyBootFile('bootmgr.efi', s.under2023, table);
    assert.equal(now.class, 'windows-uefi-ca-2023');
    assert.equal(now.signatures[0]?.signer, 'Test Windows 2023');
    // With the real table the same files are under other CAs: the names prove nothing.
    assert.equal(classifyBootFile('bootmgr.efi', s.under2011).class, 'other-ca');
    assert.equal(classifyBootFile('bootmgr.efi', s.under2023).class, 'other-ca');
    // A recogniser entry needs both thumbprints where it has both: a SHA-256 mismatch is not the CA.
    const wrong256 = [{ ...known('windows-production-pca-2011', s.ca2011), sha256: s.ca2023.sha256 }];
    assert.equal(classifyBootFile('bootmgr.efi', s.under2011, wrong256).class, 'other-ca');
    // The media's class is its weakest boot file's.
    assert.equal(overallClass([now, old]), 'pca-2011-only');
    assert.equal(overallClass([now]), 'windows-uefi-ca-2023');
    assert.equal(overallClass([]), null);
  });

  test('a signature that does not carry its CA certificate is named by the issuer it names, and not recognised', (t) => {
    const s = need(t);
    if (!s) return;
    const table = [known('windows-production-pca-2011', s.ca2011)];
    const r = classifyBootFile('bootmgr.efi', s.leafOnly, table);
    assert.equal(r.class, 'other-ca', 'the thumbprint of a certificate that is not there cannot be checked');
    assert.deepEqual(r.signatures[0]?.chain.map((c) => c.subject), ['Test Windows 2011']);
    assert.equal(r.signatures[0]?.root, 'Test PCA 2011 stand-in');
    assert.deepEqual(r.authorities, ['"Test PCA 2011 stand-in" (a CA not recognised by thumbprint)']);
  });

  test('damaged signatures are named: a changed image, a changed signature, a malformed table', (t) => {
    const s = need(t);
    if (!s) return;
    const table = peLayout(s.copiedPca).certTable;
    assert.ok(table);
    // A byte of the image inside the hashed headers (the DOS stub).
    const image = Buffer.from(s.copiedPca);
    image[0x50] = (image[0x50] ?? 0) ^ 0xff;
    const a = classifyBootFile('bootmgr.efi', image);
    assert.equal(a.class, 'damaged');
    assert.match(a.authorities[0] ?? '', /image digest does not match/);
    // A byte of the RSA signature value (the SignerInfo's last field, at the end of the PKCS#7 data).
    const sig = Buffer.from(s.copiedPca);
    const [entry] = winCertificates(sig, table);
    assert.ok(entry);
    const last = entry.data.byteOffset - sig.byteOffset + entry.data.length - 5;
    sig[last] = (sig[last] ?? 0) ^ 0x01;
    const b = classifyBootFile('bootmgr.efi', sig);
    assert.equal(b.class, 'damaged');
    assert.match(b.authorities[0] ?? '', /signature does not verify with the key of Microsoft Windows/);
    // The PKCS#7's outer tag.
    const tag = Buffer.from(s.copiedPca);
    tag[table.offset + 8] = 0x05;
    const c = classifyBootFile('bootmgr.efi', tag);
    assert.equal(c.class, 'damaged');
    assert.match(c.summary, /PKCS#7/);
    // A table that claims more bytes than the file has.
    const long = Buffer.from(s.copiedPca);
    const layout = peLayout(long);
    long.writeUInt32LE(table.size + 4096, (layout.securityEntryOffset ?? 0) + 4);
    const d = classifyBootFile('bootmgr.efi', long);
    assert.equal(d.class, 'damaged');
    assert.match(d.summary, /certificate table .* lies outside/);
  });

  test('real Microsoft signatures: Debian\'s shim-signed carries the Microsoft UEFI CA 2011 and 2023 chains', (t) => {
    const shim = shimSigned();
    if (!requireOrSkip(t, 'path' in shim, 'reason' in shim ? shim.reason : '')) return;
    const image = readFileSync((shim as { path: string }).path);
    const r = classifyBootFile('efi/boot/bootx64.efi', image);
    assert.equal(r.class, 'other-ca');
    assert.ok(r.signatures.length >= 1);
    for (const sig of r.signatures) assert.equal(sig.problem, null, 'every Microsoft signature verifies');
    assert.ok(r.authorities.includes('Microsoft Corporation UEFI CA 2011'), r.authorities.join(', '));
    const uefi2011 = r.signatures.find((s) => s.authority === 'microsoft-uefi-ca-2011');
    assert.equal(uefi2011?.signer, 'Microsoft Windows UEFI Driver Publisher');
    assert.equal(uefi2011?.root, 'Microsoft Corporation Third Party Marketplace Root');
    // With two signatures, a damaged one leaves the class to the valid one, and is listed with its reason.
    const table = peLayout(image).certTable;
    assert.ok(table);
    const entries = winCertificates(image, table);
    if (entries.length > 1) {
      // The second signature's copy of the image digest (SHA-256 of the hashed ranges), changed.
      const h = createHash('sha256');
      for (const [from, to] of authenticodeRanges(image, peLayout(image))) h.update(image.subarray(from, to));
      const digest = h.digest();
      const data = (entries[1] as { data: Buffer }).data;
      const inData = data.indexOf(digest);
      assert.ok(inData > 0, 'the second signature carries the image digest');
      const second = Buffer.from(image);
      const at = data.byteOffset - image.byteOffset + inData;
      second[at] = (second[at] ?? 0) ^ 0x01;
      const r2 = classifyBootFile('efi/boot/bootx64.efi', second);
      assert.equal(r2.class, 'other-ca');
      assert.deepEqual(r2.authorities, [r.authorities[0]]);
      assert.equal(r2.signatures[0]?.problem, null);
      assert.match(r2.signatures[1]?.problem ?? '', /image digest does not match/);
    }
    // A changed byte makes Microsoft's signatures fail the same way as the test ones.
    const changed = Buffer.from(image);
    changed[0x100] = (changed[0x100] ?? 0) ^ 0x20;
    assert.equal(classifyBootFile('x', changed).class, 'damaged');
  });

  test('the real thumbprint table matches the real certificates Debian ships', (t) => {
    const proven = new Set<string>();
    const shim = shimSigned();
    if ('path' in shim) {
      for (const sig of classifyBootFile('shim', readFileSync(shim.path)).signatures) {
        for (const c of sig.chain) {
          const k = recognise(c, MICROSOFT_CAS);
          if (k) {
            assert.equal(c.subject, k.name, `${k.id}: the certificate with its thumbprints is named ${k.name}`);
            assert.equal(k.sha256, c.sha256);
            proven.add(k.id);
          }
        }
      }
    }
    const ovmf = ovmfMicrosoftCertificates();
    for (const cert of ovmf ?? []) {
      const byOne = MICROSOFT_CAS.find((k) => k.sha1 === cert.sha1);
      if (!byOne) continue;
      assert.equal(byOne.sha256, cert.sha256, `${byOne.name}: the SHA-256 of the enrolled certificate`);
      proven.add(byOne.id);
    }
    if (!requireOrSkip(t, proven.size > 0, 'neither shim-signed nor OVMF_VARS.ms.fd (Debian ovmf) is here')) return;
    console.log(`# thumbprints proven against real certificates: ${[...proven].sort().join(', ')}`);
    if ('path' in shim) for (const id of ['microsoft-uefi-ca-2011', 'microsoft-uefi-ca-2023']) assert.ok(proven.has(id), id);
    if (ovmf) assert.ok(proven.has('windows-production-pca-2011'), 'OVMF enrols Windows Production PCA 2011');
    // Every entry that carries a SHA-256 was computed from a certificate that one of these sources holds.
    for (const k of MICROSOFT_CAS.filter((c) => c.sha256 !== null)) if ('path' in shim && ovmf) assert.ok(proven.has(k.id), `${k.name} has a SHA-256 but no certificate here proves it`);
  });
});
