// Failing disks, for real: the CLI's writers run against storage that fails under them — an ext4 file system that
// fills up mid-write (ENOSPC), I/O errors injected into the writer's own system calls by libfiu (EIO on pwrite and
// fsync), read-only targets (a read-only mount, a read-only loop device, a drive made read-only mid-write), and a
// FUSE file system whose daemon is killed mid-write (ENOTCONN). Each run must end with an error naming the cause,
// exit non-zero, leave no temporary file, and keep the earlier ISO set and USB image byte for byte.
// Skipped, with the reason printed, without root (mounts, loop devices) or without the tools (./scripts/setup.sh).
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { ROOT, requireOrSkip, runCli } from './helpers.js';
import { Ext4Volume, FuseMirror, Scratch, fileSha256, fusePython, isRoot, missingTools, partials, runWithFault, sh, snapshot, type FaultRun } from './support/failingStorage.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

const CLI = join(ROOT, 'bin', 'tsmedia.js');
const MiB = 1024 * 1024;
/** The payload that makes the failing runs long enough to be hit mid-write (the earlier media are small). */
const PAYLOAD_MIB = 64;
/** Faults are injected once the CLI has written this much. */
const AFTER_BYTES = 8 * MiB;

interface Outcome {
  case: string;
  fault: string;
  exit: string;
  ms: number;
  message: string;
}
const outcomes: Outcome[] = [];
let faultsInjected = 0;

let bigSite = '';
let shared: Scratch;

const isoArgs = (out: string): string[] => ['create', '--site', bigSite, '--task-sequence', 'SMP00010', '--package', 'SMP00099', '--out', out];
const usbArgs = (img: string): string[] => ['create', '--site', bigSite, '--media', 'usb', '--task-sequence', 'SMP00010', '--package', 'SMP00099', '--image', img, '--image-size', '256MiB'];
/** The bundled sample site alone (2 MiB of media): for targets refused before writing, where size does not matter. */
const smallIsoArgs = (out: string): string[] => ['create', '--task-sequence', 'SMP00010', '--out', out];
const smallUsbArgs = (img: string, ...more: string[]): string[] => ['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', img, ...more];
const driveArgs = (dev: string): string[] => ['create', '--site', bigSite, '--media', 'usb', '--task-sequence', 'SMP00010', '--package', 'SMP00099', '--drive', dev, '--all', '--yes-erase', dev, '--yes-erase', dev];

const escapeRe = (s: string): RegExp => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
/** The CLI's error line. */
const errorLine = (stderr: string): string => stderr.split('\n').filter((l) => l.startsWith('tsmedia: ')).join(' ') || stderr.trim().split('\n').slice(-1)[0] || '';

/** A good run into the folder first: an ISO set (media.iso, .sha256, reports) and a USB image (usb.img, reports). */
function makeEarlierMedia(out: string, env: NodeJS.ProcessEnv): void {
  const iso = runCli(['create', '--task-sequence', 'SMP00010', '--out', join(out, 'media.iso')], env);
  assert.equal(iso.status, 0, `the earlier ISO: ${iso.stderr}`);
  const usb = runCli(['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', join(out, 'usb.img'), '--image-size', '96MiB'], env);
  assert.equal(usb.status, 0, `the earlier USB image: ${usb.stderr}`);
}

interface Expect {
  /** Where the earlier media and the temporary files are (for FUSE: the backing folder). */
  dir: string;
  before: Record<string, string>;
  exit: number | number[];
  cause: RegExp;
  /** What the message must name (the output folder, the image, the device). */
  names: RegExp;
  /** Set where the message cannot name it yet (the fix belongs in a file another change owns). */
  namesTodo?: string;
  /** A dead file system cannot remove anything: its partial files go at the next run (checked by the test). */
  partialsMayRemain?: boolean;
}

async function expectFailure(t: TestContext, label: string, fault: string, r: FaultRun, e: Expect): Promise<void> {
  const line = errorLine(r.stderr);
  outcomes.push({ case: label, fault, exit: r.timedOut ? 'hung (killed)' : String(r.status ?? r.signal), ms: r.ms, message: line.replace(/^tsmedia: /, '') });
  const what = `${label}:\n${r.stdout}${r.stderr}`;
  assert.ok(r.injected, `${label}: the run ended before the fault could be injected (it was not mid-write):\n${r.stderr}`);
  assert.ok(!r.timedOut, `${label}: the CLI hung (killed after the time limit)`);
  assert.ok((Array.isArray(e.exit) ? e.exit : [e.exit]).includes(r.status ?? -1), `${label}: exit ${r.status} (${r.signal}), expected ${String(e.exit)}\n${what}`);
  assert.doesNotMatch(r.stdout, /created/, `${label}: success reported`);
  assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, `${label}: an unexpected error or a stack trace`);
  assert.match(line, e.cause, `${label}: the cause is not said`);
  await t.test(`${label}: the message names ${e.names.source.replace(/\\/g, '')}`, e.namesTodo ? { todo: e.namesTodo } : {}, () => {
    assert.match(line, e.names);
  });
  if (!e.partialsMayRemain) assert.deepEqual(partials(e.dir), [], `${label}: temporary files removed`);
  assert.deepEqual(snapshot(e.dir), e.before, `${label}: the earlier media are intact, byte for byte, and nothing new is under a final name`);
}

/** The fix for ISO messages is in the writer thread (electron/engine/io/ImageWriter.ts, imageWorker.ts), which another change owns. */

/** A fresh ext4 on a loop device with an output folder holding earlier media; null when the test was skipped (said why). */
function ext4Output(
  t: TestContext,
  name: string,
  mib: number,
  tools: string[],
  rootReason: string,
  packages: string,
): { s: Scratch; vol: Ext4Volume; out: string; env: NodeJS.ProcessEnv; earlier: ReturnType<typeof snapshot> } | null {
  if (!requireOrSkip(t, isRoot(), rootReason)) return null;
  const miss = missingTools(['mkfs.ext4', 'losetup', 'mount', 'umount', ...tools]);
  if (!requireOrSkip(t, miss.length === 0, `missing ${miss.join(', ')} (${packages})`)) return null;
  const s = new Scratch(t);
  let vol: Ext4Volume;
  try {
    vol = Ext4Volume.create(s, name, mib);
  } catch (err) {
    requireOrSkip(t, false, `cannot mount an ext4 loop device here: ${(err as Error).message}`);
    return null;
  }
  const out = join(vol.mountpoint, 'out');
  mkdirSync(out);
  const env = { XDG_STATE_HOME: s.path('state') };
  makeEarlierMedia(out, env);
  return { s, vol, out, env, earlier: snapshot(out) };
}

describe('failing disks', () => {
  before(async () => {
    shared = new Scratch(null, 'tsmedia-faults-site-');
    bigSite = copySampleSite(shared.path('site'));
    randomFile(shared.path('payload.bin'), PAYLOAD_MIB * MiB);
    await addPackage(bigSite, 'SMP00099', [{ relativePath: 'payload.bin', sourcePath: shared.path('payload.bin') }], 'Failing-disk payload');
  });

  after(() => {
    shared.cleanup();
    if (outcomes.length === 0) return;
    console.log(`# failing disks: ${faultsInjected} faults injected, ${outcomes.length} runs`);
    for (const o of outcomes) console.log(`#   ${o.case} | ${o.fault} | exit ${o.exit} | ${o.ms} ms | ${o.message}`);
  });

  test('a disk that fills up (ENOSPC): refused when the media cannot fit; filled up mid-ISO and mid-USB-image, the write fails and the earlier media stay', async (t) => {
    const o = ext4Output(t, 'small', 128, ['fallocate', 'dd', 'truncate'], 'needs root: mounts a small ext4 file system on a loop device', 'e2fsprogs, util-linux, coreutils');
    if (!o) return;
    const { vol, out, env, earlier } = o;
    const node = process.execPath;

    // Content bigger than the free space: refused before a byte is written.
    vol.fillLeaving(32 * MiB);
    const t0 = Date.now();
    const r = runCli(isoArgs(join(out, 'media.iso')), env);
    faultsInjected++;
    await expectFailure(t, 'ENOSPC: ISO larger than the free space', 'disk left with 32 MiB free', { status: r.status, signal: null, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0, injected: true, injectedAfterBytes: 0, timedOut: false }, {
      dir: out,
      before: earlier,
      exit: 1,
      cause: /has [\d.]+ MiB free, the media needs [\d.]+ MiB/,
      names: escapeRe(out),
    });
    vol.unfill();

    // The disk fills up while the media is being written (another program takes the space): the writer is stopped
    // (SIGSTOP) once it has written 8 MiB, the file system filled, and the writer continued.
    let filled = 0;
    const fillMidWrite = (pid: number): void => {
      process.kill(pid, 'SIGSTOP');
      try {
        filled = vol.fill();
        faultsInjected++;
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    };
    for (const [label, args] of [
      ['ENOSPC mid-ISO', isoArgs(join(out, 'media.iso'))],
      ['ENOSPC mid-USB-image', usbArgs(join(out, 'usb.img'))],
    ] as const) {
      const r = await runWithFault({ argv: [node, CLI, ...args], env, afterBytes: AFTER_BYTES, inject: fillMidWrite });
      await expectFailure(t, label, `disk filled after ${Math.round(r.injectedAfterBytes / MiB)} MiB written (${Math.round(filled / MiB)} MiB taken)`, r, {
        dir: out,
        before: earlier,
        exit: 2,
        cause: /no space left/i,
        names: escapeRe(out),
      });
      vol.unfill();
    }
  });

  test('I/O errors (EIO) injected by libfiu into the writer: pwrite mid-write and fsync, for an ISO, a USB image and a drive', async (t) => {
    const miss = missingTools(['fiu-run', 'fiu-ctrl']);
    if (!requireOrSkip(t, miss.length === 0, 'missing fiu-run/fiu-ctrl (apt-get install fiu-utils; ./scripts/setup.sh does)')) return;
    const s = new Scratch(t);
    const out = s.path('out');
    mkdirSync(out);
    const env = { XDG_STATE_HOME: s.path('state') };
    makeEarlierMedia(out, env);
    const earlier = snapshot(out);
    const ctrl = s.path('fiu-ctrl');
    const fiu = (...commands: string[]): string[] => ['fiu-run', '-x', '-f', ctrl, ...commands.flatMap((c) => ['-c', c]), process.execPath, CLI];
    // Positioned writes (fs.writeSync with a position: the writer thread's pwrite) fail with EIO from now on. Plain
    // write() stays: failing it would break Node's own event loop, not the writer.
    const failPwrite = (pid: number): void => {
      const r = sh('fiu-ctrl', ['-f', ctrl, '-c', 'enable name=posix/io/rw/pwrite,failinfo=5', String(pid)]);
      assert.equal(r.status, 0, `fiu-ctrl: ${r.out}`);
      faultsInjected++;
    };

    const iso = await runWithFault({ argv: [...fiu(), ...isoArgs(join(out, 'media.iso'))], env, afterBytes: AFTER_BYTES, inject: failPwrite });
    await expectFailure(t, 'EIO mid-ISO (pwrite)', `pwrite fails after ${Math.round(iso.injectedAfterBytes / MiB)} MiB written`, iso, {
      dir: out,
      before: earlier,
      exit: 2,
      cause: /I\/O error/i,
      names: escapeRe(out),
    });
    const usb = await runWithFault({ argv: [...fiu(), ...usbArgs(join(out, 'usb.img'))], env, afterBytes: AFTER_BYTES, inject: failPwrite });
    await expectFailure(t, 'EIO mid-USB-image (pwrite)', `pwrite fails after ${Math.round(usb.injectedAfterBytes / MiB)} MiB written`, usb, {
      dir: out,
      before: earlier,
      exit: 2,
      cause: /I\/O error/i,
      names: escapeRe(out),
    });

    // The flush at the end of the write fails: the data never reached the disk for sure, so nothing is replaced.
    const failFsync = 'enable name=posix/io/sync/fsync,failinfo=5';
    faultsInjected++;
    const isoSync = await runWithFault({ argv: [...fiu(failFsync), ...isoArgs(join(out, 'media.iso'))], env, afterBytes: null });
    await expectFailure(t, 'EIO on fsync, ISO', 'fsync fails', isoSync, {
      dir: out,
      before: earlier,
      exit: 2,
      cause: /EIO|I\/O error/,
      names: escapeRe(out),
    });
    faultsInjected++;
    const usbSync = await runWithFault({ argv: [...fiu(failFsync), ...usbArgs(join(out, 'usb.img'))], env, afterBytes: null });
    await expectFailure(t, 'EIO on fsync, USB image', 'fsync fails', usbSync, {
      dir: out,
      before: earlier,
      exit: 2,
      cause: /I\/O error/,
      names: escapeRe(out),
    });

    // A drive (a loop device standing in for a USB stick) that fails mid-write.
    if (!isRoot() || missingTools(['losetup']).length) {
      await t.test('EIO on a drive', (st) => st.skip('needs root and losetup (a loop device stands in for the USB drive)'));
      return;
    }
    const img = s.path('stick.img');
    writeFileSync(img, '');
    truncateSync(img, 192 * MiB);
    const lo = sh('losetup', ['-f', '--show', img]);
    if (lo.status !== 0) {
      await t.test('EIO on a drive', (st) => st.skip(`losetup failed: ${lo.out}`));
      return;
    }
    const dev = lo.out.split('\n')[0];
    s.defer(`losetup -d ${dev}`, () => sh('losetup', ['-d', dev]));
    const drive = await runWithFault({ argv: [...fiu(), ...driveArgs(dev)], env, afterBytes: AFTER_BYTES, inject: failPwrite });
    await expectFailure(t, 'EIO mid-write, drive', `pwrite fails after ${Math.round(drive.injectedAfterBytes / MiB)} MiB written`, drive, {
      dir: out,
      before: earlier,
      exit: 2,
      cause: /I\/O error.*incomplete volume/,
      names: escapeRe(dev),
    });
  });

  test('a read-only target: a read-only mount (losetup -r) refuses the ISO and the USB image; a read-only drive is refused; a drive made read-only mid-write fails', async (t) => {
    const o = ext4Output(t, 'ro', 64, ['blockdev', 'truncate'], 'needs root: mounts ext4 on loop devices and uses loop devices as drives', 'e2fsprogs, util-linux');
    if (!o) return;
    const { s, vol, out, env, earlier } = o;
    vol.remountReadOnly();
    const node = process.execPath;
    const once = async (args: string[]): Promise<FaultRun> => {
      faultsInjected++;
      return runWithFault({ argv: [node, CLI, ...args], env, afterBytes: null });
    };

    await expectFailure(t, 'read-only mount, ISO', 'ext4 mounted read-only (losetup -r)', await once(smallIsoArgs(join(out, 'media.iso'))), {
      dir: out,
      before: earlier,
      // Refused before anything is written, as for a USB image.
      exit: 1,
      cause: /read-only/i,
      names: escapeRe(out),
    });
    await expectFailure(t, 'read-only mount, USB image', 'ext4 mounted read-only (losetup -r)', await once(smallUsbArgs(join(out, 'usb.img'), '--image-size', '96MiB')), {
      dir: out,
      before: earlier,
      exit: 1,
      cause: /read-only/i,
      names: escapeRe(out),
    });
    await expectFailure(t, 'read-only mount, USB image --no-format', 'ext4 mounted read-only (losetup -r)', await once(smallUsbArgs(join(out, 'usb.img'), '--no-format')), {
      dir: out,
      before: earlier,
      exit: 1,
      cause: /read-only/i,
      names: escapeRe(out),
    });

    // A read-only drive: refused by name before anything is written; its bytes unchanged.
    const roImg = s.path('locked.img');
    const fd = openSync(roImg, 'w');
    writeSync(fd, Buffer.from('an earlier volume on a locked stick'), 0, 35, 0);
    closeSync(fd);
    truncateSync(roImg, 96 * MiB);
    const roSha = fileSha256(roImg);
    const ro = sh('losetup', ['-r', '-f', '--show', roImg]);
    assert.equal(ro.status, 0, ro.out);
    const roDev = ro.out.split('\n')[0];
    s.defer(`losetup -d ${roDev}`, () => sh('losetup', ['-d', roDev]));
    await expectFailure(t, 'read-only drive', 'loop device attached read-only (losetup -r)', await once(driveArgs(roDev)), {
      dir: out,
      before: earlier,
      exit: 1,
      cause: /read-only/i,
      names: escapeRe(roDev),
    });
    assert.equal(fileSha256(roImg), roSha, 'the read-only drive is untouched');

    // A drive whose write protection comes on mid-write (blockdev --setro while the writer is stopped).
    const img = s.path('stick.img');
    writeFileSync(img, '');
    truncateSync(img, 192 * MiB);
    const lo = sh('losetup', ['-f', '--show', img]);
    assert.equal(lo.status, 0, lo.out);
    const dev = lo.out.split('\n')[0];
    s.defer(`losetup -d ${dev}`, () => {
      sh('blockdev', ['--setrw', dev]);
      sh('losetup', ['-d', dev]);
    });
    const setro = (pid: number): void => {
      process.kill(pid, 'SIGSTOP');
      try {
        const r = sh('blockdev', ['--setro', dev]);
        assert.equal(r.status, 0, r.out);
        faultsInjected++;
      } finally {
        process.kill(pid, 'SIGCONT');
      }
    };
    const mid = await runWithFault({ argv: [node, CLI, ...driveArgs(dev)], env, afterBytes: AFTER_BYTES, inject: setro });
    await expectFailure(t, 'drive made read-only mid-write', `blockdev --setro after ${Math.round(mid.injectedAfterBytes / MiB)} MiB written`, mid, {
      dir: out,
      before: earlier,
      exit: 2,
      cause: /read-only.*incomplete volume/,
      names: escapeRe(dev),
    });
  });

  test('a target that disappears: the FUSE daemon of the output folder is killed mid-write; the CLI fails at once (ENOTCONN) and the next run clears what it left', async (t) => {
    if (!requireOrSkip(t, isRoot(), 'needs root: mounts a FUSE file system')) return;
    const py = fusePython();
    if (!requireOrSkip(t, py !== null, 'the Python fuse module is missing (apt-get install python3-fuse; ./scripts/setup.sh does)')) return;
    if (!requireOrSkip(t, missingTools(['umount']).length === 0, 'missing umount')) return;
    const s = new Scratch(t);
    const backing = s.path('backing');
    const mnt = s.path('fuse');
    const backOut = join(backing, 'out');
    const out = join(mnt, 'out');
    const env = { XDG_STATE_HOME: s.path('state') };
    let mirror = new FuseMirror(s, py as string, backing, mnt);
    try {
      await mirror.mount();
    } catch (err) {
      requireOrSkip(t, false, `cannot mount FUSE here: ${(err as Error).message}`);
      return;
    }
    mkdirSync(out);
    makeEarlierMedia(out, env);
    const earlier = snapshot(backOut);
    const node = process.execPath;
    const kill = (pid: number): void => {
      void pid;
      mirror.kill();
      faultsInjected++;
    };

    for (const [label, args, names, todo] of [
      ['FUSE daemon killed mid-ISO', isoArgs(join(out, 'media.iso')), escapeRe(out), undefined],
      ['FUSE daemon killed mid-USB-image', usbArgs(join(out, 'usb.img')), escapeRe(out), undefined],
    ] as const) {
      const r = await runWithFault({ argv: [node, CLI, ...args], env, afterBytes: AFTER_BYTES, inject: kill, timeoutMs: 20_000 });
      mirror.unmount();
      await expectFailure(t, label, `SIGKILL to the FUSE daemon after ${Math.round(r.injectedAfterBytes / MiB)} MiB written`, r, {
        dir: backOut,
        before: earlier,
        exit: 2,
        // ENOTCONN for a call made after the daemon died, ECONNABORTED for one it was serving.
        cause: /ENOTCONN|ECONNABORTED|not connected|connection abort|is gone/,
        names,
        namesTodo: todo,
        partialsMayRemain: true,
      });
      assert.ok(r.ms < 20_000, `${label}: the CLI took ${r.ms} ms to fail`);
      mirror = new FuseMirror(s, py as string, backing, mnt);
      await mirror.mount();
    }

    // What the killed runs left (their partial files: a dead file system removes nothing) goes at the next run.
    const left = partials(backOut);
    console.log(`# partial files the killed runs left behind: ${left.length}`);
    makeEarlierMedia(out, env);
    assert.deepEqual(partials(backOut), [], 'the next runs removed the partial files the killed runs left');
    mirror.unmount();
  });
});
