// The media plan: from a task sequence's analysis and the wizard's options, the exact tree of stand-alone media in
// ConfigMgr's layout (SPEC.md "What ConfigMgr puts on stand-alone media"), every file with its size, SHA-256 and
// source. Nothing is copied or staged here: library files are streamed from their blobs when the media is written.
import { analyzeForMedia } from './BootImageSignatures.js';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysisResult, Finding, ReferenceKind } from '../../../shared/analysis.js';
import type { MediaVariable } from '../../../shared/media.js';
import { DEFAULT_MEDIA_LABEL, mediaLabelIssue } from '../../../shared/media.js';
import { knownContent } from '../site/Catalog.js';
import type { ContentLibrary, LibraryPackage } from '../site/ContentLibrary.js';
import { InputError, codedInputError, describeFsError } from '../errors.js';
import { checkContentNames } from './ContentNames.js';
import type { ContentSource } from '../io/ImageLayout.js';
import type { DistributionPoint, Site } from '../site/Site.js';

/** 'runtime': SMS\bin, the site server's OSD binaries, on every disc of a set. */
export type MediaFileRole = 'boot' | 'environment' | 'package' | 'prestart' | 'runtime';

export interface MediaFile {
  /** Path on the media, "/" separated, e.g. "SMS/PKG/SMP00002/install.wim". */
  path: string;
  size: number;
  /** Uppercase SHA-256 hex. */
  sha256: string;
  source: ContentSource;
  role: MediaFileRole;
  packageId: string | null;
}

export interface MediaPackage {
  packageId: string;
  name: string | null;
  kind: ReferenceKind;
  version: string | null;
  sourceVersion: number | null;
  contentIds: string[];
  bytes: number;
  files: number;
  distributionPoint: string;
  /** Folder on the media ("" for the boot image, whose files are at the root). */
  mediaFolder: string;
}

export interface ContentSelection {
  taskSequenceId: string;
  distributionPoints: string[];
  applications: string[];
  packages: string[];
  driverPackages: string[];
  detectDependencies: boolean;
}

export interface PlannedContent {
  analysis: AnalysisResult;
  /** Warnings the user acknowledges; errors have refused the plan already. */
  warnings: Finding[];
  packages: MediaPackage[];
  /** Boot image files at the root, then packages: in media order. */
  files: MediaFile[];
  directories: string[];
  bootBios: string | null;
  bootEfi: string | null;
  distributionPoints: string[];
}

export const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex').toUpperCase();

export function bufferFile(path: string, data: Buffer, role: MediaFileRole, packageId: string | null = null): MediaFile {
  return { path, size: data.length, sha256: sha256Hex(data), source: { kind: 'buffer', data, label: path }, role, packageId };
}

const toMediaPath = (p: string): string => p.replace(/\\/g, '/');

/** Content that needs files on the media (task sequences are in the policy, not in SMS\PKG). */
const hasContent = (k: ReferenceKind): boolean => k !== 'TaskSequence';

/** Chooses the distribution points the content is read from: each named one must hold all of it. */
function chooseDistributionPoints(site: Site, analysis: AnalysisResult, named: string[], extra: Set<string>): DistributionPoint[] {
  const statusOf = new Map(analysis.distributionPoints.map((d) => [d.name.toLowerCase(), d]));
  if (site.distributionPoints.length === 0) {
    throw codedInputError(
      'NO_DISTRIBUTION_POINTS',
      { site: site.root },
      `the site ${site.root} has no distribution point (no SCCMContentLib* folder and none in tsmedia-site.json), so there is no content to put on the media.`,
    );
  }
  const lacking = (dp: DistributionPoint): string[] => {
    const st = statusOf.get(dp.name.toLowerCase());
    const missing = new Set(st?.missing ?? []);
    return [...missing, ...[...extra].filter((id) => !missing.has(id) && !(dp.library && holdsSync(dp, id)))];
  };
  if (named.length > 0) {
    const chosen: DistributionPoint[] = [];
    for (const n of named) {
      const dp = site.distributionPoints.find((d) => d.name.toLowerCase() === n.toLowerCase());
      if (!dp) {
        const names = site.distributionPoints.map((d) => d.name);
        throw codedInputError('DP_UNKNOWN', { name: n, available: names }, `distribution point "${n}" is not in the site (it has: ${names.join(', ')}).`);
      }
      if (!dp.library) throw new InputError(`distribution point "${dp.name}" cannot be read: ${dp.error ?? 'unknown error'}`);
      const miss = lacking(dp);
      if (miss.length) {
        throw codedInputError(
          'DP_LACKS_CONTENT',
          { name: dp.name, packages: miss },
          `distribution point "${dp.name}" does not hold all the content: it lacks ${miss.join(', ')}. Choose another distribution point or distribute the content to it.`,
        );
      }
      chosen.push(dp);
    }
    return chosen;
  }
  const complete = site.distributionPoints.filter((dp) => dp.library && lacking(dp).length === 0);
  if (complete.length === 0) {
    const why = site.distributionPoints.map((dp) => (dp.library ? `${dp.name} lacks ${lacking(dp).join(', ')}` : `${dp.name} cannot be read`)).join('; ');
    const readable = site.distributionPoints.filter((dp) => dp.library);
    throw codedInputError(
      'NO_DP_HOLDS_ALL',
      {
        // Each readable one with what it lacks ("DP02: SMP00005, SMP00008"); the unreadable ones by name.
        lacking: readable.map((dp) => `${dp.name}: ${lacking(dp).join(', ')}`),
        unreadable: site.distributionPoints.filter((dp) => !dp.library).map((dp) => dp.name),
      },
      `no distribution point holds all the content this media needs (${why}). Distribute the missing content first.`,
    );
  }
  return complete;
}

/** Package presence cached when the distribution point was analysed (packages() is memoized by ContentLibrary). */
const holdCache = new WeakMap<ContentLibrary, Set<string>>();
function holdsSync(dp: DistributionPoint, id: string): boolean {
  return dp.library !== null && (holdCache.get(dp.library)?.has(id.toUpperCase()) ?? false);
}

async function primeHoldCache(site: Site): Promise<void> {
  for (const dp of site.distributionPoints) {
    if (!dp.library || holdCache.has(dp.library)) continue;
    holdCache.set(dp.library, new Set([...(await dp.library.packages()).values()].filter((p) => p.contentIds.length > 0).map((p) => p.packageId)));
  }
}

/** Every file of the prestart folder, as media files under SMS/PreStart/ (read now: they are small, and hashed). */
export function prestartFiles(dir: string): MediaFile[] {
  const out: MediaFile[] = [];
  const walk = (abs: string, rel: string): void => {
    let names: string[];
    try {
      names = readdirSync(abs).sort();
    } catch (err) {
      throw new InputError(`prestart files: ${describeFsError(err, abs)}`);
    }
    for (const n of names) {
      const p = join(abs, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = statSync(p);
      if (st.isDirectory()) walk(p, r);
      else if (st.isFile()) {
        if (st.size > 256 * 1024 * 1024) throw new InputError(`prestart files: ${p} is ${st.size} bytes; prestart files are tools and scripts, at most 256 MiB each.`);
        const data = readFileSync(p);
        out.push({ path: `SMS/PreStart/${r}`, size: data.length, sha256: sha256Hex(data), source: { kind: 'file', path: p, size: data.length, sha256: sha256Hex(data), label: `prestart file ${r}` }, role: 'prestart', packageId: null });
      }
    }
  };
  walk(dir, '');
  return out;
}

/** Resolves the task sequence, its analysis, the extra content and the distribution points into media files. */
export async function planContent(site: Site, sel: ContentSelection): Promise<PlannedContent> {
  const ts = site.taskSequence(sel.taskSequenceId);
  if (!ts) {
    throw codedInputError(
      'TASK_SEQUENCE_NOT_FOUND',
      { taskSequence: sel.taskSequenceId, site: site.root },
      `task sequence ${sel.taskSequenceId} is not in the site ${site.root} (it holds: ${site.taskSequences.map((t) => t.packageId).filter(Boolean).join(', ') || 'none'}).`,
    );
  }
  const analysis = await analyzeForMedia(site, ts, { detectDependencies: sel.detectDependencies });
  const errors = analysis.findings.filter((f) => f.severity === 'error');
  if (errors.length) {
    throw codedInputError(
      'TASK_SEQUENCE_REFUSED',
      { taskSequence: ts.packageId ?? sel.taskSequenceId, findings: errors.map((f) => f.code) },
      `task sequence ${ts.packageId} cannot be put on stand-alone media: ${errors.map((f) => f.message).join(' ')}`,
    );
  }

  // Extra content from the Select Application / Package / Driver Package pages.
  const known = knownContent(site);
  await primeHoldCache(site);
  const inAnyLibrary = (id: string): boolean => site.distributionPoints.some((dp) => holdsSync(dp, id));
  const extra = new Map<string, ReferenceKind>();
  const addExtra = (id: string, want: ReferenceKind, option: string): void => {
    const up = id.toUpperCase();
    const k = known.get(up);
    if (!k && !inAnyLibrary(up)) throw new InputError(`${option} ${id}: the site knows no such package (see "tsmedia catalog").`);
    if (k && k.kind !== 'Unknown' && k.kind !== want) throw new InputError(`${option} ${id}: it is a ${k.kind}, not a ${want}.`);
    extra.set(up, want);
  };
  for (const id of sel.applications) addExtra(id, 'Application', '--application');
  for (const id of sel.packages) addExtra(id, 'Package', '--package');
  for (const id of sel.driverPackages) addExtra(id, 'DriverPackage', '--driver-package');
  if (sel.detectDependencies) {
    const queue = [...extra.entries()].filter(([, k]) => k === 'Application').map(([id]) => id);
    while (queue.length) {
      const id = queue.shift() as string;
      for (const dep of known.get(id)?.dependencies ?? []) if (!extra.has(dep)) {
        extra.set(dep, 'Application');
        queue.push(dep);
      }
    }
  }
  const refIds = new Set(analysis.references.map((r) => r.packageId));
  const extraOnly = new Set([...extra.keys()].filter((id) => !refIds.has(id)));
  const dps = chooseDistributionPoints(site, analysis, sel.distributionPoints, extraOnly);

  const wanted: { packageId: string; kind: ReferenceKind; name: string | null; version: string | null; sourceVersion: number | null }[] = [
    ...analysis.references.filter((r) => hasContent(r.kind)),
    ...[...extraOnly].map((id) => ({ packageId: id, kind: known.get(id)?.kind ?? extra.get(id) ?? 'Unknown', name: known.get(id)?.name ?? null, version: known.get(id)?.version ?? null, sourceVersion: known.get(id)?.sourceVersion ?? null })),
  ];
  // The boot image first: its files are the root of the media.
  wanted.sort((a, b) => Number(b.kind === 'BootImage') - Number(a.kind === 'BootImage'));

  const files: MediaFile[] = [];
  const directories = new Set<string>();
  const packages: MediaPackage[] = [];
  const contentIdsOf = (w: (typeof wanted)[number], pkg: LibraryPackage): string[] => (w.sourceVersion !== null && pkg.versions.length ? [`${w.packageId}.${w.sourceVersion}`] : pkg.currentContentIds);
  // Every content's listing is read side by side first (folder reads and a cache lookup each, mostly waiting on the
  // disk); the loop below then takes them in order. A failure is reported by the loop, for the package it concerns.
  const sources = wanted.map((w) => {
    const dp = dps.find((d) => holdsSync(d, w.packageId)) as DistributionPoint;
    return { w, dp, lib: dp.library as ContentLibrary };
  });
  await Promise.all(
    sources.map(async ({ w, lib }) => {
      const pkg = await lib.package(w.packageId).catch(() => undefined);
      if (pkg) await Promise.all(contentIdsOf(w, pkg).map((cid) => lib.content(cid).catch(() => undefined)));
    }),
  );
  for (const { w, dp, lib } of sources) {
    const pkg = await lib.package(w.packageId);
    if (!pkg) throw new InputError(`distribution point "${dp.name}" lost package ${w.packageId} while planning.`);
    const contentIds = contentIdsOf(w, pkg);
    const isBoot = w.kind === 'BootImage';
    const folder = isBoot ? '' : `SMS/PKG/${w.packageId}`;
    let bytes = 0;
    let count = 0;
    for (const cid of contentIds) {
      const content = await lib.content(cid);
      const base = contentIds.length > 1 ? `${folder}/${cid}` : folder;
      for (const d of content.folders) directories.add(base ? `${base}/${toMediaPath(d)}` : toMediaPath(d));
      if (base) directories.add(base);
      for (const f of content.files) {
        const path = base ? `${base}/${toMediaPath(f.path)}` : toMediaPath(f.path);
        const blobPath = await lib.blobPath(f, cid);
        files.push({
          path,
          size: f.size,
          sha256: f.hash,
          source: { kind: 'library', blobPath, size: f.size, sha256: f.hash, label: `${cid}\\${f.path}` },
          role: isBoot ? 'boot' : 'package',
          packageId: w.packageId,
        });
        bytes += f.size;
        count += 1;
      }
    }
    packages.push({ packageId: w.packageId, name: w.name, kind: w.kind, version: w.version, sourceVersion: w.sourceVersion, contentIds, bytes, files: count, distributionPoint: dp.name, mediaFolder: folder });
  }
  if (!packages.some((p) => p.kind === 'BootImage')) {
    throw codedInputError(
      'BOOT_IMAGE_NO_CONTENT',
      { bootImage: analysis.bootImageId ?? '', taskSequence: ts.packageId ?? '' },
      `the boot image ${analysis.bootImageId} of task sequence ${ts.packageId} is not known as a boot image with content; distribute it to a distribution point of this site.`,
    );
  }
  checkContentNames(files, [...directories]);
  const find = (p: string): string | null => files.find((f) => f.role === 'boot' && f.path.toLowerCase() === p)?.path ?? null;
  return {
    analysis,
    warnings: analysis.findings.filter((f) => f.severity !== 'error'),
    packages,
    files,
    directories: [...directories].sort(),
    bootBios: find('boot/etfsboot.com'),
    bootEfi: find('efi/microsoft/boot/efisys.bin'),
    distributionPoints: dps.map((d) => d.name),
  };
}

export interface MediaFilesOptions {
  label: string;
  /** What autorun.inf opens ("SMS\bin\x64\TSMBAutorun.exe"); null for no autorun.inf. */
  autorun: string | null;
}

export function checkLabel(label: string | null | undefined): string {
  const l = label ?? DEFAULT_MEDIA_LABEL;
  const issue = mediaLabelIssue(l);
  if (issue) throw codedInputError('MEDIA_LABEL_INVALID', { issue: issue.code, ...issue.params }, `--label: ${issue.message}`);
  return l;
}

/** MediaLabel.txt and the optional autorun.inf (root files of ConfigMgr media), which opens TSMBAutorun.exe. */
export function rootFiles(o: MediaFilesOptions): MediaFile[] {
  const out = [bufferFile('MediaLabel.txt', Buffer.from(`label=${o.label}\r\n`, 'utf8'), 'environment')];
  if (o.autorun !== null) {
    out.push(bufferFile('autorun.inf', Buffer.from(`[autorun]\r\nopen=${o.autorun}\r\nicon=${o.autorun},0\r\nlabel=${o.label}\r\n`, 'utf8'), 'environment'));
  }
  return out;
}

export function newMediaGuid(): string {
  return `{${randomUUID().toUpperCase()}}`;
}

export type { MediaVariable };
