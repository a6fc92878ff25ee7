import { pattern } from './helpers.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFatFloppy, FLOPPY_VOLUME_SERIAL } from '../scripts/lib/FatFloppy.js';

const INSTALL_HINT = 'apt-get install dosfstools mtools';

/** Finds a tool on PATH or in the sbin folders (fsck.fat lives in /usr/sbin, often not on a user's PATH). */
function findTool(name: string): string | null {
  for (const candidate of [name, `/usr/sbin/${name}`, `/sbin/${name}`, `/usr/local/sbin/${name}`]) {
    if (candidate.includes('/') && !existsSync(candidate)) continue;
    const r = spawnSync(candidate, ['--help'], { encoding: 'utf8' });
    if (!r.error) return candidate;
  }
  return null;
}


const BOOTX64 = pattern(200_000, 1);
const FILES = [
  { path: 'EFI/BOOT/BOOTX64.EFI', data: BOOTX64 },
  { path: 'EFI/MSFT/BOOT/BCD', data: pattern(9000, 2) },
  { path: 'README.TXT', data: Buffer.from('tsmedia floppy test\r\n') },
  { path: 'EMPTY.DAT', data: Buffer.alloc(0) },
  // Enough entries to need a second cluster for the folder.
  ...Array.from({ length: 30 }, (_, i) => ({ path: `MANY/F${i}.BIN`, data: pattern(100 + i * 37, 10 + i) })),
];

async function withImage<T>(fn: (img: string, dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tsmedia-fat-'));
  try {
    const img = join(dir, 'efisys.bin');
    await writeFile(img, buildFatFloppy(FILES, 'EFISECTOR'));
    return await fn(img, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('floppy image: geometry, BPB, signature and label', () => {
  const img = buildFatFloppy(FILES, 'efisector');
  assert.equal(img.length, 1_474_560);
  assert.equal(img.readUInt16LE(11), 512, 'bytes per sector');
  assert.equal(img[13], 1, 'sectors per cluster');
  assert.equal(img.readUInt16LE(14), 1, 'reserved sectors');
  assert.equal(img[16], 2, 'FATs');
  assert.equal(img.readUInt16LE(17), 224, 'root entries');
  assert.equal(img.readUInt16LE(19), 2880, 'total sectors');
  assert.equal(img[21], 0xf0, 'media');
  assert.equal(img.readUInt16LE(22), 9, 'sectors per FAT');
  assert.equal(img.readUInt16LE(24), 18, 'sectors per track');
  assert.equal(img.readUInt16LE(26), 2, 'heads');
  assert.equal(img[38], 0x29, 'extended boot signature');
  assert.equal(img.readUInt32LE(39), FLOPPY_VOLUME_SERIAL);
  assert.equal(img.toString('latin1', 43, 54), 'EFISECTOR  ');
  assert.equal(img.toString('latin1', 54, 62), 'FAT12   ');
  assert.equal(img[510], 0x55);
  assert.equal(img[511], 0xaa);
  // FAT[0] = 0xFF0 (media), FAT[1] = 0xFFF; both FAT copies equal.
  assert.deepEqual([...img.subarray(512, 515)], [0xf0, 0xff, 0xff]);
  assert.ok(img.subarray(512, 512 + 9 * 512).equals(img.subarray(512 + 9 * 512, 512 + 18 * 512)));
  // Volume label entry first in the root folder.
  const root = 19 * 512;
  assert.equal(img.toString('latin1', root, root + 11), 'EFISECTOR  ');
  assert.equal(img[root + 11], 0x08);
});

test('floppy image: deterministic', () => {
  assert.ok(buildFatFloppy(FILES, 'EFISECTOR').equals(buildFatFloppy(FILES, 'EFISECTOR')));
});

test('floppy image: rejects names that are not 8.3, and content that does not fit', () => {
  assert.throws(() => buildFatFloppy([{ path: 'EFI/MICROSOFT/BOOT/BCD', data: Buffer.alloc(1) }], 'X'), /8\.3/);
  assert.throws(() => buildFatFloppy([{ path: 'BIG.BIN', data: Buffer.alloc(1_500_000) }], 'X'), /do not fit/);
  assert.throws(() => buildFatFloppy([], 'LABEL TOO LONG'), /label/i);
});

test('floppy image: fsck.fat -n finds no problem', async (t) => {
  const fsck = findTool('fsck.fat');
  if (!fsck) {
    const reason = `fsck.fat not installed: ${INSTALL_HINT}`;
    console.log(`skipped: ${reason}`);
    t.skip(reason);
    return;
  }
  await withImage(async (img) => {
    const r = spawnSync(fsck, ['-n', img], { encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, out);
    assert.doesNotMatch(out, /Free cluster summary wrong|wrong|invalid|bad|error|mismatch|differ/i, out);
    assert.match(out, /\d+ files, \d+\/2847 clusters/);
  });
});

test('floppy image: mtools reads the files back identical', async (t) => {
  const mcopy = findTool('mcopy');
  const mdir = findTool('mdir');
  if (!mcopy || !mdir) {
    const reason = `mcopy not installed: ${INSTALL_HINT}`;
    console.log(`skipped: ${reason}`);
    t.skip(reason);
    return;
  }
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1' };
  const mcopyPath: string = mcopy;
  const mdirPath: string = mdir;
  await withImage(async (img, dir) => {
    const listing = spawnSync(mdirPath, ['-i', img, '::/EFI/BOOT'], { encoding: 'utf8', env });
    assert.equal(listing.status, 0, listing.stderr);
    assert.match(listing.stdout, /BOOTX64\s+EFI\s+200\s?000/);
    assert.match(listing.stdout, /EFISECTOR/);
    for (const f of [FILES[0], FILES[1], FILES[2], FILES[FILES.length - 1]]) {
      if (!f) continue;
      const out = join(dir, 'out.bin');
      const r = spawnSync(mcopyPath, ['-o', '-i', img, `::/${f.path}`, out], { encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stderr);
      assert.ok((await readFile(out)).equals(f.data), `${f.path} differs`);
    }
  });
});
