// The sector-rule shim (sectorShim.c) for the tests: compiled with cc into a test's folder, put in front of a child
// process with LD_PRELOAD, and its log read back. It stands in for Windows' disk driver and macOS raw devices, which
// refuse any read or write on a drive that is not whole sectors from aligned memory.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

export const SHIM_SOURCE = join(ROOT, 'test', 'support', 'sectorShim.c');

/** Compiles the shim into `dir`; returns the library's path, or the compiler's complaint. */
export function buildShim(dir: string): { so: string } | { error: string } {
  const so = join(dir, 'sectorShim.so');
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', so, SHIM_SOURCE, '-ldl'], { encoding: 'utf8' });
  if (r.error) return { error: `cc: ${r.error.message}` };
  if (r.status !== 0 || !existsSync(so)) return { error: `cc exited ${r.status}: ${r.stderr}` };
  return { so };
}

export interface ShimOptions {
  so: string;
  device: string;
  sectorSize: number;
  log: string;
  /** Memory alignment required (default 4096: what the writer promises, and unbuffered Windows I/O needs a sector). */
  memoryAlign?: number;
  /** Log every write that passes, in order. */
  trace?: boolean;
}

/** The environment that loads the shim into a child process (and its children). */
export function shimEnv(o: ShimOptions): NodeJS.ProcessEnv {
  return {
    LD_PRELOAD: o.so,
    TSMEDIA_SHIM_DEVICE: o.device,
    TSMEDIA_SHIM_SECTOR: String(o.sectorSize),
    TSMEDIA_SHIM_MEMORY_ALIGN: String(o.memoryAlign ?? 4096),
    TSMEDIA_SHIM_LOG: o.log,
    ...(o.trace ? { TSMEDIA_SHIM_TRACE: '1' } : {}),
  };
}

export interface ShimSummary {
  prog: string;
  pid: number;
  checked: number;
  refused: number;
}

export interface ShimWrite {
  pid: number;
  offset: number;
  length: number;
}

export interface ShimLog {
  /** The lines of refused calls, as the shim wrote them. */
  refused: string[];
  /** One per process that ended with the shim loaded. */
  summaries: ShimSummary[];
  /** With trace: the writes that went through, in order. */
  writes: ShimWrite[];
}

export function readShimLog(path: string): ShimLog {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const log: ShimLog = { refused: [], summaries: [], writes: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith('REFUSED ')) log.refused.push(line);
    let m = /^SUMMARY (\S+) (\d+) checked=(\d+) refused=(\d+)$/.exec(line);
    if (m) log.summaries.push({ prog: m[1], pid: Number(m[2]), checked: Number(m[3]), refused: Number(m[4]) });
    m = /^WRITE \S+ (\d+) \S+ offset=(\d+) length=(\d+)$/.exec(line);
    if (m) log.writes.push({ pid: Number(m[1]), offset: Number(m[2]), length: Number(m[3]) });
  }
  return log;
}
