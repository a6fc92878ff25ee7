// Plans a CD/DVD image: ISO 9660 (level 3) + Joliet + El Torito + a UDF 1.02 bridge, as an ImageLayout whose metadata
// is generated here and whose file data ImageWriter streams from the sources. Pure and fast: no file is read.
//
// Block map (2048-byte blocks):
//   0–15      system area (zeros)
//   16        ISO 9660 primary volume descriptor
//   17        El Torito boot record (only with a boot image)
//   next      Joliet supplementary descriptor, then the set terminator
//   next 3    UDF recognition: BEA01, NSR02, TEA01
//   32–47     UDF main volume descriptor sequence (PVD, IUVD, PD, LVD, USD, TD)
//   48–63     UDF reserve volume descriptor sequence (the same descriptors, their own locations)
//   64–65     UDF logical volume integrity descriptor (closed) + terminator
//   66…       ISO directories (breadth first), L and M path tables, Joliet directories, Joliet L and M path tables,
//             boot catalog
//   256       UDF anchor volume descriptor pointer (anything that would straddle it starts at 257)
//   P…        UDF partition: file set descriptor + terminator, per directory a file entry and its identifiers, a file
//             entry per file, then every file's data, block-aligned, in the order given
//   last      UDF anchor volume descriptor pointer
// ISO 9660, Joliet and UDF records all point at the same data blocks.
import { InputError } from '../../errors.js';
import { sourceSize, type ContentSource, type ImageExtent, type ImageLayout, type ImageRegion } from '../../io/ImageLayout.js';

export interface IsoFile {
  /** Path on the disc, "/" separated, original case, no leading slash, e.g. "SMS/PKG/SMP00002/install.wim". */
  path: string;
  source: ContentSource;
  /** Part of the source stored in this file (a file split across discs stores a part); default whole source. */
  sourceOffset?: number;
  size?: number;
}

export interface IsoOptions {
  /** The media label: ISO primary volume id, Joliet volume id, UDF logical volume / volume set id. */
  volumeId: string;
  files: IsoFile[];
  /** Extra folders (empty ones too), "/" separated. */
  directories?: string[];
  /** Disc path of the BIOS no-emulation boot image (boot/etfsboot.com). */
  bootBios?: string | null;
  /** Disc path of the UEFI image (efi/microsoft/boot/efisys.bin). */
  bootEfi?: string | null;
  /** Every timestamp in the image (deterministic output for identical input). */
  timestamp: Date;
  systemId?: string;
  applicationId?: string;
  publisherId?: string;
  preparerId?: string;
}

export interface IsoPlan extends ImageLayout {
  blocks: number;
}

export const ISO_BLOCK = 2048;
/** Largest ISO 9660 extent: 4 GiB − 2048, so every extent of a multi-extent file stays block-aligned. */
export const ISO_MAX_EXTENT = 0x1_0000_0000 - ISO_BLOCK;
/** Largest UDF short_ad extent: 2^30 − 2048. */
export const UDF_MAX_EXTENT = 0x4000_0000 - ISO_BLOCK;
const AVDP_BLOCK = 256;
const UDF_MAIN_VDS = 32;
const UDF_RESERVE_VDS = 48;
const UDF_VDS_BLOCKS = 16;
const UDF_LVID = 64;
const UDF_LVID_BLOCKS = 2;
const FIRST_FREE = UDF_LVID + UDF_LVID_BLOCKS;
/** A UDF file entry holds its short_ads in one block: (2048 − 176) / 8 of them. */
const UDF_MAX_ADS = Math.floor((ISO_BLOCK - 176) / 8);
/** Largest file the planner accepts (as many full short_ads as one file entry holds). */
export const ISO_MAX_FILE = UDF_MAX_ADS * UDF_MAX_EXTENT;
const JOLIET_MAX = 64;
const ISO_FILE_MAX = 30; // including ".", ";1"
const ISO_DIR_MAX = 31;
const UDF_NAME_BYTES = 255;

// ---------------------------------------------------------------------------------------------------------------------
// The tree

interface Entry {
  name: string;
  isoId: string;
  jolietId: string;
  udfName: string;
  /** UDF unique id: 0 for the root, then 16, 17, … (0–15 are reserved). */
  udfUniqueId: number;
}

interface FileNode extends Entry {
  kind: 'file';
  path: string;
  source: ContentSource;
  sourceOffset: number;
  size: number;
  /** Absolute block of the data (0 for an empty file). */
  block: number;
  udfFe: number;
}

interface DirNode extends Entry {
  kind: 'dir';
  path: string;
  parent: DirNode | null;
  dirs: Map<string, DirNode>;
  files: FileNode[];
  isoChildren: Child[];
  jolietChildren: Child[];
  udfChildren: Child[];
  isoNumber: number;
  jolietNumber: number;
  isoBlock: number;
  isoSize: number;
  jolietBlock: number;
  jolietSize: number;
  udfFe: number;
  udfData: number;
  udfDataSize: number;
}

type Child = DirNode | FileNode;

/** Upper case as Windows compares names: one code point at a time, never changing a name's length. */
export function windowsUpper(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const u = ch.toUpperCase();
    out += u.length === ch.length ? u : ch;
  }
  return out;
}

function splitPath(p: string, what: string): string[] {
  if (typeof p !== 'string' || p === '') throw new InputError(`${what}: an empty path.`);
  const trimmed = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') throw new InputError(`${what} "${p}": not a path below the root of the disc.`);
  const parts = trimmed.split('/');
  for (const c of parts) {
    if (c === '' || c === '.' || c === '..') throw new InputError(`${what} "${p}": an empty, "." or ".." path component.`);
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\\]/.test(c)) throw new InputError(`${what} "${p}": a control character or "\\" in a name (paths are "/" separated).`);
  }
  return parts;
}

function newDir(name: string, path: string, parent: DirNode | null): DirNode {
  return {
    kind: 'dir',
    name,
    path,
    parent,
    dirs: new Map(),
    files: [],
    isoId: '',
    jolietId: '',
    udfName: '',
    isoChildren: [],
    jolietChildren: [],
    udfChildren: [],
    isoNumber: 0,
    jolietNumber: 0,
    isoBlock: 0,
    isoSize: 0,
    jolietBlock: 0,
    jolietSize: 0,
    udfFe: 0,
    udfData: 0,
    udfDataSize: 0,
    udfUniqueId: 0,
  };
}

interface Tree {
  root: DirNode;
  files: FileNode[];
  bios: FileNode | null;
  efi: FileNode | null;
}

function buildTree(options: IsoOptions): Tree {
  const root = newDir('', '', null);
  const dirByKey = new Map<string, DirNode>([['', root]]);
  const fileByKey = new Map<string, FileNode>();

  const ensureDir = (parts: string[], forPath: string): DirNode => {
    let cur = root;
    let key = '';
    for (let i = 0; i < parts.length; i++) {
      const upper = windowsUpper(parts[i]);
      key = key === '' ? upper : `${key}/${upper}`;
      let next = cur.dirs.get(upper);
      if (!next) {
        const clash = fileByKey.get(key);
        if (clash) throw new InputError(`"${clash.path}" is a file and also a folder (of "${forPath}"); a path cannot be both.`);
        next = newDir(parts[i], cur.path === '' ? parts[i] : `${cur.path}/${parts[i]}`, cur);
        cur.dirs.set(upper, next);
        dirByKey.set(key, next);
      }
      cur = next;
    }
    return cur;
  };

  for (const d of options.directories ?? []) ensureDir(splitPath(d, 'folder'), d);

  const files: FileNode[] = [];
  for (const f of options.files) {
    const parts = splitPath(f.path, 'file');
    const path = parts.join('/');
    const total = sourceSize(f.source);
    const sourceOffset = f.sourceOffset ?? 0;
    const size = f.size ?? total - sourceOffset;
    if (!Number.isSafeInteger(sourceOffset) || !Number.isSafeInteger(size) || sourceOffset < 0 || size < 0 || sourceOffset + size > total) {
      throw new InputError(`file "${path}": the part ${sourceOffset}+${size} is not inside its source of ${total} bytes (${f.source.label}).`);
    }
    if (size > ISO_MAX_FILE) throw new InputError(`file "${path}": ${size} bytes is more than the ${ISO_MAX_FILE} bytes one UDF file entry can describe.`);
    const parent = ensureDir(parts.slice(0, -1), path);
    const key = windowsUpper(path);
    const dup = fileByKey.get(key);
    if (dup) {
      throw new InputError(
        dup.path === path
          ? `file "${path}" is given twice.`
          : `files "${dup.path}" and "${path}" differ only in case; Windows sees them as the same file. Rename one.`,
      );
    }
    const asDir = dirByKey.get(key);
    if (asDir) throw new InputError(`"${path}" is a file and also a folder ("${asDir.path}"); a path cannot be both.`);
    const node: FileNode = {
      kind: 'file',
      name: parts[parts.length - 1],
      path,
      source: f.source,
      sourceOffset,
      size,
      isoId: '',
      jolietId: '',
      udfName: '',
      udfUniqueId: 0,
      block: 0,
      udfFe: 0,
    };
    fileByKey.set(key, node);
    parent.files.push(node);
    files.push(node);
  }

  const bootFile = (p: string | null | undefined, what: string): FileNode | null => {
    if (p === null || p === undefined || p === '') return null;
    const key = windowsUpper(splitPath(p, what).join('/'));
    const f = fileByKey.get(key);
    if (!f) throw new InputError(`${what} "${p}" is not among the files of the disc.`);
    if (f.size === 0) throw new InputError(`${what} "${p}" is empty.`);
    return f;
  };
  const bios = bootFile(options.bootBios, 'BIOS boot image');
  const efi = bootFile(options.bootEfi, 'UEFI boot image');
  if (bios && Math.ceil(bios.size / 512) > 0xffff) {
    throw new InputError(`BIOS boot image "${bios.path}": ${bios.size} bytes is more than an El Torito entry can load (65535 sectors of 512 bytes).`);
  }
  return { root, files, bios, efi };
}

// ---------------------------------------------------------------------------------------------------------------------
// Names

const codeUnitCompare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function splitExt(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return [name, ''];
  return [name.slice(0, dot), name.slice(dot + 1)];
}

/** Upper-case d-characters: accents dropped ("Ä" → "A"), anything else outside A–Z, 0–9, "_" becomes "_". */
const dChars = (s: string): string =>
  windowsUpper(s.normalize('NFD').replace(/[\u0300-\u036f]/g, ''))
    .replace(/[^A-Z0-9_]/g, '_');

function isoFileNatural(name: string): string {
  const [b, e] = splitExt(name);
  let base = dChars(b) || '_';
  let ext = dChars(e);
  const room = ISO_FILE_MAX - 3; // ".", ";1"
  if (base.length + ext.length > room) {
    if (ext.length > 8) ext = ext.slice(0, 8);
    base = base.slice(0, room - ext.length);
  }
  return `${base}.${ext};1`;
}

function isoFileAlt(id: string, n: number): string {
  const m = /^([^.]*)\.([^;]*);1$/.exec(id) as RegExpExecArray;
  const suffix = `_${n}`;
  const base = m[1].slice(0, Math.max(0, ISO_FILE_MAX - 3 - m[2].length - suffix.length));
  return `${base}${suffix}.${m[2]};1`;
}

const isoDirNatural = (name: string): string => (dChars(name) || '_').slice(0, ISO_DIR_MAX);
const isoDirAlt = (id: string, n: number): string => `${id.slice(0, ISO_DIR_MAX - String(n).length - 1)}_${n}`;

/** Cuts a string to at most `max` UTF-16 code units without splitting a surrogate pair. */
function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let r = s.slice(0, Math.max(0, max));
  if (r.length > 0 && /[\ud800-\udbff]$/.test(r)) r = r.slice(0, -1);
  return r;
}

/** Cuts a name to `max` code units, keeping a short extension. */
function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  const [b, e] = splitExt(name);
  if (e && e.length + 1 <= Math.floor(max / 2)) return `${cut(b, max - e.length - 1)}.${e}`;
  return cut(name, max);
}

/** The n-th alternative of a name: "~n" before the extension, within `max` code units. */
function fitNameAlt(name: string, max: number, n: number): string {
  const [b, e] = splitExt(name);
  const ext = e && e.length + 1 <= Math.floor(max / 2) ? `.${e}` : '';
  const suffix = `~${n}`;
  return cut(ext ? b : name, max - ext.length - suffix.length) + suffix + ext;
}

// eslint-disable-next-line no-control-regex
const jolietNatural = (name: string): string => fitName(name.replace(/[\x00-\x1f*/:;?\\]/g, '_'), JOLIET_MAX);

/** Most characters a UDF file identifier holds: 254 with 8-bit compression, 127 with 16-bit. */
function udfMax(name: string): number {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\xff]*$/.test(name) ? UDF_NAME_BYTES - 1 : Math.floor((UDF_NAME_BYTES - 1) / 2);
}

/** Gives each entry a name unique under `key`; entries keep their natural name when they can (first come, first served). */
function uniquify(entries: Child[], natural: (e: Child) => string, alt: (e: Child, nat: string, n: number) => string, key: (s: string) => string, set: (e: Child, id: string) => void): void {
  const nats = entries.map(natural);
  const used = new Set(nats.map(key));
  const taken = new Set<string>();
  entries.forEach((e, i) => {
    let id = nats[i];
    if (taken.has(key(id))) {
      for (let n = 1; ; n++) {
        const a = alt(e, nats[i], n);
        if (!used.has(key(a))) {
          id = a;
          used.add(key(a));
          break;
        }
        if (n > 1_000_000) throw new Error(`cannot make a unique name for ${e.path}`);
      }
    }
    taken.add(key(id));
    set(e, id);
  });
}

/** Compares as ECMA-119 9.3 orders a directory's records: the name, then the extension, each padded with spaces. */
function padCompare(x: string, y: string): number {
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const cx = i < x.length ? x.charCodeAt(i) : 0x20;
    const cy = i < y.length ? y.charCodeAt(i) : 0x20;
    if (cx !== cy) return cx - cy;
  }
  return 0;
}

/** Name and extension of an identifier for sorting: files split at the last dot (ISO ids also lose ";1"), folders whole. */
function sortParts(id: string, isFile: boolean): [string, string] {
  if (!isFile) return [id, ''];
  const bare = id.endsWith(';1') ? id.slice(0, -2) : id;
  const dot = bare.lastIndexOf('.');
  return dot < 0 ? [bare, ''] : [bare.slice(0, dot), bare.slice(dot + 1)];
}

function recordCompare(a: Child, b: Child, id: (e: Child) => string): number {
  const [an, ae] = sortParts(id(a), a.kind === 'file');
  const [bn, be] = sortParts(id(b), b.kind === 'file');
  return padCompare(an, bn) || padCompare(ae, be) || codeUnitCompare(id(a), id(b));
}

function nameTree(root: DirNode): void {
  const stack: DirNode[] = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as DirNode;
    const children: Child[] = [...dir.dirs.values(), ...dir.files].sort((a, b) => codeUnitCompare(a.name, b.name));
    uniquify(
      children,
      (e) => (e.kind === 'dir' ? isoDirNatural(e.name) : isoFileNatural(e.name)),
      (e, nat, n) => (e.kind === 'dir' ? isoDirAlt(nat, n) : isoFileAlt(nat, n)),
      (s) => s,
      (e, id) => (e.isoId = id),
    );
    uniquify(
      children,
      (e) => jolietNatural(e.name),
      (_e, nat, n) => fitNameAlt(nat, JOLIET_MAX, n),
      windowsUpper,
      (e, id) => (e.jolietId = id),
    );
    uniquify(
      children,
      (e) => fitName(e.name, udfMax(e.name)),
      (e, nat, n) => fitNameAlt(nat, udfMax(e.name), n),
      windowsUpper,
      (e, id) => (e.udfName = id),
    );
    dir.isoChildren = [...children].sort((a, b) => recordCompare(a, b, (e) => e.isoId));
    dir.jolietChildren = [...children].sort((a, b) => recordCompare(a, b, (e) => e.jolietId));
    dir.udfChildren = children;
    for (const d of dir.dirs.values()) stack.push(d);
  }
}

/** Directories breadth first, children in the given order: the path table order (depth, parent number, name). */
function breadthFirst(root: DirNode, children: (d: DirNode) => Child[]): DirNode[] {
  const out: DirNode[] = [root];
  for (let i = 0; i < out.length; i++) for (const c of children(out[i])) if (c.kind === 'dir') out.push(c);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Sizes

const isoIdBytes = (e: Child): Buffer => Buffer.from(e.isoId, 'latin1');
const jolietIdBytes = (e: Child): Buffer => ucs2be(e.jolietId);
const recordLength = (idLen: number): number => 33 + idLen + (idLen % 2 === 0 ? 1 : 0);
const isoExtentCount = (f: FileNode): number => Math.max(1, Math.ceil(f.size / ISO_MAX_EXTENT));
const blocksOf = (bytes: number): number => Math.ceil(bytes / ISO_BLOCK);

function ucs2be(s: string): Buffer {
  const b = Buffer.from(s, 'utf16le');
  return b.swap16();
}

/** Bytes of a directory's records (".", "..", then children; multi-extent files take a record per extent), in whole blocks. */
function dirSize(children: Child[], idLen: (e: Child) => number): number {
  let pos = 0;
  const put = (len: number): void => {
    if ((pos % ISO_BLOCK) + len > ISO_BLOCK) pos = Math.ceil(pos / ISO_BLOCK) * ISO_BLOCK;
    pos += len;
  };
  put(34);
  put(34);
  for (const c of children) {
    const len = recordLength(idLen(c));
    const n = c.kind === 'file' ? isoExtentCount(c) : 1;
    for (let i = 0; i < n; i++) put(len);
  }
  return Math.max(1, blocksOf(pos)) * ISO_BLOCK;
}

function pathTableSize(dirs: DirNode[], idLen: (d: DirNode) => number): number {
  let size = 0;
  for (const d of dirs) {
    const n = d.parent ? idLen(d) : 1;
    size += 8 + n + (n % 2);
  }
  return size;
}

const fidLength = (nameBytes: number): number => Math.ceil((38 + nameBytes) / 4) * 4;

function udfDirSize(dir: DirNode): number {
  let size = fidLength(0);
  for (const c of dir.udfChildren) size += fidLength(cs0(c.udfName).length);
  return size;
}

// ---------------------------------------------------------------------------------------------------------------------
// Allocation

interface Allocation {
  tree: Tree;
  isoDirs: DirNode[];
  jolietDirs: DirNode[];
  udfDirs: DirNode[];
  bootRecord: number | null;
  svd: number;
  terminator: number;
  bea: number;
  isoPathSize: number;
  isoPathL: number;
  isoPathM: number;
  jolietPathSize: number;
  jolietPathL: number;
  jolietPathM: number;
  catalog: number | null;
  partition: number;
  partitionEnd: number;
  nextUniqueId: number;
  lastBlock: number;
  blocks: number;
}

function allocate(options: IsoOptions): Allocation {
  const tree = buildTree(options);
  const { root } = tree;
  nameTree(root);
  const isoDirs = breadthFirst(root, (d) => d.isoChildren);
  const jolietDirs = breadthFirst(root, (d) => d.jolietChildren);
  const udfDirs = breadthFirst(root, (d) => d.udfChildren);
  if (isoDirs.length > 0xffff) throw new InputError(`${isoDirs.length} folders: more than the 65535 an ISO 9660 path table can number.`);

  let block = 16;
  block++; // primary
  const boot = tree.bios !== null || tree.efi !== null;
  const bootRecord = boot ? block++ : null;
  const svd = block++;
  const terminator = block++;
  const bea = block;
  block += 3;
  if (block > UDF_MAIN_VDS) throw new Error('volume descriptors overlap the UDF sequence');

  let next = FIRST_FREE;
  const alloc = (n: number): number => {
    if (n > 0 && next <= AVDP_BLOCK && next + n > AVDP_BLOCK) next = AVDP_BLOCK + 1;
    const b = next;
    next += n;
    return b;
  };

  for (const d of isoDirs) {
    d.isoSize = dirSize(d.isoChildren, (e) => e.isoId.length);
    d.isoBlock = alloc(d.isoSize / ISO_BLOCK);
  }
  isoDirs.forEach((d, i) => (d.isoNumber = i + 1));
  const isoPathSize = pathTableSize(isoDirs, (d) => d.isoId.length);
  const isoPathL = alloc(blocksOf(isoPathSize));
  const isoPathM = alloc(blocksOf(isoPathSize));

  for (const d of jolietDirs) {
    d.jolietSize = dirSize(d.jolietChildren, (e) => e.jolietId.length * 2);
    d.jolietBlock = alloc(d.jolietSize / ISO_BLOCK);
  }
  jolietDirs.forEach((d, i) => (d.jolietNumber = i + 1));
  const jolietPathSize = pathTableSize(jolietDirs, (d) => d.jolietId.length * 2);
  const jolietPathL = alloc(blocksOf(jolietPathSize));
  const jolietPathM = alloc(blocksOf(jolietPathSize));
  const catalog = boot ? alloc(1) : null;

  // UDF partition: FSD + terminator, directories (file entry + identifiers), file entries.
  if (next <= AVDP_BLOCK) next = AVDP_BLOCK + 1;
  const partition = alloc(2);
  let uniqueId = 16;
  for (const d of udfDirs) {
    d.udfUniqueId = d === root ? 0 : uniqueId++;
    d.udfDataSize = udfDirSize(d);
    d.udfFe = alloc(1);
    d.udfData = alloc(blocksOf(d.udfDataSize));
  }
  for (const f of tree.files) {
    f.udfUniqueId = uniqueId++;
    f.udfFe = alloc(1);
  }
  for (const f of tree.files) f.block = f.size > 0 ? alloc(blocksOf(f.size)) : 0;
  const partitionEnd = next;
  const lastBlock = alloc(1);
  return {
    tree,
    isoDirs,
    jolietDirs,
    udfDirs,
    bootRecord,
    svd,
    terminator,
    bea,
    isoPathSize,
    isoPathL,
    isoPathM,
    jolietPathSize,
    jolietPathL,
    jolietPathM,
    catalog,
    partition,
    partitionEnd,
    nextUniqueId: uniqueId,
    lastBlock,
    blocks: next,
  };
}

export interface IsoMeasure {
  /** Blocks of the whole image. */
  blocks: number;
  /** Blocks of file data (each file rounded up to whole blocks). */
  dataBlocks: number;
  /** Everything else: descriptors, trees, path tables, catalog, UDF structures, anchors and padding. */
  overheadBlocks: number;
}

/** The size planIso would give, without building any structure: cheap enough to call for every packing decision. */
export function measureIso(options: IsoOptions): IsoMeasure {
  const a = allocate(options);
  const dataBlocks = a.tree.files.reduce((s, f) => s + blocksOf(f.size), 0);
  return { blocks: a.blocks, dataBlocks, overheadBlocks: a.blocks - dataBlocks };
}

export interface IsoOverheadInput {
  /** Files (or parts of files) on the disc. */
  files: number;
  /** Folders, the root excluded. */
  folders: number;
  /** Longest name (one path component), in UTF-16 code units; default 255. */
  maxNameChars?: number;
  /** Extra ISO 9660 records for files of 4 GiB or more: Σ (ceil(size / (4 GiB − 2048)) − 1); default 0. */
  extraExtents?: number;
}

/**
 * An upper bound of measureIso's overheadBlocks for any disc with these counts, for a packer that adds files one by
 * one (then checks the disc once with measureIso).
 */
export function isoOverheadBoundBlocks(input: IsoOverheadInput): number {
  const { files, folders } = input;
  const n = Math.min(input.maxNameChars ?? 255, 255);
  const entries = files + folders;
  // ISO 9660 and Joliet records (a record never crosses a block, so at most 255 bytes of a block are lost): counted
  // twice, which also covers an allocation moved past the anchor at block 256.
  const isoRecord = recordLength(ISO_DIR_MAX);
  const jolietRecord = recordLength(2 * Math.min(n, JOLIET_MAX));
  const treeBytes = entries * (isoRecord + jolietRecord) + (input.extraExtents ?? 0) * isoRecord + (folders + 1) * 4 * 34;
  const treeBlocks = 2 * Math.ceil(treeBytes / (ISO_BLOCK - 255)) + 2 * (folders + 1);
  const pathTables = 4 * (blocksOf((folders + 1) * (8 + 2 * JOLIET_MAX)) + 1);
  // UDF: a file entry per file and folder, identifiers (the parent's and one per entry), a partial block per folder.
  const udf = entries + 1 + blocksOf((entries + folders + 1) * fidLength(UDF_NAME_BYTES)) + (folders + 1);
  // System area, descriptors, the UDF sequences and anchors, FSD, catalog.
  const fixed = AVDP_BLOCK + 1 + 2 + 1 + 1;
  return fixed + treeBlocks + pathTables + udf;
}

// ---------------------------------------------------------------------------------------------------------------------
// Encoding helpers

function both16(b: Buffer, off: number, v: number): void {
  b.writeUInt16LE(v, off);
  b.writeUInt16BE(v, off + 2);
}

function both32(b: Buffer, off: number, v: number): void {
  b.writeUInt32LE(v, off);
  b.writeUInt32BE(v, off + 4);
}

function checkTime(t: Date): void {
  if (!(t instanceof Date) || Number.isNaN(t.getTime())) throw new InputError('the image timestamp is not a valid date.');
  const y = t.getUTCFullYear();
  if (y < 1970 || y > 2155) throw new InputError(`the image timestamp ${t.toISOString()} is outside the years ISO 9660 can record (1970–2155).`);
}

function isoTime7(t: Date): Buffer {
  return Buffer.from([t.getUTCFullYear() - 1900, t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds(), 0]);
}

function isoTime17(t: Date | null): Buffer {
  const b = Buffer.alloc(17, 0x30);
  b[16] = 0;
  if (!t) return b;
  const p = (n: number, w: number): string => String(n).padStart(w, '0');
  const s = `${p(t.getUTCFullYear(), 4)}${p(t.getUTCMonth() + 1, 2)}${p(t.getUTCDate(), 2)}${p(t.getUTCHours(), 2)}${p(t.getUTCMinutes(), 2)}${p(t.getUTCSeconds(), 2)}${p(Math.floor(t.getUTCMilliseconds() / 10), 2)}`;
  b.write(s, 0, 'latin1');
  return b;
}

function aChars(s: string | undefined, len: number): Buffer {
  const b = Buffer.alloc(len, 0x20);
  if (s) b.write(windowsUpper(s).replace(/[^A-Z0-9_ !"%&'()*+,\-./:;<=>?]/g, '_').slice(0, len), 0, 'latin1');
  return b;
}

function ucs2Field(s: string | undefined, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i + 1 < len; i += 2) b.writeUInt16BE(0x20, i);
  if (s) ucs2be(cut(s, Math.floor(len / 2))).copy(b, 0);
  return b;
}

/** The ISO 9660 volume id: upper case d-characters, at most 32. */
export function isoVolumeId(label: string): string {
  return dChars(label).slice(0, 32);
}

function writeRecord(b: Buffer, off: number, id: Buffer, extent: number, size: number, flags: number, time: Buffer): number {
  const len = recordLength(id.length);
  b[off] = len;
  b[off + 1] = 0;
  both32(b, off + 2, extent);
  both32(b, off + 10, size);
  time.copy(b, off + 18);
  b[off + 25] = flags;
  b[off + 26] = 0;
  b[off + 27] = 0;
  both16(b, off + 28, 1);
  b[off + 32] = id.length;
  id.copy(b, off + 33);
  return len;
}

interface TreeView {
  size: (d: DirNode) => number;
  block: (d: DirNode) => number;
  children: (d: DirNode) => Child[];
  id: (e: Child) => Buffer;
}

function serializeDir(dir: DirNode, view: TreeView, time: Buffer): Buffer {
  const b = Buffer.alloc(view.size(dir));
  let pos = 0;
  const put = (id: Buffer, extent: number, size: number, flags: number): void => {
    const len = recordLength(id.length);
    if ((pos % ISO_BLOCK) + len > ISO_BLOCK) pos = Math.ceil(pos / ISO_BLOCK) * ISO_BLOCK;
    pos += writeRecord(b, pos, id, extent, size, flags, time);
  };
  const parent = dir.parent ?? dir;
  put(Buffer.from([0]), view.block(dir), view.size(dir), 2);
  put(Buffer.from([1]), view.block(parent), view.size(parent), 2);
  for (const c of view.children(dir)) {
    const id = view.id(c);
    if (c.kind === 'dir') {
      put(id, view.block(c), view.size(c), 2);
      continue;
    }
    const n = isoExtentCount(c);
    for (let i = 0; i < n; i++) {
      const size = Math.min(ISO_MAX_EXTENT, c.size - i * ISO_MAX_EXTENT);
      put(id, c.size === 0 ? 0 : c.block + i * (ISO_MAX_EXTENT / ISO_BLOCK), size, i < n - 1 ? 0x80 : 0);
    }
  }
  return b;
}

function serializePathTable(dirs: DirNode[], view: TreeView, number: (d: DirNode) => number, size: number, littleEndian: boolean): Buffer {
  const b = Buffer.alloc(size);
  let pos = 0;
  for (const d of dirs) {
    const id = d.parent ? view.id(d) : Buffer.from([0]);
    b[pos] = id.length;
    b[pos + 1] = 0;
    if (littleEndian) {
      b.writeUInt32LE(view.block(d), pos + 2);
      b.writeUInt16LE(d.parent ? number(d.parent) : 1, pos + 6);
    } else {
      b.writeUInt32BE(view.block(d), pos + 2);
      b.writeUInt16BE(d.parent ? number(d.parent) : 1, pos + 6);
    }
    id.copy(b, pos + 8);
    pos += 8 + id.length + (id.length % 2);
  }
  return b;
}

interface VolumeDescriptorArgs {
  type: 1 | 2;
  options: IsoOptions;
  blocks: number;
  pathSize: number;
  pathL: number;
  pathM: number;
  root: DirNode;
  view: TreeView;
  time: Date;
}

function volumeDescriptor(a: VolumeDescriptorArgs): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  const joliet = a.type === 2;
  b[0] = a.type;
  b.write('CD001', 1, 'latin1');
  b[6] = 1;
  const text = (s: string | undefined, off: number, len: number): void => {
    (joliet ? ucs2Field(s, len) : aChars(s, len)).copy(b, off);
  };
  text(a.options.systemId ?? '', 8, 32);
  if (joliet) ucs2Field(a.options.volumeId, 32).copy(b, 40);
  else {
    const v = Buffer.alloc(32, 0x20);
    v.write(isoVolumeId(a.options.volumeId), 0, 'latin1');
    v.copy(b, 40);
  }
  both32(b, 80, a.blocks);
  if (joliet) b.write('%/E', 88, 'latin1');
  both16(b, 120, 1);
  both16(b, 124, 1);
  both16(b, 128, ISO_BLOCK);
  both32(b, 132, a.pathSize);
  b.writeUInt32LE(a.pathL, 140);
  b.writeUInt32BE(a.pathM, 148);
  writeRecord(b, 156, Buffer.from([0]), a.view.block(a.root), a.view.size(a.root), 2, isoTime7(a.time));
  text(a.options.volumeId, 190, 128);
  text(a.options.publisherId, 318, 128);
  text(a.options.preparerId, 446, 128);
  text(a.options.applicationId, 574, 128);
  for (const off of [702, 739, 776]) b.fill(joliet ? 0 : 0x20, off, off + 37);
  isoTime17(a.time).copy(b, 813);
  isoTime17(a.time).copy(b, 830);
  isoTime17(null).copy(b, 847);
  isoTime17(a.time).copy(b, 864);
  b[881] = 1;
  return b;
}

function bootRecordDescriptor(catalog: number): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  b[0] = 0;
  b.write('CD001', 1, 'latin1');
  b[6] = 1;
  b.write('EL TORITO SPECIFICATION', 7, 'latin1');
  b.writeUInt32LE(catalog, 71);
  return b;
}

function terminatorDescriptor(): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  b[0] = 255;
  b.write('CD001', 1, 'latin1');
  b[6] = 1;
  return b;
}

function recognitionDescriptor(id: string): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  b.write(id, 1, 'latin1');
  b[6] = 1;
  return b;
}

/** El Torito sector count: 512-byte units; the UEFI image gets 0 ("to the end") when it does not fit 16 bits. */
export function bootSectorCount(size: number): number {
  const n = Math.ceil(size / 512);
  return n <= 0xffff ? n : 0;
}

function bootCatalog(bios: FileNode | null, efi: FileNode | null): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  const first = bios ?? (efi as FileNode);
  // Validation entry.
  b[0] = 1;
  b[1] = bios ? 0 : 0xef;
  b[30] = 0x55;
  b[31] = 0xaa;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + b.readUInt16LE(i)) & 0xffff;
  b.writeUInt16LE((0x10000 - sum) & 0xffff, 28);
  const entry = (off: number, f: FileNode): void => {
    b[off] = 0x88;
    b[off + 1] = 0; // no emulation
    b.writeUInt16LE(0, off + 2); // load segment 0 = 0x07C0
    b[off + 4] = 0;
    b.writeUInt16LE(bootSectorCount(f.size), off + 6);
    b.writeUInt32LE(f.block, off + 8);
  };
  entry(32, first);
  if (bios && efi) {
    b[64] = 0x91; // last section header
    b[65] = 0xef;
    b.writeUInt16LE(1, 66);
    entry(96, efi);
  }
  return b;
}

// UDF ------------------------------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC-16-CCITT (polynomial 0x1021, initial 0), as ECMA-167 7.2.6 computes descriptor CRCs. */
export function crc16(b: Buffer, start = 0, end = b.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ b[i]) & 0xff];
  return crc;
}

/** Fills in the 16-byte tag of the descriptor at `off` whose body (bytes 16 … 16 + crcLength) is already written. */
function udfTag(b: Buffer, off: number, id: number, location: number, crcLength: number): void {
  b.writeUInt16LE(id, off);
  b.writeUInt16LE(2, off + 2);
  b[off + 4] = 0;
  b[off + 5] = 0;
  b.writeUInt16LE(1, off + 6);
  b.writeUInt16LE(crc16(b, off + 16, off + 16 + crcLength), off + 8);
  b.writeUInt16LE(crcLength, off + 10);
  b.writeUInt32LE(location, off + 12);
  let sum = 0;
  for (let i = 0; i < 16; i++) if (i !== 4) sum += b[off + i];
  b[off + 4] = sum & 0xff;
}

/** OSTA CS0 compressed unicode: compression id 8 (one byte a character) or 16 (UCS-2 big-endian), then the characters. */
function cs0(s: string): Buffer {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\xff]*$/.test(s)) {
    const b = Buffer.alloc(1 + s.length);
    b[0] = 8;
    b.write(s, 1, 'latin1');
    return b;
  }
  return Buffer.concat([Buffer.from([16]), ucs2be(s)]);
}

function dstring(b: Buffer, off: number, len: number, s: string): void {
  if (s === '') return;
  // eslint-disable-next-line no-control-regex
  const wide = !/^[\x00-\xff]*$/.test(s);
  const enc = cs0(cut(s, wide ? Math.floor((len - 2) / 2) : len - 2));
  enc.copy(b, off);
  b[off + len - 1] = enc.length;
}

function charspec(b: Buffer, off: number): void {
  b[off] = 0;
  b.write('OSTA Compressed Unicode', off + 1, 'latin1');
}

const OS_CLASS = 0;
const OS_ID = 0;
function regid(b: Buffer, off: number, id: string, suffix: number[] = []): void {
  b[off] = 0;
  b.write(id, off + 1, 'latin1');
  Buffer.from(suffix).copy(b, off + 24);
}
const implId = (b: Buffer, off: number): void => regid(b, off, '*tsmedia', [OS_CLASS, OS_ID]);
const udfId = (b: Buffer, off: number, id: string): void => regid(b, off, id, [0x02, 0x01, OS_CLASS, OS_ID]);
const domainId = (b: Buffer, off: number): void => regid(b, off, '*OSTA UDF Compliant', [0x02, 0x01, 0]);

function udfTime(b: Buffer, off: number, t: Date): void {
  b.writeUInt16LE(0x1000, off); // type 1 (local time), offset 0 minutes: UTC
  b.writeInt16LE(t.getUTCFullYear(), off + 2);
  b[off + 4] = t.getUTCMonth() + 1;
  b[off + 5] = t.getUTCDate();
  b[off + 6] = t.getUTCHours();
  b[off + 7] = t.getUTCMinutes();
  b[off + 8] = t.getUTCSeconds();
  const ms = t.getUTCMilliseconds();
  b[off + 9] = Math.floor(ms / 10);
  b[off + 10] = (ms % 10) * 10;
  b[off + 11] = 0;
}

function longAd(b: Buffer, off: number, length: number, block: number, uniqueId?: number): void {
  b.writeUInt32LE(length, off);
  b.writeUInt32LE(block, off + 4);
  b.writeUInt16LE(0, off + 8);
  if (uniqueId !== undefined) b.writeUInt32LE(uniqueId >>> 0, off + 12);
}

function writeU64(b: Buffer, off: number, v: number): void {
  b.writeUInt32LE(v % 0x1_0000_0000, off);
  b.writeUInt32LE(Math.floor(v / 0x1_0000_0000), off + 4);
}

/** A hex prefix unique to this volume but deterministic: FNV-1a of the label and the time. */
function volumeSetPrefix(label: string, t: Date): string {
  let h = 0x811c9dc5;
  for (const c of `${label}|${t.toISOString()}`) h = Math.imul(h ^ (c.codePointAt(0) as number), 0x01000193) >>> 0;
  const secs = Math.floor(t.getTime() / 1000) >>> 0;
  return secs.toString(16).toUpperCase().padStart(8, '0') + h.toString(16).toUpperCase().padStart(8, '0');
}

interface UdfVdsArgs {
  label: string;
  time: Date;
  partition: number;
  partitionLength: number;
  fsdBlock: number;
}

/** The volume descriptor sequence written at `start` (main or reserve): 6 descriptors, one block each. */
function udfVds(meta: Buffer, metaBase: number, start: number, a: UdfVdsArgs): void {
  const at = (blk: number): number => (blk - metaBase) * ISO_BLOCK;
  let seq = 0;
  // Primary volume descriptor.
  let o = at(start);
  meta.writeUInt32LE(++seq, o + 16);
  meta.writeUInt32LE(0, o + 20);
  dstring(meta, o + 24, 32, a.label);
  meta.writeUInt16LE(1, o + 56);
  meta.writeUInt16LE(1, o + 58);
  meta.writeUInt16LE(2, o + 60);
  meta.writeUInt16LE(2, o + 62);
  meta.writeUInt32LE(1, o + 64);
  meta.writeUInt32LE(1, o + 68);
  dstring(meta, o + 72, 128, volumeSetPrefix(a.label, a.time) + a.label);
  charspec(meta, o + 200);
  charspec(meta, o + 264);
  implId(meta, o + 344);
  udfTime(meta, o + 376, a.time);
  implId(meta, o + 388);
  udfTag(meta, o, 1, start, 512 - 16);
  // Implementation use volume descriptor (LV info).
  o = at(start + 1);
  meta.writeUInt32LE(++seq, o + 16);
  udfId(meta, o + 20, '*UDF LV Info');
  charspec(meta, o + 52);
  dstring(meta, o + 116, 128, a.label);
  implId(meta, o + 352);
  udfTag(meta, o, 4, start + 1, 512 - 16);
  // Partition descriptor.
  o = at(start + 2);
  meta.writeUInt32LE(++seq, o + 16);
  meta.writeUInt16LE(1, o + 20); // allocated
  meta.writeUInt16LE(0, o + 22); // partition number
  regid(meta, o + 24, '+NSR02');
  meta.writeUInt32LE(1, o + 184); // read-only
  meta.writeUInt32LE(a.partition, o + 188);
  meta.writeUInt32LE(a.partitionLength, o + 192);
  implId(meta, o + 196);
  udfTag(meta, o, 5, start + 2, 512 - 16);
  // Logical volume descriptor.
  o = at(start + 3);
  meta.writeUInt32LE(++seq, o + 16);
  charspec(meta, o + 20);
  dstring(meta, o + 84, 128, a.label);
  meta.writeUInt32LE(ISO_BLOCK, o + 212);
  domainId(meta, o + 216);
  longAd(meta, o + 248, ISO_BLOCK, a.fsdBlock);
  meta.writeUInt32LE(6, o + 264);
  meta.writeUInt32LE(1, o + 268);
  implId(meta, o + 272);
  meta.writeUInt32LE(UDF_LVID_BLOCKS * ISO_BLOCK, o + 432);
  meta.writeUInt32LE(UDF_LVID, o + 436);
  meta[o + 440] = 1; // type 1 partition map
  meta[o + 441] = 6;
  meta.writeUInt16LE(1, o + 442); // volume sequence number
  meta.writeUInt16LE(0, o + 444); // partition number
  udfTag(meta, o, 6, start + 3, 446 - 16);
  // Unallocated space descriptor: none.
  o = at(start + 4);
  meta.writeUInt32LE(++seq, o + 16);
  meta.writeUInt32LE(0, o + 20);
  udfTag(meta, o, 7, start + 4, 24 - 16);
  // Terminating descriptor.
  o = at(start + 5);
  udfTag(meta, o, 8, start + 5, 512 - 16);
}

/** A whole block, so an image ending with it has its full size even when written sparse. */
function avdp(block: number): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  b.writeUInt32LE(UDF_VDS_BLOCKS * ISO_BLOCK, 16);
  b.writeUInt32LE(UDF_MAIN_VDS, 20);
  b.writeUInt32LE(UDF_VDS_BLOCKS * ISO_BLOCK, 24);
  b.writeUInt32LE(UDF_RESERVE_VDS, 28);
  udfTag(b, 0, 2, block, 512 - 16);
  return b;
}

const PERM_DIR = 0x14a5; // r-x for owner, group, others
const PERM_FILE = 0x1084 | 0x0421; // r-x as well: Windows ignores it, Linux can run scripts from the disc

/** A file entry (ECMA-167 4/14.9) with short_ads for `size` bytes at partition block `dataRel`. */
function fileEntry(rel: number, fileType: 4 | 5, size: number, dataRel: number, links: number, uniqueId: number, time: Date): Buffer {
  const ads: [number, number][] = [];
  for (let done = 0; done < size; done += UDF_MAX_EXTENT) ads.push([Math.min(UDF_MAX_EXTENT, size - done), dataRel + done / ISO_BLOCK]);
  const b = Buffer.alloc(176 + ads.length * 8);
  b.writeUInt32LE(0, 16); // prior recorded direct entries
  b.writeUInt16LE(4, 20); // strategy 4
  b.writeUInt16LE(1, 24); // max entries
  b[27] = fileType;
  b.writeUInt16LE(0, 34); // short_ad
  b.writeUInt32LE(0xffffffff, 36); // uid: unknown
  b.writeUInt32LE(0xffffffff, 40); // gid: unknown
  b.writeUInt32LE(fileType === 4 ? PERM_DIR : PERM_FILE, 44);
  b.writeUInt16LE(links, 48);
  writeU64(b, 56, size);
  writeU64(b, 64, blocksOf(size));
  udfTime(b, 72, time);
  udfTime(b, 84, time);
  udfTime(b, 96, time);
  b.writeUInt32LE(1, 108); // checkpoint
  implId(b, 128);
  writeU64(b, 160, uniqueId);
  b.writeUInt32LE(0, 168);
  b.writeUInt32LE(ads.length * 8, 172);
  ads.forEach(([len, pos], i) => {
    b.writeUInt32LE(len, 176 + i * 8);
    b.writeUInt32LE(pos, 180 + i * 8);
  });
  udfTag(b, 0, 261, rel, b.length - 16);
  return b;
}

/** A directory's file identifier descriptors (parent first), tags located at their partition blocks. */
function udfDirData(dir: DirNode, partition: number): Buffer {
  const b = Buffer.alloc(dir.udfDataSize);
  const dataRel = dir.udfData - partition;
  let pos = 0;
  const fid = (characteristics: number, name: Buffer, feRel: number, uniqueId: number): void => {
    const len = fidLength(name.length);
    b.writeUInt16LE(1, pos + 16);
    b[pos + 18] = characteristics;
    b[pos + 19] = name.length;
    longAd(b, pos + 20, ISO_BLOCK, feRel, uniqueId);
    b.writeUInt16LE(0, pos + 36);
    name.copy(b, pos + 38);
    udfTag(b, pos, 257, dataRel + Math.floor(pos / ISO_BLOCK), len - 16);
    pos += len;
  };
  const parent = dir.parent ?? dir;
  fid(0x0a, Buffer.alloc(0), parent.udfFe - partition, parent.udfUniqueId);
  for (const c of dir.udfChildren) {
    fid(c.kind === 'dir' ? 0x02 : 0, cs0(c.udfName), c.udfFe - partition, c.udfUniqueId);
  }
  return b;
}

// ---------------------------------------------------------------------------------------------------------------------

/** Plans the whole image. Throws InputError for duplicate paths, a file that is also a folder, or missing boot images. */
export function planIso(options: IsoOptions): IsoPlan {
  checkTime(options.timestamp);
  const a = allocate(options);
  const { tree } = a;
  const time = options.timestamp;
  const t7 = isoTime7(time);
  const regions: ImageRegion[] = [];
  const extents: ImageExtent[] = [];

  // Descriptors, UDF volume structures and the ISO/Joliet trees: one buffer from block 16 to the partition.
  const metaBase = 16;
  const meta = Buffer.alloc((a.partition - metaBase) * ISO_BLOCK);
  const put = (blk: number, data: Buffer): void => {
    data.copy(meta, (blk - metaBase) * ISO_BLOCK);
  };
  const isoView: TreeView = { size: (d) => d.isoSize, block: (d) => d.isoBlock, children: (d) => d.isoChildren, id: isoIdBytes };
  const jolietView: TreeView = { size: (d) => d.jolietSize, block: (d) => d.jolietBlock, children: (d) => d.jolietChildren, id: jolietIdBytes };
  const vd = { options, blocks: a.blocks, root: tree.root, time };
  put(16, volumeDescriptor({ ...vd, type: 1, pathSize: a.isoPathSize, pathL: a.isoPathL, pathM: a.isoPathM, view: isoView }));
  if (a.bootRecord !== null && a.catalog !== null) put(a.bootRecord, bootRecordDescriptor(a.catalog));
  put(a.svd, volumeDescriptor({ ...vd, type: 2, pathSize: a.jolietPathSize, pathL: a.jolietPathL, pathM: a.jolietPathM, view: jolietView }));
  put(a.terminator, terminatorDescriptor());
  put(a.bea, recognitionDescriptor('BEA01'));
  put(a.bea + 1, recognitionDescriptor('NSR02'));
  put(a.bea + 2, recognitionDescriptor('TEA01'));

  for (const d of a.isoDirs) put(d.isoBlock, serializeDir(d, isoView, t7));
  put(a.isoPathL, serializePathTable(a.isoDirs, isoView, (d) => d.isoNumber, a.isoPathSize, true));
  put(a.isoPathM, serializePathTable(a.isoDirs, isoView, (d) => d.isoNumber, a.isoPathSize, false));
  for (const d of a.jolietDirs) put(d.jolietBlock, serializeDir(d, jolietView, t7));
  put(a.jolietPathL, serializePathTable(a.jolietDirs, jolietView, (d) => d.jolietNumber, a.jolietPathSize, true));
  put(a.jolietPathM, serializePathTable(a.jolietDirs, jolietView, (d) => d.jolietNumber, a.jolietPathSize, false));
  if (a.catalog !== null) put(a.catalog, bootCatalog(tree.bios, tree.efi));

  // UDF volume structures.
  const label = options.volumeId;
  const vds: UdfVdsArgs = { label, time, partition: a.partition, partitionLength: a.partitionEnd - a.partition, fsdBlock: 0 };
  udfVds(meta, metaBase, UDF_MAIN_VDS, vds);
  udfVds(meta, metaBase, UDF_RESERVE_VDS, vds);
  const fileCount = tree.files.length;
  const dirCount = a.udfDirs.length;
  {
    const o = (UDF_LVID - metaBase) * ISO_BLOCK;
    udfTime(meta, o + 16, time);
    meta.writeUInt32LE(1, o + 28); // close
    writeU64(meta, o + 40, a.nextUniqueId);
    meta.writeUInt32LE(1, o + 72);
    meta.writeUInt32LE(46, o + 76);
    meta.writeUInt32LE(0, o + 80); // free space
    meta.writeUInt32LE(a.partitionEnd - a.partition, o + 84); // size
    implId(meta, o + 88);
    meta.writeUInt32LE(fileCount, o + 120);
    meta.writeUInt32LE(dirCount, o + 124);
    meta.writeUInt16LE(0x0102, o + 128);
    meta.writeUInt16LE(0x0102, o + 130);
    meta.writeUInt16LE(0x0102, o + 132);
    udfTag(meta, o, 9, UDF_LVID, 134 - 16);
    udfTag(meta, o + ISO_BLOCK, 8, UDF_LVID + 1, 512 - 16);
  }
  avdp(AVDP_BLOCK).copy(meta, (AVDP_BLOCK - metaBase) * ISO_BLOCK);
  regions.push({ offset: metaBase * ISO_BLOCK, data: meta });

  // Partition: file set descriptor + terminator.
  const p = a.partition;
  {
    const b = Buffer.alloc(ISO_BLOCK + 512);
    udfTime(b, 16, time);
    b.writeUInt16LE(3, 28);
    b.writeUInt16LE(3, 30);
    b.writeUInt32LE(1, 32);
    b.writeUInt32LE(1, 36);
    charspec(b, 48);
    dstring(b, 112, 128, label);
    charspec(b, 240);
    dstring(b, 304, 32, label);
    longAd(b, 400, ISO_BLOCK, tree.root.udfFe - p);
    domainId(b, 416);
    udfTag(b, 0, 256, 0, 512 - 16);
    udfTag(b, ISO_BLOCK, 8, 1, 512 - 16);
    regions.push({ offset: p * ISO_BLOCK, data: b });
  }
  for (const d of a.udfDirs) {
    const links = 1 + d.dirs.size;
    regions.push({ offset: d.udfFe * ISO_BLOCK, data: fileEntry(d.udfFe - p, 4, d.udfDataSize, d.udfData - p, links, d.udfUniqueId, time) });
    regions.push({ offset: d.udfData * ISO_BLOCK, data: udfDirData(d, p) });
  }
  for (const f of tree.files) {
    regions.push({ offset: f.udfFe * ISO_BLOCK, data: fileEntry(f.udfFe - p, 5, f.size, f.size > 0 ? f.block - p : 0, 1, f.udfUniqueId, time) });
    if (f.size > 0) extents.push({ offset: f.block * ISO_BLOCK, size: f.size, sourceOffset: f.sourceOffset, source: f.source, path: f.path });
  }
  regions.push({ offset: a.lastBlock * ISO_BLOCK, data: avdp(a.lastBlock) });
  regions.sort((x, y) => x.offset - y.offset);
  return { size: a.blocks * ISO_BLOCK, blocks: a.blocks, regions, extents };
}
