// What is reproducible, exactly as docs/reference/media.md says: two runs of the same input with the same --timestamp give media
// whose every file is the same byte for byte except the three that carry the media's own identity — Variables.dat
// (the media GUID and a new certificate), Policy.xml (encrypted with the GUID) and the manifest (which names the GUID
// and those two files' hashes) — and images that differ only inside those three files whenever the new certificate's
// key encodes to the same length (else their recorded sizes differ too).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Extent } from '../electron/engine/io/PositionedRead.js';
import { openIso } from '../electron/engine/formats/iso/IsoReader.js';
import { openFat32 } from '../electron/engine/formats/fat32/Fat32Reader.js';
import { ROOT, hasCommand, requireOrSkip, runCli, tempDir } from './helpers.js';

const IDENTITY = ['SMS/data/Variables.dat', 'SMS/data/Policy.xml', 'SMS/data/tsmedia-manifest.json'];
const TIMESTAMP = '2026-01-02T03:04:05Z';

interface Media {
  image: string;
  files: Map<string, { size: number; extents: Extent[]; data: Buffer }>;
  directories: string[];
}

/** Every folder and file of an opened volume (the engine's ISO or FAT32 reader), with each file's bytes and extents. */
function readMedia(image: string, v: { directories(): string[]; files(): { path: string; size: number; extents: Extent[] }[]; readFileBuffer(path: string): Buffer; close(): void }): Media {
  try {
    return { image, directories: v.directories(), files: new Map(v.files().map((f) => [f.path, { size: f.size, extents: f.extents, data: v.readFileBuffer(f.path) }])) };
  } finally {
    v.close();
  }
}
const readIso = (image: string): Media => readMedia(image, openIso(image));
const readUsb = (image: string): Media => readMedia(image, openFat32(image));

/** The decrypted environment (test/oracle/media_decrypt.py: an independent implementation of the published scheme). */
function environmentOf(m: Media, dir: string): { variables: { name: string; value: string }[]; policy: Record<string, string> } {
  mkdirSync(dir, { recursive: true });
  const vars = join(dir, 'Variables.dat');
  const policy = join(dir, 'Policy.xml');
  writeFileSync(vars, m.files.get('SMS/data/Variables.dat')?.data ?? Buffer.alloc(0));
  writeFileSync(policy, m.files.get('SMS/data/Policy.xml')?.data ?? Buffer.alloc(0));
  const r = spawnSync('python3', [join(ROOT, 'test/oracle/media_decrypt.py'), vars, policy], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { variables: { name: string; value: string }[]; policy: Record<string, string> };
}

/** Byte ranges [start, end) where two equally long files differ. */
function differences(a: Buffer, b: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    let j = i;
    while (j < a.length && a[j] !== b[j]) j++;
    out.push([i, j]);
    i = j;
  }
  return out;
}

/** The checks every pair of runs passes, whatever the certificate's key. */
function sameButIdentity(a: Media, b: Media, work: string): void {
  assert.deepEqual(b.directories, a.directories, 'the same folders');
  assert.deepEqual([...b.files.keys()], [...a.files.keys()], 'the same files, in the same order');
  for (const [path, fa] of a.files) {
    if (IDENTITY.includes(path)) continue;
    assert.ok(fa.data.equals(b.files.get(path)?.data ?? Buffer.alloc(0)), `${path} is the same byte for byte`);
  }
  for (const p of IDENTITY) assert.ok(!a.files.get(p)?.data.equals(b.files.get(p)?.data ?? Buffer.alloc(0)), `${p} differs: a new media GUID`);

  // The manifest: the same but for the GUID and the two encrypted files' sizes and hashes.
  type Manifest = { mediaGuid: string; files: { path: string; size: number; sha256: string; parts: { size: number }[] }[] } & Record<string, unknown>;
  const manifest = (m: Media): Manifest => JSON.parse(m.files.get('SMS/data/tsmedia-manifest.json')?.data.toString('utf8') ?? '{}') as Manifest;
  const [ma, mb] = [manifest(a), manifest(b)];
  assert.notEqual(ma.mediaGuid, mb.mediaGuid);
  const blank = (m: Manifest): Manifest => ({ ...m, mediaGuid: '', files: m.files.map((f) => (IDENTITY.includes(f.path) ? { ...f, size: 0, sha256: '', parts: f.parts.map((p) => ({ ...p, size: 0 })) } : f)) });
  assert.deepEqual(blank(mb), blank(ma));

  // The environment: the same variables and policy, but for the GUID and the certificate made for it.
  const [ea, eb] = [environmentOf(a, join(work, 'env-a')), environmentOf(b, join(work, 'env-b'))];
  const own = new Set(['_SMSMediaGuid', '_SMSTSMediaPFX']);
  assert.deepEqual(eb.variables.map((v) => (own.has(v.name) ? v.name : v)), ea.variables.map((v) => (own.has(v.name) ? v.name : v)));
  for (const name of own) assert.notEqual(ea.variables.find((v) => v.name === name)?.value, eb.variables.find((v) => v.name === name)?.value, name);
  assert.deepEqual(eb.policy, ea.policy);
}

/** Of three or more runs, two whose identity files have the same sizes: the certificate's key encodes to one of two lengths. */
function pairWithEqualSizes(runs: Media[]): [Media, Media] {
  const sizes = (m: Media): string => IDENTITY.map((p) => m.files.get(p)?.size).join(',');
  for (let i = 0; i < runs.length; i++) for (let j = i + 1; j < runs.length; j++) if (sizes(runs[i]) === sizes(runs[j])) return [runs[i], runs[j]];
  assert.fail(`no two runs with the same environment sizes: ${runs.map(sizes).join(' | ')}`);
}

/** With the same sizes, the images are as long and differ only inside the identity files' data. */
function imagesDifferOnlyInIdentity(a: Media, b: Media): void {
  const [ia, ib] = [readFileSync(a.image), readFileSync(b.image)];
  assert.equal(ib.length, ia.length);
  const inside = IDENTITY.flatMap((p) => [...(a.files.get(p)?.extents ?? []), ...(b.files.get(p)?.extents ?? [])]);
  const diffs = differences(ia, ib);
  assert.ok(diffs.length > 0);
  for (const [s, e] of diffs) {
    assert.ok(
      inside.some((x) => s >= x.offset && e <= x.offset + x.size),
      `bytes ${s}–${e} differ outside Variables.dat, Policy.xml and the manifest`,
    );
  }
}

const NEEDS = 'python3 and openssl decode the environment (scripts/setup.sh installs them)';

/**
 * Three runs of the same input and --timestamp, each in a folder of its own under the same file name (nothing of the
 * output's path is on the media), read back by `read`.
 */
function threeRuns(dir: string, fileName: string, args: (out: string) => string[], read: (image: string) => Media): Media[] {
  const runs: Media[] = [];
  for (let i = 0; i < 3; i++) {
    const out = join(dir, `run${i}`, fileName);
    mkdirSync(join(dir, `run${i}`));
    const r = runCli(['create', '--task-sequence', 'SMP00010', ...args(out), '--timestamp', TIMESTAMP, '--no-verify'], { XDG_STATE_HOME: join(dir, 'state') });
    assert.equal(r.status, 0, r.stderr);
    runs.push(read(out));
  }
  return runs;
}

describe('reproducible media (--timestamp)', () => {
  test('ISO: every file but the three that carry the media GUID is the same; the image differs only inside them', (t) => {
    if (!requireOrSkip(t, hasCommand('python3') && hasCommand('openssl'), NEEDS)) return;
    const dir = tempDir(t);
    const runs = threeRuns(dir, 'media.iso', (out) => ['--out', out], readIso);
    sameButIdentity(runs[0], runs[1], dir);
    sameButIdentity(runs[1], runs[2], dir);
    imagesDifferOnlyInIdentity(...pairWithEqualSizes(runs));
  });

  test('USB image: the same holds for the FAT32 volume', (t) => {
    if (!requireOrSkip(t, hasCommand('python3') && hasCommand('openssl'), NEEDS)) return;
    const dir = tempDir(t);
    const runs = threeRuns(dir, 'usb.img', (out) => ['--media', 'usb', '--image', out, '--image-size', '64MiB'], readUsb);
    sameButIdentity(runs[0], runs[1], dir);
    sameButIdentity(runs[0], runs[2], dir);
    imagesDifferOnlyInIdentity(...pairWithEqualSizes(runs));
  });
});
