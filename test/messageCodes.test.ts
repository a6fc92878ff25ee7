// Codes and values for the wizard to translate (issue 5): the shared rules (variable names and values, the media
// label), the drive constraints' values, and the engine's most common refusals as InputError codes, carried by the
// engine API's errors and by checkMedia's problem. The English sentences are unchanged.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { evaluateDrive, type DriveInfo } from '../shared/drives.js';
import type { MediaCheckRequest } from '../shared/ipc.js';
import { mediaLabelIssue, mediaLabelProblem } from '../shared/media.js';
import { MAX_VARIABLE_NAME, MAX_VARIABLE_VALUE, variableNameIssue, variableNameProblem, variableValueIssue, variableValueProblem } from '../shared/variables.js';
import { codedInputError, describeWriteFailure, InputError, writeFailureDetail } from '../electron/engine/errors.js';
import { describeDriveWrite } from '../electron/engine/io/ImageWriter.js';
import { checkMedia } from '../electron/engine/media/MediaCheck.js';
import { checkLabel } from '../electron/engine/media/MediaPlan.js';
import { validateBaseRequest } from '../electron/engine/media/MediaPreparation.js';
import { Site } from '../electron/engine/site/Site.js';
import { ApiError, toApiError } from '../electron/host/EngineApi.js';
import { ROOT, SAMPLE_SITE } from './helpers.js';
import { usbStick } from './support/driveFixtures.js';

describe('shared rules: a code, its values and the English sentence', () => {
  test('variableNameIssue: EMPTY, TOO_LONG, READ_ONLY, BAD_CHARACTERS; null for a valid name', () => {
    const cases: [string, string, Record<string, string | number>][] = [
      ['', 'EMPTY', {}],
      ['A'.repeat(MAX_VARIABLE_NAME + 1), 'TOO_LONG', { length: MAX_VARIABLE_NAME + 1, max: MAX_VARIABLE_NAME }],
      ['_SMSTSMediaType', 'READ_ONLY', { name: '_SMSTSMediaType' }],
      ['1Bad', 'BAD_CHARACTERS', { name: '1Bad' }],
      ['Nombre Malo', 'BAD_CHARACTERS', { name: 'Nombre Malo' }],
    ];
    for (const [name, code, params] of cases) {
      const issue = variableNameIssue(name);
      assert.ok(issue, name);
      assert.equal(issue.code, code, name);
      assert.deepEqual(issue.params, params, name);
      // The …Problem function is the issue's sentence, as before.
      assert.equal(variableNameProblem(name), issue.message);
    }
    assert.equal(variableNameIssue('_SMSTSMediaType')?.message, '"_SMSTSMediaType" starts with "_": such variables are read-only and set by ConfigMgr.');
    assert.equal(variableNameIssue('OSDComputerName'), null);
    assert.equal(variableNameProblem('OSD-Computer_Name2'), null);
  });

  test('variableValueIssue: TOO_LONG with the name, the length and the limit', () => {
    const long = 'x'.repeat(MAX_VARIABLE_VALUE + 1);
    const issue = variableValueIssue('Idioma', long);
    assert.deepEqual(issue && { code: issue.code, params: issue.params }, { code: 'TOO_LONG', params: { name: 'Idioma', length: MAX_VARIABLE_VALUE + 1, max: MAX_VARIABLE_VALUE } });
    assert.equal(issue?.message, `The value of "Idioma" has ${MAX_VARIABLE_VALUE + 1} characters; at most ${MAX_VARIABLE_VALUE} are allowed.`);
    assert.equal(variableValueProblem('Idioma', long), issue?.message);
    assert.equal(variableValueIssue('Idioma', 'x'.repeat(MAX_VARIABLE_VALUE)), null);
  });

  test('mediaLabelIssue: EMPTY (also blanks), TOO_LONG, BAD_CHARACTERS; null for a valid label', () => {
    assert.equal(mediaLabelIssue('')?.code, 'EMPTY');
    assert.equal(mediaLabelIssue('   ')?.code, 'EMPTY');
    const long = mediaLabelIssue('L'.repeat(33));
    assert.deepEqual(long && { code: long.code, params: long.params }, { code: 'TOO_LONG', params: { length: 33, max: 32 } });
    assert.equal(long?.message, 'The media label has at most 32 characters (an ISO volume name); this one has 33.');
    for (const bad of ['a:b', 'x/y', 'tab\there', 'q?']) assert.equal(mediaLabelIssue(bad)?.code, 'BAD_CHARACTERS', bad);
    assert.equal(mediaLabelProblem('a:b'), 'The media label cannot hold control characters or any of " * / : < > ? \\ |.');
    assert.equal(mediaLabelIssue('Configuration Manager'), null);
    assert.equal(mediaLabelIssue('L'.repeat(32)), null);
  });
});

describe('drive constraints: their values as fields', () => {
  const stick = (over: Partial<DriveInfo> = {}): DriveInfo =>
    usbStick({ description: 'Contoso Stick', sizeBytes: 8e9, mountpoints: [{ path: '/media/u/STICK', label: 'STICK' }], ...over });

  test('TOO_SMALL: needed and has bytes (has null when no size is reported); TOO_LARGE: has bytes', () => {
    const small = evaluateDrive(stick(), { neededBytes: 16e9, sourcePaths: [], showAll: false }).constraints;
    assert.deepEqual(small.map((c) => [c.code, c.params]), [['TOO_SMALL', { device: '/dev/sdx', description: 'Contoso Stick', card: false, neededBytes: 16e9, hasBytes: 8e9 }]]);
    const none = evaluateDrive(stick({ sizeBytes: null, isCard: true }), { neededBytes: 4e9, sourcePaths: [], showAll: false }).constraints;
    assert.deepEqual(none.map((c) => [c.code, c.params.hasBytes, c.params.neededBytes, c.params.card]), [['TOO_SMALL', null, 4e9, true]]);
    const large = evaluateDrive(stick({ sizeBytes: 256e9 }), { neededBytes: 1e9, sourcePaths: [], showAll: false }).constraints;
    assert.deepEqual(large.map((c) => [c.code, c.params.hasBytes]), [['TOO_LARGE', 256e9]]);
  });

  test('HOLDS_SOURCE: the mountpoints and the source paths they hold', () => {
    const c = evaluateDrive(stick(), { neededBytes: 1e9, sourcePaths: ['/media/u/STICK/site', '/opt/tsmedia'], showAll: false }).constraints;
    const held = c.find((x) => x.code === 'HOLDS_SOURCE');
    assert.deepEqual(held?.params.mountpoints, ['/media/u/STICK']);
    assert.deepEqual(held?.params.sourcePaths, ['/media/u/STICK/site']);
  });

  test('what "show all drives" would change: a system, internal or virtual drive is listed only with it; read-only is not lifted by it', () => {
    const locked = stick({ isReadOnly: true, isRemovable: false, isSystem: true });
    const off = evaluateDrive(locked, { neededBytes: 1e9, sourcePaths: [], showAll: false }).constraints;
    assert.deepEqual(off.map((c) => [c.code, c.severity, c.params.showAllHint]), [
      ['SYSTEM_DRIVE', 'error', 'list'],
      ['READ_ONLY', 'error', undefined],
    ]);
    const on = evaluateDrive(locked, { neededBytes: 1e9, sourcePaths: [], showAll: true }).constraints;
    assert.ok(on.every((c) => c.params.showAllHint === undefined));
    assert.deepEqual(on.map((c) => c.severity), ['error', 'error'], 'a system or read-only drive stays refused with it');
    const internal = evaluateDrive(stick({ isRemovable: false, isUSB: false, busType: 'SATA' }), { neededBytes: 1e9, sourcePaths: [], showAll: false }).constraints;
    assert.deepEqual(internal.map((c) => [c.code, c.params.showAllHint]), [['NOT_REMOVABLE', 'list']]);
  });
});

describe('engine errors with a code', () => {
  test('InputError: code and params beside the unchanged message; none without a code', () => {
    const e = codedInputError('DRIVE_NOT_CONNECTED', { device: '/dev/sdz' }, 'drive /dev/sdz is not connected.');
    assert.ok(e instanceof InputError);
    assert.equal(e.message, 'drive /dev/sdz is not connected.');
    assert.deepEqual(e.detail, { code: 'DRIVE_NOT_CONNECTED', params: { device: '/dev/sdz' } });
    const located = new InputError('bad', { file: 'ts.xml', line: 3 }, { code: 'X_Y' });
    assert.equal(located.message, 'ts.xml, line 3: bad');
    assert.deepEqual(located.detail, { code: 'X_Y', params: {} });
    const plain = new InputError('plain');
    assert.equal(plain.code, undefined);
    assert.equal(plain.detail, null);
  });

  test('the engine API passes them on (toApiError, the reply), and only when there is one', () => {
    const api = toApiError(codedInputError('OUTPUT_FOLDER_MISSING', { folder: '/nope' }, '--out /nope/x.iso: the folder /nope does not exist. Create it first.'));
    assert.equal(api.code, 'invalid');
    assert.deepEqual(api.toReply(), { code: 'invalid', message: '--out /nope/x.iso: the folder /nope does not exist. Create it first.', detail: { code: 'OUTPUT_FOLDER_MISSING', params: { folder: '/nope' } } });
    assert.deepEqual(toApiError(new InputError('plain')).toReply(), { code: 'invalid', message: 'plain' });
    assert.deepEqual(new ApiError('failed', 'disk full').toReply(), { code: 'failed', message: 'disk full' });
  });

  test('the media label and variables, checked before a run', () => {
    assert.throws(() => checkLabel('a:b'), (e: InputError) => e.code === 'MEDIA_LABEL_INVALID' && e.params?.issue === 'BAD_CHARACTERS' && /^--label: The media label cannot hold/.test(e.message));
    const base = {
      site: null,
      taskSequenceId: 'SMP00010',
      distributionPoints: [],
      password: null,
      unattended: false,
      startDate: null,
      expireDate: null,
      label: 'OK',
      autorun: false, i386Binaries: false,
      variables: [],
      prestartCommand: null,
      prestartFiles: null,
      applications: [],
      packages: [],
      driverPackages: [],
      staging: null,
      detectDependencies: true,
      timestamp: null,
      skipVerify: false,
    };
    const detailOf = (variables: { name: string; value: string; secret: boolean }[]): unknown => {
      try {
        validateBaseRequest({ ...base, variables });
      } catch (e) {
        return (e as InputError).detail;
      }
      return null;
    };
    assert.deepEqual(detailOf([{ name: '_SMSTSFoo', value: '1', secret: false }]), { code: 'VARIABLE_NAME_INVALID', params: { issue: 'READ_ONLY', name: '_SMSTSFoo' } });
    assert.deepEqual(detailOf([{ name: 'Big', value: 'x'.repeat(MAX_VARIABLE_VALUE + 1), secret: false }]), {
      code: 'VARIABLE_VALUE_INVALID',
      params: { issue: 'TOO_LONG', name: 'Big', length: MAX_VARIABLE_VALUE + 1, max: MAX_VARIABLE_VALUE },
    });
    assert.deepEqual(detailOf([{ name: 'A', value: '', secret: false }, { name: 'a', value: '', secret: false }]), { code: 'VARIABLE_DUPLICATE', params: { name: 'a' } });
  });

  test('checkMedia: the problem\'s code and values beside its sentence', async () => {
    const site = await Site.open(SAMPLE_SITE);
    const request = (over: Partial<MediaCheckRequest>): MediaCheckRequest => ({
      taskSequenceId: 'SMP00010',
    i386Binaries: false,
      detectDependencies: true,
      distributionPoints: [],
      applications: [],
      packages: [],
      driverPackages: [],
      media: 'iso',
      size: 'cd650',
      ...over,
    });
    const fine = await checkMedia(site, request({}));
    assert.equal(fine.problemDetail, null);
    assert.deepEqual((await checkMedia(site, request({ distributionPoints: ['DP02'] }))).problemDetail, { code: 'DP_LACKS_CONTENT', params: { name: 'DP02', packages: ['SMP00005', 'SMP00008'] } });
    assert.deepEqual((await checkMedia(site, request({ distributionPoints: ['DP09'] }))).problemDetail, { code: 'DP_UNKNOWN', params: { name: 'DP09', available: ['DP01', 'DP02'] } });
    assert.deepEqual((await checkMedia(site, request({ taskSequenceId: 'SMP00012' }))).problemDetail, { code: 'TASK_SEQUENCE_REFUSED', params: { taskSequence: 'SMP00012', findings: ['NO_BOOT_IMAGE'] } });
    assert.equal((await checkMedia(site, request({ taskSequenceId: 'SMP09999' }))).problemDetail?.code, 'TASK_SEQUENCE_NOT_FOUND');
  });
});

describe('the USB target and media file codes in both languages', () => {
  test('every code the drive, image and media file checks raise has a sentence in en.json and es.json, with its values', () => {
    const load = (lang: string): Record<string, string> => (JSON.parse(readFileSync(join(ROOT, 'renderer', 'src', 'locales', `${lang}.json`), 'utf8')) as { engineError: Record<string, string> }).engineError;
    const codes: Record<string, string[]> = {
      DRIVE_CONFIRMATION_MISMATCH: ['device', 'named'],
      IMAGE_EXTENSION: ['path', 'extension'],
      IMAGE_EXISTS: ['path'],
      OUTPUT_INSIDE_SOURCES: ['path', 'folder'],
      OUTPUT_FILE_FOREIGN: ['path'],
      DRIVE_UNCONFIRMED_one: ['device', 'given'],
      DRIVE_UNCONFIRMED_other: ['device', 'count', 'given'],
      SECTOR_SIZE_UNSUPPORTED: ['device', 'sectorSize'],
      // The media file's place (OutputPlace, SafeOutput; the wizard's checkOutput and the run alike).
      ISO_EXTENSION: ['path', 'extension'],
      OUTPUT_FOLDER_MISSING: ['folder'],
      OUTPUT_IS_FOLDER: ['path'],
      OUTPUT_PATH_RELATIVE: ['path'],
      OUTPUT_READ_ONLY: ['path'],
      OUTPUT_NOT_PERMITTED: ['path'],
      OUTPUT_UNWRITABLE: ['path', 'error'],
      OUTPUT_NO_SPACE: ['place', 'freeBytes', 'neededBytes'],
      OUTPUT_SHARE_UNREACHABLE: ['share'],
    };
    for (const lang of ['en', 'es']) {
      const e = load(lang);
      for (const [key, params] of Object.entries(codes)) {
        assert.ok(e[key], `${lang}: engineError.${key}`);
        for (const p of params) assert.ok(e[key].includes(`{{${p}}}`), `${lang}: engineError.${key} says {{${p}}}`);
      }
    }
  });
});

describe('the live site codes in both languages', () => {
  const load = (lang: string): Record<string, string> => (JSON.parse(readFileSync(join(ROOT, 'renderer', 'src', 'locales', `${lang}.json`), 'utf8')) as { engineError: Record<string, string> }).engineError;

  test('every SITE_* code the engine and the engine API raise has a sentence in en.json and es.json, with its values', () => {
    const codes: Record<string, string[]> = {
      SITE_UNREACHABLE: ['server', 'reason'],
      SITE_CERT_UNTRUSTED: ['server', 'thumbprint'],
      SITE_CERT_CHANGED: ['server', 'thumbprint', 'pinned'],
      SITE_SIGN_IN_NEEDED: ['server'],
      SITE_SIGN_IN_FAILED: ['server'],
      SITE_NOT_ADMIN: ['server'],
      SITE_BUSY: ['server'],
      SITE_SERVER_ERROR: ['server', 'status'],
      SITE_TIMEOUT: ['server', 'seconds'],
      SITE_CLASS_MISSING: ['server', 'className'],
    };
    // The codes as the sources raise them: a new SITE_ code without a sentence fails here.
    const raised = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/codedInputError\(\s*'(SITE_[A-Z_]+)'/g)) raised.add(m[1]);
      }
    };
    walk(join(ROOT, 'electron'));
    assert.ok(raised.size >= 9, `found ${[...raised].join(', ')}`);
    for (const code of raised) assert.ok(code in codes, `${code} is raised but not listed here`);
    for (const lang of ['en', 'es']) {
      const e = load(lang);
      for (const [key, params] of Object.entries(codes)) {
        assert.ok(e[key], `${lang}: engineError.${key}`);
        for (const p of params) assert.ok(e[key].includes(`{{${p}}}`), `${lang}: engineError.${key} says {{${p}}}`);
      }
    }
  });
});

describe('a drive\'s failed write in both languages', () => {
  const load = (lang: string): Record<string, string> => (JSON.parse(readFileSync(join(ROOT, 'renderer', 'src', 'locales', `${lang}.json`), 'utf8')) as { driveError: Record<string, string> }).driveError;
  const fill = (s: string, values: Record<string, string>): string => s.replace(/\{\{(\w+)\}\}/g, (_, k: string) => values[k] ?? `{{${k}}}`);

  test('DRIVE_WRITE_FAILED: each system code has the engine\'s own English sentence in en.json and one in es.json, naming the device', () => {
    const en = load('en');
    const es = load('es');
    assert.deepEqual(Object.keys(es).sort(), Object.keys(en).sort(), 'the same keys in both languages');
    const codes = Object.keys(en).filter((k) => /^E[A-Z]+$/.test(k));
    assert.ok(codes.length >= 6, codes.join(', '));
    const dev = '/dev/sdz';
    for (const code of codes) {
      for (const syscall of code === 'ENOSPC' ? ['write'] : ['write', 'fsync', 'open']) {
        const detail = writeFailureDetail(Object.assign(new Error(code), { code }), dev, syscall);
        assert.equal(detail?.code, 'WRITE_FAILED');
        const during = String(detail?.params.during);
        // What the engine says (FanOutTarget: describeDriveWrite for a write, describeWriteError otherwise) is what the page says in English.
        const engine = syscall === 'write' ? describeDriveWrite(Object.assign(new Error(code), { code }), dev) : describeWriteFailure(code, dev, syscall);
        assert.equal(fill(en[code], { device: dev, during: en[`during_${during}`] }), engine, `${code} ${syscall}`);
        for (const [lang, e] of [['en', en], ['es', es]] as const) {
          assert.ok(e[`during_${during}`], `${lang}: driveError.during_${during}`);
          assert.ok(e[code].includes('{{device}}'), `${lang}: driveError.${code} says {{device}}`);
        }
      }
    }
    for (const [lang, e] of [['en', en], ['es', es]] as const) for (const k of ['now_gone', 'now_readOnly']) assert.ok(e[k].includes('{{device}}'), `${lang}: driveError.${k}`);
    assert.equal(writeFailureDetail(new Error('no code'), dev), null, 'an error without a system code has no detail');
  });
});
