// Inputs for the Secure Boot tests: real Microsoft signatures (Debian's shim-signed, fetched lazily into the cache
// outside the repository and never committed), Microsoft's db certificates as Debian's OVMF enrols them, and test
// PKIs made with openssl whose certificates sign stand-in EFI images with sbsigntool.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { replaceBootImage } from './bootStandIns.js';
import { buildFatFloppy } from '../../scripts/lib/FatFloppy.js';
import { standInPe } from '../../scripts/lib/StandInPe.js';
import { copySampleSite } from './sites.js';

/** Where `scripts/setup.sh` and these tests keep the extracted package. */
export const SHIM_CACHE = join(homedir(), '.cache', 'tsmedia', 'shim-signed');
const SHIM_PATH = join(SHIM_CACHE, 'x', 'usr', 'lib', 'shim', 'shimx64.efi.signed');

function run(cmd: string, args: string[], cwd?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/**
 * Debian's shim-signed shimx64.efi.signed (signed by Microsoft), fetched with `apt-get download` and unpacked with
 * `dpkg-deb -x` (no install scripts run) on first use; a reason instead where it cannot be had (offline, no apt).
 */
export function shimSigned(): { path: string } | { reason: string } {
  if (existsSync(SHIM_PATH)) return { path: SHIM_PATH };
  if (process.platform !== 'linux') return { reason: 'shim-signed is fetched with apt-get, on Linux only' };
  for (const tool of ['apt-get', 'dpkg-deb']) if (!run('sh', ['-c', `command -v ${tool}`]).ok) return { reason: `${tool} is missing: shim-signed (Microsoft-signed shim) cannot be fetched` };
  mkdirSync(SHIM_CACHE, { recursive: true });
  let deb = readdirSync(SHIM_CACHE).find((f) => f.startsWith('shim-signed_') && f.endsWith('.deb'));
  if (!deb) {
    const got = run('apt-get', ['download', '-q', 'shim-signed'], SHIM_CACHE);
    deb = readdirSync(SHIM_CACHE).find((f) => f.startsWith('shim-signed_') && f.endsWith('.deb'));
    if (!got.ok || !deb) return { reason: `apt-get download shim-signed failed (offline, or no package list: run apt-get update): ${got.out.trim().split('\n').pop() ?? ''}` };
  }
  const x = run('dpkg-deb', ['-x', join(SHIM_CACHE, deb), join(SHIM_CACHE, 'x')]);
  if (!x.ok || !existsSync(SHIM_PATH)) return { reason: `dpkg-deb -x ${deb} did not give ${SHIM_PATH}: ${x.out.trim()}` };
  return { path: SHIM_PATH };
}

/** EFI_CERT_X509_GUID as it lies in an EFI_SIGNATURE_LIST (mixed-endian GUID bytes). */
const EFI_CERT_X509 = Buffer.from('a159c0a5e494a74a87b5ab155c2bf072', 'hex');

export interface VarStoreCert {
  der: Buffer;
  sha1: string;
  sha256: string;
}

/**
 * The X.509 certificates enrolled in Debian OVMF's Microsoft variable store (PK, KEK, db): Debian enrols Microsoft's
 * Windows Production PCA 2011 and UEFI CA 2011 there, so their DER bytes are at hand to prove the thumbprint table.
 * Read from each EFI_SIGNATURE_LIST of X.509 type (header: GUID, list size, header size, signature size; each
 * signature: owner GUID then the DER).
 */
export function ovmfMicrosoftCertificates(): VarStoreCert[] | null {
  const store = ['/usr/share/OVMF/OVMF_VARS_4M.ms.fd', '/usr/share/OVMF/OVMF_VARS.ms.fd'].find((p) => existsSync(p));
  if (!store) return null;
  const data = readFileSync(store);
  const out = new Map<string, VarStoreCert>();
  for (let i = data.indexOf(EFI_CERT_X509); i >= 0; i = data.indexOf(EFI_CERT_X509, i + 16)) {
    const listSize = data.readUInt32LE(i + 16);
    const headerSize = data.readUInt32LE(i + 20);
    const sigSize = data.readUInt32LE(i + 24);
    if (sigSize <= 16 || listSize > data.length - i) continue;
    for (let p = i + 28 + headerSize; p + sigSize <= i + listSize; p += sigSize) {
      const der = data.subarray(p + 16, p + sigSize);
      const sha1 = createHash('sha1').update(der).digest('hex');
      out.set(sha1, { der: Buffer.from(der), sha1, sha256: createHash('sha256').update(der).digest('hex') });
    }
  }
  return [...out.values()];
}

/** An unsigned stand-in EFI application (a valid, empty PE32+ image). */
export async function unsignedEfi(): Promise<Buffer> {
  return standInPe({ name: 'bootx64.efi', version: '10.0.26100.1', description: 'stand-in boot manager', is32Bit: false, isDll: false });
}

export interface TestCa {
  name: string;
  cert: string;
  key: string;
  sha1: string;
  sha256: string;
}

function openssl(args: string[], cwd: string): void {
  const r = run('openssl', args, cwd);
  if (!r.ok) throw new Error(`openssl ${args.join(' ')}: ${r.out}`);
}

function thumbprints(pem: string): { sha1: string; sha256: string } {
  const der = Buffer.from(readFileSync(pem, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return { sha1: createHash('sha1').update(der).digest('hex'), sha256: createHash('sha256').update(der).digest('hex') };
}

const CA_EXT = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];

/** A self-signed root with the given subject (`/C=US/O=…/CN=…`). */
export function makeRoot(dir: string, name: string, subject: string): TestCa {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-keyout', key, '-out', cert, '-days', '3650', '-subj', subject, ...CA_EXT], dir);
  return { name, cert, key, ...thumbprints(cert) };
}

/** A certificate issued by `issuer`: a CA when `ca`, else a code-signing leaf. */
export function issue(dir: string, issuer: TestCa, name: string, subject: string, ca: boolean): TestCa {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject], dir);
  const lines = ca ? ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'] : ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=codeSigning'];
  writeFileSync(ext, `${lines.join('\n')}\n`);
  openssl(['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-set_serial', String(Date.now() % 1e9), '-sha256', '-days', '3650', '-out', cert, '-extfile', ext], dir);
  return { name, cert, key, ...thumbprints(cert) };
}

/** Signs `input` with sbsign as `signer`, carrying the `extra` certificates (the chain above it) in the signature. */
export function sbsign(dir: string, input: string, output: string, signer: TestCa, extra: TestCa[]): void {
  const args = ['--key', signer.key, '--cert', signer.cert, '--output', output];
  if (extra.length > 0) {
    const bundle = join(dir, `${signer.name}-chain.pem`);
    writeFileSync(bundle, extra.map((c) => readFileSync(c.cert, 'utf8')).join(''));
    args.push('--addcert', bundle);
  }
  const r = run('sbsign', [...args, input]);
  if (!r.ok) throw new Error(`sbsign: ${r.out}`);
}

export interface SignedBootSite {
  dir: string;
  site: string;
  ca2011: TestCa;
  ca2023: TestCa;
}

/**
 * A copy of the sample site in `dir`/site whose boot image SMP00001 has a version 2 with EFI files signed by test CAs:
 * bootmgr.efi and efisys.bin's BOOTX64.EFI under `ca2011`, efi/boot/bootx64.efi under `ca2023`, and an unsigned
 * efi/microsoft/boot/memtest.efi.
 */
export async function signedBootImageSite(dir: string): Promise<SignedBootSite> {
  const site = copySampleSite(join(dir, 'site'));
  const input = join(dir, 'plain.efi');
  writeFileSync(input, await unsignedEfi());
  const ca2011 = makeRoot(dir, 'ca2011', '/O=tsmedia test/CN=Test PCA 2011 stand-in');
  const ca2023 = makeRoot(dir, 'ca2023', '/O=tsmedia test/CN=Test Windows UEFI CA 2023 stand-in');
  const signWith = (name: string, ca: TestCa): Buffer => {
    const leaf = issue(dir, ca, `${name}-leaf`, `/O=tsmedia test/CN=Test Windows (${name})`, false);
    sbsign(dir, input, join(dir, `${name}.efi`), leaf, [ca]);
    return readFileSync(join(dir, `${name}.efi`));
  };
  const old = signWith('old', ca2011);
  const now = signWith('now', ca2023);
  const boot = [
    { relativePath: 'bootmgr', data: Buffer.from('stand-in bootmgr') },
    { relativePath: 'bootmgr.efi', data: old },
    { relativePath: 'boot/etfsboot.com', data: Buffer.alloc(4096, 0x90) },
    { relativePath: 'efi/boot/bootx64.efi', data: now },
    { relativePath: 'efi/microsoft/boot/memtest.efi', data: readFileSync(input) },
    { relativePath: 'efi/microsoft/boot/efisys.bin', data: buildFatFloppy([{ path: 'EFI/BOOT/BOOTX64.EFI', data: old }], 'EFISECTOR') },
    { relativePath: 'sources/boot.wim', data: Buffer.from('MSWIM\0\0\0 stand-in') },
  ];
  await replaceBootImage(site, boot);
  return { dir, site, ca2011, ca2023 };
}
