// Windows network paths (issue 14 item 4): \\server\share\folder\media.iso and its long form \\?\UNC\server\share\…,
// through the engine's and the command line's path handling. The rules are tested here on every OS with Windows'
// path semantics (path.win32, a platform parameter); `npm run test:windows` runs the whole file under Wine's node.exe,
// where the second part maps a UNC share of its own to a temporary folder and writes ISO sets and a USB image there.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { mountpointContains } from '../shared/drives.js';
import { discFileName } from '../shared/media.js';
import { isWindowsDevicePath, plainWindowsPath } from '../shared/windowsPaths.js';
import { parseCreateArgs } from '../electron/cli/create.js';
import { InputError } from '../electron/engine/errors.js';
import { describePlace, uncShare, windowsShare, type OutputVolume } from '../electron/engine/io/OutputVolume.js';
import { checkOutputFile } from '../electron/engine/media/OutputCheck.js';
import { isDevicePath } from '../electron/engine/io/SectorIo.js';
import { reportFilesFor } from '../electron/engine/media/MediaReport.js';
import { openIso } from '../electron/engine/formats/iso/IsoReader.js';
import { imageTargetRefusal, isoTargetRefusal, placeFacts, placeFactsAsync, realPath, sameFile } from '../electron/engine/media/OutputPlace.js';
import { computerTag } from '../electron/engine/media/SafeOutput.js';
import { ROOT, requireOrSkip, runCli, type CliResult } from './helpers.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

const WINDOWS = process.platform === 'win32';

describe('UNC paths: the rules, with Windows path semantics on every OS', () => {
  test('uncShare names the share as Windows users write it, from every form; drives, long local paths and devices are no share', () => {
    const shares: [string, string][] = [
      ['\\\\server\\share', '\\\\server\\share'],
      ['\\\\server\\share\\', '\\\\server\\share'],
      ['\\\\server\\share\\folder\\media.iso', '\\\\server\\share'],
      ['\\\\?\\UNC\\server\\share\\x', '\\\\server\\share'],
      ['\\\\?\\unc\\server\\share', '\\\\server\\share'],
      ['\\\\.\\UNC\\server\\share\\x.iso', '\\\\server\\share'],
      ['//server/share', '\\\\server\\share'],
      ['//server/share/folder/media.iso', '\\\\server\\share'],
      ['\\/server/share/x', '\\\\server\\share'],
      ['\\\\nas.example.com\\media\\iso', '\\\\nas.example.com\\media'],
      ['\\\\127.0.0.1\\media', '\\\\127.0.0.1\\media'],
      ['\\\\srv\\C$\\images', '\\\\srv\\C$'],
    ];
    for (const [path, share] of shares) assert.equal(uncShare(path), share, path);
    const none = ['\\\\?\\C:\\x', '\\\\?\\C:\\x\\media.iso', '\\\\.\\PhysicalDrive1', '\\\\.\\C:', '\\\\?\\Volume{0b6c4a4e-1c8f-4ad8-9f4e-2b5f9c1e7d10}\\x', '\\\\.\\pipe\\tsmedia-writer-1', 'C:\\x', 'c:', '\\\\server', '\\\\server\\', '\\\\?\\UNC\\server', '\\\\?\\UNC\\', '/mnt/share/x', 'relative\\x'];
    for (const path of none) assert.equal(uncShare(path), null, path);
  });

  test('windowsShare: a UNC folder directly; a drive letter (also \\\\?\\Z:\\…) when its final path is a share; a local drive is none', () => {
    const never = (): string => assert.fail('a UNC path is a share without asking its final path');
    assert.deepEqual(windowsShare('\\\\nas\\media\\folder', never), { name: '\\\\nas\\media', protocol: 'smb', mountedAt: null });
    assert.deepEqual(windowsShare('\\\\?\\UNC\\nas\\media\\folder', never), { name: '\\\\nas\\media', protocol: 'smb', mountedAt: null });
    const mapped = (p: string): string => p.replace(/^(?:\\\\\?\\)?[Zz]:/, '\\\\?\\UNC\\nas\\media');
    assert.deepEqual(windowsShare('Z:\\iso', mapped), { name: '\\\\nas\\media', protocol: 'smb', mountedAt: 'Z:' });
    assert.deepEqual(windowsShare('z:\\', mapped), { name: '\\\\nas\\media', protocol: 'smb', mountedAt: 'Z:' });
    assert.deepEqual(windowsShare('\\\\?\\Z:\\iso', mapped), { name: '\\\\nas\\media', protocol: 'smb', mountedAt: 'Z:' });
    assert.equal(windowsShare('C:\\iso', (p) => p), null);
    assert.equal(windowsShare('\\\\?\\C:\\iso', (p) => p), null);
    assert.equal(windowsShare('C:\\iso', () => null), null, 'a final path that cannot be read says nothing');
    assert.equal(windowsShare('\\\\.\\PhysicalDrive1', never), null);
  });

  test('describePlace names a share as Windows users know it, with its drive letter when mapped', () => {
    const v = (share: OutputVolume['share']): OutputVolume => ({ folder: 'Z:\\iso', free: null, freeUnknown: 'x', share });
    assert.equal(describePlace(v({ name: '\\\\nas\\media', protocol: 'smb', mountedAt: null })), 'the network share \\\\nas\\media');
    assert.equal(describePlace(v({ name: '\\\\nas\\media', protocol: 'smb', mountedAt: 'Z:' })), 'the network share \\\\nas\\media (at Z:)');
    assert.equal(describePlace(v(null)), 'the folder Z:\\iso');
  });

  test('plainWindowsPath drops the long prefix of drive and UNC paths only; isWindowsDevicePath tells drives from long file paths', () => {
    const plain: [string, string][] = [
      ['\\\\?\\UNC\\server\\share\\folder\\media.iso', '\\\\server\\share\\folder\\media.iso'],
      ['\\\\?\\UNC\\server\\share', '\\\\server\\share'],
      ['\\\\?\\C:\\x\\media.iso', 'C:\\x\\media.iso'],
      ['\\\\.\\D:\\media.iso', 'D:\\media.iso'],
      ['\\\\.\\C:', '\\\\.\\C:'],
      ['\\\\.\\PhysicalDrive1', '\\\\.\\PhysicalDrive1'],
      ['\\\\server\\share\\x', '\\\\server\\share\\x'],
      ['C:\\x', 'C:\\x'],
      ['/home/u/x.iso', '/home/u/x.iso'],
    ];
    for (const [p, want] of plain) assert.equal(plainWindowsPath(p), want, p);
    for (const p of ['\\\\.\\PhysicalDrive1', '\\\\.\\physicaldrive12', '\\\\.\\C:', '\\\\?\\Volume{0b6c4a4e-1c8f-4ad8-9f4e-2b5f9c1e7d10}', '\\\\.\\GLOBALROOT\\Device\\Harddisk1\\DR1']) {
      assert.equal(isWindowsDevicePath(p), true, p);
      assert.equal(isDevicePath(p), true, p);
    }
    for (const p of ['\\\\?\\UNC\\server\\share\\media.iso', '\\\\?\\C:\\x\\media.iso', '\\\\server\\share\\media.iso', '\\\\?\\Volume{0b6c4a4e-1c8f-4ad8-9f4e-2b5f9c1e7d10}\\media.iso', 'C:\\media.iso']) {
      assert.equal(isWindowsDevicePath(p), false, p);
      // The engine's own question (verify, inspect, the FAT32 reader): an ISO or image file on a share is a file.
      assert.equal(isDevicePath(p), false, p);
    }
  });

  test('mountpointContains: a share and a folder inside it in either form, any case; never a sibling share or folder', () => {
    const inside: [string, string][] = [
      ['\\\\server\\share\\site', '\\\\?\\UNC\\server\\share\\site\\out\\x.iso'],
      ['\\\\?\\UNC\\server\\share\\site', '\\\\server\\share\\site\\x.iso'],
      ['\\\\?\\UNC\\SERVER\\Share', '\\\\server\\share\\x'],
      ['\\\\server\\share\\', '\\\\server\\share'],
      ['\\\\?\\C:\\site', 'c:\\site\\x.iso'],
    ];
    for (const [m, p] of inside) assert.equal(mountpointContains(m, p), true, `${m} holds ${p}`);
    const outside: [string, string][] = [
      ['\\\\server\\share\\site', '\\\\server\\share\\site2\\x.iso'],
      ['\\\\server\\share', '\\\\server\\share2\\x'],
      ['\\\\server\\share', '\\\\?\\UNC\\server2\\share\\x'],
      ['\\\\server\\share', 'C:\\share\\x'],
      ['\\\\server\\share', '/server/share/x'],
    ];
    for (const [m, p] of outside) assert.equal(mountpointContains(m, p), false, `${m} does not hold ${p}`);
  });

  test('realPath walks a long UNC path up in its plain form and stops at the share, never at \\\\?\\UNC\\server', () => {
    const asked: string[] = [];
    const nothing = (p: string): string => {
      asked.push(p);
      throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    };
    assert.equal(realPath('\\\\?\\UNC\\nas\\media\\folder\\media.iso', 'win32', nothing), '\\\\nas\\media\\folder\\media.iso');
    assert.deepEqual(asked, ['\\\\nas\\media\\folder\\media.iso', '\\\\nas\\media\\folder', '\\\\nas\\media\\']);
    // The part that exists is resolved (a link inside the share), the rest keeps its names.
    const real = (p: string): string => {
      if (p.toLowerCase() === '\\\\nas\\media\\link') return '\\\\nas\\media\\target';
      throw new Error('ENOENT');
    };
    assert.equal(realPath('\\\\?\\UNC\\nas\\media\\link\\new\\media.iso', 'win32', real), '\\\\nas\\media\\target\\new\\media.iso');
    assert.equal(realPath('//nas/media/link/x.img', 'win32', real), '\\\\nas\\media\\target\\x.img');
    assert.equal(realPath('\\\\?\\C:\\out\\x.iso', 'win32', (p) => (p === 'C:\\out' ? 'D:\\real' : assert.fail(`asked ${p}`))), 'D:\\real\\x.iso');
  });

  test('sameFile: one file in either form and any case on Windows; elsewhere names compare exactly', () => {
    assert.equal(sameFile('\\\\?\\UNC\\nas\\media\\usb.img', '\\\\NAS\\Media\\USB.img', 'win32'), true);
    assert.equal(sameFile('//nas/media/usb.img', '\\\\nas\\media\\usb.img', 'win32'), true);
    assert.equal(sameFile('\\\\?\\C:\\x\\usb.img', 'c:\\X\\usb.img', 'win32'), true);
    assert.equal(sameFile('\\\\nas\\media\\usb.img', '\\\\nas\\media2\\usb.img', 'win32'), false);
    assert.equal(sameFile('/x/usb.img', '/X/usb.img', 'linux'), false);
    assert.equal(sameFile('/x/../x/usb.img', '/x/usb.img', 'linux'), true);
  });

  test('placeFacts: on Windows a folder on a share that cannot be reached is refused as that (OUTPUT_SHARE_UNREACHABLE), not as a folder to create', async () => {
    const server = `tsmedia-nowhere-${process.pid}`;
    const out = `\\\\${server}\\media\\iso\\m.iso`;
    for (const facts of [placeFacts(out, 'win32'), await placeFactsAsync(out, 'win32')]) {
      assert.deepEqual(facts, { folder: 'missing', pathIsFolder: false, unreachableShare: `\\\\${server}\\media` });
      const err = isoTargetRefusal(out, `--out ${out}`, facts);
      assert.ok(err instanceof InputError);
      assert.equal(err.code, 'OUTPUT_SHARE_UNREACHABLE');
      assert.deepEqual(err.params, { share: `\\\\${server}\\media`, path: out });
      assert.equal(
        err.message,
        `--out ${out}: the network share \\\\${server}\\media cannot be reached (the server does not answer, the share has another name, or you are not signed in to it). Open \\\\${server}\\media in Explorer to check, then run tsmedia again.`,
      );
      assert.equal(imageTargetRefusal(out.replace(/iso$/, 'img'), '--image x', facts)?.code, 'OUTPUT_SHARE_UNREACHABLE');
    }
    // A local folder that is not there is missing, as before; one that is there is no refusal.
    const missing = join(tmpdir(), `tsmedia-no-such-folder-${process.pid}`, 'm.iso');
    const local = placeFacts(missing);
    assert.deepEqual(local, { folder: 'missing', pathIsFolder: false, unreachableShare: null });
    assert.equal(isoTargetRefusal(missing, '--out m.iso', local)?.code, 'OUTPUT_FOLDER_MISSING');
    assert.equal(isoTargetRefusal(join(tmpdir(), 'm.iso'), '--out m.iso'), null);
  });

  test('disc and report names beside a UNC output: a dot in the server or share name is no extension', () => {
    assert.equal(discFileName('\\\\nas\\media\\folder\\media.iso', 2), '\\\\nas\\media\\folder\\media-2.iso');
    assert.equal(discFileName('\\\\?\\UNC\\nas\\media\\folder\\media.iso', 3), '\\\\?\\UNC\\nas\\media\\folder\\media-3.iso');
    assert.equal(discFileName('\\\\nas.example\\media\\set', 2), '\\\\nas.example\\media\\set-2');
    assert.deepEqual(reportFilesFor('\\\\?\\UNC\\nas\\media\\usb.img'), ['\\\\?\\UNC\\nas\\media\\usb.report.md', '\\\\?\\UNC\\nas\\media\\usb.report.json']);
    assert.deepEqual(reportFilesFor('\\\\nas.example\\v1.2\\usb'), ['\\\\nas.example\\v1.2\\usb.report.md', '\\\\nas.example\\v1.2\\usb.report.json']);
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Under Wine: a UNC share of this test's own. Wine's ntdll looks a path \\server\share\… up as the folder
// <WINEPREFIX>/dosdevices/unc/server/share (a symbolic link there reaches any Unix folder), so the test links one to
// its temporary folder through a Unix `ln` (start.exe /unix: node.exe under Wine makes no symbolic link itself).
// A link to a real SMB share mounted with smbnetfs does not do: Wine renames and deletes a file through a handle it
// holds open, which Samba refuses through smbnetfs (rename: EBUSY; delete: no error, the file stays), where Windows'
// own SMB client renames through the open handle. The Samba share is tested from Linux; the Windows paths here.

const fileSha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const partials = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.partial'));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const DISC = 64 * 1024 * 1024;
const reEsc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The Wine prefix as this process sees it (Z: is /), or null when not under Wine. */
function winePrefix(): { unix: string; win: string } | null {
  const unix = WINDOWS ? process.env.WINEPREFIX : undefined;
  if (!unix || !unix.startsWith('/')) return null;
  const win = `Z:${unix.replace(/\//g, '\\')}`;
  return existsSync(`${win}\\dosdevices`) ? { unix, win } : null;
}

/**
 * Runs a Unix command from node.exe under Wine. start.exe /unix does not wait: the caller waits for its effect. Under
 * Wine 8 starting a process fails now and then with UNKNOWN (as node.exe's loopback connections do): tried again.
 */
async function unixCommand(args: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const r = spawnSync('start.exe', ['/unix', ...args], { stdio: 'ignore' });
    if (r.status === 0) return;
    if (attempt === 5) throw new Error(`start.exe /unix ${args.join(' ')} exited ${r.status}${r.error ? `: ${r.error.message}` : ''}`);
    await sleep(500);
  }
}

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (ok()) return;
  throw new Error(`${what}: not so after ${ms / 1000} s`);
}

/**
 * \\<server>\<share> made to reach `unixTarget` in this Wine prefix. `onRemove` is given, before anything is made, what
 * takes the server's folder away again (so a link that failed is cleaned up too): rm -rf removes the link, never what
 * it points to.
 */
async function mapShare(prefix: { unix: string; win: string }, server: string, share: string, unixTarget: string, onRemove: (remove: () => Promise<void>) => void): Promise<string> {
  const serverDir = `${prefix.unix}/dosdevices/unc/${server}`;
  const serverWin = `${prefix.win}\\dosdevices\\unc\\${server}`;
  onRemove(async () => {
    if (!existsSync(serverWin)) return;
    await unixCommand(['/bin/rm', '-rf', serverDir]);
    await waitFor(`${serverDir} removed`, () => !existsSync(serverWin));
  });
  mkdirSync(serverWin, { recursive: true });
  await unixCommand(['/bin/ln', '-sfn', unixTarget, `${serverDir}/${share}`]);
  const unc = `\\\\${server}\\${share}`;
  await waitFor(`${unc} reaches ${unixTarget}`, () => existsSync(`${unc}\\`));
  return unc;
}

/** The Unix path of a local Windows path (C:\users\… → <prefix>/dosdevices/c:/users/…): what a link in the prefix points to. */
const unixPathOf = (prefix: { unix: string }, p: string): string => `${prefix.unix}/dosdevices/${p.slice(0, 2).toLowerCase()}${p.slice(2).replace(/\\/g, '/')}`;

describe('Windows: ISO sets and a USB image on a network share, written through \\\\server\\share and \\\\?\\UNC\\ (Wine)', () => {
  const prefix = winePrefix();
  const skip = prefix === null ? 'Windows under Wine only (node.exe with WINEPREFIX, as npm run test:windows runs it): Wine maps \\\\server\\share to a folder of its prefix' : null;
  let dir = '';
  let local = ''; // the share's folder as this computer sees it
  let unc = '';
  let remove: (() => Promise<void>) | null = null;
  const env = (): NodeJS.ProcessEnv => ({ LOCALAPPDATA: join(dir, 'state') });
  const server = `tsmedia-${process.pid}`;

  before(async () => {
    if (prefix === null) return;
    dir = mkdtempSync(join(tmpdir(), 'tsmedia-unc-'));
    local = join(dir, 'share');
    mkdirSync(join(local, 'folder'), { recursive: true });
    // The site lives on the share too: read through \\server\share\site.
    const site = copySampleSite(join(local, 'site'));
    const big = join(dir, 'big.bin');
    randomFile(big, 72 * 1024 * 1024);
    await addPackage(site, 'SMP00099', [{ relativePath: 'payload/big.bin', sourcePath: big }]);
    rmSync(big);
    unc = await mapShare(prefix, server, 'media', unixPathOf(prefix, local), (r) => (remove = r));
  });

  after(async () => {
    await remove?.();
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  const isoArgs = (out: string): string[] => ['create', '--site', `${unc}\\site`, '--task-sequence', 'SMP00010', '--size', String(DISC), '--package', 'SMP00099', '--out', out];
  const SET = ['CreateTSMedia.log', 'media-2.iso', 'media-2.iso.sha256', 'media.iso', 'media.iso.sha256', 'media.report.json', 'media.report.md'];

  test('create --media iso to \\\\server\\share\\folder\\media.iso: two discs, their .sha256, the reports and the log land in the share; verify and inspect read them there', async (t) => {
    if (!requireOrSkip(t, skip === null, skip ?? '')) return;
    const out = `${unc}\\folder\\media.iso`;
    const r = runCli(isoArgs(out), env());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`note: writing to the network share ${reEsc(unc)}: the read-back afterwards reads`));
    assert.ok(r.stdout.includes(`  ${out}  `) && r.stdout.includes(`  ${unc}\\folder\\media-2.iso  `), r.stdout);
    assert.ok(r.stdout.includes(`report: ${unc}\\folder\\media.report.md, ${unc}\\folder\\media.report.json`), r.stdout);
    assert.ok(r.stdout.includes(`log: ${unc}\\folder\\CreateTSMedia.log`), r.stdout);

    const folder = join(local, 'folder');
    assert.deepEqual(readdirSync(folder).sort(), SET);
    for (const iso of ['media.iso', 'media-2.iso']) {
      const size = statSync(join(folder, iso)).size;
      assert.ok(size > 1024 * 1024 && size <= DISC, `${iso}: ${size} bytes`);
      assert.equal(readFileSync(join(folder, `${iso}.sha256`), 'utf8'), `${fileSha(join(folder, iso))}  ${iso}\n`);
    }
    const report = JSON.parse(readFileSync(join(folder, 'media.report.json'), 'utf8')) as { discs: { file: string }[] };
    assert.deepEqual(report.discs.map((d) => d.file), ['media.iso', 'media-2.iso']);
    const log = readFileSync(join(folder, 'CreateTSMedia.log'), 'utf8');
    assert.ok(log.includes(`output on the network share ${unc}`), 'the log names the share');
    assert.ok(log.includes(`done: ${out}, ${unc}\\folder\\media-2.iso`), 'the log names the files written');

    const v = runCli(['verify', '--image-hash', `${unc}\\folder\\media-2.iso`, `\\\\?\\UNC\\${server}\\media\\folder\\media.iso`]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /^OK: \d+ files, .* match the manifest \(2 disc\(s\), /);
    const i = runCli(['inspect', `\\\\?\\UNC\\${server}\\media\\folder\\media.iso`]);
    assert.equal(i.status, 0, i.stderr);
    assert.match(i.stdout, /^label: .*\ntask sequence: SMP00010 /);
    assert.match(i.stdout, / {2}SMP00099 {2}1 files /);
  });

  test('the earlier set held open on the share: the new set is kept complete in \\\\?\\UNC\\…\\media.new, the earlier one untouched', async (t) => {
    if (!requireOrSkip(t, skip === null, skip ?? '')) return;
    const folder = join(local, 'folder');
    const earlier = fileSha(join(folder, 'media.iso'));
    const long = `\\\\?\\UNC\\${server}\\media\\folder`;
    const flag = join(dir, 'held');
    // Another program opens the earlier ISO through the share, sharing nothing (libuv's UV_FS_O_EXLOCK).
    const holder = spawn(process.execPath, ['-e', `const fs = require('fs'); fs.openSync(${JSON.stringify(`${unc}\\folder\\media.iso`)}, fs.constants.O_RDONLY | 0x10000000); fs.writeFileSync(${JSON.stringify(flag)}, ''); setInterval(() => {}, 1000);`], { stdio: 'ignore' });
    const exited = new Promise((r) => holder.once('exit', r));
    let r: CliResult | null = null;
    try {
      await waitFor('the other program opened the ISO', () => existsSync(flag), 30_000);
      r = runCli(isoArgs(`${long}\\media.iso`), env());
    } finally {
      holder.kill();
      await exited;
    }
    assert.ok(r !== null);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stderr.includes(`tsmedia: cannot put ${long}\\media.iso in place: another program has it open`), r.stderr);
    assert.ok(r.stderr.includes(`The earlier ${long}\\media.iso is untouched. The rest of the new set, complete, is kept in ${long}\\media.new under its final names`), r.stderr);
    assert.equal(fileSha(join(folder, 'media.iso')), earlier);
    const kept = join(folder, 'media.new');
    assert.deepEqual(readdirSync(kept).sort(), SET.filter((n) => n !== 'CreateTSMedia.log'));
    assert.equal(readFileSync(join(kept, 'media.iso.sha256'), 'utf8').split(' ')[0], fileSha(join(kept, 'media.iso')));
    assert.notEqual(fileSha(join(kept, 'media.iso')), earlier);
    assert.deepEqual(partials(folder), []);
    rmSync(kept, { recursive: true });
  });

  test('an answer file on the share (\\\\?\\UNC\\…): its relative paths resolve on the share, stale partial files go, the earlier set is replaced only at the end', async (t) => {
    if (!requireOrSkip(t, skip === null, skip ?? '')) return;
    const folder = join(local, 'folder');
    const finals = ['media.iso', 'media-2.iso'].map((n) => join(folder, n));
    const earlier = finals.map((f) => ({ sha: fileSha(f), mtime: statSync(f).mtimeMs }));
    // What a killed run of this computer left (process 99999999 is no process).
    const stale = [`.media-2.iso.tsmedia-99999999-0123abcd-${computerTag()}.partial`, `.media.report.md.tsmedia-99999998-89abcdef-${computerTag()}.partial`];
    for (const s of stale) writeFileSync(join(folder, s), 'left by a killed run');
    writeFileSync(join(local, 'answers.json'), JSON.stringify({ format: 'tsmedia-answers/1', site: 'site', taskSequence: 'SMP00010', size: String(DISC), out: 'folder\\media.iso', packages: ['SMP00099'] }));
    const long = `\\\\?\\UNC\\${server}\\media`;

    const child = spawn(process.execPath, [join(ROOT, 'bin', 'tsmedia.js'), 'create', '--answers', `${long}\\answers.json`], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = new Promise<number | null>((r) => child.once('exit', r));
    // While the new set is written, the final names keep the earlier set: never missing, unchanged while partials grow.
    let running = true;
    void status.then(() => (running = false));
    let writingSeen = 0;
    const missing = new Set<string>();
    const mtime = (f: string): number | null => {
      try {
        return statSync(f).mtimeMs;
      } catch {
        return null;
      }
    };
    while (running) {
      const names = readdirSync(folder);
      for (const f of ['media.iso', 'media-2.iso']) if (!names.includes(f)) missing.add(f);
      const own = names.filter((n) => n.endsWith('.partial') && !stale.includes(n) && /^\.media(-2)?\.iso\./.test(n));
      if (own.length > 0 && finals.every((f, i) => mtime(f) === earlier[i].mtime)) writingSeen += 1;
      await sleep(150);
    }
    assert.equal(await status, 0, stderr);
    assert.deepEqual([...missing], [], 'the final names are never missing while the set is replaced');
    assert.ok(writingSeen >= 1, `the earlier set was seen in place while the new one was written (${writingSeen} times)`);
    assert.ok(stdout.includes(`  ${long}\\folder\\media.iso  `), stdout);
    finals.forEach((f, i) => assert.notEqual(fileSha(f), earlier[i].sha, `${f} is the new one`));
    assert.deepEqual(partials(folder), [], 'the stale partial files are gone, and this run left none');
    const log = readFileSync(join(folder, 'CreateTSMedia.log'), 'utf8');
    for (const s of stale) assert.ok(log.includes(`removed a partial file an interrupted run left: ${long}\\folder\\${s}`), s);
    const v = runCli(['verify', ...finals.map((f) => f.replace(folder, `${unc}\\folder`))]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });

  test('a USB image file at the share\'s root (\\\\server\\share\\usb.img), verified there; --replace names a foreign image in the other form', async (t) => {
    if (!requireOrSkip(t, skip === null, skip ?? '')) return;
    const img = `${unc}\\usb.img`;
    const r = runCli(['create', '--media', 'usb', '--site', `${unc}\\site`, '--task-sequence', 'SMP00010', '--image', img, '--image-size', String(DISC)], env());
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`note: writing to the network share ${reEsc(unc)}:`));
    for (const n of ['usb.img', 'usb.report.md', 'usb.report.json', 'CreateTSMedia.log']) assert.ok(existsSync(join(local, n)), n);
    assert.equal(statSync(join(local, 'usb.img')).size, DISC);
    assert.deepEqual(partials(local), []);
    assert.ok(readFileSync(join(local, 'CreateTSMedia.log'), 'utf8').includes(`output on the network share ${unc}`));
    const v = runCli(['verify', img]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /^OK: \d+ files/);

    // A file there that tsmedia did not write is replaced only when confirmed by name: either form of it is the name.
    writeFileSync(join(local, 'other.img'), Buffer.alloc(1024 * 1024, 7));
    const args = ['create', '--media', 'usb', '--site', `${unc}\\site`, '--task-sequence', 'SMP00010', '--image', `\\\\?\\UNC\\${server}\\media\\other.img`, '--image-size', String(DISC)];
    const refused = runCli(args, env());
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /IMAGE_EXISTS|the file exists and is not a USB image made by tsmedia/);
    const replaced = runCli([...args, '--replace', `\\\\${server.toUpperCase()}\\media\\OTHER.img`], env());
    assert.equal(replaced.status, 0, replaced.stderr);
    assert.equal(statSync(join(local, 'other.img')).size, DISC);
  });

  test('refused before writing: a share that cannot be reached, a missing folder on the share, an output inside the site on the share', async (t) => {
    if (!requireOrSkip(t, skip === null, skip ?? '')) return;
    const nowhere = `\\\\tsmedia-nowhere-${process.pid}\\media`;
    const a = runCli(isoArgs(`${nowhere}\\folder\\media.iso`), env());
    assert.equal(a.status, 1);
    assert.ok(a.stderr.includes(`tsmedia: --out ${nowhere}\\folder\\media.iso: the network share ${nowhere} cannot be reached (`), a.stderr);
    const b = runCli(isoArgs(`${unc}\\no-such-folder\\media.iso`), env());
    assert.equal(b.status, 1);
    assert.ok(b.stderr.includes(`the folder ${unc}\\no-such-folder does not exist. Create it first.`), b.stderr);
    const c = runCli(['create', '--media', 'usb', '--site', `${unc}\\site`, '--task-sequence', 'SMP00010', '--image', `\\\\?\\UNC\\${server}\\media\\site\\x.img`, '--image-size', String(DISC)], env());
    assert.equal(c.status, 1);
    assert.ok(c.stderr.includes(`is inside ${unc}\\site, which the media is made from`), c.stderr);
    assert.ok(!existsSync(join(local, 'site', 'x.img')));
  });

  test("the wizard's check of a media file on the share (checkOutputFile): the share by its name, writable; one that cannot be reached said so", async (t) => {
    if (!requireOrSkip(t, skip === null, skip ?? '')) return;
    for (const path of [`${unc}\\folder\\next.iso`, `\\\\?\\UNC\\${server}\\media\\folder\\next.iso`]) {
      const c = await checkOutputFile(path, 'iso', 1024 * 1024);
      assert.deepEqual({ folderExists: c.folderExists, writable: c.writable, share: c.share, problem: c.problem }, { folderExists: true, writable: true, share: { name: unc, protocol: 'smb', mountedAt: null }, problem: null }, path);
    }
    const image = await checkOutputFile(`${unc}\\usb2.img`, 'usb-image', null);
    assert.equal(image.folder, `${unc}\\`);
    assert.equal(image.writable, true);
    const nowhere = `\\\\tsmedia-nowhere-${process.pid}\\media`;
    const gone = await checkOutputFile(`${nowhere}\\x.iso`, 'iso', null);
    assert.equal(gone.folderExists, false);
    assert.deepEqual(gone.problemDetail, { code: 'OUTPUT_SHARE_UNREACHABLE', params: { share: nowhere, path: `${nowhere}\\x.iso` } });
    assert.equal(gone.share?.name, nowhere);
  });

  test('OSD binaries from the site server\'s share (tsmedia-site.json "siteServer" → \\\\<server>\\SMS_SMP\\OSD\\bin): copied into SMS\\bin, byte for byte', async (t) => {
    if (!requireOrSkip(t, skip === null && prefix !== null, skip ?? '')) return;
    if (prefix === null) return;
    // The site server's installation folder, shared as SMS_SMP; a site folder without OSD\bin names the server.
    const install = join(dir, 'install');
    cpSync(join(local, 'site', 'OSD'), join(install, 'OSD'), { recursive: true });
    const site = copySampleSite(join(dir, 'site-no-osd'));
    rmSync(join(site, 'OSD'), { recursive: true });
    const descPath = join(site, 'tsmedia-site.json');
    writeFileSync(descPath, JSON.stringify({ ...(JSON.parse(readFileSync(descPath, 'utf8')) as object), siteServer: server }));
    // The server's folder is removed as a whole after the suite (the media share's remover).
    await mapShare(prefix, server, 'SMS_SMP', unixPathOf(prefix, install), () => undefined);
    const share = `\\\\${server}\\SMS_SMP\\OSD\\bin`;
    mkdirSync(join(dir, 'osd-out'));
    const out = join(dir, 'osd-out', 'media.iso');
    const r = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--out', out, '--autorun'], env());
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const report = JSON.parse(readFileSync(join(dir, 'osd-out', 'media.report.json'), 'utf8')) as { osdBinaries: { location: string; autorun: string } };
    assert.deepEqual(report.osdBinaries.location, share);
    assert.equal(report.osdBinaries.autorun, 'SMS\\bin\\x64\\TSMBAutorun.exe');
    const iso = openIso(out);
    try {
      for (const f of ['TSMBAutorun.exe', 'TsmBootstrap.exe', '00000409/TsRes.dll']) {
        assert.ok(iso.readFileBuffer(`SMS/bin/x64/${f}`).equals(readFileSync(join(install, 'OSD', 'bin', 'x64', ...f.split('/')))), f);
      }
      assert.match(iso.readFileBuffer('autorun.inf').toString('latin1'), /^\[autorun\]\r\nopen=SMS\\bin\\x64\\TSMBAutorun\.exe\r\n/);
    } finally {
      iso.close();
    }
    assert.equal(runCli(['verify', out], env()).status, 0);
  });

  test('the command line keeps a UNC path absolute: --image \\\\server\\share\\… and //server/share/… as Windows reads them', (t) => {
    if (!requireOrSkip(t, WINDOWS, 'Windows only: elsewhere \\\\server\\share is no absolute path')) return;
    const image = (p: string): string => {
      const parsed = parseCreateArgs(['--media', 'usb', '--task-sequence', 'SMP00010', '--image', p, '--image-size', String(DISC), '--replace', p]);
      assert.equal(parsed.usb?.target.kind, 'image');
      return parsed.usb?.target.kind === 'image' ? parsed.usb.target.path : '';
    };
    assert.equal(image('\\\\nas\\media\\usb.img'), '\\\\nas\\media\\usb.img');
    assert.equal(image('//nas/media/usb.img'), '\\\\nas\\media\\usb.img');
    assert.equal(image('\\\\?\\UNC\\nas\\media\\usb.img'), '\\\\?\\UNC\\nas\\media\\usb.img');
    assert.equal(parseCreateArgs(['--task-sequence', 'SMP00010', '--out', '\\\\nas\\media\\m.iso']).request.out, '\\\\nas\\media\\m.iso');
  });
});
