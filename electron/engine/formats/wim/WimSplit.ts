// Splits a WIM (Windows image) into .swm parts so that no file on a FAT32 drive reaches 4 GiB. Each part is itself a
// WIM: a 208-byte header, whole resources copied byte for byte from the original, a lookup table listing the resources
// of that part, and the XML data. A resource is never cut: one larger than a part cannot be split.
//
// The split is planned before a byte is written: every part is an ImageLayout (generated header and lookup table as
// regions, resources and XML data as extents of the original WIM), so the USB writer can stream the parts straight from
// the content library onto the FAT32 volume with no staging copy.
//
// The WIM's own structure is read by WimHeader.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describeFsError, InputError } from '../../errors.js';
import { checkLayout, type ContentSource, type ImageExtent } from '../../io/ImageLayout.js';
import { writeImage, type WriteImageOptions } from '../../io/ImageWriter.js';
import { checkInFile, COPY_BUFFER, fail, MAGIC, MAX_PARTS, readWimHeader, readWimLookupTable, swmPartName, WIM_HEADER_SIZE, WIM_LOOKUP_ENTRY_SIZE, WIM_VERSION_SOLID, WimHeaderFlag, WimResourceFlag, writeReshdr, ZERO_RESHDR, type PlanWimSplitOptions, type WimHeader, type WimLookupEntry, type WimPartPlan, type WimResourceHeader } from './WimHeader.js';

export * from './WimHeader.js';

/** Bytes of the original WIM that go to a part whole: one resource, perhaps named by several lookup-table entries. */
interface ResourceGroup {
  offset: number;
  size: number;
  entries: WimLookupEntry[];
  metadata: boolean;
}

interface PartDraft {
  groups: ResourceGroup[];
  /** Entries without bytes (size 0): kept in part 1, ignored by readers. */
  empty: WimLookupEntry[];
  bytes: number;
}

function hex(b: Buffer): string {
  return b.toString('hex').toUpperCase();
}

function checkSplittable(h: WimHeader, p: string): void {
  if (h.totalParts !== 1 || h.flags & WimHeaderFlag.SPANNED) {
    fail(p, `already part ${h.partNumber} of a split WIM (${h.totalParts} parts); only a whole WIM can be split. Use the parts as they are, or join them first (DISM /Export-Image or wimlib-imagex join).`);
  }
  if (h.flags & WimHeaderFlag.WRITE_IN_PROGRESS) fail(p, 'the WIM is marked as still being written (an unfinished or interrupted capture). Capture or export it again.');
  if (h.flags & (WimHeaderFlag.RESOURCE_ONLY | WimHeaderFlag.METADATA_ONLY)) {
    fail(p, 'not a complete WIM (its header marks it as holding only resources or only metadata for another WIM), so its parts would be incomplete.');
  }
  if (h.imageCount === 0) fail(p, 'the WIM holds no image: there is nothing to split.');
}

/** Validates the lookup table and gathers its entries into whole resources, in the order they are in the file. */
function gatherResources(h: WimHeader, entries: WimLookupEntry[], p: string): { groups: ResourceGroup[]; empty: WimLookupEntry[] } {
  let metadataEntries = 0;
  const sized: WimLookupEntry[] = [];
  const empty: WimLookupEntry[] = [];
  for (const e of entries) {
    const r = e.resource;
    const what = `lookup-table entry ${e.index} (SHA-1 ${hex(e.hash)})`;
    if (e.partNumber !== 1) fail(p, `${what} says its resource is in part ${e.partNumber}, but this WIM is a single file: it is damaged.`);
    if (r.flags & WimResourceFlag.SOLID && h.version === WIM_VERSION_SOLID) {
      fail(
        p,
        'the WIM holds solid resources (an ESD-style WIM, LZMS compressed), which cannot be split: several files share one resource. Export the images to a normal WIM first (DISM /Export-Image /Compress:max, or wimlib-imagex export --compress=LZX).',
      );
    }
    if (!(r.flags & WimResourceFlag.COMPRESSED) && r.size !== r.originalSize) {
      fail(p, `${what} is uncompressed but its sizes disagree (${r.size} stored, ${r.originalSize} original): the WIM is damaged.`);
    }
    if (r.flags & WimResourceFlag.METADATA && e.refCount > 0) metadataEntries++;
    if (r.size === 0) {
      empty.push(e);
      continue;
    }
    checkInFile(p, h, r, `resource of ${what}`);
    sized.push(e);
  }
  if (metadataEntries < h.imageCount) {
    fail(p, `the header counts ${h.imageCount} image(s) but the lookup table has metadata for ${metadataEntries}: the WIM is damaged.`);
  }

  // One resource may be named by several entries (duplicates); partly overlapping resources mean a damaged table.
  sized.sort((a, b) => a.resource.offset - b.resource.offset || a.resource.size - b.resource.size || a.index - b.index);
  const groups: ResourceGroup[] = [];
  for (const e of sized) {
    const last = groups.at(-1);
    if (last && last.offset === e.resource.offset && last.size === e.resource.size) {
      last.entries.push(e);
      last.metadata ||= (e.resource.flags & WimResourceFlag.METADATA) !== 0;
      continue;
    }
    if (last && e.resource.offset < last.offset + last.size) {
      fail(p, `the resources of lookup-table entries ${last.entries[0].index} and ${e.index} overlap (bytes ${last.offset}–${last.offset + last.size} and ${e.resource.offset}–${e.resource.offset + e.resource.size}): the WIM is damaged.`);
    }
    groups.push({ offset: e.resource.offset, size: e.resource.size, entries: [e], metadata: (e.resource.flags & WimResourceFlag.METADATA) !== 0 });
  }
  // No resource may overlap the structures the header points at.
  const structures: [WimResourceHeader, string][] = [
    [h.lookupTable, 'lookup table'],
    [h.xmlData, 'XML data'],
    [h.integrityTable, 'integrity table'],
  ];
  for (const [s, name] of structures) {
    if (s.size === 0) continue;
    const i = firstEndingAfter(groups, s.offset);
    const g = groups[i];
    if (g && g.offset < s.offset + s.size) fail(p, `the resource of lookup-table entry ${g.entries[0].index} overlaps the ${name}: the WIM is damaged.`);
  }
  return { groups, empty };
}

/** Index of the first group (sorted, not overlapping) whose end is after `offset`; groups.length when none. */
function firstEndingAfter(groups: ResourceGroup[], offset: number): number {
  let lo = 0;
  let hi = groups.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (groups[mid].offset + groups[mid].size > offset) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The lookup-table entry of image `index` (1-based): the index-th metadata entry in use, in table order. */
function bootEntry(entries: WimLookupEntry[], index: number): WimLookupEntry | undefined {
  let n = 0;
  for (const e of entries) {
    if (e.resource.flags & WimResourceFlag.METADATA && e.refCount > 0 && ++n === index) return e;
  }
  return undefined;
}

/** The GUID of the split set: new (as wimlib and DISM make one), but derived from the input so a plan is repeatable. */
function splitGuid(h: WimHeader, maxPartBytes: number, totalParts: number): Buffer {
  return createHash('sha256').update('tsmedia swm\0').update(h.guid).update(`${h.fileSize}/${maxPartBytes}/${totalParts}`).digest().subarray(0, 16);
}

/**
 * Plans the .swm parts of a WIM without writing anything. Every part is strictly smaller than maxPartBytes (pass
 * FAT32_MAX_FILE (fat32/FatGeometry) for a FAT32 drive). Part 1 (`<baseName>000.swm`) holds every image's metadata resource; the
 * other resources follow in the order they are in the WIM, each part taking as many whole resources as fit.
 *
 * The integrity table, if the WIM has one, is dropped: rebuilding it means reading and hashing every byte of every part
 * before the first header could be written (the plan would no longer be made without reading the WIM), it is optional
 * (DISM and wimlib check it only when asked: /CheckIntegrity, --check), and each resource keeps its SHA-1 in the lookup
 * table, which readers check as they extract. (`wimlib-imagex split` rebuilds it when the WIM had one: it reads
 * everything while writing, which a plan made up front cannot.)
 */
export function planWimSplit(path: string, maxPartBytes: number, baseName: string, options: PlanWimSplitOptions = {}): WimPartPlan[] {
  if (!Number.isSafeInteger(maxPartBytes) || maxPartBytes <= WIM_HEADER_SIZE) throw new RangeError(`planWimSplit: maxPartBytes ${maxPartBytes} is not a usable part size`);
  if (baseName === '' || /[\\/:\0]/.test(baseName)) throw new InputError(`"${baseName}" cannot name .swm parts (a file name without a folder was expected).`, { file: options.label ?? path });
  const label = options.label ?? path;
  const p = label;
  const h = readWimHeader(path, p);
  checkSplittable(h, p);
  const entries = readWimLookupTable(h, p);
  const { groups, empty } = gatherResources(h, entries, p);
  const xml = h.xmlData;
  // What every part carries besides its resources and their entries: the header and the XML data.
  const fixed = WIM_HEADER_SIZE + xml.size;

  const parts: PartDraft[] = [{ groups: [], empty, bytes: fixed + WIM_LOOKUP_ENTRY_SIZE * empty.length }];
  for (const g of groups) {
    if (!g.metadata) continue;
    parts[0].groups.push(g);
    parts[0].bytes += g.size + WIM_LOOKUP_ENTRY_SIZE * g.entries.length;
  }
  if (parts[0].bytes >= maxPartBytes) {
    const meta = parts[0].groups.reduce((n, g) => n + g.size, 0);
    fail(p, `the metadata of its ${h.imageCount} image(s) (${meta} bytes) and the XML data (${xml.size} bytes) must all be in the first part, and together they reach the part size limit of ${maxPartBytes} bytes.`);
  }
  for (const g of groups) {
    if (g.metadata) continue;
    const add = g.size + WIM_LOOKUP_ENTRY_SIZE * g.entries.length;
    if (fixed + add >= maxPartBytes) {
      fail(
        p,
        `it holds a resource of ${g.size} bytes (SHA-1 ${hex(g.entries[0].hash)}, at byte ${g.offset}), too large for a part under ${maxPartBytes} bytes. A resource cannot be split across parts, so this WIM cannot be split for this media; recapture it with compression or keep the file under the limit.`,
      );
    }
    let cur = parts[parts.length - 1];
    if (cur.bytes + add >= maxPartBytes) {
      if (parts.length === MAX_PARTS) fail(p, `splitting it into parts under ${maxPartBytes} bytes would take more than ${MAX_PARTS} parts, more than a WIM can number.`);
      cur = { groups: [], empty: [], bytes: fixed };
      parts.push(cur);
    }
    cur.groups.push(g);
    cur.bytes += add;
  }

  const totalParts = parts.length;
  const guid = splitGuid(h, maxPartBytes, totalParts);
  const source: ContentSource = { kind: 'file', path, size: h.fileSize, label };
  const flags = (h.flags & ~WimHeaderFlag.WRITE_IN_PROGRESS) | (totalParts > 1 ? WimHeaderFlag.SPANNED : 0);

  return parts.map((draft, i): WimPartPlan => {
    const partNumber = i + 1;
    const fileName = swmPartName(baseName, i);
    const mediaPath = options.mediaDir ? `${options.mediaDir.replace(/[\\/]+$/, '')}/${fileName}` : fileName;
    const extents: ImageExtent[] = [];
    const newOffset = new Map<WimLookupEntry, number>();
    let pos = WIM_HEADER_SIZE;
    const inFileOrder = [...draft.groups].sort((a, b) => a.offset - b.offset);
    for (const g of inFileOrder) {
      const last = extents.at(-1);
      if (last && last.sourceOffset + last.size === g.offset && last.offset + last.size === pos) last.size += g.size;
      else extents.push({ offset: pos, size: g.size, sourceOffset: g.offset, source, path: mediaPath });
      for (const e of g.entries) newOffset.set(e, pos);
      pos += g.size;
    }
    for (const e of draft.empty) newOffset.set(e, WIM_HEADER_SIZE);

    // The lookup table keeps the original order: images are its metadata entries in table order.
    const inPart = [...newOffset.keys()].sort((a, b) => a.index - b.index);
    const table = Buffer.alloc(inPart.length * WIM_LOOKUP_ENTRY_SIZE);
    inPart.forEach((e, k) => {
      const at = k * WIM_LOOKUP_ENTRY_SIZE;
      writeReshdr(table, at, { ...e.resource, offset: newOffset.get(e) as number });
      table.writeUInt16LE(partNumber, at + 24);
      table.writeUInt32LE(e.refCount, at + 26);
      e.hash.copy(table, at + 30);
    });
    const tableOffset = pos;
    pos += table.length;
    const xmlOffset = pos;
    extents.push({ offset: xmlOffset, size: xml.size, sourceOffset: xml.offset, source, path: mediaPath });
    pos += xml.size;

    // The boot image's metadata is in part 1. Images are numbered by their metadata entries in table order (as readers
    // number them), so the boot location is taken from that entry; the other parts keep the index but no location.
    let boot = ZERO_RESHDR;
    if (partNumber === 1 && h.bootIndex !== 0) {
      const e = bootEntry(entries, h.bootIndex);
      if (e && newOffset.has(e)) boot = { ...e.resource, offset: newOffset.get(e) as number };
    }

    const header = Buffer.alloc(WIM_HEADER_SIZE);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(WIM_HEADER_SIZE, 8);
    header.writeUInt32LE(h.version, 12);
    header.writeUInt32LE(flags >>> 0, 16);
    header.writeUInt32LE(h.chunkSize, 20);
    guid.copy(header, 24);
    header.writeUInt16LE(partNumber, 40);
    header.writeUInt16LE(totalParts, 42);
    header.writeUInt32LE(h.imageCount, 44);
    writeReshdr(header, 48, { size: table.length, flags: WimResourceFlag.METADATA, offset: tableOffset, originalSize: table.length });
    writeReshdr(header, 72, { ...xml, offset: xmlOffset });
    writeReshdr(header, 96, boot);
    header.writeUInt32LE(h.bootIndex, 120);
    writeReshdr(header, 124, ZERO_RESHDR); // integrity table dropped (see above)

    const plan: WimPartPlan = {
      fileName,
      partNumber,
      totalParts,
      entryCount: inPart.length,
      size: pos,
      regions: [
        { offset: 0, data: header },
        { offset: tableOffset, data: table },
      ],
      extents,
    };
    if (plan.size !== draft.bytes || plan.size >= maxPartBytes) throw new Error(`WIM split plan bug: part ${partNumber} is ${plan.size} bytes, counted ${draft.bytes}, limit ${maxPartBytes}`);
    checkLayout(plan);
    return plan;
  });
}

export interface SplitWimResult {
  path: string;
  size: number;
  /** SHA-256 (hex, lower case) of the part as written. */
  sha256: string;
}

export interface SplitWimOptions extends PlanWimSplitOptions {
  cancelled?: WriteImageOptions['cancelled'];
  /** Bytes written so far over all parts, and the part being written. */
  onProgress?: (bytesDone: number, totalBytes: number, fileName: string) => void;
}

/**
 * Writes the planned parts as files in destDir (made if missing). Refuses a folder that already holds parts of that
 * name, so a stale `<baseName>005.swm` can never join a new set; on failure the parts written are removed.
 */
export function splitWimToFolder(path: string, destDir: string, baseName: string, maxPartBytes: number, options: SplitWimOptions = {}): SplitWimResult[] {
  const parts = planWimSplit(path, maxPartBytes, baseName, options);
  try {
    mkdirSync(destDir, { recursive: true });
  } catch (err) {
    throw new InputError(`cannot make the folder for the .swm parts: ${describeFsError(err, destDir)}`);
  }
  let existing: string[];
  try {
    existing = readdirSync(destDir);
  } catch (err) {
    throw new InputError(describeFsError(err, destDir));
  }
  const lowerBase = baseName.toLowerCase();
  const stale = existing.filter((n) => {
    const l = n.toLowerCase();
    return l.startsWith(lowerBase) && /^\d{3,}\.swm$/.test(l.slice(lowerBase.length));
  });
  if (stale.length > 0) throw new InputError(`already holds ${stale.sort()[0]}: choose an empty folder, or remove the old parts first.`, { file: destDir });

  const totalBytes = parts.reduce((n, x) => n + x.size, 0);
  const written: string[] = [];
  const results: SplitWimResult[] = [];
  let before = 0;
  try {
    for (const part of parts) {
      const out = join(destDir, part.fileName);
      let fd: number;
      try {
        fd = openSync(out, 'wx');
      } catch (err) {
        throw new InputError(`cannot create the part: ${describeFsError(err, out)}`);
      }
      written.push(out);
      try {
        const r = writeImage(part, fd, {
          bufferSize: COPY_BUFFER,
          gaps: 'zero',
          targetName: out,
          cancelled: options.cancelled,
          onProgress: (done) => options.onProgress?.(before + done, totalBytes, part.fileName),
        });
        if (r.bytes !== part.size) throw new Error(`WIM split: ${out} written with ${r.bytes} bytes, ${part.size} planned`);
        results.push({ path: out, size: part.size, sha256: r.sha256 });
      } finally {
        closeSync(fd);
      }
      before += part.size;
    }
  } catch (err) {
    for (const w of written) {
      try {
        unlinkSync(w);
      } catch {
        // already gone
      }
    }
    throw err;
  }
  return results;
}
