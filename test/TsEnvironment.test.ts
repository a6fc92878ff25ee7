// The task sequence environment on stand-alone media: key derivation against hashcat's published vector, the
// encrypted file format, and Variables.dat / Policy.xml decoded by an independent implementation of the published
// scheme (test/oracle/media_decrypt.py: Python hashlib for the key, `openssl enc -d -nopad` for the AES).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import {
  BLANK_PASSWORD_KEY,
  MEDIA_VARIABLE_NAMES,
  buildMediaEnvironment,
  buildMediaPfx,
  buildPolicyXml,
  buildTsmBootstrapIni,
  buildVariablesXml,
  decryptMediaFile,
  deriveMediaKey,
  encryptMediaFile,
  mediaDateValue,
  parseMediaDateValue,
  parsePolicyXml,
  parseVariablesXml,
  readMediaFileHeader,
  type MediaEnvironmentInput,
} from '../electron/engine/media/TsEnvironment.js';
import { ROOT, hasCommand, requireOrSkip, tempDir } from './helpers.js';

const ORACLE = join(ROOT, 'test', 'oracle', 'media_decrypt.py');
const GUID = '{3EC4F2D4-9782-4D51-9797-DA65D6C82D8E}';
const CAN_ORACLE = hasCommand('python3') && hasCommand('openssl');
const NO_ORACLE = 'python3 and openssl are needed for the independent decoder';

const SEQUENCE =
  '\uFEFF<?xml version="1.0" encoding="utf-8"?>\r\n' +
  '<sequence version="3.10">\r\n' +
  '  <referenceList><reference package="ABC00010" program="*"/></referenceList>\r\n' +
  '  <step type="SMS_TaskSequence_RunCommandLineAction" name="Echo" description="" disable="false" continueOnError="false">\r\n' +
  '    <defaultVarList><variable name="CommandLine" property="CommandLine"><![CDATA[cmd /c echo <x> & ]]></variable></defaultVarList>\r\n' +
  '    <action>cmd /c echo Año</action>\r\n' +
  '  </step>\r\n' +
  '</sequence>\r\n';

const USER_VARS = [
  { name: 'OSDComputerName', value: 'PC-Año-01', secret: false },
  { name: 'Tricky', value: 'a]]>b ]]> <tag attr="1"/> &amp; done', secret: false },
  { name: 'Padded', value: '  spaces kept  ', secret: false },
  { name: 'Empty', value: '', secret: false },
  { name: 'Script', value: 'line 1\r\nline 2\nline 3\r', secret: false },
  { name: 'JoinPassword', value: 'Sekr3t-Jöin!', secret: true },
];

function input(over: Partial<MediaEnvironmentInput> = {}): MediaEnvironmentInput {
  return {
    siteCode: 'ABC',
    mediaGuid: GUID,
    password: 'P@ssw0rd-Año',
    unattended: true,
    startDate: new Date('2024-01-01T00:00:00Z'),
    expireDate: new Date('2025-06-30T12:00:00Z'),
    mediaVariables: USER_VARS,
    prestartCommand: 'cmd /c X:\\sms\\PKG\\ABC00020\\prestart.cmd "a b"',
    prestartFilesPath: 'SMS\\PKG\\ABC00020',
    taskSequence: { packageId: 'ABC00001', name: 'Deploy Windows 11 — Año', sequenceXml: SEQUENCE, bootImageId: 'ABC00002' },
    packageIds: ['ABC00010', 'abc00011', 'ABC00010'],
    mediaCertificate: false,
    ...over,
  };
}

interface OracleResult {
  variables_header: Record<string, string | number | boolean>;
  policy_header: Record<string, string | number | boolean>;
  root: string;
  version: string;
  variables: { name: string; value: string }[];
  pxethief_variable_names: string[];
  policy: Record<string, string>;
  pxethief_policy: Record<string, string>;
  pxethief_ts_sequence_starts: string;
  instance_classes: string[];
}

function oracle(t: { after: (fn: () => void) => void }, variablesDat: Buffer, policyXml: Buffer, password: string | null): OracleResult {
  const dir = tempDir(t);
  const v = join(dir, 'Variables.dat');
  const p = join(dir, 'Policy.xml');
  writeFileSync(v, variablesDat);
  writeFileSync(p, policyXml);
  const r = spawnSync('python3', [ORACLE, v, p, ...(password === null ? [] : [password])], { encoding: 'utf8', env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
  assert.equal(r.status, 0, `oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleResult;
}

function checkHeaders(o: OracleResult, bits: number): void {
  for (const h of [o.variables_header, o.policy_header]) {
    assert.equal(h.signature, 'ECED0000');
    assert.equal(h.header_size, 0x14);
    assert.equal(h.alg_id, bits === 256 ? '6610' : '660E');
    assert.equal(h.bits, bits);
    assert.equal(h.reserved, 0);
    assert.equal(h.trailer_len, 8);
    assert.equal(h.pkcs7_padding_ok, true, 'CryptEncrypt pads with PKCS#7');
    assert.equal(h.ends_with_nul, true, 'the plaintext ends with a UTF-16 NUL');
    assert.equal(h.first_block_is_xml_decl, true, 'hashcat mode 19850 expects the first block to be "<?xml ve"');
  }
}

function checkVariables(o: OracleResult, env: ReturnType<typeof buildMediaEnvironment>): void {
  assert.equal(o.root, 'MediaVarList');
  assert.equal(o.version, '4.00.5345.0000');
  const byName = new Map(o.variables.map((v) => [v.name, v.value]));
  for (const v of USER_VARS) assert.equal(byName.get(v.name), v.value, `variable ${v.name}`);
  assert.deepEqual(o.variables, env.variables.map((v) => ({ name: v.name, value: v.value })));
  assert.equal(byName.get('_SMSMediaGuid'), GUID);
  assert.equal(byName.get('_SMSTSSiteCode'), 'ABC');
  assert.equal(byName.get('_SMSTSMediaType'), 'FullMedia');
  assert.equal(byName.get('_SMSTSStandAloneMedia'), 'true');
  assert.equal(byName.get(MEDIA_VARIABLE_NAMES.unattended), 'true');
  assert.equal(byName.get(MEDIA_VARIABLE_NAMES.prestartCommand), 'cmd /c X:\\sms\\PKG\\ABC00020\\prestart.cmd "a b"');
  assert.equal(byName.get(MEDIA_VARIABLE_NAMES.prestartFiles), 'SMS\\PKG\\ABC00020');
  assert.equal(byName.get(MEDIA_VARIABLE_NAMES.packages), 'ABC00001,ABC00010,ABC00011');
  assert.equal(parseMediaDateValue(byName.get('_SMSTSMEDIAEXPIRE') ?? '').toISOString(), '2025-06-30T12:00:00.000Z');
  assert.equal(parseMediaDateValue(byName.get(MEDIA_VARIABLE_NAMES.mediaStart) ?? '').toISOString(), '2024-01-01T00:00:00.000Z');
  // PXEThief's own text path (cut at the last NUL, printable characters only) still parses and finds the names
  assert.ok(o.pxethief_variable_names.includes('_SMSMediaGuid'));
  assert.ok(o.pxethief_variable_names.includes('JoinPassword'));
}

function checkPolicy(o: OracleResult): void {
  assert.deepEqual(o.instance_classes, ['CCM_TaskSequence']);
  assert.equal(o.policy.PKG_Name, 'Deploy Windows 11 — Año');
  assert.equal(o.policy.PKG_PackageID, 'ABC00001');
  assert.equal(o.policy.ADV_AdvertisementID, 'ABC20000');
  assert.equal(o.policy.PRG_ProgramID, '*');
  assert.ok(o.policy.TS_Sequence.startsWith('<sequence version="3.10">'));
  assert.ok(o.policy.TS_Sequence.includes('<![CDATA[cmd /c echo <x> & ]]>'), 'a CDATA section inside the sequence survives');
  assert.ok(o.policy.TS_Sequence.includes('cmd /c echo Año'));
  assert.equal(o.pxethief_policy.PKG_Name, 'Deploy Windows 11 — Año');
  assert.equal(o.pxethief_policy.ADV_AdvertisementID, 'ABC20000');
  assert.equal(o.pxethief_ts_sequence_starts, '<sequence');
}

describe('key derivation', () => {
  test('matches the published hashcat mode 19850 self-test vector: "Password1" in UTF-16LE without a NUL', () => {
    // module_19850.c: ST_PASS "Password1", ST_HASH "$sccm$aes128$0000edec…0e66000000000000" + first ciphertext block;
    // the kernel checks that block against AES(key, UTF-16LE "<?xml ve") (zero IV, so CBC's first block is ECB).
    const first = (key: Buffer): string => {
      const c = createCipheriv('aes-128-ecb', key, null);
      c.setAutoPadding(false);
      return c.update(Buffer.from('<?xml ve', 'utf16le')).toString('hex');
    };
    assert.equal(first(deriveMediaKey('Password1', 128)), '11cb54aa3b699f61f86ab312e6fb97ec');
    assert.notEqual(first(deriveMediaKey('Password1\u0000', 128)), '11cb54aa3b699f61f86ab312e6fb97ec', 'no terminating NUL');
    // and our own file's first block is that same value for that password
    const file = encryptMediaFile(buildVariablesXml([{ name: 'A', value: 'b' }]), 'Password1');
    assert.equal(file.subarray(24, 40).toString('hex'), '11cb54aa3b699f61f86ab312e6fb97ec');
  });

  test('AES-256 takes the first 32 bytes of the same material; an empty secret is refused', () => {
    const k128 = deriveMediaKey(BLANK_PASSWORD_KEY, 128);
    const k256 = deriveMediaKey(BLANK_PASSWORD_KEY, 256);
    assert.equal(k128.length, 16);
    assert.equal(k256.length, 32);
    assert.deepEqual(k256.subarray(0, 16), k128);
    assert.throws(() => deriveMediaKey('', 128), InputError);
  });
});

describe('encrypted media file', () => {
  test('header, PKCS#7-padded ciphertext and trailer; round trip', () => {
    for (const bits of [128, 256] as const) {
      for (const len of [0, 7, 8, 100]) {
        const text = '<?xml version="1.0" ?><a>' + 'x'.repeat(len) + '</a>';
        const f = encryptMediaFile(text, 'pw', bits);
        const h = readMediaFileHeader(f);
        assert.equal(h.signature, 0xeced0000);
        assert.equal(h.headerField, 0x14);
        assert.equal(h.plaintextSize, text.length * 2 + 2);
        assert.equal(h.ciphertextSize, h.plaintextSize + 16 - (h.plaintextSize % 16), 'always 1-16 bytes of padding');
        assert.equal(h.algorithmId, bits === 256 ? 0x6610 : 0x660e);
        assert.equal(f.readUInt32LE(20), 0);
        assert.equal(f.length, 24 + h.ciphertextSize + 8);
        assert.deepEqual(f.subarray(f.length - 8), Buffer.alloc(8));
        assert.equal(decryptMediaFile(f, 'pw'), text);
      }
    }
  });

  test('a wrong password, a damaged file and a file of another kind are refused with a clear error', () => {
    const f = encryptMediaFile('<?xml version="1.0" ?><MediaVarList Version="4.00.5345.0000"></MediaVarList>', 'right');
    assert.throws(() => decryptMediaFile(f, 'wrong'), (e: unknown) => e instanceof InputError && /password is wrong/.test(e.message));
    const damaged = Buffer.from(f);
    damaged[24] ^= 0xff;
    assert.throws(() => decryptMediaFile(damaged, 'right'), (e: unknown) => e instanceof InputError && /damaged/.test(e.message));
    assert.throws(() => decryptMediaFile(Buffer.from('[MediaInfo]\r\nMediaType=FullMedia\r\n....................'), 'x'), /not an encrypted ConfigMgr media file/);
    assert.throws(() => decryptMediaFile(f.subarray(0, 30), 'right'), /damaged/);
  });
});

describe('Variables.dat and Policy.xml read by an independent decoder', () => {
  test('with a password: both files use it', (t) => {
    if (!requireOrSkip(t, CAN_ORACLE, NO_ORACLE)) return;
    const env = buildMediaEnvironment(input());
    const o = oracle(t, env.variablesDat, env.policyXml, 'P@ssw0rd-Año');
    checkHeaders(o, 128);
    checkVariables(o, env);
    checkPolicy(o);
    assert.equal(env.tsmBootstrapIni.toString('latin1'), '[MediaInfo]\r\nMediaType=FullMedia\r\nPasswordRequired=true\r\nUnattended=true\r\n');
    // our decoder refuses what is not the password, and the blank-password keys do not open protected media
    for (const wrong of ['p@ssw0rd-Año', BLANK_PASSWORD_KEY, GUID]) {
      assert.throws(() => decryptMediaFile(env.variablesDat, wrong), /password is wrong/);
      assert.throws(() => decryptMediaFile(env.policyXml, wrong), /password is wrong/);
    }
    assert.deepEqual(parseVariablesXml(decryptMediaFile(env.variablesDat, 'P@ssw0rd-Año')), env.variables.map(({ name, value }) => ({ name, value })));
    assert.equal(parsePolicyXml(decryptMediaFile(env.policyXml, 'P@ssw0rd-Año')).name, 'Deploy Windows 11 — Año');
  });

  test('without a password: Variables.dat uses the fixed public key, Policy.xml the media GUID', (t) => {
    if (!requireOrSkip(t, CAN_ORACLE, NO_ORACLE)) return;
    const env = buildMediaEnvironment(input({ password: null, unattended: false }));
    const o = oracle(t, env.variablesDat, env.policyXml, null);
    checkHeaders(o, 128);
    const byName = new Map(o.variables.map((v) => [v.name, v.value]));
    assert.equal(byName.get(MEDIA_VARIABLE_NAMES.unattended), 'false');
    assert.equal(byName.get('Tricky'), USER_VARS[1].value);
    checkPolicy(o);
    assert.equal(env.tsmBootstrapIni.toString('latin1'), '[MediaInfo]\r\nMediaType=FullMedia\r\nPasswordRequired=false\r\nUnattended=false\r\n');
    assert.doesNotThrow(() => decryptMediaFile(env.variablesDat, BLANK_PASSWORD_KEY));
    assert.doesNotThrow(() => decryptMediaFile(env.policyXml, GUID));
    assert.throws(() => decryptMediaFile(env.policyXml, BLANK_PASSWORD_KEY), /password is wrong/);
  });

  test('AES-256', (t) => {
    if (!requireOrSkip(t, CAN_ORACLE, NO_ORACLE)) return;
    const env = buildMediaEnvironment(input({ encryption: 256 }));
    const o = oracle(t, env.variablesDat, env.policyXml, 'P@ssw0rd-Año');
    checkHeaders(o, 256);
    checkVariables(o, env);
    checkPolicy(o);
    const blank = buildMediaEnvironment(input({ encryption: 256, password: null }));
    checkPolicy(oracle(t, blank.variablesDat, blank.policyXml, null));
  });

  test('_SMSTSMediaPFX: a PKCS#12 file that opens with the first 31 characters of the media GUID', (t) => {
    if (!requireOrSkip(t, CAN_ORACLE, NO_ORACLE)) return;
    const env = buildMediaEnvironment(input({ mediaCertificate: true }));
    const o = oracle(t, env.variablesDat, env.policyXml, 'P@ssw0rd-Año');
    const pfxHex = o.variables.find((v) => v.name === '_SMSTSMediaPFX')?.value ?? '';
    assert.match(pfxHex, /^[0-9A-F]+$/);
    assert.equal(env.variables.find((v) => v.name === '_SMSTSMediaPFX')?.secret, true, 'the PFX is a secret: never logged');
    const dir = tempDir(t);
    const file = join(dir, 'media.pfx');
    writeFileSync(file, Buffer.from(pfxHex, 'hex'));
    const read = (pass: string): ReturnType<typeof spawnSync> =>
      spawnSync('openssl', ['pkcs12', '-in', file, '-passin', `pass:${pass}`, '-nodes'], { encoding: 'utf8' });
    const ok = read(GUID.slice(0, 31));
    assert.equal(ok.status, 0, String(ok.stderr));
    assert.match(String(ok.stdout), /BEGIN CERTIFICATE/);
    assert.match(String(ok.stdout), /BEGIN PRIVATE KEY/);
    assert.notEqual(read(GUID).status, 0, 'the whole GUID is not the password');
    const cert = spawnSync('sh', ['-c', `openssl pkcs12 -in "${file}" -passin "pass:${GUID.slice(0, 31)}" -nokeys | openssl x509 -noout -dates -subject`], { encoding: 'utf8' });
    assert.equal(cert.status, 0, cert.stderr);
    assert.match(cert.stdout, /notBefore=Jan {2}1 00:00:00 2024 GMT/);
    assert.match(cert.stdout, /notAfter=Jun 30 12:00:00 2025 GMT/);
  });
});

describe('media environment input rules', () => {
  const err = (over: Partial<MediaEnvironmentInput>, re: RegExp): void => {
    assert.throws(() => buildMediaEnvironment(input(over)), (e: unknown) => e instanceof InputError && re.test(e.message), String(re));
  };
  test('every variable error names the variable', () => {
    err({ mediaVariables: [{ name: '1Bad', value: 'x', secret: false }] }, /"1Bad"/);
    err({ mediaVariables: [{ name: 'Has Space', value: 'x', secret: false }] }, /"Has Space"/);
    err({ mediaVariables: [{ name: '_SMSTSReadOnly', value: 'x', secret: false }] }, /"_SMSTSReadOnly".*read-only/);
    err({ mediaVariables: [{ name: 'Long', value: 'v'.repeat(4001), secret: false }] }, /"Long".*4001/);
    err({ mediaVariables: [{ name: 'Ctl', value: 'a\u0001b', secret: false }] }, /"Ctl".*U\+0001/);
    err({ mediaVariables: [{ name: 'Dup', value: '1', secret: false }, { name: 'DUP', value: '2', secret: false }] }, /"DUP".*"Dup"/);
    err({ mediaVariables: [{ name: 'x'.repeat(257), value: '1', secret: false }] }, /257/);
    assert.doesNotThrow(() => buildMediaEnvironment(input({ mediaVariables: [{ name: 'Max', value: 'v'.repeat(4000), secret: false }] })));
  });

  test('dates, prestart, site code, GUID, password, package IDs, task sequence XML', () => {
    err({ startDate: new Date('2025-01-01T00:00:00Z'), expireDate: new Date('2025-01-01T00:00:00Z') }, /expiration date .* after its start date/);
    err({ startDate: new Date('2025-01-02T00:00:00Z'), expireDate: new Date('2025-01-01T00:00:00Z') }, /after its start date/);
    err({ expireDate: new Date('not a date') }, /expiration date is not a valid date/);
    err({ prestartCommand: null }, /no prestart command/);
    err({ prestartCommand: '   ', prestartFilesPath: null }, /prestart command is empty/);
    err({ siteCode: 'AB' }, /site code/);
    err({ mediaGuid: 'not-a-guid' }, /GUID/);
    err({ password: '' }, /password cannot be empty/);
    err({ packageIds: ['ABC0001'] }, /"ABC0001" is not a package ID/);
    err({ taskSequence: { packageId: 'ABC00001', name: 'x', sequenceXml: '<steps/>' } }, /<sequence> as its root/);
    err({ taskSequence: { packageId: 'ABC00001', name: 'x', sequenceXml: '<sequence><step></sequence>' } }, /malformed/);
    // open-ended ranges and no prestart command are fine
    const env = buildMediaEnvironment(input({ startDate: null, expireDate: null, prestartCommand: null, prestartFilesPath: null }));
    const names = env.variables.map((v) => v.name);
    for (const n of ['_SMSTSMEDIAEXPIRE', MEDIA_VARIABLE_NAMES.mediaStart, MEDIA_VARIABLE_NAMES.prestartCommand]) assert.ok(!names.includes(n), n);
  });

  test('without the certificate the output depends only on the input', () => {
    const a = buildMediaEnvironment(input());
    const b = buildMediaEnvironment(input());
    assert.deepEqual(a.variablesDat, b.variablesDat);
    assert.deepEqual(a.policyXml, b.policyXml);
    assert.equal(a.mediaGuid, GUID);
    assert.equal(a.variables.find((v) => v.name === 'JoinPassword')?.secret, true);
  });
});

describe('the XML of the two files', () => {
  test('variables: CDATA carries any text, "]]>" included; parse gives back names and values', () => {
    const vars = [
      { name: 'A', value: ']]>' },
      { name: 'B', value: 'x]]]]>y' },
      { name: 'C', value: '&lt; <![CDATA[inner]]> "q" \'s\' \t tab\r\nnew line' },
      { name: 'D', value: '' },
    ];
    const xml = buildVariablesXml(vars);
    assert.ok(xml.startsWith('<?xml version="1.0" ?><MediaVarList Version="4.00.5345.0000"><var name="A"><![CDATA['));
    assert.deepEqual(parseVariablesXml(xml), vars);
    assert.throws(() => parseVariablesXml('<Other/>'), /MediaVarList/);
  });

  test('policy: CCM_TaskSequence instance, sequence without its declaration, values read back', () => {
    const xml = buildPolicyXml({ packageId: 'ABC00001', name: 'N & <M>', advertisementId: 'ABC20001', sequenceXml: SEQUENCE, siteCode: 'ABC', bootImageId: 'ABC00002' });
    assert.match(xml, /^<\?xml version="1\.0" \?>\r\n<Policy PolicyType="Machine" /);
    assert.match(xml, /<instance class="CCM_TaskSequence">/);
    assert.match(xml, /<property name="PKG_Name" type="8"><value><!\[CDATA\[N & <M>\]\]><\/value><\/property>/);
    assert.ok(!/<[^>]*[\r\n\t][^>]*>/.test(xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '')), 'no line break inside a tag');
    const p = parsePolicyXml(xml);
    assert.equal(p.name, 'N & <M>');
    assert.equal(p.packageId, 'ABC00001');
    assert.equal(p.advertisementId, 'ABC20001');
    assert.ok(p.sequenceXml.startsWith('<sequence version="3.10">'));
    assert.ok(p.sequenceXml.includes('<![CDATA[cmd /c echo <x> & ]]>'));
    assert.equal(p.properties.TS_BootImageID, 'ABC00002');
    assert.equal(p.properties.TS_Type, '2');
    assert.throws(() => parsePolicyXml('<Policy/>'), /no PKG_PackageID/);
  });

  test('TsmBootstrap.ini', () => {
    assert.equal(buildTsmBootstrapIni({ passwordRequired: false, unattended: true }), '[MediaInfo]\r\nMediaType=FullMedia\r\nPasswordRequired=false\r\nUnattended=true\r\n');
  });

  test('media dates are the two halves of a FILETIME', () => {
    // 2024-01-01T00:00:00Z is FILETIME 133485408000000000 (100 ns units since 1601-01-01 UTC)
    const d = new Date('2024-01-01T00:00:00Z');
    const ft = (BigInt(d.getTime()) + 11644473600000n) * 10000n;
    assert.equal(ft, 133485408000000000n);
    assert.equal(mediaDateValue(d), `${ft >> 32n};${ft & 0xffffffffn}`);
    assert.equal(parseMediaDateValue(mediaDateValue(d)).getTime(), d.getTime());
  });
});

describe('PFX builder', () => {
  test('makes a different key each time, sized like a real 2048-bit PFX', () => {
    const a = buildMediaPfx(GUID, { notBefore: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2060-01-01T00:00:00Z') });
    const b = buildMediaPfx(GUID, { notBefore: new Date('2024-01-01T00:00:00Z'), notAfter: new Date('2060-01-01T00:00:00Z') });
    assert.notDeepEqual(a, b);
    assert.equal(a[0], 0x30);
    assert.ok(a.length > 1500 && a.length < 4000, String(a.length));
  });
});
