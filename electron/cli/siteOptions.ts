// The options every command takes to name its site: a folder, or a live site by its administration service, with
// the sign-in that needs. Passwords come from a file, the environment or a hidden prompt; never from the command line.
import { InputError } from '../engine/errors.js';
import type { SignIn } from '../engine/site/live/AdminServiceClient.js';
import { TrustedServers, userConfigDir } from '../engine/site/live/TrustedServers.js';
import type { LiveSiteContext } from '../engine/site/SiteOpener.js';
import { readSecretFile } from './secretFile.js';

export const SITE_OPTIONS = {
  site: { type: 'string' },
  provider: { type: 'string' },
  'site-user': { type: 'string' },
  'site-password-file': { type: 'string' },
  'site-password-env': { type: 'string' },
  'trust-certificate': { type: 'string' },
  'site-negotiate': { type: 'boolean' },
} as const;

export interface SiteArgs {
  provider?: string;
  user?: string;
  passwordFile?: string;
  passwordEnv?: string;
  trustCertificate?: string;
  /** Sign in with the Kerberos ticket or Windows logon at hand (the default on Windows without a user). */
  negotiate?: boolean;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;
const s = (v: Values[string]): string | undefined => (typeof v === 'string' ? v : undefined);

export function siteArgsOf(v: Values): SiteArgs {
  return { provider: s(v.provider), user: s(v['site-user']), passwordFile: s(v['site-password-file']), passwordEnv: s(v['site-password-env']), trustCertificate: s(v['trust-certificate']), negotiate: v['site-negotiate'] === true };
}

/** --site, or --provider HOST as the service's address; undefined for the sample site. */
export function siteSpecOf(site: string | undefined, args: SiteArgs): string | undefined {
  if (site !== undefined && args.provider !== undefined) throw new InputError('give --site or --provider, not both.');
  if (args.provider !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*(:\d+)?$/.test(args.provider)) throw new InputError(`--provider "${args.provider}": give the SMS Provider's server name (e.g. cm01.contoso.com), or its address with --site https://…/AdminService.`);
    return `https://${args.provider}/AdminService`;
  }
  return site;
}

export interface PromptIo {
  err: (s: string) => void;
  isTty: boolean;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let text = '';
    const done = (err: Error | null): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolvePromise(text);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003') return done(new InputError('cancelled at the password prompt.'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** How the CLI signs in to a live site, asked only when one is opened. */
export function liveContextFor(args: SiteArgs, io: PromptIo, env: NodeJS.ProcessEnv = process.env): LiveSiteContext {
  return {
    trust: TrustedServers.inDir(userConfigDir(env)),
    trustThumbprint: args.trustCertificate ?? null,
    signIn: async (server: string): Promise<SignIn> => {
      if (args.negotiate) {
        if (args.user !== undefined) throw new InputError('give --site-user or --site-negotiate, not both.');
        return { kind: 'negotiate' };
      }
      const user = args.user ?? env.TSMEDIA_SITE_USER;
      if (!user) {
        if (process.platform === 'win32') return { kind: 'negotiate' };
        throw new InputError(`${server} needs a sign-in: give --site-user DOMAIN\\user (or set TSMEDIA_SITE_USER) and the password with --site-password-file, --site-password-env or at the prompt, or --site-negotiate to use your Kerberos ticket (kinit).`);
      }
      if (args.passwordFile !== undefined && args.passwordEnv !== undefined) throw new InputError('give --site-password-file or --site-password-env, not both.');
      let password: string | undefined;
      if (args.passwordFile !== undefined) password = readSecretFile(args.passwordFile, '--site-password-file');
      else if (args.passwordEnv !== undefined) {
        password = env[args.passwordEnv];
        if (!password) throw new InputError(`--site-password-env ${args.passwordEnv}: that environment variable is not set or empty.`);
      } else if (env.TSMEDIA_SITE_PASSWORD) password = env.TSMEDIA_SITE_PASSWORD;
      else if (io.isTty && process.stdin.isTTY) password = await promptHidden(`Password for ${user} at ${server}: `);
      if (!password) throw new InputError(`no password for ${user} at ${server}: give --site-password-file F or --site-password-env VAR (it is never taken on the command line).`);
      return { kind: 'ntlm', user, password };
    },
  };
}
