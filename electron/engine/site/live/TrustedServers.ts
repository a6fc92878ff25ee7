// Certificates the user chose to trust, one per administration service (host:port): the site's own self-signed
// certificate is the usual one. Kept in the same per-user folder as the wizard's preferences, so the CLI and the
// wizard share them; a pin is the SHA-256 thumbprint plus the certificate itself (Node trusts it as an anchor).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TrustedCertificate {
  /** SHA-256 of the DER certificate, uppercase hex without separators. */
  thumbprint: string;
  /** The certificate to trust as an anchor (PEM): the server's own when it is self-signed, else the top of its chain. */
  pem: string;
  /** When the user trusted it (ISO date), for the list a user reads. */
  trustedAt: string;
}

/** Electron's userData folder for "tsmedia" on each system: the wizard and the CLI read the same files. */
export function userConfigDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.TSMEDIA_CONFIG_DIR) return env.TSMEDIA_CONFIG_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'tsmedia');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'tsmedia');
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'tsmedia');
}

export const normalizeThumbprint = (t: string): string => t.replace(/[^0-9a-f]/gi, '').toUpperCase();

export class TrustedServers {
  constructor(readonly file: string) {}

  static inDir(dir: string): TrustedServers {
    return new TrustedServers(join(dir, 'trusted-servers.json'));
  }

  private read(): Record<string, TrustedCertificate> {
    try {
      const raw = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return {};
      const out: Record<string, TrustedCertificate> = {};
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        const c = v as Partial<TrustedCertificate> | null;
        if (c && typeof c.thumbprint === 'string' && typeof c.pem === 'string') out[k] = { thumbprint: normalizeThumbprint(c.thumbprint), pem: c.pem, trustedAt: String(c.trustedAt ?? '') };
      }
      return out;
    } catch {
      // No file yet (or one a user broke by hand): nothing is trusted, and the next trust writes it anew.
      return {};
    }
  }

  get(server: string): TrustedCertificate | null {
    return this.read()[server.toLowerCase()] ?? null;
  }

  trust(server: string, cert: Omit<TrustedCertificate, 'trustedAt'>): void {
    const all = this.read();
    all[server.toLowerCase()] = { thumbprint: normalizeThumbprint(cert.thumbprint), pem: cert.pem, trustedAt: new Date().toISOString() };
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(all, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}
