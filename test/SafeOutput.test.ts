// Safe output (engine/media/SafeOutput) in this process, quickly: mediaSafety.test drives the same code through the
// command line, in child processes whose coverage the mutation run cannot see. Partial names and which partial files
// a later run removes (this computer's by process, another's by age, to the millisecond, old names without a
// computer), the commit of a set (renamed into place, a folder in the way, a name that cannot be taken mid-set: the
// rest kept whole in "<stem>.new", or said to be lost), quiet removal, flushed temporary files, and the refusals for
// space, access and a share that stopped answering, word for word.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ContentIntegrityError, InputError } from '../electron/engine/errors.js';
import { CancelledError, WriteError } from '../electron/engine/io/ImageWriter.js';
import type { OutputVolume } from '../electron/engine/io/OutputVolume.js';
import {
  BESIDE_MEDIA_BYTES,
  FOREIGN_PARTIAL_AGE_MS,
  checkFreeSpace,
  commit,
  computerTag,
  heldOpenByAnother,
  logVolume,
  nameShareFailure,
  removeQuietly,
  removeStalePartials,
  spaceRefusal,
  tempPathFor,
  writeAccessRefusal,
  writeTempFile,
} from '../electron/engine/media/SafeOutput.js';
import { tempDir } from './helpers.js';

const ls = (dir: string): string[] => readdirSync(dir).sort();

function folder(t: TestContext): string {
  const dir = tempDir(t);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A process number no process has (Linux numbers stay below 2^22). */
const NO_PROCESS = 99_999_999;

function caught(f: () => void): InputError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof InputError, String(err));
    return err;
  }
  assert.fail('no error');
}

describe('partial names', () => {
  test("the computer's tag: letters, digits and '-' only, at most 32, 'host' when nothing is left", () => {
    assert.equal(computerTag('WS 01.corp_example'), 'WS-01-corp-example');
    assert.equal(computerTag('a'.repeat(40)), 'a'.repeat(32));
    assert.equal(computerTag('ab.'.repeat(20)), 'ab-ab-ab-ab-ab-ab-ab-ab-ab-ab-ab');
    assert.equal(computerTag(''), 'host');
    assert.equal(computerTag('éè'), '--');
  });

  test('a temporary name: hidden, beside the final name, with the process, 8 hex digits and the computer', () => {
    const p = tempPathFor('/out/media.iso');
    assert.match(p, new RegExp(`^/out/\\.media\\.iso\\.tsmedia-${process.pid}-[0-9a-f]{8}-${computerTag()}\\.partial$`));
    assert.notEqual(tempPathFor('/out/media.iso'), p);
    assert.equal(FOREIGN_PARTIAL_AGE_MS, 24 * 60 * 60 * 1000);
    assert.equal(BESIDE_MEDIA_BYTES, 4 * 1024 * 1024);
  });
});

describe('stale partial files', () => {
  test("this computer's: removed when their process has ended, also under old names without a computer; a live one's stay", (t) => {
    const dir = folder(t);
    const me = computerTag();
    const names = {
      dead: `.media.iso.tsmedia-${NO_PROCESS}-0123abcd-${me}.partial`,
      deadUpper: `.media.iso.tsmedia-${NO_PROCESS}-0123abce-${me.toUpperCase()}.partial`,
      deadOld: `.media.iso.tsmedia-${NO_PROCESS}-0123abcf.partial`,
      live: `.media.iso.tsmedia-${process.pid}-0123abcd-${me}.partial`,
      liveOld: `.media.iso.tsmedia-${process.pid}-01234567.partial`,
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), 'x');
    const r = removeStalePartials([join(dir, 'media.iso')]);
    assert.deepEqual(r.removed.sort(), [names.dead, names.deadOld, names.deadUpper].map((n) => join(dir, n)).sort());
    assert.deepEqual(r.kept, [], "this computer's live partials are not another computer's");
    assert.deepEqual(ls(dir), [names.live, names.liveOld].sort());
  });

  test("a process this user may not signal (EPERM) is alive: its partial stays", async (t) => {
    const dir = folder(t);
    const name = (pid: number): string => `.media.iso.tsmedia-${pid}-0123abcd-${computerTag()}.partial`;
    if (process.getuid?.() !== 0) {
      // Process 1 belongs to root.
      writeFileSync(join(dir, name(1)), 'x');
      assert.deepEqual(removeStalePartials([join(dir, 'media.iso')]).removed, []);
      assert.deepEqual(ls(dir), [name(1)]);
      return;
    }
    // As root: a process of another user, looked at with the rights of a third.
    const child = spawn('sleep', ['30'], { uid: 65534, gid: 65534, stdio: 'ignore' });
    t.after(() => child.kill());
    await new Promise<void>((ok, fail) => child.once('spawn', ok).once('error', fail));
    const pid = child.pid ?? 0;
    writeFileSync(join(dir, name(pid)), 'x');
    // The folder open to that third user too, so that a partial taken for abandoned would be removed.
    chmodSync(dir, 0o777);
    process.seteuid?.(65533);
    let removed: string[];
    try {
      removed = removeStalePartials([join(dir, 'media.iso')]).removed;
    } finally {
      process.seteuid?.(0);
    }
    assert.deepEqual(removed, []);
    assert.deepEqual(ls(dir), [name(pid)]);
  });

  test("another computer's: kept while younger than a day, to the millisecond; from then on removed", (t) => {
    const dir = folder(t);
    const young = join(dir, '.media.iso.tsmedia-4242-0123abcd-OTHERPC.partial');
    const day = join(dir, '.media.iso.tsmedia-4242-0123abcd-OLDPC.partial');
    writeFileSync(young, 'x');
    writeFileSync(day, 'x');
    const then = Math.floor(Date.now() / 1000) - 3600;
    utimesSync(young, then, then);
    utimesSync(day, then, then);
    const mtime = statSync(day).mtimeMs;
    assert.deepEqual(removeStalePartials([join(dir, 'media.iso')], mtime + FOREIGN_PARTIAL_AGE_MS - 1), { removed: [], kept: [day, young].sort() });
    assert.deepEqual(removeStalePartials([join(dir, 'media.iso')], mtime + FOREIGN_PARTIAL_AGE_MS), { removed: [day, young].sort(), kept: [] });
    assert.deepEqual(ls(dir), []);
  });

  test('only partials of these names and their companions (checksum, reports) go; other files, names and folders stay', (t) => {
    const dir = folder(t);
    const other = folder(t);
    const p = (name: string, tag = 'OLDPC'): string => `.${name}.tsmedia-4242-0123abcd-${tag}.partial`;
    const gone = ['media.v2.iso', 'media.v2.iso.sha256', 'media.v2.report.md', 'media.v2.report.json'].map((n) => p(n));
    const stay = [
      p('other.iso'),
      p('media.v2.iso.bak'),
      p('media.report.md'),
      p('media.v2.iso.report.md'),
      'media.v2.iso',
      `x${p('media.v2.iso')}`,
      `${p('media.v2.iso')}.old`,
      '.media.v2.iso.tsmedia-4242-0123abc-OLDPC.partial',
      '.media.v2.iso.tsmedia-4242-0123abcd-.partial',
      '.media.v2.iso.tsmedia-x-0123abcd-OLDPC.partial',
      '.media.v2.iso.tsmedia-4242-0123abcd-OLD.PC.partial',
      `.media.v2.iso.tsmedia-4242-0123abcd-${'A'.repeat(33)}.partial`,
    ];
    for (const n of [...gone, ...stay]) writeFileSync(join(dir, n), 'x');
    writeFileSync(join(other, p('media.v2.iso')), 'x');
    const r = removeStalePartials([join(dir, 'media.v2.iso'), join(dir, 'missing', 'media.v2.iso')], Date.now() + 2 * FOREIGN_PARTIAL_AGE_MS);
    assert.deepEqual(r.removed.sort(), gone.map((n) => join(dir, n)).sort());
    assert.deepEqual(ls(dir), stay.sort());
    assert.deepEqual(ls(other), [p('media.v2.iso')], 'another folder is not looked at');
  });
});

describe('removing and writing temporary files', () => {
  test('removeQuietly removes what exists, passes over what does not, and returns what it could not remove', (t) => {
    const dir = folder(t);
    writeFileSync(join(dir, 'a'), 'x');
    writeFileSync(join(dir, 'file'), 'x');
    mkdirSync(join(dir, 'sub'));
    const left = removeQuietly(new Set([join(dir, 'a'), join(dir, 'gone'), join(dir, 'file', 'below'), join(dir, 'sub')]));
    assert.deepEqual(left, [join(dir, 'file', 'below'), join(dir, 'sub')]);
    assert.deepEqual(ls(dir), ['file', 'sub']);
  });

  test('writeTempFile writes the data whole (text or bytes)', (t) => {
    const dir = folder(t);
    writeTempFile(join(dir, 'a'), 'text ✓');
    writeTempFile(join(dir, 'b'), Buffer.from([0, 1, 2, 255]));
    assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'text ✓');
    assert.deepEqual([...readFileSync(join(dir, 'b'))], [0, 1, 2, 255]);
    assert.throws(() => writeTempFile(join(dir, 'missing', 'c'), 'x'), /ENOENT/);
  });

  test('heldOpenByAnother asks only on Windows: an open file never stops a rename elsewhere', (t) => {
    const dir = folder(t);
    writeFileSync(join(dir, 'a'), 'x');
    assert.equal(heldOpenByAnother(join(dir, 'a')), false);
    assert.equal(heldOpenByAnother(join(dir, 'missing')), false);
  });
});

describe('commit', () => {
  function set(dir: string, names: string[], content = 'new'): { temp: string; final: string }[] {
    return names.map((n) => {
      const temp = tempPathFor(join(dir, n));
      writeFileSync(temp, `${content} ${n}`);
      return { temp, final: join(dir, n) };
    });
  }

  test('every file of the set takes its final name, replacing the earlier one; nothing temporary is left', (t) => {
    const dir = folder(t);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    writeFileSync(join(dir, 'media.iso'), 'old');
    const pairs = [...set(dir, ['media.iso', 'media.iso.sha256']), ...set(sub, ['media.report.md'])];
    commit(pairs);
    assert.deepEqual(ls(dir), ['media.iso', 'media.iso.sha256', 'sub']);
    assert.equal(readFileSync(join(dir, 'media.iso'), 'utf8'), 'new media.iso');
    assert.equal(readFileSync(join(sub, 'media.report.md'), 'utf8'), 'new media.report.md');
  });

  test('a folder under a final name stops the set before any file is renamed', (t) => {
    const dir = folder(t);
    writeFileSync(join(dir, 'media.iso'), 'old');
    mkdirSync(join(dir, 'media.iso.sha256'));
    const pairs = set(dir, ['media.iso', 'media.iso.sha256']);
    const err = caught(() => commit(pairs));
    assert.equal(err.message, `cannot put ${join(dir, 'media.iso.sha256')} in place: it is a folder, a file was expected. Nothing was replaced.`);
    assert.equal(readFileSync(join(dir, 'media.iso'), 'utf8'), 'old');
    for (const p of pairs) assert.ok(existsSync(p.temp));
  });

  test('a final name that cannot be taken mid-set: the files already in place are named, the rest kept whole in "<stem>.new"', (t) => {
    const dir = folder(t);
    mkdirSync(join(dir, 'media.v2.new'));
    const final = join(dir, 'media.v2.iso');
    // A file of the set takes its name first; then a folder takes the ISO's name (another program's doing, say), so the
    // ISO, a file of the same name, cannot replace it.
    const [sum, iso, report] = set(dir, ['media.v2.iso.sha256', 'media.v2.iso', 'media.v2.report.md']);
    const folderTemp = join(dir, '.incoming');
    mkdirSync(folderTemp);
    const err = caught(() => commit([sum, { temp: folderTemp, final }, iso, report]));
    const kept = join(dir, 'media.v2.new-2');
    assert.equal(
      err.message,
      `cannot put ${final} in place: the file could not be replaced (EISDIR: illegal operation on a directory, rename '${iso.temp}' -> '${final}'). ` +
        `The earlier ${final} is untouched. Already in place from the new set: media.v2.iso.sha256, media.v2.iso. ` +
        `The rest of the new set, complete, is kept in ${kept} under its final names (media.v2.iso, media.v2.report.md). Move them into ${dir} once that is solved, or run tsmedia again.`,
    );
    assert.equal(err.code, undefined, 'not OUTPUT_IN_USE: nothing holds the file');
    assert.deepEqual(ls(kept), ['media.v2.iso', 'media.v2.report.md']);
    assert.equal(readFileSync(join(kept, 'media.v2.iso'), 'utf8'), 'new media.v2.iso');
    assert.equal(readFileSync(join(dir, 'media.v2.iso.sha256'), 'utf8'), 'new media.v2.iso.sha256');
    assert.deepEqual(ls(join(dir, 'media.v2.new')), [], 'an earlier kept folder is not reused');
  });

  test('when the rest cannot be kept either, the error says what was kept and that the rest was removed', (t) => {
    const dir = folder(t);
    const folderTemp = join(dir, '.incoming');
    mkdirSync(folderTemp);
    const [a, b] = set(dir, ['media.report.md', 'media.report.json']);
    // The last file's temporary file is gone: it can be kept nowhere.
    const pairs = [{ temp: folderTemp, final: join(dir, 'media.iso') }, { temp: a.temp, final: join(dir, 'media.iso') }, b, { temp: join(dir, '.gone'), final: join(dir, 'media.iso.sha256') }];
    const err = caught(() => commit(pairs));
    const kept = join(dir, 'media.new');
    assert.match(err.message, new RegExp(`^cannot put ${join(dir, 'media.iso').replace(/\./g, '\\.')} in place: the file could not be replaced \\(`));
    assert.ok(
      err.message.endsWith(`Already in place from the new set: media.iso. Only media.iso, media.report.json could be kept, in ${kept}; the rest of the new set was removed. Solve that and run tsmedia again.`),
      err.message,
    );
    assert.deepEqual(ls(kept), ['media.iso', 'media.report.json']);

    const dir2 = folder(t);
    const [c] = set(dir2, ['media.iso']);
    const err2 = caught(() => commit([{ temp: join(dir2, '.gone'), final: c.final }]));
    assert.ok(err2.message.endsWith('. The new set could not be kept and was removed. Solve that and run tsmedia again.'), err2.message);
    assert.doesNotMatch(err2.message, /earlier|Already in place/);
  });

  test('writing a temporary file and committing a set leave no file open', (t) => {
    if (!existsSync('/proc/self/fd')) return t.skip('no /proc/self/fd to count open files by');
    const dir = folder(t);
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 20; i++) writeTempFile(join(dir, `t${i}`), 'x');
    commit(set(dir, Array.from({ length: 20 }, (_, i) => `f${i}`)));
    assert.equal(open(), before);
  });
});

describe('refusals', () => {
  const local: OutputVolume = { folder: '/out', free: 10 * 1048576, freeUnknown: null, share: null };
  const share: OutputVolume = { folder: '/mnt/s', free: 10 * 1048576, freeUnknown: null, share: { name: '//srv/media', protocol: 'smb', mountedAt: '/mnt/s' } };

  test('free space: enough (to the byte) or not reported passes; less is OUTPUT_NO_SPACE with the place and both sizes', () => {
    assert.equal(spaceRefusal(local, 10 * 1048576, 'ISO'), null);
    assert.equal(spaceRefusal({ ...local, free: null, freeUnknown: 'a FUSE mount' }, 1e15, 'ISO'), null);
    const r = spaceRefusal(local, 10 * 1048576 + 1, 'ISO');
    assert.ok(r);
    assert.equal(r.message, 'ISO: the folder /out has 10.0 MiB free, the media needs 10.0 MiB. Free space or choose another folder.');
    assert.equal(r.code, 'OUTPUT_NO_SPACE');
    assert.deepEqual(r.params, { place: '/out', freeBytes: 10 * 1048576, neededBytes: 10 * 1048576 + 1 });
    const s = spaceRefusal(share, 20 * 1048576, 'USB image');
    assert.equal(s?.message, 'USB image: the network share //srv/media (at /mnt/s) has 10.0 MiB free, the media needs 20.0 MiB. Free space or choose another folder.');
    assert.deepEqual(s?.params, { place: '//srv/media', freeBytes: 10 * 1048576, neededBytes: 20 * 1048576 });
  });

  test('checkFreeSpace gives the volume, or throws the refusal', (t) => {
    const dir = folder(t);
    assert.equal(checkFreeSpace(dir, 1, 'ISO').folder, dir);
    assert.equal(caught(() => checkFreeSpace(dir, Number.MAX_SAFE_INTEGER, 'ISO')).code, 'OUTPUT_NO_SPACE');
  });

  test('the log: a share by name, and free space that was not reported', () => {
    const lines: string[] = [];
    const log = { info: (m: string): void => void lines.push(m) };
    logVolume(log, local);
    assert.deepEqual(lines, []);
    logVolume(log, { ...share, free: null, freeUnknown: null });
    logVolume(log, { ...local, free: null, freeUnknown: 'the file system reports 0 blocks' });
    assert.deepEqual(lines, [
      'output on the network share //srv/media (at /mnt/s)',
      'free space in /mnt/s not checked: unknown; a full share or disk fails the write with a named error',
      'free space in /out not checked: the file system reports 0 blocks; a full share or disk fails the write with a named error',
    ]);
  });

  test('access: read-only, not permitted (EACCES, EPERM) and anything else, each with its code', () => {
    const e = (code: string | undefined): NodeJS.ErrnoException => Object.assign(new Error(code ?? 'odd'), code ? { code } : {});
    const ro = writeAccessRefusal(e('EROFS'), '/out', 'ISO');
    assert.deepEqual([ro.code, ro.params, ro.message], ['OUTPUT_READ_ONLY', { path: '/out' }, 'ISO: /out is on a read-only file system or drive; nothing can be written there. Choose another folder.']);
    for (const code of ['EACCES', 'EPERM']) {
      const r = writeAccessRefusal(e(code), '/out', 'ISO');
      assert.deepEqual([r.code, r.params, r.message], ['OUTPUT_NOT_PERMITTED', { path: '/out' }, 'ISO: you may not write to /out (permission denied). Choose another folder.'], code);
    }
    const gone = writeAccessRefusal(e('ENOENT'), '/out', 'ISO');
    assert.deepEqual([gone.code, gone.params, gone.message], ['OUTPUT_UNWRITABLE', { path: '/out', error: 'ENOENT' }, 'ISO: /out: not found. Check the path.']);
    assert.deepEqual(writeAccessRefusal(e(undefined), '/out', 'ISO').params, { path: '/out', error: 'unknown' });
  });

  test('a share that stopped answering: SHARE_LOST naming it; refusals, cancels, integrity errors and local folders keep their own', async (t) => {
    const cause = new WriteError('I/O error writing /gone/.a.iso.partial: the disk or drive reported a failure');
    const gone = { ...share, folder: join(folder(t), 'gone') };
    const [atMount, direct] = await Promise.all([
      nameShareFailure(cause, gone, []),
      nameShareFailure(cause, { ...gone, share: { name: '\\\\srv\\media', protocol: 'smb', mountedAt: null } }, [join(gone.folder, '.a.iso.x.partial'), join(gone.folder, '.a.iso.sha256.x.partial')]),
    ]);
    assert.ok(atMount instanceof WriteError);
    assert.equal(
      atMount.message,
      'the network share //srv/media (at /mnt/s) stopped answering while the media was written (I/O error writing /gone/.a.iso.partial). ' +
        'Nothing was put in place there: files under the final names are as they were before this run. When the share answers again, run tsmedia again.',
    );
    assert.ok(direct instanceof WriteError);
    assert.ok(direct.message.startsWith('the network share \\\\srv\\media stopped answering'), direct.message);
    assert.ok(direct.message.endsWith('run tsmedia again: it removes what this run left (.a.iso.x.partial, .a.iso.sha256.x.partial).'), direct.message);
    for (const own of [new InputError('bad'), new CancelledError(), new ContentIntegrityError('changed', '/lib/x')]) assert.equal(await nameShareFailure(own, gone, []), own);
    assert.equal(await nameShareFailure(cause, null, []), cause);
    assert.equal(await nameShareFailure(cause, { ...gone, share: null }, []), cause);
  });
});
