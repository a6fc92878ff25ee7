// The privileged writer: a helper process started with administrator rights (see PrivilegedWriter.ts) that writes one
// drive for the application. It connects back to the socket it is given, proves itself with the token it received on
// standard input (or in a 0600 file it deletes), and then obeys only these commands:
//   allow-device  {device}                  first, once: the drive the user confirmed (checked here with drivelist;
//                                           a system drive, or a device drivelist does not list, is refused)
//   run-drive-job {device, job}             the same DriveJob the application would run itself
//                                           (DriveSequence.runDriveJob): volumes taken away, the writes with their
//                                           gap modes, flush, the layout announced, every written byte read back
//   allow-devices {device, devices}         in place of allow-device, for a batch: every drive checked the same way;
//                                           `device` is the first, and every later command names it
//   run-drive-batch {device, jobs}          one DriveJob per allowed drive, written from one read
//                                           (DriveSequence.runDriveBatch); each drive ends with its own result,
//                                           and a drive that fails or is cancelled is said at once (drive-end)
//   cancel        {device[, drive]}         stops the running job, or that drive of the batch (acted on as it arrives)
//   close         {device}                  ends: the helper exits
// Every command must name the allowed device; anything else is refused. Source files are opened with the rights of
// the user who started the helper (POSIX), once, before the job; the job reads them through those descriptors.
//
// Usage: node privilegedWriterMain.js --socket PATH [--token-file PATH] [--user-uid N]
// (tsmedia's own executable with ELECTRON_RUN_AS_NODE=1 in place of node; under pkexec, which clears the environment
// but sets PKEXEC_UID, through bin/tsmedia-privileged-writer, which sets that variable.)
import { closeSync, lstatSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { describeDeviceError } from './DriveAccess.js';
import { findDrive, listDrives } from './Drives.js';
import { runDriveBatch, runDriveJob, type DriveJob } from './DriveSequence.js';
import { describeFsError, InputError } from '../errors.js';
import type { CompositePiece, ContentSource } from '../io/ImageLayout.js';
import { decodeDriveJob, HELPER_COMMANDS, LineReader, MAX_BATCH_DRIVES, type HelperMessage, type HelperRequest } from './PrivilegedWriter.js';

class Refused extends Error {
  override readonly name = 'Refused';
}

function fatal(message: string, code = 2): never {
  process.stderr.write(`tsmedia privileged writer: ${message}\n`);
  process.exit(code);
}

const { values } = (() => {
  try {
    return parseArgs({ options: { socket: { type: 'string' }, 'token-file': { type: 'string' }, 'user-uid': { type: 'string' } }, strict: true });
  } catch (err) {
    return fatal((err as Error).message);
  }
})();
if (!values.socket) fatal('--socket PATH is required.');
const socketPath = values.socket;

/** The user the helper acts for: source files are opened with that user's rights, never root's. */
function invokingUid(): number | null {
  const fromEnv = process.env.PKEXEC_UID ?? process.env.SUDO_UID;
  const v = values['user-uid'] ?? fromEnv;
  if (v !== undefined && /^\d+$/.test(v)) return Number(v);
  return process.getuid?.() ?? null;
}
const userUid = invokingUid();

function readToken(): Promise<string> {
  if (values['token-file']) {
    const file = values['token-file'];
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      return fatal(`cannot read the token file: ${(err as Error).message}`);
    }
    try {
      unlinkSync(file);
    } catch {
      // already gone: the channel is one-shot anyway
    }
    return Promise.resolve(text.trim());
  }
  return new Promise((resolve) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d: string) => {
      text += d;
      if (text.includes('\n') || text.length > 256) {
        process.stdin.pause();
        resolve(text.split('\n')[0].trim());
      }
    });
    process.stdin.on('end', () => resolve(text.trim()));
  });
}

/** The socket must sit in a private folder owned by the invoking user: nobody else can have put it there. */
function checkSocketFolder(): void {
  if (process.platform === 'win32') {
    if (!/^\\\\\.\\pipe\\tsmedia-writer-[0-9a-f]{32}$/.test(socketPath)) fatal(`refusing to connect to ${socketPath}: not a tsmedia writer pipe.`);
    return;
  }
  const dir = dirname(socketPath);
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink()) fatal(`refusing to connect: ${dir} is not a folder.`);
  if ((st.mode & 0o077) !== 0) fatal(`refusing to connect: ${dir} is readable or writable by others (mode ${(st.mode & 0o777).toString(8)}).`);
  if (userUid !== null && st.uid !== userUid) fatal(`refusing to connect: ${dir} belongs to uid ${st.uid}, not to the user who started the writer (uid ${userUid}).`);
}

/** Runs fn with the invoking user's rights for opening files (POSIX, when running as root for another user). */
function asUser<T>(fn: () => T): T {
  const canSwitch = process.platform !== 'win32' && process.geteuid?.() === 0 && userUid !== null && userUid !== 0;
  if (!canSwitch || !process.seteuid || !process.setegid || !process.getgroups || !process.setgroups) return fn();
  const gid = primaryGid(userUid);
  const groups = process.getgroups();
  process.setgroups([gid]);
  process.setegid(gid);
  process.seteuid(userUid);
  try {
    return fn();
  } finally {
    process.seteuid(0);
    process.setegid(0);
    process.setgroups(groups);
  }
}

function primaryGid(uid: number): number {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length > 3 && Number(f[2]) === uid) return Number(f[3]);
    }
  } catch {
    // no passwd file: fall through
  }
  return uid;
}

let allowed: string | null = null;
/** Every drive confirmed (one, or a batch's). */
let allowedSet: string[] = [];
let running: AbortController | null = null;
/** The running batch's per-drive cancels, by device. */
let runningDrives = new Map<string, AbortController>();

/** Where an open descriptor can be opened again by path in this process (the job's workers open sources by path). */
const FD_DIR = process.platform === 'darwin' ? '/dev/fd' : '/proc/self/fd';

/**
 * Opens every source file of the job once, with the user's rights, and points the job at those descriptors: the job
 * (and its read-back) then reads exactly the files the user could open, whatever changes on disk meanwhile. Windows
 * has no user switch here (the UAC helper reads as the administrator who accepted the prompt). Returns the
 * descriptors to close and the names to put back into messages.
 */
function pinSources(job: DriveJob): { fds: number[]; names: Map<string, string> } {
  const fds: number[] = [];
  const names = new Map<string, string>();
  if (process.platform === 'win32' || !(process.geteuid?.() === 0 && userUid !== null && userUid !== 0)) return { fds, names };
  const byPath = new Map<string, string>();
  const pin = (path: string, label: string): string => {
    const known = byPath.get(path);
    if (known) return known;
    let fd: number;
    try {
      fd = asUser(() => openSync(path, 'r'));
    } catch (err) {
      throw new InputError(`${label}: cannot read ${describeFsError(err, path)}`);
    }
    fds.push(fd);
    const pinned = `${FD_DIR}/${fd}`;
    byPath.set(path, pinned);
    names.set(pinned, path);
    return pinned;
  };
  const source = (s: ContentSource): ContentSource => {
    if (s.kind === 'file') return { ...s, path: pin(s.path, s.label) };
    if (s.kind === 'library') return { ...s, blobPath: pin(s.blobPath, s.label) };
    if (s.kind === 'composite') return { ...s, pieces: s.pieces.map((p): CompositePiece => ('path' in p ? { ...p, path: pin(p.path, s.label) } : p)) };
    return s;
  };
  try {
    for (const w of job.writes) w.layout = { ...w.layout, extents: w.layout.extents.map((e) => ({ ...e, source: source(e.source) })) };
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw err;
  }
  return { fds, names };
}

function send(sock: Socket, m: HelperMessage): void {
  sock.write(`${JSON.stringify(m)}\n`);
}

async function allowDevice(device: string): Promise<{ device: string; description: string }> {
  if (allowed !== null) throw new Refused(allowed === device ? `${device} is already the confirmed drive.` : `refused: the confirmed drive is ${allowed}; ${device} cannot be added.`);
  const drives = await listDrives({ showAll: true });
  const d = findDrive(drives, device);
  if (!d) throw new Refused(`refused: ${device} is not a whole drive this computer lists (partitions and files are never written).`);
  if (d.isSystem) throw new Refused(`refused: ${device} is a system drive (${d.mountpoints.map((m) => m.path).join(', ') || 'reported as system by the operating system'}); the privileged writer never writes system drives.`);
  allowed = device;
  allowedSet = [device];
  return { device, description: d.description };
}

/** A batch's drives, all checked as allowDevice checks one, before any is allowed. */
async function allowDevices(device: string, devices: unknown): Promise<{ device: string; description: string }[]> {
  if (allowed !== null) throw new Refused(`refused: the confirmed drive is ${allowed}; drives cannot be added.`);
  if (!Array.isArray(devices) || devices.length < 2 || devices.length > MAX_BATCH_DRIVES || !devices.every((d): d is string => typeof d === 'string' && d !== '')) {
    throw new Refused(`refused: allow-devices takes 2 to ${MAX_BATCH_DRIVES} device names.`);
  }
  if (devices[0] !== device) throw new Refused(`refused: allow-devices must name its first drive (${String(devices[0])}) as its device.`);
  if (new Set(devices).size !== devices.length) throw new Refused('refused: a drive is named twice.');
  const drives = await listDrives({ showAll: true });
  const out = devices.map((dev) => {
    const d = findDrive(drives, dev);
    if (!d) throw new Refused(`refused: ${dev} is not a whole drive this computer lists (partitions and files are never written).`);
    if (d.isSystem) throw new Refused(`refused: ${dev} is a system drive (${d.mountpoints.map((m) => m.path).join(', ') || 'reported as system by the operating system'}); the privileged writer never writes system drives.`);
    return { device: dev, description: d.description };
  });
  allowed = device;
  allowedSet = [...devices];
  return out;
}

async function handle(sock: Socket, req: HelperRequest): Promise<unknown> {
  const type = (req as { type?: unknown }).type;
  if (typeof type !== 'string' || !(HELPER_COMMANDS as readonly string[]).includes(type)) throw new Refused(`refused: unknown command ${JSON.stringify(type)}.`);
  const device = (req as { device?: unknown }).device;
  if (typeof device !== 'string' || device === '') throw new Refused(`refused: ${type} names no device.`);
  if (req.type === 'allow-device') return allowDevice(device);
  if (req.type === 'allow-devices') return allowDevices(device, (req as { devices?: unknown }).devices);
  if (allowed === null) throw new Refused(`refused: no drive has been confirmed yet (allow-device comes first).`);
  if (device !== allowed) throw new Refused(`refused: ${device} is not the confirmed drive (${allowed}).`);
  switch (req.type) {
    case 'run-drive-job': {
      if (running) throw new Refused(`refused: a job is already running on ${allowed}.`);
      const job = decodeDriveJob(allowed, req.job);
      const { fds, names } = pinSources(job);
      const controller = new AbortController();
      running = controller;
      let last = 0;
      // Progress is sent at most every 250 ms; the last figure held back is sent before the next step and at the end,
      // so the application sees each step reach its total.
      let held: HelperMessage | null = null;
      const flush = (): void => {
        if (held) send(sock, held);
        held = null;
      };
      try {
        const result = await runDriveJob(job, {
          signal: controller.signal,
          onStep: (step, detail) => {
            flush();
            send(sock, { type: 'step', id: req.id, step, detail });
          },
          onProgress: (step, bytes, path) => {
            held = { type: 'progress', id: req.id, step, bytes, path: path && (names.get(path) ?? path) };
            const now = Date.now();
            if (now - last < 250) return;
            last = now;
            flush();
          },
        });
        flush();
        return result;
      } catch (err) {
        // Messages name the user's files, not the descriptors they were read through.
        const e = err as Error;
        for (const [pinned, path] of names) e.message = e.message.split(pinned).join(path);
        throw e;
      } finally {
        running = null;
        for (const fd of fds) closeSync(fd);
      }
    }
    case 'run-drive-batch': {
      if (running) throw new Refused(`refused: a job is already running on ${allowed}.`);
      const list = (req as { jobs?: unknown }).jobs;
      if (!Array.isArray(list) || list.length === 0) throw new Refused('refused: run-drive-batch names no jobs.');
      const jobs = list.map((j: { device?: unknown; job?: unknown }) => {
        if (typeof j?.device !== 'string' || !allowedSet.includes(j.device)) throw new Refused(`refused: ${String(j?.device)} is not a confirmed drive (${allowedSet.join(', ')}).`);
        return decodeDriveJob(j.device, j.job as Parameters<typeof decodeDriveJob>[1]);
      });
      if (new Set(jobs.map((j) => j.device)).size !== jobs.length) throw new Refused('refused: a drive is named twice.');
      const pinned: { fds: number[]; names: Map<string, string> }[] = [];
      try {
        for (const job of jobs) pinned.push(pinSources(job));
      } catch (err) {
        for (const p of pinned) for (const fd of p.fds) closeSync(fd);
        throw err;
      }
      const names = new Map(pinned.flatMap((p) => [...p.names]));
      const controller = new AbortController();
      running = controller;
      runningDrives = new Map(jobs.map((j) => [j.device, new AbortController()]));
      // Progress: at most every 250 ms for the whole batch, each drive's latest figure; all sent before each step and at the end.
      const held = new Map<number, HelperMessage>();
      let last = 0;
      const flush = (): void => {
        for (const m of held.values()) send(sock, m);
        held.clear();
      };
      const unpin = (m: string | null): string | null => {
        if (m === null) return m;
        let out = m;
        for (const [p, path] of names) out = out.split(p).join(path);
        return out;
      };
      try {
        const results = await runDriveBatch(jobs, {
          signal: controller.signal,
          driveSignals: jobs.map((j) => runningDrives.get(j.device)?.signal),
          // A drive that fails or is cancelled is said at once (after the progress held so far), not with the results.
          onDriveEnd: (index, outcome) => {
            flush();
            send(sock, { type: 'drive-end', id: req.id, index, error: unpin(outcome.error), cancelled: outcome.cancelled, ...(outcome.detail ? { detail: outcome.detail } : {}) });
          },
          onStep: (index, step, detail) => {
            flush();
            send(sock, { type: 'step', id: req.id, step, detail, index });
          },
          onProgress: (index, bytes, step = 'write') => {
            held.set(index, { type: 'progress', id: req.id, step, bytes, path: null, index });
            const now = Date.now();
            if (now - last < 250) return;
            last = now;
            flush();
          },
        });
        flush();
        return results.map((r) => ({ ...r, error: unpin(r.error) }));
      } catch (err) {
        const e = err as Error;
        for (const [p, path] of names) e.message = e.message.split(p).join(path);
        throw e;
      } finally {
        running = null;
        runningDrives = new Map();
        for (const p of pinned) for (const fd of p.fds) closeSync(fd);
      }
    }
    case 'cancel': {
      const drive = (req as { drive?: unknown }).drive;
      if (typeof drive === 'string') runningDrives.get(drive)?.abort();
      else running?.abort();
      return null;
    }
    case 'close':
      return null;
  }
}

async function main(): Promise<void> {
  const token = await readToken();
  if (!/^[0-9a-f]{64}$/.test(token)) fatal('no valid token was given.');
  checkSocketFolder();
  const sock = connect(socketPath);
  sock.on('error', (err) => fatal(`cannot reach the application: ${err.message}`, 3));
  sock.on('connect', () => send(sock, { type: 'hello', token, pid: process.pid }));
  let queue = Promise.resolve();
  let closing = false;
  const answer = async (req: HelperRequest): Promise<void> => {
    const id = typeof req.id === 'number' ? req.id : -1;
    try {
      const result = await handle(sock, req);
      send(sock, { type: 'result', id, ok: true, result: result ?? null });
      if (req.type === 'close') {
        closing = true;
        sock.end();
      }
    } catch (err) {
      const e = err as Error & { code?: unknown };
      const code = e instanceof Refused ? 'EREFUSED' : typeof e.code === 'string' ? e.code : null;
      const message = e.name === 'Error' && typeof e.code === 'string' && allowed ? describeDeviceError(e, allowed, 'write') : e.message;
      send(sock, { type: 'result', id, ok: false, error: message, name: e instanceof Refused ? 'HelperRefusedError' : e.name, code });
    }
  };
  const reader = new LineReader((line) => {
    let req: HelperRequest;
    try {
      req = JSON.parse(line) as HelperRequest;
    } catch {
      fatal('the application sent something that is not a message.', 3);
    }
    // A cancel acts at once, beside the job it stops; everything else runs in order.
    if ((req as { type?: unknown }).type === 'cancel') void answer(req);
    else queue = queue.then(() => answer(req));
  });
  sock.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (err) {
      fatal((err as Error).message, 3);
    }
  });
  sock.on('close', () => {
    // The application is gone: a running job stops within one buffer (the writer closes the drive).
    running?.abort();
    void queue.then(() => {
      // Closed by the application (or after close): a clean end. Before the hello was accepted: refused.
      process.exit(closing || allowed !== null ? 0 : 3);
    });
  });
}

void main();
