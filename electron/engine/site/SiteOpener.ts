// Opens what a user names as the site: a folder (exports and content libraries), a folder whose tsmedia-site.json
// names an administration service, or the service's address itself.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError, describeFsError } from '../errors.js';
import { DESCRIPTOR_FILE, parseSiteDescriptor } from './SiteDescriptor.js';
import { Site } from './Site.js';
import { isSiteUrl, parseSiteAddress } from './live/SiteAddress.js';
import type { AdminServiceOptions, SignIn } from './live/AdminServiceClient.js';
import type { TrustedServers } from './live/TrustedServers.js';

/** What opening a live site needs besides its address; sign-in is asked only when a live site is opened. */
export interface LiveSiteContext {
  signIn: (server: string) => Promise<SignIn>;
  trust: TrustedServers;
  trustThumbprint?: string | null;
  signal?: AbortSignal;
  /** Test and benchmark knobs passed to the client. */
  client?: Pick<AdminServiceOptions, 'timeoutMs' | 'connections' | 'pageSize' | 'sleep'>;
}

export async function openSiteAt(spec: string, live: LiveSiteContext): Promise<Site> {
  if (isSiteUrl(spec)) {
    const address = parseSiteAddress(spec);
    // The live site's client (NTLM, HTTPS) is loaded only for a live site: a folder site never needs it.
    const { openLiveSite } = await import('./live/LiveSite.js');
    return openLiveSite(address, { ...live.client, signIn: await live.signIn(address.server), trust: live.trust, trustThumbprint: live.trustThumbprint, signal: live.signal });
  }
  const root = resolve(spec);
  const descPath = join(root, DESCRIPTOR_FILE);
  if (existsSync(descPath)) {
    let text: string;
    try {
      text = readFileSync(descPath, 'utf8');
    } catch (err) {
      throw new InputError(describeFsError(err, descPath));
    }
    const descriptor = parseSiteDescriptor(text, descPath);
    if (descriptor.adminService) {
      const address = parseSiteAddress(descriptor.adminService);
      const { openLiveSite } = await import('./live/LiveSite.js');
      return openLiveSite(address, { ...live.client, signIn: await live.signIn(address.server), trust: live.trust, trustThumbprint: live.trustThumbprint, signal: live.signal, descriptor, descriptorRoot: root });
    }
  }
  return Site.open(root);
}
