// The loopback host as a browser (and an attacker) meets it: a real server on a random port with the real engine API on
// the sample site — one-time codes and sessions, the Host, Origin and Sec-Fetch-Site rules, the API over POST, media
// events over Server-Sent Events, the renderer's files with their headers, the bounds on time and numbers (time-outs,
// streams, requests, connections), and an ISO made, verified and cancelled through it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { SequenceSummary } from '../shared/analysis.js';
import { API_METHODS, HOST_SESSION_HEADER, type MediaEvent, type OutputCheck, type SiteInfo } from '../shared/ipc.js';
import type { IsoMediaRequest } from '../shared/media.js';
import { createEngineApi, type EngineApi } from '../electron/host/EngineApi.js';
import {
  DEFAULT_LIMITS,
  MAX_CONNECTIONS,
  MAX_EVENT_STREAMS,
  REQUEST_TIMEOUT_MS,
  startLoopbackHost,
  type HostLimits,
  type LoopbackHost,
} from '../electron/host/LoopbackHost.js';
import { hasCommand, requireOrSkip, runCli } from './helpers.js';
import { addPackage, copySampleSite } from './support/sites.js';
import { exchangeCode, openSession, sessionHeader } from './support/hostSession.js';
import { raw } from './support/hostClient.js';
import { readMediaEvents } from './support/mediaEvents.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

let host: LoopbackHost;
let session: string;
let api: EngineApi;
let work: string;
let rendererDir: string;

/** A raw HTTP request: unlike fetch, it lets the test set Host, Origin and Cookie as an attacker could. */
function http(path: string, options: { method?: string; headers?: Record<string, string>; body?: string; port?: number } = {}): Promise<Reply> {
  const port = options.port ?? host.port;
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host: `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end(options.body);
  });
}

const auth = (): Record<string, string> => sessionHeader(session);
/** The same secret with its last character replaced: a check of only a prefix would take it. */
const lastChanged = (secret: string): string => secret.slice(0, -1) + (secret.endsWith('0') ? '1' : '0');

async function callApi(method: string, args: unknown[], headers: Record<string, string> = auth()): Promise<Reply> {
  return http(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(args) });
}

async function ok<T>(method: string, ...args: unknown[]): Promise<T> {
  const r = await callApi(method, args);
  assert.equal(r.status, 200, `${method}: ${r.body}`);
  return JSON.parse(r.body) as T;
}

/** Subscribes to /api/events and collects MediaEvents until `until` says stop. */
function events(until: (all: MediaEvent[]) => boolean, timeoutMs = 120_000): { ready: Promise<void>; done: Promise<MediaEvent[]> } {
  return readMediaEvents({
    port: host.port,
    session,
    until,
    timeoutMs,
    onResponse: (status, type) => {
      assert.equal(status, 200);
      assert.match(type, /^text\/event-stream/);
    },
  });
}

const ended = (jobId: () => string | null) => (all: MediaEvent[]): boolean => all.some((e) => e.jobId === jobId() && e.type !== 'progress');

function isoRequest(out: string, overrides: Partial<IsoMediaRequest> = {}): IsoMediaRequest {
  return {
    site: null, taskSequenceId: 'SMP00010', distributionPoints: [], password: null, unattended: false, startDate: null, expireDate: null,
    label: 'Configuration Manager', autorun: false, i386Binaries: false, variables: [], prestartCommand: null, prestartFiles: null, applications: [], packages: [],
    driverPackages: [], staging: null, detectDependencies: true, timestamp: null, skipVerify: false, size: 'cd650', out, ...overrides,
  };
}

describe('loopback host', () => {
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'tsmedia-host-'));
    // Logs the engine also writes to the user's log folder stay in the test's folder.
    process.env.XDG_STATE_HOME = join(work, 'state');
    rendererDir = join(work, 'renderer');
    mkdirSync(join(rendererDir, 'assets', 'sub'), { recursive: true });
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>tsmedia</title><script type="module" src="./assets/app.js"></script>');
    writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log("wizard");');
    writeFileSync(join(rendererDir, 'assets', 'app.css'), 'body { margin: 0 }');
    writeFileSync(join(work, 'secret.txt'), 'outside the renderer folder');
    api = createEngineApi({ userDataDir: join(work, 'user-data') });
    host = await startLoopbackHost({ api, rendererDir });
    session = await openSession(host.port, host.newCode());
  });
  after(async () => {
    await api.close();
    await host.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('listens on 127.0.0.1 only, on the port it reports; its address carries a one-time code in the fragment, no key', async () => {
    const address = host.address();
    assert.equal(address.address, '127.0.0.1');
    assert.equal(address.family, 'IPv4');
    assert.equal(address.port, host.port);
    const code = new RegExp(`^http://127\\.0\\.0\\.1:${host.port}/#code=([0-9a-f]{64})$`);
    assert.match(host.url, code);
    const another = host.newUrl();
    assert.match(another, code);
    assert.notEqual(another, host.url, 'every address its own code');
    // The code is no session: as a header it opens nothing.
    const first = code.exec(host.url)?.[1] ?? '';
    assert.equal((await callApi('getSiteInfo', [], sessionHeader(first))).status, 403);
  });

  test("the machine's non-loopback address does not reach the host", async (t) => {
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && !i.internal && i.family === 'IPv4');
    if (!requireOrSkip(t, external !== undefined, 'this machine has no non-loopback IPv4 address') || !external) return;
    const reached = await new Promise<string>((done) => {
      const s = connect({ host: external.address, port: host.port, timeout: 3000 });
      s.on('connect', () => {
        s.destroy();
        done('connected');
      });
      s.on('timeout', () => {
        s.destroy();
        done('timeout');
      });
      s.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
    });
    assert.notEqual(reached, 'connected', `the host answered on ${external.address}`);
  });

  test("the API and events: no session 401, a wrong one 403; the page's files need none; no response sets a cookie", async () => {
    for (const path of ['/', '/index.html', '/assets/app.js']) {
      const r = await http(path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['set-cookie'], undefined, path);
    }
    const events = await http('/api/events');
    assert.equal(events.status, 401);
    assert.match(events.body, /no session with tsmedia\. Open the address tsmedia printed \(it holds a one-time code\)/);
    assert.equal((await callApi('getSiteInfo', [], {})).status, 401);
    const wrong = 'f'.repeat(64);
    assert.equal((await http('/api/events', { headers: sessionHeader(wrong) })).status, 403);
    assert.equal((await callApi('getSiteInfo', [], sessionHeader(wrong))).status, 403);
    assert.equal((await callApi('getSiteInfo', [], sessionHeader(session.slice(0, 10)))).status, 403);
    // As long as the session and equal to it but for its last character: every character counts.
    const lastWrong = lastChanged(session);
    assert.equal(lastWrong.length, session.length);
    assert.equal((await callApi('getSiteInfo', [], sessionHeader(lastWrong))).status, 403);
    assert.equal((await http('/api/events', { headers: sessionHeader(lastWrong) })).status, 403);
    // The old ways in carry nothing now: a token in the address or a cookie.
    assert.equal((await http(`/api/events?token=${session}`)).status, 401);
    assert.equal((await callApi('getSiteInfo', [], { cookie: `tsmedia_token_${host.port}=${session}` })).status, 401);
    // The page's reply sets no cookie, whatever its address says.
    assert.equal((await http(`/?token=${session}`)).headers['set-cookie'], undefined);
    const r = await callApi('getSiteInfo', []);
    assert.equal(r.status, 200);
    assert.equal(r.headers['set-cookie'], undefined);
    const info = JSON.parse(r.body) as SiteInfo;
    assert.equal(info.isSample, true);
    assert.equal(info.taskSequences, 5);
    // The sample site's OSD binaries, found by the folder convention (OSD\bin in the site folder).
    assert.equal(info.osdBinaries.origin, 'site-folder');
    assert.equal(info.osdBinaries.problem, null);
    assert.deepEqual(info.osdBinaries.architectures.map((a) => a.name), ['x64', 'i386']);
  });

  test('a foreign Host (DNS rebinding), a foreign Origin or another site (another port) is refused, even with a session', async () => {
    for (const h of ['evil.example', `evil.example:${host.port}`, '127.0.0.1', `127.0.0.1:${host.port + 1}`, `0.0.0.0:${host.port}`]) {
      assert.equal((await http('/', { headers: { host: h } })).status, 403, h);
      assert.equal((await callApi('getSiteInfo', [], { ...auth(), host: h })).status, 403, h);
    }
    for (const o of ['http://evil.example', `http://127.0.0.1:${host.port + 1}`, `https://127.0.0.1:${host.port}`, 'null']) {
      assert.equal((await callApi('getSiteInfo', [], { ...auth(), origin: o })).status, 403, o);
      assert.equal((await exchangeCode(host.port, host.newCode(), { origin: o })).status, 403, o);
    }
    // Another port of 127.0.0.1 is "same-site" to a browser: a script or image from there gets nothing either.
    for (const site of ['cross-site', 'same-site']) {
      assert.equal((await callApi('getSiteInfo', [], { ...auth(), 'sec-fetch-site': site })).status, 403, site);
      assert.equal((await http('/assets/app.js', { headers: { 'sec-fetch-site': site } })).status, 403, site);
    }
    // The page's own origin, and localhost, are fine.
    assert.equal((await callApi('getSiteInfo', [], { ...auth(), origin: `http://127.0.0.1:${host.port}`, 'sec-fetch-site': 'same-origin' })).status, 200);
    assert.equal((await http('/', { headers: { host: `localhost:${host.port}`, 'sec-fetch-site': 'none' } })).status, 200);
  });

  test("the renderer's files: types, no session needed", async () => {
    const page = await http('/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.match(page.body, /<title>tsmedia<\/title>/);
    const js = await http('/assets/app.js');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.match(String((await http('/assets/app.css')).headers['content-type']), /^text\/css/);
  });

  test('every response carries the CSP, nosniff and no-referrer; HEAD works; other methods are refused', async () => {
    for (const r of [await http('/'), await callApi('getPreferences', []), await http('/missing.js'), await http('/api/events'), await http('/api/session', { method: 'POST', body: '{"code":"nope"}' })]) {
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /connect-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-eval/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
    }
    const head = await http('/assets/app.js', { method: 'HEAD', headers: auth() });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal((await http('/', { method: 'POST', headers: auth() })).status, 405);
    assert.equal((await http('/api/getSiteInfo', { headers: auth() })).status, 405);
  });

  test('no file outside the renderer folder is served, however the path is spelled', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%5csecret.txt', '/assets/%00app.js', '/assets', '/assets/', `/${'..%2f'.repeat(8)}etc/passwd`]) {
      const r = await http(p, { headers: auth() });
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.body, /outside the renderer folder|root:/);
    }
  });

  test('the API: unknown methods 404, bad arguments 400 with a sentence and no stack', async () => {
    assert.equal((await callApi('evil', [])).status, 404);
    assert.equal((await callApi('onMediaEvent', [])).status, 404);
    assert.equal((await callApi('constructor', [])).status, 404);
    const cases: [string, unknown, RegExp][] = [
      ['analyze', [{ taskSequenceId: 5, detectDependencies: true }], /analyze\.taskSequenceId must be text/],
      ['analyze', [{ taskSequenceId: 'SMP00010' }], /field "detectDependencies" is missing/],
      ['analyze', [{ taskSequenceId: 'SMP00010', detectDependencies: true, extra: 1 }], /"extra" is not a field/],
      ['analyze', [{ taskSequenceId: 'NOPE0001', detectDependencies: true }], /task sequence NOPE0001 is not in the site/],
      ['analyze', [], /analyze takes 1 argument\(s\), not 0/],
      ['openSite', ['relative/site'], /must be a full path/],
      ['openSite', [join(work, 'no-such-site')], /does not exist or is not a folder/],
      ['checkMedia', [{ taskSequenceId: 'SMP00010', detectDependencies: true, distributionPoints: [], applications: [], packages: [], driverPackages: [], media: 'floppy', size: null, i386Binaries: false }], /checkMedia\.media must be one of "iso", "usb"/],
      ['startMedia', [{ kind: 'iso', request: { ...isoRequest(join(work, 'x.iso')), size: 1000 } }], /custom size is a whole number of bytes, at least/],
      ['startMedia', [{ kind: 'iso', request: isoRequest('x.iso') }], /request\.out must be a full path/],
      ['startMedia', [{ kind: 'usb', request: { ...isoRequest(''), target: { kind: 'drive', device: '/dev/sdz', showAll: false, confirmations: ['/dev/sdz'] }, format: true } }], /"size" is not a field/],
      ['startMedia', [{ kind: 'usb', request: { ...isoRequest('', { size: undefined, out: undefined }), target: { kind: 'drive', device: '/dev/sdz' }, format: true, confirmedDrive: true } }], /"confirmedDrive" is not a field/],
      ['setPreferences', [{ language: 'fr' }], /setPreferences\.language must be one of "en", "es"/],
      ['saveAnswerFile', [join(work, 'answers.txt'), { format: 'tsmedia-answers/1' }], /an answer file is a \.json file/],
      ['saveAnswerFile', [join(work, 'a.json'), { format: 'tsmedia-answers/1', password: 'x' }], /never holds a password/],
      ['listDrives', [{ showAll: 'yes', neededBytes: 0 }], /listDrives\.showAll must be true or false/],
      ['checkOutput', [{ path: join(work, 'x.iso'), kind: 'dvd', neededBytes: null }], /checkOutput\.kind must be one of "iso", "usb-image"/],
      ['checkOutput', [{ path: join(work, 'x.iso'), kind: 'iso', neededBytes: -1 }], /checkOutput\.neededBytes must be a whole number of bytes/],
      ['checkOutput', [{ path: join(work, 'x.iso'), kind: 'iso', neededBytes: null, create: true }], /"create" is not a field/],
      ['checkOutput', [{ path: '', kind: 'iso', neededBytes: null }], /checkOutput\.path cannot be empty/],
      ['cancelMedia', [null], /cancelMedia: the job ID must be text/],
      ['cancelDrive', [null, '/dev/sdz'], /cancelDrive: the job ID must be text/],
      ['cancelDrive', ['job', 7], /cancelDrive: the device must be text/],
      ['cancelDrive', ['job'], /cancelDrive takes 2 argument\(s\), not 1/],
      ['startMedia', [{ kind: 'usb', request: { ...isoRequest('', { size: undefined, out: undefined }), target: { kind: 'drive', device: '/dev/sdz', showAll: false, confirmations: ['/dev/sdz'] }, moreDrives: '/dev/sdy', format: true } }], /request\.moreDrives must be a list of drives/],
      ['startMedia', [{ kind: 'usb', request: { ...isoRequest('', { size: undefined, out: undefined }), target: { kind: 'drive', device: '/dev/sdz', showAll: false, confirmations: ['/dev/sdz'] }, moreDrives: [{ kind: 'image', path: '/tmp/x.img' }], format: true } }], /"path" is not a field|request\.moreDrives\[0\]/],
    ];
    for (const [method, args, message] of cases) {
      const r = await callApi(method, args as unknown[]);
      assert.equal(r.status, 400, `${method}: ${r.body}`);
      const body = JSON.parse(r.body) as { error: string; code: string; detail?: unknown };
      assert.match(body.error, message, method);
      assert.equal(body.code, 'invalid');
      assert.equal(body.detail, undefined, 'no detail for an error without a code');
      assert.doesNotMatch(r.body, /\n\s+at |\.js:\d+/, 'no stack');
    }
    // An error with a code carries it and its values as `detail`, for the page to translate.
    const coded = await callApi('startMedia', [{ kind: 'iso', request: isoRequest(join(work, 'no-such-folder', 'x.iso'), { label: 'a:b' }) }]);
    assert.equal(coded.status, 400, coded.body);
    assert.deepEqual(JSON.parse(coded.body), {
      error: '--label: The media label cannot hold control characters or any of " * / : < > ? \\ |.',
      code: 'invalid',
      detail: { code: 'MEDIA_LABEL_INVALID', params: { issue: 'BAD_CHARACTERS', characters: '" * / : < > ? \\ |' } },
    });
    const folder = JSON.parse((await callApi('startMedia', [{ kind: 'iso', request: isoRequest(join(work, 'no-such-folder', 'x.iso')) }])).body) as { detail?: unknown };
    assert.deepEqual(folder.detail, { code: 'OUTPUT_FOLDER_MISSING', params: { folder: join(work, 'no-such-folder'), path: join(work, 'no-such-folder', 'x.iso') } });
    const notJson = await http('/api/getSiteInfo', { method: 'POST', headers: auth(), body: '{nope' });
    assert.equal(notJson.status, 400);
    assert.match(notJson.body, /not JSON/);
    const notList = await http('/api/getSiteInfo', { method: 'POST', headers: auth(), body: '{"a":1}' });
    assert.equal(notList.status, 400);
    const huge = await http('/api/openSite', { method: 'POST', headers: auth(), body: JSON.stringify(['x'.repeat(2 * 1024 * 1024)]) });
    assert.equal(huge.status, 413);
  });

  test('the API: the sample site\'s five task sequences, preferences, and what needs a desktop says so', async () => {
    const list = await ok<SequenceSummary[]>('listSequences');
    assert.deepEqual(list.map((s) => s.packageId), ['SMP00010', 'SMP00011', 'SMP00012', 'SMP00013', 'SMP00014']);
    assert.deepEqual(list.map((s) => s.selectable), [true, true, false, true, true]);
    assert.deepEqual(list.map((s) => s.startsFrom), ['windows', 'windows', 'windows', 'boot', 'windows']);
    assert.equal(await ok('chooseFolder', 'Pick a folder'), null);
    assert.equal(await ok('chooseSaveFile', { title: 'Save', defaultPath: null, filters: [{ name: 'Answer files', extensions: ['json'] }] }), null);
    assert.equal(await ok('openPath', work), false);
    assert.deepEqual(await ok('setPreferences', { language: 'es' }), { language: 'es', lastSite: null });
    assert.deepEqual(await ok('getPreferences'), { language: 'es', lastSite: null });
    assert.equal(typeof (await ok<string>('systemLocale')), 'string');
    // Every method of the contract answers something other than 404.
    for (const m of API_METHODS) assert.notEqual((await callApi(m, [])).status, 404, m);
  });

  test('checkOutput: what the wizard shows under the Media file field, by the run\'s rules and codes, nothing created', async () => {
    const dir = join(work, 'out-check');
    mkdirSync(dir);
    const fine = await ok<OutputCheck>('checkOutput', { path: join(dir, 'media.iso'), kind: 'iso', neededBytes: 3 * 1024 * 1024 });
    assert.equal(fine.folder, dir);
    assert.equal(fine.writable, true);
    assert.equal(fine.fits, true);
    assert.equal(fine.problem, null);
    // A refusal is an answer, not a failed call: the page shows it under the field and blocks Next.
    const missing = await ok<OutputCheck>('checkOutput', { path: join(dir, 'no', 'media.iso'), kind: 'iso', neededBytes: null });
    assert.deepEqual(missing.problemDetail, { code: 'OUTPUT_FOLDER_MISSING', params: { folder: join(dir, 'no'), path: join(dir, 'no', 'media.iso') } });
    // Inside the open site (the sample site): refused as startMedia refuses it.
    const info = await ok<SiteInfo>('getSiteInfo');
    const inside = await ok<OutputCheck>('checkOutput', { path: join(info.root, 'usb.img'), kind: 'usb-image', neededBytes: null });
    assert.equal(inside.problemDetail?.code, 'OUTPUT_INSIDE_SOURCES');
    assert.equal((await ok<OutputCheck>('checkOutput', { path: 'media.iso', kind: 'iso', neededBytes: null })).problemDetail?.code, 'OUTPUT_PATH_RELATIVE');
    assert.deepEqual(readdirSync(dir), [], 'nothing created');
  });

  test('startMedia makes an ISO: progress and done arrive over /api/events, the ISO verifies', async () => {
    const outDir = join(work, 'iso');
    mkdirSync(outDir);
    const out = join(outDir, 'media.iso');
    let jobId: string | null = null;
    const stream = events(ended(() => jobId));
    await stream.ready;
    const check = await ok<{ discs: { bytes: number }[]; problem: string | null }>('checkMedia', {
      taskSequenceId: 'SMP00010', detectDependencies: true, distributionPoints: [], applications: [], packages: [], driverPackages: [], media: 'iso', size: 'cd650', i386Binaries: false,
    });
    assert.equal(check.problem, null);
    ({ jobId } = await ok<{ jobId: string }>('startMedia', { kind: 'iso', request: isoRequest(out) }));
    assert.match(String(jobId), /^[0-9a-f-]{36}$/);
    const all = (await stream.done).filter((e) => e.jobId === jobId);
    const progress = all.filter((e): e is Extract<MediaEvent, { type: 'progress' }> => e.type === 'progress');
    // Progress comes at most four times a second, phases in order, the last one "done" with every byte counted.
    const order = ['plan', 'write', 'verify', 'finalize', 'done'];
    const phases = progress.map((e) => order.indexOf(e.progress.phase));
    assert.ok(progress.length >= 2, `progress events: ${progress.length}`);
    assert.deepEqual(phases, [...phases].sort((a, b) => a - b), 'phases in order');
    const lastProgress = progress[progress.length - 1].progress;
    assert.equal(lastProgress.phase, 'done');
    assert.equal(lastProgress.bytesDone, lastProgress.bytesTotal);
    const last = all[all.length - 1];
    assert.equal(last.type, 'done', JSON.stringify(last));
    if (last.type !== 'done') return;
    assert.equal(last.result.kind, 'iso');
    assert.equal(last.result.verified, true);
    assert.equal(last.result.outputs.length, 1);
    assert.equal(last.result.outputs[0].path, out);
    assert.equal(statSync(out).size, last.result.outputs[0].bytes);
    // The Media Type page's plan is the size the run made.
    assert.equal(check.discs[0].bytes, last.result.outputs[0].bytes);
    const v = runCli(['verify', out]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    // A second run may start once the first has ended; the result's files are the ones openPath would open.
    assert.equal(await ok('openPath', out), false, 'no desktop: openPath says it cannot');
  });

  test('cancelMedia stops a run: an error event with code "cancelled", no ISO and no partial file left', async () => {
    // A site with a 2 GiB package (a sparse blob) so the run is still going when the cancel arrives.
    const site = copySampleSite(join(work, 'big-site'));
    const small = join(work, 'readme.txt');
    writeFileSync(small, 'x');
    await addPackage(site, 'SMP00097', [{ relativePath: 'readme.txt', sourcePath: small }], 'Big payload');
    const size = 2 * 1024 ** 3;
    const hash = 'CD'.repeat(32);
    for (const dp of ['SCCMContentLib_DP01', 'SCCMContentLib_DP02']) {
      writeFileSync(join(site, dp, 'DataLib', 'SMP00097.1', 'payload.bin.INI'), `[File]\r\nHash=${hash}\r\nSize=${size}\r\nAttributes=20\r\nTimeModified=133801632000000000\r\n`);
      mkdirSync(join(site, dp, 'FileLib', 'CDCD'), { recursive: true });
      const blob = join(site, dp, 'FileLib', 'CDCD', hash);
      writeFileSync(blob, '');
      truncateSync(blob, size);
    }
    const outDir = join(work, 'cancelled');
    mkdirSync(outDir);
    const out = join(outDir, 'big.iso');
    let jobId: string | null = null;
    const stream = events(ended(() => jobId));
    await stream.ready;
    ({ jobId } = await ok<{ jobId: string }>('startMedia', { kind: 'iso', request: isoRequest(out, { site, packages: ['SMP00097'], size: 'unlimited' }) }));
    const busy = await callApi('startMedia', [{ kind: 'iso', request: isoRequest(join(outDir, 'other.iso')) }]);
    assert.equal(busy.status, 400);
    assert.match(busy.body, /a media run is in progress/);
    assert.equal(await ok('cancelMedia', jobId), null);
    const all = (await stream.done).filter((e) => e.jobId === jobId);
    const last = all[all.length - 1];
    assert.equal(last.type, 'error', JSON.stringify(last));
    if (last.type !== 'error') return;
    assert.equal(last.code, 'cancelled');
    assert.ok(!existsSync(out));
    assert.deepEqual(readdirSync(outDir).filter((n) => n.endsWith('.partial') || n.endsWith('.iso')), []);
    // Cancelling a job that has ended is no error.
    assert.equal(await ok('cancelMedia', jobId), null);
  });

  test('USB through the API: an image is written and verified; a drive needs confirming and must exist', async (t) => {
    const outDir = join(work, 'usb');
    mkdirSync(outDir);
    const img = join(outDir, 'usb.img');
    const { size: _size, out: _out, ...base } = isoRequest('');
    let jobId: string | null = null;
    const stream = events(ended(() => jobId));
    await stream.ready;
    const usb = { ...base, target: { kind: 'image', path: img, sizeBytes: 300 * 1024 * 1024, replace: null }, format: true };
    ({ jobId } = await ok<{ jobId: string }>('startMedia', { kind: 'usb', request: usb }));
    const all = (await stream.done).filter((e) => e.jobId === jobId);
    const last = all[all.length - 1];
    assert.equal(last.type, 'done', JSON.stringify(last));
    if (last.type !== 'done') return;
    assert.equal(last.result.kind, 'usb');
    assert.equal(last.result.verified, true);
    assert.deepEqual(last.result.outputs.map((o) => o.path), [img]);
    assert.equal(statSync(img).size, 300 * 1024 * 1024);
    assert.equal(runCli(['verify', img]).status, 0);

    if (process.platform === 'win32') {
      await t.test('the drive part', (s) => s.skip("drives are listed by drivelist's native addon, built for Linux in this checkout (drives are not part of the Windows run)"));
      return;
    }
    const drive = { ...usb, target: { kind: 'drive', device: '/dev/tsmedia-no-such-drive', showAll: true, confirmations: ['/dev/tsmedia-no-such-drive'] } };
    const absent = await callApi('startMedia', [{ kind: 'usb', request: drive }]);
    assert.equal(absent.status, 400, absent.body);
    assert.match(absent.body, /not connected|cannot list drives/);
  });

  test('several drives through the API: moreDrives written in one run, cancelDrive stops one drive while the other is written and verified', async (t) => {
    if (!requireOrSkip(t, process.platform === 'linux' && process.getuid?.() === 0 && hasCommand('losetup'), 'needs root and losetup (loop devices stand in for the drives)')) return;
    const devs: string[] = [];
    t.after(() => {
      for (const d of devs) spawnSync('losetup', ['-d', d]);
    });
    for (const name of ['several-a.img', 'several-b.img']) {
      const backing = join(work, name);
      writeFileSync(backing, '');
      truncateSync(backing, 256 * 1024 * 1024);
      const lo = spawnSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' });
      assert.equal(lo.status, 0, lo.stderr);
      devs.push(lo.stdout.trim());
    }
    const [a, b] = devs;
    const { size: _size, out: _out, ...base } = isoRequest('');
    const drive = (device: string, confirmations = [device]) => ({ kind: 'drive', device, showAll: true, confirmations });
    // Refused before a job starts: several drives unformatted, a drive named twice, a drive not confirmed.
    const unformatted = await callApi('startMedia', [{ kind: 'usb', request: { ...base, target: drive(a), moreDrives: [drive(b)], format: false } }]);
    assert.equal(unformatted.status, 400, unformatted.body);
    assert.match(unformatted.body, /several drives are always formatted/);
    const twice = await callApi('startMedia', [{ kind: 'usb', request: { ...base, target: drive(a), moreDrives: [drive(a)], format: true } }]);
    assert.equal(twice.status, 400, twice.body);
    assert.match(twice.body, /chosen twice/);
    const unconfirmed = await callApi('startMedia', [{ kind: 'usb', request: { ...base, target: drive(a), moreDrives: [drive(b, [])], format: true } }]);
    assert.equal(unconfirmed.status, 400, unconfirmed.body);
    assert.match(unconfirmed.body, new RegExp(b));

    let jobId: string | null = null;
    const stream = events(ended(() => jobId));
    await stream.ready;
    ({ jobId } = await ok<{ jobId: string }>('startMedia', { kind: 'usb', request: { ...base, target: drive(a), moreDrives: [drive(b)], format: true } }));
    const stranger = await callApi('cancelDrive', [jobId, '/dev/tsmedia-not-in-this-run']);
    assert.equal(stranger.status, 400, stranger.body);
    assert.match(stranger.body, /is not one of its drives/);
    // Cancelled before its first byte: the other drive goes on.
    assert.equal(await ok('cancelDrive', jobId, b), null);
    const all = (await stream.done).filter((e) => e.jobId === jobId);
    const last = all[all.length - 1];
    assert.equal(last.type, 'done', JSON.stringify(last));
    if (last.type !== 'done') return;
    assert.deepEqual(
      last.result.drives?.map((d) => [d.device, d.status, d.verified]),
      [
        [a, 'written', true],
        [b, 'cancelled', false],
      ],
    );
    assert.deepEqual(last.result.outputs.map((o) => o.path), [a]);
    // Each drive's own progress travels in the run's events, both drives in each.
    assert.ok(all.some((e) => e.type === 'progress' && e.progress.drives?.length === 2 && e.progress.drives.some((d) => d.device === b && d.state === 'cancelled')), 'a progress event says the cancelled drive is cancelled');
    const v = runCli(['verify', a]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    // A job that has ended: no error, as cancelMedia.
    assert.equal(await ok('cancelDrive', jobId, b), null);
  });
});

/** Fails with `what` unless `p` settles within `ms` (the host must end things itself; this only stops a hang). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(what)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('loopback host: one-time codes and sessions', () => {
  let codesApi: EngineApi;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsmedia-host-codes-'));
    process.env.XDG_STATE_HOME = join(dir, 'state');
    codesApi = createEngineApi({ userDataDir: join(dir, 'user-data') });
  });
  after(async () => {
    await codesApi.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a code opens one session, once; a resume code reopens it once, only while the page is alive or just gone', async (t) => {
    if (!requireOrSkip(t, process.platform !== 'win32', 'its 400 ms code lifetime is shorter than a first loopback connection takes under Wine')) return;
    const h = await startLoopbackHost({ api: codesApi, rendererDir: join(dir, 'no-renderer'), limits: { codeTtlMs: 400, resumeGraceMs: 400 } });
    t.after(() => h.close());
    const get = (secret: string): Promise<Reply> => http('/api/getSiteInfo', { port: h.port, method: 'POST', headers: sessionHeader(secret), body: '[]' });

    const code = h.newCode();
    const first = await exchangeCode(h.port, code);
    assert.equal(first.status, 200, first.body);
    assert.match(String(first.session), /^[0-9a-f]{64}$/);
    assert.match(String(first.resume), /^[0-9a-f]{64}$/);
    assert.equal(new Set([code, first.session, first.resume]).size, 3);
    assert.equal((await get(String(first.session))).status, 200);
    // A code equal to the one just used but for its last character is unknown (not "used"): every character counts.
    const near = await exchangeCode(h.port, lastChanged(code));
    assert.equal(near.status, 403);
    assert.equal(near.reason, 'code-unknown');
    const again = await exchangeCode(h.port, code);
    assert.equal(again.status, 403);
    assert.equal(again.reason, 'code-used');
    assert.match(again.body, /this one-time code was already used \(each address tsmedia prints works once\): ask tsmedia for a new address/);
    const unknown = await exchangeCode(h.port, 'a'.repeat(64));
    assert.equal(unknown.status, 403);
    assert.equal(unknown.reason, 'code-unknown');
    assert.match(unknown.body, /this one-time code is not valid/);
    const missing = await http('/api/session', { port: h.port, method: 'POST', body: '{}' });
    assert.equal(missing.status, 400);
    assert.match(missing.body, /the body must be \{\\"code\\": \\"…\\"\}/);
    assert.equal((await http('/api/session', { port: h.port })).status, 405);

    // A reload: the resume code, once, for a new session; the old one ends.
    assert.equal((await exchangeCode(h.port, lastChanged(String(first.resume)))).reason, 'code-unknown');
    assert.equal((await get(lastChanged(String(first.session)))).status, 403);
    const reloaded = await exchangeCode(h.port, String(first.resume));
    assert.equal(reloaded.status, 200, reloaded.body);
    assert.equal((await get(String(first.session))).status, 403, 'the session before the reload is over');
    assert.equal((await exchangeCode(h.port, String(first.resume))).reason, 'code-used');
    const second = String(reloaded.session);
    assert.equal((await get(second)).status, 200);

    // An open event stream keeps the page's resume code working past the grace; using it ends that stream.
    const unused = h.newCode();
    const stream = raw(h.port, `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\n${HOST_SESSION_HEADER}: ${second}\r\n\r\n`);
    await until(() => stream.received().includes(': connected'), 'the event stream opens');
    await pause(800);
    const third = await exchangeCode(h.port, String(reloaded.resume));
    assert.equal(third.status, 200, third.body);
    await until(() => stream.received().endsWith('\r\n0\r\n\r\n'), 'the ended session keeps its event stream', 5_000);
    stream.socket.destroy();

    // Gone longer than the grace (no stream, no request): its resume code has expired; so has an unused address code.
    await pause(800);
    const late = await exchangeCode(h.port, String(third.resume));
    assert.equal(late.status, 403);
    assert.equal(late.reason, 'code-expired');
    assert.match(late.body, /this one-time code has expired \(an address works for \d+ minutes, a reload within \d+ s of the page's last contact\)/);
    const stale = await exchangeCode(h.port, unused);
    assert.equal(stale.reason, 'code-expired');
    // The session itself stays: it lives in the page's memory only.
    assert.equal((await get(String(third.session))).status, 200);
  });
});

describe('loopback host: bounds on time and numbers', () => {
  let boundsApi: EngineApi;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsmedia-host-bounds-'));
    process.env.XDG_STATE_HOME = join(dir, 'state');
    boundsApi = createEngineApi({ userDataDir: join(dir, 'user-data') });
  });
  after(async () => {
    await boundsApi.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (t: TestContext, limits: Partial<HostLimits>): Promise<{ h: LoopbackHost; secret: string }> => {
    const h = await startLoopbackHost({ api: boundsApi, rendererDir: join(dir, 'no-renderer'), limits });
    t.after(() => h.close());
    return { h, secret: await openSession(h.port, h.newCode()) };
  };
  const partial = (port: number, secret: string, path = '/api/getSiteInfo'): string =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n${HOST_SESSION_HEADER}: ${secret}\r\n\r\n[  `;
  const eventStream = (port: number, secret: string): string => `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${HOST_SESSION_HEADER}: ${secret}\r\n\r\n`;

  test('production defaults: the figures the documentation gives', () => {
    assert.deepEqual(DEFAULT_LIMITS, {
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 20_000,
      maxEventStreams: 16,
      maxApiRequests: 32,
      maxConnections: 64,
      codeTtlMs: 600_000,
      resumeGraceMs: 30_000,
    });
    assert.ok(REQUEST_TIMEOUT_MS > 0 && REQUEST_TIMEOUT_MS <= 60_000);
    assert.ok(MAX_EVENT_STREAMS >= 8 && MAX_EVENT_STREAMS < MAX_CONNECTIONS);
  });

  test('200 authenticated requests whose bodies stop coming: each answered 408 with a sentence and closed by the host', async (t) => {
    const { h, secret } = await start(t, { requestTimeoutMs: 500, maxConnections: 400, maxApiRequests: 400 });
    const clients = Array.from({ length: 200 }, (_, i) => raw(h.port, partial(h.port, secret, i % 10 === 0 ? '/api/session' : '/api/getSiteInfo')));
    const replies = await within(Promise.all(clients.map((c) => c.closed)), 30_000, 'the host kept requests with unfinished bodies open');
    for (const r of replies) {
      assert.match(r, /^HTTP\/1\.1 408 /);
      assert.match(r, /the request's body did not arrive within 0\.5 s; the connection is closed\./);
      assert.match(r, /"reason":"request-timeout"/);
    }
    // The host goes on answering.
    assert.equal((await http('/api/getSiteInfo', { port: h.port, method: 'POST', headers: sessionHeader(secret), body: '[]' })).status, 200);
  });

  test('event streams: at most the limit at once, the next refused (429) naming it; they outlive the request time-out', async (t) => {
    const { h, secret } = await start(t, { maxEventStreams: 3, requestTimeoutMs: 300 });
    const streams = [0, 1, 2].map(() => raw(h.port, eventStream(h.port, secret)));
    await until(() => streams.every((s) => s.received().includes(': connected')), 'three event streams open');
    // Read as far as the answer's first bytes: a stream let in would never end.
    const answer = async (): Promise<string> => {
      const s = raw(h.port, eventStream(h.port, secret));
      await until(() => s.received().includes('\r\n\r\n'), 'an answer');
      await pause(50);
      s.socket.destroy();
      return s.received();
    };
    const refused = await answer();
    assert.match(refused, /^HTTP\/1\.1 429 /);
    assert.match(refused, /"reason":"too-many-event-streams"/);
    assert.match(refused, /tsmedia already serves 3 event streams, the most it keeps open at once: close another wizard window or tab\./);
    // Five times the request time-out later the streams are still open, and still counted.
    await pause(1_500);
    let closed = 0;
    for (const s of streams) void s.closed.then(() => (closed += 1));
    await pause(0);
    assert.equal(closed, 0, 'an event stream was closed by the request time-out');
    assert.match(await answer(), /^HTTP\/1\.1 429 /);
    // One closed: room for another.
    streams[0].socket.destroy();
    await until(async () => (await answer()).startsWith('HTTP/1.1 200 '), 'a stream is accepted again');
    for (const s of streams) s.socket.destroy();
  });

  test('API requests in flight: at most the limit, the next refused (503) naming it', async (t) => {
    const { h, secret } = await start(t, { maxApiRequests: 2, requestTimeoutMs: 1_500 });
    const slow = [raw(h.port, partial(h.port, secret)), raw(h.port, partial(h.port, secret))];
    let refused: Reply | null = null;
    await until(async () => {
      refused = await http('/api/getSiteInfo', { port: h.port, method: 'POST', headers: sessionHeader(secret), body: '[]' });
      return refused.status === 503;
    }, 'a third request is refused');
    const r = refused as unknown as Reply;
    assert.equal(JSON.parse(r.body).reason, 'too-many-requests');
    assert.match(r.body, /tsmedia is already answering 2 requests, the most it takes at once: try again when they finish\./);
    // Event streams are not among them.
    const stream = raw(h.port, eventStream(h.port, secret));
    await until(() => stream.received().includes(': connected'), 'an event stream opens meanwhile');
    stream.socket.destroy();
    await within(Promise.all(slow.map((s) => s.closed)), 20_000, 'the slow requests were not closed');
    assert.equal((await http('/api/getSiteInfo', { port: h.port, method: 'POST', headers: sessionHeader(secret), body: '[]' })).status, 200);
  });

  test('connections: at most the limit open, the next answered 503 naming it and closed', async (t) => {
    const { h, secret } = await start(t, { maxConnections: 4 });
    // Four connections held by event streams (a stream refused because the session's own connection has not closed yet is retried).
    const held: ReturnType<typeof raw>[] = [];
    await until(async () => {
      const s = raw(h.port, eventStream(h.port, secret));
      await until(() => s.received() !== '', 'an answer');
      if (s.received().startsWith('HTTP/1.1 200 ')) held.push(s);
      else s.socket.destroy();
      return held.length === 4;
    }, 'four event streams open');
    const fifth = raw(h.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\n\r\n`);
    const reply = await within(fifth.closed, 10_000, 'the connection over the limit was not closed');
    assert.match(reply, /^HTTP\/1\.1 503 /);
    assert.match(reply, /tsmedia already has 4 connections open, the most it keeps at once: this one is closed; try again when others finish\./);
    held[0].socket.destroy();
    await until(async () => {
      const s = raw(h.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nConnection: close\r\n\r\n`);
      const got = await within(s.closed, 10_000, 'no answer');
      return !got.startsWith('HTTP/1.1 503 ');
    }, 'a connection is served again');
    for (const s of held) s.socket.destroy();
  });
});

describe('engine API: the site and preferences are remembered', () => {
  test('an opened site is remembered for the next start; a vanished one falls back to the sample site', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsmedia-prefs-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const userDataDir = join(dir, 'user-data');
    const site = copySampleSite(join(dir, 'my-site'));
    const first = createEngineApi({ userDataDir, systemLocale: () => 'es-ES' });
    assert.equal((await first.getSiteInfo()).isSample, true);
    const opened = await first.openSite(site);
    assert.equal(opened.isSample, false);
    assert.equal(opened.root, site);
    await first.setPreferences({ language: 'en' });
    assert.equal(await first.systemLocale(), 'es-ES');
    await first.close();

    const second = createEngineApi({ userDataDir });
    assert.deepEqual(await second.getPreferences(), { language: 'en', lastSite: site });
    assert.equal((await second.getSiteInfo()).root, site);
    await second.close();

    rmSync(site, { recursive: true });
    const third = createEngineApi({ userDataDir });
    assert.equal((await third.getSiteInfo()).isSample, true);
    // Back to the sample site: remembered as null.
    await third.openSite(null);
    assert.equal((await third.getPreferences()).lastSite, null);
    await third.close();
  });

  test('saveAnswerFile writes the answer file whole; openPath opens only what the session wrote', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tsmedia-answers-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const opened: string[] = [];
    const engine = createEngineApi({
      userDataDir: join(dir, 'user-data'),
      dialogs: { chooseFolder: async () => '/picked', chooseSaveFile: async () => null, openPath: async (p) => (opened.push(p), true) },
    });
    const file = join(dir, 'monthly.json');
    await engine.saveAnswerFile(file, { format: 'tsmedia-answers/1', taskSequence: 'SMP00010', media: 'iso', size: 'dvd' });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { format: 'tsmedia-answers/1', taskSequence: 'SMP00010', media: 'iso', size: 'dvd' });
    assert.equal(await engine.chooseFolder('Site'), '/picked');
    assert.equal(await engine.openPath(file), true);
    assert.equal(await engine.openPath(dir), true, 'its folder too');
    await assert.rejects(engine.call('openPath', ['/etc/passwd']), /opens only the media, reports, logs and answer files/);
    assert.deepEqual(opened, [file, dir]);
    await engine.close();
  });
});
