// The loopback host as a browser (and an attacker) meets it: a real server on a random port with the real engine API on
// the sample site — the token, Host and Origin rules, the API over POST, media events over Server-Sent Events, the
// renderer's files with their headers, and an ISO made, verified and cancelled through it.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SequenceSummary } from '../shared/analysis.js';
import { API_METHODS, type MediaEvent, type SiteInfo } from '../shared/ipc.js';
import type { IsoMediaRequest } from '../shared/media.js';
import { createEngineApi, type EngineApi } from '../electron/host/EngineApi.js';
import { startLoopbackHost, type LoopbackHost } from '../electron/host/LoopbackHost.js';
import { requireOrSkip, runCli } from './helpers.js';
import { addPackage, copySampleSite } from './support/sites.js';
import { readMediaEvents } from './support/mediaEvents.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

let host: LoopbackHost;
let api: EngineApi;
let work: string;
let rendererDir: string;

/** A raw HTTP request: unlike fetch, it lets the test set Host, Origin and Cookie as an attacker could. */
function http(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, method: options.method ?? 'GET', headers: { host: `127.0.0.1:${host.port}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end(options.body);
  });
}

const auth = (): Record<string, string> => ({ 'x-tsmedia-token': host.token });

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
    token: host.token,
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
    label: 'Configuration Manager', autorun: false, variables: [], prestartCommand: null, prestartFiles: null, applications: [], packages: [],
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
  });
  after(async () => {
    await api.close();
    await host.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('listens on 127.0.0.1 only, on the port it reports, and prints a URL with the token', () => {
    const address = host.address();
    assert.equal(address.address, '127.0.0.1');
    assert.equal(address.family, 'IPv4');
    assert.equal(address.port, host.port);
    assert.match(host.token, /^[0-9a-f]{64}$/);
    assert.equal(host.url, `http://127.0.0.1:${host.port}/?token=${host.token}`);
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

  test('no token: 401; a wrong token (query, header or cookie): 403', async () => {
    for (const path of ['/', '/index.html', '/assets/app.js', '/api/events']) assert.equal((await http(path)).status, 401, path);
    assert.equal((await callApi('getSiteInfo', [], {})).status, 401);
    const wrong = 'f'.repeat(64);
    assert.equal((await http(`/?token=${wrong}`)).status, 403);
    assert.equal((await http('/', { headers: { cookie: `tsmedia_token_${host.port}=${wrong}` } })).status, 403);
    assert.equal((await callApi('getSiteInfo', [], { 'x-tsmedia-token': wrong })).status, 403);
    assert.equal((await callApi('getSiteInfo', [], { 'x-tsmedia-token': host.token.slice(0, 10) })).status, 403);
    // A wrong header is not rescued by a right cookie: the header is what the caller meant.
    assert.equal((await callApi('getSiteInfo', [], { 'x-tsmedia-token': wrong, cookie: `tsmedia_token_${host.port}=${host.token}` })).status, 403);
  });

  test('a foreign Host (DNS rebinding) or a foreign Origin is refused even with the token', async () => {
    for (const h of ['evil.example', `evil.example:${host.port}`, '127.0.0.1', `127.0.0.1:${host.port + 1}`, `0.0.0.0:${host.port}`]) {
      const r = await http(`/?token=${host.token}`, { headers: { host: h } });
      assert.equal(r.status, 403, h);
    }
    for (const o of ['http://evil.example', `http://127.0.0.1:${host.port + 1}`, `https://127.0.0.1:${host.port}`, 'null']) {
      assert.equal((await callApi('getSiteInfo', [], { ...auth(), origin: o })).status, 403, o);
    }
    assert.equal((await callApi('getSiteInfo', [], { ...auth(), 'sec-fetch-site': 'cross-site' })).status, 403);
    // The page's own origin, and localhost, are fine.
    assert.equal((await callApi('getSiteInfo', [], { ...auth(), origin: `http://127.0.0.1:${host.port}` })).status, 200);
    assert.equal((await http(`/?token=${host.token}`, { headers: { host: `localhost:${host.port}` } })).status, 200);
  });

  test('the page load with ?token= sets an HttpOnly SameSite=Strict cookie that then carries assets and API calls', async () => {
    const page = await http(`/?token=${host.token}`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.match(page.body, /<title>tsmedia<\/title>/);
    const cookie = String(page.headers['set-cookie']);
    assert.match(cookie, new RegExp(`^tsmedia_token_${host.port}=${host.token}; Path=/; HttpOnly; SameSite=Strict`));
    const jar = cookie.split(';')[0];
    const js = await http('/assets/app.js', { headers: { cookie: jar } });
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.equal(js.headers['set-cookie'], undefined, 'the cookie is not set again by requests it carried');
    assert.match(String((await http('/assets/app.css', { headers: { cookie: jar } })).headers['content-type']), /^text\/css/);
    const seq = await callApi('listSequences', [], { cookie: jar });
    assert.equal(seq.status, 200);
    const info = await ok<SiteInfo>('getSiteInfo');
    assert.equal(info.isSample, true);
    assert.equal(info.taskSequences, 3);
  });

  test('every response carries the CSP, nosniff and no-referrer; HEAD works; other methods are refused', async () => {
    for (const r of [await http(`/?token=${host.token}`), await callApi('getPreferences', []), await http('/missing.js', { headers: auth() })]) {
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
      ['checkMedia', [{ taskSequenceId: 'SMP00010', detectDependencies: true, distributionPoints: [], applications: [], packages: [], driverPackages: [], media: 'floppy', size: null }], /checkMedia\.media must be one of "iso", "usb"/],
      ['startMedia', [{ kind: 'iso', request: { ...isoRequest(join(work, 'x.iso')), size: 1000 } }], /custom size is a whole number of bytes, at least/],
      ['startMedia', [{ kind: 'iso', request: isoRequest('x.iso') }], /request\.out must be a full path/],
      ['startMedia', [{ kind: 'usb', request: { ...isoRequest(''), target: { kind: 'drive', device: '/dev/sdz', showAll: false, confirmations: ['/dev/sdz'] }, format: true } }], /"size" is not a field/],
      ['startMedia', [{ kind: 'usb', request: { ...isoRequest('', { size: undefined, out: undefined }), target: { kind: 'drive', device: '/dev/sdz' }, format: true, confirmedDrive: true } }], /"confirmedDrive" is not a field/],
      ['setPreferences', [{ language: 'fr' }], /setPreferences\.language must be one of "en", "es"/],
      ['saveAnswerFile', [join(work, 'answers.txt'), { format: 'tsmedia-answers/1' }], /an answer file is a \.json file/],
      ['saveAnswerFile', [join(work, 'a.json'), { format: 'tsmedia-answers/1', password: 'x' }], /never holds a password/],
      ['listDrives', [{ showAll: 'yes', neededBytes: 0 }], /listDrives\.showAll must be true or false/],
      ['cancelMedia', [null], /cancelMedia: the job ID must be text/],
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

  test('the API: the sample site\'s three task sequences, preferences, and what needs a desktop says so', async () => {
    const list = await ok<SequenceSummary[]>('listSequences');
    assert.deepEqual(list.map((s) => s.packageId), ['SMP00010', 'SMP00011', 'SMP00012']);
    assert.deepEqual(list.map((s) => s.selectable), [true, true, false]);
    assert.equal(await ok('chooseFolder', 'Pick a folder'), null);
    assert.equal(await ok('chooseSaveFile', { title: 'Save', defaultPath: null, filters: [{ name: 'Answer files', extensions: ['json'] }] }), null);
    assert.equal(await ok('openPath', work), false);
    assert.deepEqual(await ok('setPreferences', { language: 'es' }), { language: 'es', lastSite: null });
    assert.deepEqual(await ok('getPreferences'), { language: 'es', lastSite: null });
    assert.equal(typeof (await ok<string>('systemLocale')), 'string');
    // Every method of the contract answers something other than 404.
    for (const m of API_METHODS) assert.notEqual((await callApi(m, [])).status, 404, m);
  });

  test('startMedia makes an ISO: progress and done arrive over /api/events, the ISO verifies', async () => {
    const outDir = join(work, 'iso');
    mkdirSync(outDir);
    const out = join(outDir, 'media.iso');
    let jobId: string | null = null;
    const stream = events(ended(() => jobId));
    await stream.ready;
    const check = await ok<{ discs: { bytes: number }[]; problem: string | null }>('checkMedia', {
      taskSequenceId: 'SMP00010', detectDependencies: true, distributionPoints: [], applications: [], packages: [], driverPackages: [], media: 'iso', size: 'cd650',
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

  test('USB through the API: an image is written and verified; a drive needs confirming and must exist', async () => {
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

    const drive = { ...usb, target: { kind: 'drive', device: '/dev/tsmedia-no-such-drive', showAll: true, confirmations: ['/dev/tsmedia-no-such-drive'] } };
    const absent = await callApi('startMedia', [{ kind: 'usb', request: drive }]);
    assert.equal(absent.status, 400, absent.body);
    assert.match(absent.body, /not connected|cannot list drives/);
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
