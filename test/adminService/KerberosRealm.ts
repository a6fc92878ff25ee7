// A throwaway Kerberos realm for the Negotiate sign-in tests: MIT Kerberos's KDC (Debian's krb5-kdc) on a free port
// of 127.0.0.1, a user principal with a password, the service principal HTTP/localhost in a keytab, and a credential
// cache the user signed in to with kinit, as on a workstation of the domain. Everything lives in one temp folder;
// the environment variables GSSAPI reads (KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME, KRB5_KTNAME) point into it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REALM = 'TSMEDIA.TEST';

export interface KerberosRealm {
  dir: string;
  /** The variables to set before GSSAPI's first use (it reads them once per process). */
  env: Record<string, string>;
  user: string;
  close(): void;
}

/** Why the realm cannot be made here, or null when it can. */
export function kerberosUnavailable(): string | null {
  for (const tool of ['/usr/sbin/krb5kdc', '/usr/sbin/kdb5_util', '/usr/sbin/kadmin.local', '/usr/bin/kinit']) {
    if (!existsSync(tool)) return `${tool} is missing (Debian's krb5-kdc, krb5-admin-server and krb5-user; scripts/setup.sh installs them)`;
  }
  if (process.platform !== 'linux') return 'the test realm runs MIT Kerberos\'s Linux tools';
  return null;
}

const freePort = (): Promise<number> =>
  new Promise((resolvePromise, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolvePromise(a.port) : reject(new Error('no port'))));
    });
  });

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): void {
  const r = spawnSync(cmd, args, { env, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export async function startKerberosRealm(user = 'cmadmin', password = 'Pa55-word!'): Promise<KerberosRealm> {
  const dir = mkdtempSync(join(tmpdir(), 'tsmedia-krb-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'krb5.conf'),
    `[libdefaults]\n default_realm = ${REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n udp_preference_limit = 1\n\n` +
      `[realms]\n ${REALM} = {\n  kdc = 127.0.0.1:${port}\n }\n\n[domain_realm]\n localhost = ${REALM}\n`,
  );
  writeFileSync(
    join(dir, 'kdc.conf'),
    `[kdcdefaults]\n kdc_ports = ${port}\n kdc_tcp_ports = ${port}\n\n[realms]\n ${REALM} = {\n  database_name = ${dir}/principal\n  key_stash_file = ${dir}/stash\n  acl_file = ${dir}/kadm5.acl\n  max_life = 1h\n }\n\n[logging]\n kdc = FILE:${dir}/kdc.log\n`,
  );
  writeFileSync(join(dir, 'kadm5.acl'), '');
  const env: Record<string, string> = {
    KRB5_CONFIG: join(dir, 'krb5.conf'),
    KRB5_KDC_PROFILE: join(dir, 'kdc.conf'),
    KRB5CCNAME: `FILE:${join(dir, 'ccache')}`,
    KRB5_KTNAME: `FILE:${join(dir, 'http.keytab')}`,
  };
  const all = { ...process.env, ...env };
  let kdc: ChildProcess | null = null;
  try {
    run('/usr/sbin/kdb5_util', ['-r', REALM, '-P', 'master-key-for-tests', 'create', '-s'], all);
    run('/usr/sbin/kadmin.local', ['-r', REALM, '-q', `addprinc -pw ${password} ${user}`], all);
    run('/usr/sbin/kadmin.local', ['-r', REALM, '-q', 'addprinc -randkey HTTP/localhost'], all);
    run('/usr/sbin/kadmin.local', ['-r', REALM, '-q', `ktadd -k ${join(dir, 'http.keytab')} HTTP/localhost`], all);
    kdc = spawn('/usr/sbin/krb5kdc', ['-n', '-r', REALM], { env: all, stdio: 'ignore' });
    // kinit retries until the KDC listens.
    let lastErr = '';
    for (let i = 0; i < 50; i++) {
      const r = spawnSync('/usr/bin/kinit', [`${user}@${REALM}`], { env: all, input: `${password}\n`, encoding: 'utf8' });
      if (r.status === 0) {
        lastErr = '';
        break;
      }
      lastErr = r.stderr;
      await new Promise((r2) => setTimeout(r2, 100));
    }
    if (lastErr) throw new Error(`kinit failed: ${lastErr}`);
  } catch (err) {
    kdc?.kill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const proc = kdc;
  return {
    dir,
    env,
    user: `${user}@${REALM}`,
    close: () => {
      proc.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
