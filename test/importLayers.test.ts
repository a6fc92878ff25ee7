// The engine's layers, checked on every `npm test`: no import goes from a lower layer to a higher one (formats and
// I/O never import media or site, site never imports media, nothing in the engine imports Electron, the host or the
// command line, the renderer never imports the engine, shared/ imports nothing of the others).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { importsOf, layerOf, projectSources, violations } from './support/importLayers.js';
import { ROOT } from './helpers.js';

describe('import layers', () => {
  test('the project has no import that goes the wrong way', () => {
    const sources = projectSources(ROOT);
    assert.ok(sources.length > 80, `${sources.length} source files read`);
    const layers = new Set(sources.map((s) => layerOf(s.file)));
    for (const l of ['shared', 'engine-base', 'io', 'formats', 'drives', 'site', 'media', 'host', 'cli', 'shell', 'renderer']) assert.ok(layers.has(l as never), `files in ${l}`);
    const found = violations(sources);
    assert.deepEqual(found, [], found.map((v) => `${v.file}: ${v.specifier} (${v.why})`).join('\n'));
  });

  test('no engine module is over 600 lines: each holds one thing (one on-disc structure family, one step)', () => {
    const long = projectSources(ROOT)
      .filter((s) => s.file.startsWith('electron/engine/'))
      .map((s) => ({ file: s.file, lines: s.source.split('\n').length }))
      .filter((s) => s.lines > 600);
    assert.deepEqual(long, []);
  });

  test('a wrong-way import is named, in every form an import takes', () => {
    const found = violations([
      { file: 'electron/engine/formats/iso/IsoImage.ts', source: "import type { MediaFile } from '../../media/MediaPlan.js';\n" },
      { file: 'electron/engine/io/ImageWriter.ts', source: "export { Site } from '../site/Site.js';\n" },
      { file: 'electron/engine/site/Catalog.ts', source: "const m = await import('../media/Manifest.js');\n" },
      { file: 'electron/engine/drives/Drives.ts', source: "import { app } from 'electron';\n" },
      { file: 'electron/engine/media/MediaBuilder.ts', source: "import '../../host/EngineApi.js';\n" },
      { file: 'renderer/src/api.ts', source: "import { Site } from '../../electron/engine/site/Site.js';\n" },
      { file: 'shared/media.ts', source: "import { InputError } from '../electron/engine/errors.js';\n" },
      { file: 'electron/engine/errors.ts', source: "import { x } from './media/Progress.js';\n" },
    ]);
    assert.deepEqual(
      found.map((v) => `${v.file} ${v.why}`),
      [
        'electron/engine/formats/iso/IsoImage.ts formats may not import media',
        'electron/engine/io/ImageWriter.ts io may not import site',
        'electron/engine/site/Catalog.ts site may not import media',
        'electron/engine/drives/Drives.ts drives must run without Electron',
        'electron/engine/media/MediaBuilder.ts media may not import host',
        'renderer/src/api.ts renderer may not import site',
        'shared/media.ts shared may not import engine-base',
        'electron/engine/errors.ts engine-base may not import media',
      ],
    );
    // The right way is fine, and comments are not imports.
    assert.deepEqual(
      violations([
        { file: 'electron/engine/media/MediaBuilder.ts', source: "import { planIso } from '../formats/iso/IsoImage.js';\n// import '../../host/EngineApi.js';\n" },
        { file: 'electron/host/EngineApi.ts', source: "import { createIsoSet } from '../engine/media/MediaBuilder.js';\n" },
      ]),
      [],
    );
    assert.deepEqual(importsOf("import a from 'x';\nimport type { B } from \"./b.js\";\nexport * from './c.js';\nawait import('./d.js');\n/* import './e.js' */"), ['x', './b.js', './c.js', './d.js']);
  });
});
