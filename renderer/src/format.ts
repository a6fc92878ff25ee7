// Numbers, sizes, durations and dates in the wizard's language (presentation only).
import { i18n } from './i18n.js';
import { decimalSize } from '../../shared/drives.js';

const locale = (): string => (i18n.language === 'es' ? 'es-ES' : 'en-US');

export function formatNumber(n: number, digits = 0): string {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(n);
}

/** Binary units, as file managers on Windows show sizes (KB = 1024 bytes is shown as KiB to be exact). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return i18n.t('common.unknown');
  if (bytes < 1024) return i18n.t('units.bytes', { n: formatNumber(bytes) });
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${formatNumber(v, v < 10 ? 2 : 1)} ${units[u]}`;
}

/** Decimal units, as drives are sold and as the drive list shows them ("16 GB"; shared/drives.ts formatDriveSize). */
export function formatDriveBytes(bytes: number): string {
  const { value, unit } = decimalSize(bytes);
  return unit === 'B' ? i18n.t('units.bytes', { n: formatNumber(bytes) }) : `${formatNumber(value, value < 10 ? 1 : 0)} ${unit}`;
}

export function formatRate(bytesPerSecond: number): string {
  return i18n.t('units.perSecond', { size: formatBytes(bytesPerSecond) });
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return i18n.t('progress.etaUnknown');
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return i18n.t('units.hms', { h, m, s: r });
  if (m > 0) return i18n.t('units.ms', { m, s: r });
  return i18n.t('units.s', { s: r });
}

export function formatPercent(done: number, total: number): string {
  const p = total > 0 ? Math.min(100, (done / total) * 100) : 0;
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(p / 100);
}

/** A date and time (ISO 8601, as a manifest gives it) in the page's language; the text itself when it is no date. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (iso === '' || Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}
