// CreateTSMedia.log in CMTrace format (SPEC.md "Logs"): one entry per line,
//   <![LOG[message]LOG]!><time="HH:mm:ss.fff+BIAS" date="MM-dd-yyyy" component="CreateTsMedia" context="" type="1" thread="N" file="">
// type 1 info, 2 warning, 3 error; BIAS in minutes with UTC = local time + bias (Central Europe in winter: -60).
// Every entry is appended synchronously to each of several files (the output folder and the user's log folder).
// Secrets given to mask() never reach a file: every occurrence, also inside longer text, becomes ********.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage } from '../errors.js';

export const LOG_FILE_NAME = 'CreateTSMedia.log';
export const DEFAULT_COMPONENT = 'CreateTsMedia';
export const MASK = '********';

export type CmTraceType = 1 | 2 | 3;

export { userLogFolder } from '../userFolders.js';

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Minutes such that UTC = local time + bias, as CMTrace writes it: "-60", "+300", "+0". */
export function cmTraceBias(d: Date): string {
  const bias = d.getTimezoneOffset();
  return (bias < 0 ? '-' : '+') + String(Math.abs(bias));
}

/** A message made safe for one CMTrace line: line breaks become a visible "\n" and "]LOG]!>" cannot end it early. */
export function sanitizeMessage(message: string): string {
  return message
    .replace(/\r\n|[\r\n\u0085\u2028\u2029]/g, '\\n')
    .replace(/\]LOG\]!>/g, ']LOG]!&gt;');
}

export interface CmTraceEntry {
  message: string;
  type: CmTraceType;
  date: Date;
  component?: string;
  thread?: number;
}

export function formatCmTraceLine(e: CmTraceEntry): string {
  const d = e.date;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${cmTraceBias(d)}`;
  const date = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}-${d.getFullYear()}`;
  const component = (e.component ?? DEFAULT_COMPONENT).replace(/["\r\n]/g, '');
  return (
    `<![LOG[${sanitizeMessage(e.message)}]LOG]!>` +
    `<time="${time}" date="${date}" component="${component}" context="" type="${e.type}" thread="${e.thread ?? process.pid}" file="">`
  );
}

/** Replaces every occurrence of every secret (overlapping ones too) with ********. */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  const spans: [number, number][] = [];
  for (const s of secrets) {
    if (s.length === 0) continue;
    for (let i = text.indexOf(s); i >= 0; i = text.indexOf(s, i + 1)) spans.push([i, i + s.length]);
  }
  if (spans.length === 0) return text;
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = '';
  let pos = 0;
  let cur: [number, number] | null = null;
  for (const span of spans) {
    if (cur && span[0] < cur[1]) {
      cur[1] = Math.max(cur[1], span[1]);
      continue;
    }
    if (cur) {
      out += text.slice(pos, cur[0]) + MASK;
      pos = cur[1];
    }
    cur = [span[0], span[1]];
  }
  if (cur) {
    out += text.slice(pos, cur[0]) + MASK;
    pos = cur[1];
  }
  return out + text.slice(pos);
}

export interface CmTraceLogOptions {
  component?: string;
  thread?: number;
  /** The clock, for tests. */
  now?: () => Date;
}

/** A log written to several files at once. A file that cannot be written is reported in `problems`, the others go on. */
export class CmTraceLog {
  readonly paths: readonly string[];
  readonly problems: string[] = [];
  private readonly secrets = new Set<string>();
  private readonly failed = new Set<string>();
  private readonly component: string;
  private readonly thread: number;
  private readonly now: () => Date;
  private closed = false;

  constructor(paths: readonly string[], options: CmTraceLogOptions = {}) {
    this.paths = [...new Set(paths)];
    this.component = options.component ?? DEFAULT_COMPONENT;
    this.thread = options.thread ?? process.pid;
    this.now = options.now ?? (() => new Date());
    for (const p of this.paths) {
      try {
        mkdirSync(dirname(p), { recursive: true });
      } catch (err) {
        this.fail(p, err);
      }
    }
  }

  /** From now on, every occurrence of these strings is written as ********. Empty strings are ignored. */
  mask(...secrets: string[]): void {
    for (const s of secrets) if (s.length > 0) this.secrets.add(s);
  }

  info(message: string): void {
    this.write(1, message);
  }

  /** Several entries in one write per file (a refresh's change list: hundreds of lines, a round trip each otherwise). */
  infoLines(messages: readonly string[]): void {
    this.write(1, messages);
  }

  warning(message: string): void {
    this.write(2, message);
  }

  error(message: string): void {
    this.write(3, message);
  }

  /** Ends the log: later entries are dropped. Every entry is already written (each one synchronously). */
  close(): void {
    this.closed = true;
  }

  /**
   * Writes an entry at the file's current end, without O_APPEND: opening for appending brought the connection of an
   * smbnetfs share down (measured: each O_APPEND open failed with EIO and the share went unreachable for seconds). The
   * file is opened for each entry and closed again, so no log holds a file open between entries (Windows could then
   * not delete or move it) — a few dozen entries a run, a round trip each on a share.
   */
  private append(path: string, line: string): void {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o644);
    try {
      const data = Buffer.from(line, 'utf8');
      writeSync(fd, data, 0, data.length, fstatSync(fd).size);
    } finally {
      closeSync(fd);
    }
  }

  write(type: CmTraceType, message: string | readonly string[]): void {
    if (this.closed) return;
    const messages = typeof message === 'string' ? [message] : message;
    if (messages.length === 0) return;
    const date = this.now();
    // Masked before and after the line is made safe, so neither the raw nor the rewritten form of a secret survives.
    const line = messages
      .map((m) => formatCmTraceLine({ message: maskSecrets(sanitizeMessage(maskSecrets(m, this.secrets)), this.secrets), type, date, component: this.component, thread: this.thread }) + '\r\n')
      .join('');
    for (const p of this.paths) {
      if (this.failed.has(p)) continue;
      try {
        this.append(p, line);
      } catch (err) {
        this.fail(p, err);
      }
    }
  }

  private fail(path: string, err: unknown): void {
    this.failed.add(path);
    this.problems.push(`${path}: the log cannot be written (${errorMessage(err)}).`);
  }
}

/** Whether a file may take CMTrace entries: absent, empty, or already a CMTrace log (tsmedia's or ConfigMgr's own). */
export function isCmTraceLogOrAbsent(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  try {
    const head = Buffer.alloc(10);
    const n = readSync(fd, head, 0, head.length, 0);
    const text = head.subarray(0, n).toString('latin1').replace(/^\xef\xbb\xbf/, '');
    return n === 0 || text.startsWith('<![LOG[');
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
