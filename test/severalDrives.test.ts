// Several USB drives in one run (issue 19), through the CLI on loop devices standing in for sticks (as root): one of
// 512-byte sectors, one of 4096-byte sectors, and one made read-only while the batch writes. The first two finish,
// verify, and hold the same files; the third is named with its cause; the run exits 2; the report lists every drive.
// The choosing rules come first: each drive confirmed by its own --yes-erase, never twice, always formatted.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { createUsbMedia } from '../electron/engine/media/UsbMediaBuilder.js';
import { VERIFY_AT_ONCE } from '../electron/engine/media/UsbBatchBuilder.js';
import { Site } from '../electron/engine/site/Site.js';
import { PrivilegedWriter } from '../electron/engine/drives/PrivilegedWriter.js';
import type { MediaProgress, UsbDriveTarget, UsbMediaRequest } from '../shared/media.js';
import { ROOT, hasCommand, requireOrSkip, runCli, tempDir } from './helpers.js';
import { runWithFault, sh } from './support/failingStorage.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

const MiB = 1024 * 1024;
const CLI = join(ROOT, 'bin', 'tsmedia.js');
const TOOLS = ['losetup', 'blockdev', 'fsck.fat'];
const canLoop = (): boolean => process.platform === 'linux' && process.getuid?.() === 0 && TOOLS.every(hasCommand);
const NO_LOOP = (): string => `needs Linux, root and ${TOOLS.join(', ')} (loop devices stand in for USB sticks; missing: ${TOOLS.filter((c) => !hasCommand(c)).join(', ') || 'none'})`;

function attach(t: TestContext, dir: string, name: string, bytes: number, sectorSize: number): { dev: string; img: string } {
  const img = join(dir, `${name}.img`);
  writeFileSync(img, '');
  truncateSync(img, bytes);
  const r = sh('losetup', ['-f', '--show', '--sector-size', String(sectorSize), img]);
  assert.equal(r.status, 0, r.out);
  const dev = r.out.split('\n')[0];
  t.after(() => {
    sh('blockdev', ['--setrw', dev]);
    sh('losetup', ['-d', dev]);
  });
  return { dev, img };
}

/** Every file of the drive's FAT32 volume with its SHA-256, read by the engine's reader of whole sectors. */
function filesOf(dev: string, sectorSize: number): Record<string, string> {
  const vol = openFat32(dev, { sectorSize });
  try {
    const out: Record<string, string> = {};
    for (const f of vol.files()) out[f.path] = createHash('sha256').update(vol.readFileBuffer(f.path)).digest('hex');
    return out;
  } finally {
    vol.close();
  }
}

describe('several USB drives in one run', () => {
  test('choosing: each drive needs its own --yes-erase; a drive named twice, --no-format and --image are refused before anything is written', (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP())) return;
    const dir = tempDir(t);
    const a = attach(t, dir, 'a', 128 * MiB, 512);
    const b = attach(t, dir, 'b', 128 * MiB, 512);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const base = ['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--all'];
    const only = runCli([...base, '--drive', a.dev, '--drive', b.dev, '--yes-erase', a.dev], env);
    assert.equal(only.status, 1, only.stderr);
    assert.match(only.stderr, new RegExp(`writing ${b.dev} .*ERASES everything on it\\. Confirm it once with --yes-erase ${b.dev}\\.`));
    const twice = runCli([...base, '--drive', a.dev, '--drive', a.dev, '--yes-erase', a.dev], env);
    assert.equal(twice.status, 1);
    assert.match(twice.stderr, new RegExp(`drive ${a.dev} is chosen twice`));
    const noFormat = runCli([...base, '--drive', a.dev, '--drive', b.dev, '--yes-erase', a.dev, '--yes-erase', b.dev, '--no-format'], env);
    assert.equal(noFormat.status, 1);
    assert.match(noFormat.stderr, /several --drive are always formatted/);
    const stranger = runCli([...base, '--drive', a.dev, '--drive', b.dev, '--yes-erase', a.dev, '--yes-erase', b.dev, '--yes-erase', '/dev/sdz'], env);
    assert.equal(stranger.status, 1);
    assert.match(stranger.stderr, new RegExp(`--yes-erase names /dev/sdz, but the drives to write are ${a.dev}, ${b.dev}`));
    for (const d of [a, b]) assert.ok(readFileSync(d.img).subarray(0, 1024 * 1024).every((x) => x === 0), `${d.dev} untouched`);
  });

  test('three loop devices (512 and 4096-byte sectors, one made read-only mid-write): two written, verified and alike file for file; the third named with its cause; exit 2; every drive in the report', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP())) return;
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    randomFile(join(dir, 'payload.bin'), 48 * MiB);
    await addPackage(site, 'SMP00099', [{ relativePath: 'payload.bin', sourcePath: join(dir, 'payload.bin') }], 'Batch payload');
    const d512 = attach(t, dir, 'd512', 256 * MiB, 512);
    const d4096 = attach(t, dir, 'd4096', 320 * MiB, 4096);
    const lost = attach(t, dir, 'lost', 256 * MiB, 512);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const args = ['create', '--site', site, '--media', 'usb', '--task-sequence', 'SMP00010', '--package', 'SMP00099', '--all', '--json'];
    for (const d of [d512, d4096, lost]) args.push('--drive', d.dev, '--yes-erase', d.dev);
    // The third drive's write protection comes on once the batch has written 24 MiB (all drives together).
    const setro = (pid: number): void => {
      process.kill(pid, 'SIGSTOP');
      try {
        assert.equal(sh('blockdev', ['--setro', lost.dev]).status, 0);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    };
    const r = await runWithFault({ argv: [process.execPath, CLI, ...args], env, afterBytes: 24 * MiB, inject: setro, timeoutMs: 240_000 });
    assert.ok(r.injected, 'the drive was made read-only while the batch was writing');
    assert.equal(r.status, 2, r.stderr);
    const result = JSON.parse(r.stdout) as { drives: { device: string; status: string; error: string | null; errorDetail: { code: string; params: Record<string, unknown> } | null; verified: boolean; sectorSize: number; clusterSize: number; sha256: string | null }[]; reportFiles: string[] };
    const byDevice = Object.fromEntries(result.drives.map((d) => [d.device, d]));
    assert.deepEqual(result.drives.map((d) => d.device), [d512.dev, d4096.dev, lost.dev], 'in the order chosen');
    for (const d of [d512, d4096]) {
      assert.equal(byDevice[d.dev].status, 'written', JSON.stringify(byDevice[d.dev]));
      assert.equal(byDevice[d.dev].verified, true);
    }
    assert.deepEqual([byDevice[d512.dev].sectorSize, byDevice[d4096.dev].sectorSize], [512, 4096], 'each planned for its own sectors');
    for (const d of [d512, d4096]) assert.match(byDevice[d.dev].sha256 ?? '', /^[0-9A-F]{64}$/i, `${d.dev}: the image hash of what was read back`);
    assert.notEqual(byDevice[d512.dev].sha256, byDevice[d4096.dev].sha256, 'different geometries, different volumes');
    assert.equal(byDevice[lost.dev].sha256, null);
    assert.equal(byDevice[lost.dev].status, 'failed');
    assert.match(byDevice[lost.dev].error ?? '', new RegExp(`${lost.dev}.*(read-only|permission denied).*incomplete volume`), 'the failed drive is named with its cause');
    // And as a code with its values, for the wizard's language: the system's error, what was being done, the drive now.
    const detail = byDevice[lost.dev].errorDetail;
    assert.equal(detail?.code, 'DRIVE_WRITE_FAILED', JSON.stringify(detail));
    assert.match(String(detail?.params.error), /^(EPERM|EROFS|EACCES)$/);
    assert.deepEqual({ ...detail?.params, error: 'E' }, { device: lost.dev, error: 'E', during: 'writing', now: 'readOnly' });
    for (const d of [d512, d4096]) assert.equal(byDevice[d.dev].errorDetail, null);

    // The written drives hold the same files (read independently of the run), and each reads clean.
    const a = filesOf(d512.dev, 512);
    const b = filesOf(d4096.dev, 4096);
    assert.ok(Object.keys(a).some((p) => /payload\.bin$/i.test(p)), 'the payload is on the drive');
    assert.deepEqual(b, a, 'both written drives hold the same files, byte for byte');
    for (const d of [d512, d4096]) assert.equal(runCli(['verify', d.dev]).status, 0, `tsmedia verify ${d.dev}`);
    const fsck = sh('fsck.fat', ['-n', `${d512.dev}p1`]);
    if (fsck.status !== 127 && !/No such file/.test(fsck.out)) assert.equal(fsck.status, 0, fsck.out);

    // The report: every drive with its result.
    const json = result.reportFiles.find((f) => f.endsWith('.json'));
    assert.ok(json, `a JSON report among ${result.reportFiles.join(', ')}`);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { drives: { device: string; status: string }[] };
    assert.deepEqual(report.drives.map((d) => `${d.device} ${d.status}`), [`${d512.dev} written`, `${d4096.dev} written`, `${lost.dev} failed`]);
    const md = readFileSync(json.replace(/\.json$/, '.md'), 'utf8');
    assert.match(md, new RegExp(`\\| ${lost.dev.replace(/\//g, '\\/')} \\| failed: `));
    assert.ok(readdirSync(join(dir, 'state')).length > 0);
  });

  test('the engine: one drive cancelled on its own while the others finish; every event carries all drives, never more than 4 events in a second', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP())) return;
    const dir = tempDir(t);
    const sitePath = copySampleSite(join(dir, 'site'));
    randomFile(join(dir, 'payload.bin'), 48 * MiB);
    await addPackage(sitePath, 'SMP00099', [{ relativePath: 'payload.bin', sourcePath: join(dir, 'payload.bin') }], 'Batch payload');
    const devs = ['a', 'b', 'c'].map((n) => attach(t, dir, n, 192 * MiB, 512).dev);
    const drive = (device: string): UsbDriveTarget => ({ kind: 'drive', device, showAll: true, confirmations: [device] });
    const req: UsbMediaRequest = {
      site: sitePath, taskSequenceId: 'SMP00010', distributionPoints: ['DP01'], password: null, unattended: false, startDate: null, expireDate: null, label: 'Batch',
      autorun: false, i386Binaries: false, variables: [], prestartCommand: null, prestartFiles: null, applications: [], packages: ['SMP00099'], driverPackages: [],
      staging: null, detectDependencies: true, timestamp: null, skipVerify: false, target: drive(devs[0]), moreDrives: [drive(devs[1]), drive(devs[2])], format: true,
    };
    const cancelB = new AbortController();
    const events: { at: number; p: MediaProgress }[] = [];
    const result = await createUsbMedia(await Site.open(sitePath), req, {
      userLogDir: null,
      driveSignal: (d) => (d === devs[1] ? cancelB.signal : undefined),
      onProgress: (p) => {
        events.push({ at: Date.now(), p });
        const b = p.drives?.[1];
        if (b && b.state === 'writing' && b.bytesDone > 8 * MiB) cancelB.abort();
      },
    });
    assert.ok(cancelB.signal.aborted, 'the second drive was cancelled mid-write');
    assert.deepEqual(result.drives?.map((d) => d.status), ['written', 'cancelled', 'written']);
    assert.deepEqual(result.drives?.map((d) => d.verified), [true, false, true]);
    assert.equal(result.verified, false, 'not every drive was written and verified');
    // Same geometry, same plan: what was read back from the two written drives hashes the same.
    const [a, , c] = result.drives ?? [];
    assert.match(a.sha256 ?? '', /^[0-9A-F]{64}$/i);
    assert.equal(c.sha256, a.sha256, 'two drives of one geometry hold the same volume');
    const withDrives = events.filter((e) => e.p.drives);
    assert.ok(withDrives.length > 3 && withDrives.every((e) => e.p.drives?.length === 3), 'each event carries the three drives');
    const verifying = withDrives.map((e) => (e.p.drives ?? []).filter((d) => d.state === 'verifying').length);
    // (Whether an event falls inside the read-back depends on its length: events are paced, the latest state wins.)
    assert.ok(verifying.every((n) => n <= VERIFY_AT_ONCE), `at most ${VERIFY_AT_ONCE} drives are read back at once: ${verifying.join(' ')}`);
    let most = 0;
    for (let i = 0, j = 0; i < events.length; i++) {
      while (events[i].at - events[j].at >= 1000) j++;
      most = Math.max(most, i - j + 1);
    }
    console.log(`# ${events.length} events, at most ${most} in a second, for 3 drives`);
    assert.ok(most <= 4, `${most} events in one second`);
  });

  test('one privileged writer for the batch: started once for every drive, it writes them all; drives it was not started for are refused', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP())) return;
    const dir = tempDir(t);
    const sitePath = copySampleSite(join(dir, 'site'));
    const a = attach(t, dir, 'a', 128 * MiB, 512).dev;
    const b = attach(t, dir, 'b', 320 * MiB, 4096).dev;
    const c = attach(t, dir, 'c', 128 * MiB, 512).dev;
    const drive = (device: string): UsbDriveTarget => ({ kind: 'drive', device, showAll: true, confirmations: [device] });
    const req: UsbMediaRequest = {
      site: sitePath, taskSequenceId: 'SMP00010', distributionPoints: ['DP01'], password: null, unattended: false, startDate: null, expireDate: null, label: 'Helper batch',
      autorun: false, i386Binaries: false, variables: [], prestartCommand: null, prestartFiles: null, applications: [], packages: [], driverPackages: [],
      staging: null, detectDependencies: true, timestamp: null, skipVerify: false, target: drive(a), moreDrives: [drive(b)], format: true,
    };
    const result = await createUsbMedia(await Site.open(sitePath), req, {
      userLogDir: join(dir, 'logs'),
      privileged: { method: 'none', always: true },
      onProgress: () => undefined,
    });
    assert.deepEqual(result.drives?.map((d) => `${d.device} ${d.status} ${d.verified}`), [`${a} written true`, `${b} written true`]);
    assert.equal(result.drives?.[0].sha256 === null, false);
    const log = readFileSync(result.logFiles[0], 'utf8');
    assert.match(log, /the privileged writer is running \(one for every drive of the batch\)/, 'the batch went through the helper');
    assert.equal((log.match(/the privileged writer is running/g) ?? []).length, 2, 'one line per drive, one helper');
    // The helper reads each drive back itself (this process may be unable to: Windows without elevation), with its hash.
    for (const [k, dev] of [a, b].entries()) {
      assert.match(log, new RegExp(`wrote \\d+ bytes to ${dev}; the privileged writer read every written byte back: it matches \\(SHA-256 ${result.drives?.[k].sha256}\\)`));
    }

    // The helper itself: started for a and b, it refuses a batch naming c, and a second confirmation.
    const w = await PrivilegedWriter.start(a, { method: 'none', timeoutMs: 10_000, devices: [a, b] });
    try {
      const job = { mode: 'erase' as const, readBack: false, writes: [{ layout: { size: 4096, regions: [{ offset: 0, data: Buffer.alloc(4096, 1) }], extents: [] }, gaps: 'zero' as const }] };
      await assert.rejects(w.runDriveBatch([{ device: a, ...job }, { device: c, ...job }]), new RegExp(`${c} is not a confirmed drive`));
      await assert.rejects(w.command({ type: 'allow-device', device: c }), /drives cannot be added|cannot be added/);
      assert.ok(readFileSync(join(dir, 'c.img')).subarray(0, 4096).every((x) => x === 0), `${c} untouched`);
      // A drive of the batch that cannot be written (read-only here) is said at once, with its code, before the results.
      assert.equal(sh('blockdev', ['--setro', b]).status, 0);
      const said: string[] = [];
      const results = await w.runDriveBatch([{ device: a, ...job }, { device: b, ...job }], {
        onDriveEnd: (i, outcome) => said.push(`${i} ${outcome.cancelled} ${outcome.detail?.code} ${outcome.detail?.params.error}: ${outcome.error}`),
      });
      assert.equal(said.length, 1, said.join('\n'));
      assert.match(said[0], new RegExp(`^1 false WRITE_FAILED (EPERM|EROFS|EACCES): .*${b}`));
      assert.deepEqual(results.map((r) => [r.device, r.error === null, r.errorDetail?.code ?? null]), [[a, true, null], [b, false, 'WRITE_FAILED']]);
    } finally {
      await w.dispose();
    }
  });
});
