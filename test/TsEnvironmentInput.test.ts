// buildMediaEnvironment's input rules and what it puts in the environment, read back through the files it writes:
// the site code, GUID and package ID patterns at their edges, the prestart command's checks, the defaults (branding
// title, advertisement ID, boot image ID, key size, certificate and its validity), which key opens which file, and the
// media variables' checks with their error codes. Fast (one RSA key for the whole file, no oracle process), so the
// `environment` mutation group runs it against every mutant of TsEnvironment.ts; TsEnvironment.test checks the same
// files with an independent decoder.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import {
  BLANK_PASSWORD_KEY,
  MEDIA_VARIABLE_NAMES,
  buildMediaEnvironment,
  decryptMediaFile,
  parsePolicyXml,
  parseVariablesXml,
  readMediaFileHeader,
  validateMediaVariables,
  type MediaEnvironment,
  type MediaEnvironmentInput,
} from '../electron/engine/media/TsEnvironment.js';

const GUID = '{3EC4F2D4-9782-4D51-9797-DA65D6C82D8E}';
const PASSWORD = 'pw-Ñ';
const SEQUENCE = '<sequence version="3.10"><step name="x"/></sequence>';

function input(over: Partial<MediaEnvironmentInput> = {}): MediaEnvironmentInput {
  return {
    siteCode: 'ABC',
    mediaGuid: GUID,
    password: PASSWORD,
    unattended: false,
    startDate: null,
    expireDate: null,
    mediaVariables: [],
    prestartCommand: null,
    prestartFilesPath: null,
    taskSequence: { packageId: 'ABC00001', name: 'TS', sequenceXml: SEQUENCE },
    packageIds: [],
    mediaCertificate: false,
    ...over,
  };
}

const vars = (env: MediaEnvironment, key = PASSWORD): Map<string, string> =>
  new Map(parseVariablesXml(decryptMediaFile(env.variablesDat, key)).map((v) => [v.name, v.value]));

const refused = (over: Partial<MediaEnvironmentInput>, message: string | RegExp): void => {
  assert.throws(
    () => buildMediaEnvironment(input(over)),
    (e: unknown) => e instanceof InputError && (typeof message === 'string' ? e.message === message : message.test(e.message)),
    String(message),
  );
};

describe('site code, media GUID and package IDs', () => {
  test('a site code is exactly three letters or digits, upper-cased', () => {
    for (const bad of ['AB', 'ABCD', 'AB!', '!AB', ' ABC', 'ABC ', 'A_C', '']) {
      refused({ siteCode: bad }, `"${bad}" is not a site code (three letters or digits).`);
    }
    const env = buildMediaEnvironment(input({ siteCode: 'x1z' }));
    assert.equal(vars(env).get(MEDIA_VARIABLE_NAMES.siteCode), 'X1Z');
    assert.equal(parsePolicyXml(decryptMediaFile(env.policyXml, PASSWORD)).advertisementId, 'X1Z20000');
  });

  test('the media GUID: with or without braces, any case; nothing before or after it', () => {
    for (const good of [GUID, GUID.slice(1, -1), GUID.toLowerCase()]) {
      const env = buildMediaEnvironment(input({ mediaGuid: good }));
      assert.equal(env.mediaGuid, good);
      assert.equal(vars(env).get(MEDIA_VARIABLE_NAMES.mediaGuid), good);
    }
    for (const bad of ['x' + GUID, GUID + 'x', '{' + GUID, GUID + '}', 'not-a-guid', '{3EC4F2D4-9782-4D51-9797-DA65D6C82D8}', '{3EC4F2D49782-4D51-9797-DA65D6C82D8E0}', '{GEC4F2D4-9782-4D51-9797-DA65D6C82D8E}']) {
      refused({ mediaGuid: bad }, `"${bad}" is not a GUID; the media GUID must be one.`);
    }
  });

  test('package IDs: eight letters or digits, upper-cased, the task sequence first, each once', () => {
    for (const bad of ['ABC0001', 'ABC000011', 'ABC0001!', '!ABC0001', 'ABC 0001', 'xABC00001', 'ABC00001x']) {
      refused({ packageIds: [bad] }, `"${bad}" is not a package ID (eight letters or digits).`);
      refused({ taskSequence: { packageId: bad, name: 'TS', sequenceXml: SEQUENCE } }, `"${bad}" is not a package ID (eight letters or digits).`);
    }
    const env = buildMediaEnvironment(input({ taskSequence: { packageId: 'abc00001', name: 'TS', sequenceXml: SEQUENCE }, packageIds: ['abc00002', 'ABC00001', 'ABC00002', 'zz000003'] }));
    assert.equal(vars(env).get(MEDIA_VARIABLE_NAMES.packages), 'ABC00001,ABC00002,ZZ000003');
    assert.equal(parsePolicyXml(decryptMediaFile(env.policyXml, PASSWORD)).packageId, 'ABC00001');
    assert.equal(vars(buildMediaEnvironment(input())).get(MEDIA_VARIABLE_NAMES.packages), 'ABC00001');
  });
});

describe('password, dates and prestart command', () => {
  test('which key opens which file; TsmBootstrap.ini says whether a password is needed', () => {
    const withPw = buildMediaEnvironment(input());
    assert.equal(vars(withPw, PASSWORD).get(MEDIA_VARIABLE_NAMES.mediaGuid), GUID);
    assert.equal(parsePolicyXml(decryptMediaFile(withPw.policyXml, PASSWORD)).packageId, 'ABC00001');
    assert.match(withPw.tsmBootstrapIni.toString('latin1'), /PasswordRequired=true\r\nUnattended=false\r\n$/);
    const none = buildMediaEnvironment(input({ password: null, unattended: true }));
    assert.equal(vars(none, BLANK_PASSWORD_KEY).get(MEDIA_VARIABLE_NAMES.unattended), 'true');
    assert.throws(() => decryptMediaFile(none.variablesDat, GUID), /password is wrong/);
    assert.equal(parsePolicyXml(decryptMediaFile(none.policyXml, GUID)).packageId, 'ABC00001');
    assert.throws(() => decryptMediaFile(none.policyXml, BLANK_PASSWORD_KEY), /password is wrong/);
    assert.match(none.tsmBootstrapIni.toString('latin1'), /PasswordRequired=false\r\nUnattended=true\r\n$/);
    refused({ password: '' }, 'The media password cannot be empty; give none to make media without a password.');
    // a one-character password is a password
    assert.equal(vars(buildMediaEnvironment(input({ password: 'p' })), 'p').get(MEDIA_VARIABLE_NAMES.siteCode), 'ABC');
  });

  test('the default variables and their order', () => {
    const env = buildMediaEnvironment(input({ mediaVariables: [{ name: 'Mine', value: 'v', secret: true }] }));
    const N = MEDIA_VARIABLE_NAMES;
    assert.deepEqual(
      env.variables.map((v) => [v.name, v.value, v.secret]),
      [
        [N.siteCode, 'ABC', false],
        [N.mediaGuid, GUID, false],
        [N.mediaType, 'FullMedia', false],
        [N.standAloneMedia, 'true', false],
        [N.brandingTitle, 'IT Organization', false],
        [N.unattended, 'false', false],
        [N.packages, 'ABC00001', false],
        ['Mine', 'v', true],
      ],
    );
    assert.deepEqual([...vars(env).entries()], env.variables.map((v) => [v.name, v.value]));
    const own = buildMediaEnvironment(input({ brandingTitle: 'Contoso IT', advertisementId: 'ABC2000F' }));
    assert.equal(vars(own).get(N.brandingTitle), 'Contoso IT');
    assert.equal(parsePolicyXml(decryptMediaFile(own.policyXml, PASSWORD)).advertisementId, 'ABC2000F');
  });

  test('the boot image ID is in the policy only when given; the task sequence type defaults to 2', () => {
    const ts = (over: Partial<MediaEnvironmentInput['taskSequence']>): Record<string, string> =>
      parsePolicyXml(decryptMediaFile(buildMediaEnvironment(input({ taskSequence: { packageId: 'ABC00001', name: 'TS', sequenceXml: SEQUENCE, ...over } })).policyXml, PASSWORD)).properties;
    assert.equal(ts({}).TS_BootImageID, undefined);
    assert.equal(ts({ bootImageId: null }).TS_BootImageID, undefined);
    assert.equal(ts({ bootImageId: 'ABC00002' }).TS_BootImageID, 'ABC00002');
    assert.equal(ts({}).TS_Type, '2');
    assert.equal(ts({ type: 1 }).TS_Type, '1');
  });

  test('AES-128 unless AES-256 is asked for, in both files', () => {
    for (const [bits, alg] of [[undefined, 0x660e], [128, 0x660e], [256, 0x6610]] as const) {
      const env = buildMediaEnvironment(input({ encryption: bits }));
      assert.equal(readMediaFileHeader(env.variablesDat).algorithmId, alg);
      assert.equal(readMediaFileHeader(env.policyXml).algorithmId, alg);
    }
  });

  test('dates: valid, the expiration after the start (a millisecond is enough)', () => {
    const start = new Date('2024-01-01T00:00:00.000Z');
    refused({ startDate: new Date(Number.NaN) }, 'The media start date is not a valid date.');
    refused({ expireDate: new Date(Number.NaN) }, 'The media expiration date is not a valid date.');
    refused(
      { startDate: start, expireDate: start },
      'The media expiration date (2024-01-01T00:00:00.000Z) must be after its start date (2024-01-01T00:00:00.000Z).',
    );
    const env = buildMediaEnvironment(input({ startDate: start, expireDate: new Date(start.getTime() + 1) }));
    assert.ok(vars(env).has(MEDIA_VARIABLE_NAMES.mediaStart));
    assert.ok(vars(env).has(MEDIA_VARIABLE_NAMES.mediaExpire));
    const onlyEnd = vars(buildMediaEnvironment(input({ expireDate: start })));
    assert.ok(onlyEnd.has(MEDIA_VARIABLE_NAMES.mediaExpire));
    assert.ok(!onlyEnd.has(MEDIA_VARIABLE_NAMES.mediaStart));
    const onlyStart = vars(buildMediaEnvironment(input({ startDate: start })));
    assert.ok(onlyStart.has(MEDIA_VARIABLE_NAMES.mediaStart));
    assert.ok(!onlyStart.has(MEDIA_VARIABLE_NAMES.mediaExpire));
  });

  test('the prestart command: not blank, at most 4000 characters, XML characters only; its files need it', () => {
    refused({ prestartCommand: '' }, 'The prestart command is empty; give none to have no prestart command.');
    refused({ prestartCommand: ' \t ' }, 'The prestart command is empty; give none to have no prestart command.');
    refused({ prestartCommand: 'x'.repeat(4001) }, 'The prestart command has 4001 characters; at most 4000 are allowed.');
    refused({ prestartCommand: 'cmd\u0001' }, 'The prestart command holds the control character U+0001 at position 4.');
    refused({ prestartCommand: 'cmd', prestartFilesPath: '' }, "The path of the prestart command's files is empty.");
    refused({ prestartCommand: 'cmd', prestartFilesPath: '  ' }, "The path of the prestart command's files is empty.");
    refused({ prestartCommand: null, prestartFilesPath: 'SMS\\PKG\\ABC00020' }, 'Files for the prestart command were given, but no prestart command.');
    const longest = 'c'.repeat(4000);
    const full = vars(buildMediaEnvironment(input({ prestartCommand: longest, prestartFilesPath: 'SMS\\PKG\\ABC00020' })));
    assert.equal(full.get(MEDIA_VARIABLE_NAMES.prestartCommand), longest);
    assert.equal(full.get(MEDIA_VARIABLE_NAMES.prestartFiles), 'SMS\\PKG\\ABC00020');
    const noFiles = vars(buildMediaEnvironment(input({ prestartCommand: ' x ' })));
    assert.equal(noFiles.get(MEDIA_VARIABLE_NAMES.prestartCommand), ' x ');
    assert.ok(!noFiles.has(MEDIA_VARIABLE_NAMES.prestartFiles));
  });
});

describe('media variables', () => {
  const coded = (v: { name: string; value: string }, code: string, params: Record<string, unknown>, message: string): void => {
    assert.throws(
      () => validateMediaVariables([{ ...v, secret: false }]),
      (e: unknown) => e instanceof InputError && e.code === code && e.message === message && JSON.stringify(e.params) === JSON.stringify(params),
      message,
    );
  };

  test('name and value errors carry a code, the issue and the variable', () => {
    coded({ name: '9x', value: '' }, 'VARIABLE_NAME_INVALID', { issue: 'BAD_CHARACTERS', name: '9x' }, 'Media variable "9x": "9x" must start with a letter and hold only letters, digits, "_" and "-".');
    coded({ name: '', value: '' }, 'VARIABLE_NAME_INVALID', { issue: 'EMPTY', name: '' }, 'Media variable "": A variable name cannot be empty.');
    coded(
      { name: 'Big', value: 'v'.repeat(4001) },
      'VARIABLE_VALUE_INVALID',
      { issue: 'TOO_LONG', name: 'Big', length: 4001, max: 4000 },
      'Media variable "Big": The value of "Big" has 4001 characters; at most 4000 are allowed.',
    );
  });

  test('characters XML cannot carry, and names defined twice in any case', () => {
    assert.throws(
      () => validateMediaVariables([{ name: 'S', value: 'a\uD800', secret: true }]),
      (e: unknown) => e instanceof InputError && e.message === 'Media variable "S": its value holds an unpaired UTF-16 surrogate at position 2, which media variables cannot carry.',
    );
    assert.throws(
      () => validateMediaVariables([{ name: 'One', value: '1', secret: false }, { name: 'Two', value: '2', secret: false }, { name: 'oNE', value: '3', secret: false }]),
      (e: unknown) => e instanceof InputError && e.message === 'Media variable "oNE" is defined twice (also as "One"); variable names are not case-sensitive.',
    );
    assert.doesNotThrow(() => validateMediaVariables([{ name: 'One', value: '', secret: false }, { name: 'Two', value: 'x\ty\r\n', secret: false }]));
  });

  test('a media variable cannot take the name of one of ours: those start with "_", which is read-only', () => {
    refused({ mediaVariables: [{ name: MEDIA_VARIABLE_NAMES.siteCode, value: 'x', secret: false }] }, /read-only/);
  });
});

describe('the media certificate', () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  /** The validity of the PFX's certificate: its two DER UTCTimes ("YYMMDDhhmmssZ") are stored in clear. */
  const times = (pfxHex: string): string[] => {
    const pfx = Buffer.from(pfxHex, 'hex');
    const out: string[] = [];
    for (let i = 0; i + 15 <= pfx.length; i++) {
      if (pfx[i] === 0x17 && pfx[i + 1] === 13) {
        const s = pfx.subarray(i + 2, i + 15).toString('latin1');
        if (/^\d{12}Z$/.test(s)) out.push(s);
      }
    }
    return out;
  };
  const pfxOf = (over: Partial<MediaEnvironmentInput>): string | undefined => {
    const env = buildMediaEnvironment(input({ certificateKeys: keys, ...over }));
    const v = env.variables.find((x) => x.name === MEDIA_VARIABLE_NAMES.mediaPfx);
    if (v) {
      assert.equal(v.secret, true);
      assert.equal(vars(env).get(MEDIA_VARIABLE_NAMES.mediaPfx), v.value);
    }
    return v?.value;
  };

  test('on by default; valid from the start date (or now) to the expiration (or a year later)', () => {
    const now = new Date('2030-05-06T07:08:09Z');
    const byDefault = pfxOf({ mediaCertificate: undefined, now });
    assert.ok(byDefault !== undefined);
    assert.match(byDefault, /^[0-9A-F]+$/);
    assert.deepEqual(times(byDefault), ['300506070809Z', '310506070809Z']);
    assert.equal(pfxOf({ mediaCertificate: false, now }), undefined);
    const dated = pfxOf({ mediaCertificate: true, now, startDate: new Date('2024-01-01T00:00:00Z'), expireDate: new Date('2025-06-30T12:00:00Z') });
    assert.deepEqual(times(dated ?? ''), ['240101000000Z', '250630120000Z']);
    assert.deepEqual(times(pfxOf({ mediaCertificate: true, now, startDate: new Date('2024-01-01T00:00:00Z') }) ?? ''), ['240101000000Z', '241231000000Z']);
    assert.deepEqual(times(pfxOf({ mediaCertificate: true, now, expireDate: new Date('2031-01-01T00:00:00Z') }) ?? ''), ['300506070809Z', '310101000000Z']);
  });

  test('without "now" the certificate starts at the current time', () => {
    const before = Date.now();
    const pfx = pfxOf({ mediaCertificate: true });
    const after = Date.now();
    const [from] = times(pfx ?? '');
    const t = (s: string): number => Date.UTC(2000 + Number(s.slice(0, 2)), Number(s.slice(2, 4)) - 1, Number(s.slice(4, 6)), Number(s.slice(6, 8)), Number(s.slice(8, 10)), Number(s.slice(10, 12)));
    assert.ok(t(from) >= Math.floor(before / 1000) * 1000 && t(from) <= after, from);
  });
});
