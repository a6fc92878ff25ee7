// The media report written beside every output, in Markdown (for people) and JSON (for scripts): each package with
// version, size and disc, the media GUID, the date range, the findings acknowledged. No secret ever appears in it.
import { basename } from 'node:path';
import type { StartClassification } from '../../../shared/analysis.js';
import type { IsoMediaRequest, UsbDriveResult } from '../../../shared/media.js';
import { SECURE_BOOT_CLASS_LABELS, signatureLines, type SecureBootReadiness } from '../../../shared/secureBoot.js';
import type { MediaManifest } from './Manifest.js';
import type { PlannedContent } from './MediaPlan.js';
import { runtimeFileInfo, type PlannedRuntime, type RuntimeFileInfo } from './RuntimeFiles.js';
import { writeTempFile } from './SafeOutput.js';

export interface ReportInput {
  request: Pick<IsoMediaRequest, 'size' | 'password' | 'unattended' | 'autorun' | 'variables' | 'prestartCommand'>;
  label: string;
  mediaGuid: string;
  content: PlannedContent;
  manifest: MediaManifest;
  /** How the media is started (the task sequence's analysis). */
  startsFrom: StartClassification;
  /** SMS\bin: the OSD binaries on the media; null where the site had none. */
  runtime: PlannedRuntime | null;
  /** The boot image's EFI boot files and their signatures (the analysis's); null where they were not read. */
  secureBoot: SecureBootReadiness | null;
  /** SHA-256 as read back; null when the media was not read back (--no-verify) or is a drive. */
  discs: { path: string; bytes: number; sha256: string | null }[];
  start: Date | null;
  expire: Date | null;
  timestamp: Date;
  verified: boolean;
  /** Default 'iso'. */
  mediaType?: 'iso' | 'usb';
  /** Several drives written at once: each with how it ended. */
  drives?: UsbDriveResult[];
}

export interface ReportJson {
  format: 'tsmedia-report/1';
  created: string;
  tool: string;
  taskSequence: { packageId: string | null; name: string };
  media: { type: 'iso' | 'usb'; size: string; label: string; mediaGuid: string; passwordProtected: boolean; unattended: boolean; autorun: boolean; startDate: string | null; expireDate: string | null };
  startsFrom: StartClassification;
  /** SMS\bin on the media: where it was copied from, what autorun.inf opens, every file with its version. */
  osdBinaries: { location: string; architectures: string[]; autorun: string | null; files: RuntimeFileInfo[] } | null;
  discs: { file: string; bytes: number; sha256: string | null }[];
  packages: { packageId: string; name: string | null; kind: string; version: string | null; sourceVersion: number | null; bytes: number; files: number; distributionPoint: string; discs: number[] }[];
  variables: { name: string; secret: boolean }[];
  prestartCommand: string | null;
  findingsAcknowledged: { code: string; severity: string; step: string | null; message: string }[];
  /** The boot image's EFI boot files and who signed them, as read from the site before writing. */
  secureBoot: SecureBootReadiness | null;
  verified: boolean;
  /** Several drives written at once: each drive's result (absent for one drive or an ISO set). */
  drives?: UsbDriveResult[];
}

/** Line breaks of every kind Markdown or a viewer may honour: each would end a table row or a heading. */
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;
/** Control characters other than tab: shown as U+FFFD rather than passed to a viewer. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]/g;
/** Punctuation that opens or closes an inline construct: escapes, code, emphasis, links, HTML, entities, cells, strikethrough. */
const INLINE_PUNCTUATION = /[\\`*_[\]<>&|~]/g;
/** What makes the start of a line a block (heading, quote, list item, rule, setext underline) where a name starts one. */
const BLOCK_START = /^([#>+=-])|^(\d+)([.)])/;
/**
 * Blanks at either end: four leading ones would start a code block, fewer may still let a block marker count, and
 * parsers trim both ends of a cell or heading.
 */
const OUTER_BLANKS = /^\s+|\s+$/g;

/**
 * Text from the site or the user (names, labels, messages) as one line of literal Markdown: the punctuation that could
 * open a code span, link, emphasis or HTML backslash-escaped (CommonMark allows it before any ASCII punctuation), a
 * leading block marker too, and each line break shown as `<br>` (the only HTML the report writes), so a name can
 * neither end a table row nor start a heading. Other punctuation stays as typed, for people reading the file.
 */
export function markdownText(s: string): string {
  return s
    .replace(CONTROL, '\ufffd')
    .split(LINE_BREAK)
    .map((line) => line.replace(INLINE_PUNCTUATION, (c) => `\\${c}`))
    .join('<br>')
    .replace(BLOCK_START, (_m, mark: string | undefined, digits: string | undefined, dot: string | undefined) => (mark ? `\\${mark}` : `${digits ?? ''}\\${dot ?? ''}`))
    // Entities show the same blanks but never count for block structure, nor are they trimmed.
    .replace(OUTER_BLANKS, (b) => [...b].map((c) => `&#x${(c.codePointAt(0) ?? 32).toString(16)};`).join(''));
}

/** A fenced code block holding `text` verbatim: the fence is longer than any run of backticks in it. */
export function markdownCodeBlock(text: string): string[] {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [fence, ...text.replace(CONTROL, '\ufffd').split(LINE_BREAK), fence];
}

const STARTS_FROM: Record<StartClassification['startsFrom'], string> = {
  boot: 'booting from the media',
  windows: 'the running Windows',
  either: 'booting from the media, or the running Windows',
};

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
      startsFrom: r.startsFrom,
      osdBinaries: r.runtime
        ? { location: r.runtime.location, architectures: r.runtime.architectures, autorun: r.request.autorun ? r.runtime.autorunTarget : null, files: runtimeFileInfo(r.runtime) }
        : null,
      discs: r.discs.map((d) => ({ file: basename(d.path), bytes: d.bytes, sha256: d.sha256 })),
      ...(r.drives ? { drives: r.drives.map((d) => ({ ...d })) } : {}),
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
      secureBoot: r.secureBoot,
      verified: r.verified,
    };
  }

  toMarkdown(): string {
    const j = this.toJson();
    const esc = markdownText;
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
      `| Starts from | ${STARTS_FROM[j.startsFrom.startsFrom]}${j.startsFrom.scenario ? ` (${j.startsFrom.scenario})` : ''}: ${esc(j.startsFrom.reason)} |`,
      `| OSD binaries (SMS\\bin) | ${j.osdBinaries ? `${j.osdBinaries.architectures.join(', ')}, from ${esc(j.osdBinaries.location)}` : 'none: the media can only be booted'} |`,
      `| autorun.inf | ${j.osdBinaries?.autorun ? `opens ${esc(j.osdBinaries.autorun)}` : 'not written'} |`,
      `| Valid from | ${j.media.startDate ?? 'any time'} |`,
      `| Expires | ${j.media.expireDate ?? 'never'} |`,
      `| Prestart command | ${j.prestartCommand ? 'below' : 'none'} |`,
      `| Verified after writing | ${j.verified ? 'yes' : 'no (skipped)'} |`,
      '',
      '## Discs',
      '',
      '| File | Bytes | SHA-256 |',
      '|---|---:|---|',
      ...j.discs.map((d) => `| ${esc(d.file)} | ${d.bytes} | ${d.sha256 ? `\`${d.sha256}\`` : 'not computed (not read back)'} |`),
      '',
      ...(j.drives
        ? [
            '## Drives',
            '',
            '| Drive | Result | Bytes written | Verified | Clusters | Sectors | SHA-256 read back |',
            '|---|---|---:|---|---:|---:|---|',
            ...j.drives.map((d) => `| ${esc(d.device)} | ${d.status === 'failed' ? `failed: ${esc(d.error ?? '')}` : d.status} | ${d.bytesWritten} | ${d.verified ? 'yes' : 'no'} | ${d.clusterSize} | ${d.sectorSize} | ${d.sha256 ? `\`${d.sha256}\`` : '-'} |`),
            '',
          ]
        : []),
      '## Packages',
      '',
      '| Package | Kind | Name | Version | Source version | Bytes | Files | Disc | Read from |',
      '|---|---|---|---|---:|---:|---:|---|---|',
      ...j.packages.map(
        (p) => `| ${esc(p.packageId)} | ${esc(p.kind)} | ${esc(p.name ?? '-')} | ${esc(p.version ?? '-')} | ${p.sourceVersion ?? '-'} | ${p.bytes} | ${p.files} | ${p.discs.join(', ')} | ${esc(p.distributionPoint)} |`,
      ),
      '',
      ...(j.osdBinaries
        ? [
            '## OSD binaries (SMS\\bin)',
            '',
            '| File | File version | Product version | Bytes | SHA-256 |',
            '|---|---|---|---:|---|',
            ...j.osdBinaries.files.map((f) => `| ${esc(f.path.replace(/\//g, '\\'))} | ${f.fileVersion ?? '-'} | ${f.productVersion ?? '-'} | ${f.size} | \`${f.sha256}\` |`),
            '',
          ]
        : []),
      // The command as typed, every character: a fenced block, not a table cell.
      ...(j.prestartCommand ? ['## Prestart command', '', ...markdownCodeBlock(j.prestartCommand), ''] : []),
      '## Secure Boot',
      '',
      ...(j.secureBoot && j.secureBoot.files.length
        ? [
            `Overall: ${SECURE_BOOT_CLASS_LABELS[j.secureBoot.overall ?? 'unsigned']}.`,
            '',
            '| EFI boot file | Class | Signatures |',
            '|---|---|---|',
            ...j.secureBoot.files.map((f) => `| ${esc(f.path)} | ${SECURE_BOOT_CLASS_LABELS[f.class]} | ${signatureLines(f).map(esc).join('<br>') || '-'} |`),
          ]
        : ['The boot image\'s EFI boot files were not read (no distribution point could give them).']),
      '',
      '## Variables',
      '',
      ...(j.variables.length ? j.variables.map((v) => `- ${esc(v.name)}${v.secret ? ' (secret: value not shown)' : ''}`) : ['none']),
      '',
      '## Findings acknowledged',
      '',
      ...(j.findingsAcknowledged.length ? j.findingsAcknowledged.map((f) => `- **${esc(f.code)}**${f.step ? ` (step "${esc(f.step)}")` : ''}: ${esc(f.message)}`) : ['none']),
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
