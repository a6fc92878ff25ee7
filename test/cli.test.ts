// The command line as a user meets it: usage, exit codes, and messages that name what is wrong — never a stack.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, tempDir } from './helpers.js';

const noStack = (s: string): void => assert.doesNotMatch(s, /\n\s+at .*:\d+:\d+/, 'no stack trace');

describe('tsmedia command line', () => {
  test('help and version', () => {
    const h = runCli(['help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /tsmedia analyze\s+\[--site DIR\|URL\] --task-sequence ID/);
    const none = runCli([]);
    assert.equal(none.status, 1, 'no command is a usage error');
    const v = runCli(['--version']);
    assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });

  test('usage errors exit 1 with a hint', () => {
    for (const args of [['frobnicate'], ['sequences', '--bogus'], ['analyze'], ['catalog', '--kind', 'Thing'], ['analyze', 'a.zip', 'b.zip'], ['analyze', 'a.zip', '--site', 'x']]) {
      const r = runCli(args);
      assert.equal(r.status, 1, args.join(' '));
      assert.match(r.stderr, /^tsmedia: /);
      noStack(r.stderr);
    }
    assert.match(runCli(['frobnicate']).stderr, /unknown command "frobnicate"/);
    assert.match(runCli(['sequences', '--bogus']).stderr, /Unknown option '--bogus'/);
  });

  test('unreadable and malformed input names the file and line', (t) => {
    const dir = tempDir(t);
    const missing = runCli(['analyze', join(dir, 'nope.zip')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.zip: not found/);
    const bad = join(dir, 'broken.xml');
    writeFileSync(bad, '<sequence version="3.10">\n  <group name="A">\n    <step type="X" name="s">\n  </group>\n</sequence>\n');
    const r = runCli(['analyze', bad, '--json']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /broken\.xml, line \d+, column \d+: malformed XML/);
    assert.equal(r.stdout, '', 'nothing half-printed on stdout');
    noStack(r.stderr);
  });

  test('an unknown task sequence lists what the site holds', (t) => {
    const dir = tempDir(t);
    const r = runCli(['analyze', '--site', dir, '--task-sequence', 'XYZ00001']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /task sequence XYZ00001 is not in the site .* \(it holds: none\)/);
  });
});
