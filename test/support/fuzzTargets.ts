// Fuzz targets for every reader (issue 7 item 1): each target turns a generated case — mostly a mutation of real input
// (the shared fixtures, the bundled sample site, small images our own writers make) — into a call of the reader. A case
// must end in a result or a named error (InputError, ContentIntegrityError); anything else is a bug. Used by
// scripts/fuzz.ts (10,000+ cases per reader) and test/fuzz.test.ts (a fixed-seed slice).
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import yazl from 'yazl';
import { deflateRawSync } from 'node:zlib';
import { ContentIntegrityError, InputError } from '../../electron/engine/errors.js';
import { parseTaskSequence } from '../../electron/engine/site/TaskSequence.js';
import { readExport } from '../../electron/engine/site/TaskSequenceExport.js';
import { parseCimInstance, parseInstanceArray } from '../../electron/engine/site/CimXml.js';
import { parseSiteDescriptor } from '../../electron/engine/site/SiteDescriptor.js';
import { ContentLibrary } from '../../electron/engine/site/ContentLibrary.js';
import { ContentLibraryWriter } from '../../electron/engine/site/ContentLibraryWriter.js';
import { parseCreateArgs, readAnswerFile } from '../../electron/cli/create.js';
import { main } from '../../electron/cli/tsmedia.js';
import { openIso } from '../../electron/engine/formats/iso/IsoReader.js';
import { planIso } from '../../electron/engine/formats/iso/IsoImage.js';
import { openFat32 } from '../../electron/engine/formats/fat32/Fat32Reader.js';
import { minimumFat32DiskBytes, planFat32 } from '../../electron/engine/formats/fat32/Fat32Volume.js';
import { writeImage } from '../../electron/engine/io/ImageWriter.js';
import { planWimSplit, readWimHeader, readWimLookupTable } from '../../electron/engine/formats/wim/WimSplit.js';
import { readZipEntries } from '../../electron/engine/site/ZipArchive.js';
import { classifyBootFile } from '../../electron/engine/formats/pe/SecureBootClass.js';
import { peLayout } from '../../electron/engine/formats/pe/PeLayout.js';
import { bootFilesReadiness } from '../../electron/engine/formats/pe/BootFiles.js';
import { readSmallFatImage } from '../../electron/engine/formats/fat32/FatSmallImage.js';
import { buildFatFloppy } from '../../scripts/lib/FatFloppy.js';
import { SHIM_CACHE, issue, makeRoot, sbsign, unsignedEfi } from './secureBootFixtures.js';
import { FIXTURES, ROOT, SAMPLE_SITE } from '../helpers.js';

/** An error a reader is allowed to end in. */
export function isNamedError(err: unknown): boolean {
  return err instanceof InputError || err instanceof ContentIntegrityError;
}

// ---------------------------------------------------------------------------------------------------------------------
// Byte mutations

export type OpKind = 'flip' | 'byte' | 'truncate' | 'duplicate' | 'insert' | 'fragment' | 'delete' | 'number';
export interface Op {
  kind: OpKind;
  a: number;
  b: number;
  c: number;
  bytes: Uint8Array;
}

/** Fragments that hit parsers where they are weak: markup, entities, huge and odd numbers, encodings. */
export const FRAGMENTS: readonly string[] = [
  '<', '>', '</', '/>', '<step>', '</step>', '<group>', '<sequence>', '</sequence>', '<subtasksequence>', '<variable name="x">',
  '<?xml version="1.0" encoding="utf-16"?>', '<!DOCTYPE a [<!ENTITY b "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb">]>', '&b;', '&#0;', '&#xFFFF;',
  '&#99999999;', '&amp;', '&lt;', '<![CDATA[', ']]>', '<!--', '-->', '<INSTANCE CLASSNAME="SMS_Package">', '</INSTANCE>',
  '<PROPERTY NAME="PackageID" TYPE="string"><VALUE>', '</VALUE></PROPERTY>', '<PROPERTY.ARRAY NAME="x">', '<VALUE.ARRAY>',
  '<VALUE.OBJECT>', '<ArrayOfString>', '<string>', '</string>', 'xmlns="', 'xmlns:a="urn:x"', ' disabled="true"', ' type="',
  '99999999999999999999999', '-1', '1e309', 'NaN', '-0', '0x7fffffff', '4294967296', '18446744073709551616', '1.5',
  '\u0000', '\uFFFE', '\uD800', '\r\n', '\t', '"', "'", '\\', '../', '..\\', '/etc/passwd', 'C:\\', '%TEMP%', '${x}',
  '[Info]', '[Packages]', '[', ']', '=', 'Version=', 'Hash=', '\n[Info]\nVersion=99999999999999999999\n', 'x=y\n',
  '{', '}', '[]', '{}', 'null', 'true', '"__proto__"', '"constructor"', ':', ',', '{"__proto__":{"x":1}}',
];

const posIn = (n: number, len: number, hot: readonly (readonly [number, number])[] | undefined): number => {
  if (len === 0) return 0;
  if (hot && hot.length) {
    const [s, e] = hot[n % hot.length];
    const lo = Math.min(s, len - 1);
    const hi = Math.min(e, len);
    return lo + (Math.floor(n / hot.length) % Math.max(1, hi - lo));
  }
  return n % (len + 1);
};

/** Applies the operations in order; positions are taken modulo the length (or within the hot ranges). */
export function mutate(input: Buffer, ops: readonly Op[], hot?: readonly (readonly [number, number])[]): Buffer {
  let b = Buffer.from(input);
  for (const op of ops) {
    const p = Math.min(posIn(op.a, b.length, hot), b.length);
    switch (op.kind) {
      case 'flip':
        if (p < b.length) b[p] ^= 1 << (op.b % 8);
        break;
      case 'byte':
        if (p < b.length) b[p] = op.b % 256;
        break;
      case 'truncate':
        b = b.subarray(0, op.a % (b.length + 1));
        break;
      case 'duplicate': {
        const len = Math.min(op.b % 4096, b.length - p);
        const at = op.c % (b.length + 1);
        b = Buffer.concat([b.subarray(0, at), b.subarray(p, p + len), b.subarray(at)]);
        break;
      }
      case 'delete':
        b = Buffer.concat([b.subarray(0, p), b.subarray(p + (op.b % 256))]);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, p), Buffer.from(op.bytes), b.subarray(p)]);
        break;
      case 'fragment':
        b = Buffer.concat([b.subarray(0, p), Buffer.from(FRAGMENTS[op.b % FRAGMENTS.length], 'utf8'), b.subarray(p)]);
        break;
      case 'number': {
        // Overwrite 1, 2, 4 or 8 bytes with an extreme little-endian value (sizes, counts, offsets in binary formats).
        const width = [1, 2, 4, 8][op.b % 4];
        const extremes = [0, 1, 0xff, 0x7f, 0x80, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
        const v = extremes[op.c % extremes.length];
        for (let i = 0; i < width && p + i < b.length; i++) b[p + i] = i < 4 ? (v >>> (8 * i)) & 0xff : v === 0 ? 0 : 0xff;
        break;
      }
    }
  }
  return b;
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<OpKind>('flip', 'flip', 'byte', 'byte', 'truncate', 'duplicate', 'insert', 'fragment', 'fragment', 'delete', 'number'),
  a: fc.nat(),
  b: fc.nat(),
  c: fc.nat(),
  bytes: fc.uint8Array({ maxLength: 16 }),
});
const opsArb = (max = 4): fc.Arbitrary<Op[]> => fc.array(opArb, { minLength: 1, maxLength: max });

// ---------------------------------------------------------------------------------------------------------------------
// Targets

/** One generated case: a seed input (by index), the operations, and target-specific extras. */
export interface FuzzCase {
  seed: number;
  ops: Op[];
  extra: number;
  text: string;
}
const caseArb = (maxOps = 4): fc.Arbitrary<FuzzCase> =>
  fc.record({ seed: fc.nat(), ops: opsArb(maxOps), extra: fc.nat(), text: fc.string({ maxLength: 24, unit: 'binary' }) });

export interface FuzzTarget {
  name: string;
  /** Compiled engine modules (paths under dist/) whose line coverage the fuzzing of this target reports. */
  modules: string[];
  /** Why the target cannot run here (its inputs are absent), or null. */
  skipped: string | null;
  seeds: number;
  arbitrary: fc.Arbitrary<FuzzCase>;
  /** Runs one case; returns normally or throws (a named error is an accepted outcome). */
  run(c: FuzzCase): Promise<void>;
  /** The input the case feeds the reader, for a reproducer file. */
  input(c: FuzzCase): Buffer;
  /** True when the reader reports invalid input by its result (main() exits 1) rather than by throwing. */
  reportsByResult?: boolean;
}

function listFiles(dir: string, ext: RegExp): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => ext.test(n)).sort().map((n) => join(dir, n));
}

function zipBuffer(entries: readonly { name: string; data: Buffer }[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = new yazl.ZipFile();
    for (const e of entries) z.addBuffer(e.data, e.name, { mtime: new Date(Date.UTC(2025, 0, 1)), compress: e.data.length > 64 });
    const chunks: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => chunks.push(c));
    z.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    z.outputStream.on('error', reject);
    z.end();
  });
}

/** Replaces every occurrence of `from` by `to` (same byte length) — entry names in local and central headers. */
function patchName(zip: Buffer, from: string, to: string): Buffer {
  const f = Buffer.from(from, 'utf8');
  const t = Buffer.from(to, 'utf8');
  if (f.length !== t.length) return zip;
  const out = Buffer.from(zip);
  for (let i = out.indexOf(f); i >= 0; i = out.indexOf(f, i + 1)) t.copy(out, i);
  return out;
}

/** Sets the declared uncompressed size of every entry (local and central headers) to `size`: a zip bomb's lie. */
function declareSize(zip: Buffer, size: number): Buffer {
  const out = Buffer.from(zip);
  for (let i = 0; i + 30 <= out.length; i++) {
    const sig = out.readUInt32LE(i);
    if (sig === 0x04034b50 && i + 26 <= out.length) out.writeUInt32LE(size >>> 0, i + 22);
    else if (sig === 0x02014b50 && i + 28 <= out.length) out.writeUInt32LE(size >>> 0, i + 24);
  }
  return out;
}

interface ZipSeed {
  name: string;
  entries: { name: string; data: Buffer }[];
}

/** Zip-level hostility applied after the entry mutations. */
const ZIP_MODES = ['entries', 'entries', 'entries', 'raw', 'raw', 'dotdot', 'absolute', 'backslash', 'drive', 'duplicate', 'declared', 'bomb', 'many'] as const;

async function exportZipTarget(work: string): Promise<FuzzTarget> {
  const zips = [...listFiles(join(FIXTURES, 'exports'), /\.zip$/i), ...listFiles(join(SAMPLE_SITE, 'exports'), /\.zip$/i)];
  const seeds: ZipSeed[] = [];
  for (const z of zips) {
    const entries = await readZipEntries(z, () => true);
    seeds.push({ name: z, entries: [...entries].map(([name, data]) => ({ name, data })) });
  }
  const file = join(work, 'case.zip');
  const bomb = deflateRawSync(Buffer.alloc(80 * 1024 * 1024)); // 80 MiB of zeros, above the 64 MiB entry limit
  const build = async (c: FuzzCase): Promise<Buffer> => {
    const s = seeds[c.seed % seeds.length];
    const mode = ZIP_MODES[c.extra % ZIP_MODES.length];
    const entries = s.entries.map((e) => ({ ...e }));
    const meta = entries.map((e, i) => ({ e, i })).filter(({ e }) => /\.xml$/i.test(e.name));
    const pick = meta.length ? meta[(c.extra >>> 4) % meta.length].i : 0;
    if (mode === 'entries' && entries.length) entries[pick].data = mutate(entries[pick].data, c.ops);
    if (mode === 'duplicate' && entries.length) entries.push({ name: entries[pick].name, data: mutate(entries[pick].data, c.ops) });
    if (mode === 'many') for (let i = 0; i < 200 + (c.extra % 300); i++) entries.push({ name: `junk/${i}.xml`, data: Buffer.from(c.text) });
    let zip = await zipBuffer(entries);
    const victim = entries[pick]?.name ?? '';
    const rename = (prefix: string): string => prefix + victim.slice(prefix.length);
    if (mode === 'dotdot' && victim.length > 3) zip = patchName(zip, victim, rename('../'));
    if (mode === 'absolute' && victim.length > 1) zip = patchName(zip, victim, rename('/'));
    if (mode === 'backslash' && victim.length > 3) zip = patchName(zip, victim, rename('..\\'));
    if (mode === 'drive' && victim.length > 3) zip = patchName(zip, victim, rename('C:/'));
    if (mode === 'declared') zip = declareSize(zip, [0xffffffff, 0x7fffffff, 0, 1][c.extra % 4]);
    if (mode === 'raw') zip = mutate(zip, c.ops);
    if (mode === 'bomb') {
      // A real bomb: an entry named like a metadata entry, small on disk, 80 MiB inflated.
      const z = new yazl.ZipFile();
      for (const e of entries) z.addBuffer(e.data, e.name, { mtime: new Date(Date.UTC(2025, 0, 1)) });
      z.addBuffer(bomb, 'SMS_Package/XXX00001/object.xml', { compress: false, mtime: new Date(Date.UTC(2025, 0, 1)) });
      const chunks: Buffer[] = [];
      zip = await new Promise<Buffer>((resolve, reject) => {
        z.outputStream.on('data', (ch: Buffer) => chunks.push(ch));
        z.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
        z.outputStream.on('error', reject);
        z.end();
      });
      // Mark the stored bomb as deflated with its inflated size: the reader must stop at its limit.
      zip = markBomb(zip, 'SMS_Package/XXX00001/object.xml', 80 * 1024 * 1024);
    }
    return zip;
  };
  let last: Buffer = Buffer.alloc(0);
  return {
    name: 'export zip',
    modules: ['electron/engine/site/TaskSequenceExport.js', 'electron/engine/site/ZipArchive.js'],
    skipped: seeds.length ? null : `no export zips in ${join(FIXTURES, 'exports')} or ${join(SAMPLE_SITE, 'exports')}`,
    seeds: seeds.length,
    arbitrary: caseArb(),
    async run(c) {
      last = await build(c);
      writeFileSync(file, last);
      await readExport(file);
    },
    input: () => last,
  };
}

/** Rewrites a stored entry's headers to say "deflate, `size` bytes": the stored bytes are a raw deflate stream. */
function markBomb(zip: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(zip);
  const n = Buffer.from(name);
  for (let i = 0; i + 46 <= out.length; i++) {
    const sig = out.readUInt32LE(i);
    if (sig === 0x04034b50 && out.subarray(i + 30, i + 30 + n.length).equals(n)) {
      out.writeUInt16LE(8, i + 8);
      out.writeUInt32LE(size, i + 22);
    } else if (sig === 0x02014b50 && out.subarray(i + 46, i + 46 + n.length).equals(n)) {
      out.writeUInt16LE(8, i + 10);
      out.writeUInt32LE(size, i + 24);
    }
  }
  return out;
}

function textTarget(
  name: string,
  modules: string[],
  seeds: Buffer[],
  skipped: string,
  read: (text: string) => void,
): FuzzTarget {
  let last: Buffer = Buffer.alloc(0);
  return {
    name,
    modules,
    skipped: seeds.length ? null : skipped,
    seeds: seeds.length,
    arbitrary: caseArb(),
    run(c) {
      const s = seeds[c.seed % seeds.length];
      last = c.extra % 20 === 0 ? Buffer.from(c.text, 'utf8') : mutate(s, c.ops);
      read(last.toString(c.extra % 7 === 0 ? 'latin1' : 'utf8'));
      return Promise.resolve();
    },
    input: () => last,
  };
}

async function xmlSeeds(): Promise<{ sequences: Buffer[]; instances: Buffer[]; arrays: Buffer[] }> {
  const sequences = listFiles(join(FIXTURES, 'sequences'), /\.xml$/i).map((f) => readFileSync(f));
  const instances: Buffer[] = [];
  const arrays: Buffer[] = [];
  for (const z of [...listFiles(join(FIXTURES, 'exports'), /\.zip$/i), ...listFiles(join(SAMPLE_SITE, 'exports'), /\.zip$/i)]) {
    const entries = await readZipEntries(z, (n) => /object\.xml$|ReferencesInfo\.xml$/i.test(n));
    for (const [n, data] of entries) {
      if (/ReferencesInfo\.xml$/i.test(n)) arrays.push(data);
      else {
        instances.push(data);
        const inst = parseCimInstance(data.toString('utf8'), { file: z, entry: n });
        const seq = inst.string('Sequence');
        if (seq) sequences.push(Buffer.from(seq, 'utf8'));
      }
    }
  }
  return { sequences, instances, arrays };
}

async function contentLibraryTarget(work: string): Promise<FuzzTarget> {
  const base = join(work, 'lib-base');
  const lib = join(work, 'lib');
  rmSync(base, { recursive: true, force: true });
  const w = new ContentLibraryWriter(base);
  await w.addContent('FUZ00001', 1, [
    { relativePath: 'setup.exe', data: Buffer.from('MZ setup') },
    { relativePath: 'sub/dir/readme.txt', data: Buffer.from('readme') },
  ]);
  await w.addContent('FUZ00001', 2, [{ relativePath: 'a/b/c.bin', data: Buffer.alloc(100, 7) }, { relativePath: 'x.ps1', data: Buffer.from('Write-Host') }]);
  await w.addContent('FUZ00002', 3, [{ relativePath: 'Drivers/net.inf', data: Buffer.from('[Version]') }], { folders: ['Empty', 'Drivers/x64'] });
  const inis: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else if (/\.ini$/i.test(e.name) && !r.startsWith('FileLib/')) inis.push(r);
    }
  };
  walk(base, '');
  inis.sort();
  const TREE = ['ini', 'ini', 'ini', 'ini', 'delete', 'folder', 'stray', 'rename'] as const;
  let last: Buffer = Buffer.alloc(0);
  return {
    name: 'content library',
    modules: ['electron/engine/site/ContentLibrary.js'],
    skipped: null,
    seeds: inis.length,
    arbitrary: caseArb(),
    async run(c) {
      rmSync(lib, { recursive: true, force: true });
      cpSync(base, lib, { recursive: true });
      const rel = inis[c.seed % inis.length];
      const p = join(lib, rel);
      const mode = TREE[c.extra % TREE.length];
      last = Buffer.from(`${mode} ${rel}\n`);
      if (mode === 'ini') {
        const m = mutate(readFileSync(p), c.ops);
        last = Buffer.concat([last, m]);
        writeFileSync(p, m);
      } else if (mode === 'delete') rmSync(p);
      else if (mode === 'folder') {
        rmSync(p);
        mkdirSync(p);
      } else if (mode === 'stray') writeFileSync(join(lib, 'PkgLib', `${c.text.replace(/[/\\\0]/g, '_') || 'x'}.ini`), mutate(readFileSync(p), c.ops));
      else writeFileSync(join(lib, 'DataLib', `FUZ00001.1${c.text.replace(/[/\\\0]/g, '_')}.INI`), readFileSync(p));
      // The parse itself is fuzzed: a cached file list (found by the content's INI and the names under it) would hide
      // a file INI changed in place.
      const was = process.env.TSMEDIA_NO_CACHE;
      process.env.TSMEDIA_NO_CACHE = '1';
      try {
        const l = await ContentLibrary.open(lib);
        for (const pk of (await l.packages()).values()) {
          for (const id of pk.contentIds) await l.content(id);
          await l.packageFiles(pk.packageId);
        }
      } finally {
        if (was === undefined) delete process.env.TSMEDIA_NO_CACHE;
        else process.env.TSMEDIA_NO_CACHE = was;
      }
    },
    input: () => last,
  };
}

const CREATE_TOKENS = [
  '--site', '--task-sequence', '--media', '--size', '--out', '--dp', '--password-file', '--password-env', '--unattended', '--start',
  '--expire', '--label', '--autorun', '--var', '--secret-var', '--prestart', '--prestart-files', '--application', '--package',
  '--driver-package', '--staging', '--answers', '--json', '--no-dependencies', '--no-verify', '--timestamp', '--drive', '--image',
  '--image-size', '--no-format', '--yes-erase', '--all', '--bogus', '-x', '--', '--size=', '--media=usb',
];
const VALUES = [
  'iso', 'usb', 'cd', 'dvd', 'dvd-dl', 'unlimited', '64MiB', '16GiB', '0', '-1', '1e309', '99999999999999999999TB', '1.5GB', 'NaN',
  'SMP00010', 'SMP00001', '', ' ', 'a=b', '=', 'x', '2025-01-01T00:00:00Z', 'not-a-date', '../../etc/passwd', '/dev/sda', '/nonexistent',
  'C:\\', '\u0000', 'PASSWORD', 'HOME', '/tmp/tsmedia-fuzz-never.iso', 'DP01', 'SCCMContentLib_DP01', 'media.iso',
];

function cliArgs(c: FuzzCase, tokens: readonly string[], extraValues: readonly string[]): string[] {
  const pool = [...VALUES, ...extraValues];
  const args: string[] = [];
  let x = c.extra;
  const n = 1 + (c.seed % 9);
  for (let i = 0; i < n; i++) {
    const t = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % 10;
    if (t < 4) args.push(tokens[x % tokens.length]);
    else if (t < 9) args.push(pool[(x >>> 8) % pool.length]);
    else args.push(mutate(Buffer.from(pool[(x >>> 8) % pool.length] || 'x'), c.ops).toString('utf8'));
  }
  if (c.extra % 11 === 0) args.push(c.text);
  return args;
}

const MAIN_COMMANDS = ['sequences', 'catalog', 'analyze', 'verify', 'inspect', 'help', '--version', '-h', 'bogus', '', 'ANALYZE'];
const MAIN_TOKENS = ['--site', '--json', '--kind', '--task-sequence', '--no-dependencies', '--bogus', '--', '-x', '--site=', '--kind=boot-image', '--json=1'];

function cliTargets(work: string): FuzzTarget[] {
  const fixtureFiles = [
    ...listFiles(join(FIXTURES, 'exports'), /\.zip$/i),
    ...listFiles(join(FIXTURES, 'sequences'), /\.xml$/i),
    ...listFiles(join(SAMPLE_SITE, 'exports'), /\.zip$/i),
    SAMPLE_SITE,
    join(SAMPLE_SITE, 'tsmedia-site.json'),
    join(work, 'missing'),
    ROOT,
  ];
  const answers = join(work, 'answers.json');
  writeFileSync(answers, JSON.stringify({ format: 'tsmedia-answers/1', media: 'iso', taskSequence: 'SMP00010', out: 'x.iso', size: 'cd' }));
  let lastCreate: string[] = [];
  let lastMain: string[] = [];
  return [
    {
      name: 'create arguments',
      modules: ['electron/cli/create.js'],
      skipped: null,
      seeds: 1,
      arbitrary: caseArb(2),
      run(c) {
        if (c.extra % 2 === 0) {
          // A well-formed request with one token mutated, so that most cases get past the option parser.
          const forms = [
            ['--task-sequence', 'SMP00010', '--media', 'iso', '--out', join(work, 'x.iso'), '--size', 'cd', '--label', 'MEDIA'],
            ['--task-sequence', 'SMP00010', '--media', 'usb', '--image', join(work, 'x.img'), '--image-size', '16GiB', '--unattended'],
            ['--answers', answers, '--size', 'dvd', '--var', 'A=1', '--dp', 'DP01'],
            ['--task-sequence', 'SMP00010', '--out', 'a.iso', '--start', '2025-01-01T00:00:00Z', '--expire', '2026-01-01T00:00:00Z'],
            ['--task-sequence', 'SMP00010', '--out', 'a.iso', '--prestart', 'cmd.exe', '--prestart-files', work, '--timestamp', '2025-01-01T00:00:00Z'],
            ['--task-sequence', 'SMP00010', '--media', 'usb', '--drive', '/dev/sdz', '--yes-erase', '/dev/sdz', '--application', 'X'],
          ];
          lastCreate = [...forms[(c.extra >>> 1) % forms.length]];
          const k = (c.extra >>> 4) % (lastCreate.length + 2);
          if (k < lastCreate.length) lastCreate[k] = mutate(Buffer.from(lastCreate[k]), c.ops).toString('utf8');
        } else lastCreate = cliArgs(c, CREATE_TOKENS, [...fixtureFiles, answers]);
        parseCreateArgs(lastCreate);
        return Promise.resolve();
      },
      input: () => Buffer.from(JSON.stringify(lastCreate)),
    },
    {
      name: 'tsmedia main()',
      modules: ['electron/cli/tsmedia.js'],
      reportsByResult: true,
      skipped: null,
      seeds: 1,
      arbitrary: caseArb(2),
      async run(c) {
        if (c.extra % 2 === 0) {
          // A well-formed command line with one token mutated, so that most cases get past the option parser.
          const file = fixtureFiles[(c.extra >>> 1) % fixtureFiles.length];
          const forms = [
            ['analyze', file, '--json'],
            ['analyze', file],
            ['analyze', '--task-sequence', 'SMP00010', '--site', SAMPLE_SITE, '--json'],
            ['analyze', '--task-sequence', 'SMP00010', '--no-dependencies'],
            ['sequences', '--site', SAMPLE_SITE, '--json'],
            ['catalog', '--json', '--kind', 'boot-image'],
            ['catalog', '--site', file],
            ['sequences', '--site', file],
          ];
          lastMain = [...forms[(c.extra >>> 3) % forms.length]];
          const k = 1 + ((c.extra >>> 6) % (lastMain.length + 1));
          if (k < lastMain.length) lastMain[k] = mutate(Buffer.from(lastMain[k]), c.ops).toString('utf8');
        } else lastMain = [MAIN_COMMANDS[c.extra % MAIN_COMMANDS.length], ...cliArgs({ ...c, extra: c.extra >>> 4 }, MAIN_TOKENS, fixtureFiles)];
        const out: string[] = [];
        const code = await main(lastMain, { out: (s) => out.push(s), err: (s) => out.push(s), isTty: false });
        if (code !== 0 && code !== 1 && code !== 2) throw new Error(`main() returned ${String(code)}`);
        const text = out.join('\n');
        if (/unexpected error/.test(text)) throw new Error(`main() reported an unexpected error: ${text.slice(0, 400)}`);
      },
      input: () => Buffer.from(JSON.stringify(lastMain)),
    },
  ];
}

const T0 = new Date(Date.UTC(2025, 0, 1));

function isoTarget(work: string): FuzzTarget {
  const buf = (s: string): { kind: 'buffer'; data: Buffer; label: string } => ({ kind: 'buffer', data: Buffer.from(s), label: s.slice(0, 8) });
  const plan = planIso({
    volumeId: 'FUZZ',
    files: [
      { path: 'boot/etfsboot.com', source: buf('B'.repeat(2048)) },
      { path: 'efi/microsoft/boot/efisys.bin', source: buf('E'.repeat(4096)) },
      { path: 'SMS/data/TsmBootstrap.ini', source: buf('[x]') },
      { path: 'SMS/PKG/FUZ00001/A Long Name For Joliet And UDF.txt', source: buf('long') },
      { path: 'empty.dat', source: buf('') },
    ],
    directories: ['Empty/Folder'],
    bootBios: 'boot/etfsboot.com',
    bootEfi: 'efi/microsoft/boot/efisys.bin',
    timestamp: T0,
  });
  const basePath = join(work, 'base.iso');
  const fd = openSync(basePath, 'w');
  writeImage(plan, fd, { gaps: 'zero' });
  closeSync(fd);
  const base = readFileSync(basePath);
  // Mutations land in the descriptors, path tables, directories and UDF structures (the first blocks), not in file data.
  const hot: [number, number][] = [[16 * 2048, Math.min(base.length, 300 * 2048)]];
  const file = join(work, 'case.iso');
  let last: Buffer = Buffer.alloc(0);
  return {
    name: 'ISO image',
    modules: ['electron/engine/formats/iso/IsoReader.js'],
    skipped: null,
    seeds: 1,
    arbitrary: caseArb(6),
    run(c) {
      last = mutate(base, c.ops, c.extra % 5 === 0 ? undefined : hot);
      writeFileSync(file, last);
      const v = openIso(file);
      try {
        for (const f of v.files()) v.readFileBuffer(f.path);
        v.directories();
        v.bootCatalog();
        v.find('SMS/data/TsmBootstrap.ini');
      } finally {
        v.close();
      }
      return Promise.resolve();
    },
    input: () => last,
  };
}

function fatTarget(work: string): FuzzTarget {
  const diskBytes = minimumFat32DiskBytes() + 4 * 1024 * 1024;
  const plan = planFat32({
    diskBytes,
    label: 'FUZZ',
    files: [
      { path: 'boot/bcd', source: { kind: 'buffer', data: Buffer.alloc(5 * 512, 3), label: 'bcd' } },
      { path: 'A Long File Name.txt', source: { kind: 'buffer', data: Buffer.from('long'), label: 'long' } },
      { path: 'dir/inner/deep.txt', source: { kind: 'buffer', data: Buffer.from('deep'), label: 'deep' } },
    ],
    timestamp: T0,
  });
  const file = join(work, 'case.img');
  const basePath = join(work, 'base.img');
  const fd = openSync(basePath, 'w');
  writeImage(plan, fd, { gaps: 'zero' });
  closeSync(fd);
  const baseFull = readFileSync(basePath);
  // Only the non-zero span matters (MBR, boot sectors, FATs, root directory, file data); keep the image short by
  // cutting it after the last non-zero byte and letting the file size say the rest.
  let end = baseFull.length;
  while (end > 0 && baseFull[end - 1] === 0) end--;
  const base = baseFull.subarray(0, Math.min(baseFull.length, end + 4096));
  rmSync(basePath);
  const hot: [number, number][] = [
    [0, 1024 * 1024 + 4096],
    [1024 * 1024, Math.min(base.length, 1024 * 1024 + 64 * 1024)],
    [Math.max(0, base.length - 64 * 1024), base.length],
  ];
  let last: Buffer = Buffer.alloc(0);
  return {
    name: 'FAT32 volume',
    modules: ['electron/engine/formats/fat32/Fat32Reader.js'],
    skipped: null,
    seeds: 1,
    arbitrary: caseArb(6),
    run(c) {
      last = mutate(base, c.ops, c.extra % 5 === 0 ? undefined : hot);
      writeFileSync(file, last);
      // The volume's size: the image's own, unless the case truncated it.
      if (last.length >= base.length && c.extra % 3 !== 0) {
        truncateSync(file, diskBytes);
      }
      const v = openFat32(file);
      try {
        for (const f of v.files()) v.readFileBuffer(f.path);
        v.directories();
        v.freeClusters();
        v.fsInfo();
        v.readDirectory('dir');
      } finally {
        v.close();
      }
      return Promise.resolve();
    },
    input: () => last,
  };
}

function wimTarget(work: string): FuzzTarget {
  const wim = join(work, 'base.wim');
  const src = join(work, 'wimsrc');
  mkdirSync(join(src, 'Windows', 'System32'), { recursive: true });
  writeFileSync(join(src, 'Windows', 'System32', 'a.dll'), Buffer.alloc(3000, 1));
  writeFileSync(join(src, 'Windows', 'b.txt'), 'hello wim');
  writeFileSync(join(src, 'c.bin'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff)));
  const r = spawnSync('wimlib-imagex', ['capture', src, wim, 'fuzz', '--compress=none'], { encoding: 'utf8' });
  const ok = r.status === 0 && existsSync(wim);
  const base = ok ? readFileSync(wim) : Buffer.alloc(0);
  const hot: [number, number][] = [[0, 208], [Math.max(0, base.length - 2048), base.length]];
  const file = join(work, 'case.wim');
  let last: Buffer = Buffer.alloc(0);
  return {
    name: 'WIM header',
    modules: ['electron/engine/formats/wim/WimSplit.js'],
    skipped: ok ? null : `wimlib-imagex could not make a WIM (${(r.error?.message ?? r.stderr) || 'not installed'}); install wimtools`,
    seeds: ok ? 1 : 0,
    arbitrary: caseArb(4),
    run(c) {
      last = mutate(base, c.ops, c.extra % 4 === 0 ? undefined : hot);
      writeFileSync(file, last);
      const h = readWimHeader(file, 'case.wim');
      readWimLookupTable(h, 'case.wim');
      planWimSplit(file, [4096, 1024 * 1024, 65536, 2 ** 32 - 1][c.extra % 4], 'install');
      return Promise.resolve();
    },
    input: () => last,
  };
}

/** Keys an answer file may hold, and names every plain object inherits (a lookup by such a key must not find them). */
const ANSWER_KEYS = [
  'format', 'site', 'taskSequence', 'media', 'size', 'out', 'distributionPoints', 'passwordFile', 'passwordEnv', 'unattended', 'startDate',
  'expireDate', 'label', 'autorun', 'variables', 'secretVariables', 'prestartCommand', 'prestartFiles', 'applications', 'packages',
  'driverPackages', 'staging', 'detectDependencies', 'password',
  'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString',
  '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__', 'prototype',
];
const answerValueArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('"tsmedia-answers/1"', 'null', 'true', '1', '"iso"', '"usb"', '"dvd"', '[]', '{}', '["A"]', '[{"name": "X", "value": "1"}]', '{"__proto__": {"x": 1}}'),
  fc.json({ maxDepth: 2 }),
);

/** Answer files as JSON text, built key by key (an object literal would turn "__proto__" into the prototype), then mutated. */
function answerFileTarget(work: string): FuzzTarget {
  const file = join(work, 'answers-case.json');
  let last: Buffer = Buffer.alloc(0);
  return {
    name: 'answer file',
    modules: ['shared/answers.js', 'electron/cli/create.js'],
    skipped: null,
    seeds: 1,
    arbitrary: fc
      .record({
        entries: fc.array(fc.tuple(fc.constantFrom(...ANSWER_KEYS), answerValueArb), { maxLength: 6 }),
        withFormat: fc.boolean(),
        ops: fc.option(opsArb(2), { nil: undefined }),
        extra: fc.nat(),
      })
      .map(({ entries, withFormat, ops, extra }) => {
        const pairs = withFormat ? [['format', '"tsmedia-answers/1"'], ...entries] : entries;
        const text = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`;
        return { seed: 0, ops: ops ?? [], extra, text };
      }),
    run(c) {
      last = c.ops.length ? mutate(Buffer.from(c.text), c.ops) : Buffer.from(c.text);
      writeFileSync(file, last);
      readAnswerFile(file);
      if (c.extra % 4 === 0) parseCreateArgs(['--answers', file, '--out', join(work, 'a.iso')]);
      return Promise.resolve();
    },
    input: () => last,
  };
}

/** Builds every target in `work` (a scratch folder the caller removes). */
export async function fuzzTargets(work: string): Promise<FuzzTarget[]> {
  mkdirSync(work, { recursive: true });
  const { sequences, instances, arrays } = await xmlSeeds();
  const noFixtures = `no task sequence XML in ${FIXTURES} or the sample site's exports`;
  const descriptorSeeds = [join(SAMPLE_SITE, 'tsmedia-site.json'), join(FIXTURES, 'sequences', 'tsmedia-site.json')].filter(existsSync).map((f) => readFileSync(f));
  return [
    textTarget('task sequence XML', ['electron/engine/site/TaskSequence.js', 'electron/engine/site/xml.js'], sequences, noFixtures, (t) => {
      parseTaskSequence(t, { file: 'case.xml' });
    }),
    await exportZipTarget(work),
    textTarget('CIM-XML instance', ['electron/engine/site/CimXml.js'], instances, noFixtures, (t) => {
      parseCimInstance(t, { file: 'case.xml' });
    }),
    textTarget('CIM-XML array', ['electron/engine/site/CimXml.js'], arrays, noFixtures, (t) => {
      parseInstanceArray(t, { file: 'case.xml' });
    }),
    textTarget('site descriptor', ['electron/engine/site/SiteDescriptor.js'], descriptorSeeds, `no tsmedia-site.json in ${SAMPLE_SITE} (run npm run build)`, (t) => {
      parseSiteDescriptor(t, 'tsmedia-site.json');
    }),
    await contentLibraryTarget(work),
    ...cliTargets(work),
    answerFileTarget(work),
    isoTarget(work),
    fatTarget(work),
    wimTarget(work),
    await efiSignatureTarget(work),
    efisysTarget(),
  ];
}

/**
 * Signed EFI images (Debian's shim-signed when the cache holds it, and one sbsign signs under a test CA), mutated mostly
 * in the certificate table. Every case must end in a class: hostile signatures are 'damaged', never an exception.
 */
async function efiSignatureTarget(work: string): Promise<FuzzTarget> {
  const seeds: Buffer[] = [];
  const shim = join(SHIM_CACHE, 'x', 'usr', 'lib', 'shim', 'shimx64.efi.signed');
  if (existsSync(shim)) seeds.push(readFileSync(shim));
  const tools = ['openssl', 'sbsign'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
  if (tools) {
    const dir = join(work, 'efisig');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'plain.efi'), await unsignedEfi());
    const root = makeRoot(dir, 'root', '/CN=fuzz root');
    const mid = issue(dir, root, 'mid', '/CN=fuzz intermediate', true);
    const leaf = issue(dir, mid, 'leaf', '/CN=fuzz signer', false);
    sbsign(dir, join(dir, 'plain.efi'), join(dir, 'signed.efi'), leaf, [mid, root]);
    seeds.push(readFileSync(join(dir, 'signed.efi')));
  }
  let last: Buffer = Buffer.alloc(0);
  return {
    name: 'EFI boot file signature',
    modules: ['electron/engine/formats/pe/Authenticode.js', 'electron/engine/formats/pe/PeLayout.js', 'electron/engine/formats/pe/SecureBootClass.js'],
    skipped: seeds.length ? null : 'no signed EFI image: neither shim-signed in the cache nor openssl and sbsign to sign one (scripts/setup.sh)',
    seeds: seeds.length,
    arbitrary: caseArb(4),
    run(c) {
      const base = seeds[c.seed % seeds.length] as Buffer;
      const table = peLayout(base).certTable;
      const hot: [number, number][] = table ? [[table.offset, base.length], [0, 1024]] : [[0, base.length]];
      last = mutate(base, c.ops, c.extra % 5 === 0 ? undefined : hot);
      classifyBootFile('bootx64.efi', last);
      return Promise.resolve();
    },
    input: () => last,
    // A hostile signature is reported as the class 'damaged', with its reason: no error is thrown.
    reportsByResult: true,
  };
}

/** efisys.bin-style FAT12 images: read as a boot image (a damaged image is a 'damaged' entry) and by the reader. */
function efisysTarget(): FuzzTarget {
  const base = buildFatFloppy([{ path: 'EFI/BOOT/BOOTX64.EFI', data: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(5000, 3)]) }, { path: 'EFI/MSFT/BOOT/BCD', data: Buffer.alloc(700, 1) }], 'EFISECTOR');
  let last: Buffer = Buffer.alloc(0);
  return {
    name: 'FAT12 image (efisys.bin)',
    modules: ['electron/engine/formats/fat32/FatSmallImage.js', 'electron/engine/formats/pe/BootFiles.js'],
    skipped: null,
    seeds: 1,
    arbitrary: caseArb(6),
    run(c) {
      last = mutate(base, c.ops, c.extra % 5 === 0 ? undefined : [[0, 20 * 512]]);
      bootFilesReadiness([{ path: 'efi/microsoft/boot/efisys.bin', read: () => last }]);
      readSmallFatImage(last, 'efisys.bin');
      return Promise.resolve();
    },
    input: () => last,
  };
}
