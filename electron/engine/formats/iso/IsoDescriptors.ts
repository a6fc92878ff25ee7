// The volume descriptors: ISO 9660 primary and Joliet supplementary, the El Torito boot record, the set terminator,
// and the UDF recognition sequence (BEA01, NSR02, TEA01). Their text is ASCII (d- and a-characters), written as UTF-8.
import { ISO_BLOCK, type DirNode, type IsoOptions } from './IsoTree.js';
import { aChars, both16, both32, isoTime17, isoTime7, isoVolumeId, ucs2Field, writeRecord } from './IsoEncoding.js';
import { type TreeView } from './IsoDirectories.js';

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

export function volumeDescriptor(a: VolumeDescriptorArgs): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  const joliet = a.type === 2;
  b[0] = a.type;
  b.write('CD001', 1);
  b[6] = 1;
  const text = (s: string | undefined, off: number, len: number): void => {
    (joliet ? ucs2Field(s, len) : aChars(s, len)).copy(b, off);
  };
  text(a.options.systemId ?? '', 8, 32);
  if (joliet) ucs2Field(a.options.volumeId, 32).copy(b, 40);
  else {
    const v = Buffer.alloc(32, 0x20);
    v.write(isoVolumeId(a.options.volumeId), 0);
    v.copy(b, 40);
  }
  both32(b, 80, a.blocks);
  if (joliet) b.write('%/E', 88);
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

export function bootRecordDescriptor(catalog: number): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  b[0] = 0;
  b.write('CD001', 1);
  b[6] = 1;
  b.write('EL TORITO SPECIFICATION', 7);
  b.writeUInt32LE(catalog, 71);
  return b;
}

export function terminatorDescriptor(): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  b[0] = 255;
  b.write('CD001', 1);
  b[6] = 1;
  return b;
}

export function recognitionDescriptor(id: string): Buffer {
  const b = Buffer.alloc(ISO_BLOCK);
  b.write(id, 1);
  b[6] = 1;
  return b;
}
