// The kill campaign for "use the drive as already formatted" (`create --no-format`), which adds tsmedia's files to a
// volume another tool made, through a journal (formats/fat32/Fat32AppendJournal). The run is killed (SIGKILL) at byte
// offsets spread over everything it writes and around its commit; the writes are slowed and traced by the LD_PRELOAD
// shim (support/slowWrites.c). Killed before the commit, the volume is exactly as it was: fsck-clean, its own files
// whole, nothing of tsmedia's visible. Killed after, it holds a whole journal; either way the next run finishes, and
// the volume is clean, verifies, and still holds its own files.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { refreshState } from '../electron/engine/formats/fat32/Fat32Refresh.js';
import { requireOrSkip, runCli, tempDir } from './helpers.js';
import { must, MT_ENV, pattern, volumeHashes } from './support/fat32Tools.js';
import { seededRandom, spreadOffsets } from './support/killer.js';
import { assertCleanAt, buildShim, cannotRun, runSlowed, writesIn } from './support/slowWrites.js';

const SEED = 20261206;


test(`create --no-format killed at spread byte offsets and around its commit (seed ${SEED}): the volume as it was, or finished by the next run`, async (t) => {
  const missing = cannotRun();
  if (!requireOrSkip(t, process.platform === 'linux' && missing.length === 0, `needs Linux, cc and the FAT tools (missing: ${missing.join(', ')})`)) return;
  const dir = tempDir(t);
  const so = buildShim(dir);
  const env = { XDG_STATE_HOME: join(dir, 'state') };
  // Their stick: mkfs.fat's volume, their own files, and a file where tsmedia puts one (it is replaced).
  const old = join(dir, 'theirs.img');
  must('mkfs.fat', ['-C', '-F', '32', '-n', 'THEIRS', old, String(128 * 1024)]);
  must('mmd', ['-i', old, '::/photos', '::/SMS', '::/SMS/data'], MT_ENV);
  const own: Record<string, Buffer> = { 'notes.txt': Buffer.from('mine\n'), 'photos/a.bin': pattern(900_000, 3), 'SMS/data/TsmBootstrap.ini': Buffer.from('[theirs]\r\n') };
  for (const [p, data] of Object.entries(own)) {
    const f = join(dir, p.replace(/\//g, '_'));
    writeFileSync(f, data);
    must('mcopy', ['-i', old, f, `::/${p}`], MT_ENV);
  }
  const before = volumeHashes(old);
  const v0 = openFat32(old);
  const headerAt = (v0.reservedSectors - 1) * v0.bytesPerSector;
  v0.close();

  const work = join(dir, 'work.img');
  const trace = join(dir, 'trace.txt');
  const create = ['create', '--task-sequence', 'SMP00010', '--media', 'usb', '--image', work, '--no-format', '--no-verify'];
  const shim = (slow: boolean): NodeJS.ProcessEnv => ({ ...env, LD_PRELOAD: so, TSMEDIA_SLOW_PATH: work, TSMEDIA_SLOW_TRACE: trace, TSMEDIA_SLOW_CALL_US: slow ? '15000' : '0', TSMEDIA_SLOW_CHUNK: String(64 * 1024) });
  copyFileSync(old, work);
  const ref = await runSlowed(create, shim(false), trace, null);
  assert.equal(ref.code, 0, ref.stderr);
  const writes = writesIn(trace);
  const total = writes.reduce((n, w) => n + w.length, 0);
  const headerWrites = writes.map((w, i) => (w.offset === headerAt ? i : -1)).filter((i) => i >= 0);
  assert.equal(headerWrites.length, 2, 'the journal\'s header is written twice (commit, clear)');
  const commit = headerWrites[0];
  const cumulative: number[] = [];
  writes.reduce((n, w, i) => (cumulative[i] = n + w.length), 0);
  const byOffset = spreadOffsets(12, total, seededRandom(SEED)).map((o) => cumulative.findIndex((c) => c > o));
  const points = [...new Set([...byOffset, commit - 1, commit, commit + 1, writes.length - 2])].filter((k) => k >= 0 && k < writes.length - 1).sort((a, b) => a - b);
  assert.ok(points.length >= 12, `${points.length} kill points over ${writes.length} writes`);
  let beforeCommit = 0;
  for (const k of points) {
    copyFileSync(old, work);
    const r = await runSlowed(create, shim(true), trace, k + 1);
    const what = `killed after write ${k + 1} of ${writes.length} (byte ${cumulative[k]} of ${total})`;
    assert.ok(r.killed && r.code === null, `${what}: the run was killed (exit ${r.code})`);
    assert.equal(r.writes, k + 1, `${what}: the kill landed after the write aimed at`);
    const v = openFat32(work);
    const state = refreshState(v).state;
    v.close();
    if (k < commit) {
      beforeCommit += 1;
      assert.equal(state, 'old', what);
      assertCleanAt(work, 0, dir, what);
      assert.deepEqual(volumeHashes(work), before, `${what}: the volume as it was, their files whole`);
    } else assert.equal(state, 'rewrite', `${what}: a whole journal, named`);
    const again = runCli(['create', '--task-sequence', 'SMP00010', '--media', 'usb', '--image', work, '--no-format'], env);
    assert.equal(again.status, 0, `${what}: the next run: ${again.stderr}`);
    assertCleanAt(work, 0, dir, `${what}, then run again`);
    const after = volumeHashes(work);
    for (const p of ['notes.txt', 'photos/a.bin']) assert.equal(after.get(p), before.get(p), `${what}: ${p} kept`);
    const verify = runCli(['verify', work], env);
    assert.equal(verify.status, 0, `${what}: ${verify.stdout}${verify.stderr}`);
    assert.doesNotMatch(verify.stdout, /interrupted/);
  }
  assert.ok(beforeCommit > 0 && beforeCommit < points.length, 'kills before and after the commit');
  console.log(`# create --no-format: ${points.length} kills over ${writes.length} writes (${total} bytes), ${beforeCommit} before the commit`);
});
