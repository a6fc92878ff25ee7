// Claims the README and docs/reference make, each checked against the product: the command line wins over an answer
// file for every option (docs/reference/command-line.md); the writer's figures (docs/reference/media.md); the shape of
// `tsmedia drives --json` (docs/reference/command-line.md).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { parseCreateArgs } from '../electron/cli/create.js';
import { runDrives } from '../electron/cli/drives.js';
import { FLUSH_EVERY, RING_SLOT, RING_SLOTS, SHARE_FLUSH_EVERY } from '../electron/engine/io/ImageJobs.js';
import { DEFAULT_BUFFER } from '../electron/engine/io/ImageWriter.js';
import { ANSWERS_FORMAT, type AnswerFile } from '../shared/answers.js';
import type { DriveInfo } from '../shared/drives.js';
import { ROOT, tempDir } from './helpers.js';
import { loadFixtures } from './support/driveFixtures.js';

/** Writes an answer file (and the secret files it names) into a fresh folder; returns its path. */
function answers(t: TestContext, fields: Omit<AnswerFile, 'format'>, files: Record<string, string> = {}): { file: string; dir: string } {
  const dir = tempDir(t);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const file = join(dir, 'answers.json');
  writeFileSync(file, JSON.stringify({ format: ANSWERS_FORMAT, taskSequence: 'SMP00010', out: 'file.iso', ...fields }));
  return { file, dir };
}

describe('the command line wins over the answer file', () => {
  test('single values: the option replaces the field', (t) => {
    const { file, dir } = answers(t, {
      media: 'iso', size: 'dvd', label: 'From the file', startDate: '2026-01-01', expireDate: '2026-02-01',
      prestartCommand: 'file.cmd', prestartFiles: 'file-prestart', staging: 'file-staging', site: 'file-site',
    });
    const base = parseCreateArgs(['--answers', file]).request;
    // The file's values are used when no option is given (else the comparisons below would prove nothing).
    assert.equal(base.label, 'From the file');
    assert.equal(base.out, join(dir, 'file.iso'));
    assert.equal(base.taskSequenceId, 'SMP00010');
    const r = parseCreateArgs([
      '--answers', file, '--task-sequence', 'SMP00020', '--size', 'cd700', '--out', '/x/cli.iso', '--label', 'From the CLI',
      '--start', '2027-01-01', '--expire', '2027-02-01', '--prestart', 'cli.cmd', '--prestart-files', '/x/cli-prestart',
      '--staging', '/x/cli-staging', '--site', '/x/cli-site',
    ]).request;
    assert.equal(r.taskSequenceId, 'SMP00020');
    assert.equal(r.size, 'cd700');
    assert.equal(r.out, '/x/cli.iso');
    assert.equal(r.label, 'From the CLI');
    assert.equal(r.startDate, '2027-01-01');
    assert.equal(r.expireDate, '2027-02-01');
    assert.equal(r.prestartCommand, 'cli.cmd');
    assert.equal(r.prestartFiles, '/x/cli-prestart');
    assert.equal(r.staging, '/x/cli-staging');
    assert.equal(r.site, '/x/cli-site');
    // --media usb over "media": "iso".
    assert.equal(parseCreateArgs(['--answers', file, '--media', 'usb', '--image', join(dir, 'u.img'), '--image-size', '1GiB']).media, 'usb');
  });

  test('lists: the options given replace the whole list', (t) => {
    const { file } = answers(t, { distributionPoints: ['DP01', 'DP02'], applications: ['SMP00001'], packages: ['SMP00002', 'SMP00003'], driverPackages: ['SMP00004'] });
    const base = parseCreateArgs(['--answers', file]).request;
    assert.deepEqual(base.distributionPoints, ['DP01', 'DP02']);
    const r = parseCreateArgs(['--answers', file, '--dp', 'DP03', '--application', 'SMP00011', '--package', 'SMP00012', '--driver-package', 'SMP00014']).request;
    assert.deepEqual(r.distributionPoints, ['DP03']);
    assert.deepEqual(r.applications, ['SMP00011']);
    assert.deepEqual(r.packages, ['SMP00012']);
    assert.deepEqual(r.driverPackages, ['SMP00014']);
  });

  test('switches: a switch given wins over the field saying false (or true, for --no-dependencies)', (t) => {
    const { file } = answers(t, { autorun: false, i386Binaries: false, unattended: false, detectDependencies: true });
    const base = parseCreateArgs(['--answers', file]).request;
    assert.deepEqual([base.autorun, base.i386Binaries, base.unattended, base.detectDependencies], [false, false, false, true]);
    const r = parseCreateArgs(['--answers', file, '--autorun', '--i386-binaries', '--unattended', '--no-dependencies']).request;
    assert.deepEqual([r.autorun, r.i386Binaries, r.unattended, r.detectDependencies], [true, true, true, false]);
  });

  test('password: --password-env replaces "passwordFile", --password-file replaces "passwordEnv"', (t) => {
    const env = 'TSMEDIA_TEST_PASSWORD_CLAIM';
    process.env[env] = 'from-the-environment';
    t.after(() => delete process.env[env]);
    const { file, dir } = answers(t, { passwordFile: 'pw.txt' }, { 'pw.txt': 'from-the-file\n', 'other.txt': 'from-the-cli-file\n' });
    assert.equal(parseCreateArgs(['--answers', file]).request.password, 'from-the-file');
    // Before: "give --password-file or --password-env, not both" (exit 1).
    assert.equal(parseCreateArgs(['--answers', file, '--password-env', env]).request.password, 'from-the-environment');
    assert.equal(parseCreateArgs(['--answers', file, '--password-file', join(dir, 'other.txt')]).request.password, 'from-the-cli-file');

    const fromEnv = answers(t, { passwordEnv: env }, { 'pw.txt': 'from-the-cli-file\n' });
    assert.equal(parseCreateArgs(['--answers', fromEnv.file]).request.password, 'from-the-environment');
    assert.equal(parseCreateArgs(['--answers', fromEnv.file, '--password-file', join(fromEnv.dir, 'pw.txt')]).request.password, 'from-the-cli-file');

    // Both on the command line, or both in the file, stay refused; an empty option does not silently drop the password.
    assert.throws(() => parseCreateArgs(['--answers', file, '--password-env', env, '--password-file', join(dir, 'other.txt')]), /give --password-file or --password-env, not both/);
    const both = answers(t, { passwordEnv: env, passwordFile: 'pw.txt' }, { 'pw.txt': 'x\n' });
    assert.throws(() => parseCreateArgs(['--answers', both.file]), (err: Error) => err.message.startsWith(`${both.file}: give "passwordFile" or "passwordEnv", not both`));
    assert.throws(() => parseCreateArgs(['--answers', file, '--password-file=']), /--password-file is empty/);
  });

  test('variables: --var and --secret-var replace the answer file\'s variable of the same name (any case), plain or secret', (t) => {
    const { file, dir } = answers(
      t,
      { variables: [{ name: 'OSDComputerName', value: 'FILE-PC' }, { name: 'KeepMe', value: 'kept' }], secretVariables: [{ name: 'JoinPassword', file: 'missing-secret.txt' }] },
      { 'cli-secret.txt': 'cli-secret\n' },
    );
    // Without the options the file's secret is read — and its file is missing, which names it.
    assert.throws(() => parseCreateArgs(['--answers', file]), /secret variable JoinPassword: .*missing-secret\.txt/);
    // Before: "variable OSDComputerName is given twice" (exit 1).
    const r = parseCreateArgs(['--answers', file, '--var', 'osdcomputername=CLI-PC', '--secret-var', `JOINPASSWORD=@${join(dir, 'cli-secret.txt')}`]).request;
    assert.deepEqual(r.variables, [
      { name: 'KeepMe', value: 'kept', secret: false },
      { name: 'osdcomputername', value: 'CLI-PC', secret: false },
      { name: 'JOINPASSWORD', value: 'cli-secret', secret: true },
    ]);
    // A --var over a secret variable of the file: the command line's plain value, the secret file not read.
    const plain = parseCreateArgs(['--answers', file, '--var', 'JoinPassword=visible']).request.variables;
    assert.deepEqual(plain.find((v) => v.name === 'JoinPassword'), { name: 'JoinPassword', value: 'visible', secret: false });
    assert.equal(plain.filter((v) => v.name.toLowerCase() === 'joinpassword').length, 1);
  });
});

describe('the writer\'s figures in docs/reference/media.md are the code\'s', () => {
  test('buffer, ring, flush sizes', () => {
    const text = readFileSync(join(ROOT, 'docs', 'reference', 'media.md'), 'utf8').replace(/\s+/g, ' ');
    const mib = (n: number): string => `${n / (1024 * 1024)} MiB`;
    const words = ['', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
    assert.ok(text.includes(`with ${mib(DEFAULT_BUFFER)} positioned writes`), `write size ${mib(DEFAULT_BUFFER)}`);
    assert.ok(text.includes(`a ring of ${words[RING_SLOTS]} ${mib(RING_SLOT)} shared buffers`), `ring of ${RING_SLOTS} × ${mib(RING_SLOT)}`);
    assert.ok(text.includes(`flush the target every ${mib(FLUSH_EVERY)} as it is written`), `flush every ${mib(FLUSH_EVERY)}`);
    assert.ok(text.includes(`every ${mib(SHARE_FLUSH_EVERY)} on a network share`), `share flush every ${mib(SHARE_FLUSH_EVERY)}`);
    assert.ok(text.includes(`Ctrl+C stops within one ${mib(RING_SLOT)} buffer`), `cancel within ${mib(RING_SLOT)}`);
  });
});

describe('drives --json prints the shape docs/reference/command-line.md gives', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'reference', 'command-line.md'), 'utf8');
  const section = doc.slice(doc.indexOf('`--json` prints an array of the drives'));
  const example = /```json\n([\s\S]*?)\n```/.exec(section)?.[1] ?? '';
  type Row = Record<string, unknown> & { mountpoints: Record<string, unknown>[]; constraints: (Record<string, unknown> & { params: Record<string, unknown> })[] };
  const EVALUATION = ['selectable', 'hidden', 'needsConfirmation', 'constraints'];

  const printed = async (args: string[], drives: DriveInfo[]): Promise<Row[]> => {
    const out: string[] = [];
    assert.equal(await runDrives(['--json', ...args], { out: (x) => out.push(x), err: () => undefined }, { list: async () => drives }), 0);
    return JSON.parse(out.join('')) as Row[];
  };

  test('the example is what the command prints for that drive', async () => {
    const documented = JSON.parse(example) as Row[];
    assert.equal(documented.length, 1);
    const drive = Object.fromEntries(Object.entries(documented[0]).filter(([k]) => !EVALUATION.includes(k))) as unknown as DriveInfo;
    assert.deepEqual(await printed([], [drive]), documented);
  });

  test('every drive printed has the documented fields, and the constraints\' params are those listed', async (t) => {
    const documented = (JSON.parse(example) as Row[])[0];
    const keys = (o: object): string[] => Object.keys(o).sort();
    const bullets = section.slice(section.indexOf('`params` the values'), section.indexOf('\n\n', section.indexOf('`params` the values')));
    const paramNames = new Set([...bullets.matchAll(/`([a-z][A-Za-z]*)`/g)].map((m) => m[1]).filter((n) => n !== 'params'));
    const codes = new Set([...section.matchAll(/`([A-Z][A-Z_]+)`/g)].map((m) => m[1]));

    // Every fixture's drives with --all, and one drive the site lives on (HOLDS_SOURCE) with no size (TOO_SMALL).
    const site = tempDir(t);
    const drives = (await loadFixtures()).flatMap((f) => f.drives);
    drives.push({ ...(drives[0] as DriveInfo), device: '/dev/sdy', sizeBytes: null, isSystem: false, isReadOnly: true, mountpoints: [{ path: site, label: null }] });
    const rows = await printed(['--all', '--site', site], drives);
    assert.equal(rows.length, drives.length);
    const seenParams = new Set<string>();
    const seenCodes = new Set<string>();
    for (const r of rows) {
      assert.deepEqual(keys(r), keys(documented), String(r.device));
      for (const m of r.mountpoints) assert.deepEqual(keys(m), ['label', 'path'], String(r.device));
      for (const c of r.constraints) {
        assert.deepEqual(keys(c), keys(documented.constraints[0] ?? {}), String(r.device));
        seenCodes.add(String(c.code));
        for (const k of Object.keys(c.params)) seenParams.add(k);
      }
    }
    assert.deepEqual([...seenParams].sort(), [...paramNames].sort(), 'the params the docs list are those printed');
    for (const c of seenCodes) assert.ok(codes.has(c), `${c} is documented`);
    assert.ok(seenCodes.has('HOLDS_SOURCE') && seenCodes.has('TOO_SMALL') && seenCodes.has('READ_ONLY'), [...seenCodes].join(' '));
  });
});
