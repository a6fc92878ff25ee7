// The content library's folder hash (DataLib\<ContentID>.INI [Info] Hash), as SPEC.md describes it: one SHA-256 over
// UTF-16LE strings, folder by folder in depth-first pre-order, subfolders in name order. For each folder: the lower-case
// relative paths of its subfolders, then of its files, then each file's uppercase SHA-256 hex; only then its first
// subfolder. Paths use "\" and have no leading separator.
import { createHash } from 'node:crypto';

export interface HashedFile {
  /** Relative path inside the content, "\" or "/" separated. */
  path: string;
  /** Uppercase SHA-256 hex of the file's bytes. */
  hash: string;
}

interface FolderNode {
  path: string;
  folders: Map<string, FolderNode>;
  files: HashedFile[];
}

export function normalizeRelativePath(p: string): string {
  return p.replace(/\//g, '\\').replace(/^\\+/, '').replace(/\\+$/, '');
}

const byName = (a: string, b: string): number => {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Folder hash of a content tree; `folders` lists every folder (empty ones included), parents implied. */
export function folderHash(files: readonly HashedFile[], folders: readonly string[] = []): string {
  const root: FolderNode = { path: '', folders: new Map(), files: [] };
  const folderAt = (rel: string): FolderNode => {
    let node = root;
    if (rel === '') return node;
    for (const part of rel.split('\\')) {
      let next = node.folders.get(part.toLowerCase());
      if (!next) {
        next = { path: node.path === '' ? part : `${node.path}\\${part}`, folders: new Map(), files: [] };
        node.folders.set(part.toLowerCase(), next);
      }
      node = next;
    }
    return node;
  };
  for (const f of folders) folderAt(normalizeRelativePath(f));
  for (const f of files) {
    const rel = normalizeRelativePath(f.path);
    const cut = rel.lastIndexOf('\\');
    folderAt(cut < 0 ? '' : rel.slice(0, cut)).files.push({ path: rel, hash: f.hash.toUpperCase() });
  }
  const h = createHash('sha256');
  const put = (s: string): void => {
    h.update(Buffer.from(s, 'utf16le'));
  };
  const visit = (node: FolderNode): void => {
    const subs = [...node.folders.values()].sort((a, b) => byName(a.path, b.path));
    const files = [...node.files].sort((a, b) => byName(a.path, b.path));
    for (const s of subs) put(s.path.toLowerCase());
    for (const f of files) put(f.path.toLowerCase());
    for (const f of files) put(f.hash);
    for (const s of subs) visit(s);
  };
  visit(root);
  return h.digest('hex').toUpperCase();
}

/** Windows FILETIME (100 ns since 1601-01-01 UTC) from a Date, as the decimal string the INI files hold. */
export function toFileTime(d: Date): string {
  return ((BigInt(d.getTime()) + 11644473600000n) * 10000n).toString();
}

export function fromFileTime(ft: string): Date | null {
  if (!/^\d{1,20}$/.test(ft)) return null;
  const ms = BigInt(ft) / 10000n - 11644473600000n;
  const n = Number(ms);
  if (!Number.isFinite(n) || Math.abs(n) > 8.64e15) return null;
  return new Date(n);
}
