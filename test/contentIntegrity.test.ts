// Content integrity end to end (issue 7 item 5), beside what mediaSafety (a damaged blob under an ISO write),
// mediaVerify (an ISO byte changed, a truncated ISO) and mediaUsb (a USB image byte changed) already show: the USB
// writer's hash checks (a damaged blob, a truncated blob — for the ISO writer too — and a damaged WIM on its way to
// being split into .swm parts), each naming the file and its package with exit 2 and the earlier output untouched;
// and `tsmedia verify` on a USB image changed through its file system (mtools) or cut short.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ContentIntegrityError } from '../electron/engine/errors.js';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { Site } from '../electron/engine/site/Site.js';
import { createUsbMedia } from '../electron/engine/media/UsbMediaBuilder.js';
import { hasCommand, requireOrSkip, runCli, tempDir } from './helpers.js';
import { baseRequest } from './support/hostClient.js';
import { snapshotOutputs } from './support/killer.js';
import { addPackage, copySampleSite } from './support/sites.js';

const MT = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
const DPS = ['SCCMContentLib_DP01', 'SCCMContentLib_DP02'];

/** The blob of a content's file on a distribution point (its hash from the DataLib file INI). */
function blobOf(site: string, dp: string, contentId: string, file: string): string {
  const ini = readFileSync(join(site, dp, 'DataLib', contentId, `${file}.INI`), 'utf8');
  const hash = /Hash=([0-9A-F]{64})/.exec(ini)?.[1];
  assert.ok(hash, `${contentId}\\${file}: a hash in its INI`);
  return join(site, dp, 'FileLib', hash.slice(0, 4), hash);
}

function flipByte(path: string, at: number): void {
  const b = readFileSync(path);
  b[at] ^= 0x5a;
  writeFileSync(path, b);
}

const partials = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.partial'));

describe('content integrity: the writer', () => {
  test('a damaged blob under a USB image write: exit 2 naming the file and its package; the earlier image and reports stay', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const out = join(dir, 'out');
    mkdirSync(out);
    const args = ['create', '--site', site, '--media', 'usb', '--task-sequence', 'SMP00010', '--image', join(out, 'usb.img'), '--image-size', '64MiB'];
    assert.equal(runCli(args, env).status, 0);
    const before = snapshotOutputs(out);
    for (const dp of DPS) flipByte(blobOf(site, dp, 'SMP00002.1', 'install.wim'), 4000);
    const r = runCli(args, env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /tsmedia: SMP00002\.1\\install\.wim: the bytes read from .*FileLib.* do not match the content library/);
    assert.deepEqual(snapshotOutputs(out), before, 'usb.img and its reports are byte for byte the earlier ones');
    assert.deepEqual(partials(out), []);
    assert.match(readFileSync(join(out, 'CreateTSMedia.log'), 'utf8'), /failed: SMP00002\.1\\install\.wim/);
  });

  test('a truncated blob: the ISO and the USB writers say which file ended early (exit 2); earlier output stays', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const out = join(dir, 'out');
    mkdirSync(out);
    const iso = ['create', '--site', site, '--task-sequence', 'SMP00010', '--out', join(out, 'media.iso')];
    const usb = ['create', '--site', site, '--media', 'usb', '--task-sequence', 'SMP00010', '--image', join(out, 'usb.img'), '--image-size', '64MiB'];
    for (const a of [iso, usb]) assert.equal(runCli(a, env).status, 0);
    const before = snapshotOutputs(out);
    for (const dp of DPS) truncateSync(blobOf(site, dp, 'SMP00003.1', 'ccmsetup.exe'), 1000);
    for (const a of [iso, usb]) {
      const r = runCli(a, env);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /tsmedia: SMP00003\.1\\ccmsetup\.exe: .*FileLib.* ended after 1000 bytes; 2048 were expected\. The content changed or is damaged\./);
    }
    assert.deepEqual(snapshotOutputs(out), before);
    assert.deepEqual(partials(out), []);
  });

  test('a damaged WIM that must be split into .swm parts for FAT32: the split check names it before the volume is written', async (t) => {
    if (!requireOrSkip(t, hasCommand('wimlib-imagex'), 'missing wimlib-imagex (./scripts/setup.sh installs wimtools)')) return;
    const dir = tempDir(t);
    const src = join(dir, 'src');
    mkdirSync(src);
    for (const [name, size] of [['a.bin', 1_500_000], ['b.bin', 1_200_000]] as const) {
      const b = Buffer.alloc(size);
      randomFillSync(b);
      writeFileSync(join(src, name), b);
    }
    const wim = join(dir, 'install.wim');
    assert.equal(spawnSync('wimlib-imagex', ['capture', src, wim, '--compress=none'], { encoding: 'utf8' }).status, 0);
    const site = copySampleSite(join(dir, 'site'));
    await addPackage(site, 'SMP00097', [{ relativePath: 'install.wim', sourcePath: wim }], 'Windows 11 (large image)');
    // Damage a byte of a.bin's data inside the WIM (after the 208-byte header; the lookup table and XML are at the end).
    for (const dp of DPS) flipByte(blobOf(site, dp, 'SMP00097.1', 'install.wim'), 50_000);
    const img = join(dir, 'usb.img');
    const request = { ...baseRequest({ site, packages: ['SMP00097'] }), target: { kind: 'image' as const, path: img, sizeBytes: 64 * 1024 * 1024, replace: null }, format: true };
    await assert.rejects(
      createUsbMedia(await Site.open(site), request, { maxFileBytes: 2 * 1024 * 1024, userLogDir: null }),
      (err: unknown) => err instanceof ContentIntegrityError && /SMP00097\.1\\install\.wim: the WIM's bytes do not match the content library \(SHA-256 [0-9A-F]{64}, expected [0-9A-F]{64}\)/i.test(err.message),
    );
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('usb')), [], 'nothing written');
  });
});

describe('content integrity: verify', () => {
  const tools = ['mcopy', 'mdel'];
  test('a USB image changed through its file system (mtools): a file replaced by other bytes, by another size, deleted — each named', (t) => {
    if (!requireOrSkip(t, tools.every(hasCommand), `missing ${tools.filter((x) => !hasCommand(x)).join(', ')} (./scripts/setup.sh installs mtools)`)) return;
    const dir = tempDir(t);
    const img = join(dir, 'usb.img');
    assert.equal(runCli(['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', img, '--image-size', '64MiB', '--no-verify'], { XDG_STATE_HOME: join(dir, 'state') }).status, 0);
    assert.equal(runCli(['verify', img]).status, 0);
    const cases: [string, (copy: string) => void, RegExp][] = [
      [
        'same size, other bytes',
        (copy) => {
          const b = Buffer.alloc(2048);
          randomFillSync(b);
          writeFileSync(join(dir, 'x.exe'), b);
          assert.equal(spawnSync('mcopy', ['-o', '-i', `${copy}@@1M`, join(dir, 'x.exe'), '::/SMS/PKG/SMP00003/ccmsetup.exe'], { env: MT }).status, 0);
        },
        /^DIFFERS SMS\/PKG\/SMP00003\/ccmsetup\.exe: its SHA-256 is [0-9A-F]{64}, the manifest says [0-9A-F]{64}$/m,
      ],
      [
        'another size',
        (copy) => {
          writeFileSync(join(dir, 'y.ps1'), 'Write-Host "changed after writing"\r\n');
          assert.equal(spawnSync('mcopy', ['-o', '-i', `${copy}@@1M`, join(dir, 'y.ps1'), '::/SMS/PKG/SMP00008/Enable-Logging.ps1'], { env: MT }).status, 0);
        },
        /^DIFFERS SMS\/PKG\/SMP00008\/Enable-Logging\.ps1: read 36 bytes, the manifest says 317$/m,
      ],
      [
        'deleted',
        (copy) => assert.equal(spawnSync('mdel', ['-i', `${copy}@@1M`, '::/SMS/PKG/SMP00005/net/e1000.sys'], { env: MT }).status, 0),
        /^DIFFERS SMS\/PKG\/SMP00005\/net\/e1000\.sys: missing from the volume$/m,
      ],
    ];
    for (const [what, change, re] of cases) {
      const copy = join(dir, `changed-${what.replace(/\W+/g, '-')}.img`);
      copyFileSync(img, copy);
      change(copy);
      const r = runCli(['verify', copy]);
      assert.equal(r.status, 1, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, re, what);
      assert.match(r.stdout, /1 problem\(s\): the media does not match its manifest/, what);
      const j = JSON.parse(runCli(['verify', copy, '--json']).stdout) as { status: number; problems: { path: string }[] };
      assert.equal(j.status, 1);
      assert.equal(j.problems.length, 1, what);
    }
  });

  test('a truncated USB image is unreadable (exit 2) and named, wherever it was cut', (t) => {
    const dir = tempDir(t);
    const img = join(dir, 'usb.img');
    assert.equal(runCli(['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', img, '--image-size', '64MiB'], { XDG_STATE_HOME: join(dir, 'state') }).status, 0);
    assert.equal(runCli(['verify', img]).status, 0);
    // Inside install.wim's data, after the last file, in the partition's first sectors, and one byte short.
    const vol = openFat32(img);
    const wim = vol.find('SMS/PKG/SMP00002/install.wim');
    vol.close();
    assert.ok(wim);
    const size = 64 * 1024 * 1024;
    for (const cut of [wim.extents[0].offset + 1000, 16 * 1024 * 1024, 1024 * 1024 + 100, size - 1]) {
      const copy = join(dir, `cut-${cut}.img`);
      copyFileSync(img, copy);
      truncateSync(copy, cut);
      const r = runCli(['verify', copy]);
      assert.equal(r.status, 2, `cut at ${cut}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`unreadable: .*cut-${cut}\\.img: (the image is truncated: the volume ends at byte ${size} but the file has ${cut} bytes|a read at byte \\d+ \\(\\d+ bytes\\) is past the end of the file \\(${cut} bytes\\))`), `cut at ${cut}`);
    }
  });
});
