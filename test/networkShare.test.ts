// ISO sets saved to a real SMB share (issue 14): Samba's smbd on 127.0.0.1 with a share of its own, mounted through
// FUSE with smbnetfs (scripts/lib/sambaShare.ts), written by the real command line. A set of two 64 MiB discs is
// written and verified there and read on the server's own folder by xorriso and isoinfo; a second set replaces it
// only at the end; smbd is killed mid-write: a named error, exit 2, the earlier set intact, and the next run (the
// server back) removes what the dead run left and succeeds. Root on Linux only; elsewhere skipped with the reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { cannotShare, sambaShare, type SambaShare } from '../scripts/lib/sambaShare.js';
import { hasCommand, requireOrSkip, runCli } from './helpers.js';
import { snapshotOutputs, startTsmedia } from './support/killer.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

const MiB = 1024 * 1024;
const DISC = 64 * MiB;
// With the sample site's own 4 MiB, a payload of a disc's size makes a set of two discs.
const PAYLOAD = 64 * MiB + 12345;
// What must have reached the server before smbd is killed: the write has started, and is far from done.
const STOP_AFTER = 4 * MiB;
const TOOLS = ['xorriso', 'isoinfo'];

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const isDisc = (n: string): boolean => /^set(-\d+)?\.iso$/.test(n);
/** The set's discs in order: set.iso, set-2.iso, … */
const discsIn = (dir: string): string[] => readdirSync(dir).filter(isDisc).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
const partialsIn = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.partial'));
/** A stack trace's frame line ("    at fn (file.js:1:2)"): never on a user's terminal. */
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

/** The volume identifier of an ISO 9660 image (the primary volume descriptor at sector 16, bytes 40–71). */
function volumeId(iso: string): string {
  const fd = openSync(iso, 'r');
  try {
    const b = Buffer.alloc(32);
    readSync(fd, b, 0, 32, 16 * 2048 + 40);
    return b.toString('latin1').trimEnd();
  } finally {
    closeSync(fd);
  }
}

/** Run `pid`'s partial files in a folder. */
const partialsOf = (folder: string, pid: number): string[] => partialsIn(folder).filter((n) => n.includes(`.tsmedia-${pid}-`));

/** Bytes the server holds in run `pid`'s partial files (allocated: a partial file may be sized before it is filled). */
function serverBytesOf(folder: string, pid: number): number {
  let bytes = 0;
  for (const n of partialsOf(folder, pid)) {
    try {
      bytes += statSync(join(folder, n)).blocks * 512;
    } catch {
      // renamed or removed meanwhile
    }
  }
  return bytes;
}

describe('ISO sets on a network share (Samba through smbnetfs)', () => {
  const why = cannotShare();
  let share: SambaShare | null = null;
  let work = '';
  let site = '';
  let payload = '';
  let out = '';
  // The set each test leaves on the share, for the next: final names → SHA-256 (the log left out: runs append to it).
  let earlier: Record<string, string> | null = null;

  before(async () => {
    if (why) return;
    work = mkdtempSync(join(tmpdir(), 'tsmedia-share-test-'));
    site = copySampleSite(join(work, 'site'));
    payload = join(work, 'payload.bin');
    randomFile(payload, PAYLOAD);
    await addPackage(site, 'SMP00099', [{ relativePath: 'payload/big.bin', sourcePath: payload }]);
    // Not inside `work`: that is removed recursively, and must never reach through a mount.
    share = await sambaShare();
    mkdirSync(join(share.path, 'sets'));
    out = join(share.path, 'sets', 'set.iso');
  });

  after(() => {
    share?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const ready = (t: TestContext): boolean => requireOrSkip(t, why === null, why ?? '');
  const server = (): string => join((share as SambaShare).folder, 'sets');
  const createArgs = (label: string): string[] => [
    'create', '--site', site, '--task-sequence', 'SMP00010', '--media', 'iso', '--size', String(DISC), '--package', 'SMP00099', '--label', label, '--out', out,
  ];
  const env = (): NodeJS.ProcessEnv => ({ XDG_STATE_HOME: join(work, 'state') });
  /** Every disc of the set on the server equals its .sha256 file, which the run wrote from what it read back. */
  const assertChecksums = (discs: string[]): void => {
    for (const d of discs) assert.equal(readFileSync(join(server(), `${d}.sha256`), 'utf8'), `${sha(join(server(), d))}  ${d}\n`, `${d}: the server's bytes are what was read back`);
  };

  test('a set of two discs is written to the share, read back, verified through it, and read by xorriso and isoinfo on the server', (t) => {
    if (!ready(t)) return;
    const s = share as SambaShare;
    const r = runCli(createArgs('Share set A'), env());
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`the network share ${s.unc}`), `the run names the share it writes to:\n${r.stderr}`);
    const discs = discsIn(server());
    assert.deepEqual(discs, ['set.iso', 'set-2.iso'], 'a set of two discs on the server');
    for (const d of discs) assert.ok(statSync(join(server(), d)).size <= DISC, `${d} fits the disc`);
    assert.deepEqual(partialsIn(server()), [], 'no temporary file left');
    assertChecksums(discs);

    // tsmedia verify through the share: every file of the manifest, and each image against its .sha256 file.
    const v = runCli(['verify', ...discs.map((d) => join(s.path, 'sets', d)), '--image-hash', '--json']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
    const report = JSON.parse(v.stdout) as { status: number; filesChecked: number; bytesChecked: number; problems: unknown[] };
    assert.deepEqual(report.problems, []);
    assert.ok(report.bytesChecked > PAYLOAD, `${report.bytesChecked} bytes verified, the payload's ${PAYLOAD} among them`);
    earlier = snapshotOutputs(server());

    const missing = TOOLS.filter((c) => !hasCommand(c));
    if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')} (./scripts/setup.sh installs them)`)) return;

    // Independent readers on the server's own folder: the label, and the payload's parts joined give the payload back.
    const parts: Buffer[] = [];
    discs.forEach((d, i) => {
      const iso = join(server(), d);
      assert.match(spawnSync('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' }).stdout, /Volume id: SHARE_SET_A/, d);
      const x = join(work, `x${i + 1}`);
      const e = spawnSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', x], { encoding: 'utf8' });
      assert.equal(e.status, 0, e.stderr);
      const part = join(x, 'SMS/PKG/SMP00099/payload/big.bin');
      if (statSync(part, { throwIfNoEntry: false })) parts.push(readFileSync(part));
    });
    assert.equal(parts.length, 2, 'the payload spans both discs');
    assert.equal(createHash('sha256').update(Buffer.concat(parts)).digest('hex'), sha(payload), 'the payload read from the server by xorriso');
  });

  test('a second set replaces the first only at the end: while it is written the first is intact on the server', async (t) => {
    if (!ready(t)) return;
    const first = earlier;
    assert.ok(first && discsIn(server()).length === 2, 'the set of the test before is on the share');
    const run = startTsmedia(createArgs('Share set B'), env());
    let checks = 0;
    let seen = 0;
    while (!run.ended()) {
      const writing = partialsOf(server(), run.pid);
      if (writing.length > 0) {
        // Hashed from the server's folder while the new set's partial files grow beside it. The set's files are renamed
        // into place one by one at the end: a check that overlapped a rename (a partial file gone) is not one.
        // A name listed and then renamed over before it is opened is the commit under way too: no snapshot that time.
        const snapshot = snapshotIfSteady(server());
        const still = partialsOf(server(), run.pid);
        if (!writing.every((n) => still.includes(n))) break;
        if (snapshot === null) {
          await sleep(1000);
          const after = partialsOf(server(), run.pid);
          if (run.ended() || !writing.every((n) => after.includes(n))) break;
          continue;
        }
        // Through smbnetfs a rename over an existing file reaches Samba as the old file removed, then the rename: a
        // name of the first set missing for that moment, with the partials still there, is the commit under way when
        // the partials go within the next moments.
        if (Object.keys(first).some((n) => !(n in snapshot))) {
          await sleep(1000);
          const after = partialsOf(server(), run.pid);
          if (run.ended() || !writing.every((n) => after.includes(n))) break;
        }
        assert.deepEqual(snapshot, first, 'the first set, untouched while the second is written');
        checks++;
        seen = Math.max(seen, serverBytesOf(server(), run.pid));
      }
      await sleep(100);
    }
    const r = await run.done;
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(checks >= 2 && seen >= STOP_AFTER, `the first set was checked ${checks} times while up to ${seen} bytes of the second had reached the server`);
    const discs = discsIn(server());
    assert.deepEqual(discs, ['set.iso', 'set-2.iso']);
    assert.deepEqual(partialsIn(server()), []);
    assertChecksums(discs);
    const now = snapshotOutputs(server());
    for (const n of Object.keys(first)) assert.notEqual(now[n], first[n], `${n} is the second set's now`);
    assert.equal(volumeId(join(server(), 'set.iso')), 'SHARE_SET_B');
    earlier = now;
  });

  test('smbd killed mid-write: exit 2 naming the share, the earlier set intact, and the next run cleans up and succeeds', async (t) => {
    if (!ready(t)) return;
    const s = share as SambaShare;
    const kept = earlier;
    assert.ok(kept && discsIn(server()).length === 2, 'the set of the test before is on the share');
    const run = startTsmedia(createArgs('Share set C'), env());
    let reached = 0;
    while (!run.ended() && (reached = serverBytesOf(server(), run.pid)) < STOP_AFTER) await sleep(20);
    assert.ok(!run.ended(), `the run was still writing when the server was to be stopped (${reached} bytes had reached it)`);
    await s.stopServer();
    const r = await run.done;

    assert.equal(r.status, 2, `exit 2 for a failed write:\n${r.stderr}`);
    const error = r.stderr.slice(r.stderr.indexOf('\ntsmedia: ') + 1);
    assert.ok(error.startsWith('tsmedia: '), `an error line:\n${r.stderr}`);
    assert.ok(error.includes(`the network share ${s.unc}`), `the error names the share ${s.unc}:\n${error}`);
    assert.match(error, /stopped answering/, 'the error says the share went away');
    assert.doesNotMatch(r.stderr, STACK_FRAME, 'no stack trace');
    assert.doesNotMatch(r.stderr, /unexpected error/);
    // Nothing new under a final name, nothing changed: read on the server's own folder, the network being gone.
    assert.deepEqual(snapshotOutputs(server()), kept, 'the earlier set is intact');
    const left = partialsIn(server());
    assert.ok(left.some((n) => n.includes(`.tsmedia-${run.pid}-`)), `the dead run's partial files are left (the share was gone): ${left.join(', ')}`);

    await s.startServer();
    await s.waitUntilReachable();
    const again = runCli(createArgs('Share set C'), env());
    assert.equal(again.status, 0, again.stdout + again.stderr);
    assert.deepEqual(partialsIn(server()), [], "the dead run's partial files are removed");
    const discs = discsIn(server());
    assert.deepEqual(discs, ['set.iso', 'set-2.iso']);
    assertChecksums(discs);
    assert.equal(volumeId(join(server(), 'set.iso')), 'SHARE_SET_C');
  });

  test('removing the share unmounts it and stops every process it started', async (t) => {
    if (!ready(t)) return;
    const s = share as SambaShare;
    assert.ok(s.mounted() && s.running().length >= 3, `mounted, with smbd, smbnetfs and the namespace's holder running (${s.running().length} processes)`);
    s.remove();
    assert.equal(s.mounted(), false, 'unmounted');
    for (let i = 0; i < 50 && s.running().length > 0; i++) await sleep(100);
    assert.deepEqual(s.running(), [], 'no process it started is left');
    assert.equal(statSync(s.folder, { throwIfNoEntry: false }), undefined, 'its folder is removed');
  });
});

/** The outputs' hashes, or null when a file listed was gone by the time it was opened (a rename in flight). */
function snapshotIfSteady(dir: string): Record<string, string> | null {
  try {
    return snapshotOutputs(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
