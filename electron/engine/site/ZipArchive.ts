// Reads the small metadata entries of a zip (task sequence exports) with yauzl, within fixed limits so a hostile zip
// (bomb, escaping paths, duplicate entries, truncation) ends in an InputError naming the zip and the entry.
import { createRequire } from 'node:module';
import type * as Yauzl from 'yauzl';
import { InputError, describeFsError } from '../errors.js';

// yauzl is loaded for the first zip read: a site whose exports come from the parse cache never opens one, and the
// module costs 10–15 ms at every start otherwise.
const requireCjs = createRequire(import.meta.url);
let yauzlPackage: typeof Yauzl | null = null;
const yauzl = (): typeof Yauzl => (yauzlPackage ??= requireCjs('yauzl') as typeof Yauzl);

export interface ZipLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
}

export const EXPORT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 20000,
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

function openZip(path: string): Promise<Yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl().open(path, { lazyEntries: true, autoClose: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code) reject(new InputError(describeFsError(err, path)));
        else reject(new InputError(`not a readable zip file (${err.message}). Export the task sequence again from the console.`, { file: path }));
      } else resolve(zip);
    });
  });
}

/** Reads every entry `select` accepts into memory; all entry names are checked, selected or not. */
export async function readZipEntries(
  path: string,
  select: (name: string) => boolean,
  limits: ZipLimits = EXPORT_ZIP_LIMITS,
): Promise<Map<string, Buffer>> {
  const zip = await openZip(path);
  const out = new Map<string, Buffer>();
  const seen = new Set<string>();
  let total = 0;
  let count = 0;
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      zip.close();
      reject(err instanceof InputError ? err : new InputError(`damaged zip (${err.message}).`, { file: path }));
    };
    zip.on('error', (err: Error) => {
      const m = /invalid relative path: (.*)|absolute path: (.*)|invalid characters in fileName: (.*)/.exec(err.message);
      if (m) fail(new InputError(`zip entry "${m[1] ?? m[2] ?? m[3]}" points outside the export; refusing to read it.`, { file: path }));
      else fail(err);
    });
    zip.on('end', () => {
      if (done) return;
      done = true;
      resolve(out);
    });
    zip.on('entry', (entry: Yauzl.Entry) => {
      if (done) return;
      const name = entry.fileName;
      count += 1;
      if (count > limits.maxEntries) return fail(new InputError(`more than ${limits.maxEntries} entries; this is not a task sequence export.`, { file: path }));
      const key = name.toLowerCase();
      if (seen.has(key)) return fail(new InputError(`the entry "${name}" appears twice; the export is damaged.`, { file: path, entry: name }));
      seen.add(key);
      if (name.endsWith('/') || !select(name)) {
        zip.readEntry();
        return;
      }
      if (entry.uncompressedSize > limits.maxEntryBytes || total + entry.uncompressedSize > limits.maxTotalBytes) {
        return fail(new InputError(`the entry expands to ${entry.uncompressedSize} bytes, more than an export's metadata can be; refusing it.`, { file: path, entry: name }));
      }
      total += entry.uncompressedSize;
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) return fail(new InputError(`cannot read this entry (${err?.message ?? 'no data'}).`, { file: path, entry: name }));
        const chunks: Buffer[] = [];
        let got = 0;
        stream.on('data', (c: Buffer) => {
          got += c.length;
          if (got > limits.maxEntryBytes) {
            stream.destroy();
            fail(new InputError('the entry is larger than it says; refusing it.', { file: path, entry: name }));
            return;
          }
          chunks.push(c);
        });
        stream.on('error', (e: Error) => fail(new InputError(`cannot read this entry (${e.message}).`, { file: path, entry: name })));
        stream.on('end', () => {
          if (done) return;
          out.set(name, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
}
