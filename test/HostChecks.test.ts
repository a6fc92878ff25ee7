// The loopback host's checks, one request at a time and quickly (the mutation group `host` runs this file against each
// mutant; LoopbackHost.test makes media and takes ten seconds): the Host, Origin and Sec-Fetch-Site rules, the session
// header, the code exchange's body, the API's methods, bodies and error replies, the renderer's files, and the bounds
// on bodies, time and numbers, each at its edge. A real host with the real engine API; its locale and drive listing
// are given, so that an answer and a failure are known.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { HOST_SESSION_HEADER } from '../shared/ipc.js';
import { createEngineApi, type EngineApi } from '../electron/host/EngineApi.js';
import { MAX_BODY_BYTES, startLoopbackHost, type HostLimits, type LoopbackHost } from '../electron/host/LoopbackHost.js';
import { PAGE_HEADERS } from '../electron/shell/security.js';
import { exchangeCode, openSession, sessionHeader } from './support/hostSession.js';
import { raw } from './support/hostClient.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

let work: string;
let rendererDir: string;
let api: EngineApi;
let host: LoopbackHost;
let session: string;

function http(path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; port?: number; chunked?: boolean } = {}): Promise<Reply> {
  const port = options.port ?? host.port;
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: false, headers: { host: `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    if (options.chunked && options.body !== undefined) {
      // No Content-Length: the body's size is known only as it arrives.
      req.setHeader('transfer-encoding', 'chunked');
      const b = Buffer.from(options.body);
      const half = Math.floor(b.length / 2);
      req.write(b.subarray(0, half));
      req.end(b.subarray(half));
    } else req.end(options.body);
  });
}

const post = (method: string, body: string | Buffer, headers: Record<string, string> = sessionHeader(session), chunked = false): Promise<Reply> =>
  http(`/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, chunked });

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// A host that stops answering (a mutant of the mutation run, a real bug) fails this file in seconds rather than hanging it.
setTimeout(() => {
  console.error('HostChecks.test: not finished within 20 s: a request or connection was never answered');
  process.exit(1);
}, 20_000).unref();

const json = (r: Reply): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsmedia-host-checks-'));
  process.env.XDG_STATE_HOME = join(work, 'state');
  rendererDir = join(work, 'renderer');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>tsmedia</title>');
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log("wizard");');
  api = createEngineApi({
    userDataDir: join(work, 'user-data'),
    systemLocale: () => 'de-CH',
    listDrives: () => Promise.reject(new Error('the drive listing broke')),
  });
  host = await startLoopbackHost({ api, rendererDir });
  session = await openSession(host.port, host.newCode());
});

after(async () => {
  await host.close();
  await api.close();
  // Windows may still hold a file just closed by the host: rmSync retries ENOTEMPTY/EBUSY there.
  rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('host checks: whose requests are answered', () => {
  test('the Host header: only 127.0.0.1:PORT or localhost:PORT, in any case; anything else (or none) 403 with the reason', async () => {
    for (const h of [`127.0.0.1:${host.port}`, `localhost:${host.port}`, `LocalHost:${host.port}`]) {
      assert.equal((await http('/', { headers: { host: h } })).status, 200, h);
    }
    for (const h of ['evil.example', `evil.example:${host.port}`, `127.0.0.1:${host.port + 1}`, `localhost:${host.port + 1}`, `x127.0.0.1:${host.port}`, `127.0.0.1:${host.port}x`]) {
      const r = await http('/', { headers: { host: h } });
      assert.equal(r.status, 403, h);
      assert.equal(r.body, 'Forbidden: this server answers only to its own address.\n');
    }
    // HTTP/1.0 allows a request without Host: it names no server, so it is refused too.
    const none = await raw(host.port, 'GET / HTTP/1.0\r\n\r\n').closed;
    assert.match(none, /^HTTP\/1\.1 403 /);
    assert.match(none, /this server answers only to its own address/);
  });

  test('the Origin header: absent, or exactly this origin (either name, any case); another 403 with the reason', async () => {
    for (const o of [`http://127.0.0.1:${host.port}`, `http://localhost:${host.port}`, `HTTP://LOCALHOST:${host.port}`]) {
      assert.equal((await post('systemLocale', '[]', { ...sessionHeader(session), origin: o })).status, 200, o);
    }
    for (const o of ['http://evil.example', `https://127.0.0.1:${host.port}`, `http://127.0.0.1:${host.port + 1}`, `http://127.0.0.1:${host.port}/`, 'null', '']) {
      const r = await post('systemLocale', '[]', { ...sessionHeader(session), origin: o });
      assert.equal(r.status, 403, o);
      assert.equal(r.body, 'Forbidden: requests from other sites are refused.\n');
      assert.equal((await http('/', { headers: { origin: o } })).status, 403, o);
    }
  });

  test('Sec-Fetch-Site: absent, same-origin or none; same-site (another port) and cross-site 403 with the reason', async () => {
    for (const site of ['same-origin', 'none']) assert.equal((await http('/', { headers: { 'sec-fetch-site': site } })).status, 200, site);
    for (const site of ['same-site', 'cross-site', '']) {
      const r = await http('/', { headers: { 'sec-fetch-site': site } });
      assert.equal(r.status, 403, site);
      assert.equal(r.body, 'Forbidden: requests from other sites are refused.\n');
    }
  });

  test('a request target that is no URL is 400', async () => {
    const reply = await raw(host.port, `GET http://[::1 HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nConnection: close\r\n\r\n`).closed;
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.match(reply, /\r\n\r\nBad request\.\n$/);
  });

  test('the session header: none or empty 401 (with WWW-Authenticate), a wrong one 403, each with its sentence', async () => {
    for (const headers of [{}, sessionHeader('')]) {
      for (const r of [await post('systemLocale', '[]', headers), await http('/api/events', { headers })]) {
        assert.equal(r.status, 401);
        assert.equal(r.headers['www-authenticate'], 'Session');
        assert.match(r.body, /^Unauthorized: this page has no session with tsmedia\. Open the address tsmedia printed \(it holds a one-time code\); for another window, ask tsmedia for a new address/);
      }
    }
    const wrong = session.slice(0, -1) + (session.endsWith('0') ? '1' : '0');
    for (const r of [await post('systemLocale', '[]', sessionHeader(wrong)), await http('/api/events', { headers: sessionHeader(wrong) })]) {
      assert.equal(r.status, 403);
      assert.match(r.body, /^Forbidden: this session is not open \(it ended when its page reloaded, or tsmedia was restarted\): ask tsmedia for a new address/);
    }
    // A refused call does nothing: the preferences it would have set are as they were.
    const language = (JSON.parse((await post('getPreferences', '[]')).body) as { language: string | null }).language;
    assert.notEqual(language, 'es');
    for (const headers of [{}, sessionHeader(wrong)]) assert.notEqual((await post('setPreferences', '[{"language": "es"}]', headers)).status, 200);
    assert.equal((JSON.parse((await post('getPreferences', '[]')).body) as { language: string | null }).language, language);
    // The renderer's files and the code exchange need no session.
    assert.equal((await http('/assets/app.js')).status, 200);
    assert.equal((await exchangeCode(host.port, host.newCode())).status, 200);
  });
});

describe('host checks: the code exchange', () => {
  test('POST only (405 naming POST); the body must be {"code": "<text>"}: anything else 400 code-missing', async () => {
    const get = await http('/api/session');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.deepEqual(json(get), { error: '/api/session: use POST with {"code": "…"}.', reason: 'invalid' });
    for (const body of ['', 'not json', 'null', '[]', '{}', '{"code": ""}', '{"code": 12}', '{"Code": "abc"}', JSON.stringify({ code: 'x'.repeat(1100) })]) {
      const r = await http('/api/session', { method: 'POST', body });
      assert.equal(r.status, 400, body.slice(0, 40));
      assert.deepEqual(json(r), { error: '/api/session: the body must be {"code": "…"} with the one-time code from the address.', reason: 'code-missing' });
    }
    // At most 1024 bytes: a valid code padded past that is not read, whether the size is declared or not.
    const padded = (n: number, code: string): string => {
      const text = JSON.stringify({ code });
      return text + ' '.repeat(n - Buffer.byteLength(text));
    };
    const atLimit = await http('/api/session', { method: 'POST', body: padded(1024, host.newCode()) });
    assert.equal(atLimit.status, 200, atLimit.body);
    assert.equal((await http('/api/session', { method: 'POST', body: padded(1025, host.newCode()) })).status, 400);
    assert.equal((await http('/api/session', { method: 'POST', body: padded(1025, host.newCode()), chunked: true })).status, 400);
    assert.equal((await http('/api/session', { method: 'POST', body: padded(1024, host.newCode()), chunked: true })).status, 200);
  });

  test('a refused code: 403 with the reason and the sentence; an accepted one: the session and the resume code only', async () => {
    const r = await exchangeCode(host.port, 'b'.repeat(64));
    assert.equal(r.status, 403);
    assert.deepEqual(JSON.parse(r.body), { error: 'Forbidden: this one-time code is not valid: ask tsmedia for a new address (where `npm start` runs, press Enter).', reason: 'code-unknown' });
    const good = await exchangeCode(host.port, host.newCode());
    assert.equal(good.status, 200);
    assert.deepEqual(Object.keys(JSON.parse(good.body) as object), ['session', 'resume']);
    assert.equal((await post('systemLocale', '[]', sessionHeader(String(good.session)))).status, 200);
  });
});

describe('host checks: the API', () => {
  test('a method: 200 with its JSON result; an unknown one 404; not POST 405 naming POST', async () => {
    const r = await post('systemLocale', '[]');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(r.body, '"de-CH"');
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
    for (const [k, v] of Object.entries(PAGE_HEADERS)) assert.equal(r.headers[k.toLowerCase()], v, k);
    const unknown = await post('deleteEverything', '[]');
    assert.equal(unknown.status, 404);
    assert.deepEqual(json(unknown), { error: '"deleteEverything" is not a method of the API.', code: 'invalid' });
    const get = await http('/api/systemLocale', { headers: sessionHeader(session) });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.deepEqual(json(get), { error: 'systemLocale: use POST with a JSON array of arguments.', code: 'invalid' });
  });

  test('a method that returns nothing answers null', async () => {
    const r = await post('cancelMedia', '["no-such-job"]');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'null');
  });

  test('the body: empty means no arguments; not JSON 400; larger than MAX_BODY_BYTES 413, declared or not; exactly that size is read', async () => {
    assert.equal((await post('systemLocale', '')).body, '"de-CH"');
    const bad = await post('systemLocale', '[1,');
    assert.equal(bad.status, 400);
    assert.deepEqual(json(bad), { error: 'systemLocale: the body is not JSON (a JSON array of arguments is expected).', code: 'invalid' });
    assert.equal(MAX_BODY_BYTES, 1024 * 1024);
    const exactly = Buffer.from(`[${' '.repeat(MAX_BODY_BYTES - 2)}]`);
    assert.equal((await post('systemLocale', exactly)).status, 200);
    assert.equal((await post('systemLocale', exactly, sessionHeader(session), true)).status, 200);
    const over = Buffer.from(`[${' '.repeat(MAX_BODY_BYTES - 1)}]`);
    for (const chunked of [false, true]) {
      const r = await post('systemLocale', over, sessionHeader(session), chunked);
      assert.equal(r.status, 413, `chunked ${chunked}`);
      assert.deepEqual(json(r), { error: 'the request is larger than 1048576 bytes.', code: 'invalid' });
    }
  });

  test('errors: a refused request 400 with its sentence (and detail when it has one), a failure 500, never a stack', async () => {
    const invalid = await post('checkOutput', '[{"path": "relative.iso"}]');
    assert.equal(invalid.status, 400, invalid.body);
    const i = json(invalid);
    assert.equal(i.code, 'invalid');
    assert.equal(typeof i.error, 'string');
    const failed = await post('listDrives', '[{"showAll": true, "neededBytes": 0}]');
    assert.equal(failed.status, 500, failed.body);
    assert.deepEqual(json(failed), { error: 'the drive listing broke', code: 'failed' });
    const withDetail = await post('checkMedia', '[{}]');
    assert.equal(withDetail.status, 400, withDetail.body);
    assert.doesNotMatch(invalid.body + failed.body + withDetail.body, /\n\s+at /);
  });
});

describe("host checks: the renderer's files", () => {
  test('GET and HEAD only (405 naming both); an absent file 404; HEAD gives the size and no body', async () => {
    const page = await http('/');
    assert.equal(page.status, 200);
    assert.equal(page.body, '<!doctype html><title>tsmedia</title>');
    assert.equal(page.headers['content-length'], String(page.body.length));
    const head = await http('/assets/app.js', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String('console.log("wizard");'.length));
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await http('/', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
      assert.equal(r.body, 'Method not allowed.\n');
    }
    const missing = await http('/assets/none.js');
    assert.equal(missing.status, 404);
    assert.equal(missing.body, 'Not found.\n');
    assert.equal(missing.headers['content-type'], 'text/plain; charset=utf-8');
    for (const [k, v] of Object.entries(PAGE_HEADERS)) assert.equal(missing.headers[k.toLowerCase()], v, k);
  });

  test('a page that goes away in the middle of a file: the host closes the file (Windows could not replace it otherwise)', async (t) => {
    if (process.platform !== 'linux') {
      t.skip('counts the open files in /proc/self/fd');
      return;
    }
    const big = join(rendererDir, 'assets', 'big.bin');
    writeFileSync(big, Buffer.alloc(64 * 1024 * 1024, 0x61));
    const openOnBig = (): number => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === big;
      } catch {
        return false;
      }
    }).length;
    const socket = connect(host.port, '127.0.0.1');
    socket.write(`GET /assets/big.bin HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\n\r\n`);
    // Some of the body arrives (the file is open), then the page goes away.
    await new Promise<void>((ok) => socket.once('data', () => ok()));
    assert.equal(openOnBig(), 1, 'the file is open while it is sent');
    socket.destroy();
    await until(() => openOnBig() === 0, 'the file closed after the connection ended');
  });
});

describe('host checks: bounds', { concurrency: true }, () => {
  const start = async (t: TestContext, limits: Partial<HostLimits>): Promise<{ h: LoopbackHost; secret: string }> => {
    const h = await startLoopbackHost({ api, rendererDir, limits });
    t.after(() => h.close());
    return { h, secret: await openSession(h.port, h.newCode()) };
  };
  const partial = (port: number, secret: string, path = '/api/systemLocale'): string =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n${HOST_SESSION_HEADER}: ${secret}\r\n\r\n[  `;
  const eventStream = (port: number, secret: string): string => `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${HOST_SESSION_HEADER}: ${secret}\r\n\r\n`;

  test('a body that stops coming: 408 naming the time-out (whole seconds, or to a tenth) and the connection closed', async (t) => {
    const cases = [[300, '0.3 s'], [1000, '1 s'], [1250, '1.3 s']] as const;
    const hosts = await Promise.all(cases.map(([ms]) => start(t, { requestTimeoutMs: ms })));
    const started = Date.now();
    const replies = cases.flatMap(([ms, said], i) =>
      ['/api/systemLocale', '/api/session'].map(async (path) => {
        const { h, secret } = hosts[i];
        const reply = await raw(h.port, partial(h.port, secret, path)).closed;
        return { ms, said, reply, after: Date.now() - started };
      }),
    );
    for (const { ms, said, reply, after } of await Promise.all(replies)) {
      assert.ok(after >= ms - 50, `answered after ${after} ms`);
      assert.match(reply, /^HTTP\/1\.1 408 /);
      assert.match(reply, /\r\nConnection: close\r\n/i);
      assert.ok(reply.includes(`the request's body did not arrive within ${said}; the connection is closed.`), reply);
      assert.match(reply, /"reason":"request-timeout"/);
    }
  });

  test('event streams: GET only; the limit open at once, the next 429 naming it; a closed one frees its place', async (t) => {
    const { h, secret } = await start(t, { maxEventStreams: 2 });
    const post405 = await http('/api/events', { port: h.port, method: 'POST', headers: sessionHeader(secret) });
    assert.equal(post405.status, 405);
    assert.equal(post405.headers.allow, 'GET');
    const streams = [raw(h.port, eventStream(h.port, secret)), raw(h.port, eventStream(h.port, secret))];
    await until(() => streams.every((s) => s.received().includes(': connected')), 'two event streams open');
    assert.match(streams[0].received(), /^HTTP\/1\.1 200 [^]*content-type: text\/event-stream; charset=utf-8/i);
    const third = await http('/api/events', { port: h.port, headers: sessionHeader(secret) });
    assert.equal(third.status, 429);
    assert.equal(third.headers['retry-after'], '5');
    assert.deepEqual(json(third), {
      error: 'tsmedia already serves 2 event streams, the most it keeps open at once: close another wizard window or tab.',
      reason: 'too-many-event-streams',
    });
    streams[0].socket.destroy();
    const next = raw(h.port, eventStream(h.port, secret));
    await until(() => next.received().includes(': connected'), 'a stream opens again once one closed');
    streams[1].socket.destroy();
    next.socket.destroy();
  });

  test('API requests in flight: the limit at once, the next 503 naming it; places come back as replies are sent', async (t) => {
    const { h, secret } = await start(t, { maxApiRequests: 2, requestTimeoutMs: 400 });
    const held = [raw(h.port, partial(h.port, secret)), raw(h.port, partial(h.port, secret, '/api/session'))];
    await new Promise((r) => setTimeout(r, 100));
    for (const path of ['/api/systemLocale', '/api/session']) {
      const r = await http(path, { port: h.port, method: 'POST', headers: sessionHeader(secret), body: '[]' });
      assert.equal(r.status, 503, path);
      assert.equal(r.headers['retry-after'], '1');
      assert.deepEqual(json(r), { error: 'tsmedia is already answering 2 requests, the most it takes at once: try again when they finish.', reason: 'too-many-requests' });
    }
    // Refused, the call does nothing.
    assert.equal((await http('/api/setPreferences', { port: h.port, method: 'POST', headers: sessionHeader(secret), body: '[{"language": "es"}]' })).status, 503);
    await Promise.all(held.map((c) => c.closed));
    assert.notEqual((JSON.parse((await http('/api/getPreferences', { port: h.port, method: 'POST', headers: sessionHeader(secret), body: '[]' })).body) as { language: string | null }).language, 'es');
    for (let i = 0; i < 3; i++) assert.equal((await http('/api/systemLocale', { port: h.port, method: 'POST', headers: sessionHeader(secret), body: '[]' })).status, 200);
  });

  test('connections: the limit open at once, the next answered 503 naming it and closed', async (t) => {
    const { h, secret } = await start(t, { maxConnections: 2 });
    const held = [raw(h.port, eventStream(h.port, secret)), raw(h.port, eventStream(h.port, secret))];
    await until(() => held.every((s) => s.received().includes(': connected')), 'two connections held');
    const reply = await raw(h.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\n\r\n`).closed;
    assert.match(reply, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.ok(reply.endsWith('\r\n\r\ntsmedia already has 2 connections open, the most it keeps at once: this one is closed; try again when others finish.\n'), reply);
    held[0].socket.destroy();
    await until(() => held[0].socket.destroyed, 'closed');
    await new Promise((r) => setTimeout(r, 100));
    const again = await raw(h.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\nConnection: close\r\n\r\n`).closed;
    assert.match(again, /^HTTP\/1\.1 200 /);
    held[1].socket.destroy();
  });

  test("a request's headers must arrive within the request time-out when that is the shorter", async (t) => {
    const { h } = await start(t, { requestTimeoutMs: 300 });
    const started = Date.now();
    const slow = raw(h.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${h.port}\r\n`);
    const reply = await Promise.race([slow.closed, new Promise<null>((r) => setTimeout(() => r(null), 3_000))]);
    slow.socket.destroy();
    assert.notEqual(reply, null, 'headers that stop coming were waited for past the request time-out');
    assert.ok(Date.now() - started >= 250, `closed after ${Date.now() - started} ms`);
  });

  test('a refused connection that does not close its end is dropped after a second', async (t) => {
    const { h, secret } = await start(t, { maxConnections: 1 });
    const held = raw(h.port, eventStream(h.port, secret));
    await until(() => held.received().includes(': connected'), 'one connection held');
    const socket = connect({ host: '127.0.0.1', port: h.port, allowHalfOpen: true });
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (got += c));
    socket.on('error', () => undefined);
    const closed = new Promise<boolean>((ok) => socket.on('close', () => ok(true)));
    await until(() => got.includes('Retry-After: 1'), 'the refusal');
    // Half open, the client learns that the host let go only when it sends more: the host's side answers with a reset, and the write after it fails.
    await new Promise((r) => setTimeout(r, 1_300));
    socket.write('GET / HTTP/1.1\r\n');
    await new Promise((r) => setTimeout(r, 200));
    socket.write('Host: x\r\n');
    const dropped = await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 1_500))]);
    socket.destroy();
    held.socket.destroy();
    assert.match(got, /^HTTP\/1\.1 503 /);
    assert.equal(dropped, true, 'the host kept a refused connection open');
  });

  test("a page's reload (its resume code used) ends the old session's event stream and frees its place", async (t) => {
    const h = await startLoopbackHost({ api, rendererDir, limits: { maxEventStreams: 1 } });
    t.after(() => h.close());
    const first = await exchangeCode(h.port, h.newCode());
    const stream = raw(h.port, eventStream(h.port, String(first.session)));
    await until(() => stream.received().includes(': connected'), 'the event stream opens');
    const reloaded = await exchangeCode(h.port, String(first.resume));
    assert.equal(reloaded.status, 200);
    await until(() => stream.received().endsWith('\r\n0\r\n\r\n'), 'the old session ends its event stream');
    const next = raw(h.port, eventStream(h.port, String(reloaded.session)));
    await until(() => next.received().includes(': connected'), "the new session's stream takes the place");
    stream.socket.destroy();
    next.socket.destroy();
  });

  test('a port given is the port listened on; one already taken fails the start', async (t) => {
    const first = await startLoopbackHost({ api, rendererDir });
    t.after(() => first.close());
    await assert.rejects(startLoopbackHost({ api, rendererDir, port: first.port }), /EADDRINUSE/);
    const port = first.port;
    await first.close();
    const again = await startLoopbackHost({ api, rendererDir, port });
    t.after(() => again.close());
    assert.equal(again.port, port);
    assert.equal(again.address().port, port);
  });

  test('closing the host ends its event streams and its sessions', async () => {
    const h = await startLoopbackHost({ api, rendererDir });
    const secret = await openSession(h.port, h.newCode());
    const stream = raw(h.port, eventStream(h.port, secret));
    await until(() => stream.received().includes(': connected'), 'the event stream opens');
    assert.equal(h.address().address, '127.0.0.1');
    assert.equal(h.address().port, h.port);
    await h.close();
    await stream.closed;
    assert.match(h.url, /^http:\/\/127\.0\.0\.1:\d+\/#code=[0-9a-f]{64}$/);
    assert.match(h.newUrl(), new RegExp(`^http://127\\.0\\.0\\.1:${h.port}/#code=[0-9a-f]{64}$`));
  });
});
