// USB media end to end: an image file and a loop device written with the same code, checked by fsck.fat, sfdisk and
// mtools; the 4 GiB rule refused before a byte is written; "already formatted" volumes; and media that boots (the
// USB image made by the command line under OVMF and SeaBIOS).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import type { MediaManifest } from '../electron/engine/media/Manifest.js';
import { hasCommand, requireOrSkip, runCli, tempDir } from './helpers.js';
import { missingBootStandInTools, useBootStandIns } from './support/bootStandIns.js';
import { OVMF, QEMU, bootDisk, bootIso } from './support/qemu.js';
import { STANDIN_FAIL, STANDIN_OK } from './support/bootmgrStandIn.js';
import { addPackage, copySampleSite } from './support/sites.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex').toUpperCase();
const MT = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

function fsckPartition(img: string, dir: string): string {
  const part = join(dir, 'part.img');
  spawnSync('dd', [`if=${img}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none', 'conv=sparse']);
  const r = spawnSync('fsck.fat', ['-n', '-v', part], { encoding: 'utf8' });
  spawnSync('rm', ['-f', part]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /wrong|differs|dirty bit|reclaimed|invalid|bad cluster|unable/i, r.stdout);
  return r.stdout;
}

function mtoolsExtract(img: string, dest: string): string[] {
  mkdirSync(dest, { recursive: true });
  const r = spawnSync('mcopy', ['-s', '-n', '-i', `${img}@@1M`, '::/*', dest], { encoding: 'utf8', env: MT });
  assert.equal(r.status, 0, r.stderr);
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dest, p));
    }
  };
  walk(dest);
  return out.sort();
}

const TOOLS = ['fsck.fat', 'mcopy', 'sfdisk', 'dd'];
const missing = (): string[] => TOOLS.filter((t) => !hasCommand(t));

describe('USB media', () => {
  test('an image file: one active FAT32 LBA partition at 1 MiB, fsck clean, every file read back by mtools', (t) => {
    if (!requireOrSkip(t, missing().length === 0, `missing ${missing().join(', ')} (./scripts/setup.sh installs dosfstools, mtools)`)) return;
    const dir = tempDir(t);
    const img = join(dir, 'usb.img');
    writeFileSync(join(dir, 'pw.txt'), 'usb-password-9\n');
    const r = runCli(['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', img, '--image-size', '300MiB', '--label', 'Contoso Windows 11', '--password-file', join(dir, 'pw.txt'), '--unattended'], {
      XDG_STATE_HOME: join(dir, 'state'),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(statSync(img).size, 300 * 1024 * 1024);
    for (const f of ['usb.report.md', 'usb.report.json', 'CreateTSMedia.log']) assert.ok(existsSync(join(dir, f)), f);
    const sf = spawnSync('sfdisk', ['-d', img], { encoding: 'utf8' }).stdout;
    assert.match(sf, /label: dos/);
    assert.match(sf, /usb\.img1 : start=\s+2048, size=\s+612352, type=c, bootable/);
    fsckPartition(img, dir);
    assert.match(spawnSync('mlabel', ['-i', `${img}@@1M`, '-s', '::'], { encoding: 'utf8', env: MT }).stdout, /Volume label is CONTOSO WIN/);
    const x = join(dir, 'x');
    const files = mtoolsExtract(img, x);
    const m = JSON.parse(readFileSync(join(x, 'SMS/data/tsmedia-manifest.json'), 'utf8')) as MediaManifest;
    assert.deepEqual(files, [...m.files.map((f) => f.path), 'SMS/data/tsmedia-manifest.json'].sort());
    for (const f of m.files) assert.equal(sha(readFileSync(join(x, f.path))), f.sha256, f.path);
    for (const p of ['efi/boot/bootx64.efi', 'bootmgr.efi', 'sources/boot.wim', 'SMS/data/Variables.dat', 'SMS/PKG/SMP00002/install.wim', 'MediaLabel.txt']) assert.ok(files.includes(p), p);
    assert.match(readFileSync(join(x, 'SMS/data/TsmBootstrap.ini'), 'latin1'), /PasswordRequired=true\r\nUnattended=true/);
    assert.ok(!readFileSync(img).includes(Buffer.from('usb-password-9')), 'the password is nowhere on the drive');

    assert.equal(runCli(['verify', img]).status, 0);
    // A byte changed on the drive after writing is named by verify.
    const vol = openFat32(img);
    const entry = vol.find('SMS/PKG/SMP00002/install.wim');
    vol.close();
    assert.ok(entry);
    const fd = openSync(img, 'r+');
    writeSync(fd, Buffer.from([0x99]), 0, 1, entry.extents[0].offset + 5);
    closeSync(fd);
    const v = runCli(['verify', img]);
    assert.equal(v.status, 1);
    assert.match(v.stdout, /DIFFERS SMS\/PKG\/SMP00002\/install\.wim: its SHA-256 is/);
  });

  test('a file of 4 GiB or more that is no WIM is refused before anything is written, naming it', async (t) => {
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    // A 4.5 GiB file described by the content library; its blob is sparse (the run must stop before reading it).
    const small = join(dir, 'readme.txt');
    writeFileSync(small, 'x');
    await addPackage(site, 'SMP00098', [{ relativePath: 'readme.txt', sourcePath: small }], 'Big archive');
    const size = 4.5 * 1024 ** 3;
    for (const dp of ['SCCMContentLib_DP01', 'SCCMContentLib_DP02']) {
      const hash = 'AB'.repeat(32);
      writeFileSync(join(site, dp, 'DataLib', 'SMP00098.1', 'archive.7z.INI'), `[File]\r\nHash=${hash}\r\nSize=${size}\r\nAttributes=20\r\nTimeModified=133801632000000000\r\n`);
      mkdirSync(join(site, dp, 'FileLib', 'ABAB'), { recursive: true });
      const blob = join(site, dp, 'FileLib', 'ABAB', hash);
      writeFileSync(blob, '');
      truncateSync(blob, size);
    }
    const img = join(dir, 'usb.img');
    const r = runCli(['create', '--site', site, '--media', 'usb', '--task-sequence', 'SMP00010', '--package', 'SMP00098', '--image', img, '--image-size', '16GiB'], { XDG_STATE_HOME: join(dir, 'state') });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /FAT32 cannot hold a file of 4 GiB or more, and only WIM files can be split: SMS\/PKG\/SMP00098\/archive\.7z \(SMP00098, 4831838208 bytes\)/);
    assert.match(r.stderr, /--media iso/);
    assert.ok(!existsSync(img), 'nothing written');
    assert.deepEqual(readdirSync(dir).filter((n) => n.includes('usb.img')), []);
  });

  test('"use the drive as already formatted": files added to an existing FAT32 volume, which keeps its other files', (t) => {
    if (!requireOrSkip(t, missing().length === 0 && hasCommand('mkfs.fat') && hasCommand('sfdisk'), 'missing dosfstools/mtools/sfdisk')) return;
    const dir = tempDir(t);
    const img = join(dir, 'old.img');
    writeFileSync(img, '');
    truncateSync(img, 200 * 1024 * 1024);
    spawnSync('sfdisk', ['-q', img], { input: 'start=2048, type=c, bootable\n' });
    const part = join(dir, 'p.img');
    spawnSync('dd', [`if=${img}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
    assert.equal(spawnSync('mkfs.fat', ['-F', '32', '-n', 'OLDSTICK', part]).status, 0);
    spawnSync('dd', [`if=${part}`, `of=${img}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
    writeFileSync(join(dir, 'keep.txt'), 'my own file\n');
    assert.equal(spawnSync('mcopy', ['-i', `${img}@@1M`, join(dir, 'keep.txt'), '::/keep.txt'], { env: MT }).status, 0);

    const r = runCli(['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', img, '--no-format'], { XDG_STATE_HOME: join(dir, 'state') });
    assert.equal(r.status, 0, r.stderr);
    // Said before writing: the BIOS boot code goes in, and mkfs.fat's hidden sectors (0: it formatted a partition file)
    // are set to the partition's start; the partition was already active (sfdisk's "bootable").
    assert.match(r.stderr, /note: --no-format: the BIOS boot code goes into the MBR \(its partition table and disk signature kept\) and the boot sector/);
    assert.match(r.stderr, /note: --no-format: boot sector: hidden sectors 0 set to 2048, the partition's first sector/);
    assert.doesNotMatch(r.stderr, /made active/);
    assert.ok(r.stderr.indexOf('note: --no-format') < r.stderr.indexOf('plan: files added'), 'before the plan line, before writing');
    fsckPartition(img, dir);
    const files = mtoolsExtract(img, join(dir, 'x'));
    assert.ok(files.includes('keep.txt'), 'the existing file is kept');
    assert.equal(readFileSync(join(dir, 'x', 'keep.txt'), 'utf8'), 'my own file\n');
    assert.ok(files.includes('SMS/data/Variables.dat') && files.includes('efi/boot/bootx64.efi'));
    assert.equal(runCli(['verify', img]).status, 0);

    // Not FAT32: refused by name.
    const notFat = join(dir, 'zero.img');
    writeFileSync(notFat, Buffer.alloc(2 * 1024 * 1024));
    const bad = runCli(['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', notFat, '--no-format'], { XDG_STATE_HOME: join(dir, 'state') });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /zero\.img/);
  });

  test('a loop device written as a drive: hidden without --all, confirmed once as the shared rule says (more stay accepted), then fsck clean and verified', (t) => {
    const root = process.getuid?.() === 0;
    if (!requireOrSkip(t, root && hasCommand('losetup') && missing().length === 0, 'needs root, losetup, dosfstools and mtools (loop devices stand in for USB drives)')) return;
    const dir = tempDir(t);
    const img = join(dir, 'stick.img');
    writeFileSync(img, '');
    truncateSync(img, 256 * 1024 * 1024);
    const lo = spawnSync('losetup', ['-f', '--show', img], { encoding: 'utf8' });
    if (!requireOrSkip(t, lo.status === 0, `losetup failed: ${lo.stderr.trim()}`)) return;
    const dev = lo.stdout.trim();
    t.after(() => spawnSync('losetup', ['-d', dev]));
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const base = ['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--drive', dev];
    const hidden = runCli([...base, '--yes-erase', dev], env);
    assert.equal(hidden.status, 1);
    // A virtual drive: the shared rules ask for one confirmation, and the command line says so (not "twice").
    assert.match(hidden.stderr, new RegExp(`is listed only with --all, and then must be confirmed once \\(--all --yes-erase ${dev}\\)`));
    const unconfirmed = runCli([...base, '--all'], env);
    assert.equal(unconfirmed.status, 1, 'never written without a confirmation');
    assert.match(unconfirmed.stderr, new RegExp(`ERASES everything on it\\. Confirm it once with --yes-erase ${dev}\\.`));
    const other = runCli([...base, '--all', '--yes-erase', '/dev/sda'], env);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /--yes-erase names \/dev\/sda, but the drive to write is/);
    const r = runCli([...base, '--all', '--yes-erase', dev, '--yes-erase', dev], env);
    assert.equal(r.status, 0, r.stderr);
    spawnSync('sync');
    assert.match(spawnSync('sfdisk', ['-d', dev], { encoding: 'utf8' }).stdout, /start=\s+2048, size=\s+522240, type=c, bootable/);
    fsckPartition(img, dir);
    assert.equal(runCli(['verify', dev]).status, 0);
  });

  test('the sample site with stand-in boot files: the USB image boots under OVMF and SeaBIOS, the ISO under OVMF and SeaBIOS', async (t) => {
    const miss = [...missingBootStandInTools(), ...(hasCommand(QEMU) ? [] : [QEMU]), ...(existsSync(OVMF) ? [] : [OVMF])];
    if (!requireOrSkip(t, miss.length === 0, `missing ${miss.join(', ')}`)) return;
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const s = await useBootStandIns(site, dir);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const img = join(dir, 'usb.img');
    const iso = join(dir, 'media.iso');
    assert.equal(runCli(['create', '--site', site, '--media', 'usb', '--task-sequence', 'SMP00010', '--image', img, '--image-size', '128MiB'], env).status, 0);
    assert.equal(runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--out', iso], env).status, 0);
    const [usbUefi, isoUefi, isoBios] = await Promise.all([bootIso(img, s.uefiMarker, true, 'disk'), bootIso(iso, s.uefiMarker, true), bootIso(iso, s.biosMarker, false)]);
    const usbBios = await bootDisk(img, { bus: 'usb', markers: [STANDIN_OK, STANDIN_FAIL, 'Press a key to restart'] });
    console.log(`# boot times: USB/OVMF ${usbUefi.ms} ms, USB/SeaBIOS ${usbBios.ms} ms, ISO/OVMF ${isoUefi.ms} ms, ISO/SeaBIOS ${isoBios.ms} ms`);
    assert.ok(usbBios.output.includes(STANDIN_OK), `USB image under SeaBIOS (as a USB disk):\n${usbBios.output.slice(-2000)}`);
    assert.ok(usbUefi.found, `USB image under OVMF:\n${usbUefi.output.slice(-2000)}`);
    assert.ok(isoUefi.found, `ISO under OVMF:\n${isoUefi.output.slice(-2000)}`);
    assert.ok(isoBios.found, `ISO under SeaBIOS:\n${isoBios.output.slice(-2000)}`);
  });
});
