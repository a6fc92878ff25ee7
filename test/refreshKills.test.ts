// The kill campaign for `tsmedia refresh` (issue 20): a refresh of a USB image is killed (SIGKILL to its process group)
// at 20 byte offsets spread over everything it writes, and right after each write of a boot sector or FSInfo (so every
// state of formats/fat32/Fat32Refresh is hit). The writes are slowed and traced by an LD_PRELOAD shim
// (support/slowWrites.c), so a kill lands right after the write it is aimed at. After each kill: fsck.fat -n finds the
// volume clean, `tsmedia verify` passes and says which media it holds (the old one before the switch, the new one
// from it on) and names an interrupted refresh, and the next `tsmedia refresh` completes it and verifies.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { requireOrSkip, runCli, tempDir } from './helpers.js';
import { seededRandom, spreadOffsets } from './support/killer.js';
import { addPackage, copySampleSite, randomFile, updatePackage } from './support/sites.js';
import { assertCleanAt, buildShim, cannotRun, runSlowed, writesIn } from './support/slowWrites.js';

const MiB = 1024 * 1024;
const PART = 1024 * 1024;
const SEED = 20261205;

function assertClean(img: string, dir: string, what: string): void {
  assertCleanAt(img, PART, dir, what);
}

test(`refresh killed at 20 spread byte offsets and after every boot-sector and FSInfo write (seed ${SEED}): clean, verified as old or new, finished by the next refresh`, async (t) => {
  const missing = cannotRun();
  if (!requireOrSkip(t, process.platform === 'linux' && missing.length === 0, `needs Linux, cc and the FAT tools (missing: ${missing.join(', ')})`)) return;
  const dir = tempDir(t);
  const so = buildShim(dir);
  const env = { XDG_STATE_HOME: join(dir, 'state') };
  const site = copySampleSite(join(dir, 'site'));
  const v1 = join(dir, 'v1.cab');
  randomFile(v1, 6 * MiB);
  await addPackage(site, 'SMP00091', [{ relativePath: 'drivers/drivers.cab', sourcePath: v1 }], 'Drivers');
  const old = join(dir, 'old.img');
  const base = ['--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00091'];
  const made = runCli(['create', ...base, '--label', 'Old media', '--media', 'usb', '--image', old, '--image-size', '128MiB'], env);
  assert.equal(made.status, 0, made.stderr);
  const v2 = join(dir, 'v2.cab');
  randomFile(v2, 6 * MiB + 4321);
  await updatePackage(site, 'SMP00091', [{ relativePath: 'drivers/drivers.cab', sourcePath: v2 }]);

  const work = join(dir, 'work.img');
  const trace = join(dir, 'trace.txt');
  const refresh = ['refresh', work, ...base, '--label', 'New media', '--no-verify'];
  const shim = (slow: boolean): NodeJS.ProcessEnv => ({ ...env, LD_PRELOAD: so, TSMEDIA_SLOW_PATH: work, TSMEDIA_SLOW_TRACE: trace, TSMEDIA_SLOW_CALL_US: slow ? '15000' : '0', TSMEDIA_SLOW_CHUNK: String(256 * 1024) });

  // The reference run: every write the refresh makes, in order.
  copyFileSync(old, work);
  const ref = await runSlowed(refresh, shim(false), trace, null);
  assert.equal(ref.code, 0, ref.stderr);
  const writes = writesIn(trace);
  const total = writes.reduce((n, w) => n + w.length, 0);
  const bootWrites = writes.map((w, i) => (w.offset === PART ? i : -1)).filter((i) => i >= 0);
  assert.equal(bootWrites.length, 3, `three boot-sector writes (old-alone, switch, two FATs): ${JSON.stringify(writes.filter((w) => w.offset === PART))}`);
  const switchAt = bootWrites[1];
  const fsInfoWrites = writes.map((w, i) => (w.offset === PART + 512 ? i : -1)).filter((i) => i >= 0);
  const backupBoot = writes.findIndex((w) => w.offset === PART + 6 * 512);
  assert.ok(backupBoot > bootWrites[2], 'the backup boot sector is written last of the boot sectors');

  // Kill after write k (0-based): at byte offsets spread over the whole refresh, and after each boot sector and FSInfo.
  const cumulative: number[] = [];
  writes.reduce((n, w, i) => (cumulative[i] = n + w.length), 0);
  const byOffset = spreadOffsets(20, total, seededRandom(SEED)).map((o) => cumulative.findIndex((c) => c > o));
  const points = [...new Set([...byOffset, ...bootWrites, ...fsInfoWrites, backupBoot])].filter((k) => k < writes.length - 1).sort((a, b) => a - b);
  assert.ok(points.length >= 20, `${points.length} kill points`);
  const seen = new Set<string>();
  for (const k of points) {
    copyFileSync(old, work);
    const r = await runSlowed(refresh, shim(true), trace, k + 1);
    const what = `killed after write ${k + 1} of ${writes.length} (byte ${cumulative[k]} of ${total})`;
    assert.ok(r.killed && r.code === null, `${what}: the run was killed (exit ${r.code}, ${r.writes} writes)`);
    assert.equal(r.writes, k + 1, `${what}: the kill landed after the write aimed at`);
    assertClean(work, dir, what);
    const v = runCli(['verify', work], env);
    assert.equal(v.status, 0, `${what}: verify: ${v.stdout}${v.stderr}`);
    const holds = k >= switchAt ? 'New media' : 'Old media';
    assert.match(v.stdout, new RegExp(`\\(1 disc\\(s\\), ${holds}\\)`), `${what}: verify says it holds the ${holds}: ${v.stdout}`);
    const note = /note: an interrupted refresh left this volume \(([a-z-]+)\): it holds the (old|new) media whole/.exec(v.stdout);
    if (note) {
      assert.equal(note[2], k >= switchAt ? 'new' : 'old', `${what}: ${v.stdout}`);
      seen.add(note[1]);
    }
    if (k >= bootWrites[0] && k < backupBoot) assert.ok(note, `${what}: the interrupted refresh is named: ${v.stdout}`);
    const again = runCli(['refresh', work, ...base, '--label', 'New media', '--no-verify'], env);
    assert.equal(again.status, 0, `${what}: the next refresh: ${again.stderr}`);
    if (note) assert.match(again.stdout, note[1] === 'old-alone' ? /interrupted: it is rolled back first/ : /interrupted: it is finished first/, `${what}: ${again.stdout}`);
    assertClean(work, dir, `${what}, then refreshed`);
    const after = runCli(['verify', work], env);
    assert.equal(after.status, 0, after.stdout);
    assert.match(after.stdout, /\(1 disc\(s\), New media\)/);
    assert.doesNotMatch(after.stdout, /interrupted/);
  }
  assert.deepEqual([...seen].sort(), ['new', 'new-alone', 'old-alone'], 'every in-between state was met');

  // Ctrl+C in the middle of the content, and a drive that goes away (every write fails with EIO) before and after the
  // switch: each ends with its own message, and leaves the volume as a kill does.
  const middle = cumulative.findIndex((c) => c > total / 2);
  const afterInterruption = (what: string, holds: 'Old media' | 'New media'): void => {
    assertClean(work, dir, what);
    const v = runCli(['verify', work], env);
    assert.equal(v.status, 0, `${what}: ${v.stdout}`);
    assert.match(v.stdout, new RegExp(`\\(1 disc\\(s\\), ${holds}\\)`), `${what}: ${v.stdout}`);
    assert.match(v.stdout, /note: an interrupted refresh left this volume/, `${what}: ${v.stdout}`);
    const again = runCli(['refresh', work, ...base, '--label', 'New media'], env);
    assert.equal(again.status, 0, `${what}: ${again.stderr}`);
    assert.match(again.stdout, /verified/);
    assertClean(work, dir, `${what}, then refreshed`);
  };
  copyFileSync(old, work);
  const c = await runSlowed(refresh, shim(true), trace, middle + 1, 'SIGINT');
  assert.equal(c.code, 130, `Ctrl+C: ${c.stderr}`);
  assert.match(c.stderr, /cancelled: the media is the old one, the new one, or an interrupted refresh that the next "tsmedia refresh" finishes or rolls back/);
  afterInterruption('Ctrl+C in the content', 'Old media');
  for (const [failAfter, holds] of [[middle + 1, 'Old media'], [switchAt + 1, 'New media']] as const) {
    copyFileSync(old, work);
    const g = await runSlowed(refresh, { ...shim(false), TSMEDIA_SLOW_FAIL_AFTER: String(failAfter) }, trace, null);
    assert.equal(g.code, 2, `EIO after ${failAfter} writes: ${g.stderr}`);
    assert.ok(g.stderr.includes(`I/O error writing ${work}`), `the failure names the image and the cause: ${g.stderr}`);
    afterInterruption(`the drive gone after ${failAfter} writes`, holds);
  }
  console.log(`# ${points.length} kills over ${writes.length} writes (${total} bytes); states met: ${[...seen].join(', ')}`);
});

test(`an in-place rewrite (a new password) killed at 20 spread byte offsets and after its commit (seed ${SEED}): clean, named, finished by the next refresh`, async (t) => {
  const missing = cannotRun();
  if (!requireOrSkip(t, process.platform === 'linux' && missing.length === 0, `needs Linux, cc and the FAT tools (missing: ${missing.join(', ')})`)) return;
  const dir = tempDir(t);
  const so = buildShim(dir);
  const env = { XDG_STATE_HOME: join(dir, 'state') };
  const old = join(dir, 'old.img');
  const made = runCli(['create', '--task-sequence', 'SMP00010', '--media', 'usb', '--image', old, '--image-size', '128MiB'], env);
  assert.equal(made.status, 0, made.stderr);
  const vol = openFat32(old);
  const headerAt = PART + (vol.reservedSectors - 1) * vol.bytesPerSector;
  const environment = ['SMS/data/TsmBootstrap.ini', 'SMS/data/Variables.dat', 'SMS/data/Policy.xml', 'SMS/data/tsmedia-manifest.json'];
  const oldBytes = environment.map((p) => vol.readFileBuffer(p));
  vol.close();
  const pw = join(dir, 'pw.txt');
  writeFileSync(pw, 'An0ther-Passw0rd\n');
  const work = join(dir, 'work.img');
  const trace = join(dir, 'trace.txt');
  const refresh = ['refresh', work, '--task-sequence', 'SMP00010', '--password-file', pw, '--no-verify'];
  // Writes cut into 4 KiB pieces: the rewrite is small, and a kill must be able to land inside each file.
  const shim = (slow: boolean): NodeJS.ProcessEnv => ({ ...env, LD_PRELOAD: so, TSMEDIA_SLOW_PATH: work, TSMEDIA_SLOW_TRACE: trace, TSMEDIA_SLOW_CALL_US: slow ? '15000' : '0', TSMEDIA_SLOW_CHUNK: '4096' });
  const sameAsOld = (img: string): boolean => {
    const v = openFat32(img);
    try {
      return environment.every((p, i) => v.readFileBuffer(p).equals(oldBytes[i]));
    } finally {
      v.close();
    }
  };

  copyFileSync(old, work);
  const ref = await runSlowed(refresh, shim(false), trace, null);
  assert.equal(ref.code, 0, ref.stderr);
  const writes = writesIn(trace);
  const total = writes.reduce((n, w) => n + w.length, 0);
  const headerWrites = writes.map((w, i) => (w.offset === headerAt ? i : -1)).filter((i) => i >= 0);
  assert.equal(headerWrites.length, 2, `the journal's header is written twice (commit, clear): ${JSON.stringify(writes.slice(0, 80))}`);
  assert.ok(!writes.some((w) => w.offset < headerAt || (w.offset > headerAt && w.offset < PART + vol.reservedSectors * 512 + 2 * vol.fatSectors * 512)), 'no boot sector, FSInfo or FAT is written');
  const commit = headerWrites[0];
  const cumulative: number[] = [];
  writes.reduce((n, w, i) => (cumulative[i] = n + w.length), 0);
  const byOffset = spreadOffsets(20, total, seededRandom(SEED)).map((o) => cumulative.findIndex((c) => c > o));
  const points = [...new Set([...byOffset, commit - 1, commit, commit + 1, writes.length - 2])].filter((k) => k >= 0 && k < writes.length - 1).sort((a, b) => a - b);
  assert.ok(points.length >= 15, `${points.length} kill points over ${writes.length} writes`);
  const seen = new Set<string>();
  for (const k of points) {
    copyFileSync(old, work);
    const r = await runSlowed(refresh, shim(true), trace, k + 1);
    const what = `killed after write ${k + 1} of ${writes.length} (byte ${cumulative[k]} of ${total})`;
    assert.ok(r.killed && r.code === null, `${what}: the run was killed (exit ${r.code}, ${r.writes} writes)`);
    assert.equal(r.writes, k + 1, `${what}: the kill landed after the write aimed at`);
    assertClean(work, dir, what);
    const v = runCli(['verify', work], env);
    const note = /note: an interrupted write left this volume \(rewrite\): (it holds the new media whole|its changes were being made in place)/.exec(v.stdout);
    if (k < commit) {
      assert.equal(note, null, `${what}: before the commit there is nothing to name: ${v.stdout}`);
      assert.equal(v.status, 0, `${what}: verify: ${v.stdout}${v.stderr}`);
      assert.ok(sameAsOld(work), `${what}: the old media, untouched`);
      seen.add('old');
    } else {
      assert.ok(note, `${what}: the interrupted rewrite is named: ${v.stdout}`);
      seen.add(note[1].startsWith('it holds') ? 'rewritten' : 'rewriting');
      if (note[1].startsWith('it holds')) assert.equal(v.status, 0, `${what}: ${v.stdout}`);
    }
    const again = runCli(['refresh', work, '--task-sequence', 'SMP00010', '--password-file', pw], env);
    assert.equal(again.status, 0, `${what}: the next refresh: ${again.stderr}`);
    if (note) assert.match(again.stdout, /interrupted: it is finished first/, `${what}: ${again.stdout}`);
    assert.match(again.stdout, /verified/);
    assertClean(work, dir, `${what}, then refreshed`);
    const after = runCli(['verify', work], env);
    assert.equal(after.status, 0, after.stdout);
    assert.doesNotMatch(after.stdout, /interrupted/);
  }
  assert.deepEqual([...seen].sort(), ['old', 'rewriting', 'rewritten'], 'every state was met');
  console.log(`# in-place rewrite: ${points.length} kills over ${writes.length} writes (${total} bytes); states met: ${[...seen].join(', ')}`);
});
