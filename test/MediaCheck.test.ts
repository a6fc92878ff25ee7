// What the Media Type page shows before writing (electron/engine/media/MediaCheck.ts): the disc plan of a CD/DVD set, the
// 4 GiB report of a USB drive, and refusals as `problem` — plus what the Summary page derives from the request
// (shared/answers.ts): the answer file and the equivalent `tsmedia create` command line, read back by the real CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { answerFileProblem, answersFromRequest, commandLineFor, quotePowerShellArg, quoteShellArg, type AnswerSourceRequest } from '../shared/answers.js';
import type { MediaCheckRequest } from '../shared/ipc.js';
import { DISC_SECTORS, type IsoMediaRequest, type UsbMediaRequest } from '../shared/media.js';
import { parseCreateArgs } from '../electron/cli/create.js';
import { checkMedia } from '../electron/engine/media/MediaCheck.js';
import { Site } from '../electron/engine/site/Site.js';
import { SAMPLE_SITE, hasCommand, requireOrSkip, tempDir } from './helpers.js';
import { addLargeNonWimPackage, copySampleSite } from './support/sites.js';

const request = (over: Partial<MediaCheckRequest> = {}): MediaCheckRequest => ({
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

/** A site with package SMP00098 holding one file of `size` bytes that is no WIM (a sparse blob: nothing reads it). */
async function siteWithBigFile(dir: string, size: number, name = 'archive.7z'): Promise<string> {
  const site = copySampleSite(join(dir, 'site'));
  await addLargeNonWimPackage(site, dir, { size, fileName: name });
  return site;
}

describe('media check', () => {
  test('ISO at cd650: the sample site fits one disc, measured as the run would write it', async () => {
    const site = await Site.open(SAMPLE_SITE);
    const c = await checkMedia(site, request());
    assert.equal(c.problem, null);
    assert.deepEqual(c.distributionPoints, ['DP01']);
    assert.ok(c.discs);
    assert.equal(c.discs.length, 1);
    assert.equal(c.discs[0].files, c.files, 'every file on the one disc');
    assert.ok(c.discs[0].bytes > c.contentBytes, 'the file systems add to the content');
    assert.ok(c.discs[0].bytes <= DISC_SECTORS.cd650 * 2048);
    assert.equal(c.discs[0].bytes % 2048, 0);
    assert.ok(c.contentBytes > 1024 * 1024, `content ${c.contentBytes} bytes`);
    assert.equal(c.largeFiles, null);
    assert.deepEqual(c.warnings, []);
    // Unlimited (size null) plans the same single disc.
    const unlimited = await checkMedia(site, request({ size: null }));
    assert.deepEqual(unlimited.discs, c.discs);
  });

  test('ISO at a small custom size: a 150 MiB package is spread over discs, each within the size', async (t) => {
    const dir = tempDir(t);
    const site = await Site.open(await siteWithBigFile(dir, 150 * 1024 * 1024, 'payload.bin'));
    const size = 64 * 1024 * 1024;
    const c = await checkMedia(site, request({ packages: ['SMP00098'], size }));
    assert.equal(c.problem, null);
    assert.ok(c.discs);
    assert.equal(c.discs.length, 3, JSON.stringify(c.discs));
    for (const d of c.discs) assert.ok(d.bytes <= size, `${d.bytes} > ${size}`);
    assert.ok(c.contentBytes > 150 * 1024 * 1024);
    // Every disc holds the manifest; the big file is split, so the discs hold more parts than the media has files.
    assert.ok(c.discs.reduce((n, d) => n + d.files, 0) >= c.files + 2);
    // The same content as one DVD.
    const dvd = await checkMedia(site, request({ packages: ['SMP00098'], size: 'dvd' }));
    assert.equal(dvd.discs?.length, 1);
  });

  test('USB: a 4.5 GiB file that is no WIM is listed as refused, with a problem, and nothing is thrown', async (t) => {
    const dir = tempDir(t);
    const site = await Site.open(await siteWithBigFile(dir, 4.5 * 1024 ** 3));
    const c = await checkMedia(site, request({ media: 'usb', size: null, packages: ['SMP00098'] }));
    assert.ok(c.largeFiles);
    assert.deepEqual(c.largeFiles.refused, [{ path: 'SMS/PKG/SMP00098/archive.7z', packageId: 'SMP00098', size: 4831838208 }]);
    assert.deepEqual(c.largeFiles.wims, []);
    assert.match(c.problem ?? '', /FAT32 cannot hold a file of 4 GiB or more, and only WIM files can be split: SMS\/PKG\/SMP00098\/archive\.7z/);
    assert.deepEqual(c.problemDetail, { code: 'FAT32_FILE_TOO_LARGE', params: { files: ['SMS/PKG/SMP00098/archive.7z'], count: 1 } });
    assert.equal(c.discs, null);
    assert.ok(c.contentBytes > 4.5 * 1024 ** 3);
    // The same content as a DVD set is fine: UDF holds the large file.
    const iso = await checkMedia(site, request({ size: 'dvd', packages: ['SMP00098'] }));
    assert.equal(iso.problem, null);
    assert.equal(iso.discs?.length, 2);
  });

  test('USB: the sample site has nothing over 4 GiB', async () => {
    const c = await checkMedia(await Site.open(SAMPLE_SITE), request({ media: 'usb', size: null }));
    assert.equal(c.problem, null);
    assert.deepEqual(c.largeFiles, { wims: [], refused: [] });
    assert.equal(c.discs, null);
  });

  test('refusals become the problem text: a distribution point lacking content, an unknown task sequence, no boot image', async () => {
    const site = await Site.open(SAMPLE_SITE);
    const dp02 = await checkMedia(site, request({ distributionPoints: ['DP02'] }));
    assert.match(dp02.problem ?? '', /distribution point "DP02" does not hold all the content: it lacks SMP00005, SMP00008/);
    assert.equal(dp02.discs, null);
    assert.equal(dp02.contentBytes, 0);
    assert.deepEqual(dp02.distributionPoints, []);
    assert.match((await checkMedia(site, request({ taskSequenceId: 'SMP09999' }))).problem ?? '', /task sequence SMP09999 is not in the site/);
    assert.match((await checkMedia(site, request({ taskSequenceId: 'SMP00012', media: 'usb' }))).problem ?? '', /cannot be put on stand-alone media/);
    assert.match((await checkMedia(site, request({ distributionPoints: ['DP09'] }))).problem ?? '', /distribution point "DP09" is not in the site/);
  });

  test('warnings of the task sequence come with the plan', async () => {
    const c = await checkMedia(await Site.open(SAMPLE_SITE), request({ taskSequenceId: 'SMP00011' }));
    assert.equal(c.problem, null);
    assert.ok(c.discs);
    const codes = c.warnings.map((w) => w.code);
    for (const code of ['AUTO_APPLY_DRIVERS', 'DOWNLOAD_PACKAGE_CONTENT', 'SOFTWARE_UPDATES']) assert.ok(codes.includes(code as never), code);
    assert.ok(c.warnings.every((w) => w.severity !== 'error'));
  });
});

// ---- The Summary page: answer file and command line ------------------------------------------------------------------

function isoReq(dir: string, over: Partial<IsoMediaRequest> = {}): IsoMediaRequest {
  return {
    site: join(dir, 'my site'), taskSequenceId: 'SMP00010', distributionPoints: ['DP01'], password: 'S3cret pass!', unattended: true,
    startDate: '2026-01-01', expireDate: '2027-06-30T12:00:00+02:00', label: "Contoso's Media", autorun: true, i386Binaries: false,
    variables: [{ name: 'OSDComputerName', value: 'PC-001 $HOME `x`', secret: false }, { name: 'DomainJoinPassword', value: 'hunter2-secret', secret: true }, { name: 'Neg', value: '-x', secret: false }],
    prestartCommand: 'cmd /c "X:\\sms\\PreStart\\run.cmd"', prestartFiles: join(dir, 'pre'), applications: ['SMP00006'], packages: ['SMP00008'], driverPackages: ['SMP00005'],
    staging: join(dir, 'staging'), detectDependencies: false, timestamp: '2026-02-03T04:05:06Z', skipVerify: true, size: 'dvd', out: join(dir, 'out dir', 'media.iso'), ...over,
  };
}

/** The words a POSIX shell makes of a command line (sh itself does the splitting). */
function shellWords(line: string): string[] {
  const r = spawnSync('sh', ['-c', `set -- ${line}; printf '%s\\0' "$@"`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

describe('Summary page: answer file and command line', () => {
  test('quoting for POSIX shells', () => {
    assert.equal(quoteShellArg('SMP00010'), 'SMP00010');
    assert.equal(quoteShellArg('/a/b-c_d.iso'), '/a/b-c_d.iso');
    assert.equal(quoteShellArg(''), "''");
    assert.equal(quoteShellArg("it's"), `'it'\\''s'`);
    assert.equal(quoteShellArg('$(rm -rf /)'), "'$(rm -rf /)'");
  });

  test('quoting for PowerShell (Windows): UNC paths bare, anything PowerShell reads otherwise in single quotes', () => {
    assert.equal(quotePowerShellArg('\\\\fs01\\OSD\\media.iso'), '\\\\fs01\\OSD\\media.iso');
    assert.equal(quotePowerShellArg('C:\\OSD\\media.iso'), 'C:\\OSD\\media.iso');
    // $ expands, a comma makes an array, @ splats, a space splits, ` escapes: all quoted.
    for (const special of ['\\\\fs01\\osd$\\media.iso', 'a,b', '@FILE', 'two words', 'x`y', '']) assert.match(quotePowerShellArg(special), /^'.*'$/, special);
    assert.equal(quotePowerShellArg("it's"), "'it''s'");
    assert.equal(quotePowerShellArg('it\u2019s'), "'it\u2019\u2019s'", 'PowerShell takes typographic single quotes for quotes too');
    assert.equal(quotePowerShellArg('$(rm -r C:\\)'), "'$(rm -r C:\\)'");
  });

  test('the PowerShell command line gives the same request back', (t) => {
    const dir = tempDir(t);
    const req = isoReq(dir, { password: null, label: "Bob's media, v2", variables: [{ name: 'Note', value: 'a,b $(x) `y', secret: false }] });
    const original = { ...req, out: '\\\\fs01\\osd$\\Win11\\media.iso' };
    const line = commandLineFor({ kind: 'iso', request: original }, {}, 'powershell');
    assert.match(line, / --out '\\\\fs01\\osd\$\\Win11\\media\.iso' /);
    // PowerShell's rules (about_Quoting_Rules): words split at spaces; in single quotes only '' is special.
    const words: string[] = [];
    for (const m of line.matchAll(/'((?:[^']|'')*)'|(\S+)/g)) words.push(m[1] !== undefined ? m[1].replace(/''/g, "'") : m[2]);
    assert.equal(words.shift(), 'tsmedia');
    const parsed = parseCreateArgs(words.slice(1));
    assert.equal(parsed.request.out, original.out);
    assert.equal(parsed.request.label, "Bob's media, v2");
    assert.deepEqual(parsed.request.variables, original.variables);
  });

  test('several drives: the command line names every drive, and the CLI reads it back as target plus moreDrives', (t) => {
    const dir = tempDir(t);
    const { size: _size, out: _out, ...base } = isoReq(dir, { site: null, password: null, variables: [], label: 'Contoso', staging: null, prestartCommand: null, prestartFiles: null });
    const drive = (device: string) => ({ kind: 'drive' as const, device, showAll: true, confirmations: [device] });
    const req: UsbMediaRequest = { ...base, target: drive('/dev/sdb'), moreDrives: [drive('/dev/sdc'), drive('/dev/sdd')], format: true };
    const line = commandLineFor({ kind: 'usb', request: req });
    assert.match(line, / --media usb --drive \/dev\/sdb --drive \/dev\/sdc --drive \/dev\/sdd --all /);
    // Confirmations are the command's to ask for: none on the line; the same drives, in the same order, read back.
    assert.doesNotMatch(line, /--yes-erase/);
    // No word here needs quoting: split at spaces as a shell would.
    const parsed = parseCreateArgs(line.split(' ').slice(2));
    assert.equal(parsed.usb?.target.kind === 'drive' ? parsed.usb.target.device : null, '/dev/sdb');
    assert.deepEqual(parsed.usb?.moreDrives?.map((d) => [d.device, d.showAll]), [
      ['/dev/sdc', true],
      ['/dev/sdd', true],
    ]);
    assert.equal(parsed.usb?.format, true);
  });

  test('the command line never shows the password or a secret value, and names their files', (t) => {
    const dir = tempDir(t);
    const req: AnswerSourceRequest = { kind: 'iso', request: isoReq(dir) };
    const line = commandLineFor(req);
    assert.ok(line.startsWith('tsmedia create '));
    assert.doesNotMatch(line, /S3cret|hunter2/);
    assert.match(line, / --password-file FILE /);
    assert.match(line, / --secret-var DomainJoinPassword=@FILE /);
    const answers = answersFromRequest(req);
    assert.doesNotMatch(JSON.stringify(answers), /S3cret|hunter2/);
    assert.equal(answers.passwordFile, 'password.txt');
    assert.deepEqual(answers.secretVariables, [{ name: 'DomainJoinPassword', file: 'secret-DomainJoinPassword.txt' }]);
    assert.equal(answerFileProblem(answers), null);
    // No password: no password option at all.
    assert.doesNotMatch(commandLineFor({ kind: 'iso', request: isoReq(dir, { password: null }) }), /password/);
    assert.equal(answersFromRequest({ kind: 'iso', request: isoReq(dir, { password: null }) }).passwordFile, null);
  });

  test('the real CLI reads the command line (as sh splits it) and the answer file back into the same request', (t) => {
    if (!requireOrSkip(t, hasCommand('sh'), 'no POSIX shell')) return;
    const dir = tempDir(t);
    for (const d of ['pre', 'staging', 'out dir']) mkdirSync(join(dir, d));
    const pw = join(dir, 'pw file.txt');
    const secret = join(dir, 'dj.txt');
    writeFileSync(pw, 'S3cret pass!\n');
    writeFileSync(secret, 'hunter2-secret\n');
    const extras = { passwordFile: pw, secretFiles: { DomainJoinPassword: secret } };
    const original = isoReq(dir);
    const req: AnswerSourceRequest = { kind: 'iso', request: original };

    const words = shellWords(commandLineFor(req, extras).replace(/^tsmedia /, ''));
    assert.equal(words[0], 'create');
    const parsed = parseCreateArgs(words.slice(1));
    assert.equal(parsed.media, 'iso');
    // The CLI takes plain variables before secret ones.
    const expected = { ...original, variables: [...original.variables.filter((v) => !v.secret), ...original.variables.filter((v) => v.secret)] };
    assert.deepEqual(parsed.request, expected);

    const file = join(dir, 'answers.json');
    const answers = answersFromRequest(req, extras);
    assert.equal(answerFileProblem(answers), null);
    writeFileSync(file, JSON.stringify(answers));
    const fromFile = parseCreateArgs(['--answers', file, '--timestamp', original.timestamp as string, '--no-verify']);
    assert.deepEqual(fromFile.request, expected);
  });

  test('USB: an image target round-trips; a drive is named but never confirmed on the command line', (t) => {
    if (!requireOrSkip(t, hasCommand('sh'), 'no POSIX shell')) return;
    const dir = tempDir(t);
    const { size: _size, out: _out, ...base } = isoReq(dir, { site: null, password: null, variables: [], label: 'Contoso', staging: null, prestartCommand: null, prestartFiles: null });
    const image: UsbMediaRequest = { ...base, target: { kind: 'image', path: join(dir, 'usb.img'), sizeBytes: 16 * 1024 ** 3, replace: null }, format: true };
    const parsed = parseCreateArgs(shellWords(commandLineFor({ kind: 'usb', request: image })).slice(2));
    assert.equal(parsed.media, 'usb');
    assert.deepEqual(parsed.usb, image);
    const drive: UsbMediaRequest = { ...image, target: { kind: 'drive', device: '/dev/sdb', showAll: false, confirmations: ['/dev/sdb'] }, format: false };
    const line = commandLineFor({ kind: 'usb', request: drive });
    assert.match(line, / --media usb --drive \/dev\/sdb --no-format /);
    assert.doesNotMatch(line, /--yes-erase/);
    const a = answersFromRequest({ kind: 'usb', request: drive });
    assert.equal(a.media, 'usb');
    assert.equal(a.size, undefined);
    assert.equal(a.out, undefined);
    assert.equal(answerFileProblem(a), null);
  });
});
