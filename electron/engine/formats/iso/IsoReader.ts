// Reads an ISO 9660 image written by anyone (ours, xorriso, genisoimage, oscdimg's ISO side): the volume ids, the file
// tree (Joliet when present, else the primary tree), file data and the El Torito boot catalog. Synchronous; every
// offset is checked against the file and every loop is bounded, so a hostile image gives an InputError, never a crash
// or a hang.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { InputError, describeFsError } from '../../errors.js';
import { readExtents, readFully, streamExtents, type Extent } from '../../io/PositionedRead.js';

const BLOCK = 2048;
const MAX_DESCRIPTORS = 64;
const MAX_DEPTH = 128;
const MAX_ENTRIES = 5_000_000;
const MAX_DIR_BYTES = 64 * 1024 * 1024;

/** Bytes of a file at a byte offset of the image. */
export type IsoExtent = Extent;

export interface IsoFileEntry {
  /** "/" separated, no leading slash; Joliet names as stored, primary names without ";1" (and without a lone trailing "."). */
  path: string;
  size: number;
  /** One extent, or several for a multi-extent file (records flagged 0x80), in file order. */
  extents: IsoExtent[];
}

export interface BootEntry {
  /** "default" for the initial entry, "section" for an entry under a section header. */
  kind: 'default' | 'section';
  /** 0 x86 BIOS, 0xEF UEFI, … (the validation entry's platform for the default entry, else the section header's). */
  platform: number;
  bootable: boolean;
  /** 0 no emulation, 1–3 floppies, 4 hard disk. */
  mediaType: number;
  /** As stored: 0 means 0x07C0. */
  loadSegment: number;
  systemType: number;
  /** In 512-byte units. */
  sectorCount: number;
  /** Block (2048 bytes) of the boot image. */
  imageBlock: number;
}

interface DirRecord {
  name: Buffer;
  block: number;
  eaLength: number;
  size: number;
  flags: number;
}

interface Pending {
  path: string;
  raw: Buffer;
  extents: IsoExtent[];
  size: number;
}

function parseRecord(b: Buffer, off: number): DirRecord & { length: number } {
  const length = b[off];
  const idLen = b[off + 32];
  return {
    length,
    eaLength: b[off + 1],
    block: b.readUInt32LE(off + 2),
    size: b.readUInt32LE(off + 10),
    flags: b[off + 25],
    name: b.subarray(off + 33, off + 33 + idLen),
  };
}

export class IsoVolume {
  readonly path: string;
  /** Primary volume id, trailing spaces removed. */
  readonly volumeId: string;
  /** Joliet volume id, or null without Joliet. */
  readonly jolietVolumeId: string | null;
  /** Volume space size in blocks (primary descriptor). */
  readonly blocks: number;
  /** Bytes of the file past its volume (an append or a faulty copy); a file shorter than its volume is refused. */
  readonly bytesPastVolume: number;
  readonly joliet: boolean;
  private fd: number | null;
  private readonly fileSize: number;
  private readonly root: DirRecord;
  private readonly bootCatalogBlock: number | null;
  private listing: { files: IsoFileEntry[]; directories: string[] } | null = null;
  private index: { exact: Map<string, IsoFileEntry>; folded: Map<string, IsoFileEntry> } | null = null;

  constructor(path: string) {
    this.path = path;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new InputError(`cannot open the ISO image ${describeFsError(err, path)}`);
    }
    this.fd = fd;
    try {
      this.fileSize = fstatSync(fd).size;
      if (this.fileSize < 17 * BLOCK) this.fail(`${this.fileSize} bytes is too small for an ISO 9660 image (the first volume descriptor is at byte 32768)`);
      let pvd: Buffer | null = null;
      let svd: Buffer | null = null;
      let bootBlock: number | null = null;
      let terminated = false;
      for (let i = 0; i < MAX_DESCRIPTORS; i++) {
        const blk = 16 + i;
        if ((blk + 1) * BLOCK > this.fileSize) break;
        const d = this.read(blk * BLOCK, BLOCK);
        if (d.toString('latin1', 1, 6) !== 'CD001') {
          if (i === 0) this.fail('no ISO 9660 volume descriptor at block 16 (not an ISO image)');
          break;
        }
        const type = d[0];
        if (type === 255) {
          terminated = true;
          break;
        }
        if (type === 1 && !pvd) pvd = d;
        else if (type === 2 && !svd && isJoliet(d)) svd = d;
        else if (type === 0 && d.toString('latin1', 7, 30) === 'EL TORITO SPECIFICATION' && bootBlock === null) bootBlock = d.readUInt32LE(71);
      }
      if (!pvd) this.fail('no primary volume descriptor');
      if (!terminated) this.fail(`no volume descriptor set terminator within blocks 16–${16 + MAX_DESCRIPTORS - 1}`);
      const p = pvd as Buffer;
      const blockSize = p.readUInt16LE(128);
      if (blockSize !== BLOCK) this.fail(`logical block size ${blockSize}; only 2048 is supported`);
      this.blocks = p.readUInt32LE(80);
      if (this.blocks * BLOCK > this.fileSize) {
        this.fail(`the image is truncated: the volume holds ${this.blocks} blocks (${this.blocks * BLOCK} bytes) but the file has ${this.fileSize} bytes`);
      }
      this.bytesPastVolume = this.fileSize - this.blocks * BLOCK;
      this.volumeId = p.toString('latin1', 40, 72).replace(/[ \0]+$/, '');
      this.joliet = svd !== null;
      this.jolietVolumeId = svd ? ucs2(svd.subarray(40, 72)).replace(/[ \0]+$/, '') : null;
      const rootDesc = svd ?? p;
      if (rootDesc[156] < 34) this.fail('the root directory record is malformed');
      this.root = parseRecord(rootDesc, 156);
      if (!(this.root.flags & 2)) this.fail('the root directory record is not a directory');
      this.bootCatalogBlock = bootBlock;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Every file, in directory order (parents before children). */
  files(): IsoFileEntry[] {
    return this.walk().files;
  }

  /** Every folder (root excluded), parents first. */
  directories(): string[] {
    return this.walk().directories;
  }

  /** Finds a file: exact path first, then ignoring case (as Windows would). */
  find(path: string): IsoFileEntry | null {
    const p = path.replace(/^\/+/, '');
    if (!this.index) {
      const exact = new Map<string, IsoFileEntry>();
      const folded = new Map<string, IsoFileEntry>();
      for (const f of this.files()) {
        exact.set(f.path, f);
        if (!folded.has(f.path.toUpperCase())) folded.set(f.path.toUpperCase(), f);
      }
      this.index = { exact, folded };
    }
    return this.index.exact.get(p) ?? this.index.folded.get(p.toUpperCase()) ?? null;
  }

  /** Streams a file's bytes to `onChunk` (each chunk a fresh Buffer of at most 1 MiB). */
  readFile(path: string, onChunk: (chunk: Buffer) => void): void {
    streamExtents(this.extentsOf(path), (o, n) => this.read(o, n), onChunk);
  }

  /** A whole file in memory (for small files). */
  readFileBuffer(path: string): Buffer {
    return readExtents(this.extentsOf(path), (o, n) => this.read(o, n));
  }

  private extentsOf(path: string): IsoExtent[] {
    const f = this.find(path);
    if (!f) throw new InputError(`${this.path}: no file "${path}" in the image.`);
    return f.extents;
  }

  /** The El Torito boot catalog's entries (empty without a boot record). */
  bootCatalog(): BootEntry[] {
    if (this.bootCatalogBlock === null) return [];
    const blk = this.bootCatalogBlock;
    if ((blk + 1) * BLOCK > this.fileSize) this.fail(`the boot catalog block ${blk} is past the end of the file`);
    const c = this.read(blk * BLOCK, BLOCK);
    if (c[0] !== 1 || c[30] !== 0x55 || c[31] !== 0xaa) this.fail(`block ${blk}: no El Torito validation entry (header 1, key 55 AA)`);
    let sum = 0;
    for (let i = 0; i < 32; i += 2) sum = (sum + c.readUInt16LE(i)) & 0xffff;
    if (sum !== 0) this.fail(`block ${blk}: the El Torito validation entry's checksum is wrong`);
    const entry = (off: number, kind: BootEntry['kind'], platform: number): BootEntry => ({
      kind,
      platform,
      bootable: c[off] === 0x88,
      mediaType: c[off + 1] & 0x0f,
      loadSegment: c.readUInt16LE(off + 2),
      systemType: c[off + 4],
      sectorCount: c.readUInt16LE(off + 6),
      imageBlock: c.readUInt32LE(off + 8),
    });
    const out: BootEntry[] = [entry(32, 'default', c[1])];
    let off = 64;
    // At most 62 more 32-byte entries fit the block: the loop ends with it.
    while (off + 32 <= BLOCK) {
      const header = c[off];
      if (header !== 0x90 && header !== 0x91) break;
      const platform = c[off + 1];
      const count = c.readUInt16LE(off + 2);
      off += 32;
      let got = 0;
      while (got < count && off + 32 <= BLOCK) {
        const t = c[off];
        if (t === 0x44) {
          off += 32; // extension entry of the previous one
          continue;
        }
        if (t !== 0x88 && t !== 0x00) this.fail(`block ${blk}: unexpected boot catalog entry type 0x${t.toString(16)} at byte ${off}`);
        out.push(entry(off, 'section', platform));
        got++;
        off += 32;
      }
      if (header === 0x91) break;
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private fail(what: string): never {
    throw new InputError(`${this.path}: ${what}.`);
  }

  private read(offset: number, length: number): Buffer {
    if (this.fd === null) throw new Error(`${this.path}: the image is closed`);
    if (offset < 0 || offset + length > this.fileSize) this.fail(`a read at byte ${offset} (${length} bytes) is past the end of the file (${this.fileSize} bytes)`);
    const b = Buffer.alloc(length);
    let got: number;
    try {
      got = readFully(this.fd, b, 0, length, offset);
    } catch (err) {
      throw new InputError(`cannot read the ISO image ${describeFsError(err, this.path)}`);
    }
    if (got < length) this.fail(`the file ended at byte ${offset + got}`);
    return b;
  }

  private decodeName(raw: Buffer, where: string): string {
    let name: string;
    if (this.joliet) {
      name = ucs2(raw.length % 2 ? raw.subarray(0, raw.length - 1) : raw);
      name = name.replace(/;\d+$/, '');
    } else {
      name = raw.toString('latin1').replace(/;\d+$/, '');
      if (name.endsWith('.') && name.indexOf('.') === name.length - 1) name = name.slice(0, -1);
    }
    // eslint-disable-next-line no-control-regex
    if (name === '' || name === '.' || name === '..' || /[/\x00]/.test(name)) this.fail(`${where}: a record with the name "${name.replace(/\x00/g, '\\0')}", which no file may have`);
    return name;
  }

  private walk(): { files: IsoFileEntry[]; directories: string[] } {
    if (this.listing) return this.listing;
    const files: IsoFileEntry[] = [];
    const directories: string[] = [];
    const visited = new Set<number>();
    let entries = 0;
    let dirBytes = 0;
    const queue: { rec: DirRecord; path: string; depth: number }[] = [{ rec: this.root, path: '', depth: 0 }];
    for (let qi = 0; qi < queue.length; qi++) {
      const { rec, path, depth } = queue[qi];
      const where = path === '' ? 'the root directory' : `directory "${path}"`;
      if (depth > MAX_DEPTH) this.fail(`${where} is nested more than ${MAX_DEPTH} levels deep`);
      const start = (rec.block + rec.eaLength) * BLOCK;
      if (rec.size > MAX_DIR_BYTES) this.fail(`${where} claims ${rec.size} bytes of records (more than ${MAX_DIR_BYTES})`);
      if (start + rec.size > this.fileSize) this.fail(`${where}: its extent (block ${rec.block}, ${rec.size} bytes) is past the end of the file (${this.fileSize} bytes)`);
      if (visited.has(rec.block)) this.fail(`${where} is the same extent (block ${rec.block}) as another directory: a loop`);
      visited.add(rec.block);
      dirBytes += rec.size;
      if (dirBytes > this.fileSize) this.fail(`the directories claim more bytes than the file holds (overlapping extents)`);
      const b = this.read(start, rec.size);
      let pos = 0;
      let index = 0;
      let pending: Pending | null = null;
      while (pos < b.length) {
        const len = b[pos];
        if (len === 0) {
          pos = (Math.floor(pos / BLOCK) + 1) * BLOCK; // rest of this block unused
          continue;
        }
        if (len < 34 || pos + len > b.length) this.fail(`${where}: a malformed record at byte ${pos} (length ${len})`);
        const r = parseRecord(b, pos);
        if (33 + r.name.length > len) this.fail(`${where}: the record at byte ${pos} has a name longer than the record`);
        pos += len;
        if (++entries > MAX_ENTRIES) this.fail(`more than ${MAX_ENTRIES} directory records`);
        if (index++ < 2 && r.name.length === 1 && r.name[0] <= 1) continue; // "." and ".."
        const name = this.decodeName(r.name, where);
        const childPath = path === '' ? name : `${path}/${name}`;
        if (pending !== null && (r.flags & 2 || !pending.raw.equals(r.name))) {
          this.fail(`file "${pending.path}": a multi-extent file (flag 0x80) whose next record is "${childPath}"`);
        }
        if (r.flags & 2) {
          directories.push(childPath);
          queue.push({ rec: r, path: childPath, depth: depth + 1 });
          continue;
        }
        const dataStart = (r.block + r.eaLength) * BLOCK;
        if (r.size > 0 && dataStart + r.size > this.fileSize) {
          this.fail(`file "${childPath}": its data (block ${r.block}, ${r.size} bytes) is past the end of the file (${this.fileSize} bytes)`);
        }
        const cur: Pending = pending ?? { path: childPath, raw: Buffer.from(r.name), extents: [], size: 0 };
        if (r.size > 0) cur.extents.push({ offset: dataStart, size: r.size });
        cur.size += r.size;
        if (r.flags & 0x80) {
          pending = cur;
        } else {
          files.push({ path: cur.path, size: cur.size, extents: cur.extents });
          pending = null;
        }
      }
      if (pending !== null) this.fail(`file "${pending.path}": the last record of a multi-extent file still says "another extent follows" (flag 0x80)`);
    }
    this.listing = { files, directories };
    return this.listing;
  }
}

function isJoliet(d: Buffer): boolean {
  const esc = d.subarray(88, 120);
  for (let i = 0; i + 2 < esc.length; i++) {
    if (esc[i] === 0x25 && esc[i + 1] === 0x2f && (esc[i + 2] === 0x40 || esc[i + 2] === 0x43 || esc[i + 2] === 0x45)) return true;
  }
  return false;
}

function ucs2(b: Buffer): string {
  const le = Buffer.from(b.subarray(0, b.length - (b.length % 2)));
  return le.swap16().toString('utf16le');
}

/** Opens an ISO image for reading; close() it when done. */
export function openIso(path: string): IsoVolume {
  return new IsoVolume(path);
}
