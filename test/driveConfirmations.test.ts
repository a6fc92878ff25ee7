// The drive confirmations the engine enforces (issue 11, defect 4): one rule (shared/drives.ts) counts them for the
// wizard, the command line and the engine; the engine judges the drive with the request's own "show all drives",
// refuses system and read-only drives whatever it is sent — also where it opens the drive itself, without the
// privileged writer — and needs as many confirmations as the wizard shows, each naming the drive (more stay accepted).
// Through the engine API with a loop device as the drive: the listing is the one edge shaped, from recorded drivelist
// output (test/fixtures/drives), with the loop device in place of the recorded device.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DriveInfo } from '../shared/drives.js';
import type { MediaEvent } from '../shared/ipc.js';
import type { UsbMediaRequest } from '../shared/media.js';
import { checkDriveChoice } from '../electron/engine/drives/DriveChoice.js';
import { InputError } from '../electron/engine/errors.js';
import { Site } from '../electron/engine/site/Site.js';
import { createUsbMedia } from '../electron/engine/media/UsbMediaBuilder.js';
import { ApiError, createEngineApi, type EngineApi } from '../electron/host/EngineApi.js';
import { hasCommand, runCli, SAMPLE_SITE, tempDir } from './helpers.js';
import { baseRequest } from './support/hostClient.js';
import { fixtureDrive } from './support/driveFixtures.js';

const LOOP_BYTES = 256 * 1024 * 1024;
const canLoop = process.platform === 'linux' && process.getuid?.() === 0 && hasCommand('losetup') && hasCommand('mkfs.fat');
const skip = canLoop ? false : 'needs root, losetup and mkfs.fat (a loop device stands in for the drive)';

/** A recorded drive with this machine's loop device in its place (device and size), everything else as recorded. */
async function shaped(file: string, device: string, loop: string): Promise<DriveInfo> {
  return { ...(await fixtureDrive(file, device)), device: loop, rawDevice: null, sizeBytes: LOOP_BYTES };
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('drive confirmations: one rule for the wizard, the command line and the engine', () => {
  test('more confirmations than needed stay accepted; fewer, or one naming another device, are refused', async () => {
    const stick = await fixtureDrive('win32-usb-fit-sata-nvme.drivelist.json', '\\\\.\\PhysicalDrive3');
    const sata = await fixtureDrive('win32-usb-fit-sata-nvme.drivelist.json', '\\\\.\\PhysicalDrive1');
    const o = { neededBytes: 0, sourcePaths: [] };
    const target = (device: string, showAll: boolean, confirmations: string[]) => ({ kind: 'drive' as const, device, showAll, confirmations });
    // Windows device names compare case-insensitively, as drivelist and the wizard spell them differently.
    assert.equal(checkDriveChoice(target(stick.device, false, ['\\\\.\\PHYSICALDRIVE3']), [stick], o).evaluation.needsConfirmation, 1);
    assert.equal(checkDriveChoice(target(sata.device, true, [sata.device, sata.device, sata.device]), [sata], o).drive, sata);
    const refused = (t: ReturnType<typeof target>, drives: DriveInfo[], code: string): void => {
      assert.throws(() => checkDriveChoice(t, drives, o), (e: InputError) => e instanceof InputError && e.code === code, `${t.device} ${JSON.stringify(t.confirmations)}: ${code}`);
    };
    refused(target(stick.device, false, []), [stick], 'DRIVE_UNCONFIRMED');
    refused(target(sata.device, true, [sata.device]), [sata], 'DRIVE_UNCONFIRMED');
    refused(target(stick.device, false, [stick.device, sata.device]), [stick, sata], 'DRIVE_CONFIRMATION_MISMATCH');
    refused(target(sata.device, false, [sata.device, sata.device]), [sata], 'DRIVE_REFUSED');
    refused(target('\\\\.\\PhysicalDrive9', false, ['\\\\.\\PhysicalDrive9']), [stick], 'DRIVE_NOT_CONNECTED');
  });
});

describe('drive confirmations through the engine API, a loop device as the drive', { skip }, () => {
  let work: string;
  let img: string;
  let loop: string;
  let api: EngineApi;
  let drives: DriveInfo[] = [];
  const cleanups: (() => void)[] = [];

  before(async () => {
    work = tempDir({ after: (fn) => cleanups.push(fn) }, 'tsmedia-confirm-');
    process.env.XDG_STATE_HOME = join(work, 'state');
    img = join(work, 'drive.img');
    writeFileSync(img, '');
    truncateSync(img, LOOP_BYTES);
    const lo = spawnSync('losetup', ['-f', '--show', img], { encoding: 'utf8' });
    assert.equal(lo.status, 0, lo.stderr);
    loop = lo.stdout.trim();
    cleanups.unshift(() => spawnSync('losetup', ['-d', loop]));
    api = createEngineApi({ userDataDir: join(work, 'user-data'), listDrives: async () => drives });
  });

  after(async () => {
    await api?.close();
    for (const c of cleanups) c();
  });

  const start = (target: unknown, format = true): Promise<unknown> =>
    api.call('startMedia', [{ kind: 'usb', request: { ...baseRequest(), target, format } }]);

  /** Starts a run and waits for how it ends. */
  async function run(target: unknown): Promise<MediaEvent> {
    let jobId: string | null = null;
    const seen: MediaEvent[] = [];
    let ended: (e: MediaEvent) => void = () => undefined;
    const end = new Promise<MediaEvent>((ok) => (ended = ok));
    const off = api.onMediaEvent((e) => {
      seen.push(e);
      if (e.type !== 'progress' && e.jobId === jobId) ended(e);
    });
    try {
      ({ jobId } = (await start(target)) as { jobId: string });
      const early = seen.find((e) => e.type !== 'progress' && e.jobId === jobId);
      return early ?? (await end);
    } finally {
      off();
    }
  }

  const refusedWith = async (target: unknown, code: string, format = true): Promise<ApiError> => {
    let caught: unknown = null;
    try {
      await start(target, format);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof ApiError, `refused: ${JSON.stringify(target)} (${String(caught)})`);
    assert.equal(caught.code, 'invalid');
    assert.equal(caught.detail?.code, code, caught.message);
    return caught;
  };

  test('a system drive is refused with any number of confirmations, shown or not, formatted or not: nothing is written', async () => {
    // An SD card that drivelist reports as a system drive (Etcher issue 303), with a FAT32 volume on it, so a run that
    // wrote "into the existing volume" would change it.
    drives = [await shaped('linux-sd-card-reported-system-issue303.drivelist.json', '/dev/mmcblk0', loop)];
    assert.equal(spawnSync('mkfs.fat', ['-F', '32', '-n', 'SYSTEM', loop], { encoding: 'utf8' }).status, 0);
    spawnSync('sync');
    const before = sha(img);
    for (const showAll of [false, true]) {
      for (const confirmations of [[], [loop], [loop, loop], [loop, loop, loop]]) {
        for (const format of [true, false]) {
          const e = await refusedWith({ kind: 'drive', device: loop, showAll, confirmations }, 'DRIVE_REFUSED', format);
          assert.ok((e.detail?.params.constraints as string[]).includes('SYSTEM_DRIVE'), e.message);
          assert.match(e.message, /tsmedia never writes a system drive/);
        }
      }
    }
    // The engine itself, without the API's check in front: where it would open the drive itself (this process may),
    // it refuses before any write, formatting or adding to the existing volume.
    const site = await Site.open(SAMPLE_SITE);
    for (const format of [false, true]) {
      const req: UsbMediaRequest = { ...baseRequest(), target: { kind: 'drive', device: loop, showAll: true, confirmations: [loop, loop, loop] }, format };
      await assert.rejects(createUsbMedia(site, req, { listDrives: async () => drives, userLogDir: null }), (e: InputError) => e.code === 'DRIVE_REFUSED' && /system drive/.test(e.message));
    }
    spawnSync('sync');
    assert.equal(sha(img), before, 'the drive is unchanged');
  });

  test('an internal drive: hidden without "show all", confirmed twice naming it; one confirmation or another device is refused', async () => {
    // A SATA disk Windows reports as removable (drivelist's record): internal, so listed only with "show all drives".
    drives = [await shaped('win32-usb-fit-sata-nvme.drivelist.json', '\\\\.\\PhysicalDrive1', loop)];
    spawnSync('sync');
    const before = sha(img);
    const hidden = await refusedWith({ kind: 'drive', device: loop, showAll: false, confirmations: [loop, loop] }, 'DRIVE_REFUSED');
    assert.deepEqual(hidden.detail?.params.constraints, ['NOT_REMOVABLE']);
    const once = await refusedWith({ kind: 'drive', device: loop, showAll: true, confirmations: [loop] }, 'DRIVE_UNCONFIRMED');
    assert.deepEqual(once.detail?.params, { device: loop, count: 2, given: 1 });
    assert.match(once.message, /must be confirmed twice, naming it \(1 given\)/);
    const other = await refusedWith({ kind: 'drive', device: loop, showAll: true, confirmations: [loop, '/dev/sdz'] }, 'DRIVE_CONFIRMATION_MISMATCH');
    assert.deepEqual(other.detail?.params, { device: loop, named: '/dev/sdz' });
    await refusedWith({ kind: 'drive', device: loop, showAll: true, confirmations: [] }, 'DRIVE_UNCONFIRMED');
    spawnSync('sync');
    assert.equal(sha(img), before, 'nothing was written');
  });

  test('the right count writes it: two confirmations naming the internal drive, then verified; "tsmedia verify" agrees', async () => {
    drives = [await shaped('win32-usb-fit-sata-nvme.drivelist.json', '\\\\.\\PhysicalDrive1', loop)];
    const end = await run({ kind: 'drive', device: loop, showAll: true, confirmations: [loop, loop] });
    assert.equal(end.type, 'done', JSON.stringify(end));
    if (end.type !== 'done') return;
    assert.equal(end.result.verified, true);
    assert.deepEqual(end.result.outputs.map((o) => o.path), [loop]);
    const v = runCli(['verify', loop]);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });
});
