// The Linux proxies for Windows' and macOS' drives (issue 13, item 8). Windows' disk driver and macOS raw devices
// refuse any read or write on a drive whose offset or length is not whole logical sectors; a shim loaded with
// LD_PRELOAD (support/sectorShim.c) refuses the same on a loop device, and also memory not aligned to 4096 bytes. Every
// USB path runs under it with 512- and 4096-byte sectors — a whole drive (its boot region written last), `verify`,
// `--no-format` into a volume mkfs.fat made, and a cancel — and the shim must refuse nothing. A loop device with
// 4096-byte logical sectors, written with O_DIRECT, then holds a partition the kernel takes (partx adds it: this kernel
// has no MBR parser of its own), fsck.fat finds clean and mtools reads file by file; and OVMF boots it as a 4Kn disk.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { planFat32 } from '../electron/engine/formats/fat32/Fat32Volume.js';
import { bootCodeSectorCount } from '../electron/engine/formats/fat32/FatBiosBoot.js';
import { PrivilegedWriter } from '../electron/engine/drives/PrivilegedWriter.js';
import type { MediaManifest } from '../electron/engine/media/Manifest.js';
import { ROOT, hasCommand, requireOrSkip, runCli, tempDir } from './helpers.js';
import { missingBootStandInTools, useBootStandIns } from './support/bootStandIns.js';
import { MT_ENV, mtoolsHash, run, sha256File, tool } from './support/fat32Tools.js';
import { OVMF, QEMU, bootIso } from './support/qemu.js';
import { buildShim, readShimLog, shimEnv, type ShimLog } from './support/sectorShim.js';
import { addPackage, copySampleSite, randomFile, updatePackage } from './support/sites.js';
import { pattern } from './helpers.js';

const MiB = 1024 * 1024;
const DISK = 300 * MiB; // 4096-byte sectors need at least 65,525 clusters of 4 KiB
const TOOLS = ['losetup', 'cc', 'fsck.fat', 'mkfs.fat', 'mcopy', 'sfdisk', 'partx', 'wipefs'];
const missingTools = (): string[] => TOOLS.filter((t) => tool(t) === null);
const canRun = (): boolean => process.platform === 'linux' && process.getuid?.() === 0 && missingTools().length === 0;
const WHY = (): string => `needs Linux, root and ${TOOLS.join(', ')} (missing: ${missingTools().join(', ') || 'none'}; root: ${process.getuid?.() === 0})`;

function attachLoop(t: TestContext, dir: string, sectorSize: number, bytes = DISK): string {
  const img = join(dir, `stick-${sectorSize}.img`);
  writeFileSync(img, '');
  truncateSync(img, bytes);
  const dev = execFileSync('losetup', ['-f', '--show', '--sector-size', String(sectorSize), img], { encoding: 'utf8' }).trim();
  t.after(() => {
    spawnSync('partx', ['-d', dev], { stdio: 'ignore' });
    spawnSync('losetup', ['-d', dev], { stdio: 'ignore' });
  });
  return dev;
}

/** A scratch folder, the shim built in it, and a loop device of `sectorSize` for it to guard. */
function shimmedDrive(t: TestContext, sectorSize: number): { dir: string; so: string; dev: string; logPath: string } {
  const dir = tempDir(t);
  const built = buildShim(dir);
  if (!('so' in built)) assert.fail(built.error);
  return { dir, so: built.so, dev: attachLoop(t, dir, sectorSize), logPath: join(dir, 'shim.log') };
}

/**
 * Runs `fn` with the kernel's partition 1 of the loop device, added from the MBR by partx (BLKPG, which the kernel
 * refuses for a partition outside the disk), and removed again after.
 */
async function withPartition(dev: string, fn: (part: string) => void | Promise<void>): Promise<void> {
  const add = run('partx', ['-a', dev]);
  assert.equal(add.status, 0, `partx -a ${dev}: ${add.output}`);
  try {
    const part = `${dev}p1`;
    assert.ok(existsSync(part), `${part} exists`);
    await fn(part);
  } finally {
    run('partx', ['-d', dev]);
  }
}

function assertFsckCleanDevice(part: string): void {
  const r = run('fsck.fat', ['-n', '-v', part]);
  assert.equal(r.status, 0, r.output);
  assert.doesNotMatch(r.output, /Leaving filesystem unchanged|wrong|Orphan|differ|Dirty bit|invalid/i, r.output);
}

/** Nothing refused, and the tsmedia processes did read and write the drive through the shim. */
function assertNothingRefused(log: ShimLog, what: string): void {
  assert.deepEqual(log.refused, [], `${what}: the shim refused I/O on the drive`);
  assert.ok(log.summaries.some((s) => s.prog === 'node' && s.checked > 0), `${what}: the shim saw tsmedia's I/O on the drive (${JSON.stringify(log.summaries)})`);
}

/** Sectors of 512 bytes written to a block device since it appeared (/sys/block/NAME/stat, field 7). */
function sectorsWritten(dev: string): number {
  return Number(readFileSync(`/sys/block/${dev.slice(5)}/stat`, 'utf8').trim().split(/\s+/)[6]);
}

/**
 * Starts `tsmedia create` and sends Ctrl+C once it has written 8 MiB to the drive (the kernel's count of the device's
 * writes); resolves with its exit and whether the Ctrl+C came while it was writing.
 */
function createAndCancel(args: string[], env: NodeJS.ProcessEnv, dev: string): Promise<{ status: number | null; stderr: string; interrupted: boolean }> {
  return new Promise((resolve) => {
    const before = sectorsWritten(dev);
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'tsmedia.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let interrupted = false;
    const poll = setInterval(() => {
      if (interrupted || (sectorsWritten(dev) - before) * 512 < 8 * MiB) return;
      interrupted = true;
      child.kill('SIGINT');
    }, 5);
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    child.on('close', (status) => {
      clearInterval(poll);
      resolve({ status, stderr, interrupted });
    });
  });
}

describe('the sector rule of Windows and macOS drives, on Linux loop devices', () => {
  test('the shim refuses what those drivers refuse — an offset, length or memory not aligned — and lets aligned I/O through', (t) => {
    if (!requireOrSkip(t, canRun(), WHY())) return;
    const dir = tempDir(t);
    const built = buildShim(dir);
    if (!('so' in built)) return assert.fail(built.error);
    const dev = attachLoop(t, dir, 512, 8 * MiB);
    const log = join(dir, 'shim.log');
    const other = join(dir, 'other.bin');
    writeFileSync(other, Buffer.alloc(4096));
    const probe = `
      import { openSync, readSync, writeSync } from 'node:fs';
      import { alignedBuffer } from ${JSON.stringify(join(ROOT, 'dist', 'electron', 'engine', 'io', 'SectorIo.js'))};
      const fd = openSync(${JSON.stringify(dev)}, 'r+');
      const aligned = alignedBuffer(8192);
      const tries = {
        offset: () => writeSync(fd, aligned, 0, 512, 100),
        length: () => readSync(fd, aligned, 0, 100, 0),
        memory: () => writeSync(fd, aligned.subarray(8), 0, 512, 0),
        aligned: () => writeSync(fd, aligned, 0, 4096, 4096),
        otherFile: () => writeSync(openSync(${JSON.stringify(other)}, 'r+'), Buffer.from('x'), 0, 1, 3),
      };
      for (const [k, f] of Object.entries(tries)) { try { f(); console.log(k, 'ok'); } catch (e) { console.log(k, e.code); } }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', env: { ...process.env, ...shimEnv({ so: built.so, device: dev, sectorSize: 512, log }) } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'offset EINVAL\nlength EINVAL\nmemory EINVAL\naligned ok\notherFile ok\n');
    const l = readShimLog(log);
    assert.equal(l.refused.length, 3, l.refused.join('\n'));
    assert.match(l.refused[0], /pwrite64? fd=\d+ offset=100 length=512 memory=0/);
    assert.match(l.refused[1], /pread64? fd=\d+ offset=0 length=100/);
    assert.match(l.refused[2], /pwrite64? fd=\d+ offset=0 length=512 memory=8/);
    assert.deepEqual(
      l.summaries.map((s) => [s.checked, s.refused]),
      [[4, 3]],
    );
  });

  for (const sectorSize of [512, 4096]) {
    test(`${sectorSize}-byte sectors: a whole drive (boot region last), verify, --no-format into mkfs.fat's volume, and a cancel — the shim refuses nothing`, async (t) => {
      if (!requireOrSkip(t, canRun(), WHY())) return;
      const { dir, so, dev, logPath } = shimmedDrive(t, sectorSize);
      const env = { XDG_STATE_HOME: join(dir, 'state'), ...shimEnv({ so: so, device: dev, sectorSize, log: logPath, trace: true }) };
      const drive = ['--media', 'usb', '--task-sequence', 'SMP00010', '--drive', dev, '--all', '--yes-erase', dev];

      // A cancel while a large package is being written: ends 130, saying the drive is incomplete.
      const site = copySampleSite(join(dir, 'site'));
      const payload = join(dir, 'payload.bin');
      randomFile(payload, 160 * MiB);
      await addPackage(site, 'SMP00099', [{ relativePath: 'payload/big.bin', sourcePath: payload }], 'Sector-rule payload');
      rmSync(payload);
      const c = await createAndCancel(['create', '--site', site, '--package', 'SMP00099', ...drive], env, dev);
      assert.ok(c.interrupted, `Ctrl+C came while writing: ${c.stderr}`);
      assert.equal(c.status, 130, c.stderr);
      assert.match(c.stderr, /cancelled: the drive holds an incomplete volume/);
      assertNothingRefused(readShimLog(logPath), 'cancel');
      rmSync(logPath, { force: true });

      // The whole drive: written and read back under the rule, then verified again by `tsmedia verify DEVICE`.
      const w = runCli(['create', ...drive], env);
      assert.equal(w.status, 0, w.stderr);
      assert.match(w.stdout, new RegExp(`created USB media on ${dev}, verified`));
      const written = readShimLog(logPath);
      assertNothingRefused(written, 'whole drive');
      const v = runCli(['verify', dev], env);
      assert.equal(v.status, 0, v.stdout + v.stderr);
      assertNothingRefused(readShimLog(logPath), 'verify');

      // The order: zeros over the old MBR first; the MBR and the boot region (below the FAT) last, after every byte of
      // the volume; then the old GPT's backup at the drive's end is cleared.
      const vol = openFat32(dev);
      const bootEnd = vol.fatOffset(0);
      const manifest = JSON.parse(vol.readFileBuffer('SMS/data/tsmedia-manifest.json').toString('utf8')) as MediaManifest;
      assert.equal(vol.bytesPerSector, sectorSize, 'the BPB is in the drive\'s sectors');
      assert.equal(vol.offset, MiB);
      vol.close();
      const writes = written.writes.filter((x) => x.pid === written.writes[0].pid);
      assert.equal(writes[0].offset, 0, 'the first write starts at the MBR (zeros)');
      const tail = writes.findIndex((x) => x.offset === DISK - MiB);
      assert.ok(tail > 0, 'the GPT backup area is cleared');
      const main = writes.slice(0, tail);
      const lastBody = main.map((x) => x.offset + x.length > bootEnd).lastIndexOf(true);
      const last = main.slice(lastBody + 1);
      assert.deepEqual(
        last.map((x) => [x.offset, x.length]),
        [
          [0, sectorSize],
          [MiB, (2 + bootCodeSectorCount(sectorSize)) * sectorSize],
          [MiB + 6 * sectorSize, (2 + bootCodeSectorCount(sectorSize)) * sectorSize],
        ],
        'the MBR, the boot sector with FSInfo and the boot code, and their backups come last',
      );
      assert.ok(main.every((x) => x.offset % sectorSize === 0 && x.length % sectorSize === 0));

      // What other tools see: the partition inside the disk, fsck.fat clean, mtools reading every file.
      const sf = run('sfdisk', ['-d', dev]).stdout;
      assert.match(sf, new RegExp(`sector-size: ${sectorSize}`));
      const start = MiB / sectorSize;
      const size = DISK / sectorSize - start;
      assert.match(sf, new RegExp(`${dev}p1 : start=\\s+${start}, size=\\s+${size}, type=c, bootable`));
      const px = run('partx', ['--show', '--bytes', '--output', 'NR,START,SECTORS,SIZE', dev]).stdout;
      assert.match(px, new RegExp(`^\\s*1\\s+2048\\s+${(DISK - MiB) / 512}\\s+${DISK - MiB}$`, 'm'), `partx (512-byte units): ${px}`);
      await withPartition(dev, async (part) => {
        const base = `/sys/class/block/${part.slice(5)}`;
        assert.equal(Number(readFileSync(`${base}/start`, 'utf8')), 2048, 'the kernel\'s partition starts at 1 MiB');
        assert.equal(Number(readFileSync(`${base}/size`, 'utf8')) * 512, DISK - MiB, 'and ends with the disk');
        assertFsckCleanDevice(part);
        for (const f of manifest.files) assert.equal((await mtoolsHash(part, 0, f.path)).toUpperCase(), f.sha256.toUpperCase(), `mtools reads ${f.path}`);
      });

      // --no-format into a volume mkfs.fat made (its MBR from sfdisk, in the drive's sectors), holding a file of its own.
      run('wipefs', ['-q', '-a', dev]);
      const sfd = spawnSync(tool('sfdisk') ?? 'sfdisk', ['-q', dev], { input: 'start=1MiB, type=c, bootable\n', encoding: 'utf8' });
      assert.ok(sfd.status === 0 || /re-read partition table/.test(sfd.stderr), sfd.stderr);
      const foreign = join(dir, 'foreign.bin');
      randomFile(foreign, 3 * MiB + 12345);
      const foreignSha = sha256File(foreign);
      await withPartition(dev, (part) => {
        assert.equal(run('mkfs.fat', ['-F', '32', part]).status, 0);
        assert.equal(run('mcopy', ['-i', part, foreign, '::/FOREIGN.BIN'], MT_ENV).status, 0);
      });
      rmSync(logPath, { force: true });
      const add = runCli(['create', ...drive, '--no-format'], env);
      assert.equal(add.status, 0, add.stderr);
      assert.match(add.stdout, /verified/);
      assert.equal(runCli(['verify', dev], env).status, 0);
      assertNothingRefused(readShimLog(logPath), '--no-format');
      await withPartition(dev, async (part) => {
        assertFsckCleanDevice(part);
        assert.equal(await mtoolsHash(part, 0, 'FOREIGN.BIN'), foreignSha, 'the file already there is kept');
      });
    });
  }

  for (const sectorSize of [512, 4096]) {
    test(`${sectorSize}-byte sectors: tsmedia refresh of the drive (a changed package, a new label) writes whole sectors only, and the drive verifies and is fsck-clean`, async (t) => {
      if (!requireOrSkip(t, canRun(), WHY())) return;
      const { dir, so, dev, logPath } = shimmedDrive(t, sectorSize);
      const env = { XDG_STATE_HOME: join(dir, 'state'), ...shimEnv({ so: so, device: dev, sectorSize, log: logPath, trace: true }) };
      const site = copySampleSite(join(dir, 'site'));
      const v1 = join(dir, 'v1.cab');
      randomFile(v1, 3 * MiB + 777);
      await addPackage(site, 'SMP00091', [{ relativePath: 'drivers/drivers.cab', sourcePath: v1 }], 'Drivers');
      const base = ['--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00091'];
      const w = runCli(['create', ...base, '--media', 'usb', '--drive', dev, '--all', '--yes-erase', dev], env);
      assert.equal(w.status, 0, w.stderr);
      const v2 = join(dir, 'v2.cab');
      randomFile(v2, 3 * MiB + 999);
      await updatePackage(site, 'SMP00091', [{ relativePath: 'drivers/drivers.cab', sourcePath: v2 }]);
      rmSync(logPath, { force: true });
      const unconfirmed = runCli(['refresh', dev, ...base, '--all'], env);
      assert.equal(unconfirmed.status, 1);
      assert.match(unconfirmed.stderr, new RegExp(`refreshing ${dev} .*writes to it\\. Confirm it .*--yes-refresh ${dev}`));
      const r = runCli(['refresh', dev, ...base, '--all', '--yes-refresh', dev, '--label', 'Refreshed'], env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /~ SMS\/PKG\/SMP00091\/drivers\/drivers\.cab/);
      assert.match(r.stdout, new RegExp(`refreshed ${dev}, verified`));
      const log = readShimLog(logPath);
      assertNothingRefused(log, 'refresh');
      assert.ok(log.writes.length > 0 && log.writes.every((x) => x.offset % sectorSize === 0 && x.length % sectorSize === 0), 'every write is whole sectors');
      const v = runCli(['verify', dev], env);
      assert.equal(v.status, 0, v.stdout + v.stderr);
      assert.match(v.stdout, /Refreshed\)/);
      await withPartition(dev, (part) => assertFsckCleanDevice(part));

      // Then a new password alone: rewritten in place through the journal, whole sectors too.
      const pw = join(dir, 'pw.txt');
      writeFileSync(pw, 'N3w-Passw0rd\n');
      rmSync(logPath, { force: true });
      const p = runCli(['refresh', dev, ...base, '--all', '--yes-refresh', dev, '--label', 'Refreshed', '--password-file', pw], env);
      assert.equal(p.status, 0, p.stderr);
      assert.match(p.stdout, /the changed files are rewritten in their own clusters/);
      assert.match(p.stdout, new RegExp(`refreshed ${dev}, verified`));
      const plog = readShimLog(logPath);
      assertNothingRefused(plog, 'refresh in place');
      assert.ok(plog.writes.length > 0 && plog.writes.every((x) => x.offset % sectorSize === 0 && x.length % sectorSize === 0), 'every write is whole sectors');
      assert.equal(runCli(['verify', dev], env).status, 0);
      await withPartition(dev, (part) => assertFsckCleanDevice(part));
    });
  }

  for (const sectorSize of [512, 4096]) {
    test(`${sectorSize}-byte sectors: the privileged writer runs the same job under the rule — boot region last, read back — and refuses nothing`, async (t) => {
      if (!requireOrSkip(t, canRun(), WHY())) return;
      const { so, dev, logPath } = shimmedDrive(t, sectorSize);
      const big = pattern(3 * MiB + 333, 5);
      const plan = planFat32({
        diskBytes: DISK,
        label: 'HELPER',
        sectorSize,
        timestamp: new Date('2025-06-01T12:00:00Z'),
        files: [
          { path: 'EFI/BOOT/BOOTX64.EFI', source: { kind: 'buffer', data: big, label: 'big' } },
          { path: 'SMS/data/TsmBootstrap.ini', source: { kind: 'buffer', data: Buffer.from('[Settings]\r\n'), label: 'ini' } },
        ],
      });
      // The helper (started directly: method "none", as root) gets the shim in its environment.
      const w = await PrivilegedWriter.start(dev, { method: 'none', timeoutMs: 10_000, env: shimEnv({ so: so, device: dev, sectorSize, log: logPath, trace: true }) as Record<string, string> });
      t.after(() => w.dispose());
      const r = await w.runDriveJob({ device: dev, mode: 'erase', writes: [{ layout: plan, gaps: 'zero' }], readBack: true, sectorSize });
      await w.close();
      // Every byte the volume's layout names (structures and files) is compared; its zeroed gaps are not read back.
      const named = plan.regions.reduce((n, x) => n + x.data.length, 0) + plan.extents.reduce((n, e) => n + e.size, 0);
      assert.equal(r.readBack?.bytes, named, 'the helper read back everything the volume holds');
      const log = readShimLog(logPath);
      assertNothingRefused(log, 'privileged writer');
      const writes = log.writes;
      const bootEnd = plan.bootEnd ?? 0;
      assert.ok(bootEnd > MiB);
      const lastBody = writes.map((x) => x.offset + x.length > bootEnd).lastIndexOf(true);
      assert.deepEqual(
        writes.slice(lastBody + 1).map((x) => [x.offset, x.length]),
        [
          [0, sectorSize],
          [MiB, (2 + bootCodeSectorCount(sectorSize)) * sectorSize],
          [MiB + 6 * sectorSize, (2 + bootCodeSectorCount(sectorSize)) * sectorSize],
        ],
        'the MBR and the boot region come last through the helper too',
      );
      const vol = openFat32(dev);
      try {
        assert.equal(vol.bytesPerSector, sectorSize);
        assert.ok(vol.readFileBuffer('EFI/BOOT/BOOTX64.EFI').equals(big));
      } finally {
        vol.close();
      }
    });
  }

  test('a drive with sectors of another size (1024, 2048 bytes) is refused by name before anything is written', (t) => {
    if (!requireOrSkip(t, canRun(), WHY())) return;
    const dir = tempDir(t);
    for (const sectorSize of [1024, 2048]) {
      const dev = attachLoop(t, dir, sectorSize, 64 * MiB);
      const r = runCli(['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--drive', dev, '--all', '--yes-erase', dev], { XDG_STATE_HOME: join(dir, 'state') });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${dev} has logical sectors of ${sectorSize} bytes; tsmedia lays out drives with 512- or 4096-byte sectors only\\. Use another drive\\.`));
      assert.ok(readFileSync(join(dir, `stick-${sectorSize}.img`)).every((b) => b === 0), 'nothing was written');
    }
  });

  test('4096-byte sectors: the drive boots under OVMF as a disk with 4096-byte logical blocks', async (t) => {
    const miss = [...missingBootStandInTools(), ...(hasCommand(QEMU) ? [] : [QEMU]), ...(existsSync(OVMF) ? [] : [OVMF])];
    if (!requireOrSkip(t, canRun() && miss.length === 0, `${WHY()}; missing ${miss.join(', ') || 'nothing else'}`)) return;
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const s = await useBootStandIns(site, dir);
    const dev = attachLoop(t, dir, 4096);
    const r = runCli(['create', '--site', site, '--media', 'usb', '--task-sequence', 'SMP00010', '--drive', dev, '--all', '--yes-erase', dev], { XDG_STATE_HOME: join(dir, 'state') });
    assert.equal(r.status, 0, r.stderr);
    const b = await bootIso(dev, s.uefiMarker, true, 'disk4k');
    console.log(`# OVMF boot of the 4096-byte-sector drive: ${b.ms} ms`);
    assert.ok(b.found, `OVMF did not start BOOTX64.EFI from the 4Kn drive:\n${b.output.slice(-2000)}`);
  });
});
