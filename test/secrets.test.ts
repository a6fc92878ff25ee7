// Secrets never leave the encrypted task sequence environment (issue 7 item 4): the media password and the values of
// secret variables — distinctive random strings, one of them not ASCII — are looked for in every byte of everything a
// run leaves or shows: the ISO images and USB image, .sha256 files, reports, CreateTSMedia.log in the output folder and
// in the user's log folder, the answer file, the manifest, stdout and stderr, `inspect` and `verify` output, the
// command lines of the CLI and of everything it starts (read from /proc while it runs), the loopback host's output,
// API replies and events, and the output of runs that fail after the password was read (a damaged content library,
// a final name that cannot be replaced, a writer killed mid-write and its partial file). Each secret is looked for as
// UTF-8, UTF-16LE/BE, hex, base64 and more (support/secretScan.ts). The only place that holds them is the encrypted
// Variables.dat, which the test decrypts with the password to show they are really on the media.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { answersFromRequest } from '../shared/answers.js';
import type { MediaEvent } from '../shared/ipc.js';
import type { IsoMediaRequest, MediaVariable, UsbMediaRequest } from '../shared/media.js';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { openIso } from '../electron/engine/formats/iso/IsoReader.js';
import { decryptMediaFile, parseVariablesXml } from '../electron/engine/media/TsEnvironment.js';
import { runCli } from './helpers.js';
import { baseRequest, isoRequest, startHostProcess } from './support/hostClient.js';
import { findTemp, startTsmedia, waitForOffset } from './support/killer.js';
import { SecretScanner, runObserved, secretForms, watchCommandLines, type ObservedRun } from './support/secretScan.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

const hex = (n: number): string => randomBytes(n).toString('hex');

// Distinctive random secrets: the CLI's password, two secret variable values (one not ASCII), the wizard's password.
const SECRETS = {
  password: `pw-${hex(12)}-Cli`,
  joinPassword: `sv-${hex(12)}-Join`,
  adminPassword: `Sëcrét-Ädmin-${hex(8)}-Päss`,
  apiPassword: `Contraseña-${hex(10)}-Api`,
};

let work = '';
let scanner: SecretScanner;
/** Command lines read from /proc, kept until the test that saw them scans them. */
const commandLines = new Map<string, Buffer>();
let commandLinesSeen = 0;
let procSamples = 0;

/** Media variables as the wizard sends them. */
const requestVariables = (): MediaVariable[] => [
  { name: 'OSDComputerName', value: 'PC-0042', secret: false },
  { name: 'OSDJoinPassword', value: SECRETS.joinPassword, secret: true },
  { name: 'OSDLocalAdminPassword', value: SECRETS.adminPassword, secret: true },
];

function scanRun(what: string, r: { stdout: string; stderr: string }): void {
  scanner.buffer(`${what}: stdout`, r.stdout);
  scanner.buffer(`${what}: stderr`, r.stderr);
}

function keepCommandLines(r: Pick<ObservedRun, 'commandLines' | 'samples'>): void {
  for (const [k, v] of r.commandLines) commandLines.set(k, v);
  procSamples += r.samples;
}

function scanCommandLines(): void {
  for (const [k, v] of commandLines) scanner.buffer(`command line of process ${k.split(':')[0]}`, v);
  commandLinesSeen += commandLines.size;
  commandLines.clear();
}

/** The environment files of a medium, decrypted with its password: the secrets must be there, and only there. */
function environmentOf(files: Record<string, Buffer>, password: string, where: string): Map<string, string> {
  for (const [name, data] of Object.entries(files)) scanner.buffer(`${where}: ${name}`, data);
  const vars = parseVariablesXml(decryptMediaFile(files['SMS/data/Variables.dat'], password));
  return new Map(vars.map((v) => [v.name, v.value]));
}

const ENV_FILES = ['SMS/data/Variables.dat', 'SMS/data/Policy.xml', 'SMS/data/TsmBootstrap.ini', 'SMS/data/tsmedia-manifest.json'];

function isoEnvironment(iso: string, password: string): Map<string, string> {
  const v = openIso(iso);
  try {
    return environmentOf(Object.fromEntries(ENV_FILES.map((p) => [p, v.readFileBuffer(p)])), password, iso);
  } finally {
    v.close();
  }
}

function usbEnvironment(img: string, password: string): Map<string, string> {
  const v = openFat32(img);
  try {
    return environmentOf(Object.fromEntries(ENV_FILES.map((p) => [p, v.readFileBuffer(p)])), password, img);
  } finally {
    v.close();
  }
}

function assertSecretsOnMedia(env: Map<string, string>, where: string): void {
  assert.equal(env.get('OSDJoinPassword'), SECRETS.joinPassword, `${where}: the secret variable is in the decrypted Variables.dat`);
  assert.equal(env.get('OSDLocalAdminPassword'), SECRETS.adminPassword, `${where}: the non-ASCII secret variable is in the decrypted Variables.dat`);
  assert.equal(env.get('OSDComputerName'), 'PC-0042');
}

function damageInstallWim(site: string): void {
  const ini = readFileSync(join(site, 'SCCMContentLib_DP01', 'DataLib', 'SMP00002.1', 'install.wim.INI'), 'utf8');
  const hash = /Hash=([0-9A-F]{64})/.exec(ini)?.[1] as string;
  for (const dp of ['SCCMContentLib_DP01', 'SCCMContentLib_DP02']) {
    const fd = openSync(join(site, dp, 'FileLib', hash.slice(0, 4), hash), 'r+');
    writeSync(fd, Buffer.from('damaged'), 0, 7, 1000);
    closeSync(fd);
  }
}

describe('secrets never leave the encrypted environment', () => {
  const inputs = (): string => join(work, 'inputs');
  // Each test has its own user log folder (XDG_STATE_HOME), so no log is scanned twice.
  const state = (name: string): string => join(work, `state-${name}`);
  // One cache folder for all (parsed exports, content file lists): scanned with the outputs.
  const cache = (): string => join(work, 'cache');
  const env = (name: string): NodeJS.ProcessEnv => ({ XDG_STATE_HOME: state(name), XDG_CONFIG_HOME: join(work, 'config'), XDG_CACHE_HOME: cache(), TSMEDIA_DEBUG: '1' });

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'tsmedia-secrets-'));
    scanner = new SecretScanner(Object.entries(SECRETS).flatMap(([label, s]) => secretForms(label, s)));
    // The inputs that hold the secrets (the user's own files) are kept apart from everything scanned.
    mkdirSync(inputs());
    writeFileSync(join(inputs(), 'password.txt'), `${SECRETS.password}\n`);
    writeFileSync(join(inputs(), 'join.txt'), `${SECRETS.joinPassword}\r\n`);
    writeFileSync(join(inputs(), 'admin.txt'), `${SECRETS.adminPassword}\n`);
  });
  after(() => {
    console.log(
      `# secrets: ${scanner.bytesScanned.toLocaleString('en-US')} bytes scanned (${scanner.filesScanned} files, ${scanner.scanned.length - scanner.filesScanned} streams and extracts, ` +
        `${commandLinesSeen} command lines from ${procSamples} reads of /proc) for ${Object.keys(SECRETS).length} secrets in ${scanner.forms.length} forms: ${scanner.hits.length} found`,
    );
    rmSync(work, { recursive: true, force: true });
  });

  test('the scanner finds every form it looks for, also across the pieces it reads a file in', () => {
    const probe = new SecretScanner(scanner.forms);
    for (const [label, s] of Object.entries(SECRETS)) {
      const texts: [string, Buffer][] = [['UTF-8', Buffer.from(`key=${s};`)], ['UTF-16LE', Buffer.from(`<v>${s}</v>`, 'utf16le')]];
      const containers: [string, Buffer][] = [...texts];
      for (const [enc, b] of texts) {
        for (let k = 0; k < 3; k++) {
          const wrapped = Buffer.concat([randomBytes(k + 3), b, randomBytes(5)]);
          containers.push([`base64 of ${enc} +${k}`, Buffer.from(wrapped.toString('base64'))]);
          containers.push([`base64url of ${enc} +${k}`, Buffer.from(wrapped.toString('base64url'))]);
          containers.push([`base64 of ${enc} +${k} as UTF-16LE`, Buffer.from(wrapped.toString('base64'), 'utf16le')]);
        }
        containers.push([`hex of ${enc}`, Buffer.from(`0x${b.toString('hex')}`)]);
        containers.push([`HEX of ${enc}`, Buffer.from(b.toString('hex').toUpperCase())]);
      }
      containers.push(['JSON', Buffer.from(JSON.stringify({ v: s }).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))]);
      containers.push(['URL', Buffer.from(`?p=${encodeURIComponent(s)}&x=1`)]);
      for (const [what, buf] of containers) {
        const before = probe.hits.length;
        probe.buffer(what, Buffer.concat([randomBytes(100), buf, randomBytes(100)]));
        assert.ok(probe.hits.slice(before).some((h) => h.label === label), `${label} found in its ${what} form`);
      }
    }
    // Across the 8 MiB pieces a file is read in.
    const f = join(work, 'straddle.bin');
    const data = Buffer.alloc(8 * 1024 * 1024 + 4096);
    Buffer.from(SECRETS.adminPassword, 'utf16le').copy(data, 8 * 1024 * 1024 - 9);
    writeFileSync(f, data);
    probe.file(f);
    rmSync(f);
    assert.ok(probe.hits.some((h) => h.where === f && h.offset === 8 * 1024 * 1024 - 9 && h.form === 'UTF-16LE'));
  });

  test('the command line: an ISO set (answer file) and a USB image (--password-env), with inspect and verify', async () => {
    const isoDir = join(work, 'cli-iso');
    const usbDir = join(work, 'cli-usb');
    mkdirSync(isoDir);
    mkdirSync(usbDir);
    const answers = join(inputs(), 'monthly.json');
    writeFileSync(
      answers,
      JSON.stringify({
        format: 'tsmedia-answers/1',
        taskSequence: 'SMP00010',
        media: 'iso',
        size: 'cd700',
        out: join(isoDir, 'media.iso'),
        passwordFile: 'password.txt',
        variables: [{ name: 'OSDComputerName', value: 'PC-0042' }],
        secretVariables: [
          { name: 'OSDJoinPassword', file: 'join.txt' },
          { name: 'OSDLocalAdminPassword', file: 'admin.txt' },
        ],
      }),
    );
    const iso = await runObserved(['create', '--answers', answers], env('cli'));
    assert.equal(iso.status, 0, iso.stderr);
    const img = join(usbDir, 'usb.img');
    const usb = await runObserved(
      ['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', img, '--image-size', '64MiB', '--password-env', 'TSMEDIA_TEST_MEDIA_PASSWORD', '--var', 'OSDComputerName=PC-0042', '--secret-var', `OSDJoinPassword=@${join(inputs(), 'join.txt')}`, '--secret-var', `OSDLocalAdminPassword=@${join(inputs(), 'admin.txt')}`],
      { ...env('cli'), TSMEDIA_TEST_MEDIA_PASSWORD: SECRETS.password },
    );
    assert.equal(usb.status, 0, usb.stderr);
    for (const [what, r] of [['create iso', iso], ['create usb', usb]] as const) {
      scanRun(what, r);
      keepCommandLines(r);
      assert.ok([...r.commandLines.keys()].some((k) => k.includes('tsmedia.js\0create')), `${what}: the CLI's own command line was read while it ran`);
    }
    const isoPath = join(isoDir, 'media.iso');
    for (const [what, args] of [
      ['inspect iso', ['inspect', isoPath, '--password-file', join(inputs(), 'password.txt')]],
      ['inspect iso --json', ['inspect', isoPath, '--password-file', join(inputs(), 'password.txt'), '--json']],
      ['verify iso', ['verify', isoPath]],
      ['verify usb', ['verify', img]],
    ] as const) {
      const r = runCli([...args], env('cli'));
      assert.equal(r.status, 0, `${what}: ${r.stderr}`);
      scanRun(what, r);
    }
    assertSecretsOnMedia(isoEnvironment(isoPath, SECRETS.password), 'ISO');
    assertSecretsOnMedia(usbEnvironment(img, SECRETS.password), 'USB image');
    assert.deepEqual(readdirSync(isoDir).sort(), ['CreateTSMedia.log', 'media.iso', 'media.iso.sha256', 'media.report.json', 'media.report.md']);
    assert.deepEqual(readdirSync(usbDir).sort(), ['CreateTSMedia.log', 'usb.img', 'usb.report.json', 'usb.report.md']);
    scanner.tree(isoDir);
    scanner.tree(usbDir);
    scanner.tree(state('cli'));
    scanner.file(answers);
    scanCommandLines();
    assert.equal(scanner.hits.length, 0, scanner.report());
  });

  test('the loopback host: startMedia with a password, its events, replies, output, answer file and logs', async () => {
    const isoDir = join(work, 'api-iso');
    const usbDir = join(work, 'api-usb');
    mkdirSync(isoDir);
    mkdirSync(usbDir);
    const hostEnv = { XDG_STATE_HOME: join(work, 'host-state'), XDG_CONFIG_HOME: join(work, 'host-config') };
    const userData = join(work, 'host-user-data');
    const host = await startHostProcess(userData, hostEnv);
    try {
      const base = baseRequest({ password: SECRETS.apiPassword, variables: requestVariables(), unattended: true });
      const iso: IsoMediaRequest = isoRequest(join(isoDir, 'media.iso'), { ...base, size: 'cd700' });
      const usb: UsbMediaRequest = { ...base, target: { kind: 'image', path: join(usbDir, 'usb.img'), sizeBytes: 64 * 1024 * 1024, replace: null }, format: true };
      const damaged = copySampleSite(join(work, 'api-damaged-site'));
      damageInstallWim(damaged);
      const failing: IsoMediaRequest = isoRequest(join(isoDir, 'failing.iso'), { ...base, site: damaged });
      const ends: MediaEvent[] = [];
      for (const req of [{ kind: 'iso', request: iso }, { kind: 'usb', request: usb }, { kind: 'iso', request: failing }]) {
        let jobId: string | null = null;
        const stream = host.jobEvents(() => jobId);
        await stream.ready;
        let over = false;
        const watched = watchCommandLines(host.pid, () => over);
        const started = await host.call<{ jobId: string }>('startMedia', req);
        assert.equal(started.status, 200, started.body);
        jobId = started.value.jobId;
        const events = await stream.done;
        over = true;
        keepCommandLines(await watched.done);
        ends.push(events[events.length - 1]);
      }
      assert.deepEqual(ends.map((e) => (e.type === 'error' ? `error ${e.code}` : e.type)), ['done', 'done', 'error failed']);
      const failed = ends[2];
      assert.ok(failed.type === 'error' && /install\.wim/.test(failed.message), JSON.stringify(failed));
      // The wizard's "save answers": the answer file of the request, through the API.
      const answerFile = join(work, 'api-answers.json');
      const saved = await host.call('saveAnswerFile', answerFile, answersFromRequest({ kind: 'iso', request: iso }));
      assert.equal(saved.status, 200, saved.body);
      // A request the API refuses (a bad label) with the password in it: the refusal must not echo it.
      const refused = await host.call('startMedia', { kind: 'iso', request: { ...iso, label: 'a:b' } });
      assert.equal(refused.status, 400);
      assertSecretsOnMedia(isoEnvironment(join(isoDir, 'media.iso'), SECRETS.apiPassword), 'ISO through the API');
      assertSecretsOnMedia(usbEnvironment(join(usbDir, 'usb.img'), SECRETS.apiPassword), 'USB image through the API');
      scanner.buffer('host: its own command line', readFileSync(`/proc/${host.pid}/cmdline`));
      await host.stop();
      scanner.buffer('host: stdout', host.stdout());
      scanner.buffer('host: stderr', host.stderr());
      scanner.buffer('host: replies and events sent to the page', host.received());
      scanner.file(answerFile);
      for (const d of [isoDir, usbDir, hostEnv.XDG_STATE_HOME, userData]) scanner.tree(d);
      scanCommandLines();
      assert.ok(host.received().includes('"type":"progress"'), 'the events were received and scanned');
      assert.equal(scanner.hits.length, 0, scanner.report());
    } finally {
      await host.stop();
    }
  });

  test('crash output: runs that fail after the password was read, and a writer killed mid-write', async () => {
    const site = copySampleSite(join(work, 'crash-site'));
    const secretArgs = ['--password-file', join(inputs(), 'password.txt'), '--secret-var', `OSDJoinPassword=@${join(inputs(), 'join.txt')}`, '--secret-var', `OSDLocalAdminPassword=@${join(inputs(), 'admin.txt')}`];
    // A final name that cannot be replaced: the whole set is written (the environment encrypted), then the run fails.
    const blockedDir = join(work, 'crash-blocked');
    mkdirSync(join(blockedDir, 'media.iso.sha256', 'inside'), { recursive: true });
    const blocked = await runObserved(['create', '--site', site, '--task-sequence', 'SMP00010', '--out', join(blockedDir, 'media.iso'), ...secretArgs], env('crash'));
    assert.equal(blocked.status, 1, blocked.stderr);
    assert.match(blocked.stderr, /cannot put .* in place/);
    // A writer killed mid-write leaves its partial file until the next run: scanned too.
    const payload = join(work, 'payload.bin');
    randomFile(payload, 32 * 1024 * 1024);
    await addPackage(site, 'SMP00099', [{ relativePath: 'payload.bin', sourcePath: payload }]);
    rmSync(payload);
    const killedDir = join(work, 'crash-killed');
    mkdirSync(killedDir);
    const killedOut = join(killedDir, 'media.iso');
    const run = startTsmedia(['create', '--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00099', '--size', 'unlimited', '--out', killedOut, ...secretArgs], env('crash'));
    const w = await waitForOffset(killedOut, run.pid, 20 * 1024 * 1024, run.ended);
    assert.ok(w.reached, 'the write reached 20 MiB');
    run.kill('SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(findTemp(killedOut, run.pid), 'the killed run left its partial file');
    // A damaged content library: the write fails (exit 2) with TSMEDIA_DEBUG=1, for an ISO and a USB image.
    damageInstallWim(site);
    const damagedDir = join(work, 'crash-damaged');
    mkdirSync(damagedDir);
    const damagedIso = await runObserved(['create', '--site', site, '--task-sequence', 'SMP00010', '--out', join(damagedDir, 'media.iso'), ...secretArgs], env('crash'));
    const damagedUsb = await runObserved(['create', '--site', site, '--media', 'usb', '--task-sequence', 'SMP00010', '--image', join(damagedDir, 'usb.img'), '--image-size', '64MiB', ...secretArgs], env('crash'));
    for (const r of [damagedIso, damagedUsb]) {
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /install\.wim: the bytes read from .* do not match the content library/);
    }
    for (const [what, r] of [['blocked final name', blocked], ['killed', killed], ['damaged library, ISO', damagedIso], ['damaged library, USB', damagedUsb]] as const) {
      scanRun(`crash: ${what}`, r);
      if ('commandLines' in r) keepCommandLines(r);
    }
    for (const d of [blockedDir, killedDir, damagedDir, state('crash'), cache()]) scanner.tree(d);
    scanCommandLines();
    assert.equal(scanner.hits.length, 0, scanner.report());
  });
});
