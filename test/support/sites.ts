// Test sites made from the bundled sample site: copied, then given extra (large) packages or damaged on purpose.
import { randomFillSync } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ContentLibraryWriter } from '../../electron/engine/site/ContentLibraryWriter.js';
import { SAMPLE_SITE } from '../helpers.js';

export function copySampleSite(dest: string): string {
  cpSync(SAMPLE_SITE, dest, { recursive: true });
  return dest;
}

/** Writes `bytes` of random data to a file, 8 MiB at a time. */
export function randomFile(path: string, bytes: number): void {
  const fd = openSync(path, 'w');
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(buf.length, bytes - done);
      randomFillSync(buf, 0, n);
      writeSync(fd, buf, 0, n);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Adds a package holding the given files to every distribution point of the site and to its catalog. */
export async function addPackage(site: string, packageId: string, files: { relativePath: string; sourcePath: string }[], name = 'Test payload'): Promise<void> {
  for (const dp of ['SCCMContentLib_DP01', 'SCCMContentLib_DP02']) {
    await new ContentLibraryWriter(join(site, dp)).addContent(packageId, 1, files);
  }
  const descPath = join(site, 'tsmedia-site.json');
  const desc = JSON.parse(readFileSync(descPath, 'utf8')) as { catalog: unknown[] };
  desc.catalog.push({ packageId, name, kind: 'Package', version: '1.0', sourceVersion: 1 });
  writeFileSync(descPath, JSON.stringify(desc, null, 2));
}

/**
 * Adds package `packageId` holding a file of `size` bytes that is no WIM (4.5 GiB by default, which a USB drive's
 * FAT32 refuses) to both distribution points: the content library describes it, and its blob is sparse (never read).
 * `scratch` is a folder for the package's small placeholder file.
 */
export async function addLargeNonWimPackage(
  site: string,
  scratch: string,
  options: { packageId?: string; fileName?: string; size?: number; name?: string } = {},
): Promise<void> {
  const { packageId = 'SMP00098', fileName = 'archive.7z', size = 4.5 * 1024 ** 3, name = 'Big archive' } = options;
  const small = join(scratch, `${packageId}-readme.txt`);
  writeFileSync(small, 'x');
  await addPackage(site, packageId, [{ relativePath: 'readme.txt', sourcePath: small }], name);
  const hash = 'AB'.repeat(32);
  for (const dp of ['SCCMContentLib_DP01', 'SCCMContentLib_DP02']) {
    writeFileSync(join(site, dp, 'DataLib', `${packageId}.1`, `${fileName}.INI`), `[File]\r\nHash=${hash}\r\nSize=${size}\r\nAttributes=20\r\nTimeModified=133801632000000000\r\n`);
    mkdirSync(join(site, dp, 'FileLib', 'ABAB'), { recursive: true });
    const blob = join(site, dp, 'FileLib', 'ABAB', hash);
    writeFileSync(blob, '');
    truncateSync(blob, size);
  }
}

/**
 * Adds package `packageId` shaped like a real driver and OS pack (issue 11): `count` files in folders up to six deep
 * with accented, Greek, Cyrillic and CJK names, one `install.wim` of `wimBytes`, a few files of 2–5 MiB and many
 * small `.sys`/`.inf`/`.cat`/`.dll` files, all of random content. Deterministic names and sizes for a given seed.
 */
export async function addDeepNonAsciiPackage(
  site: string,
  scratch: string,
  options: { packageId?: string; count?: number; wimBytes?: number; seed?: number } = {},
): Promise<{ files: number; bytes: number }> {
  const { packageId = 'SMP00099', count = 250, wimBytes = 96 * 1024 * 1024 + 4321, seed = 7 } = options;
  let x = seed >>> 0;
  const rnd = (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x % n;
  };
  const words = ['Système', 'Treiber', 'Überblick', 'naïve', '日本語', 'Ελληνικά', 'Пакет', 'drivers', 'x64', 'Intel', 'Réseau', 'Grafik'];
  const sizes = [wimBytes];
  for (let i = 0; i < 9; i++) sizes.push(2 * 1024 * 1024 + rnd(3 * 1024 * 1024));
  while (sizes.length < count) sizes.push(1 + rnd(120_000));
  const src = join(scratch, `${packageId}-src`);
  const files = sizes.map((size, i) => {
    const folders = Array.from({ length: 2 + rnd(5) }, (_, d) => `${words[rnd(words.length)]}-${d}`);
    const relativePath = i === 0 ? 'Images/install.wim' : [...folders, `${words[rnd(words.length)]}_${i}.${['sys', 'inf', 'cat', 'dll'][rnd(4)]}`].join('/');
    const sourcePath = join(src, relativePath);
    mkdirSync(dirname(sourcePath), { recursive: true });
    randomFile(sourcePath, size);
    return { relativePath, sourcePath };
  });
  await addPackage(site, packageId, files, 'Deep driver pack');
  return { files: files.length, bytes: sizes.reduce((a, b) => a + b, 0) };
}

/** A new version of package `packageId` (added with addPackage) holding `files`: its content and the catalog's source version. */
export async function updatePackage(site: string, packageId: string, files: { relativePath: string; sourcePath: string }[]): Promise<number> {
  const descPath = join(site, 'tsmedia-site.json');
  const desc = JSON.parse(readFileSync(descPath, 'utf8')) as { catalog: { packageId: string; sourceVersion: number }[] };
  const entry = desc.catalog.find((c) => c.packageId === packageId);
  if (!entry) throw new Error(`updatePackage: ${packageId} is not in the catalog`);
  entry.sourceVersion += 1;
  for (const dp of ['SCCMContentLib_DP01', 'SCCMContentLib_DP02']) {
    await new ContentLibraryWriter(join(site, dp)).addContent(packageId, entry.sourceVersion, files);
  }
  writeFileSync(descPath, JSON.stringify(desc, null, 2));
  return entry.sourceVersion;
}
