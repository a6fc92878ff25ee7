// El Torito: the boot catalog with a BIOS no-emulation entry and a UEFI entry.
import { ISO_BLOCK, type FileNode } from './IsoTree.js';

/** El Torito sector count: 512-byte units; the UEFI image gets 0 ("to the end") when it does not fit 16 bits. */
export function bootSectorCount(size: number): number {
  const n = Math.ceil(size / 512);
  return n <= 0xffff ? n : 0;
}

export function bootCatalog(bios: FileNode | null, efi: FileNode | null): Buffer {
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
