// The direction of imports, read from the sources: each file's layer, the layers it may import, and every import that
// goes the wrong way. Lower layers never import higher ones: on-disc formats and I/O know nothing of media or sites,
// site readers nothing of media, the engine nothing of Electron, the host or the command line, the renderer nothing of
// the engine, and shared/ nothing of the others.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

export type Layer =
  | 'shared'
  | 'engine-base'
  | 'io'
  | 'formats'
  | 'drives'
  | 'site'
  | 'media'
  | 'host'
  | 'cli'
  | 'shell'
  | 'renderer';

/** What each layer may import besides itself (node: modules and npm packages are checked only for `electron`). */
export const ALLOWED: Record<Layer, readonly Layer[]> = {
  shared: [],
  'engine-base': ['shared'],
  io: ['engine-base', 'shared'],
  formats: ['io', 'engine-base', 'shared'],
  drives: ['io', 'engine-base', 'shared'],
  site: ['io', 'engine-base', 'shared'],
  media: ['site', 'formats', 'drives', 'io', 'engine-base', 'shared'],
  host: ['media', 'site', 'formats', 'drives', 'io', 'engine-base', 'shared', 'shell'],
  cli: ['media', 'site', 'formats', 'drives', 'io', 'engine-base', 'shared'],
  shell: ['host', 'media', 'site', 'formats', 'drives', 'io', 'engine-base', 'shared'],
  renderer: ['shared'],
};

/** Layers whose files must not import the `electron` package (the engine runs under plain Node too). */
const NO_ELECTRON: readonly Layer[] = ['shared', 'engine-base', 'io', 'formats', 'drives', 'site', 'media', 'host', 'cli', 'renderer'];

/** The layer of a project file (a path relative to the project, "/" or the OS separator), or null outside them. */
export function layerOf(file: string): Layer | null {
  const p = file.split(sep).join('/');
  if (p.startsWith('shared/')) return 'shared';
  if (p.startsWith('renderer/')) return 'renderer';
  if (p.startsWith('electron/engine/io/')) return 'io';
  if (p.startsWith('electron/engine/formats/')) return 'formats';
  if (p.startsWith('electron/engine/drives/')) return 'drives';
  if (p.startsWith('electron/engine/site/')) return 'site';
  if (p.startsWith('electron/engine/media/')) return 'media';
  if (p.startsWith('electron/engine/')) return 'engine-base';
  if (p.startsWith('electron/host/')) return 'host';
  if (p.startsWith('electron/cli/')) return 'cli';
  if (p.startsWith('electron/')) return 'shell';
  return null;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;(=])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** The module specifiers a source imports (static, dynamic, side-effect and require), comments removed first. */
export function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4]);
}

export interface Violation {
  file: string;
  specifier: string;
  why: string;
}

/** Every wrong-way import among `files` (paths relative to the project, with their text). */
export function violations(files: readonly { file: string; source: string }[]): Violation[] {
  const out: Violation[] = [];
  for (const { file, source } of files) {
    const from = layerOf(file);
    if (!from) continue;
    for (const spec of importsOf(source)) {
      if (spec === 'electron' || spec.startsWith('electron/')) {
        if (NO_ELECTRON.includes(from)) out.push({ file, specifier: spec, why: `${from} must run without Electron` });
        continue;
      }
      if (!spec.startsWith('.')) continue;
      const target = normalize(join(dirname(file), spec));
      const to = layerOf(target);
      if (to === null) {
        out.push({ file, specifier: spec, why: `${from} imports ${target}, which is in no layer` });
        continue;
      }
      if (to !== from && !ALLOWED[from].includes(to)) out.push({ file, specifier: spec, why: `${from} may not import ${to}` });
    }
  }
  return out;
}

/** The project's own sources under electron/, shared/ and renderer/src. */
export function projectSources(root: string): { file: string; source: string }[] {
  const out: { file: string; source: string }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(c|m)?tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push({ file: relative(root, p).split(sep).join('/'), source: readFileSync(p, 'utf8') });
    }
  };
  for (const d of ['electron', 'shared', join('renderer', 'src')]) walk(join(root, d));
  return out;
}
