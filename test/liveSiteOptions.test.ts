// The parts of opening a live site that need no server: the address a user types, the remembered certificates, the
// sign-in the CLI derives from its options and environment, and the descriptor's "adminService".
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import { splitUser } from '../electron/engine/site/live/AdminServiceClient.js';
import { isSiteUrl, parseSiteAddress } from '../electron/engine/site/live/SiteAddress.js';
import { TrustedServers, normalizeThumbprint, userConfigDir } from '../electron/engine/site/live/TrustedServers.js';
import { parseSiteDescriptor } from '../electron/engine/site/SiteDescriptor.js';
import { liveContextFor, siteArgsOf, siteSpecOf } from '../electron/cli/siteOptions.js';
import { tempDir } from './helpers.js';

describe('the address of a live site', () => {
  test('a URL keeps its path; a bare name gets /AdminService; the port is part of the server', () => {
    const a = parseSiteAddress('https://CM01.contoso.com/AdminService/');
    assert.deepEqual(a, { host: 'cm01.contoso.com', port: 443, origin: 'https://cm01.contoso.com', base: 'https://cm01.contoso.com/AdminService', server: 'cm01.contoso.com' });
    const b = parseSiteAddress('cm01:8443');
    assert.equal(b.base, 'https://cm01:8443/AdminService');
    assert.equal(b.server, 'cm01:8443');
    assert.equal(parseSiteAddress('https://cm01').base, 'https://cm01/AdminService');
    assert.equal(parseSiteAddress('https://cm01/AdminService/v1.0').base, 'https://cm01/AdminService/v1.0');
  });

  test('plain HTTP and addresses carrying credentials are refused with what to do', () => {
    assert.throws(() => parseSiteAddress('http://cm01/AdminService'), /only over HTTPS/);
    assert.throws(() => parseSiteAddress('https://user:pw@cm01/AdminService'), /without a user name or password/);
    assert.throws(() => parseSiteAddress('https://'), InputError);
  });

  test('isSiteUrl tells an address from a folder', () => {
    assert.equal(isSiteUrl('https://cm01/AdminService'), true);
    assert.equal(isSiteUrl('HTTPS://cm01'), true);
    assert.equal(isSiteUrl('D:\\Site'), false);
    assert.equal(isSiteUrl('/srv/site'), false);
  });

  test('--provider becomes the service address; with --site it is refused; a bad name is named', () => {
    assert.equal(siteSpecOf(undefined, { provider: 'cm01.contoso.com' }), 'https://cm01.contoso.com/AdminService');
    assert.equal(siteSpecOf('/srv/site', {}), '/srv/site');
    assert.equal(siteSpecOf(undefined, {}), undefined);
    assert.throws(() => siteSpecOf('/srv/site', { provider: 'cm01' }), /not both/);
    assert.throws(() => siteSpecOf(undefined, { provider: '\\\\cm01' }), /--provider "\\\\cm01"/);
  });

  test('DOMAIN\\user splits; a UPN is sent whole', () => {
    assert.deepEqual(splitUser('CONTOSO\\cmadmin'), { user: 'cmadmin', domain: 'CONTOSO' });
    assert.deepEqual(splitUser('cmadmin@contoso.com'), { user: 'cmadmin@contoso.com', domain: '' });
  });
});

describe('trusted certificates', () => {
  test('a pin is remembered per server, case-insensitively, and survives a new instance', (t) => {
    const dir = tempDir(t);
    const store = TrustedServers.inDir(dir);
    assert.equal(store.get('cm01:8443'), null);
    store.trust('CM01:8443', { thumbprint: 'ab:cd:ef', pem: 'PEM' });
    const again = TrustedServers.inDir(dir).get('cm01:8443');
    assert.equal(again?.thumbprint, 'ABCDEF');
    assert.equal(again?.pem, 'PEM');
    assert.equal(TrustedServers.inDir(dir).get('cm02:8443'), null);
    const file = JSON.parse(readFileSync(join(dir, 'trusted-servers.json'), 'utf8')) as Record<string, { trustedAt: string }>;
    assert.ok(!Number.isNaN(Date.parse(file['cm01:8443'].trustedAt)));
  });

  test('a file broken by hand trusts nothing rather than failing', (t) => {
    const dir = tempDir(t);
    const store = TrustedServers.inDir(dir);
    store.trust('a', { thumbprint: '01', pem: 'x' });
    writeFileSync(join(dir, 'trusted-servers.json'), '{not json');
    assert.equal(store.get('a'), null);
  });

  test('the folder is the wizard\'s userData on each system, or TSMEDIA_CONFIG_DIR', () => {
    assert.equal(userConfigDir({ TSMEDIA_CONFIG_DIR: '/x' }, 'linux'), '/x');
    assert.equal(userConfigDir({ APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'win32').replace(/\//g, '\\'), 'C:\\Users\\a\\AppData\\Roaming\\tsmedia');
    assert.equal(userConfigDir({ XDG_CONFIG_HOME: '/cfg' }, 'linux'), join('/cfg', 'tsmedia'));
    assert.equal(normalizeThumbprint('a1 b2:c3'), 'A1B2C3');
  });
});

describe('the CLI\'s sign-in', () => {
  const io = { err: () => {}, isTty: false };

  test('user and password from a file; the password never comes from an option value', async (t) => {
    const dir = tempDir(t);
    const pw = join(dir, 'pw.txt');
    writeFileSync(pw, 'S3cret!\r\nignored\n');
    const ctx = liveContextFor(siteArgsOf({ 'site-user': 'CONTOSO\\cm', 'site-password-file': pw }), io, { TSMEDIA_CONFIG_DIR: dir });
    assert.deepEqual(await ctx.signIn('cm01'), { kind: 'ntlm', user: 'CONTOSO\\cm', password: 'S3cret!' });
  });

  test('from the environment: a named variable, or TSMEDIA_SITE_USER / TSMEDIA_SITE_PASSWORD', async (t) => {
    const dir = tempDir(t);
    const named = liveContextFor(siteArgsOf({ 'site-user': 'u', 'site-password-env': 'PW' }), io, { TSMEDIA_CONFIG_DIR: dir, PW: 'from-env' });
    assert.deepEqual(await named.signIn('cm01'), { kind: 'ntlm', user: 'u', password: 'from-env' });
    const defaults = liveContextFor({}, io, { TSMEDIA_CONFIG_DIR: dir, TSMEDIA_SITE_USER: 'v', TSMEDIA_SITE_PASSWORD: 'p' });
    assert.deepEqual(await defaults.signIn('cm01'), { kind: 'ntlm', user: 'v', password: 'p' });
  });

  test('missing pieces are named: no user (off Windows), no password without a terminal, an empty variable, both sources', async (t) => {
    const dir = tempDir(t);
    const env = { TSMEDIA_CONFIG_DIR: dir };
    if (process.platform !== 'win32') await assert.rejects(liveContextFor({}, io, env).signIn('cm01'), /cm01 needs a sign-in: give --site-user/);
    else assert.deepEqual(await liveContextFor({}, io, env).signIn('cm01'), { kind: 'negotiate' });
    await assert.rejects(liveContextFor({ user: 'u' }, io, env).signIn('cm01'), /no password for u at cm01/);
    await assert.rejects(liveContextFor({ user: 'u', passwordEnv: 'NOPE' }, io, env).signIn('cm01'), /--site-password-env NOPE: that environment variable is not set/);
    await assert.rejects(liveContextFor({ user: 'u', passwordEnv: 'A', passwordFile: 'b' }, io, env).signIn('cm01'), /not both/);
  });
});

describe('the descriptor\'s adminService', () => {
  test('an https address is kept; anything else, or with "exports", is refused naming the field', () => {
    assert.equal(parseSiteDescriptor(JSON.stringify({ adminService: 'https://cm01/AdminService' }), 'd.json').adminService, 'https://cm01/AdminService');
    assert.equal(parseSiteDescriptor('{}', 'd.json').adminService, null);
    assert.throws(() => parseSiteDescriptor(JSON.stringify({ adminService: 'http://cm01/AdminService' }), 'd.json'), /field "adminService" must be the https:\/\/ address/);
    assert.throws(() => parseSiteDescriptor(JSON.stringify({ adminService: 'https://cm01/AdminService', exports: ['x'] }), 'd.json'), /field "exports" cannot be given with "adminService"/);
  });
});
