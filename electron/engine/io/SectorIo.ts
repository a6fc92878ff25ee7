// Sector-aligned I/O on drives. Windows' disk driver and macOS raw devices refuse a read or write whose offset or length
// is not a whole number of logical sectors, and Linux refuses one on a drive opened with O_DIRECT — which also wants the
// memory aligned. So everything that touches a drive goes through here: buffers from WebAssembly.Memory (its memory
// starts on a page boundary, unlike a Buffer's), reads that cover whole sectors and copy out the bytes asked for, and a
// writer that assembles partial sectors in memory, reading a sector first where its other bytes must survive
// (read-modify-write). Image files keep their plain positioned I/O: none of this is needed there.
import { constants, fstatSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { isWindowsDevicePath } from '../../../shared/windowsPaths.js';
import { codedInputError } from '../errors.js';

/** The logical sector sizes a volume is laid out for. */
export const SECTOR_SIZES: readonly number[] = [512, 4096];
/** Alignment used on a drive whose sector size the system does not tell (whole sectors of 512 and of 4096 alike). */
export const DEFAULT_DEVICE_ALIGN = 4096;
const WASM_PAGE = 65536;

/** WebAssembly.Memory as far as used here (the project's TypeScript libraries do not declare WebAssembly). */
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number; shared?: boolean }) => WasmMemory } };

/**
 * A zero-filled Buffer whose memory starts on a 64 KiB boundary (a WebAssembly page; `shared` gives a
 * SharedArrayBuffer, for memory two threads use). Each one reserves address space: make few, keep them.
 */
export function alignedBuffer(size: number, shared = false): Buffer {
  const pages = Math.max(1, Math.ceil(size / WASM_PAGE));
  const mem = new WebAssembly.Memory({ initial: pages, maximum: pages, ...(shared ? { shared: true } : {}) });
  return Buffer.from(mem.buffer, 0, size);
}

/** The sector size, checked: 512 or 4096, else an InputError naming the drive (no other size is laid out). */
export function checkSectorSize(sectorSize: number, device: string): number {
  if (SECTOR_SIZES.includes(sectorSize)) return sectorSize;
  throw codedInputError(
    'SECTOR_SIZE_UNSUPPORTED',
    { device, sectorSize },
    `${device} has logical sectors of ${sectorSize} bytes; tsmedia lays out drives with 512- or 4096-byte sectors only. Use another drive.`,
  );
}

/**
 * Whether a path names a drive rather than a file: a block or character device, or a Windows device path
 * (\\.\PhysicalDrive1). A file in Windows' long form (\\?\C:\x.iso, \\?\UNC\server\share\x.iso) is a file.
 */
export function isDevicePath(path: string): boolean {
  if (isWindowsDevicePath(path)) return true;
  try {
    const st = statSync(path);
    return st.isBlockDevice() || st.isCharacterDevice();
  } catch {
    return false;
  }
}

/** Whether an open descriptor is a drive (a block device, or macOS' raw character device). */
export function isDeviceFd(fd: number): boolean {
  const st = fstatSync(fd);
  return st.isBlockDevice() || st.isCharacterDevice();
}

/**
 * Linux: the logical sector size of the block device behind a path or descriptor, from sysfs (what BLKSSZGET and
 * `blockdev --getss` report); null elsewhere, or for anything that is not a block device.
 */
export function linuxSectorSize(target: string | number): number | null {
  if (process.platform !== 'linux') return null;
  let rdev: bigint;
  try {
    const st = typeof target === 'number' ? fstatSync(target, { bigint: true }) : statSync(target, { bigint: true });
    if (!st.isBlockDevice()) return null;
    rdev = st.rdev;
  } catch {
    return null;
  }
  // glibc's major()/minor() of a dev_t.
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  // A partition has no queue of its own: its disk's is one folder up.
  for (const p of [`/sys/dev/block/${major}:${minor}/queue/logical_block_size`, `/sys/dev/block/${major}:${minor}/../queue/logical_block_size`]) {
    try {
      const n = Number(readFileSync(p, 'utf8').trim());
      if (Number.isInteger(n) && n > 0) return n;
    } catch {
      // not there: try the next
    }
  }
  return null;
}

/** Flags that make a drive's I/O bypass the operating system's cache: O_DIRECT on Linux (aligned I/O required). */
export function directFlag(): number {
  return process.platform === 'linux' ? (constants.O_DIRECT ?? 0) : 0;
}

const alignDown = (n: number, a: number): number => n - (n % a);
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Reads whole sectors into `buf` (aligned) until `length` bytes or the end of the drive; returns the bytes read. */
function readWhole(fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function writeWhole(fd: number, buf: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) done += writeSync(fd, buf, done, length - done, position + done);
}

export const WINDOW_BYTES = 2 * 1024 * 1024;
const spareWindows: Buffer[] = [];

/** An aligned window of WINDOW_BYTES for a short-lived reader; give it back with returnWindow when done. */
export function borrowWindow(): Buffer {
  return spareWindows.pop() ?? alignedBuffer(WINDOW_BYTES);
}

export function returnWindow(window: Buffer): void {
  if (spareWindows.length < 4) spareWindows.push(window);
}

/**
 * The alignment for I/O on `fd`: `sectorSize` when given, else for a drive the sector size the system reports (or 4096,
 * whole sectors of either size); null for a file, which needs none.
 */
export function deviceAlignment(fd: number, sectorSize?: number): number | null {
  if (sectorSize !== undefined) return sectorSize;
  return isDeviceFd(fd) ? (linuxSectorSize(fd) ?? DEFAULT_DEVICE_ALIGN) : null;
}

/**
 * Reads any byte range of a drive with whole-sector reads into aligned memory. Sequential small reads are served from
 * the last window read; a read never asks for more than the sectors that hold the range (so never past the drive's end).
 * System errors are thrown as they come: the caller names the drive.
 */
export class SectorReader {
  private readonly window: Buffer;
  private base = 0;
  private valid = 0;

  /** `window`: aligned memory to read into (a multiple of `align`); default a new one of WINDOW_BYTES. */
  constructor(
    private readonly fd: number,
    readonly align: number,
    window?: Buffer,
  ) {
    this.window = window ?? alignedBuffer(alignUp(Math.max(WINDOW_BYTES, align), align));
    if (this.window.length % align !== 0) throw new Error(`sector reader: a window of ${this.window.length} bytes is not whole sectors of ${align}`);
  }

  /** Reads `length` bytes at `position` into `dst` at `offset`; returns the bytes read, fewer only at the drive's end. */
  read(dst: Buffer, offset: number, length: number, position: number): number {
    let done = 0;
    while (done < length) {
      const p = position + done;
      if (p < this.base || p >= this.base + this.valid) {
        const base = alignDown(p, this.align);
        const want = Math.min(alignUp(position + length, this.align) - base, this.window.length);
        this.base = base;
        this.valid = 0;
        this.valid = readWhole(this.fd, this.window, want, base);
        if (p >= base + this.valid) break; // the drive ends here
      }
      const n = Math.min(length - done, this.base + this.valid - p);
      this.window.copy(dst, offset + done, p - this.base, p - this.base + n);
      done += n;
    }
    return done;
  }

  /** Forgets the window (after the drive was written through another descriptor). */
  invalidate(): void {
    this.valid = 0;
  }
}

/**
 * Writes byte ranges to a drive as whole, aligned sectors. Ranges that follow each other are gathered in an aligned
 * staging buffer and written in large pieces; a range that starts or ends inside a sector gets the sector's other bytes
 * from the drive first (read-modify-write), so bytes outside the ranges stay as they are. Ranges may come in any order
 * but must not overlap. finish() writes what is staged.
 */
export class SectorWriter {
  private readonly stage: Buffer;
  private readonly sector: Buffer;
  /** Drive offset of stage[0] (sector aligned), or -1 while nothing is staged. */
  private base = -1;
  private fill = 0;
  /** Sectors read for read-modify-write, and writes made (for tests and logs). */
  rmwReads = 0;
  writes = 0;

  constructor(
    private readonly fd: number,
    readonly align: number,
    stageBytes = 4 * 1024 * 1024,
  ) {
    this.stage = alignedBuffer(alignUp(Math.max(stageBytes, align), align));
    this.sector = alignedBuffer(align);
  }

  put(data: Buffer, length: number, at: number): void {
    if (length <= 0) return;
    if (this.base < 0 || at !== this.base + this.fill) {
      this.closeRun();
      this.openRun(at);
    }
    let off = 0;
    while (off < length) {
      const n = Math.min(length - off, this.stage.length - this.fill);
      data.copy(this.stage, this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === this.stage.length) {
        this.write(this.stage, this.fill, this.base);
        this.base += this.fill;
        this.fill = 0;
      }
    }
  }

  finish(): void {
    this.closeRun();
  }

  private openRun(at: number): void {
    this.base = alignDown(at, this.align);
    this.fill = at - this.base;
    if (this.fill > 0) {
      // The range starts inside a sector: the bytes before it are the drive's.
      this.readSector(this.base);
      this.sector.copy(this.stage, 0, 0, this.fill);
    }
  }

  private closeRun(): void {
    if (this.base < 0 || this.fill === 0) {
      this.base = -1;
      return;
    }
    const whole = alignDown(this.fill, this.align);
    if (whole < this.fill) {
      // The range ends inside a sector: the bytes after it are the drive's.
      this.readSector(this.base + whole);
      this.sector.copy(this.stage, this.fill, this.fill - whole, this.align);
    }
    this.write(this.stage, alignUp(this.fill, this.align), this.base);
    this.base = -1;
    this.fill = 0;
  }

  private readSector(at: number): void {
    this.rmwReads += 1;
    const got = readWhole(this.fd, this.sector, this.align, at);
    if (got < this.align) this.sector.fill(0, got); // past the end of an image file: nothing there yet
  }

  private write(buf: Buffer, length: number, at: number): void {
    this.writes += 1;
    writeWhole(this.fd, buf, length, at);
  }
}
