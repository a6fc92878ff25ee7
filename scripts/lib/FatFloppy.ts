// A 1.44 MB FAT12 floppy image built in memory, deterministic (fixed timestamps and volume serial).
// Geometry and BPB as `mkfs.fat -C IMG 1440` writes them: 512-byte sectors, 1 sector per cluster, 1 reserved sector,
// 2 FATs of 9 sectors, 224 root entries, 2880 sectors, media 0xF0, 18 sectors per track, 2 heads.
// This is what Windows media carries as efi\microsoft\boot\efisys.bin (the UEFI El Torito image): the firmware
// treats it as an EFI system partition and starts \EFI\BOOT\BOOTX64.EFI from it.
// Names must be 8.3 (they are upper-cased); no long-name (VFAT) entries are written.

export interface FloppyFile {
  /** "/" or "\" separated path, e.g. "EFI/BOOT/BOOTX64.EFI". */
  path: string;
  data: Buffer;
}

const SECTOR = 512;
const TOTAL_SECTORS = 2880;
const RESERVED = 1;
const FATS = 2;
const FAT_SECTORS = 9;
const ROOT_ENTRIES = 224;
const ROOT_SECTORS = (ROOT_ENTRIES * 32) / SECTOR; // 14
const FIRST_DATA_SECTOR = RESERVED + FATS * FAT_SECTORS + ROOT_SECTORS; // 33
const CLUSTER_COUNT = TOTAL_SECTORS - FIRST_DATA_SECTOR; // 2847 clusters, numbered 2..2848
const MEDIA = 0xf0;
const END_OF_CHAIN = 0xfff;
/** Fixed volume serial number, so that the image is the same on every run. */
export const FLOPPY_VOLUME_SERIAL = 0x2025_0101;
/** 2025-01-01 00:00:00 in FAT date/time encoding. */
const FAT_DATE = ((2025 - 1980) << 9) | (1 << 5) | 1;
const FAT_TIME = 0;

const ATTR_ARCHIVE = 0x20;
const ATTR_DIRECTORY = 0x10;
const ATTR_VOLUME_ID = 0x08;

interface DirNode {
  name: string; // 11-byte 8.3 form, space padded
  dirs: Map<string, DirNode>;
  files: { name: string; data: Buffer; cluster: number }[];
  cluster: number; // 0 for the root directory
  clusters: number; // number of clusters the directory occupies
}

const VALID_83 = /^[A-Z0-9!#$%&'()\-@^_`{}~]+$/;

/** "BOOTX64.EFI" → "BOOTX64 EFI" (11 bytes). Throws on names that are not valid 8.3. */
function shortName(component: string, full: string): string {
  const upper = component.toUpperCase();
  const dot = upper.lastIndexOf('.');
  const base = dot < 0 ? upper : upper.slice(0, dot);
  const ext = dot < 0 ? '' : upper.slice(dot + 1);
  if (base.length < 1 || base.length > 8 || ext.length > 3 || !VALID_83.test(base) || (ext !== '' && !VALID_83.test(ext))) {
    throw new Error(`${full}: "${component}" is not an 8.3 name (up to 8 characters, a dot, up to 3 characters; A-Z 0-9 _ -).`);
  }
  return base.padEnd(8, ' ') + ext.padEnd(3, ' ');
}

function volumeLabel(label: string): string {
  const upper = label.toUpperCase();
  if (upper.length < 1 || upper.length > 11 || !/^[A-Z0-9 !#$%&'()\-@^_`{}~]+$/.test(upper)) {
    throw new Error(`Volume label "${label}": 1 to 11 characters from A-Z 0-9 space _ -.`);
  }
  return upper.padEnd(11, ' ');
}

function writeDirEntry(buf: Buffer, off: number, name11: string, attr: number, cluster: number, size: number): void {
  buf.write(name11, off, 11, 'latin1');
  buf[off + 11] = attr;
  buf[off + 12] = 0; // reserved (NT case flags)
  buf[off + 13] = 0; // creation time, tenths of a second
  buf.writeUInt16LE(FAT_TIME, off + 14); // creation time
  buf.writeUInt16LE(FAT_DATE, off + 16); // creation date
  buf.writeUInt16LE(FAT_DATE, off + 18); // last access date
  buf.writeUInt16LE(0, off + 20); // high word of the cluster (FAT32 only)
  buf.writeUInt16LE(FAT_TIME, off + 22); // write time
  buf.writeUInt16LE(FAT_DATE, off + 24); // write date
  buf.writeUInt16LE(cluster, off + 26);
  buf.writeUInt32LE(size, off + 28);
}

function setFat12(fat: Buffer, cluster: number, value: number): void {
  const off = Math.floor((cluster * 3) / 2);
  if (cluster % 2 === 0) {
    fat[off] = value & 0xff;
    fat[off + 1] = ((fat[off + 1] ?? 0) & 0xf0) | ((value >> 8) & 0x0f);
  } else {
    fat[off] = ((fat[off] ?? 0) & 0x0f) | ((value & 0x0f) << 4);
    fat[off + 1] = (value >> 4) & 0xff;
  }
}

/** Builds the 1,474,560-byte image holding `files` (parent folders created as needed) with volume label `label`. */
export function buildFatFloppy(files: readonly FloppyFile[], label: string): Buffer {
  const labelName = volumeLabel(label);
  const root: DirNode = { name: '', dirs: new Map(), files: [], cluster: 0, clusters: 0 };

  for (const f of files) {
    const parts = f.path.split(/[\\/]+/).filter((s) => s !== '');
    if (parts.length === 0) throw new Error(`"${f.path}": empty path.`);
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const n = shortName(part, f.path);
      if (node.files.some((x) => x.name === n)) throw new Error(`${f.path}: "${part}" is already a file.`);
      let next = node.dirs.get(n);
      if (!next) {
        next = { name: n, dirs: new Map(), files: [], cluster: 0, clusters: 0 };
        node.dirs.set(n, next);
      }
      node = next;
    }
    const name = shortName(parts[parts.length - 1] as string, f.path);
    if (node.dirs.has(name) || node.files.some((x) => x.name === name)) throw new Error(`${f.path}: listed twice.`);
    node.files.push({ name, data: f.data, cluster: 0 });
  }

  // Allocate clusters contiguously, directories before their contents, in name order (deterministic).
  const fat = Buffer.alloc(FAT_SECTORS * SECTOR);
  setFat12(fat, 0, 0xf00 | MEDIA);
  setFat12(fat, 1, END_OF_CHAIN);
  let nextCluster = 2;
  const allocate = (count: number, what: string): number => {
    if (count === 0) return 0;
    if (nextCluster + count - 2 > CLUSTER_COUNT) {
      throw new Error(`${what}: the files do not fit on a 1.44 MB floppy image (${CLUSTER_COUNT * SECTOR} bytes of data area).`);
    }
    const first = nextCluster;
    for (let c = first; c < first + count; c++) setFat12(fat, c, c === first + count - 1 ? END_OF_CHAIN : c + 1);
    nextCluster += count;
    return first;
  };
  const sortedDirs = (n: DirNode): DirNode[] => [...n.dirs.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const sortedFiles = (n: DirNode): DirNode['files'] => [...n.files].sort((a, b) => (a.name < b.name ? -1 : 1));

  const entriesIn = (n: DirNode): number => n.dirs.size + n.files.length;
  if (entriesIn(root) + 1 > ROOT_ENTRIES) throw new Error(`Too many entries in the root folder (at most ${ROOT_ENTRIES - 1}).`);
  const layout = (n: DirNode, path: string): void => {
    for (const d of sortedDirs(n)) {
      const slots = entriesIn(d) + 2; // "." and ".."
      d.clusters = Math.max(1, Math.ceil((slots * 32) / SECTOR));
      d.cluster = allocate(d.clusters, `${path}${d.name.trim()}`);
    }
    for (const f of sortedFiles(n)) f.cluster = allocate(Math.ceil(f.data.length / SECTOR), `${path}${f.name}`);
    for (const d of sortedDirs(n)) layout(d, `${path}${d.name.trim()}/`);
  };
  layout(root, '');

  const img = Buffer.alloc(TOTAL_SECTORS * SECTOR);
  // Boot sector.
  img[0] = 0xeb; // jmp short to the boot code at 0x3E
  img[1] = 0x3c;
  img[2] = 0x90;
  img.write('MSWIN4.1', 3, 8, 'latin1');
  img.writeUInt16LE(SECTOR, 11);
  img[13] = 1; // sectors per cluster
  img.writeUInt16LE(RESERVED, 14);
  img[16] = FATS;
  img.writeUInt16LE(ROOT_ENTRIES, 17);
  img.writeUInt16LE(TOTAL_SECTORS, 19);
  img[21] = MEDIA;
  img.writeUInt16LE(FAT_SECTORS, 22);
  img.writeUInt16LE(18, 24); // sectors per track
  img.writeUInt16LE(2, 26); // heads
  img.writeUInt32LE(0, 28); // hidden sectors
  img.writeUInt32LE(0, 32); // total sectors (32-bit), unused
  img[36] = 0x00; // drive number (floppy)
  img[37] = 0;
  img[38] = 0x29; // extended boot signature
  img.writeUInt32LE(FLOPPY_VOLUME_SERIAL, 39);
  img.write(labelName, 43, 11, 'latin1');
  img.write('FAT12   ', 54, 8, 'latin1');
  // Boot code: not bootable from BIOS; ask the BIOS for the next boot device (int 18h), else halt.
  Buffer.from([0xcd, 0x18, 0xfa, 0xf4, 0xeb, 0xfd]).copy(img, 0x3e);
  img[510] = 0x55;
  img[511] = 0xaa;

  for (let i = 0; i < FATS; i++) fat.copy(img, (RESERVED + i * FAT_SECTORS) * SECTOR);

  const clusterOffset = (c: number): number => (FIRST_DATA_SECTOR + c - 2) * SECTOR;
  const writeEntries = (n: DirNode, base: number, parentCluster: number, isRoot: boolean): void => {
    let off = base;
    if (isRoot) {
      writeDirEntry(img, off, labelName, ATTR_VOLUME_ID, 0, 0);
      off += 32;
    } else {
      writeDirEntry(img, off, '.          ', ATTR_DIRECTORY, n.cluster, 0);
      writeDirEntry(img, off + 32, '..         ', ATTR_DIRECTORY, parentCluster, 0);
      off += 64;
    }
    for (const d of sortedDirs(n)) {
      writeDirEntry(img, off, d.name, ATTR_DIRECTORY, d.cluster, 0);
      off += 32;
    }
    for (const f of sortedFiles(n)) {
      writeDirEntry(img, off, f.name, ATTR_ARCHIVE, f.cluster, f.data.length);
      if (f.data.length > 0) f.data.copy(img, clusterOffset(f.cluster));
      off += 32;
    }
    for (const d of sortedDirs(n)) writeEntries(d, clusterOffset(d.cluster), n.cluster, false);
  };
  writeEntries(root, (RESERVED + FATS * FAT_SECTORS) * SECTOR, 0, true);
  return img;
}
