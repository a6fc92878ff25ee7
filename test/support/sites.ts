// Test sites made from the bundled sample site: copied, then given extra (large) packages or damaged on purpose.
import { randomFillSync } from 'node:crypto';
import { closeSync, cpSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ContentLibraryWriter } from '../../electron/engine/ContentLibraryWriter.js';
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
