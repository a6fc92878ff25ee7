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
//
// Its parts, one on-disc structure family each: IsoTree (types and the tree), IsoNames, IsoSizes, IsoEncoding,
// IsoDirectories (records and path tables), IsoDescriptors, ElTorito, Udf; this module allocates the blocks and plans
// the image.
import { InputError } from '../../errors.js';
import { type ImageExtent, type ImageRegion } from '../../io/ImageLayout.js';
import { AVDP_BLOCK, buildTree, FIRST_FREE, ISO_BLOCK, UDF_LVID, UDF_MAIN_VDS, UDF_RESERVE_VDS, type DirNode, type IsoOptions, type IsoPlan, type Tree } from './IsoTree.js';
import { breadthFirst, nameTree } from './IsoNames.js';
import { blocksOf, dirSize, isoIdBytes, jolietIdBytes, pathTableSize, udfDirSize } from './IsoSizes.js';
import { checkTime, isoTime7 } from './IsoEncoding.js';
import { serializeDir, serializePathTable, type TreeView } from './IsoDirectories.js';
import { bootRecordDescriptor, recognitionDescriptor, terminatorDescriptor, volumeDescriptor } from './IsoDescriptors.js';
import { bootCatalog } from './ElTorito.js';
import { avdp, charspec, domainId, dstring, fileEntry, implId, longAd, udfDirData, udfTag, udfTime, udfVds, writeU64, type UdfVdsArgs } from './Udf.js';

export * from './IsoTree.js';
export { windowsUpper } from '../windowsNames.js';
export * from './IsoNames.js';
export * from './IsoSizes.js';
export * from './IsoEncoding.js';
export * from './IsoDirectories.js';
export * from './IsoDescriptors.js';
export * from './ElTorito.js';
export * from './Udf.js';

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
  // BEA01, NSR02, TEA01 follow in blocks 19-21 (20-22 after a boot record), before the UDF sequence at 32.
  const bea = block;

  let next = FIRST_FREE;
  const alloc = (n: number): number => {
    if (next <= AVDP_BLOCK && next + n > AVDP_BLOCK) next = AVDP_BLOCK + 1;
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
