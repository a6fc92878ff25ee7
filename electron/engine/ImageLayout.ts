// A disk image described before a byte is written: metadata regions (file system structures, generated in memory)
// and file extents (content streamed from its source). The ISO 9660/UDF planner and the FAT32 planner both produce
// one; ImageWriter streams any of them to a file or a drive, so both media paths share one copier.

/** Where a file's bytes come from. */
export type ContentSource =
  | {
      kind: 'library';
      /** Path of the blob in the content library's FileLib. */
      blobPath: string;
      /** What the content library says the whole file is: checked while it is read. */
      size: number;
      sha256: string;
      /** For messages: package/content and path of the file. */
      label: string;
    }
  | { kind: 'file'; path: string; size: number; label: string; sha256?: string }
  | { kind: 'buffer'; data: Buffer; label: string };

export function sourceSize(s: ContentSource): number {
  return s.kind === 'buffer' ? s.data.length : s.size;
}

export interface ImageRegion {
  offset: number;
  data: Buffer;
}

export interface ImageExtent {
  /** Byte offset in the image. */
  offset: number;
  /** Bytes of the source copied here. */
  size: number;
  /** Byte offset in the source (non-zero for the later parts of a file split across discs). */
  sourceOffset: number;
  source: ContentSource;
  /** The file's path on the media, for progress and messages. */
  path: string;
}

export interface ImageLayout {
  /** Total bytes of the image. */
  size: number;
  /** Generated structures; sorted by offset, not overlapping each other or any extent. */
  regions: ImageRegion[];
  /** File data; sorted by offset. */
  extents: ImageExtent[];
}

/** Checks the invariants every planner must keep; throws with the first overlap found (a planner bug). */
export function checkLayout(layout: ImageLayout): void {
  const spans = [
    ...layout.regions.map((r) => ({ start: r.offset, end: r.offset + r.data.length, what: `metadata at ${r.offset}` })),
    ...layout.extents.map((e) => ({ start: e.offset, end: e.offset + e.size, what: e.path })),
  ].sort((a, b) => a.start - b.start);
  let prevEnd = 0;
  let prev = 'start';
  for (const s of spans) {
    if (s.start < prevEnd) throw new Error(`image layout overlap: ${s.what} starts at ${s.start} inside ${prev} (ends ${prevEnd})`);
    if (s.end > layout.size) throw new Error(`image layout: ${s.what} ends at ${s.end}, past the image size ${layout.size}`);
    prevEnd = Math.max(prevEnd, s.end);
    prev = s.what;
  }
}
