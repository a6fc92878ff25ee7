// Plain-text tables for the command line.
import { SECURE_BOOT_CLASS_LABELS, signatureLines, type SecureBootReadiness } from '../../shared/secureBoot.js';

export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))));
  const cell = (s: string, w: number): string => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : cell(c, widths[i]))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The Secure Boot section of `analyze` and `inspect`: each EFI boot file, its class and its signatures. */
export function secureBootText(r: SecureBootReadiness | null, none: string): string[] {
  if (!r || r.files.length === 0) return [`  ${none}`];
  const out: string[] = [];
  for (const f of r.files) {
    out.push(`  ${f.path}: ${SECURE_BOOT_CLASS_LABELS[f.class]}`);
    for (const line of signatureLines(f)) out.push(`    ${line}`);
  }
  if (r.overall) out.push(`  overall: ${SECURE_BOOT_CLASS_LABELS[r.overall]}`);
  return out;
}
