// The privileged writer's channel, run directly (no elevation prompt can be shown here): the token check, the one
// confirmed device, the refusal of system drives, sources read with the user's rights, and a whole write through it.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import { listDrives } from '../electron/engine/drives/Drives.js';
import type { ImageLayout } from '../electron/engine/io/ImageLayout.js';
import {
  defaultLauncherPath,
  describeLaunchFailure,
  HelperChannel,
  helperInvocation,
  HelperRefusedError,
  LineReader,
  PKEXEC_LAUNCHER_NAME,
  PrivilegedWriter,
  type ElevationMethod,
  type HelperMessage,
} from '../electron/engine/drives/PrivilegedWriter.js';
import { hasCommand, requireOrSkip, ROOT, tempDir } from './helpers.js';

const HELPER = fileURLToPath(new URL('../electron/engine/drives/privilegedWriterMain.js', import.meta.url));
const canLoop = (): boolean => process.platform === 'linux' && process.getuid?.() === 0 && hasCommand('losetup') && hasCommand('lsblk');
const NO_LOOP = 'needs Linux, root, losetup and lsblk (a loop device stands in for the USB drive)';

function attachLoop(t: TestContext, bytes: number): string {
  const img = join(tempDir(t), 'drive.img');
  writeFileSync(img, '');
  truncateSync(img, bytes);
  const dev = execFileSync('losetup', ['-f', '--show', img], { encoding: 'utf8' }).trim();
  let attached = true;
  t.after(() => {
    if (attached) spawnSync('losetup', ['-d', dev], { stdio: 'ignore' });
    attached = false;
  });
  return dev;
}

/** Starts the helper by hand on a channel and talks to it line by line, as the application side does. */
async function rawHelper(t: TestContext, token: string | null | 'right', prepare?: (ch: HelperChannel) => void): Promise<{
  ch: HelperChannel;
  exit: Promise<{ code: number | null; stderr: string }>;
  connected: Promise<(msg: Record<string, unknown>) => Promise<HelperMessage>>;
}> {
  const ch = await HelperChannel.create();
  t.after(() => ch.dispose());
  prepare?.(ch);
  const child = spawn(process.execPath, [HELPER, '--socket', ch.socketPath], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
  t.after(() => {
    if (child.exitCode === null) child.kill();
  });
  child.stdin.end(token === null ? '' : `${token === 'right' ? ch.token : token}\n`);
  const connected = ch.waitForHelper(10_000, child, 'none').then((sock) => {
    const waiting: ((m: HelperMessage) => void)[] = [];
    const reader = new LineReader((line) => waiting.shift()?.(JSON.parse(line) as HelperMessage));
    sock.on('data', (c: Buffer) => reader.push(c));
    sock.resume();
    let id = 0;
    return (msg: Record<string, unknown>): Promise<HelperMessage> =>
      new Promise((resolve) => {
        waiting.push(resolve);
        sock.write(`${JSON.stringify({ id: ++id, ...msg })}\n`);
      });
  });
  return { ch, exit, connected };
}

const refusal = (m: HelperMessage): string => (m.type === 'result' && !m.ok && m.code === 'EREFUSED' ? m.error : `not refused: ${JSON.stringify(m)}`);

describe('privileged writer channel (helper run directly, no elevation)', () => {
  test('a whole write through the helper: one drive job (take, write, flush, announce, read back), then close', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP)) return;
    const dev = attachLoop(t, 8 * 1024 * 1024);
    const src = join(tempDir(t), 'file.bin');
    writeFileSync(src, Buffer.alloc(100_000, 7));
    const layout: ImageLayout = {
      size: 4 * 1024 * 1024,
      regions: [{ offset: 0, data: Buffer.from('TSMEDIA-HEADER') }],
      extents: [
        { offset: 65536, size: 100_000, sourceOffset: 0, path: 'file.bin', source: { kind: 'file', path: src, size: 100_000, label: 'file.bin' } },
        { offset: 1024 * 1024, size: 5, sourceOffset: 0, path: 'buf', source: { kind: 'buffer', data: Buffer.from('hello'), label: 'buf' } },
      ],
    };
    const w = await PrivilegedWriter.start(dev, { method: 'none', timeoutMs: 10_000 });
    t.after(() => w.dispose());
    const steps: string[] = [];
    const progress: [string, number][] = [];
    const r = await w.runDriveJob({ device: dev, mode: 'erase', writes: [{ layout, gaps: 'zero' }], readBack: true }, { onProgress: (s, b) => progress.push([s, b]), onStep: (s) => steps.push(s) });
    assert.equal(r.written.bytes, layout.size);
    // The helper's progress reaches the application: the write's bytes only grow and end at the whole layout.
    const writing = progress.filter(([s]) => s === 'write').map(([, b]) => b);
    assert.ok(writing.length >= 1, `write progress arrived: ${JSON.stringify(progress)}`);
    assert.ok(writing.every((b, i) => i === 0 || b >= writing[i - 1]), `write progress never goes back: ${writing.join(', ')}`);
    assert.equal(writing[writing.length - 1], layout.size, `write progress ends at the job's ${layout.size} bytes: ${writing.join(', ')}`);
    assert.deepEqual(steps, ['take', 'write', 'flush', 'announce', 'read-back'], 'the helper runs the drive sequence in order');
    assert.deepEqual(r.taken.released, []);
    // Every byte the layout names is compared; the gaps the write zeroed are not read back (they hold no content).
    assert.equal(r.readBack?.bytes, 14 + 100_000 + 5, 'the read-back compared every byte the layout names');
    const expected = createHash('sha256').update(Buffer.concat([Buffer.from('TSMEDIA-HEADER'), Buffer.alloc(100_000, 7), Buffer.from('hello')])).digest('hex');
    assert.equal(r.readBack?.sha256?.toLowerCase(), expected, 'the read-back hashed every written byte, as it is on the drive');
    await w.close();
    const written = readFileSync(dev).subarray(0, layout.size);
    assert.equal(written.subarray(14, 65536).every((b) => b === 0), true, "gaps 'zero' are zeroed");
    assert.equal(written.subarray(0, 14).toString(), 'TSMEDIA-HEADER');
    assert.equal(written.subarray(1024 * 1024, 1024 * 1024 + 5).toString(), 'hello');
    assert.equal(written[65536 + 99_999], 7);
  });

  test('a job of several writes, later ones over earlier ones (a refresh writes its boot sector three times): the read-back compares what the drive holds at the end', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP)) return;
    const dev = attachLoop(t, 8 * 1024 * 1024);
    const sector = (fill: number): Buffer => Buffer.alloc(512, fill);
    const step = (regions: { offset: number; data: Buffer }[]): { layout: ImageLayout; gaps: 'skip' } => ({ layout: { size: 4 * 1024 * 1024, regions, extents: [] }, gaps: 'skip' });
    const w = await PrivilegedWriter.start(dev, { method: 'none', timeoutMs: 10_000 });
    t.after(() => w.dispose());
    const writes = [
      step([{ offset: 0, data: sector(1) }, { offset: 4096, data: Buffer.alloc(2048, 2) }]),
      step([{ offset: 1024 * 1024, data: sector(3) }]),
      // Over the first write: the whole of its first region, a part of its second.
      step([{ offset: 0, data: sector(4) }, { offset: 5120, data: sector(5) }]),
    ];
    const r = await w.runDriveJob({ device: dev, mode: 'append', writes, readBack: true });
    await w.close();
    assert.ok(r.readBack, 'read back');
    const d = readFileSync(dev);
    assert.equal(d[0], 4);
    assert.deepEqual([d[4096], d[5119], d[5120], d[5631], d[5632], d[6143]], [2, 2, 5, 5, 2, 2]);
    assert.equal(d[1024 * 1024], 3);
  });

  test('the token: a client without it is dropped; a helper given a wrong one is never accepted', async (t) => {
    if (!requireOrSkip(t, process.platform !== 'win32', 'Unix sockets (the named pipe path is the same code)')) return;
    const wrong = await rawHelper(t, 'ab'.repeat(32));
    // A stranger connects first with a wrong token, then one with none at all.
    const stranger = connect(wrong.ch.socketPath);
    stranger.write(`${JSON.stringify({ type: 'hello', token: 'cd'.repeat(32), pid: 1 })}\n`);
    await new Promise((r) => stranger.on('close', r));
    const helper = await wrong.exit;
    assert.equal(helper.code, 3, 'the helper with a wrong token ends: the channel dropped it');
    assert.ok(wrong.ch.rejected >= 2, `${wrong.ch.rejected} connections dropped`);
    await assert.rejects(wrong.connected, /the privileged writer ended before connecting/);

    const none = await rawHelper(t, null);
    assert.match((await none.exit).stderr, /no valid token was given/);
    await assert.rejects(none.connected);

    // The socket's folder must be private: a helper refuses to connect to one others can read.
    const open = await rawHelper(t, null, (ch) => chmodSync(ch.dir, 0o755));
    void open.connected.catch(() => undefined);
    const r = await open.exit;
    assert.equal(r.code, 2);
  });

  test('the token never travels on a command line, whatever the prompt', () => {
    const base = {
      execPath: '/opt/tsmedia/tsmedia',
      runAsNode: true,
      script: '/opt/tsmedia/resources/app.asar/dist/electron/engine/drives/privilegedWriterMain.js',
      socketPath: '/tmp/tsmedia-writer-x/writer.sock',
      tokenFile: '/tmp/tsmedia-writer-x/token',
      userUid: 501,
      launcher: '/opt/tsmedia/resources/app.asar.unpacked/bin/tsmedia-privileged-writer',
    };
    const methods: ElevationMethod[] = ['none', 'pkexec', 'osascript', 'runas'];
    for (const method of methods) {
      const inv = helperInvocation({ ...base, method });
      const line = [inv.command, ...inv.args].join(' ');
      assert.doesNotMatch(line, /[0-9a-f]{64}/, method);
      assert.equal(inv.tokenVia, method === 'osascript' || method === 'runas' ? 'file' : 'stdin');
    }
    // pkexec's prompt names the program it runs: tsmedia's launcher, which is given the runtime and the helper.
    const pk = helperInvocation({ ...base, method: 'pkexec' });
    assert.deepEqual([pk.command, ...pk.args], ['pkexec', base.launcher, '/opt/tsmedia/tsmedia', base.script, '--socket', base.socketPath]);
    const osa = helperInvocation({ ...base, method: 'osascript' });
    assert.match(osa.args[1], /^do shell script "ELECTRON_RUN_AS_NODE=1 '\/opt\/tsmedia\/tsmedia' .* '--token-file' '\/tmp\/tsmedia-writer-x\/token' '--user-uid' '501'" with administrator privileges$/);
    const win = helperInvocation({ ...base, method: 'runas', execPath: 'C:\\Program Files\\tsmedia\\tsmedia.exe', socketPath: '\\\\.\\pipe\\tsmedia-writer-00' });
    assert.equal(win.command, 'powershell.exe');
    assert.match(win.args.at(-1) ?? '', /^Start-Process -FilePath 'cmd.exe' -ArgumentList '.*set ELECTRON_RUN_AS_NODE=1&& "C:\\Program Files\\tsmedia\\tsmedia.exe".*' -Verb RunAs -WindowStyle Hidden$/);
    assert.match(describeLaunchFailure('pkexec', 126, ''), /prompt was dismissed/);
    assert.match(describeLaunchFailure('pkexec', 127, 'Error executing command as another user: No authentication agent found.'), /No authentication agent found/);
    assert.match(describeLaunchFailure('osascript', 1, '0:1: execution error: User canceled. (-128)'), /prompt was cancelled/);
    assert.match(describeLaunchFailure('runas', 1, 'Start-Process : This command cannot be run due to the error: The operation was canceled by the user.'), /UAC\) was declined/);
  });

  test('pkexec runs tsmedia\'s launcher, not /usr/bin/env; in the environment pkexec leaves, it starts the helper in Node mode', async (t) => {
    // Where the launcher is: bin/ beside dist/, unpacked from the asar archive in a packaged app.
    const launcher = defaultLauncherPath();
    assert.equal(basename(launcher), PKEXEC_LAUNCHER_NAME);
    assert.equal(launcher, join(ROOT, 'bin', 'tsmedia-privileged-writer'));
    assert.equal(defaultLauncherPath('file:///opt/tsmedia/resources/app.asar/dist/electron/engine/drives/PrivilegedWriter.js'), '/opt/tsmedia/resources/app.asar.unpacked/bin/tsmedia-privileged-writer');
    assert.ok((statSync(launcher).mode & 0o111) !== 0, 'the launcher is executable');
    assert.match(readFileSync(launcher, 'utf8'), /^#!\/bin\/sh\n/);
    const inv = helperInvocation({ method: 'pkexec', execPath: '/opt/tsmedia/tsmedia', runAsNode: true, script: HELPER, socketPath: '/tmp/x/writer.sock', tokenFile: '', userUid: 0, launcher });
    assert.equal(inv.command, 'pkexec');
    assert.equal(inv.args[0], launcher, 'the program pkexec runs, and names in its prompt');
    assert.ok(!inv.args.includes('/usr/bin/env') && !inv.args.some((a) => a.includes('=')), inv.args.join(' '));
    if (!requireOrSkip(t, process.platform !== 'win32', 'pkexec and the launcher are Linux-only')) return;

    // pkexec runs the program "in a minimal known and safe environment" (pkexec(1)): a safe PATH, PKEXEC_UID, no
    // ELECTRON_RUN_AS_NODE. The launcher is run here exactly as pkexec would run it, with that environment.
    const uid = process.getuid?.() ?? 0;
    const pkexecEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', PKEXEC_UID: String(uid), SHELL: '/bin/sh', LOGNAME: 'root', USER: 'root', HOME: '/root' };
    const probe = join(tempDir(t), 'probe.mjs');
    writeFileSync(probe, 'process.stdout.write(JSON.stringify({ runAsNode: process.env.ELECTRON_RUN_AS_NODE ?? null, uid: process.env.PKEXEC_UID, args: process.argv.slice(2) }));');
    const seen = spawnSync(launcher, [process.execPath, probe, '--socket', "/tmp/a folder/it's.sock"], { env: pkexecEnv, encoding: 'utf8' });
    assert.equal(seen.status, 0, seen.stderr);
    assert.deepEqual(JSON.parse(seen.stdout), { runAsNode: '1', uid: String(uid), args: ['--socket', "/tmp/a folder/it's.sock"] });
    assert.equal(spawnSync(launcher, [], { env: pkexecEnv, encoding: 'utf8' }).status, 2, 'no runtime: a usage error');

    // The real helper through the pkexec command line, pkexec itself left out: it reads the token on stdin, checks
    // the socket's folder against PKEXEC_UID, and connects.
    const ch = await HelperChannel.create();
    t.after(() => ch.dispose());
    const real = helperInvocation({ method: 'pkexec', execPath: process.execPath, runAsNode: false, script: HELPER, socketPath: ch.socketPath, tokenFile: '', userUid: uid, launcher });
    const child = spawn(real.args[0], real.args.slice(1), { env: pkexecEnv, stdio: ['pipe', 'ignore', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null) child.kill();
    });
    child.stdin.end(`${ch.token}\n`);
    const sock = await ch.waitForHelper(10_000, child, 'pkexec');
    assert.equal(ch.rejected, 0);
    sock.destroy();
  });

  test('only the confirmed device, only the fixed commands, allow-device first', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP)) return;
    const dev = attachLoop(t, 4 * 1024 * 1024);
    const other = attachLoop(t, 4 * 1024 * 1024);
    const w = await (await rawHelper(t, 'right')).connected;
    assert.match(refusal(await w({ type: 'run-drive-job', device: dev, job: { mode: 'erase', writes: [], readBack: false } })), /no drive has been confirmed yet \(allow-device comes first\)/);
    assert.match(refusal(await w({ type: 'format', device: dev })), /unknown command "format"/);
    assert.match(refusal(await w({ type: 'allow-device' })), /allow-device names no device/);
    const ok = await w({ type: 'allow-device', device: dev });
    assert.equal(ok.type === 'result' && ok.ok, true, JSON.stringify(ok));
    assert.match(refusal(await w({ type: 'allow-device', device: other })), new RegExp(`the confirmed drive is ${dev}; ${other} cannot be added`));
    assert.match(refusal(await w({ type: 'run-drive-job', device: other, job: { mode: 'erase', writes: [], readBack: false } })), new RegExp(`${other} is not the confirmed drive`));
    assert.match(refusal(await w({ type: 'write-regions-from-layout-job', device: dev, layout: { size: 0, regions: [], extents: [] }, gaps: 'zero' })), /unknown command "write-regions-from-layout-job"/);
    assert.match(refusal(await w({ type: 'cancel', device: '/dev/vda' })), /is not the confirmed drive/);
    assert.match(refusal(await w({ type: 'shell', device: dev, command: 'rm -rf /' })), /unknown command "shell"/);
  });

  test('system drives and devices drivelist does not list are refused, even when asked', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP)) return;
    const system = (await listDrives({ showAll: true })).find((d) => d.isSystem);
    if (!requireOrSkip(t, system !== undefined, 'no system drive is listed on this machine')) return;
    const dev = (system as { device: string }).device;
    await assert.rejects(
      PrivilegedWriter.start(dev, { method: 'none', timeoutMs: 10_000 }),
      (e: unknown) => e instanceof HelperRefusedError && new RegExp(`refused: ${dev} is a system drive .*never writes system drives`).test(e.message),
    );
    await assert.rejects(
      PrivilegedWriter.start('/dev/tsmedia-no-such-drive', { method: 'none', timeoutMs: 10_000 }),
      (e: unknown) => e instanceof HelperRefusedError && /is not a whole drive this computer lists/.test(e.message),
    );
    const img = join(tempDir(t), 'plain.img');
    writeFileSync(img, Buffer.alloc(4096));
    await assert.rejects(PrivilegedWriter.start(img, { method: 'none', timeoutMs: 10_000 }), /is not a whole drive this computer lists/);
  });

  test('the helper reads sources with the rights of the user who started it, not root\'s', async (t) => {
    if (!requireOrSkip(t, canLoop(), NO_LOOP)) return;
    const dev = attachLoop(t, 4 * 1024 * 1024);
    const dir = tempDir(t);
    chmodSync(dir, 0o755);
    const secret = join(dir, 'root-only.bin');
    writeFileSync(secret, Buffer.alloc(4096, 1), { mode: 0o600 });
    const ch = await HelperChannel.create();
    chownSync(ch.dir, 65534, 65534); // as the folder of a main process run by uid 65534 would be
    const w = await PrivilegedWriter.start(dev, { method: 'none', timeoutMs: 10_000, channel: ch, env: { PKEXEC_UID: '65534' } });
    t.after(() => w.dispose());
    const layout: ImageLayout = { size: 8192, regions: [], extents: [{ offset: 0, size: 4096, sourceOffset: 0, path: 'x', source: { kind: 'file', path: secret, size: 4096, label: 'root-only.bin' } }] };
    const before = readFileSync(dev).subarray(0, 8192);
    await assert.rejects(w.runDriveJob({ device: dev, mode: 'erase', writes: [{ layout, gaps: 'zero' }], readBack: true }), /root-only\.bin: cannot read .*permission denied/);
    assert.deepEqual(readFileSync(dev).subarray(0, 8192), before, 'refused before the drive is touched');
    await w.close();
  });

  // The elevation prompts themselves (pkexec, osascript, UAC) are not run by any test: each needs a person to answer
  // it (and root needs none). The channel, the token check, the device allow-list and the system-drive refusal are
  // tested above by starting the helper directly (method "none"), and the prompts' command lines are checked.
});
