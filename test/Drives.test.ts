// Drives: recorded drivelist output (this machine's and published real outputs, test/fixtures/drives/SOURCES.md)
// through the normalizer and the constraint matrix; the real listing and the watcher with loop devices attached here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { runDrives } from '../electron/cli/drives.js';
import { DriveWatcher, drivesFromLsblk, findDrive, listDrives, normalizeDrive, type LsblkOutput } from '../electron/engine/drives/Drives.js';
import { confirmationsSatisfied, evaluateDrive, mountpointContains, type DriveInfo } from '../shared/drives.js';
import { hasCommand, requireOrSkip, ROOT, tempDir } from './helpers.js';
import { DRIVE_FIXTURES, loadFixtures, type Fixture } from './support/driveFixtures.js';

const FIXTURES = DRIVE_FIXTURES;
const GB = 1e9;

const byDevice = (f: Fixture, device: string): DriveInfo => {
  const d = findDrive(f.drives, device);
  assert.ok(d, `${f.file}: ${device}`);
  return d;
};
const codes = (d: DriveInfo, showAll: boolean, neededBytes = 1 * GB, sourcePaths: string[] = []): string[] =>
  evaluateDrive(d, { neededBytes, sourcePaths, showAll }).constraints.map((c) => c.code).sort();

describe('drive fixtures (recorded drivelist output)', () => {
  test('every fixture is documented in SOURCES.md and covers the three platforms', async () => {
    const sources = readFileSync(join(FIXTURES, 'SOURCES.md'), 'utf8');
    const fixtures = await loadFixtures();
    assert.ok(fixtures.length >= 10);
    for (const f of fixtures) assert.ok(sources.includes(`\`${f.file}\``), `${f.file} is listed in SOURCES.md`);
    for (const p of ['linux', 'darwin', 'win32']) assert.ok(fixtures.some((f) => f.platform === p), p);
    for (const f of fixtures) for (const d of f.drives) assert.ok(d.device.length > 0 && typeof d.isSystem === 'boolean', `${f.file}: ${d.device}`);
  });

  test('constraint matrix: no system, internal or virtual drive without "show all"; system and read-only never; internal ones confirmed twice, the others once', async () => {
    let checked = 0;
    for (const f of await loadFixtures()) {
      for (const d of f.drives) {
        const plain = evaluateDrive(d, { neededBytes: 1 * GB, sourcePaths: [], showAll: false });
        const all = evaluateDrive(d, { neededBytes: 1 * GB, sourcePaths: [], showAll: true });
        const where = `${f.file}: ${d.device}`;
        const tooSmall = d.sizeBytes === null || d.sizeBytes < 1 * GB;
        const internal = !d.isRemovable && !d.isVirtual && !d.isSystem;
        if (d.isSystem || d.isReadOnly || internal || d.isVirtual) {
          assert.equal(plain.selectable, false, `${where} is not selectable without show all`);
          assert.ok(plain.constraints.some((c) => c.severity === 'error'), where);
        }
        if (d.isSystem || d.isVirtual || !d.isRemovable) assert.equal(plain.hidden, true, `${where} is hidden without show all`);
        if (d.isSystem || d.isReadOnly) {
          assert.equal(all.selectable, false, `${where}: a system or read-only drive is refused even with show all`);
          assert.ok(all.constraints.some((c) => (c.code === 'SYSTEM_DRIVE' || c.code === 'READ_ONLY') && c.severity === 'error'), where);
          assert.equal(confirmationsSatisfied(all, 3), false, `${where}: no number of confirmations lifts it`);
        } else if (tooSmall) {
          assert.equal(all.selectable, false, `${where}: too small even with show all`);
          assert.ok(all.constraints.some((c) => c.code === 'TOO_SMALL' && c.severity === 'error'), where);
        } else if (internal) {
          assert.equal(all.selectable, true, `${where} is selectable with show all`);
          assert.equal(all.needsConfirmation, 2, `${where} needs two confirmations`);
          assert.equal(confirmationsSatisfied(all, 1), false, `${where}: one confirmation is not enough`);
          assert.equal(confirmationsSatisfied(all, 2), true, where);
          assert.equal(confirmationsSatisfied(all, 3), true, `${where}: more than needed stay accepted`);
        } else if (d.isVirtual) {
          assert.equal(all.selectable, true, where);
          assert.equal(all.needsConfirmation, 1, where);
        } else {
          assert.equal(plain.selectable, true, `${where}: a removable drive is selectable`);
          assert.equal(plain.hidden, false, where);
          assert.equal(plain.needsConfirmation, 1, `${where}: confirmed once (it is erased), large or not`);
          assert.equal(confirmationsSatisfied(plain, 0), false, where);
        }
        // Too small and holding the source are never lifted by "show all drives".
        const small = evaluateDrive(d, { neededBytes: (d.sizeBytes ?? 0) + 1, sourcePaths: [], showAll: true });
        assert.equal(small.selectable, false, `${where}: one byte too small`);
        const msg = small.constraints.find((c) => c.code === 'TOO_SMALL')?.message ?? '';
        if (d.sizeBytes !== null) assert.match(msg, new RegExp(`needs .*\\(${(d.sizeBytes ?? 0) + 1} bytes\\).*has .*\\(${d.sizeBytes} bytes\\)`), where);
        for (const m of d.mountpoints.filter((x) => !x.path.startsWith('['))) {
          const held = evaluateDrive(d, { neededBytes: 1, sourcePaths: [join(m.path, 'site')], showAll: true });
          assert.equal(held.selectable, false, `${where}: holds the source under ${m.path}`);
          assert.match(held.constraints.find((c) => c.code === 'HOLDS_SOURCE')?.message ?? '', /holds what the media is made from/);
        }
        checked += 1;
      }
    }
    assert.ok(checked >= 25, `${checked} drives checked`);
  });

  test('size boundaries (survivors of mutation testing): exactly the size needed, one byte less, no size, and the large-drive line', () => {
    const stick = (sizeBytes: number | null): DriveInfo => normalizeDrive({ device: '/dev/sdy', size: sizeBytes, isRemovable: true, isUSB: true, busType: 'USB' });
    const sizeCodes = (d: DriveInfo, neededBytes: number): string[] => evaluateDrive(d, { neededBytes, sourcePaths: [], showAll: false }).constraints.map((c) => c.code);
    assert.deepEqual(sizeCodes(stick(8 * GB), 8 * GB), [], 'exactly the size the media needs is enough');
    assert.deepEqual(sizeCodes(stick(8 * GB - 1), 8 * GB), ['TOO_SMALL']);
    // A drive that reports 0 bytes says so ("reports no size"), as one that reports none does, instead of "too small".
    for (const none of [0, null]) {
      const c = evaluateDrive({ ...stick(GB), sizeBytes: none }, { neededBytes: GB, sourcePaths: [], showAll: false }).constraints.find((x) => x.code === 'TOO_SMALL');
      assert.match(c?.message ?? '', /reports no size: is a card or medium inserted\? The media needs /, String(none));
      assert.equal(c?.params.hasBytes, null, String(none));
    }
    // The "very large" warning starts above 128 GB, not at it.
    assert.deepEqual(sizeCodes(stick(128 * GB), GB), []);
    assert.deepEqual(sizeCodes(stick(128 * GB + 1), GB), ['TOO_LARGE']);
    assert.deepEqual(evaluateDrive(stick(64 * GB), { neededBytes: GB, sourcePaths: [], showAll: false, largeDriveBytes: 32 * GB }).constraints.map((c) => c.code), ['TOO_LARGE']);
  });

  test('Windows: a USB stick, SATA disks reported removable, the NVMe system drive', async () => {
    const f = (await loadFixtures()).find((x) => x.file === 'win32-usb-fit-sata-nvme.drivelist.json') as Fixture;
    const fit = byDevice(f, '\\\\.\\PhysicalDrive3');
    assert.equal(fit.isUSB, true);
    const e = evaluateDrive(fit, { neededBytes: 8 * GB, sourcePaths: ['C:\\Program Files\\tsmedia'], showAll: false });
    assert.deepEqual([e.selectable, e.hidden, e.needsConfirmation], [true, false, 1]);
    assert.deepEqual(e.constraints.map((c) => c.code), ['TOO_LARGE'], '256 GB: probably not a stick, confirm');
    // drivelist says removable; an internal SATA bus is not a USB drive.
    for (const dev of ['\\\\.\\PhysicalDrive1', '\\\\.\\PhysicalDrive0']) {
      const sata = byDevice(f, dev);
      assert.equal(sata.isRemovable, false, dev);
      assert.deepEqual(codes(sata, false), ['NOT_REMOVABLE', 'TOO_LARGE']);
      assert.equal(evaluateDrive(sata, { neededBytes: GB, sourcePaths: [], showAll: false }).hidden, true);
    }
    const nvme = byDevice(f, '\\\\.\\physicaldrive2');
    assert.equal(nvme.isSystem, true);
    const onC = evaluateDrive(nvme, { neededBytes: GB, sourcePaths: ['c:\\program files\\tsmedia\\tsmedia.exe'], showAll: true });
    assert.equal(onC.selectable, false, 'the application lives on C:');
    assert.ok(onC.constraints.some((c) => c.code === 'HOLDS_SOURCE'));
  });

  test('cards and disk images the OS misreports are explained, never offered by default', async () => {
    const fx = await loadFixtures();
    const get = (file: string): Fixture => fx.find((x) => x.file === file) as Fixture;
    const sd = byDevice(get('linux-sd-card-reported-system-issue303.drivelist.json'), '/dev/mmcblk0');
    assert.deepEqual([sd.isCard, sd.isSystem], [true, true]);
    const sdAll = evaluateDrive(sd, { neededBytes: GB, sourcePaths: [], showAll: true });
    assert.equal(sdAll.selectable, false, 'reported as system: never written, as the privileged writer refuses it too');
    assert.match(sdAll.constraints[0].message, /internal card readers often are\)\. tsmedia never writes a system drive\./);
    const sata = byDevice(get('linux-sd-card-reported-system-issue303.drivelist.json'), '/dev/sda');
    assert.deepEqual(codes(sata, true, GB, ['/home/u/site']), ['HOLDS_SOURCE', 'SYSTEM_DRIVE', 'TOO_LARGE']);

    const win = byDevice(get('win32-sd-card-reported-system-etcher885.drivelist-legacy.json'), '\\\\.\\PHYSICALDRIVE1');
    assert.equal(win.isSystem, true);
    assert.equal(evaluateDrive(win, { neededBytes: GB, sourcePaths: [], showAll: false }).hidden, true);
    // A legacy C: mountpoint makes the other drive a system drive by its mount too.
    assert.equal(byDevice(get('win32-sd-card-reported-system-etcher885.drivelist-legacy.json'), '\\\\.\\PHYSICALDRIVE0').isSystem, true);

    const tm = byDevice(get('darwin-time-machine-sparsebundle-etcher2671.drivelist.json'), '/dev/disk2');
    assert.equal(tm.rawDevice, '/dev/rdisk2');
    assert.deepEqual(codes(tm, false), ['TOO_LARGE', 'VIRTUAL']);
    assert.equal(evaluateDrive(tm, { neededBytes: GB, sourcePaths: [], showAll: false }).hidden, true);

    for (const d of get('darwin-readonly-disk-images.drivelist.json').drives) {
      assert.deepEqual(codes(d, false, 1000), ['READ_ONLY', 'VIRTUAL']);
      assert.equal(evaluateDrive(d, { neededBytes: 1000, sourcePaths: [], showAll: true }).selectable, false, 'read-only: not even with show all');
    }
    // A read-only USB stick stays listed (detected, with its reason) but cannot be chosen.
    const locked = byDevice(get('linux-readme-example.drivelist-legacy.json'), '/dev/sdb');
    const lockedEval = evaluateDrive(locked, { neededBytes: GB, sourcePaths: [], showAll: false });
    assert.deepEqual([lockedEval.hidden, lockedEval.selectable], [false, false]);
    assert.match(lockedEval.constraints[0].message, /read-only.*cannot be written while it stays read-only\.$/);
    const sp = byDevice(get('win32-readme-example.drivelist-legacy.json'), '\\\\.\\PHYSICALDRIVE2');
    assert.deepEqual(evaluateDrive(sp, { neededBytes: GB, sourcePaths: [], showAll: false }), { selectable: true, hidden: false, needsConfirmation: 1, constraints: [] });
  });

  test('lsblk recorded here: loop devices (virtual, read-only) and every mountpoint, which drivelist alone misses', async () => {
    const j = JSON.parse(readFileSync(join(FIXTURES, 'linux-virtio-loops-this-machine.lsblk.json'), 'utf8')) as { output: LsblkOutput };
    const { transform } = await import('drivelist/js/lsblk/json.js');
    const plain = transform(j.output as unknown as Parameters<typeof transform>[0]);
    assert.equal(plain.some((d) => d.device.startsWith('/dev/loop')), false, 'drivelist leaves loop devices out');
    const drives = (await drivesFromLsblk(j.output, () => '/images/x.img')).map((d) => normalizeDrive(d));
    const loop0 = findDrive(drives, '/dev/loop0') as DriveInfo;
    const loop1 = findDrive(drives, '/dev/loop1') as DriveInfo;
    assert.deepEqual(loop0.mountpoints.map((m) => m.path).sort(), ['/tmp/rec/mnt-a', '/tmp/rec/mnt-a2']);
    assert.equal(loop0.description, 'Loop device (/images/x.img)');
    assert.deepEqual([loop0.isVirtual, loop0.isSystem, loop0.sizeBytes], [true, false, 64 * 1024 * 1024]);
    assert.equal(loop1.isReadOnly, true);
    assert.equal(findDrive(drives, '/dev/loop2'), undefined, 'unattached loop devices are not drives');
    assert.equal((findDrive(drives, '/dev/vda') as DriveInfo).isSystem, true);
    assert.equal(evaluateDrive(loop0, { neededBytes: 1, sourcePaths: ['/tmp/rec/mnt-a2/site'], showAll: true }).selectable, false);
  });
});

describe('mountpoints and sources', () => {
  test('a mountpoint holds a path only at a path boundary; Windows paths ignore case', () => {
    assert.equal(mountpointContains('/media/UNTITLED', '/media/UNTITLED/site'), true);
    assert.equal(mountpointContains('/media/UNTITLED', '/media/UNTITLED2/site'), false);
    assert.equal(mountpointContains('/media/UNTITLED/', '/media/UNTITLED'), true);
    assert.equal(mountpointContains('/', '/anything'), true);
    assert.equal(mountpointContains('[SWAP]', '/x'), false);
    assert.equal(mountpointContains('C:', 'c:\\Users\\me\\site'), true);
    assert.equal(mountpointContains('F:\\', 'F:/site'), true);
    assert.equal(mountpointContains('F:\\', 'G:\\site'), false);
    assert.equal(mountpointContains('F:\\', '/site'), false);
    assert.equal(mountpointContains('/Volumes/STICK', '/Volumes/STICK 2/x'), false);
  });

  test('a drive that reports no size asks whether a card is inserted', () => {
    const d = normalizeDrive({ device: '/dev/sdc', size: null, isRemovable: true, isUSB: true, busType: 'USB', description: 'Generic SD Reader' });
    const e = evaluateDrive(d, { neededBytes: 4 * GB, sourcePaths: [], showAll: false });
    assert.equal(e.selectable, false);
    assert.match(e.constraints[0].message, /reports no size: is a card or medium inserted\? The media needs 4\.0 GB/);
  });
});

function root(): boolean {
  return process.getuid?.() === 0;
}

/** Attaches a sparse image as a loop device; detach() (or the test's end) detaches it exactly once. */
function attachLoop(t: TestContext, bytes: number): { dev: string; detach: () => void } {
  const dir = tempDir(t);
  const img = join(dir, 'drive.img');
  writeFileSync(img, '');
  truncateSync(img, bytes);
  const dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
  let attached = true;
  // Never detach twice: the number may already belong to another test's loop device.
  const detach = (): void => {
    if (!attached) return;
    attached = false;
    execFileSync('losetup', ['-d', dev], { stdio: 'ignore' });
  };
  t.after(detach);
  return { dev, detach };
}

const canLoop = (): boolean => process.platform === 'linux' && root() && hasCommand('losetup') && hasCommand('lsblk');
const NO_LOOP = 'needs Linux, root, losetup and lsblk (loop devices stand in for USB drives)';

describe('drives on this machine', () => {
  test('the system disk is listed and refused; a loop device appears only with showAll', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP)) return;
    const { dev } = attachLoop(t, 32 * 1024 * 1024);
    const plain = await listDrives({ showAll: false });
    const all = await listDrives({ showAll: true });
    assert.equal(findDrive(plain, dev), undefined, 'virtual devices need showAll');
    const loop = findDrive(all, dev) as DriveInfo;
    assert.ok(loop, `${dev} listed with showAll`);
    assert.deepEqual([loop.isVirtual, loop.sizeBytes, loop.isSystem], [true, 32 * 1024 * 1024, false]);
    assert.match(loop.description, /drive\.img/);
    const sys = plain.filter((d) => d.mountpoints.some((m) => m.path === '/'));
    assert.equal(sys.length, 1, 'one drive holds /');
    assert.equal(sys[0].isSystem, true);
    const e = evaluateDrive(sys[0], { neededBytes: 1, sourcePaths: [ROOT], showAll: true });
    assert.equal(e.selectable, false, 'the drive holding the application is never selectable');
  });

  test('the watcher reports attach and detach of a loop device, and never selects', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP)) return;
    const watcher = new DriveWatcher({ showAll: true, intervalMs: 150 });
    const hidden = new DriveWatcher({ showAll: false, intervalMs: 150 });
    t.after(() => Promise.all([watcher.stop(), hidden.stop()]));
    const events: string[] = [];
    const hiddenEvents: string[] = [];
    let dev = '';
    const seen = (type: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} event for ${dev} within 10 s (${events.join(', ')})`)), 10_000);
        const check = (): void => {
          if (events.includes(`${type} ${dev}`)) {
            clearTimeout(timer);
            resolve();
          } else setTimeout(check, 50);
        };
        check();
      });
    watcher.on('attach', (d) => events.push(`attach ${d.device}`));
    watcher.on('detach', (d) => events.push(`detach ${d.device}`));
    hidden.on('attach', (d) => hiddenEvents.push(d.device));
    const ready = new Promise<DriveInfo[]>((resolve) => watcher.once('ready', resolve));
    watcher.start();
    hidden.start();
    const initial = await ready;
    assert.ok(initial.length > 0);
    assert.equal('selected' in watcher, false, 'the watcher holds no selection');
    const loop = attachLoop(t, 16 * 1024 * 1024);
    dev = loop.dev;
    await seen('attach');
    assert.ok(findDrive(watcher.drives, dev));
    loop.detach();
    await seen('detach');
    assert.equal(findDrive(watcher.drives, dev), undefined);
    assert.equal(hiddenEvents.includes(dev), false, 'without showAll a loop device is never reported');
  });

  test('the watcher reports a failing listing once and keeps polling', async () => {
    let calls = 0;
    const w = new DriveWatcher({
      showAll: false,
      intervalMs: 10,
      list: async () => {
        calls += 1;
        if (calls < 4) throw new Error('lsblk failed');
        return [normalizeDrive({ device: '/dev/sdz', size: 8e9, isRemovable: true, isUSB: true, busType: 'USB' })];
      },
    });
    const errors: string[] = [];
    const attached: string[] = [];
    w.on('error', (e) => errors.push(e.message));
    w.on('attach', (d) => attached.push(d.device));
    w.start();
    while (attached.length === 0) await new Promise((r) => setTimeout(r, 10));
    await w.stop();
    assert.deepEqual(errors, ['lsblk failed']);
    assert.deepEqual(attached, ['/dev/sdz']);
  });
});

describe('tsmedia drives', () => {
  const io = (): { out: string[]; err: string[]; io: { out(s: string): void; err(s: string): void } } => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (s) => out.push(s), err: (s) => err.push(s) } };
  };

  test('a table of the removable drives with reasons; --all adds the others; --json', async () => {
    const fx = await loadFixtures();
    const win = (fx.find((f) => f.file === 'win32-usb-fit-sata-nvme.drivelist.json') as Fixture).drives;
    const list = async (): Promise<DriveInfo[]> => win;
    const a = io();
    assert.equal(await runDrives([], a.io, { list }), 0);
    const text = a.out.join('\n');
    assert.match(text, /DEVICE\s+SIZE\s+BUS\s+FLAGS\s+MOUNTPOINTS\s+STATUS/);
    assert.match(text, /\\\\\.\\PhysicalDrive3\s+257 GB\s+USB\s+usb,removable\s+F:\\\s+confirm once/);
    assert.match(text, /TOO_LARGE: .*probably a hard disk/);
    assert.doesNotMatch(text, /PhysicalDrive2/);
    assert.match(text, /3 system, internal or virtual drive\(s\) not shown: "tsmedia drives --all" lists them/);
    const b = io();
    await runDrives(['--all'], b.io, { list });
    assert.match(b.out.join('\n'), /PhysicalDrive2.*system.*refused/);
    assert.match(b.out.join('\n'), /PhysicalDrive1 .*SATA.*confirm twice/);
    assert.match(b.out.join('\n'), /SYSTEM_DRIVE: .*is a system drive/);
    const c = io();
    await runDrives(['--json', '--all'], c.io, { list });
    const rows = JSON.parse(c.out.join('')) as (DriveInfo & { selectable: boolean; needsConfirmation: number })[];
    assert.equal(rows.length, 4);
    assert.deepEqual(rows.map((r) => [r.selectable, r.needsConfirmation]), [[true, 1], [true, 2], [false, 1], [true, 2]]);
    const bad = io();
    assert.equal(await runDrives(['--bogus'], bad.io, { list }), 1);
    assert.match(bad.err.join(''), /Unknown option '--bogus'/);
    const failing = io();
    assert.equal(await runDrives([], failing.io, { list: async () => Promise.reject(new Error('cannot list drives: lsblk is not installed.')) }), 2);
    assert.match(failing.err.join(''), /^tsmedia: cannot list drives/);
  });

  test('on this machine: the system disk is refused, with the reason', async (t) => {
    if (!requireOrSkip(t, process.platform === 'linux' && hasCommand('lsblk'), 'needs Linux with lsblk')) return;
    const a = io();
    assert.equal(await runDrives(['--all'], a.io), 0);
    assert.match(a.out.join('\n'), /SYSTEM_DRIVE|NOT_REMOVABLE/);
    assert.match(a.out.join('\n'), /HOLDS_SOURCE: .*holds what the media is made from/);
  });
});
