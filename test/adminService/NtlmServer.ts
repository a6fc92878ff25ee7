// The server side of NTLM (MS-NLMP) for the test AdminService: reads a NEGOTIATE (type 1) message, answers a
// CHALLENGE (type 2) with a random challenge and target info naming the domain, and checks the AUTHENTICATE (type 3)
// message's NTLMv2 response against the user's password. NTLMv1 and LM responses are refused, as current Windows
// servers refuse them (LmCompatibilityLevel 5).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';

/** js-md4 (plain JavaScript): Node's OpenSSL 3 has no MD4, which the NT hash needs. */
interface Md4 {
  arrayBuffer(message: Uint8Array | ArrayBuffer | string): ArrayBuffer;
}
const md4 = createRequire(import.meta.url)('js-md4') as Md4;

export interface NtlmUser {
  password: string;
  /** A Configuration Manager administrative user: false answers 403 after a good sign-in. */
  admin: boolean;
}

/** Users by `DOMAIN\user` (compared without regard to case, as Windows does). */
export type UserTable = Record<string, NtlmUser>;

export interface NtlmIdentity {
  domain: string;
  user: string;
  admin: boolean;
}

export type NtlmResult = { ok: true; identity: NtlmIdentity } | { ok: false; reason: string };

export interface NtlmServerOptions {
  users: UserTable;
  /** NetBIOS domain named in the challenge; default the first user's domain. */
  domain?: string;
  /** NetBIOS name of the server; default CM01. */
  serverName?: string;
  /** DNS domain; default contoso.com. */
  dnsDomain?: string;
}

const SIGNATURE = Buffer.from('NTLMSSP\0', 'ascii');

// NegotiateFlags (MS-NLMP 2.2.2.5).
const NEGOTIATE_UNICODE = 0x00000001;
const NEGOTIATE_OEM = 0x00000002;
const REQUEST_TARGET = 0x00000004;
const NEGOTIATE_NTLM = 0x00000200;
const NEGOTIATE_ALWAYS_SIGN = 0x00008000;
const TARGET_TYPE_DOMAIN = 0x00010000;
const NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000;
const NEGOTIATE_TARGET_INFO = 0x00800000;
const NEGOTIATE_VERSION = 0x02000000;
const NEGOTIATE_128 = 0x20000000;
const NEGOTIATE_56 = 0x80000000;

/**
 * The NTLM message in an Authorization header: `NTLM <base64>`, or `Negotiate <base64>` holding a raw NTLMSSP token
 * (what Windows sends under Negotiate when Kerberos is not available). Null for anything else (a Kerberos/SPNEGO
 * token, Basic, garbage).
 */
export function ntlmFromAuthorization(header: string | undefined): { scheme: 'NTLM' | 'Negotiate'; message: Buffer; type: number } | null {
  if (!header) return null;
  const m = /^(NTLM|Negotiate)\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const message = Buffer.from(m[2], 'base64');
  if (message.length < 12 || !message.subarray(0, 8).equals(SIGNATURE)) return null;
  const scheme = m[1].toLowerCase() === 'ntlm' ? 'NTLM' : 'Negotiate';
  return { scheme, message, type: message.readUInt32LE(8) };
}

function avPairs(pairs: [number, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [id, value] of [...pairs, [0, Buffer.alloc(0)] as [number, Buffer]]) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(id, 0);
    head.writeUInt16LE(value.length, 2);
    parts.push(head, value);
  }
  return Buffer.concat(parts);
}

/** Windows FILETIME (100 ns since 1601) of now, little-endian. */
function fileTimeNow(): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE((BigInt(Date.now()) + 11644473600000n) * 10000n);
  return b;
}

export class NtlmServer {
  readonly domain: string;
  readonly serverName: string;
  readonly dnsDomain: string;
  private readonly users: UserTable;

  constructor(options: NtlmServerOptions) {
    this.users = options.users;
    const first = Object.keys(options.users)[0] ?? 'CONTOSO\\admin';
    this.domain = (options.domain ?? (first.includes('\\') ? first.slice(0, first.indexOf('\\')) : 'CONTOSO')).toUpperCase();
    this.serverName = (options.serverName ?? 'CM01').toUpperCase();
    this.dnsDomain = (options.dnsDomain ?? 'contoso.com').toLowerCase();
  }

  /** Answers a NEGOTIATE message: a fresh 8-byte challenge and the CHALLENGE message carrying it. */
  challenge(negotiate: Buffer): { challenge: Buffer; message: Buffer } {
    if (negotiate.length < 16 || negotiate.readUInt32LE(8) !== 1) throw new Error('not an NTLM NEGOTIATE message');
    const requested = negotiate.readUInt32LE(12);
    const challenge = randomBytes(8);
    const target = Buffer.from(this.domain, 'utf16le');
    const info = avPairs([
      [2, Buffer.from(this.domain, 'utf16le')], // MsvAvNbDomainName
      [1, Buffer.from(this.serverName, 'utf16le')], // MsvAvNbComputerName
      [4, Buffer.from(this.dnsDomain, 'utf16le')], // MsvAvDnsDomainName
      [3, Buffer.from(`${this.serverName.toLowerCase()}.${this.dnsDomain}`, 'utf16le')], // MsvAvDnsComputerName
      [7, fileTimeNow()], // MsvAvTimestamp
    ]);
    // Unicode always (a client asking only for OEM strings still gets them in Unicode, as Windows servers answer);
    // NTLMv2 (extended session security) with target info; the key strengths only when the client asked for them.
    const flags =
      (NEGOTIATE_UNICODE |
        REQUEST_TARGET |
        NEGOTIATE_NTLM |
        NEGOTIATE_ALWAYS_SIGN |
        TARGET_TYPE_DOMAIN |
        NEGOTIATE_EXTENDED_SESSIONSECURITY |
        NEGOTIATE_TARGET_INFO |
        NEGOTIATE_VERSION |
        (requested & (NEGOTIATE_128 | NEGOTIATE_56))) >>>
      0;
    const head = Buffer.alloc(56);
    SIGNATURE.copy(head, 0);
    head.writeUInt32LE(2, 8);
    head.writeUInt16LE(target.length, 12);
    head.writeUInt16LE(target.length, 14);
    head.writeUInt32LE(56, 16);
    head.writeUInt32LE(flags, 20);
    challenge.copy(head, 24);
    head.writeUInt16LE(info.length, 40);
    head.writeUInt16LE(info.length, 42);
    head.writeUInt32LE(56 + target.length, 44);
    // Version: Windows 10.0 build 17763 (Server 2019), NTLM revision 15.
    Buffer.from([10, 0, 0x63, 0x45, 0, 0, 0, 15]).copy(head, 48);
    return { challenge, message: Buffer.concat([head, target, info]) };
  }

  /** Checks an AUTHENTICATE message against the challenge this connection was given. */
  authenticate(message: Buffer, challenge: Buffer): NtlmResult {
    if (message.length < 52 || !message.subarray(0, 8).equals(SIGNATURE) || message.readUInt32LE(8) !== 3) {
      return { ok: false, reason: 'not an NTLM AUTHENTICATE message' };
    }
    const field = (at: number): Buffer | null => {
      const len = message.readUInt16LE(at);
      const off = message.readUInt32LE(at + 4);
      if (len === 0) return Buffer.alloc(0);
      return off + len <= message.length ? message.subarray(off, off + len) : null;
    };
    const nt = field(20);
    const dom = field(28);
    const usr = field(36);
    if (!nt || !dom || !usr) return { ok: false, reason: 'a field points outside the message' };
    // NegotiateFlags sit at 60 when the payload starts past them (every client since NTLMv2); Unicode unless they say OEM.
    const payloadStart = Math.min(...[12, 20, 28, 36, 44].map((at) => (message.readUInt16LE(at) > 0 ? message.readUInt32LE(at + 4) : message.length)));
    const flags = payloadStart >= 64 && message.length >= 64 ? message.readUInt32LE(60) : NEGOTIATE_UNICODE;
    const unicode = (flags & NEGOTIATE_UNICODE) !== 0 || (flags & NEGOTIATE_OEM) === 0;
    const text = (b: Buffer): string => b.toString(unicode ? 'utf16le' : 'latin1');
    const domain = text(dom);
    const user = text(usr);
    if (user === '') return { ok: false, reason: 'anonymous sign-in is refused' };
    if (nt.length <= 24) return { ok: false, reason: 'the response is NTLMv1 or LM; only NTLMv2 is accepted' };

    const entry = this.findUser(domain === '' ? this.domain : domain, user);
    if (!entry) return { ok: false, reason: `unknown user ${domain}\\${user}` };
    const ntHash = Buffer.from(md4.arrayBuffer(Buffer.from(entry.user.password, 'utf16le')));
    // NTOWFv2 = HMAC-MD5(NT hash, UTF-16LE(upper(user) + domain)), with the domain exactly as the client sent it.
    const ntowf = createHmac('md5', ntHash).update(Buffer.from(user.toUpperCase() + domain, 'utf16le')).digest();
    const proof = nt.subarray(0, 16);
    const blob = nt.subarray(16);
    const expected = createHmac('md5', ntowf).update(Buffer.concat([challenge, blob])).digest();
    if (!timingSafeEqual(proof, expected)) return { ok: false, reason: `wrong password for ${entry.domain}\\${entry.name}` };
    return { ok: true, identity: { domain: entry.domain, user: entry.name, admin: entry.user.admin } };
  }

  /** The table's entry for a domain and user name; the DNS domain (user@contoso.com) stands for the NetBIOS one. */
  private findUser(domain: string, user: string): { domain: string; name: string; user: NtlmUser } | null {
    const d = domain.toLowerCase() === this.dnsDomain ? this.domain : domain;
    for (const [key, value] of Object.entries(this.users)) {
      const i = key.indexOf('\\');
      const kd = i < 0 ? this.domain : key.slice(0, i);
      const ku = i < 0 ? key : key.slice(i + 1);
      if (kd.toLowerCase() === d.toLowerCase() && ku.toLowerCase() === user.toLowerCase()) return { domain: kd, name: ku, user: value };
    }
    return null;
  }
}
