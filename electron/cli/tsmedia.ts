// The `tsmedia` command line: the same engine the wizard drives. Exit 0 on success, 1 for invalid input (the message
// names the file and where), 2 for anything unexpected.
// Each command's modules are imported when it runs: loading every command's (the ISO writer, the live site's client,
// the snapshot's zip writer, pkijs…) cost a `tsmedia refresh` a quarter of a second before its first read.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AnalysisResult, CatalogItem, SequenceSummary, StartsFrom } from '../../shared/analysis.js';
import { REFERENCE_KINDS } from '../../shared/analysis.js';
import { InputError, errorMessage } from '../engine/errors.js';
import { packageVersion, sampleSitePath } from '../engine/paths.js';
import type { Site } from '../engine/site/Site.js';
import { SITE_OPTIONS, liveContextFor, siteArgsOf, siteSpecOf, type SiteArgs } from './siteOptions.js';
import { DESCRIPTOR_FILE } from '../engine/site/SiteDescriptor.js';
import type { SiteSnapshotResult } from '../engine/site/SiteSnapshot.js';
import { CancelledError, WriteError } from '../engine/io/ImageWriter.js';
import { ContentIntegrityError } from '../engine/errors.js';
import { DriveAccessError } from '../engine/drives/DriveAccess.js';
import type { Io } from './create.js';
import { formatBytes, formatTable, secureBootText } from './format.js';

const USAGE = `tsmedia — Configuration Manager stand-alone task sequence media

Usage:
  tsmedia sequences [--site DIR|URL] [--json]
  tsmedia catalog   [--site DIR|URL] [--kind KIND] [--json]
  tsmedia analyze   [--site DIR|URL] --task-sequence ID [--no-dependencies] [--json]
  tsmedia analyze   FILE.zip|FILE.xml [--no-dependencies] [--json]
  tsmedia create    [--site DIR|URL] --task-sequence ID --media iso --size SIZE --out PATH.iso
                    [--dp NAME]… [--password-file F | --password-env VAR] [--unattended]
                    [--start DATE --expire DATE] [--label TEXT] [--autorun]
                    [--var NAME=VALUE]… [--secret-var NAME=@FILE]… [--prestart CMD [--prestart-files DIR]]
                    [--application ID]… [--package ID]… [--driver-package ID]… [--staging DIR]
                    [--answers FILE] [--no-dependencies] [--no-verify] [--timestamp DATE] [--json]
                    SIZE: cd650, cd700, dvd, dvd-dl, unlimited or bytes
  tsmedia create    … --media usb (--drive DEVICE --yes-erase DEVICE… [--drive DEVICE --yes-erase DEVICE…]… [--all] | --image FILE.img --image-size BYTES
                    [--replace FILE.img]) [--no-format] [--no-verify]  (other options as for --media iso, without
                    --size/--out; --yes-erase once per confirmation the drive needs, see "tsmedia drives")
  tsmedia refresh   DEVICE|IMAGE [--yes-refresh DEVICE…] [--dry-run] (create's options, without --media/--drive/
                    --image/--size/--out): rewrites only what changed on USB media tsmedia made; the change list is
                    printed first, --dry-run stops there. ISO sets are not refreshed (a disc image is rewritten whole)
  tsmedia drives    [--all] [--json]
  tsmedia verify    PATH.iso…|DEVICE|IMAGE [--image-hash] [--json]  (exit 0 all match, 1 a mismatch, 2 unreadable;
                    --image-hash also checks each ISO against its .sha256 file)
  tsmedia inspect   PATH.iso… [--password-file F] [--json]
  tsmedia site snapshot [--site DIR|URL] --out DIR [--json]  (the site as a folder: exports and tsmedia-site.json;
                    the content libraries are not copied, the descriptor names where they are)
  tsmedia help | --version

--site DIR defaults to the bundled sample site. A site is a folder with exports/*.zip (and bare
sequence XML) and SCCMContentLib*/ content libraries, optionally described by tsmedia-site.json.
A live site is read from its administration service: --site https://PROVIDER/AdminService or
--provider PROVIDER (also a folder whose tsmedia-site.json names "adminService"), signed in with
--site-user DOMAIN\\user and --site-password-file F | --site-password-env VAR | a prompt (on Windows,
without --site-user, as the signed-in user; elsewhere --site-negotiate uses a Kerberos ticket).
--trust-certificate THUMBPRINT trusts the service's own certificate once (remembered per server).
Application dependencies are detected and added unless --no-dependencies is given.
create exits 0 on success, 1 for invalid input or a refused run, 2 for a failed write, 130 when cancelled.
`;

class UsageError extends InputError {}

type Out = Io;

const defaultIo: Out = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.startsWith('\r') ? s : s.endsWith('\n') ? s : `${s}\n`),
  isTty: process.stderr.isTTY === true,
};

/** The site a command names (a folder, or a live site by --site URL / --provider), else the bundled sample site. */
async function openSite(spec: string | undefined, args: SiteArgs, io: Out = defaultIo): Promise<Site> {
  const at = siteSpecOf(spec, args);
  if (at !== undefined) {
    const { openSiteAt } = await import('../engine/site/SiteOpener.js');
    return openSiteAt(at, liveContextFor(args, io));
  }
  const sample = sampleSitePath();
  if (!existsSync(sample)) throw new InputError(`the bundled sample site is missing (${sample}). Run "npm run build" to generate it, or give --site DIR.`);
  const { Site } = await import('../engine/site/Site.js');
  return Site.open(sample);
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${errorMessage(err).replace(/\. To specify.*$/s, '.')}\nRun "tsmedia help" for usage.`);
  }
}

const json = (v: unknown): string => JSON.stringify(v, null, 2);

/** How an administrator starts the media, in a table cell. */
const STARTS_FROM: Record<StartsFrom, string> = { boot: 'boot', windows: 'Windows', either: 'boot or Windows' };

function printSequences(list: SequenceSummary[], io: Out): void {
  io.out(
    formatTable(
      ['Package ID', 'Name', 'Boot image', 'Starts from', 'Selectable', 'Findings'],
      list.map((s) => [s.packageId ?? '(none)', s.name, s.bootImageId ?? '-', s.startsFrom ? STARTS_FROM[s.startsFrom] : '-', s.selectable ? 'yes' : `no: ${s.reason ?? ''}`, s.findings.join(', ') || '-']),
    ),
  );
}

function printCatalog(items: CatalogItem[], io: Out): void {
  io.out(
    formatTable(
      ['Package ID', 'Kind', 'Name', 'Version', 'Size', 'Distribution points'],
      items.map((i) => [
        i.packageId,
        i.kind,
        i.name ?? '-',
        [i.version, i.sourceVersion !== null ? `(source ${i.sourceVersion})` : ''].filter(Boolean).join(' ') || '-',
        i.sizeBytes === null ? '-' : formatBytes(i.sizeBytes),
        i.distributionPoints.join(', ') || 'none',
      ]),
    ),
  );
}


function printAnalysis(a: AnalysisResult, io: Out): void {
  io.out(`${a.packageId ?? '(bare sequence)'}  ${a.name}`);
  io.out(`  source: ${a.source}`);
  io.out(`  boot image: ${a.bootImageId ?? 'none'}`);
  const disabled = a.steps.filter((s) => s.disabled).length;
  io.out(`  steps: ${a.steps.length} (${disabled} disabled)`);
  io.out(`  starts from: ${STARTS_FROM[a.start.startsFrom]}${a.start.scenario ? ` (${a.start.scenario})` : ''}: ${a.start.reason}`);
  io.out('\nReferenced content:');
  io.out(
    a.references.length === 0
      ? '  none'
      : formatTable(
          ['Package ID', 'Kind', 'Name', 'Version', 'Why'],
          a.references.map((r) => [r.packageId, r.kind, r.name ?? '-', r.version ?? '-', r.via.join('; ')]),
        ).replace(/^/gm, '  '),
  );
  io.out('\nFindings:');
  if (a.findings.length === 0) io.out('  none: nothing in this task sequence is known to fail on stand-alone media');
  for (const f of a.findings) io.out(`  [${f.severity}] ${f.code}${f.step ? ` (step "${f.step}")` : ''}: ${f.message}`);
  io.out('\nSecure Boot (the boot image\'s EFI boot files):');
  for (const line of secureBootText(a.secureBoot, a.bootImageId ? 'not read: no distribution point could give the boot image\'s files' : 'no boot image')) io.out(line);
  io.out('\nDistribution points:');
  if (a.distributionPoints.length === 0) io.out('  none in this site');
  for (const d of a.distributionPoints) {
    if (d.error) io.out(`  ${d.name}: cannot be read: ${d.error}`);
    else if (d.hasAllContent) io.out(`  ${d.name}: holds all content`);
    else
      io.out(
        `  ${d.name}: lacks ${d.details
          .map((m) => (m.reason === 'older-version' ? `${m.packageId} (has version ${m.have.join(', ')}, needs ${m.want})` : m.packageId))
          .join(', ')}`,
      );
  }
}

async function cmdSequences(args: string[], io: Out): Promise<number> {
  const { values, positionals } = parse(args, { ...SITE_OPTIONS, json: { type: 'boolean' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}". Run "tsmedia help" for usage.`);
  const site = await openSite(values.site as string | undefined, siteArgsOf(values), io);
  const { summarizeSequences } = await import('../engine/site/Analysis.js');
  const list = await summarizeSequences(site);
  if (values.json) io.out(json(list));
  else printSequences(list, io);
  return 0;
}

async function cmdCatalog(args: string[], io: Out): Promise<number> {
  const { values, positionals } = parse(args, { ...SITE_OPTIONS, json: { type: 'boolean' }, kind: { type: 'string' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}". Run "tsmedia help" for usage.`);
  const kind = values.kind as string | undefined;
  if (kind !== undefined && !REFERENCE_KINDS.some((k) => k === kind)) throw new UsageError(`--kind must be one of ${REFERENCE_KINDS.join(', ')}.`);
  const site = await openSite(values.site as string | undefined, siteArgsOf(values), io);
  const { buildCatalog } = await import('../engine/site/Catalog.js');
  let items = await buildCatalog(site);
  if (kind) items = items.filter((i) => i.kind === kind);
  if (values.json) io.out(json(items));
  else printCatalog(items, io);
  return 0;
}

async function cmdAnalyze(args: string[], io: Out): Promise<number> {
  const { values, positionals } = parse(args, {
    ...SITE_OPTIONS,
    'task-sequence': { type: 'string' },
    json: { type: 'boolean' },
    'no-dependencies': { type: 'boolean' },
  });
  const detectDependencies = !values['no-dependencies'];
  const tsId = values['task-sequence'] as string | undefined;
  let results: AnalysisResult[];
  const { analyzeForMedia } = await import('../engine/media/BootImageSignatures.js');
  if (positionals.length > 0) {
    if (positionals.length > 1) throw new UsageError(`analyze takes one file, got ${positionals.length}.`);
    if (tsId !== undefined || values.site !== undefined) throw new UsageError('give either FILE or --site/--task-sequence, not both.');
    const { Site } = await import('../engine/site/Site.js');
    const site = await Site.fromFile(positionals[0]);
    results = [];
    for (const ts of site.taskSequences) results.push(await analyzeForMedia(site, ts, { detectDependencies }));
  } else {
    if (!tsId) throw new UsageError('analyze needs --task-sequence ID (with --site DIR, or the sample site) or an export FILE.');
    const site = await openSite(values.site as string | undefined, siteArgsOf(values), io);
    const ts = site.taskSequence(tsId);
    if (!ts) {
      const ids = site.taskSequences.map((t) => t.packageId).filter(Boolean).join(', ');
      throw new InputError(`task sequence ${tsId} is not in the site ${site.root} (it holds: ${ids || 'none'}).`);
    }
    results = [await analyzeForMedia(site, ts, { detectDependencies })];
  }
  if (values.json) io.out(json(results.length === 1 ? results[0] : results));
  else results.forEach((r, i) => {
    if (i > 0) io.out('');
    printAnalysis(r, io);
  });
  return 0;
}

/** `site snapshot`: the open site written as a site folder, to make media later without the site's service. */
async function cmdSite(args: string[], io: Out): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'snapshot') throw new UsageError(`${sub === undefined ? 'site needs a subcommand' : `unknown site subcommand "${sub}"`}: tsmedia site snapshot [--site DIR|URL] --out DIR [--json].`);
  const { values, positionals } = parse(rest, { ...SITE_OPTIONS, out: { type: 'string' }, json: { type: 'boolean' } });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}". Run "tsmedia help" for usage.`);
  const outDir = values.out as string | undefined;
  if (!outDir) throw new UsageError('site snapshot needs --out DIR: a new or empty folder for the snapshot.');
  const site = await openSite(values.site as string | undefined, siteArgsOf(values), io);
  // Ctrl+C removes the partial folder; nothing is left under the --out name.
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  let r: SiteSnapshotResult;
  const { writeSiteSnapshot } = await import('../engine/site/SiteSnapshot.js');
  try {
    r = await writeSiteSnapshot(site, outDir, { signal: controller.signal });
  } catch (err) {
    if (!(err instanceof CancelledError)) throw err;
    io.err('cancelled: the partial snapshot was removed.');
    return 130;
  } finally {
    process.off('SIGINT', onSigint);
  }
  const libraries = site.distributionPoints.map((d) => ({ name: d.name, contentLibrary: d.root }));
  if (values.json) io.out(json({ ...r, descriptor: join(r.outDir, DESCRIPTOR_FILE), distributionPoints: libraries }));
  else {
    io.out(`snapshot of ${site.root} written to ${r.outDir}: ${r.taskSequences} task sequence(s)`);
    for (const e of r.exports) io.out(`  ${e}`);
    io.out(`  ${join(r.outDir, DESCRIPTOR_FILE)}`);
    io.out('The content libraries were not copied; tsmedia-site.json names where they are:');
    for (const l of libraries) io.out(`  ${l.name}: ${l.contentLibrary}`);
    if (libraries.length === 0) io.out('  none: the site has no distribution point');
  }
  return 0;
}

export async function main(argv: string[], io: Out = defaultIo): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    // No path or value can hold a NUL character (Node refuses such paths with a TypeError deep in fs).
    const nul = argv.findIndex((a) => a.includes('\0'));
    if (nul >= 0) throw new UsageError(`argument ${nul + 1} contains a NUL character; no path or value can hold one.`);
    switch (cmd) {
      case 'sequences':
        return await cmdSequences(rest, io);
      case 'catalog':
        return await cmdCatalog(rest, io);
      case 'analyze':
        return await cmdAnalyze(rest, io);
      case 'create':
        return await (await import('./create.js')).runCreate(rest, io, (spec, args) => openSite(spec, args, io));
      case 'refresh':
        return await (await import('./refresh.js')).runRefresh(rest, io, (spec, args) => openSite(spec, args, io));
      case 'verify':
        return await (await import('./media.js')).runVerify(rest, io);
      case 'inspect':
        return await (await import('./media.js')).runInspect(rest, io);
      case 'drives':
        return await (await import('./drives.js')).runDrives(rest, io);
      case 'site':
        return await cmdSite(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(USAGE);
        return cmd === undefined ? 1 : 0;
      case '--version':
        io.out(packageVersion());
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}". Run "tsmedia help" for usage.`);
    }
  } catch (err) {
    if (err instanceof InputError) {
      io.err(`tsmedia: ${err.message}`);
      return 1;
    }
    // A failed write (full disk, I/O error, a drive that went away): its message already says what and where.
    if (err instanceof WriteError || err instanceof ContentIntegrityError || err instanceof DriveAccessError) {
      io.err(`tsmedia: ${err.message}`);
      return 2;
    }
    io.err(`tsmedia: unexpected error: ${errorMessage(err)}`);
    if (process.env.TSMEDIA_DEBUG) io.err(String((err as Error).stack));
    else io.err('Set TSMEDIA_DEBUG=1 to see details, and report this.');
    return 2;
  }
}
