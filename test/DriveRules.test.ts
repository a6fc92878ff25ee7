// The drive contract of shared/drives.ts on its own, with drives written out here (no recorded listings, no devices):
// which mount points mean the running system, when a mountpoint holds a path, the sizes as drives are sold, and every
// constraint's sentence and values, each with "show all drives" off and on. Fast on purpose: the `drives` mutation
// group runs it against every mutant (scripts/mutate-groups.js).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  DEFAULT_LARGE_DRIVE_BYTES,
  DRIVE_CONSTRAINT_CODES,
  confirmationTimes,
  confirmationsSatisfied,
  decimalSize,
  evaluateDrive,
  formatDriveSize,
  isSystemMountpoint,
  mountpointContains,
  type DriveConstraint,
  type DriveEvaluationOptions,
  type DriveInfo,
} from '../shared/drives.js';
import { ROOT } from './helpers.js';
import { usbStick } from './support/driveFixtures.js';

const GB = 1e9;

const drive = usbStick;

const options = (over: Partial<DriveEvaluationOptions> = {}): DriveEvaluationOptions => ({ neededBytes: 8 * GB, sourcePaths: [], showAll: false, ...over });
const NAME = '/dev/sdx (Kingston DataTraveler)';
const BASE = { device: '/dev/sdx', description: 'Kingston DataTraveler', card: false };
const HINT = ' Shown only with "show all drives".';

describe('system mount points', () => {
  test('root, boot, EFI, /usr, /var, /home, swap and the macOS system volumes mean the running system; other places do not', () => {
    for (const p of ['/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '/home', '[SWAP]', '/System/Volumes/Data', '/private/var/vm']) {
      assert.equal(isSystemMountpoint(p), true, p);
    }
    for (const p of ['/media/ana/STICK', '/Volumes/STICK', '/home/ana', '/boot2', '/mnt', '', 'E:\\', '[SOMETHING]']) {
      assert.equal(isSystemMountpoint(p), false, JSON.stringify(p));
    }
  });

  test('the Windows system drive (%SystemDrive%, "C:") and what is mounted on it; without one, no Windows path is a system one', () => {
    assert.equal(isSystemMountpoint('C:\\', 'C:'), true);
    assert.equal(isSystemMountpoint('c:\\', 'C:'), true, 'case does not matter');
    assert.equal(isSystemMountpoint('C:', 'C:'), true, 'C: is C:\\');
    assert.equal(isSystemMountpoint('C:\\', 'C:\\'), true, 'the system drive given with its backslash');
    assert.equal(isSystemMountpoint('C:/', 'c:'), true);
    assert.equal(isSystemMountpoint('C:\\mount\\data', 'C:'), true, 'a volume mounted in a folder of C:');
    assert.equal(isSystemMountpoint('C:\\mount\\data', 'C:\\'), true, 'the same with the system drive given as C:\\');
    // Given as a folder (not what %SystemDrive% holds, but the rule is the same): below it, at a path boundary.
    assert.equal(isSystemMountpoint('C:\\Windows\\mnt', 'C:\\Windows'), true);
    assert.equal(isSystemMountpoint('C:\\WindowsApps', 'C:\\Windows'), false);
    assert.equal(isSystemMountpoint('\\\\?\\C:\\', 'C:'), true, 'the long form');
    assert.equal(isSystemMountpoint('D:\\', 'C:'), false);
    assert.equal(isSystemMountpoint('D:\\C:', 'C:'), false);
    assert.equal(isSystemMountpoint('\\\\server\\c$', 'C:'), false);
    assert.equal(isSystemMountpoint('/media/c', 'C:'), false, 'a POSIX path is never on the Windows system drive');
    assert.equal(isSystemMountpoint('C:\\', null), false, 'no system drive known');
    assert.equal(isSystemMountpoint('C:\\', ''), false);
  });
});

describe('a mountpoint holds a path', () => {
  test('POSIX: itself and what is below it, at a path boundary; trailing slashes on either side do not matter; case does', () => {
    assert.equal(mountpointContains('/media/ana/STICK', '/media/ana/STICK'), true);
    assert.equal(mountpointContains('/media/ana/STICK', '/media/ana/STICK/site/x'), true);
    assert.equal(mountpointContains('/media/ana/STICK//', '/media/ana/STICK'), true, 'mount with trailing slashes');
    assert.equal(mountpointContains('/media/ana/STICK', '/media/ana/STICK//'), true, 'path with trailing slashes');
    assert.equal(mountpointContains('/media/ana/STICK', '/media/ana/STICKY'), false);
    assert.equal(mountpointContains('/media/ana/STICK', '/media/ana'), false, 'a parent is not held');
    assert.equal(mountpointContains('/media/ana/stick', '/media/ana/STICK/site'), false, 'POSIX paths keep their case');
    assert.equal(mountpointContains('/media/A:B', '/media/a:b/site'), false, 'a colon inside a POSIX path does not make it a Windows one');
  });

  test('the root holds every absolute POSIX path and nothing else', () => {
    assert.equal(mountpointContains('/', '/'), true);
    assert.equal(mountpointContains('/', '/srv/site'), true);
    assert.equal(mountpointContains('/', 'site'), false, 'a relative path');
    assert.equal(mountpointContains('/', ''), false);
    assert.equal(mountpointContains('/', 'C:\\site'), false);
    assert.equal(mountpointContains('/', '\\\\server\\share\\site'), false, 'a share is not under /');
  });

  test('no mountpoint and pseudo-entries such as [SWAP] hold nothing', () => {
    assert.equal(mountpointContains('', '/srv/site'), false);
    assert.equal(mountpointContains('', ''), false);
    assert.equal(mountpointContains('[SWAP]', '[SWAP]'), false);
    assert.equal(mountpointContains('[SWAP]', '[SWAP]/x'), false);
  });

  test('Windows: case and slashes do not matter, the long forms are the plain ones, shares too; Windows and POSIX never mix', () => {
    assert.equal(mountpointContains('E:\\', 'e:\\site'), true);
    assert.equal(mountpointContains('E:\\', 'E:\\'), true);
    assert.equal(mountpointContains('E:', 'E:'), true);
    assert.equal(mountpointContains('E:\\Data\\\\', 'e:\\data'), true, 'mount with trailing backslashes');
    assert.equal(mountpointContains('E:\\Data', 'E:\\Data\\\\'), true, 'path with trailing backslashes');
    assert.equal(mountpointContains('E:\\Data', 'E:\\Database'), false, 'a path boundary, not a string prefix');
    assert.equal(mountpointContains('\\\\?\\E:\\', 'E:\\site'), true, 'the long form of the mount');
    assert.equal(mountpointContains('E:\\', '\\\\?\\E:\\site'), true, 'the long form of the path');
    assert.equal(mountpointContains('\\\\Server\\Share', '\\\\server\\share\\site'), true);
    assert.equal(mountpointContains('\\\\server\\share', '\\\\?\\UNC\\server\\share\\site'), true);
    assert.equal(mountpointContains('\\\\server\\share', '\\\\server\\shared'), false);
    assert.equal(mountpointContains('E:\\', '/E:/site'), false);
    assert.equal(mountpointContains('/mnt/e', 'E:\\'), false);
    assert.equal(mountpointContains('C:\\', '\\\\server\\share'), false);
  });
});

describe('sizes as drives are sold', () => {
  test('decimalSize: decimal units from B to TB, moving up at 1000', () => {
    assert.deepEqual(decimalSize(0), { value: 0, unit: 'B' });
    assert.deepEqual(decimalSize(999), { value: 999, unit: 'B' });
    assert.deepEqual(decimalSize(1000), { value: 1, unit: 'kB' });
    assert.deepEqual(decimalSize(1500), { value: 1.5, unit: 'kB' });
    assert.deepEqual(decimalSize(999_999), { value: 999.999, unit: 'kB' });
    assert.deepEqual(decimalSize(2e6), { value: 2, unit: 'MB' });
    assert.deepEqual(decimalSize(16e9), { value: 16, unit: 'GB' });
    assert.deepEqual(decimalSize(4e12), { value: 4, unit: 'TB' });
    assert.deepEqual(decimalSize(2e15), { value: 2000, unit: 'TB' }, 'TB is the last unit');
  });

  test('formatDriveSize: one decimal under 10, whole numbers from 10, bytes as they are; "no medium" for no size', () => {
    assert.equal(formatDriveSize(999), '999 B');
    assert.equal(formatDriveSize(1000), '1.0 kB');
    assert.equal(formatDriveSize(7_812_500), '7.8 MB');
    assert.equal(formatDriveSize(9.9e9), '9.9 GB');
    assert.equal(formatDriveSize(10e9), '10 GB');
    assert.equal(formatDriveSize(15.6e9), '16 GB');
    assert.equal(formatDriveSize(128e9), '128 GB');
    assert.equal(formatDriveSize(2e12), '2.0 TB');
    assert.equal(formatDriveSize(1.5e15), '1500 TB');
    assert.equal(formatDriveSize(1), '1 B');
    for (const none of [null, 0, -1, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(formatDriveSize(none), 'no medium', String(none));
  });

  test('the large-drive line is 128 GB', () => {
    assert.equal(DEFAULT_LARGE_DRIVE_BYTES, 128 * GB);
  });
});

describe('each constraint, its sentence and its values', () => {
  const only = (d: DriveInfo, showAll: boolean, over: Partial<DriveEvaluationOptions> = {}): DriveConstraint[] =>
    evaluateDrive(d, options({ showAll, ...over })).constraints;

  test('a USB stick of the right size has none: selectable, listed, confirmed once', () => {
    assert.deepEqual(evaluateDrive(drive(), options()), { selectable: true, hidden: false, needsConfirmation: 1, constraints: [] });
    assert.deepEqual(evaluateDrive(drive(), options({ showAll: true })), { selectable: true, hidden: false, needsConfirmation: 1, constraints: [] });
  });

  test('a system drive: refused with "show all drives" too, listed only with it', () => {
    const sys = drive({ isSystem: true, isRemovable: false });
    const message = `${NAME} is a system drive: it holds or may hold the operating system. tsmedia never writes a system drive.`;
    assert.deepEqual(evaluateDrive(sys, options()), {
      selectable: false,
      hidden: true,
      needsConfirmation: 1,
      constraints: [{ code: 'SYSTEM_DRIVE', severity: 'error', message: message + HINT, params: { ...BASE, showAllHint: 'list' } }],
    });
    assert.deepEqual(evaluateDrive(sys, options({ showAll: true })), {
      selectable: false,
      hidden: false,
      needsConfirmation: 1,
      constraints: [{ code: 'SYSTEM_DRIVE', severity: 'error', message, params: BASE }],
    });
    // A removable drive the system runs from is still a system drive, and hidden.
    assert.equal(evaluateDrive(drive({ isSystem: true }), options()).hidden, true);
  });

  test('a card reader reported as a system drive says internal readers often are', () => {
    const sd = drive({ device: '/dev/mmcblk0', description: '', isCard: true, isSystem: true, busType: 'SD' });
    assert.deepEqual(only(sd, true), [
      {
        code: 'SYSTEM_DRIVE',
        severity: 'error',
        message: '/dev/mmcblk0 is reported as a system drive by the operating system (internal card readers often are). tsmedia never writes a system drive.',
        params: { device: '/dev/mmcblk0', description: '', card: true },
      },
    ]);
  });

  test('a read-only drive: refused, listed, the same with "show all drives"; a card asks about its lock switch', () => {
    const message = `${NAME} is read-only. Unlock it and plug it in again; it cannot be written while it stays read-only.`;
    for (const showAll of [false, true]) {
      const e = evaluateDrive(drive({ isReadOnly: true }), options({ showAll }));
      assert.deepEqual(e, { selectable: false, hidden: false, needsConfirmation: 1, constraints: [{ code: 'READ_ONLY', severity: 'error', message, params: BASE }] });
    }
    assert.deepEqual(only(drive({ isReadOnly: true, isCard: true }), false), [
      {
        code: 'READ_ONLY',
        severity: 'error',
        message: `${NAME} is read-only (is the card's lock switch on?). Unlock it and plug it in again; it cannot be written while it stays read-only.`,
        params: { ...BASE, card: true },
      },
    ]);
  });

  test('a virtual device: hidden and refused without "show all drives", with it a warning confirmed once', () => {
    const img = drive({ device: '/dev/loop3', description: '', isVirtual: true, busType: 'Virtual', isRemovable: false });
    const message = '/dev/loop3 is a virtual device (a disk image, loop device or RAM disk), not a USB drive.';
    const params = { device: '/dev/loop3', description: '', card: false };
    assert.deepEqual(evaluateDrive(img, options()), {
      selectable: false,
      hidden: true,
      needsConfirmation: 1,
      constraints: [{ code: 'VIRTUAL', severity: 'error', message: message + HINT, params: { ...params, showAllHint: 'list' } }],
    });
    assert.deepEqual(evaluateDrive(img, options({ showAll: true })), {
      selectable: true,
      hidden: false,
      needsConfirmation: 1,
      constraints: [{ code: 'VIRTUAL', severity: 'warning', message, params }],
    });
    assert.equal(evaluateDrive(drive({ isVirtual: true }), options()).hidden, true, 'a removable virtual device is hidden too');
  });

  test('an internal drive: hidden and refused without "show all drives", with it a warning confirmed twice', () => {
    const sata = drive({ device: '/dev/sdb', description: 'WDC WD10EZEX', busType: 'SATA', isRemovable: false, isUSB: false, sizeBytes: 100 * GB });
    const message = '/dev/sdb (WDC WD10EZEX) is an internal (non-removable) drive, not a USB drive. Writing it erases everything on it.';
    const params = { device: '/dev/sdb', description: 'WDC WD10EZEX', card: false };
    assert.deepEqual(evaluateDrive(sata, options()), {
      selectable: false,
      hidden: true,
      needsConfirmation: 2,
      constraints: [{ code: 'NOT_REMOVABLE', severity: 'error', message: message + HINT, params: { ...params, showAllHint: 'list' } }],
    });
    const all = evaluateDrive(sata, options({ showAll: true }));
    assert.deepEqual(all, { selectable: true, hidden: false, needsConfirmation: 2, constraints: [{ code: 'NOT_REMOVABLE', severity: 'warning', message, params }] });
    assert.deepEqual([0, 1, 2, 3].map((n) => confirmationsSatisfied(all, n)), [false, false, true, true]);
  });

  test('one reason a drive is listed only with "show all drives", never two: system before internal, virtual before internal', () => {
    assert.deepEqual(only(drive({ isSystem: true, isRemovable: false }), true).map((c) => c.code), ['SYSTEM_DRIVE']);
    assert.deepEqual(only(drive({ isVirtual: true, isRemovable: false }), true).map((c) => c.code), ['VIRTUAL']);
    assert.deepEqual(only(drive({ isSystem: true, isVirtual: true, isReadOnly: true }), true).map((c) => c.code), ['SYSTEM_DRIVE', 'READ_ONLY', 'VIRTUAL']);
    // Two confirmations only for an internal drive that may be written; a system one is refused and asks for none more.
    assert.equal(evaluateDrive(drive({ isSystem: true, isRemovable: false }), options({ showAll: true })).needsConfirmation, 1);
  });

  test('holding a source: the sources held and the mountpoints holding them, each in its order, and nothing else', () => {
    const d = drive({
      mountpoints: [
        { path: '/media/ana/STICK', label: 'STICK' },
        { path: '/media/ana/OTHER', label: 'OTHER' },
        { path: '/media/ana/SPARE', label: 'SPARE' },
      ],
    });
    const sourcePaths = ['/srv/site', '/media/ana/OTHER/app', '/media/ana/STICK/site', '/media/ana/STICKY/x'];
    assert.deepEqual(only(d, true, { sourcePaths }), [
      {
        code: 'HOLDS_SOURCE',
        severity: 'error',
        message: `${NAME} holds what the media is made from (/media/ana/OTHER/app, /media/ana/STICK/site on /media/ana/STICK, /media/ana/OTHER). Choose another drive.`,
        params: { ...BASE, mountpoints: ['/media/ana/STICK', '/media/ana/OTHER'], sourcePaths: ['/media/ana/OTHER/app', '/media/ana/STICK/site'] },
      },
    ]);
    assert.deepEqual(only(d, true, { sourcePaths: ['/srv/site', '/media/ana/STICKY/x'] }), [], 'sources elsewhere');
    assert.equal(evaluateDrive(d, options({ sourcePaths })).selectable, false);
  });

  test('size: none reported, too small (one byte short), exactly enough, and very large above the line', () => {
    assert.deepEqual(only(drive({ sizeBytes: null }), false), [
      {
        code: 'TOO_SMALL',
        severity: 'error',
        message: `${NAME} reports no size: is a card or medium inserted? The media needs 8.0 GB.`,
        params: { ...BASE, neededBytes: 8 * GB, hasBytes: null },
      },
    ]);
    assert.deepEqual(only(drive({ sizeBytes: 0 }), false, { neededBytes: 0 }), [
      { code: 'TOO_SMALL', severity: 'error', message: `${NAME} reports no size: is a card or medium inserted?`, params: { ...BASE, neededBytes: 0, hasBytes: null } },
    ]);
    assert.deepEqual(only(drive({ sizeBytes: -1 }), false).map((c) => c.params.hasBytes), [null]);
    assert.deepEqual(only(drive({ sizeBytes: 4 * GB }), false, { neededBytes: 4 * GB + 1 }), [
      {
        code: 'TOO_SMALL',
        severity: 'error',
        message: `${NAME} is too small: the media needs 4.0 GB (4000000001 bytes), the drive has 4.0 GB (4000000000 bytes).`,
        params: { ...BASE, neededBytes: 4 * GB + 1, hasBytes: 4 * GB },
      },
    ]);
    assert.deepEqual(only(drive({ sizeBytes: 4 * GB }), false, { neededBytes: 4 * GB }), []);
    assert.deepEqual(only(drive({ sizeBytes: 1 }), false, { neededBytes: 0 }), [], 'nothing needed yet: any size will do');
    const big = drive({ sizeBytes: 256 * GB });
    const large = {
      code: 'TOO_LARGE',
      severity: 'warning',
      message: `${NAME} is very large (256 GB): it is probably a hard disk, not a USB stick. Make sure it is the drive you mean.`,
      params: { ...BASE, hasBytes: 256 * GB },
    };
    assert.deepEqual(evaluateDrive(big, options()), { selectable: true, hidden: false, needsConfirmation: 1, constraints: [large] });
    assert.deepEqual(only(drive({ sizeBytes: 128 * GB }), false), []);
    assert.deepEqual(only(drive({ sizeBytes: 64 * GB }), false, { largeDriveBytes: 32 * GB }).map((c) => c.code), ['TOO_LARGE']);
    assert.deepEqual(only(drive({ sizeBytes: 64 * GB }), false, { largeDriveBytes: 64 * GB }), []);
    assert.deepEqual(only(drive({ sizeBytes: 4 * GB }), false, { neededBytes: 8 * GB, largeDriveBytes: GB }).map((c) => c.code), ['TOO_SMALL'], 'too small is not also too large');
  });

  test('a warning alone leaves a drive selectable; any error does not, and no confirmation lifts it', () => {
    const warned = evaluateDrive(drive({ sizeBytes: 256 * GB, isRemovable: false }), options({ showAll: true }));
    assert.deepEqual(warned.constraints.map((c) => c.severity), ['warning', 'warning']);
    assert.equal(warned.selectable, true);
    const refused = evaluateDrive(drive({ sizeBytes: 256 * GB, isReadOnly: true }), options({ showAll: true }));
    assert.deepEqual(refused.constraints.map((c) => c.severity), ['error', 'warning']);
    assert.equal(refused.selectable, false);
    assert.deepEqual([0, 1, 2, 5].map((n) => confirmationsSatisfied(refused, n)), [false, false, false, false]);
    const stick = evaluateDrive(drive(), options());
    assert.deepEqual([0, 1, 2].map((n) => confirmationsSatisfied(stick, n)), [false, true, true]);
  });

  test('confirmationTimes: once, twice, then a number', () => {
    assert.deepEqual([1, 2, 3, 4].map(confirmationTimes), ['once', 'twice', '3 times', '4 times']);
  });
});

describe('the constraint codes', () => {
  test('DRIVE_CONSTRAINT_CODES are exactly the codes evaluateDrive raises, and the wizard has a title and a sentence for each in every language', () => {
    const raised = new Set<string>();
    const cases: [Partial<DriveInfo>, Partial<DriveEvaluationOptions>][] = [
      [{ isSystem: true, isReadOnly: true }, {}],
      [{ isVirtual: true, sizeBytes: 1 }, {}],
      [{ isRemovable: false, sizeBytes: 256 * GB }, {}],
      [{ mountpoints: [{ path: '/media/a', label: null }] }, { sourcePaths: ['/media/a/site'] }],
    ];
    for (const [d, o] of cases) for (const c of evaluateDrive(drive(d), options(o)).constraints) raised.add(c.code);
    assert.deepEqual([...raised].sort(), [...DRIVE_CONSTRAINT_CODES].sort());
    assert.equal(new Set(DRIVE_CONSTRAINT_CODES).size, 7);
    for (const lang of ['en', 'es']) {
      const locale = JSON.parse(readFileSync(join(ROOT, 'renderer', 'src', 'locales', `${lang}.json`), 'utf8')) as Record<string, Record<string, string>>;
      for (const code of DRIVE_CONSTRAINT_CODES) {
        assert.ok(locale.driveConstraint[code], `${lang}: driveConstraint.${code}`);
        assert.ok(locale.driveMessage[code], `${lang}: driveMessage.${code}`);
      }
    }
  });
});
