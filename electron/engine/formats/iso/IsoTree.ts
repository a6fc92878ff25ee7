// The disc's tree as the ISO planner sees it: the public types of a plan, the limits of each name space, and the
// folders and files with their ISO 9660, Joliet and UDF names.
import { InputError } from '../../errors.js';
import { windowsUpper } from '../windowsNames.js';
import { sourceSize, type ContentSource, type ImageLayout } from '../../io/ImageLayout.js';

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
export const AVDP_BLOCK = 256;
export const UDF_MAIN_VDS = 32;
export const UDF_RESERVE_VDS = 48;
export const UDF_VDS_BLOCKS = 16;
export const UDF_LVID = 64;
export const UDF_LVID_BLOCKS = 2;
export const FIRST_FREE = UDF_LVID + UDF_LVID_BLOCKS;
/** A UDF file entry holds its short_ads in one block: (2048 − 176) / 8 of them. */
const UDF_MAX_ADS = Math.floor((ISO_BLOCK - 176) / 8);
/** Largest file the planner accepts (as many full short_ads as one file entry holds). */
export const ISO_MAX_FILE = UDF_MAX_ADS * UDF_MAX_EXTENT;
export const JOLIET_MAX = 64;
export const ISO_FILE_MAX = 30; // including ".", ";1"
export const ISO_DIR_MAX = 31;
export const UDF_NAME_BYTES = 255;

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

export interface FileNode extends Entry {
  kind: 'file';
  path: string;
  source: ContentSource;
  sourceOffset: number;
  size: number;
  /** Absolute block of the data (0 for an empty file). */
  block: number;
  udfFe: number;
}

export interface DirNode extends Entry {
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

export type Child = DirNode | FileNode;

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

export interface Tree {
  root: DirNode;
  files: FileNode[];
  bios: FileNode | null;
  efi: FileNode | null;
}

export function buildTree(options: IsoOptions): Tree {
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
