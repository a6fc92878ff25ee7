// Where a USB image may be written and what it may replace (issue 11, defect 3): an image ends in .img, is never put
// inside the site, its content libraries or the application (nor is an ISO), and an existing file at its name is
// replaced only when it is an earlier tsmedia image — known by its FAT32 volume's tsmedia manifest, not by its name —
// or the user confirmed that very file (the API's target.replace, the CLI's --replace FILE, the wizard's question).
// The reports and the log beside it never overwrite a file tsmedia did not write. Through the command line and the
// engine API, which run the same engine checks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { MediaEvent } from '../shared/ipc.js';
import { userLogFolder } from '../electron/engine/media/CmTraceLog.js';
import { packageRoot } from '../electron/engine/paths.js';
import { Site } from '../electron/engine/site/Site.js';
import { ApiError, createEngineApi, type EngineApi } from '../electron/host/EngineApi.js';
import { hasCommand, runCli, tempDir } from './helpers.js';
import { baseRequest } from './support/hostClient.js';
import { copySampleSite } from './support/sites.js';

const MiB = 1024 * 1024;
const IMAGE_BYTES = 64 * MiB;

let work: string;
let api: EngineApi;
const cleanups: (() => void)[] = [];
// The user's log folder: XDG_STATE_HOME on Linux, %LOCALAPPDATA% on Windows (the Wine run).
const env = (): NodeJS.ProcessEnv => ({ XDG_STATE_HOME: join(work, 'state'), LOCALAPPDATA: join(work, 'state') });

before(() => {
  work = tempDir({ after: (fn) => cleanups.push(fn) }, 'tsmedia-image-targets-');
  process.env.XDG_STATE_HOME = join(work, 'state');
  process.env.LOCALAPPDATA = join(work, 'state');
  api = createEngineApi({ userDataDir: join(work, 'user-data') });
});

after(async () => {
  await api?.close();
  for (const c of cleanups) c();
});

function folder(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  return d;
}

const cliImage = (path: string, ...more: string[]): string[] => ['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', path, '--image-size', String(IMAGE_BYTES), ...more];

const usbStart = (path: string, replace: string | null = null, site: string | null = null): Promise<unknown> =>
  api.call('startMedia', [{ kind: 'usb', request: { ...baseRequest({ site }), target: { kind: 'image', path, sizeBytes: IMAGE_BYTES, replace }, format: true } }]);

async function refused(call: Promise<unknown>, code: string | null, pattern: RegExp): Promise<ApiError> {
  let caught: unknown = null;
  try {
    await call;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ApiError, `refused (${String(caught)})`);
  assert.equal(caught.code, 'invalid', caught.message);
  assert.equal(caught.detail?.code ?? null, code, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

/** Starts a USB image run through the API and waits for how it ends. */
async function runImage(path: string, replace: string | null = null): Promise<MediaEvent> {
  let jobId: string | null = null;
  let ended: (e: MediaEvent) => void = () => undefined;
  const end = new Promise<MediaEvent>((ok) => (ended = ok));
  const off = api.onMediaEvent((e) => {
    if (e.type !== 'progress' && e.jobId === jobId) ended(e);
  });
  try {
    ({ jobId } = (await usbStart(path, replace)) as { jobId: string });
    const e = await end;
    // The job leaves the engine's list once its last event has been sent: the next run may start after that.
    await new Promise((ok) => setImmediate(ok));
    return e;
  } finally {
    off();
  }
}

/** What a folder holds, so a refused run can be shown to have written nothing there (no image, log or report). */
const listing = (dir: string): string[] => readdirSync(dir).sort();

describe('USB image targets', () => {
  test('an image file ends in .img: another name is refused before anything is written', async () => {
    const dir = folder('extension');
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'my notes\n');
    const cli = runCli(cliImage(join(dir, 'usb.bin')), env());
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stderr, /--image .*usb\.bin: a USB image file must end in \.img\./);
    const onNotes = runCli(cliImage(notes), env());
    assert.equal(onNotes.status, 1, onNotes.stderr);
    const e = await refused(usbStart(join(dir, 'usb.raw')), 'IMAGE_EXTENSION', /must end in \.img/);
    assert.deepEqual(e.detail?.params, { path: join(dir, 'usb.raw'), extension: '.img' });
    assert.deepEqual(listing(dir), ['notes.txt'], 'no image, log or report was written');
    assert.equal(readFileSync(notes, 'utf8'), 'my notes\n');
  });

  test('never inside the site, a content library or the application, nor through a link to them; an ISO neither', async (t) => {
    const site = copySampleSite(join(work, 'site'));
    const s = await Site.open(site);
    const lib = s.distributionPoints[0].root;
    // A content library blob: the file the issue saw replaced.
    const blobDir = join(lib, 'FileLib');
    const blob = readdirSync(blobDir, { recursive: true, withFileTypes: true }).find((f) => f.isFile());
    assert.ok(blob, 'the library has blobs');
    const blobPath = join(blob.parentPath, blob.name);
    const blobBytes = readFileSync(blobPath);
    const link = join(work, 'link-to-site');
    // A junction on Windows (no privilege needed); a symbolic link elsewhere. Wine makes none (ENOTSUP).
    let linked = false;
    try {
      symlinkSync(site, link, 'junction');
      linked = existsSync(join(link, 'tsmedia-site.json'));
    } catch (err) {
      if (process.platform !== 'win32') throw err;
    }
    if (!linked) await t.test('the case of a link to the site', (s) => s.skip(`no link to ${site} could be made here (Wine makes no junction)`));
    const before = new Map([site, lib, packageRoot()].map((d) => [d, listing(d)]));

    const cli = runCli([...cliImage(join(lib, 'usb.img')), '--site', site], env());
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stderr, /usb\.img is inside .*SCCMContentLib_DP01, which the media is made from/);
    for (const [path, folderOf] of [
      [join(site, 'usb.img'), site],
      [join(lib, 'usb.img'), lib],
      [join(packageRoot(), 'usb.img'), packageRoot()],
      ...(linked ? [[join(link, 'usb.img'), site] as const] : []),
    ] as const) {
      const e = await refused(usbStart(path, null, site), 'OUTPUT_INSIDE_SOURCES', /which the media is made from/);
      assert.equal(e.detail?.params.path, path);
      assert.ok(String(e.detail?.params.folder).length > 0, path);
      assert.ok(!existsSync(path), `${path} was not written`);
      assert.deepEqual(listing(folderOf), before.get(folderOf), `nothing was written in ${folderOf}`);
    }
    // The blob itself, as the request named it: refused, unchanged.
    await refused(usbStart(blobPath, blobPath, site), 'IMAGE_EXTENSION', /must end in \.img/);
    assert.ok(readFileSync(blobPath).equals(blobBytes));

    const iso = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--media', 'iso', '--out', join(site, 'media.iso')], env());
    assert.equal(iso.status, 1, iso.stderr);
    assert.match(iso.stderr, /--out .*media\.iso: .*media\.iso is inside .*, which the media is made from/);
    await refused(
      api.call('startMedia', [{ kind: 'iso', request: { ...baseRequest({ site }), size: 'unlimited', out: join(lib, 'media.iso') } }]),
      'OUTPUT_INSIDE_SOURCES',
      /inside/,
    );
    assert.deepEqual(listing(site), before.get(site));
  });

  test('an existing file is replaced only when it is an earlier tsmedia image, or confirmed by its name', async () => {
    const dir = folder('replace');
    const mine = join(dir, 'mine.img');
    const foreign = randomBytes(MiB);
    writeFileSync(mine, foreign);

    const cli = runCli(cliImage(mine), env());
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stderr, /the file exists and is not a USB image made by tsmedia; it is replaced only when you confirm it by name \(--replace .*mine\.img\)/);
    const e = await refused(usbStart(mine), 'IMAGE_EXISTS', /not a USB image made by tsmedia/);
    assert.deepEqual(e.detail?.params, { path: mine });
    await refused(usbStart(mine, join(dir, 'other.img')), null, /--replace .*other\.img names another file than the image/);
    assert.ok(readFileSync(mine).equals(foreign), 'the file is unchanged');
    assert.deepEqual(listing(dir), ['mine.img'], 'no log or report beside it');
    assert.equal(runCli(['verify', mine]).status, 2, 'not an image tsmedia can read');

    // Confirmed by name: replaced.
    const confirmed = await runImage(mine, mine);
    assert.equal(confirmed.type, 'done', JSON.stringify(confirmed));
    assert.equal(statSync(mine).size, IMAGE_BYTES);
    assert.equal(runCli(['verify', mine]).status, 0, 'a tsmedia image now: its FAT32 volume holds the manifest');
    // Now an earlier tsmedia image: replaced without asking, its reports too.
    const again = await runImage(mine);
    assert.equal(again.type, 'done', JSON.stringify(again));
    assert.equal(runCli(['verify', mine]).status, 0);

    // A FAT32 image that tsmedia did not make (mkfs.fat's) is someone else's too: known by content, not by name.
    if (hasCommand('mkfs.fat')) {
      const fat = join(dir, 'fat.img');
      assert.equal(spawnSync('mkfs.fat', ['-C', '-F', '32', fat, String(IMAGE_BYTES / 1024)]).status, 0);
      const fatBytes = readFileSync(fat);
      await refused(usbStart(fat), 'IMAGE_EXISTS', /not a USB image made by tsmedia/);
      assert.ok(readFileSync(fat).equals(fatBytes));
    }

    // The command line: --replace FILE confirms the file.
    const other = join(dir, 'other.img');
    writeFileSync(other, foreign);
    const r = runCli([...cliImage(other), '--replace', other], env());
    assert.equal(r.status, 0, r.stderr);
    assert.equal(runCli(['verify', other]).status, 0);
    const wrong = runCli([...cliImage(join(dir, 'third.img')), '--replace', other], env());
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /--replace .*other\.img names another file than the image/);
  });

  test('the reports and the log beside an image never overwrite a file tsmedia did not write', async () => {
    const dir = folder('companions');
    const report = join(dir, 'usb.report.md');
    writeFileSync(report, '# My own notes\n');
    const cli = runCli(cliImage(join(dir, 'usb.img')), env());
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stderr, /the report .*usb\.report\.md would replace a file tsmedia did not write/);
    const e = await refused(usbStart(join(dir, 'usb.img')), 'OUTPUT_FILE_FOREIGN', /did not write/);
    assert.deepEqual(e.detail?.params, { path: report });
    assert.deepEqual(listing(dir), ['usb.report.md']);
    assert.equal(readFileSync(report, 'utf8'), '# My own notes\n');

    // A CreateTSMedia.log that is no CMTrace log is left as it is; the run logs to the user's log folder only.
    const logDir = folder('foreign-log');
    const log = join(logDir, 'CreateTSMedia.log');
    writeFileSync(log, 'not a log\n');
    const r = runCli(cliImage(join(logDir, 'usb.img')), env());
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(log, 'utf8'), 'not a log\n');
    assert.doesNotMatch(r.stdout, new RegExp(`log: .*${log.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const userLog = readFileSync(join(userLogFolder(env()), 'CreateTSMedia.log'), 'utf8');
    assert.match(userLog, /CreateTSMedia\.log is not a CMTrace log: it was left as it is/);
  });
});
