// The wizard's API for "refresh existing media" (issue 20), without a browser or root: readDriveMedia tells whether a
// listed drive holds tsmedia media (a USB image stands in for the drive's device), and startMedia's refresh job gives
// the change list (dry run: nothing written), refreshes, and refuses what a refresh is not.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { MediaEvent, MediaResultSummary, StartMediaRequest } from '../shared/ipc.js';
import type { MediaRequestBase } from '../shared/media.js';
import { createEngineApi, type EngineApi } from '../electron/host/EngineApi.js';
import { runCli, tempDir } from './helpers.js';
import { usbStick } from './support/driveFixtures.js';
import { addPackage, copySampleSite, randomFile, updatePackage } from './support/sites.js';

const MiB = 1024 * 1024;
const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

const base = (site: string): MediaRequestBase => ({
  site,
  taskSequenceId: 'SMP00010',
  distributionPoints: [],
  password: null,
  unattended: false,
  startDate: null,
  expireDate: null,
  label: 'Configuration Manager',
  autorun: false,
  i386Binaries: false,
  variables: [],
  prestartCommand: null,
  prestartFiles: null,
  applications: [],
  packages: ['SMP00091'],
  driverPackages: [],
  staging: null,
  detectDependencies: true,
  timestamp: null,
  skipVerify: false,
});

/** Runs a job to its end: its result, or its error event. */
async function runJob(api: EngineApi, req: StartMediaRequest, cancelAtOnce = false): Promise<{ done: MediaResultSummary | null; error: Extract<MediaEvent, { type: 'error' }> | null }> {
  const events: MediaEvent[] = [];
  let wake: () => void = () => undefined;
  const off = api.onMediaEvent((e) => {
    events.push(e);
    wake();
  });
  try {
    const { jobId } = await api.startMedia(req);
    if (cancelAtOnce) await api.cancelMedia(jobId);
    for (;;) {
      const end = events.find((e) => e.jobId === jobId && (e.type === 'done' || e.type === 'error'));
      // The job is gone (and the next may start) just after its last event went out, as a page sees it over its stream.
      if (end) await new Promise((ok) => setTimeout(ok, 20));
      if (end) return { done: end.type === 'done' ? end.result : null, error: end.type === 'error' ? end : null };
      await new Promise<void>((ok) => (wake = ok));
    }
  } finally {
    off();
  }
}

describe('engine API: refresh existing media', () => {
  test('readDriveMedia finds the manifest of a listed drive (label, task sequence, date); anything else is "not tsmedia media", with the reason', async (t) => {
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const img = join(dir, 'stick.img');
    const made = runCli(['create', '--task-sequence', 'SMP00010', '--media', 'usb', '--image', img, '--image-size', '64MiB', '--label', 'Lab media'], env);
    assert.equal(made.status, 0, made.stderr);
    const blank = join(dir, 'blank.img');
    writeFileSync(blank, '');
    truncateSync(blank, 64 * MiB);
    const api = createEngineApi({ userDataDir: join(dir, 'user'), listDrives: async () => [usbStick({ device: img, sizeBytes: 64 * MiB }), usbStick({ device: blank, sizeBytes: 64 * MiB }), usbStick({ device: join(dir, 'system.img'), isSystem: true })] });
    t.after(() => api.close());
    const found = await api.readDriveMedia({ device: img, showAll: false });
    assert.equal(found.found, true, JSON.stringify(found));
    if (found.found) {
      assert.equal(found.label, 'Lab media');
      assert.equal(found.taskSequenceId, 'SMP00010');
      assert.equal(found.taskSequenceName, 'Windows 11 Refresh (stand-alone)');
      assert.ok(!Number.isNaN(Date.parse(found.created)), found.created);
      assert.ok(found.files > 10);
    }
    const none = await api.readDriveMedia({ device: blank, showAll: false });
    assert.equal(none.found, false);
    if (!none.found) {
      assert.ok(none.reason.startsWith(`${blank}: `), none.reason);
      assert.equal(none.reason.split(blank).length, 2, `the drive is named once: ${none.reason}`);
    }
    const gone = await api.readDriveMedia({ device: join(dir, 'unplugged.img'), showAll: false });
    assert.deepEqual(gone, { device: join(dir, 'unplugged.img'), found: false, reason: `${join(dir, 'unplugged.img')} is not connected.` });
    const system = await api.readDriveMedia({ device: join(dir, 'system.img'), showAll: true });
    assert.equal(system.found, false);
    if (!system.found) assert.match(system.reason, /cannot be chosen/);
    await assert.rejects(api.call('readDriveMedia', [{ device: img }]), /field "showAll" is missing/);
  });

  test('startMedia refresh: the dry run gives the change list and writes nothing; the refresh writes it and verifies; a drive is confirmed, format and several drives are refused; a cancelled dry run says nothing was written', async (t) => {
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    process.env.XDG_STATE_HOME = env.XDG_STATE_HOME;
    const site = copySampleSite(join(dir, 'site'));
    const v1 = join(dir, 'v1.bin');
    randomFile(v1, 2 * MiB);
    await addPackage(site, 'SMP00091', [{ relativePath: 'payload.bin', sourcePath: v1 }], 'Payload');
    const img = join(dir, 'stick.img');
    const made = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00091', '--media', 'usb', '--image', img, '--image-size', '64MiB'], env);
    assert.equal(made.status, 0, made.stderr);
    const v2 = join(dir, 'v2.bin');
    randomFile(v2, 2 * MiB + 99);
    await updatePackage(site, 'SMP00091', [{ relativePath: 'payload.bin', sourcePath: v2 }]);

    const api = createEngineApi({ userDataDir: join(dir, 'user'), listDrives: async () => [usbStick({ device: img, sizeBytes: 64 * MiB })] });
    t.after(() => api.close());
    const imageTarget = { kind: 'image' as const, path: img, sizeBytes: 0, replace: null };
    const before = sha(img);

    const dry = await runJob(api, { kind: 'refresh', dryRun: true, request: { ...base(site), target: imageTarget, format: false } });
    assert.equal(dry.error, null, JSON.stringify(dry.error));
    assert.ok(dry.done?.refresh);
    assert.equal(dry.done.kind, 'refresh');
    assert.equal(dry.done.refresh.written, false);
    assert.deepEqual(dry.done.outputs, []);
    assert.ok(dry.done.refresh.changes.replaced.some((f) => f.path === 'SMS/PKG/SMP00091/payload.bin' && f.size === 2 * MiB + 99), JSON.stringify(dry.done.refresh.changes.replaced));
    assert.ok(dry.done.refresh.changes.bytesToWrite < dry.done.refresh.changes.fullBytes);
    assert.equal(sha(img), before, 'a dry run writes nothing');

    // A drive: the dry run needs no confirmation; the refresh as many as writing the drive needs.
    const drive = { kind: 'drive' as const, device: img, showAll: false, confirmations: [] };
    const dryDrive = await runJob(api, { kind: 'refresh', dryRun: true, request: { ...base(site), target: drive, format: false } });
    assert.equal(dryDrive.error, null, JSON.stringify(dryDrive.error));
    assert.equal(dryDrive.done?.refresh?.changes.target, img);
    await assert.rejects(api.startMedia({ kind: 'refresh', dryRun: false, request: { ...base(site), target: drive, format: false } }), /confirm/i);
    await assert.rejects(api.call('startMedia', [{ kind: 'refresh', dryRun: true, request: { ...base(site), target: imageTarget, format: true } }]), /format must be false/);
    await assert.rejects(api.call('startMedia', [{ kind: 'refresh', request: { ...base(site), target: imageTarget, format: false } }]), /field "dryRun"|dryRun must be true or false/);
    await assert.rejects(api.call('startMedia', [{ kind: 'usb', dryRun: true, request: { ...base(site), target: imageTarget, format: false } }]), /goes with a refresh only/);
    await assert.rejects(
      api.call('startMedia', [{ kind: 'refresh', dryRun: true, request: { ...base(site), target: drive, format: false, moreDrives: [{ ...drive, device: '/dev/sdz' }] } }]),
      /one drive at a time/,
    );
    assert.equal(sha(img), before);

    const cancelled = await runJob(api, { kind: 'refresh', dryRun: true, request: { ...base(site), target: imageTarget, format: false } }, true);
    assert.equal(cancelled.error?.code, 'cancelled', JSON.stringify(cancelled));
    assert.equal(cancelled.error?.detail?.code, 'REFRESH_PLAN_CANCELLED');
    assert.equal(sha(img), before);

    const real = await runJob(api, { kind: 'refresh', dryRun: false, request: { ...base(site), target: imageTarget, format: false } });
    assert.equal(real.error, null, JSON.stringify(real.error));
    assert.ok(real.done?.refresh);
    assert.equal(real.done.refresh.written, true);
    assert.equal(real.done.verified, true);
    assert.deepEqual(real.done.outputs.map((o) => o.path), [img]);
    assert.ok(real.done.refresh.bytesWritten > 2 * MiB && real.done.refresh.bytesWritten < real.done.refresh.changes.fullBytes);
    assert.notEqual(sha(img), before);
    const v = runCli(['verify', img], env);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });
});
