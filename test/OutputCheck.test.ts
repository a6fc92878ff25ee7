// What the wizard is told about a media file's place (engine/media/OutputCheck): the folder, whether it can be written,
// the share, the free space or that it is not reported, and the refusal a run would meet — with the same codes the run
// raises. On real file systems: a missing folder, a path that is a folder, wrong extensions, a relative path, a file
// inside the site, a read-only tmpfs, a tmpfs too small for the media, and FUSE mounts (python3-fuse) that report a
// size of 0 blocks, as smbnetfs does, or whose daemon is gone. Mounts need root; those cases skip with the reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { OutputCheck } from '../shared/ipc.js';
import { InputError } from '../electron/engine/errors.js';
import { validateRequest } from '../electron/engine/media/MediaBuilder.js';
import { checkOutputFile } from '../electron/engine/media/OutputCheck.js';
import { BESIDE_MEDIA_BYTES, checkFreeSpace, refuseUnwritable } from '../electron/engine/media/SafeOutput.js';
import { Site } from '../electron/engine/site/Site.js';
import { SAMPLE_SITE, requireOrSkip, tempDir } from './helpers.js';
import { FuseMirror, Scratch, fusePython, isRoot } from './support/failingStorage.js';
import { isoRequest } from './support/hostClient.js';

const MiB = 1024 * 1024;

/** Everything below `dir`, so a test can show that checking created nothing. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/** The check's problem as code and values (what the wizard translates). */
const detail = (c: OutputCheck): unknown => c.problemDetail;

/** A tmpfs of `mib` MiB at a new folder of `s`, read-only when asked; null (the test skipped) where it cannot be mounted. */
function tmpfs(t: TestContext, s: Scratch, name: string, mib: number, readOnly = false): string | null {
  if (!requireOrSkip(t, isRoot() && process.platform === 'linux', 'needs root on Linux: mounts a tmpfs')) return null;
  const dir = s.path(name);
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m${readOnly ? ',ro' : ''}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (!requireOrSkip(t, r.status === 0, `cannot mount a tmpfs here: ${r.stderr}`)) return null;
  s.defer(`umount ${dir}`, () => spawnSync('umount', ['-l', dir]));
  return dir;
}

describe('checkOutputFile: the rules a run applies, said before it', () => {
  test('a writable local folder: can be written, its free space against the media, nothing created', async (t) => {
    const dir = tempDir(t);
    const before = tree(dir);
    const c = await checkOutputFile(join(dir, 'media.iso'), 'iso', 2 * MiB);
    assert.equal(c.folder, dir);
    assert.equal(c.folderExists, true);
    assert.equal(c.writable, true);
    assert.equal(c.problem, null);
    assert.equal(c.problemDetail, null);
    assert.equal(c.neededBytes, 2 * MiB);
    assert.ok(c.free !== null && c.free > 0, `free: ${c.free}`);
    assert.equal(c.fits, true);
    assert.equal(c.freeUnknown, null);
    // Not knowing the media's size yet: no verdict on the space.
    const unknown = await checkOutputFile(join(dir, 'usb.img'), 'usb-image', null);
    assert.equal(unknown.fits, null);
    assert.equal(unknown.problem, null);
    assert.deepEqual(tree(dir), before, 'nothing created');
  });

  test('a folder that does not exist: OUTPUT_FOLDER_MISSING naming it, nothing created', async (t) => {
    const dir = tempDir(t);
    const missing = join(dir, 'no', 'such');
    const c = await checkOutputFile(join(missing, 'media.iso'), 'iso', 10 * MiB);
    assert.equal(c.folderExists, false);
    assert.equal(c.writable, false);
    assert.equal(c.free, null);
    assert.equal(c.fits, null);
    assert.deepEqual(detail(c), { code: 'OUTPUT_FOLDER_MISSING', params: { folder: missing, path: join(missing, 'media.iso') } });
    assert.match(c.problem ?? '', /the folder .* does not exist\. Create it first\./);
    // A file where the folder should be is no folder either.
    writeFileSync(join(dir, 'file'), '');
    const img = await checkOutputFile(join(dir, 'file', 'usb.img'), 'usb-image', null);
    assert.deepEqual(detail(img), { code: 'OUTPUT_FOLDER_MISSING', params: { folder: join(dir, 'file'), path: join(dir, 'file', 'usb.img') } });
    assert.deepEqual(tree(dir), ['file'], 'nothing created');
  });

  test('a path that is a folder: OUTPUT_IS_FOLDER, as the run says it', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'media.iso'));
    mkdirSync(join(dir, 'usb.img'));
    const iso = await checkOutputFile(join(dir, 'media.iso'), 'iso', null);
    assert.deepEqual(detail(iso), { code: 'OUTPUT_IS_FOLDER', params: { path: join(dir, 'media.iso') } });
    assert.equal(iso.writable, true, 'the folder it is in may be written; the name is wrong');
    assert.equal((await checkOutputFile(join(dir, 'usb.img'), 'usb-image', null)).problemDetail?.code, 'OUTPUT_IS_FOLDER');
    // The run refuses it with the same code.
    assert.throws(() => validateRequest(isoRequest(join(dir, 'media.iso'))), (e: unknown) => e instanceof InputError && e.code === 'OUTPUT_IS_FOLDER' && /is a folder; give the path of the first ISO file/.test(e.message));
  });

  test('wrong extensions: ISO_EXTENSION for an ISO set, IMAGE_EXTENSION for a USB image', async (t) => {
    const dir = tempDir(t);
    assert.deepEqual(detail(await checkOutputFile(join(dir, 'media.img'), 'iso', null)), { code: 'ISO_EXTENSION', params: { path: join(dir, 'media.img'), extension: '.iso' } });
    assert.deepEqual(detail(await checkOutputFile(join(dir, 'usb.iso'), 'usb-image', null)), { code: 'IMAGE_EXTENSION', params: { path: join(dir, 'usb.iso'), extension: '.img' } });
    assert.equal((await checkOutputFile(join(dir, 'MEDIA.ISO'), 'iso', null)).problem, null, 'the extension in any case');
    assert.throws(() => validateRequest(isoRequest(join(dir, 'media.img'))), (e: unknown) => e instanceof InputError && e.code === 'ISO_EXTENSION' && /must end in \.iso/.test(e.message));
  });

  test('a relative path: OUTPUT_PATH_RELATIVE (it would depend on the folder tsmedia started in)', async () => {
    const c = await checkOutputFile('media.iso', 'iso', null);
    assert.deepEqual(detail(c), { code: 'OUTPUT_PATH_RELATIVE', params: { path: 'media.iso' } });
    assert.equal(c.writable, false);
  });

  test('with the open site: a file inside it is OUTPUT_INSIDE_SOURCES', async () => {
    const site = await Site.open(SAMPLE_SITE);
    const inside = join(SAMPLE_SITE, 'media.iso');
    const c = await checkOutputFile(inside, 'iso', null, site);
    assert.equal(c.problemDetail?.code, 'OUTPUT_INSIDE_SOURCES');
    assert.equal(c.problemDetail?.params.path, inside);
    assert.equal((await checkOutputFile(inside, 'iso', null)).problem, null, 'without a site that rule is not asked');
  });

  test('a read-only file system (tmpfs mounted ro): OUTPUT_READ_ONLY naming the folder, as refuseUnwritable says', async (t) => {
    const s = new Scratch(t);
    const ro = tmpfs(t, s, 'ro', 4, true);
    if (ro === null) return;
    const c = await checkOutputFile(join(ro, 'media.iso'), 'iso', MiB);
    assert.equal(c.folderExists, true);
    assert.equal(c.writable, false);
    assert.deepEqual(detail(c), { code: 'OUTPUT_READ_ONLY', params: { path: ro } });
    assert.match(c.problem ?? '', /is on a read-only file system or drive; nothing can be written there/);
    assert.throws(() => refuseUnwritable(ro, '--out x'), (e: unknown) => e instanceof InputError && e.code === 'OUTPUT_READ_ONLY');
    const img = await checkOutputFile(join(ro, 'usb.img'), 'usb-image', null);
    assert.equal(img.problemDetail?.code, 'OUTPUT_READ_ONLY');
  });

  test('a folder with too little space (an 8 MiB tmpfs): OUTPUT_NO_SPACE with its free and needed bytes; enough fits', async (t) => {
    const s = new Scratch(t);
    const small = tmpfs(t, s, 'small', 8);
    if (small === null) return;
    const big = await checkOutputFile(join(small, 'media.iso'), 'iso', 16 * MiB);
    assert.equal(big.writable, true, 'the folder can be written, the media does not fit');
    assert.equal(big.fits, false);
    assert.ok(big.free !== null && big.free <= 8 * MiB && big.free > 7 * MiB, `free: ${big.free}`);
    assert.deepEqual(detail(big), { code: 'OUTPUT_NO_SPACE', params: { place: small, freeBytes: big.free as number, neededBytes: 16 * MiB + BESIDE_MEDIA_BYTES } });
    assert.match(big.problem ?? '', /has [\d.]+ MiB free, the media needs 20\.0 MiB\. Free space or choose another folder\./);
    // The run refuses it with the same code and values.
    assert.throws(
      () => checkFreeSpace(small, 16 * MiB + BESIDE_MEDIA_BYTES, '--out x'),
      (e: unknown) => e instanceof InputError && e.code === 'OUTPUT_NO_SPACE' && e.params?.neededBytes === 16 * MiB + BESIDE_MEDIA_BYTES,
    );
    // The files written beside the media (checksums, reports, the log) count, as the run counts them.
    const fits = await checkOutputFile(join(small, 'media.iso'), 'iso', 2 * MiB);
    assert.equal(fits.fits, true);
    assert.equal(fits.problem, null);
    assert.equal((await checkOutputFile(join(small, 'usb.img'), 'usb-image', (big.free as number) - BESIDE_MEDIA_BYTES + 1)).problemDetail?.code, 'OUTPUT_NO_SPACE');
    assert.deepEqual(readdirSync(small), [], 'nothing created');
  });
});

describe('checkOutputFile on FUSE mounts (python3-fuse), as a share mounted with smbnetfs behaves', () => {
  async function mirror(t: TestContext, options: { unknownSize?: boolean; subtype?: string } = {}): Promise<{ m: FuseMirror; s: Scratch } | null> {
    if (!requireOrSkip(t, isRoot() && process.platform === 'linux', 'needs root on Linux: mounts a FUSE file system')) return null;
    const py = fusePython();
    if (!requireOrSkip(t, py !== null, 'the Python fuse module is missing (apt-get install python3-fuse; ./scripts/setup.sh does)')) return null;
    const s = new Scratch(t);
    const m = new FuseMirror(s, py as string, s.path('backing'), s.path('fuse'), options);
    try {
      await m.mount();
    } catch (err) {
      requireOrSkip(t, false, `cannot mount FUSE here: ${(err as Error).message}`);
      return null;
    }
    return { m, s };
  }

  test('a mount that reports a size of 0 blocks: free space not reported, and not a problem however large the media', async (t) => {
    const got = await mirror(t, { unknownSize: true });
    if (!got) return;
    const { m } = got;
    const c = await checkOutputFile(join(m.mountpoint, 'media.iso'), 'iso', 500 * 1024 * MiB);
    assert.equal(c.folderExists, true);
    assert.equal(c.writable, true);
    assert.equal(c.free, null);
    assert.equal(c.freeUnknown, 'its file system does not report its size');
    assert.equal(c.fits, null);
    assert.equal(c.problem, null);
    assert.equal(c.problemDetail, null);
    // The run agrees: it writes, relying on the write's own error if the share fills up.
    assert.equal(checkFreeSpace(m.mountpoint, 500 * 1024 * MiB, '--out x').free, null);
    assert.deepEqual(readdirSync(m.backing), [], 'nothing created');
  });

  test('a share laid out as smbnetfs shows one (<mount>/<server>/<share>): named //server/share, free space not reported', async (t) => {
    const got = await mirror(t, { unknownSize: true, subtype: 'smbnetfs' });
    if (!got) return;
    const { m } = got;
    mkdirSync(join(m.backing, 'fileserver', 'osd$', 'Win11'), { recursive: true });
    const c = await checkOutputFile(join(m.mountpoint, 'fileserver', 'osd$', 'Win11', 'media.iso'), 'iso', 2 * 1024 * MiB);
    assert.deepEqual(c.share, { name: '//fileserver/osd$', protocol: 'smb', mountedAt: join(m.mountpoint, 'fileserver', 'osd$') });
    assert.equal(c.writable, true);
    assert.equal(c.free, null);
    assert.equal(c.problem, null);
    // A folder missing on the share: refused, the share still named.
    const missing = await checkOutputFile(join(m.mountpoint, 'fileserver', 'osd$', 'Win12', 'media.iso'), 'iso', null);
    assert.equal(missing.problemDetail?.code, 'OUTPUT_FOLDER_MISSING');
    assert.equal(missing.share?.name, '//fileserver/osd$');
  });

  test('a mount whose daemon is gone (a share that stopped answering): OUTPUT_UNWRITABLE with the system\'s answer', async (t) => {
    const got = await mirror(t);
    if (!got) return;
    const { m } = got;
    mkdirSync(join(m.mountpoint, 'out'));
    assert.equal((await checkOutputFile(join(m.mountpoint, 'out', 'media.iso'), 'iso', MiB)).problem, null);
    m.kill();
    const c = await checkOutputFile(join(m.mountpoint, 'out', 'media.iso'), 'iso', MiB);
    // (The kernel may still answer stat from its cache for a second; access asks the daemon.)
    assert.equal(c.writable, false);
    assert.equal(c.free, null);
    assert.deepEqual(detail(c), { code: 'OUTPUT_UNWRITABLE', params: { path: join(m.mountpoint, 'out'), error: 'ENOTCONN' } });
    assert.match(c.problem ?? '', /the file system holding it is gone/);
  });
});
