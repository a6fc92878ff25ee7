// CreateTSMedia.log: CMTrace lines that parse, written to several files at once, secrets masked everywhere, and the
// time-zone bias with the right sign (checked in child processes run under different TZ values).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import {
  CmTraceLog,
  LOG_FILE_NAME,
  MASK,
  cmTraceBias,
  formatCmTraceLine,
  isCmTraceLogOrAbsent,
  maskSecrets,
  userLogFolder,
} from '../electron/engine/media/CmTraceLog.js';
import { requireOrSkip, ROOT, tempDir } from './helpers.js';

const LINE_RE =
  /^<!\[LOG\[(.*?)\]LOG\]!><time="(\d{2}):(\d{2}):(\d{2})\.(\d{3})([+-]\d+)" date="(\d{2})-(\d{2})-(\d{4})" component="([^"]*)" context="" type="([123])" thread="(\d+)" file="">$/;

function lines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\r\n'));
  return text.slice(0, -2).split('\r\n');
}

describe('CMTrace line format', () => {
  test('a line has the fields CMTrace reads', () => {
    const d = new Date(2024, 2, 5, 7, 8, 9, 45); // local time
    const line = formatCmTraceLine({ message: 'Hello', type: 2, date: d, thread: 1234 });
    const m = LINE_RE.exec(line);
    assert.ok(m, line);
    assert.deepEqual(m.slice(1, 6), ['Hello', '07', '08', '09', '045']);
    assert.deepEqual(m.slice(7, 13), ['03', '05', '2024', 'CreateTsMedia', '2', '1234']);
  });

  test('the bias has the right sign: UTC = local time + bias', () => {
    const module = pathToFileURL(join(ROOT, 'dist', 'electron', 'engine', 'media', 'CmTraceLog.js')).href;
    const script =
      `import { formatCmTraceLine } from ${JSON.stringify(module)};` +
      `const at = (iso) => formatCmTraceLine({ message: 'm', type: 1, date: new Date(iso), thread: 1 });` +
      `console.log(JSON.stringify([at('2024-01-15T12:00:00.123Z'), at('2024-07-15T12:00:00.123Z')]));`;
    const expected: Record<string, [string, string, string, string]> = {
      // zone: winter time, winter bias, summer time, summer bias
      'Europe/Madrid': ['13:00:00.123', '-60', '14:00:00.123', '-120'],
      'America/New_York': ['07:00:00.123', '+300', '08:00:00.123', '+240'],
      UTC: ['12:00:00.123', '+0', '12:00:00.123', '+0'],
      'Asia/Kolkata': ['17:30:00.123', '-330', '17:30:00.123', '-330'],
    };
    for (const [tz, [wt, wb, st, sb]] of Object.entries(expected)) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, TZ: tz } });
      assert.equal(r.status, 0, r.stderr);
      const [winter, summer] = JSON.parse(r.stdout) as [string, string];
      const w = LINE_RE.exec(winter);
      const s = LINE_RE.exec(summer);
      assert.ok(w && s, `${tz}: ${winter} / ${summer}`);
      assert.equal(`${w[2]}:${w[3]}:${w[4]}.${w[5]}`, wt, tz);
      assert.equal(w[6], wb, `${tz} winter bias`);
      assert.equal(`${s[2]}:${s[3]}:${s[4]}.${s[5]}`, st, tz);
      assert.equal(s[6], sb, `${tz} summer bias`);
      assert.equal(`${w[7]}-${w[8]}-${w[9]}`, '01-15-2024');
      // the bias really converts the local time back to UTC
      const local = Date.UTC(2024, 0, 15, Number(w[2]), Number(w[3]), Number(w[4]), Number(w[5]));
      assert.equal(new Date(local + Number(w[6]) * 60_000).toISOString(), '2024-01-15T12:00:00.123Z', tz);
    }
  });
});

describe('CMTrace line format in this process', () => {
  test('the bias follows the time zone the process runs in (TZ set here, not only in child processes)', () => {
    const saved = process.env.TZ;
    try {
      for (const [tz, winter, summer] of [
        ['Europe/Madrid', '-60', '-120'],
        ['America/New_York', '+300', '+240'],
        ['UTC', '+0', '+0'],
      ]) {
        process.env.TZ = tz;
        assert.equal(cmTraceBias(new Date('2024-01-15T12:00:00.000Z')), winter, `${tz} winter`);
        assert.equal(cmTraceBias(new Date('2024-07-15T12:00:00.000Z')), summer, `${tz} summer`);
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  test('a component loses quotes and line breaks (it cannot end its attribute); the thread is the process id unless given', () => {
    const m = LINE_RE.exec(formatCmTraceLine({ message: 'm', type: 1, date: new Date(2024, 0, 2), component: 'Set"up\r\nStep"2' }));
    assert.ok(m);
    assert.equal(m[10], 'SetupStep2');
    assert.equal(m[12], String(process.pid));
  });
});

describe('CreateTSMedia.log files', () => {
  test('the file is CreateTSMedia.log and a secret becomes eight asterisks, as ConfigMgr writes them', () => {
    assert.equal(LOG_FILE_NAME, 'CreateTSMedia.log');
    assert.equal(MASK, '********');
    assert.equal(maskSecrets('net use /user:dom\\u Pa55 ok', ['Pa55']), 'net use /user:dom\\u ******** ok');
  });

  test('the component and the clock given to the log are the ones written; a path named twice is written once', (t) => {
    const p = join(tempDir(t), 'CreateTSMedia.log');
    const log = new CmTraceLog([p, p], { component: 'Prepare"Media', thread: 9, now: () => new Date(2023, 10, 30, 23, 59, 58, 7) });
    log.info('one');
    log.warning('two');
    const ls = lines(p).map((l) => LINE_RE.exec(l));
    assert.equal(ls.length, 2, 'each entry once');
    for (const m of ls) {
      assert.ok(m);
      assert.deepEqual([m[2], m[3], m[4], m[5], m[7], m[8], m[9]], ['23', '59', '58', '007', '11', '30', '2023']);
      assert.deepEqual([m[10], m[12]], ['PrepareMedia', '9']);
    }
    assert.deepEqual(log.paths, [p]);
  });

  test('a folder that cannot be made is reported when the log opens, before any entry', (t) => {
    const dir = tempDir(t);
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, 'x');
    const bad = join(blocker, 'CreateTSMedia.log');
    const log = new CmTraceLog([bad, join(dir, 'good.log')]);
    assert.equal(log.problems.length, 1);
    assert.ok(log.problems[0].startsWith(`${bad}: the log cannot be written (`), log.problems[0]);
  });

  test('a file that fails when written is reported once, left alone after, and the others get every entry', (t) => {
    // The log's path is a folder: its parent exists (opening the log succeeds) but the file cannot be opened for writing.
    const dir = tempDir(t);
    const folder = join(dir, 'CreateTSMedia.log');
    mkdirSync(folder);
    const good = join(dir, 'good', 'CreateTSMedia.log');
    const log = new CmTraceLog([folder, good]);
    assert.equal(log.problems.length, 0, 'nothing wrong is known before the first entry');
    log.info('one');
    log.info('two');
    log.error('three');
    assert.equal(log.problems.length, 1, log.problems.join('\n'));
    assert.ok(log.problems[0].startsWith(`${folder}: the log cannot be written (`), log.problems[0]);
    assert.deepEqual(lines(good).map((l) => LINE_RE.exec(l)?.[1]), ['one', 'two', 'three']);
  });

  test('no file stays open between entries', (t) => {
    if (!requireOrSkip(t, process.platform === 'linux', 'counts the open files in /proc/self/fd')) return;
    const p = join(tempDir(t), 'CreateTSMedia.log');
    const log = new CmTraceLog([p]);
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 20; i += 1) log.info(`entry ${i}`);
    assert.equal(open(), before);
    assert.equal(lines(p).length, 20);
  });

  test('every entry goes to every file, one parsable line each, even with line breaks and "]LOG]!>" in messages', (t) => {
    const dir = tempDir(t);
    const a = join(dir, 'out', 'CreateTSMedia.log');
    const b = join(dir, 'user', 'logs', 'CreateTSMedia.log');
    const log = new CmTraceLog([a, b], { thread: 77 });
    log.info('first');
    log.warning('two\nlines\r\nand\rmore');
    log.error('evil ]LOG]!><time="00:00:00.000+0" date="01-01-2000" component="x" context="" type="1" thread="1" file=""> tail');
    log.info('');
    log.close();
    log.info('after close: dropped');
    for (const p of [a, b]) {
      const ls = lines(p);
      assert.equal(ls.length, 4, p);
      const parsed = ls.map((l) => LINE_RE.exec(l));
      assert.ok(parsed.every((m) => m !== null), ls.join('\n'));
      assert.deepEqual(parsed.map((m) => m?.[11]), ['1', '2', '3', '1']);
      assert.equal(parsed[1]?.[1], 'two\\nlines\\nand\\nmore');
      assert.ok(parsed[2]?.[1].startsWith('evil ]LOG]!&gt;<time='));
      assert.ok(parsed.every((m) => m?.[10] === 'CreateTsMedia' && m[12] === '77'));
    }
    assert.deepEqual(log.problems, []);
  });

  test('several entries at once: one line each, in order, each masked and made safe; none for an empty list', (t) => {
    const dir = tempDir(t);
    const p = join(dir, 'CreateTSMedia.log');
    const log = new CmTraceLog([p]);
    log.mask('Hunter2');
    log.info('before');
    log.infoLines([]);
    log.infoLines(['  replaced: SMS/PKG/A/x.cab (5 bytes)', 'two\nlines with Hunter2', '  removed: SMS/PKG/B/y.inf']);
    log.info('after');
    const msgs = lines(p).map((l) => LINE_RE.exec(l)?.[1]);
    assert.deepEqual(msgs, ['before', '  replaced: SMS/PKG/A/x.cab (5 bytes)', `two\\nlines with ${MASK}`, '  removed: SMS/PKG/B/y.inf', 'after']);
    assert.ok(!readFileSync(p).includes('Hunter2'));
  });

  test('appends to an existing log', (t) => {
    const dir = tempDir(t);
    const p = join(dir, 'CreateTSMedia.log');
    new CmTraceLog([p]).info('run 1');
    new CmTraceLog([p]).info('run 2');
    assert.deepEqual(lines(p).map((l) => LINE_RE.exec(l)?.[1]), ['run 1', 'run 2']);
  });

  test('a file that cannot be written is reported and the others still get every entry', (t) => {
    // Its folder is a file: no user, root included, can create the log there (a read-only folder would not stop root).
    const dir = tempDir(t);
    const blocker = join(dir, 'not-a-folder');
    writeFileSync(blocker, 'a file where the log folder should be\n');
    const good = join(dir, 'good.log');
    const log = new CmTraceLog([join(blocker, 'CreateTSMedia.log'), good]);
    log.info('one');
    log.info('two');
    assert.equal(lines(good).length, 2);
    assert.equal(log.problems.length, 1);
    assert.match(log.problems[0], /not-a-folder/);
    assert.equal(readFileSync(blocker, 'utf8'), 'a file where the log folder should be\n', 'the file in the way is left as it was');
  });

  test('secrets never reach the files, not even inside longer text, split by a line break or overlapping', (t) => {
    const dir = tempDir(t);
    const a = join(dir, 'a', 'CreateTSMedia.log');
    const b = join(dir, 'b', 'CreateTSMedia.log');
    const password = 'P@ss-Año-42';
    const secretValue = 'Sekr3t\nJoin]LOG]!>Pw';
    const log = new CmTraceLog([a, b]);
    log.mask(password, '', secretValue, 'abcd', 'cdef');
    log.info(`password is ${password}`);
    log.info(`in a word: x${password}y and twice ${password}${password}`);
    log.info(`variable JoinPassword = ${secretValue}`);
    log.warning(`command: cmd /c net use * \\\\srv\\share /user:dom\\u ${password} && echo done`);
    log.info('overlap: xxabcdefyy');
    log.error(`failed: ${JSON.stringify({ password })}`);
    log.info('no secret here');
    const forms = [password, secretValue, 'Sekr3t\\nJoin]LOG]!&gt;Pw', 'abcd', 'cdef', 'bcde'];
    for (const p of [a, b]) {
      const bytes = readFileSync(p);
      for (const s of forms) {
        assert.equal(bytes.includes(Buffer.from(s, 'utf8')), false, `${p} holds ${JSON.stringify(s)}`);
        assert.equal(bytes.includes(Buffer.from(s, 'utf16le')), false);
      }
      const ls = lines(p);
      assert.equal(ls.length, 7);
      assert.ok(ls.every((l) => LINE_RE.test(l)));
      assert.equal(LINE_RE.exec(ls[0])?.[1], `password is ${MASK}`);
      assert.equal(LINE_RE.exec(ls[1])?.[1], `in a word: x${MASK}y and twice ${MASK}${MASK}`);
      assert.equal(LINE_RE.exec(ls[4])?.[1], `overlap: xx${MASK}yy`);
      assert.equal(LINE_RE.exec(ls[6])?.[1], 'no secret here', 'an empty secret masks nothing');
    }
  });

  test('maskSecrets merges overlapping and nested occurrences', () => {
    assert.equal(maskSecrets('aaaa', ['aa']), MASK);
    assert.equal(maskSecrets('1-secret-2-sec-3', ['secret', 'sec']), `1-${MASK}-2-${MASK}-3`);
    assert.equal(maskSecrets('nothing', []), 'nothing');
    assert.equal(maskSecrets('x', ['']), 'x');
  });

  test('maskSecrets masks every secret whatever order they are given in (a survivor of mutation testing)', () => {
    // The secret given second stands first in the text: found spans must be ordered before they are merged.
    assert.equal(maskSecrets('pw=alpha token=beta', ['beta', 'alpha']), `pw=${MASK} token=${MASK}`);
    assert.equal(maskSecrets('beta alpha beta', ['alpha', 'beta']), `${MASK} ${MASK} ${MASK}`);
  });
});

describe('user log folder', () => {
  test('per platform', () => {
    assert.equal(userLogFolder({ LOCALAPPDATA: 'C:\\Users\\ana\\AppData\\Local' }, 'win32', 'C:\\Users\\ana'), 'C:\\Users\\ana\\AppData\\Local\\tsmedia\\Logs');
    assert.equal(userLogFolder({}, 'win32', 'C:\\Users\\ana'), 'C:\\Users\\ana\\AppData\\Local\\tsmedia\\Logs');
    assert.equal(userLogFolder({ LOCALAPPDATA: 'D:\\Profiles\\ana\\Local' }, 'win32', 'C:\\Users\\ana'), 'D:\\Profiles\\ana\\Local\\tsmedia\\Logs');
    assert.equal(userLogFolder({ LOCALAPPDATA: '  ' }, 'win32', 'C:\\Users\\ana'), 'C:\\Users\\ana\\AppData\\Local\\tsmedia\\Logs', 'a blank LOCALAPPDATA is none');
    assert.equal(userLogFolder({}, 'darwin', '/Users/ana'), '/Users/ana/Library/Logs/tsmedia');
    assert.equal(userLogFolder({ XDG_STATE_HOME: '/var/state/ana' }, 'linux', '/home/ana'), '/var/state/ana/tsmedia/logs');
    assert.equal(userLogFolder({ XDG_STATE_HOME: 'relative/ignored' }, 'linux', '/home/ana'), '/home/ana/.local/state/tsmedia/logs');
    assert.equal(userLogFolder({}, 'linux', '/home/ana'), '/home/ana/.local/state/tsmedia/logs');
  });
});

describe('a file that may take CMTrace entries', () => {
  test('absent, empty, or starting as a CMTrace log (with or without a UTF-8 BOM); anything else is someone else\'s', (t) => {
    const dir = tempDir(t);
    const file = (name: string, bytes: Buffer | string): string => {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      return p;
    };
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    assert.equal(isCmTraceLogOrAbsent(join(dir, 'absent.log')), true);
    assert.equal(isCmTraceLogOrAbsent(file('empty.log', '')), true);
    const ours = join(dir, 'ours.log');
    new CmTraceLog([ours]).info('earlier run');
    assert.equal(isCmTraceLogOrAbsent(ours), true);
    assert.equal(isCmTraceLogOrAbsent(file('bom.log', Buffer.concat([bom, Buffer.from('<![LOG[x]LOG]!>')]))), true);
    assert.equal(isCmTraceLogOrAbsent(file('text.log', 'Hello, this is not a log\n')), false);
    assert.equal(isCmTraceLogOrAbsent(file('short.log', '<![LOG')), false, 'only the start of the marker');
    assert.equal(isCmTraceLogOrAbsent(file('late.log', 'abc<![LOG[')), false, 'the marker must come first');
    assert.equal(isCmTraceLogOrAbsent(file('split.log', Buffer.concat([Buffer.from('<!['), bom, Buffer.from('LOG[')]))), false, 'a BOM counts only at the start');
    assert.equal(isCmTraceLogOrAbsent(file('bom-only.log', bom)), false, 'a BOM alone is not empty');
  });

  test('what cannot be read is never taken: a folder, a path under a file', (t) => {
    const dir = tempDir(t);
    const sub = join(dir, 'CreateTSMedia.log');
    mkdirSync(sub);
    assert.equal(isCmTraceLogOrAbsent(sub), false, 'a folder');
    writeFileSync(join(dir, 'file'), 'x');
    // POSIX says ENOTDIR, which is not "absent"; Windows reports a path under a file as not found (ENOENT): absent there.
    assert.equal(isCmTraceLogOrAbsent(join(dir, 'file', 'CreateTSMedia.log')), process.platform === 'win32', 'a path under a file');
  });

  test('no file stays open after the check', (t) => {
    if (!requireOrSkip(t, process.platform === 'linux', 'counts the open files in /proc/self/fd')) return;
    const dir = tempDir(t);
    const log = join(dir, 'CreateTSMedia.log');
    writeFileSync(log, '<![LOG[x]LOG]!>');
    mkdirSync(join(dir, 'folder'));
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 10; i += 1) {
      assert.equal(isCmTraceLogOrAbsent(log), true);
      assert.equal(isCmTraceLogOrAbsent(join(dir, 'folder')), false);
    }
    assert.equal(open(), before);
  });
});
