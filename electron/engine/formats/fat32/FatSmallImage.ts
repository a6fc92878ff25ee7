// Reads the files of a small FAT12 or FAT16 volume image held in memory: the floppy-style image (efisys.bin) that a
// Windows ISO's UEFI El Torito entry boots. Fat32Reader reads FAT32 only (it refuses a fixed root directory); this
// reads the layout before FAT32 — a fixed root directory after the FATs, 12- or 16-bit FAT entries — with every
// offset checked and every chain bounded by the cluster count, so a hostile image gives an InputError, never a hang.
import { InputError } from '../../errors.js';
import { ATTR_DIRECTORY } from './FatGeometry.js';
import { parseDirectory } from './FatDirectoryParse.js';

const MAX_DEPTH = 32;
/** Below this many clusters a FAT volume is FAT12, below FAT16_MAX_CLUSTERS FAT16 (Microsoft's FAT specification). */
const FAT12_MAX_CLUSTERS = 4085;
const FAT16_MAX_CLUSTERS = 65525;

export interface FatImageFile {
  /** "/" separated, no leading slash; long names where valid, else 8.3 names. */
  path: string;
  size: number;
  data: Buffer;
}

/** Every file of the image, depth first. `where` names the image in errors. */
export function readSmallFatImage(image: Buffer, where: string): FatImageFile[] {
  const fail = (what: string): never => {
    throw new InputError(`${where}: ${what}. The image is not a FAT12/FAT16 volume this tool can read: rebuild the boot image.`);
  };
  if (image.length < 512 || image[510] !== 0x55 || image[511] !== 0xaa) fail('no boot sector signature (55 AA at byte 510)');
  const bytesPerSector = image.readUInt16LE(11);
  const sectorsPerCluster = image[13] ?? 0;
  const reserved = image.readUInt16LE(14);
  const fats = image[16] ?? 0;
  const rootEntries = image.readUInt16LE(17);
  const totalSectors = image.readUInt16LE(19) || image.readUInt32LE(32);
  const fatSectors = image.readUInt16LE(22);
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) fail(`${bytesPerSector} bytes per sector`);
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) fail(`${sectorsPerCluster} sectors per cluster`);
  if (reserved === 0 || fats === 0 || fatSectors === 0 || rootEntries === 0) fail('a FAT32 or damaged BPB (no fixed root directory or 16-bit FAT size)');
  const rootSectors = Math.ceil((rootEntries * 32) / bytesPerSector);
  const firstData = reserved + fats * fatSectors + rootSectors;
  if (totalSectors <= firstData) fail(`${totalSectors} sectors leave no data area`);
  const clusters = Math.floor((totalSectors - firstData) / sectorsPerCluster);
  if (clusters >= FAT16_MAX_CLUSTERS) fail(`${clusters} clusters make it FAT32`);
  const fat12 = clusters < FAT12_MAX_CLUSTERS;
  const fatOffset = reserved * bytesPerSector;
  const clusterBytes = sectorsPerCluster * bytesPerSector;
  const slice = (offset: number, length: number, what: string): Buffer => {
    if (offset + length > image.length) fail(`${what} lies past the image's ${image.length} bytes`);
    return image.subarray(offset, offset + length);
  };
  const fat = slice(fatOffset, fatSectors * bytesPerSector, 'the FAT');
  const next = (cluster: number): number => {
    if (!fat12) return fat.readUInt16LE(cluster * 2);
    const v = fat.readUInt16LE(Math.floor((cluster * 3) / 2));
    return cluster & 1 ? v >> 4 : v & 0xfff;
  };
  const endOfChain = fat12 ? 0xff8 : 0xfff8;
  const chain = (first: number, what: string): number[] => {
    const out: number[] = [];
    const seen = new Set<number>();
    for (let c = first; c < endOfChain; c = next(c)) {
      if (c < 2 || c >= clusters + 2) fail(`${what}: cluster ${c} is outside the volume's ${clusters} clusters`);
      if ((fat12 ? Math.floor((c * 3) / 2) : c * 2) + 2 > fat.length) fail(`${what}: cluster ${c} is past the FAT`);
      if (seen.has(c)) fail(`${what}: its cluster chain loops at cluster ${c}`);
      seen.add(c);
      out.push(c);
    }
    return out;
  };
  const readChain = (first: number, size: number | null, what: string): Buffer => {
    const parts = chain(first, what).map((c) => slice((firstData + (c - 2) * sectorsPerCluster) * bytesPerSector, clusterBytes, `${what} (cluster ${c})`));
    const data = Buffer.concat(parts);
    if (size !== null && data.length < size) fail(`${what}: ${size} bytes in ${parts.length} clusters of ${clusterBytes}`);
    return size === null ? data : data.subarray(0, size);
  };

  const files: FatImageFile[] = [];
  const walk = (dir: Buffer, prefix: string, depth: number): void => {
    if (depth > MAX_DEPTH) fail(`${prefix}: folders nested deeper than ${MAX_DEPTH}`);
    const { entries } = parseDirectory(dir, `${where}:${prefix || '/'}`, fail);
    for (const e of entries) {
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      // FAT12/16 keep the cluster's high word zero (its bytes are for other uses there).
      const cluster = e.cluster & 0xffff;
      if (e.attributes & ATTR_DIRECTORY) {
        if (cluster !== 0) walk(readChain(cluster, null, path), path, depth + 1);
      } else {
        files.push({ path, size: e.size, data: e.size === 0 || cluster === 0 ? Buffer.alloc(0) : Buffer.from(readChain(cluster, e.size, path)) });
      }
    }
  };
  walk(slice((reserved + fats * fatSectors) * bytesPerSector, rootEntries * 32, 'the root directory'), '', 0);
  return files;
}
