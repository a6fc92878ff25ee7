// verify names what differs: a file changed on the media, a truncated image, bytes past the volume, an ISO not made
// by tsmedia; and the answer file reproduces a run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openIso } from '../electron/engine/formats/iso/IsoReader.js';
import { hasCommand, requireOrSkip, runCli, tempDir } from './helpers.js';

describe('verify and answers', () => {
  test('a file changed after writing is named; a truncated ISO is caught', (t) => {
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const iso = join(dir, 'media.iso');
    // Read back after writing: the .sha256 file is written.
    assert.equal(runCli(['create', '--task-sequence', 'SMP00010', '--out', iso], env).status, 0);
    assert.match(readFileSync(`${iso}.sha256`, 'utf8'), /^[0-9a-f]{64} {2}media\.iso\n$/);
    assert.equal(runCli(['verify', iso]).status, 0);
    assert.equal(runCli(['verify', iso, '--image-hash']).status, 0);

    // Flip one byte inside install.wim's data.
    const vol = openIso(iso);
    const entry = vol.find('SMS/PKG/SMP00002/install.wim');
    vol.close();
    assert.ok(entry);
    const fd = openSync(iso, 'r+');
    writeSync(fd, Buffer.from([0x42]), 0, 1, entry.extents[0].offset + 1000);
    closeSync(fd);
    const r = runCli(['verify', iso]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /DIFFERS SMS\/PKG\/SMP00002\/install\.wim \(disc 1\): its SHA-256 is [0-9A-F]{64}, the manifest says/);
    assert.doesNotMatch(r.stdout, /DIFFERS media\.iso/);
    const withImage = runCli(['verify', iso, '--image-hash']);
    assert.equal(withImage.status, 1);
    assert.match(withImage.stdout, /DIFFERS SMS\/PKG\/SMP00002\/install\.wim/);
    assert.match(withImage.stdout, /DIFFERS media\.iso: the image's SHA-256 is [0-9a-f]{64}, its \.sha256 file says/);
    const j = JSON.parse(runCli(['verify', iso, '--json']).stdout) as { status: number; problems: { path: string }[] };
    assert.equal(j.status, 1);

    // Cut the image short: unreadable (exit 2), the image named with the size its volume says it has.
    const size = readFileSync(iso).length;
    truncateSync(iso, size - 300 * 1024);
    const cut = runCli(['verify', iso]);
    assert.equal(cut.status, 2, cut.stdout + cut.stderr);
    assert.match(cut.stderr, new RegExp(`unreadable: .*media\\.iso: the image is truncated: the volume holds ${size / 2048} blocks \\(${size} bytes\\) but the file has ${size - 300 * 1024} bytes`));
  });

  test('an ISO longer than its volume is named with the extra bytes; one exactly its volume passes', (t) => {
    const dir = tempDir(t);
    const iso = join(dir, 'media.iso');
    assert.equal(runCli(['create', '--task-sequence', 'SMP00010', '--out', iso, '--no-verify'], { XDG_STATE_HOME: join(dir, 'state') }).status, 0);
    const vol = openIso(iso);
    const volumeBytes = vol.blocks * 2048;
    vol.close();
    // Exactly the volume's size (with its UDF bridge inside the volume): no problem.
    assert.equal(statSync(iso).size, volumeBytes);
    assert.equal(runCli(['verify', iso]).status, 0);

    appendFileSync(iso, Buffer.alloc(4113, 0x5a));
    const r = runCli(['verify', iso]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.ok(
      r.stdout.includes(`DIFFERS media.iso (disc 1): 4113 bytes past the end of its volume (the primary volume descriptor gives ${volumeBytes / 2048} blocks, ${volumeBytes} bytes; the file has ${volumeBytes + 4113})`),
      r.stdout,
    );
    // Every file on it still matches: the extra bytes are the only problem.
    assert.doesNotMatch(r.stdout, /DIFFERS SMS\//);
    const j = JSON.parse(runCli(['verify', iso, '--json']).stdout) as { status: number; problems: { path: string; disc: number | null }[] };
    assert.deepEqual([j.status, j.problems.map((p) => [p.path, p.disc])], [1, [['media.iso', 1]]]);
  });

  test('the .sha256 file is the read-back hash: written after a verified run, removed by a run that reads nothing back', (t) => {
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    const iso = join(dir, 'media.iso');
    assert.equal(runCli(['create', '--task-sequence', 'SMP00010', '--out', iso], env).status, 0);
    const sum = readFileSync(`${iso}.sha256`, 'utf8').slice(0, 64);
    assert.equal(sum, createHash('sha256').update(readFileSync(iso)).digest('hex'));
    const report = JSON.parse(readFileSync(join(dir, 'media.report.json'), 'utf8')) as { discs: { sha256: string | null }[]; verified: boolean };
    assert.deepEqual([report.discs[0].sha256, report.verified], [sum, true]);

    const again = runCli(['create', '--task-sequence', 'SMP00010', '--out', iso, '--no-verify'], env);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(existsSync(`${iso}.sha256`), false, "an earlier run's checksum would not match the new image");
    const md = readFileSync(join(dir, 'media.report.md'), 'utf8');
    assert.match(md, /\| media\.iso \| \d+ \| not computed \(not read back\) \|/);
    assert.match(readFileSync(join(dir, 'CreateTSMedia.log'), 'utf8'), /removed media\.iso\.sha256 of an earlier run/);
    assert.equal(runCli(['verify', iso]).status, 0);
    const strict = runCli(['verify', iso, '--image-hash']);
    assert.equal(strict.status, 1);
    assert.match(strict.stdout, /media\.iso\.sha256: is missing/);
  });

  test('an ISO not made by tsmedia, and a file that is no ISO, are unreadable (exit 2)', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'junk.iso'), Buffer.alloc(100_000, 7));
    const junk = runCli(['verify', join(dir, 'junk.iso')]);
    assert.equal(junk.status, 2);
    assert.match(junk.stderr, /junk\.iso/);
    if (!requireOrSkip(t, hasCommand('xorriso'), 'missing xorriso')) return;
    writeFileSync(join(dir, 'a.txt'), 'hello');
    spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-J', '-o', join(dir, 'other.iso'), join(dir, 'a.txt')]);
    const other = runCli(['verify', join(dir, 'other.iso')]);
    assert.equal(other.status, 2);
    assert.match(other.stderr, /no SMS\/data\/tsmedia-manifest\.json on the media; it was not made by tsmedia/);
  });

  test('an answer file gives the same media as the options; it never holds a password', (t) => {
    const dir = tempDir(t);
    const env = { XDG_STATE_HOME: join(dir, 'state') };
    writeFileSync(join(dir, 'pw.txt'), 'answer-pw-1\n');
    writeFileSync(
      join(dir, 'answers.json'),
      JSON.stringify({
        format: 'tsmedia-answers/1',
        taskSequence: 'SMP00010',
        media: 'iso',
        size: 'cd700',
        out: 'from-answers.iso',
        passwordFile: 'pw.txt',
        label: 'Monthly',
        variables: [{ name: 'OSDTimeZone', value: 'W. Europe Standard Time' }],
        distributionPoints: ['DP01'],
      }),
    );
    const a = runCli(['create', '--answers', join(dir, 'answers.json')], env);
    assert.equal(a.status, 0, a.stderr);
    const b = runCli(['create', '--task-sequence', 'SMP00010', '--size', 'cd700', '--out', join(dir, 'from-options.iso'), '--password-file', join(dir, 'pw.txt'), '--label', 'Monthly', '--var', 'OSDTimeZone=W. Europe Standard Time', '--dp', 'DP01'], env);
    assert.equal(b.status, 0, b.stderr);
    const files = (p: string): string[] => {
      const v = openIso(p);
      const list = v.files().filter((f) => !f.path.startsWith('SMS/data/')).map((f) => `${f.path} ${f.size}`);
      v.close();
      return list;
    };
    assert.deepEqual(files(join(dir, 'from-answers.iso')), files(join(dir, 'from-options.iso')), 'same content (the environment differs only by its media GUID)');
    const ra = JSON.parse(readFileSync(join(dir, 'from-answers.report.json'), 'utf8')) as { media: { label: string; passwordProtected: boolean }; variables: unknown };
    assert.deepEqual([ra.media.label, ra.media.passwordProtected], ['Monthly', true]);

    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ format: 'tsmedia-answers/1', password: 'x' }));
    const bad = runCli(['create', '--answers', join(dir, 'bad.json')], env);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /bad\.json: an answer file never holds a password; use "passwordFile"/);
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ format: 'tsmedia-answers/1', unatended: true }));
    assert.match(runCli(['create', '--answers', join(dir, 'typo.json')], env).stderr, /field "unatended" is not an answer-file field/);
  });
});
