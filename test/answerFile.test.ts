// Answer files whose keys are names Object.prototype carries ("constructor", "__proto__", "toString", …) are input
// errors that name the key — from the shared reader, `create --answers` (exit 1) and the API's saveAnswerFile (400).
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { answerFileProblem } from '../shared/answers.js';
import { createEngineApi } from '../electron/host/EngineApi.js';
import { runCli, tempDir } from './helpers.js';

/** Names every plain object inherits, plus the ones JSON.parse turns into own keys with special meaning. */
const BUILT_IN_KEYS = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupSetter__'];

/** The answer file's text with `key` as an own key (a JS object literal would set the prototype for "__proto__"). */
const answerText = (key: string, value: string): string => `{"format": "tsmedia-answers/1", "taskSequence": "SMP00010", ${JSON.stringify(key)}: ${value}}`;

describe('answer files with built-in key names', () => {
  test('the shared reader names each key as not an answer-file field', () => {
    for (const key of BUILT_IN_KEYS) {
      for (const value of ['1', '"x"', 'null', '{}', '[]', 'true']) {
        const parsed: unknown = JSON.parse(answerText(key, value));
        assert.equal(answerFileProblem(parsed), `field "${key}" is not an answer-file field; remove it.`, `${key}: ${value}`);
      }
    }
    // "format" missing is reported even when the prototype chain has names.
    assert.match(answerFileProblem(JSON.parse('{"constructor": 1}')) ?? '', /field "format" is missing/);
    // A "password" key is refused only as an own key.
    assert.match(answerFileProblem(JSON.parse('{"format": "tsmedia-answers/1", "password": "x"}')) ?? '', /never holds a password/);
  });

  test('create --answers: exit 1 naming the file and the key, no stack', (t) => {
    const dir = tempDir(t);
    for (const key of ['constructor', '__proto__', 'toString']) {
      const file = join(dir, `answers-${key}.json`);
      writeFileSync(file, answerText(key, '1'));
      const r = runCli(['create', '--answers', file, '--out', join(dir, 'm.iso')]);
      assert.equal(r.status, 1, `${key}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`${file}: field "${key}" is not an answer-file field`), r.stderr);
      assert.doesNotMatch(r.stderr, /unexpected|\n\s+at .*:\d+:\d+/);
      assert.equal(existsSync(join(dir, 'm.iso')), false);
    }
  });

  test('saveAnswerFile: an input error naming the key, nothing written', async (t) => {
    const dir = tempDir(t);
    const api = createEngineApi({ userDataDir: join(dir, 'user-data') });
    for (const key of BUILT_IN_KEYS) {
      const file = join(dir, 'a.json');
      await assert.rejects(
        api.call('saveAnswerFile', [file, JSON.parse(answerText(key, '1'))]),
        (err: Error & { code?: string }) => err.code === 'invalid' && err.message.includes(`field "${key}" is not an answer-file field`),
        key,
      );
      assert.equal(existsSync(file), false, key);
    }
  });
});
