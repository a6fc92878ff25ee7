// Scanning bytes for secrets (issue 7 item 4): a password or a secret variable's value in any of the forms a careless
// writer could leave it in — UTF-8, UTF-16LE/BE, Latin-1, hex of either (lower and upper case), base64 and base64url of either
// at each of the three alignments it can take inside a longer encoded text, JSON \u escapes and URL encoding — and the
// process arguments of a running command and everything it starts, read from /proc while it runs.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

export interface SecretForm {
  /** Which secret ("password", "secret variable OSDJoinPassword", …). */
  label: string;
  form: string;
  bytes: Buffer;
}

export interface SecretHit {
  where: string;
  label: string;
  form: string;
  offset: number;
}

/** The base64 characters that depend on `data` alone when it sits `k` bytes into a longer encoded text. */
function base64Inner(data: Buffer, k: number, url: boolean): string {
  const enc = Buffer.concat([Buffer.alloc(k), data]).toString(url ? 'base64url' : 'base64');
  return enc.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + data.length)) / 6));
}

const jsonEscaped = (s: string): string => s.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export function secretForms(label: string, secret: string): SecretForm[] {
  const forms: [string, Buffer][] = [];
  const add = (form: string, b: Buffer | string): void => {
    const bytes = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    if (!forms.some(([, x]) => x.equals(bytes))) forms.push([form, bytes]);
  };
  const utf8 = Buffer.from(secret, 'utf8');
  const utf16 = Buffer.from(secret, 'utf16le');
  const utf16be = Buffer.from(utf16).swap16();
  add('UTF-8', utf8);
  add('UTF-16LE', utf16);
  add('UTF-16BE', utf16be);
  // A Windows-1252 / ISO 8859-1 file, where every character fits one byte.
  if ([...secret].every((c) => c.charCodeAt(0) <= 0xff)) add('Latin-1', Buffer.from(secret, 'latin1'));
  for (const [name, b] of [['UTF-8', utf8], ['UTF-16LE', utf16]] as const) {
    add(`hex of ${name}`, b.toString('hex'));
    add(`HEX of ${name}`, b.toString('hex').toUpperCase());
    for (const k of [0, 1, 2]) {
      add(`base64 of ${name} (+${k})`, base64Inner(b, k, false));
      add(`base64url of ${name} (+${k})`, base64Inner(b, k, true));
    }
  }
  add('JSON \\u escapes', jsonEscaped(secret));
  add('URL encoding', encodeURIComponent(secret));
  // The same forms written as UTF-16LE text (a Windows INI, a UTF-16 log or XML).
  for (const [form, b] of [...forms]) if (!form.startsWith('UTF-')) add(`${form}, as UTF-16LE text`, Buffer.from(b.toString('latin1'), 'utf16le'));
  return forms.map(([form, bytes]) => ({ label, form, bytes }));
}

/** Scans buffers, files and folders for every form of the secrets, counting the bytes it read. */
export class SecretScanner {
  bytesScanned = 0;
  filesScanned = 0;
  readonly hits: SecretHit[] = [];
  readonly scanned: { where: string; bytes: number }[] = [];
  private readonly overlap: number;

  constructor(readonly forms: SecretForm[]) {
    this.overlap = Math.max(...forms.map((f) => f.bytes.length)) - 1;
  }

  private search(where: string, buf: Buffer, base: number, from: number): void {
    for (const f of this.forms) {
      for (let i = buf.indexOf(f.bytes, from); i >= 0; i = buf.indexOf(f.bytes, i + 1)) {
        if (!this.hits.some((h) => h.where === where && h.form === f.form && h.label === f.label && h.offset === base + i)) this.hits.push({ where, label: f.label, form: f.form, offset: base + i });
      }
    }
  }

  buffer(where: string, data: Buffer | string): void {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.search(where, buf, 0, 0);
    this.bytesScanned += buf.length;
    this.scanned.push({ where, bytes: buf.length });
  }

  /** Every byte of a file, read in 8 MiB pieces that overlap by the longest form less one. */
  file(path: string): void {
    const fd = openSync(path, 'r');
    const chunk = 8 * 1024 * 1024;
    const buf = Buffer.alloc(chunk + this.overlap);
    let carried = 0;
    let pos = 0;
    try {
      for (;;) {
        const n = readSync(fd, buf, carried, chunk, pos);
        if (n === 0) break;
        const view = buf.subarray(0, carried + n);
        this.search(path, view, pos - carried, 0);
        pos += n;
        carried = Math.min(this.overlap, view.length);
        view.copy(buf, 0, view.length - carried);
      }
    } finally {
      closeSync(fd);
    }
    this.bytesScanned += pos;
    this.filesScanned += 1;
    this.scanned.push({ where: path, bytes: pos });
  }

  /** Every file under a folder (or the file itself). */
  tree(path: string): void {
    if (statSync(path).isDirectory()) for (const n of readdirSync(path).sort()) this.tree(join(path, n));
    else this.file(path);
  }

  report(): string {
    return this.hits.map((h) => `${h.label} (${h.form}) in ${h.where} at byte ${h.offset}`).join('\n');
  }
}

/** The process IDs below `root` (its children, theirs, …), from /proc. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'latin1');
      // pid (comm) state ppid …; comm may hold spaces and parentheses: read after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(n), ppid);
    } catch {
      // ended meanwhile
    }
  }
  const out: number[] = [];
  const want = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (want.has(ppid) && !want.has(pid)) {
        want.add(pid);
        out.push(pid);
        grew = true;
      }
    }
  }
  return out;
}

export interface ObservedRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Every distinct command line (NUL-separated arguments, as /proc gives them) seen for the process and its descendants. */
  commandLines: Map<string, Buffer>;
  /** How many times /proc was read while the run lasted. */
  samples: number;
}

/** Watches a running process and its descendants' command lines every few milliseconds until it ends. */
export function watchCommandLines(pid: number, ended: () => boolean, intervalMs = 3): { done: Promise<{ commandLines: Map<string, Buffer>; samples: number }> } {
  const commandLines = new Map<string, Buffer>();
  let samples = 0;
  const done = new Promise<{ commandLines: Map<string, Buffer>; samples: number }>((ok) => {
    const tick = (): void => {
      for (const p of [pid, ...descendants(pid)]) {
        try {
          const b = readFileSync(`/proc/${p}/cmdline`);
          if (b.length) commandLines.set(`${p}:${b.toString('latin1')}`, b);
        } catch {
          // ended meanwhile
        }
      }
      samples += 1;
      if (ended()) ok({ commandLines, samples });
      else setTimeout(tick, intervalMs);
    };
    tick();
  });
  return { done };
}

/** bin/tsmedia.js, run while /proc is read for its and its children's command lines. */
export async function runObserved(args: string[], env: NodeJS.ProcessEnv): Promise<ObservedRun> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tsmedia.js'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  let over = false;
  const closed = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((ok) => child.on('close', (status, signal) => ok({ status, signal })));
  child.on('exit', () => (over = true));
  const watched = watchCommandLines(child.pid as number, () => over);
  const [{ status, signal }, { commandLines, samples }] = await Promise.all([closed, watched.done]);
  return { status, signal, stdout, stderr, commandLines, samples };
}
