// The media report written beside every output, in Markdown (for people) and JSON (for scripts): each package with
// version, size and disc, the media GUID, the date range, the findings acknowledged. No secret ever appears in it.
import { basename } from 'node:path';
import type { IsoMediaRequest } from '../../shared/media.js';
import type { MediaManifest } from './Manifest.js';
import type { PlannedContent } from './MediaPlan.js';
import { writeTempFile } from './SafeOutput.js';

export interface ReportInput {
  request: Pick<IsoMediaRequest, 'size' | 'password' | 'unattended' | 'autorun' | 'variables' | 'prestartCommand'>;
  label: string;
  mediaGuid: string;
  content: PlannedContent;
  manifest: MediaManifest;
  /** SHA-256 as read back; null when the media was not read back (--no-verify) or is a drive. */
  discs: { path: string; bytes: number; sha256: string | null }[];
  start: Date | null;
  expire: Date | null;
  timestamp: Date;
  verified: boolean;
  /** Default 'iso'. */
  mediaType?: 'iso' | 'usb';
}

export interface ReportJson {
  format: 'tsmedia-report/1';
  created: string;
  tool: string;
  taskSequence: { packageId: string | null; name: string };
  media: { type: 'iso' | 'usb'; size: string; label: string; mediaGuid: string; passwordProtected: boolean; unattended: boolean; autorun: boolean; startDate: string | null; expireDate: string | null };
  discs: { file: string; bytes: number; sha256: string | null }[];
  packages: { packageId: string; name: string | null; kind: string; version: string | null; sourceVersion: number | null; bytes: number; files: number; distributionPoint: string; discs: number[] }[];
  variables: { name: string; secret: boolean }[];
  prestartCommand: string | null;
  findingsAcknowledged: { code: string; severity: string; step: string | null; message: string }[];
  verified: boolean;
}

export class MediaReport {
  constructor(private readonly r: ReportInput) {}

  toJson(): ReportJson {
    const r = this.r;
    const discsOf = (packageId: string): number[] =>
      [...new Set(r.manifest.files.filter((f) => f.packageId === packageId).flatMap((f) => f.parts.map((p) => p.disc)))].sort((a, b) => a - b);
    return {
      format: 'tsmedia-report/1',
      created: r.timestamp.toISOString(),
      tool: r.manifest.tool,
      taskSequence: r.manifest.taskSequence,
      media: {
        type: r.mediaType ?? 'iso',
        size: r.mediaType === 'usb' ? 'usb' : String(r.request.size),
        label: r.label,
        mediaGuid: r.mediaGuid,
        passwordProtected: r.request.password !== null,
        unattended: r.request.unattended,
        autorun: r.request.autorun,
        startDate: r.start?.toISOString() ?? null,
        expireDate: r.expire?.toISOString() ?? null,
      },
      discs: r.discs.map((d) => ({ file: basename(d.path), bytes: d.bytes, sha256: d.sha256 })),
      packages: r.content.packages.map((p) => ({
        packageId: p.packageId,
        name: p.name,
        kind: p.kind,
        version: p.version,
        sourceVersion: p.sourceVersion,
        bytes: p.bytes,
        files: p.files,
        distributionPoint: p.distributionPoint,
        discs: discsOf(p.packageId),
      })),
      variables: r.request.variables.map((v) => ({ name: v.name, secret: v.secret })),
      prestartCommand: r.request.prestartCommand,
      findingsAcknowledged: r.content.warnings.map((f) => ({ code: f.code, severity: f.severity, step: f.step, message: f.message })),
      verified: r.verified,
    };
  }

  toMarkdown(): string {
    const j = this.toJson();
    const esc = (s: string): string => s.replace(/\|/g, '\\|');
    const lines = [
      `# Stand-alone media: ${esc(j.taskSequence.name)} (${j.taskSequence.packageId ?? '-'})`,
      '',
      `Created ${j.created} by ${j.tool}.`,
      '',
      '| | |',
      '|---|---|',
      j.media.type === 'usb' ? `| Media | USB drive ${esc(j.discs[0]?.file ?? '')} |` : `| Media | CD/DVD set, size ${j.media.size}, ${j.discs.length} disc(s) |`,
      `| Label | ${esc(j.media.label)} |`,
      `| Media GUID | ${j.media.mediaGuid} |`,
      `| Password | ${j.media.passwordProtected ? 'yes' : 'no — the task sequence environment is readable by anyone with the media'} |`,
      `| Unattended | ${j.media.unattended ? 'yes' : 'no'} |`,
      `| Valid from | ${j.media.startDate ?? 'any time'} |`,
      `| Expires | ${j.media.expireDate ?? 'never'} |`,
      `| Prestart command | ${j.prestartCommand ? `\`${esc(j.prestartCommand)}\`` : 'none'} |`,
      `| Verified after writing | ${j.verified ? 'yes' : 'no (skipped)'} |`,
      '',
      '## Discs',
      '',
      '| File | Bytes | SHA-256 |',
      '|---|---:|---|',
      ...j.discs.map((d) => `| ${esc(d.file)} | ${d.bytes} | ${d.sha256 ? `\`${d.sha256}\`` : 'not computed (not read back)'} |`),
      '',
      '## Packages',
      '',
      '| Package | Kind | Name | Version | Source version | Bytes | Files | Disc | Read from |',
      '|---|---|---|---|---:|---:|---:|---|---|',
      ...j.packages.map(
        (p) => `| ${p.packageId} | ${p.kind} | ${esc(p.name ?? '-')} | ${esc(p.version ?? '-')} | ${p.sourceVersion ?? '-'} | ${p.bytes} | ${p.files} | ${p.discs.join(', ')} | ${esc(p.distributionPoint)} |`,
      ),
      '',
      '## Variables',
      '',
      ...(j.variables.length ? j.variables.map((v) => `- ${v.name}${v.secret ? ' (secret: value not shown)' : ''}`) : ['none']),
      '',
      '## Findings acknowledged',
      '',
      ...(j.findingsAcknowledged.length ? j.findingsAcknowledged.map((f) => `- **${f.code}**${f.step ? ` (step "${esc(f.step)}")` : ''}: ${f.message}`) : ['none']),
      '',
    ];
    return lines.join('\n');
  }
}

/** The report files beside an output: media.iso (or usb.img) → media.report.md and media.report.json. */
export function reportFilesFor(out: string): [md: string, json: string] {
  const base = out.replace(/\.[^./\\]+$/, '');
  return [`${base}.report.md`, `${base}.report.json`];
}

/** Writes the report files beside the output under temp names. */
export function writeReportFiles(report: MediaReport, out: string, tempFor: (final: string) => string): { temp: string; final: string }[] {
  const [md, json] = reportFilesFor(out);
  const pairs: { temp: string; final: string }[] = [];
  for (const [final, data] of [
    [md, report.toMarkdown()],
    [json, `${JSON.stringify(report.toJson(), null, 2)}\n`],
  ] as const) {
    const temp = tempFor(final);
    writeTempFile(temp, data);
    pairs.push({ temp, final });
  }
  return pairs;
}
