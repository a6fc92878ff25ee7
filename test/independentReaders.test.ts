// Media read back by programs nobody here wrote, where only tsmedia's own readers read it before (issue 16, item 3):
// the USB volume's task sequence environment decoded by the public decoder of test/oracle/media_decrypt.py (Python
// hashlib + `openssl enc`), every disc of a CD/DVD set read by isoinfo, udfinfo and 7-Zip, and a USB image made through
// the loopback host's API checked by fsck.fat and mtools. Each reader is also shown a damaged copy and must refuse it,
// so none of these checks can pass whatever the media holds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { MediaManifest } from '../electron/engine/media/Manifest.js';
import type { UsbMediaRequest } from '../shared/media.js';
import { ROOT, hasCommand, relativeFiles, requireOrSkip, runCli, tempDir } from './helpers.js';
import { tool } from './support/fat32Tools.js';
import { baseRequest, startHostProcess } from './support/hostClient.js';
import { addPackage, copySampleSite, randomFile } from './support/sites.js';

const MiB = 1024 * 1024;
const DECODER = join(ROOT, 'test', 'oracle', 'media_decrypt.py');
/** mtools without its geometry check; UTF-8 so names come out as they are. */
const MT: NodeJS.ProcessEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex').toUpperCase();

// fsck.fat lives in /usr/sbin, which a user's PATH may lack: tool() looks there too.
const missing = (tools: string[]): string[] => tools.filter((t) => !hasCommand(t) && (process.platform === 'win32' || tool(t) === null));
const skipUnless = (t: Parameters<typeof requireOrSkip>[0], tools: string[]): boolean =>
  requireOrSkip(t, missing(tools).length === 0, `missing ${missing(tools).join(', ')} (./scripts/setup.sh installs them: dosfstools, mtools, genisoimage, udftools, p7zip-full, openssl, python3)`);

/** Flips one byte of a file in place. */
function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    writeSync(fd, Buffer.from([b[0] ^ 0xff]), 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

function writeZeros(path: string, offset: number, size: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(size), 0, size, offset);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// USB: files read out of the FAT32 volume (partition at 1 MiB) by mtools, never by tsmedia's reader.

/** One file of the USB image's volume, read by mcopy to stdout. */
function mtoolsRead(img: string, path: string): Buffer {
  const r = spawnSync('mcopy', ['-n', '-i', `${img}@@1M`, `::/${path}`, '-'], { env: MT, maxBuffer: 64 * MiB });
  assert.equal(r.status, 0, `mcopy ${path} from ${img}: ${r.stderr?.toString() ?? String(r.error)}`);
  return r.stdout;
}

interface Decoded {
  variables_header: { pkcs7_padding_ok: boolean; first_block_is_xml_decl: boolean; bits: number };
  policy_header: { pkcs7_padding_ok: boolean; first_block_is_xml_decl: boolean; bits: number };
  root: string;
  variables: { name: string; value: string }[];
  policy: Record<string, string>;
}

/** The public decoder on the USB volume's SMS/data/Variables.dat and Policy.xml; status and output as they came. */
function decodeUsb(img: string, scratch: string, password: string | null): { status: number; stderr: string; env: Decoded | null } {
  mkdirSync(scratch, { recursive: true });
  const vars = join(scratch, 'Variables.dat');
  const policy = join(scratch, 'Policy.xml');
  writeFileSync(vars, mtoolsRead(img, 'SMS/data/Variables.dat'));
  writeFileSync(policy, mtoolsRead(img, 'SMS/data/Policy.xml'));
  const r = spawnSync('python3', [DECODER, vars, policy, ...(password === null ? [] : [password])], { encoding: 'utf8' });
  return { status: r.status ?? -1, stderr: r.stderr, env: r.status === 0 ? (JSON.parse(r.stdout) as Decoded) : null };
}

/** Byte offset in the image of a file's first cluster, found by searching for its bytes (read by mtools). */
function offsetOf(img: string, content: Buffer): number {
  const all = readFileSync(img);
  const head = content.subarray(0, Math.min(content.length, 512));
  const at = all.indexOf(head);
  assert.ok(at >= 0, `the file's bytes are in ${img}`);
  assert.equal(all.indexOf(head, at + 1), -1, `the file's first bytes are found once in ${img}, so the byte changed is the file's`);
  return at;
}

/** Runs fsck.fat -n on the partition at 1 MiB (copied out sparse: fsck.fat has no offset option). */
function fsckPartition(img: string, scratch: string): { status: number; output: string } {
  const part = join(scratch, 'partition.img');
  const dd = spawnSync('dd', [`if=${img}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none', 'conv=sparse']);
  assert.equal(dd.status, 0, String(dd.stderr));
  const r = spawnSync(tool('fsck.fat') ?? 'fsck.fat', ['-n', '-v', part], { encoding: 'utf8' });
  rmSync(part, { force: true });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

const fsckClean = (r: { status: number; output: string }): boolean => r.status === 0 && !/wrong|differ|dirty bit|reclaimed|invalid|bad cluster|unable|orphan/i.test(r.output);

/** Every file of the volume by mtools: the recursive listing (mdir -/ -b) and the extraction (mcopy -s). */
function mtoolsFiles(img: string, dest: string): { listed: string[]; extracted: string[] } {
  const l = spawnSync('mdir', ['-/', '-b', '-i', `${img}@@1M`, '::/'], { encoding: 'utf8', env: MT });
  assert.equal(l.status, 0, l.stderr);
  // `mdir -b` prints every entry as ::/path, folders with a trailing slash.
  const listed = l.stdout.split('\n').map((s) => s.trim()).filter((s) => s.startsWith('::/') && !s.endsWith('/')).map((s) => s.slice(3)).sort();
  mkdirSync(dest, { recursive: true });
  const c = spawnSync('mcopy', ['-s', '-n', '-i', `${img}@@1M`, '::/*', dest], { encoding: 'utf8', env: MT });
  assert.equal(c.status, 0, c.stderr);
  return { listed, extracted: relativeFiles(dest) };
}

/** What mtools extracted against the manifest it extracted: the same files, each with the manifest's SHA-256. */
function manifestMismatches(extracted: string): string[] {
  const m = JSON.parse(readFileSync(join(extracted, 'SMS/data/tsmedia-manifest.json'), 'utf8')) as MediaManifest;
  const problems: string[] = [];
  const want = [...m.files.map((f) => f.path), 'SMS/data/tsmedia-manifest.json'].sort();
  const got = relativeFiles(extracted);
  for (const p of want) if (!got.includes(p)) problems.push(`missing ${p}`);
  for (const p of got) if (!want.includes(p)) problems.push(`extra ${p}`);
  for (const f of m.files) if (got.includes(f.path) && sha(readFileSync(join(extracted, f.path))) !== f.sha256) problems.push(`differs ${f.path}`);
  return problems;
}

describe('the USB environment decoded by the public decoder', () => {
  test('with a password and without: variables and policy read from the FAT32 volume by mtools, decoded by media_decrypt.py', (t) => {
    if (!skipUnless(t, ['mcopy', 'python3', 'openssl'])) return;
    const dir = tempDir(t);
    const pw = 'Usb-Env-Pa55-ñ';
    const secret = 'Join-Secret-4242';
    writeFileSync(join(dir, 'pw.txt'), `${pw}\n`);
    writeFileSync(join(dir, 'secret.txt'), `${secret}\n`);
    const make = (name: string, extra: string[]): string => {
      const img = join(dir, `${name}.img`);
      const r = runCli(
        ['create', '--media', 'usb', '--task-sequence', 'SMP00010', '--image', img, '--image-size', '64MiB', '--var', 'OSDComputerName=USB-PC-7', '--secret-var', `DomainJoinPassword=@${join(dir, 'secret.txt')}`, '--no-verify', ...extra],
        { XDG_STATE_HOME: join(dir, 'state') },
      );
      assert.equal(r.status, 0, r.stdout + r.stderr);
      return img;
    };
    const locked = make('locked', ['--password-file', join(dir, 'pw.txt'), '--unattended']);
    const open = make('open', []);

    for (const [img, password] of [
      [locked, pw],
      [open, null],
    ] as const) {
      const d = decodeUsb(img, join(dir, `dec-${password === null ? 'open' : 'locked'}`), password);
      assert.equal(d.status, 0, `${img}: ${d.stderr}`);
      const env = d.env as Decoded;
      const manifest = JSON.parse(mtoolsRead(img, 'SMS/data/tsmedia-manifest.json').toString('utf8')) as MediaManifest;
      for (const h of [env.variables_header, env.policy_header]) {
        assert.equal(h.pkcs7_padding_ok, true);
        assert.equal(h.first_block_is_xml_decl, true);
        assert.equal(h.bits, 128, 'AES-128 (CALG_AES_128), as ConfigMgr writes it');
      }
      assert.equal(env.root, 'MediaVarList');
      const vars = new Map(env.variables.map((v) => [v.name, v.value]));
      assert.equal(vars.get('OSDComputerName'), 'USB-PC-7');
      assert.equal(vars.get('DomainJoinPassword'), secret);
      assert.equal(vars.get('_SMSTSSiteCode'), 'SMP');
      assert.equal(vars.get('_SMSMediaGuid'), manifest.mediaGuid);
      assert.equal(env.policy.PKG_PackageID, 'SMP00010');
      assert.match(env.policy.TS_Sequence, /^<sequence version="3\.10">/);
      assert.equal(manifest.passwordProtected, password !== null);
    }

    // Keys that are not the media's read nothing: no password or a wrong one for the locked media, a password for the
    // open one (which is encrypted with the fixed string and the media GUID).
    assert.notEqual(decodeUsb(locked, join(dir, 'none'), null).status, 0, 'the locked media without its password');
    assert.notEqual(decodeUsb(locked, join(dir, 'wrong'), `${pw}x`).status, 0, 'the locked media with a wrong password');
    assert.notEqual(decodeUsb(open, join(dir, 'guess'), pw).status, 0, 'the open media with a password it does not have');

    // A byte of Variables.dat changed on the volume: the decoder no longer reads it.
    const at = offsetOf(locked, mtoolsRead(locked, 'SMS/data/Variables.dat'));
    flipByte(locked, at + 24 + 3); // in the first AES block, past the 24-byte header
    assert.notEqual(decodeUsb(locked, join(dir, 'damaged'), pw).status, 0, 'a damaged Variables.dat is refused');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Disc sets: every disc read by isoinfo (ISO 9660 + Joliet), udfinfo (UDF) and 7-Zip (extraction).

/**
 * Problems udfinfo finds with one disc: it reads the UDF volume, closed, with the label, `files` files (its count
 * includes the manifest) and nothing behind the volume's end.
 */
function udfinfoProblems(disc: string, label: string, files: number): string[] {
  const u = spawnSync('udfinfo', [disc], { encoding: 'utf8' });
  if (u.status !== 0) return [`udfinfo ${disc}: exit ${u.status}: ${u.stderr}`];
  const lines = u.stdout.split('\n');
  const want = [`label=${label}`, 'integrity=closed', 'behindblocks=0', `numfiles=${files}`];
  return want.filter((l) => !lines.includes(l)).map((l) => `${disc}: udfinfo does not say ${l} (${lines.find((x) => x.startsWith(l.split('=')[0] + '=')) ?? 'absent'})`);
}

/** Problems isoinfo finds with one disc: the volume size is the file's, and the Joliet listing holds `paths`. */
function isoinfoProblems(disc: string, paths: string[]): string[] {
  const problems: string[] = [];
  const d = spawnSync('isoinfo', ['-d', '-i', disc], { encoding: 'utf8' });
  if (d.status !== 0) return [`isoinfo -d ${disc}: ${d.stderr}`];
  const blocks = /Volume size is: (\d+)/.exec(d.stdout);
  if (!/Logical block size is: 2048/.test(d.stdout)) problems.push(`${disc}: the logical block size is not 2048`);
  if (!/Joliet with UCS level 3 found/.test(d.stdout)) problems.push(`${disc}: no Joliet`);
  if (!blocks || Number(blocks[1]) * 2048 !== statSync(disc).size) problems.push(`${disc}: volume of ${blocks?.[1]} blocks, file of ${statSync(disc).size} bytes`);
  const f = spawnSync('isoinfo', ['-f', '-J', '-i', disc], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (f.status !== 0) return [...problems, `isoinfo -f -J ${disc}: ${f.stderr}`];
  const listed = new Set(f.stdout.split('\n').map((s) => s.trim().replace(/^\//, '')));
  for (const p of paths) if (!listed.has(p)) problems.push(`${disc}: isoinfo does not list ${p}`);
  return problems;
}

interface SetFile {
  path: string;
  size: number;
  sha256: string;
  /** Byte ranges of the file on this disc. */
  part: { offset: number; size: number };
}

/** What the manifest places on disc `d`: whole files (every disc's, disc 1's unsplit ones) and parts of split files. */
function onDisc(m: MediaManifest, d: number): SetFile[] {
  const out: SetFile[] = [];
  for (const f of m.files) {
    if (f.parts.length === 0) {
      // Held whole by every disc (everyDisc) or, in format 1, by disc 1.
      if (f.everyDisc === true || d === 1) out.push({ path: f.path, size: f.size, sha256: f.sha256, part: { offset: 0, size: f.size } });
      continue;
    }
    for (const p of f.parts) if (p.disc === d) out.push({ path: f.path, size: f.size, sha256: f.sha256, part: { offset: p.offset, size: p.size } });
  }
  return out;
}

/** Problems 7-Zip's extraction of disc `d` shows against the manifest: every file it places there, nothing else. */
function sevenZipProblems(disc: string, dest: string, m: MediaManifest, d: number, source: Map<string, string>): string[] {
  rmSync(dest, { recursive: true, force: true });
  const r = spawnSync('7z', ['x', '-y', `-o${dest}`, disc], { encoding: 'utf8', maxBuffer: 64 * MiB });
  if (r.status !== 0) return [`7z x ${disc}: ${r.stdout}${r.stderr}`];
  const problems: string[] = [];
  const want = onDisc(m, d);
  const got = relativeFiles(dest);
  const wantPaths = [...want.map((f) => f.path), 'SMS/data/tsmedia-manifest.json'].sort();
  for (const p of wantPaths) if (!got.includes(p)) problems.push(`disc ${d}: 7z did not extract ${p}`);
  for (const p of got) if (!wantPaths.includes(p)) problems.push(`disc ${d}: 7z extracted ${p}, which the manifest does not place there`);
  for (const f of want) {
    if (!got.includes(f.path)) continue;
    const bytes = readFileSync(join(dest, f.path));
    if (bytes.length !== f.part.size) problems.push(`disc ${d}: ${f.path} has ${bytes.length} bytes, the part ${f.part.size}`);
    else if (f.part.offset === 0 && f.part.size === f.size) {
      if (sha(bytes) !== f.sha256) problems.push(`disc ${d}: ${f.path}: SHA-256 differs from the manifest's`);
    } else {
      // A part of a split file: its bytes against the same slice of the source file.
      const src = source.get(f.path);
      if (src === undefined) problems.push(`disc ${d}: ${f.path} is split, but the test knows no source for it`);
      else {
        const slice = Buffer.alloc(f.part.size);
        const fd = openSync(src, 'r');
        readSync(fd, slice, 0, f.part.size, f.part.offset);
        closeSync(fd);
        if (sha(bytes) !== sha(slice)) problems.push(`disc ${d}: ${f.path} bytes ${f.part.offset}+${f.part.size} differ from the source's`);
      }
    }
  }
  return problems;
}

describe('every disc of a set read by isoinfo, udfinfo and 7-Zip', () => {
  test('a 140 MiB package on 64 MiB discs: each disc is a whole volume whose files and parts are the manifest\'s', async (t) => {
    if (!skipUnless(t, ['isoinfo', 'udfinfo', '7z'])) return;
    const dir = tempDir(t);
    const site = copySampleSite(join(dir, 'site'));
    const payload = join(dir, 'payload.bin');
    randomFile(payload, 140 * MiB + 12345);
    await addPackage(site, 'SMP00097', [{ relativePath: 'data/payload.bin', sourcePath: payload }], 'Big payload');
    mkdirSync(join(dir, 'out'));
    const mk = runCli(['create', '--site', site, '--task-sequence', 'SMP00010', '--package', 'SMP00097', '--size', String(64 * MiB), '--label', 'Set Check', '--out', join(dir, 'out', 'set.iso'), '--no-verify'], {
      XDG_STATE_HOME: join(dir, 'state'),
    });
    assert.equal(mk.status, 0, mk.stdout + mk.stderr);
    const discs = readdirSync(join(dir, 'out'))
      .filter((n) => /^set(-\d+)?\.iso$/.test(n))
      .sort((a, b) => (a.length - b.length) || a.localeCompare(b))
      .map((n) => join(dir, 'out', n));
    assert.equal(discs.length, 3, `a set of 3 discs (the payload's head, middle and tail): ${discs.join(', ')}`);

    const source = new Map([['SMS/PKG/SMP00097/data/payload.bin', payload]]);
    let manifest: MediaManifest | null = null;
    discs.forEach((disc, i) => {
      const d = i + 1;
      // 7-Zip first: the manifest it extracts from this disc says what the disc must hold.
      const x = join(dir, `x${d}`);
      spawnSync('7z', ['x', '-y', `-o${x}`, disc, 'SMS/data/tsmedia-manifest.json']);
      const m = JSON.parse(readFileSync(join(x, 'SMS/data/tsmedia-manifest.json'), 'utf8')) as MediaManifest;
      if (manifest === null) manifest = m;
      assert.deepEqual(m, manifest, `disc ${d} carries the same manifest as disc 1`);
      assert.equal(m.discs, discs.length);
      const here = onDisc(m, d);
      assert.ok(here.length > 0, `the manifest places files on disc ${d}`);
      assert.deepEqual(isoinfoProblems(disc, here.map((f) => f.path)), []);
      assert.deepEqual(udfinfoProblems(disc, 'Set Check', here.length + 1), []);
      assert.deepEqual(sevenZipProblems(disc, x, m, d, source), []);
    });
    // The split file, put together from its parts as 7-Zip extracted them, is the manifest's file.
    const m = manifest as unknown as MediaManifest;
    const split = m.files.find((f) => f.path === 'SMS/PKG/SMP00097/data/payload.bin');
    assert.ok(split && split.parts.length === 3, `the payload is split over the 3 discs: ${JSON.stringify(split?.parts)}`);
    const whole = Buffer.concat(split.parts.map((p) => readFileSync(join(dir, `x${p.disc}`, split.path))));
    assert.equal(sha(whole), split.sha256);

    // Damaged copies of the last disc: each reader must notice.
    const last = discs[discs.length - 1];
    const d = discs.length;
    const part = split.parts.find((p) => p.disc === d);
    assert.ok(part, 'the last disc holds a part of the payload');
    const slice = Buffer.alloc(4096);
    const fd = openSync(payload, 'r');
    readSync(fd, slice, 0, slice.length, part.offset + part.size - slice.length);
    closeSync(fd);
    const damaged = join(dir, 'damaged.iso');
    copyFileSync(last, damaged);
    const at = readFileSync(damaged).indexOf(slice);
    assert.ok(at >= 0, 'the tail of the payload is on the last disc');
    flipByte(damaged, at + 100);
    assert.match(sevenZipProblems(damaged, join(dir, 'xd'), m, d, source).join('\n'), /payload\.bin bytes \d+\+\d+ differ from the source's/);
    copyFileSync(last, damaged);
    appendFileSync(damaged, Buffer.alloc(2048));
    assert.match(isoinfoProblems(damaged, []).join('\n'), /volume of \d+ blocks, file of \d+ bytes/);
    assert.match(udfinfoProblems(damaged, 'Set Check', onDisc(m, d).length + 1).join('\n'), /does not say behindblocks=0/);
    assert.match(isoinfoProblems(last, ['SMS/PKG/SMP00097/data/other.bin']).join('\n'), /isoinfo does not list SMS\/PKG\/SMP00097\/data\/other\.bin/);
    assert.match(udfinfoProblems(last, 'Other Label', onDisc(m, d).length).join('\n'), /does not say label=Other Label[^]*does not say numfiles=/);
    // Its UDF anchors (sector 256, the last sector and 256 before it) zeroed: udfinfo finds no UDF volume.
    copyFileSync(last, damaged);
    const sectors = statSync(damaged).size / 2048;
    for (const sector of [256, sectors - 257, sectors - 1]) writeZeros(damaged, sector * 2048, 2048);
    assert.match(udfinfoProblems(damaged, 'Set Check', onDisc(m, d).length + 1).join('\n'), /udfinfo .*: exit [1-9]/);
    assert.match(sevenZipProblems(last, join(dir, 'xo'), m, 1, source).join('\n'), /7z extracted|did not extract/, 'disc 1\'s files are not on the last disc');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A USB image made through the API, as the wizard makes it.

describe('a USB image made through the loopback host', () => {
  test('startMedia with the wizard\'s request: fsck.fat finds it clean, mtools lists and extracts the manifest\'s files', async (t) => {
    if (!skipUnless(t, ['fsck.fat', 'mcopy', 'mdir', 'dd', 'python3', 'openssl'])) return;
    const dir = tempDir(t);
    const img = join(dir, 'usb', 'api.img');
    mkdirSync(join(dir, 'usb'));
    const pw = 'Api-Usb-Pa55';
    const host = await startHostProcess(join(dir, 'user-data'), { XDG_STATE_HOME: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config') });
    try {
      const request: UsbMediaRequest = {
        ...baseRequest({ password: pw, unattended: true, label: 'API Stick' }),
        target: { kind: 'image', path: img, sizeBytes: 64 * MiB, replace: null },
        format: true,
      };
      let jobId: string | null = null;
      const stream = host.jobEvents(() => jobId);
      await stream.ready;
      const started = await host.call<{ jobId: string }>('startMedia', { kind: 'usb', request });
      assert.equal(started.status, 200, started.body);
      jobId = started.value.jobId;
      const events = await stream.done;
      const last = events[events.length - 1];
      assert.equal(last.type, 'done', JSON.stringify(last));
    } finally {
      await host.stop();
    }
    assert.equal(statSync(img).size, 64 * MiB);

    const fsck = fsckPartition(img, dir);
    assert.ok(fsckClean(fsck), fsck.output);
    const { listed, extracted } = mtoolsFiles(img, join(dir, 'x'));
    assert.deepEqual(listed, extracted, 'mdir lists what mcopy extracts');
    assert.deepEqual(manifestMismatches(join(dir, 'x')), []);
    const label = spawnSync('mlabel', ['-s', '-i', `${img}@@1M`, '::'], { encoding: 'utf8', env: MT });
    assert.match(label.stdout, /Volume label is API STICK/);
    // Its environment, too, decoded by the public decoder with the request's password.
    const env = decodeUsb(img, join(dir, 'dec'), pw);
    assert.equal(env.status, 0, env.stderr);
    assert.equal(env.env?.policy.PKG_PackageID, 'SMP00010');

    // A byte of a file changed on the volume: mtools' copy no longer matches the manifest.
    flipByte(img, offsetOf(img, mtoolsRead(img, 'SMS/PKG/SMP00002/install.wim')) + 7);
    rmSync(join(dir, 'x'), { recursive: true });
    mtoolsFiles(img, join(dir, 'x'));
    assert.deepEqual(manifestMismatches(join(dir, 'x')), ['differs SMS/PKG/SMP00002/install.wim']);
    // The second FAT made different from the first: fsck.fat says so.
    const boot = Buffer.alloc(512);
    const fd = openSync(img, 'r');
    readSync(fd, boot, 0, 512, MiB);
    closeSync(fd);
    const fatStart = MiB + boot.readUInt16LE(14) * boot.readUInt16LE(11);
    const fatBytes = boot.readUInt32LE(36) * boot.readUInt16LE(11);
    flipByte(img, fatStart + fatBytes + 4 * 3 + 1);
    assert.ok(!fsckClean(fsckPartition(img, dir)), 'fsck.fat finds the damaged FAT');
  });
});
