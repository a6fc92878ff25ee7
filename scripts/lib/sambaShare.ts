// A real SMB share for the tests and the benchmark: Samba's `smbd` on 127.0.0.1:445 with a config, state and password
// database of its own in a temporary folder, and the network mounted through FUSE with `smbnetfs` (its own config
// folder as HOME), so the share is <mount>/127.0.0.1/<share> as an administrator's Linux desktop has it. Both run in a
// network namespace of their own (`unshare --net`): port 445 there is theirs, whatever this computer runs (a system
// Samba, a developer's trial server, another test's share), while the mount is seen by every process as any mount is.
// The server can be stopped mid-write (smbd and every process it forked are killed at once) and started again.
// Linux and root only; anything else says why it cannot be made.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SambaShare {
  /** The address smbd listens on: 127.0.0.1 (in a network namespace of its own). */
  host: string;
  /** The share's name on the server. */
  name: string;
  /** //host/name, as the engine names the share in its messages. */
  unc: string;
  /** The server's own folder behind the share: what reached the server, read without the network. */
  folder: string;
  /** The share as this computer sees it: <mount>/<host>/<name>. */
  path: string;
  /** Kills smbd and all its processes at once (SIGKILL, as a server that dies), and waits until port 445 is free. */
  stopServer(): Promise<void>;
  /** Starts smbd again (after stopServer) and waits until it listens. */
  startServer(): Promise<void>;
  /** Waits until the share answers through the mount (smbnetfs gives EIO for a while after a lost connection). */
  waitUntilReachable(timeoutMs?: number): Promise<void>;
  /** Unmounts and stops everything it started, then removes its folder; safe to call more than once, and after failures. */
  remove(): void;
  /** Whether the share is mounted on this computer. */
  mounted(): boolean;
  /** Processes it started (and their children) that are still alive: none once remove() has had a moment. */
  running(): number[];
}

export interface SambaShareOptions {
  /** The share's name (default "media"). */
  name?: string;
  /** Where its temporary folder goes (default the system's). */
  parent?: string;
  /** How long to wait for smbd, the mount and the share to answer (default 20 s). */
  timeoutMs?: number;
  /**
   * Mount with FUSE's `big_writes` (writes of up to 128 KiB reach smbnetfs at once). Without it, as smbnetfs mounts by
   * default, FUSE 2 hands it 4 KiB at a time: writes run at 10–20 MB/s here, like a slow network; with it, at loopback
   * speed (100–300 MB/s), like a fast one. Reads are fast either way.
   */
  bigWrites?: boolean;
}

const PORT = 445;
const HOST = '127.0.0.1';
const COMMANDS = ['smbd', 'smbpasswd', 'smbnetfs', 'unshare', 'nsenter', 'ip'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const hasCommand = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** FUSE's unmount helper: fusermount (FUSE 2, which smbnetfs uses) or fusermount3 where only FUSE 3 is installed. */
function fusermount(): string | null {
  return ['fusermount', 'fusermount3'].find(hasCommand) ?? null;
}

/** Whether a TCP socket listens on `host`:`port` in the network namespace of process `pid` (/proc/<pid>/net/tcp). */
function listening(pid: number, host: string, port: number): boolean {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/tcp`, 'utf8');
  } catch {
    return false;
  }
  // Addresses are 8 hex digits in little-endian order, then the port in hex; 0A is LISTEN.
  const want = `${host.split('.').reverse().map((b) => Number(b).toString(16).padStart(2, '0')).join('')}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
  return text.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    return f[1] === want && f[3] === '0A';
  });
}

/** Why a Samba share cannot be made here, or null. */
export function cannotShare(): string | null {
  if (process.platform !== 'linux') return 'a Samba share mounted with smbnetfs needs Linux';
  if (process.getuid?.() !== 0) return 'a Samba share needs root (a network namespace, port 445, a FUSE mount, files written as root)';
  const missing = COMMANDS.filter((c) => !hasCommand(c));
  if (fusermount() === null) missing.push('fusermount');
  if (missing.length) return `missing ${missing.join(', ')} (./scripts/setup.sh installs samba and smbnetfs as root)`;
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing: smbnetfs cannot mount the share';
  const ns = spawnSync('unshare', ['--net', 'true'], { encoding: 'utf8' });
  if (ns.status !== 0) return `a network namespace of its own cannot be made (unshare --net: ${(ns.stderr || ns.error?.message || '').trim()})`;
  return null;
}

/** Lines of Samba's config file for a server of its own under `dir`. */
function serverConfig(dir: string, host: string, name: string, folder: string): string {
  const state = join(dir, 'state');
  return [
    '[global]',
    '  workgroup = WORKGROUP',
    '  server role = standalone server',
    `  smb ports = ${PORT}`,
    `  interfaces = ${host}`,
    '  bind interfaces only = yes',
    '  disable netbios = yes',
    `  pid directory = ${state}`,
    `  lock directory = ${state}`,
    `  state directory = ${state}`,
    `  cache directory = ${state}`,
    `  private dir = ${state}`,
    `  ncalrpc dir = ${join(state, 'ncalrpc')}`,
    `  log file = ${join(dir, 'log')}/smbd.%m`,
    '  max log size = 1000',
    '  load printers = no',
    '  printing = bsd',
    '  printcap name = /dev/null',
    '  disable spoolss = yes',
    `  passdb backend = tdbsam:${join(state, 'passdb.tdb')}`,
    '  map to guest = never',
    '',
    `[${name}]`,
    `  path = ${folder}`,
    '  read only = no',
    '  force user = root',
    '',
  ].join('\n');
}

/** The tail of a log file, for an error message. */
function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function isMounted(mountpoint: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === mountpoint);
  } catch {
    return false;
  }
}

/** Live (not zombie) processes whose process group is one of `groups`, from /proc/<pid>/stat. */
function aliveInGroups(groups: Set<number>): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so fields are counted after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] !== 'Z' && f[0] !== 'X' && groups.has(Number(f[2]))) out.push(Number(e));
  }
  return out;
}

/** Kills a process group, quietly if it is gone. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Starts a process in the network namespace held by `holder`, in a process group of its own, its output to `log`. */
function spawnIn(holder: number, command: string, args: string[], log: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const out = openSync(log, 'a');
  try {
    // nsenter enters the namespace and execs the command: the child's pid is the command's own.
    const child = spawn('nsenter', [`--net=/proc/${holder}/ns/net`, '--', command, ...args], { detached: true, stdio: ['ignore', out, out], env });
    child.unref();
    return child;
  } finally {
    closeSync(out);
  }
}

const ended = (c: ChildProcess): boolean => c.exitCode !== null || c.signalCode !== null;

/** Starts smbd with a share of its own, mounts the network with smbnetfs and waits until the share answers. */
export async function sambaShare(options: SambaShareOptions = {}): Promise<SambaShare> {
  const why = cannotShare();
  if (why) throw new Error(`no Samba share here: ${why}`);
  const host = HOST;
  const name = options.name ?? 'media';
  const timeoutMs = options.timeoutMs ?? 20_000;
  const dir = mkdtempSync(join(options.parent ?? tmpdir(), 'tsmedia-samba-'));
  const folder = join(dir, 'share');
  const mount = join(dir, 'mnt');
  const home = join(dir, 'home');
  const logs = join(dir, 'log');
  for (const d of [folder, mount, join(home, '.smb'), join(dir, 'state', 'ncalrpc'), logs]) mkdirSync(d, { recursive: true });
  const conf = join(dir, 'smb.conf');
  writeFileSync(conf, serverConfig(dir, host, name, folder));
  const user = 'root';
  const password = randomBytes(12).toString('hex');

  let holder: ChildProcess | null = null;
  let smbd: ChildProcess | null = null;
  let smbnetfs: ChildProcess | null = null;
  let removed = false;
  // Every process group started (smbd's of each start among them): what running() looks for.
  const groups = new Set<number>();

  const waitFor = async (what: string, ok: () => boolean, log: string, ms = timeoutMs): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`${what} after ${ms / 1000} s; ${log}:\n${tail(log)}`);
      await sleep(50);
    }
  };
  const holderPid = (): number => {
    if (!holder?.pid || ended(holder)) throw new Error('the network namespace of the share is gone');
    return holder.pid;
  };

  const startServer = async (): Promise<void> => {
    if (smbd && !ended(smbd)) throw new Error('smbd is running already');
    const out = join(logs, 'smbd.out');
    // Foreground and in a process group of its own: stopServer reaches the connection processes too.
    const child = spawnIn(holderPid(), 'smbd', ['-F', '--no-process-group', '-s', conf], out);
    smbd = child;
    if (child.pid) groups.add(child.pid);
    await waitFor(
      `smbd did not listen on ${host}:${PORT}`,
      () => {
        if (ended(child)) throw new Error(`smbd ended (${child.exitCode ?? child.signalCode}) before listening; ${out}:\n${tail(out)}`);
        return listening(holderPid(), host, PORT);
      },
      out,
    );
  };

  const stopServer = async (): Promise<void> => {
    const child = smbd;
    if (!child) return;
    killGroup(child.pid, 'SIGKILL');
    await waitFor('smbd still listened after SIGKILL', () => ended(child) && !listening(holderPid(), host, PORT), join(logs, 'smbd.out'), 10_000);
    smbd = null;
  };

  const waitUntilReachable = async (ms = timeoutMs): Promise<void> => {
    // After a lost connection smbnetfs answers EIO until it has reconnected: list the share until it answers twice.
    let good = 0;
    const deadline = Date.now() + ms;
    while (good < 2) {
      try {
        readdirSync(join(mount, host, name));
        good++;
      } catch (err) {
        good = 0;
        if (Date.now() > deadline) {
          throw new Error(`the share //${host}/${name} did not answer through ${mount} after ${ms / 1000} s (${(err as Error).message}); ${join(logs, 'smbnetfs.log')}:\n${tail(join(logs, 'smbnetfs.log'))}`);
        }
        await sleep(200);
      }
    }
  };

  const remove = (): void => {
    if (removed) return;
    removed = true;
    process.off('exit', remove);
    if (isMounted(mount)) {
      const helper = fusermount() ?? 'fusermount';
      // A lazy unmount when the mount is busy or its process is gone: it goes as soon as nothing uses it.
      if (spawnSync(helper, ['-u', mount]).status !== 0) spawnSync(helper, ['-u', '-z', mount]);
    }
    for (const c of [smbnetfs, smbd, holder]) killGroup(c?.pid, 'SIGKILL');
    // Never remove through a mount that is still there: that would reach into whatever it shows.
    if (!isMounted(mount)) rmSync(dir, { recursive: true, force: true });
  };
  // Should the test process end without its after hooks, nothing it started is left running.
  process.on('exit', remove);

  try {
    // The network namespace: a process that holds it with its loopback interface up, until remove().
    const nsLog = join(logs, 'netns.out');
    const nsOut = openSync(nsLog, 'a');
    try {
      holder = spawn('unshare', ['--net', 'sh', '-c', 'ip link set lo up && exec sleep infinity'], { detached: true, stdio: ['ignore', nsOut, nsOut] });
      holder.unref();
      if (holder.pid) groups.add(holder.pid);
    } finally {
      closeSync(nsOut);
    }
    const ns = holder;
    await waitFor(
      'the network namespace had no loopback interface',
      () => {
        if (ended(ns)) throw new Error(`unshare --net ended (${ns.exitCode ?? ns.signalCode}); ${nsLog}:\n${tail(nsLog)}`);
        return readFileSync(`/proc/${ns.pid}/cmdline`, 'utf8').startsWith('sleep');
      },
      nsLog,
    );

    // The password database: Samba's own, made for this server's config (the user must exist on this computer).
    execFileSync('smbpasswd', ['-c', conf, '-s', '-a', user], { input: `${password}\n${password}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
    await startServer();

    // smbnetfs: the whole network under one mount; this server and its password, and no browsing for others.
    writeFileSync(join(home, '.smb', 'smbnetfs.conf'), `auth "${host}" "${user}" "${password}"\nsmb_query_browsers false\nlog_file "${join(logs, 'smbnetfs.log')}"\n`, { mode: 0o600 });
    // libsmbclient reads $HOME/.smb/smb.conf (else the system's): a client config of its own, without NetBIOS.
    writeFileSync(join(home, '.smb', 'smb.conf'), ['[global]', '  workgroup = WORKGROUP', '  disable netbios = yes', `  log file = ${join(logs, 'client.log')}`, ''].join('\n'));
    const fsOut = join(logs, 'smbnetfs.out');
    const mountOptions = [`config=${join(home, '.smb', 'smbnetfs.conf')}`, ...(options.bigWrites ? ['big_writes'] : [])].join(',');
    const fs = spawnIn(holderPid(), 'smbnetfs', [mount, '-f', '-o', mountOptions], fsOut, { ...process.env, HOME: home });
    smbnetfs = fs;
    if (fs.pid) groups.add(fs.pid);
    await waitFor(
      `smbnetfs did not mount ${mount}`,
      () => {
        if (ended(fs)) throw new Error(`smbnetfs ended (${fs.exitCode ?? fs.signalCode}) before mounting; ${fsOut}:\n${tail(fsOut)}`);
        return isMounted(mount);
      },
      fsOut,
    );
    await waitUntilReachable();
  } catch (err) {
    remove();
    throw err;
  }

  return {
    host,
    name,
    unc: `//${host}/${name}`,
    folder,
    path: join(mount, host, name),
    stopServer,
    startServer,
    waitUntilReachable,
    remove,
    mounted: () => isMounted(mount),
    running: () => aliveInGroups(groups),
  };
}
