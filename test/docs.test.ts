// The documentation as an administrator meets it: the README stays a short front page, every link in it and in docs/
// leads to a file that exists, the guide shows a picture of every wizard page (made by `npm run screenshots`), and the
// pictures are real PNGs small enough to keep in git.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { WIZARD_PAGES } from '../shared/wizard.js';
import { ROOT } from './helpers.js';

const DOCS = join(ROOT, 'docs');
const MAX_IMAGE_BYTES = 150 * 1024;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => join(dir, f));
}

const markdown = (): string[] => [join(ROOT, 'README.md'), ...filesUnder(DOCS, '.md')];

/** Every link and image target of a Markdown text: `[text](target)` and `![alt](target)`, code spans left out. */
export function linkTargets(text: string): string[] {
  const withoutCode = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

/** "selectMediaType" → "select-media-type", as the pictures are named. */
const kebab = (id: string): string => id.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

describe('documentation', () => {
  test('the README is a front page of at most 150 lines that links the guide and the reference', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const lines = readme.split('\n').length;
    assert.ok(lines <= 150, `README.md has ${lines} lines`);
    for (const page of ['docs/guide/wizard.md', 'docs/guide/usb.md', 'docs/guide/iso-share.md', 'docs/guide/verify.md', 'docs/guide/findings.md', 'docs/reference/command-line.md', 'docs/reference/site.md', 'docs/reference/media.md', 'docs/reference/reliability.md', 'docs/reference/performance.md', 'docs/reference/error-codes.md']) {
      assert.ok(linkTargets(readme).includes(page), `README.md links ${page}`);
    }
    assert.match(readme, /\.\/scripts\/setup\.sh && npm start/);
    assert.match(readme, /\.\/scripts\/setup\.sh && npm test/);
  });

  test('every relative link in the README and docs/ leads to a file that exists', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdown()) {
      for (const target of linkTargets(readFileSync(file, 'utf8'))) {
        if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
        checked += 1;
        const path = resolve(dirname(file), decodeURIComponent(target.split('#')[0]));
        if (!existsSync(path)) broken.push(`${relative(ROOT, file)}: ${target}`);
      }
    }
    assert.ok(checked > 60, `${checked} links checked`);
    assert.deepEqual(broken, []);
  });

  test('the guide shows a picture of every wizard page, and every picture is shown somewhere', () => {
    const guide = linkTargets(readFileSync(join(DOCS, 'guide', 'wizard.md'), 'utf8'))
      .filter((t) => t.startsWith('../images/en/'))
      .map((t) => t.slice('../images/en/'.length).replace(/^\d+-/, ''));
    const missing = WIZARD_PAGES.filter((id) => !guide.some((name) => name.startsWith(kebab(id))));
    assert.deepEqual(missing, [], `wizard pages without a picture in docs/guide/wizard.md (run npm run screenshots)`);
    const spanish = linkTargets(readFileSync(join(DOCS, 'es', 'asistente.md'), 'utf8')).filter((t) => t.startsWith('../images/es/'));
    assert.ok(spanish.length >= 2, 'the Spanish page shows the wizard in Spanish');

    const shown = new Set(markdown().flatMap((f) => linkTargets(readFileSync(f, 'utf8')).map((t) => resolve(dirname(f), t))));
    const orphans = filesUnder(join(DOCS, 'images'), '.png').filter((p) => !shown.has(p));
    assert.deepEqual(orphans.map((p) => relative(ROOT, p)), [], 'pictures no page shows');
  });

  test(`every picture is a PNG of at most ${MAX_IMAGE_BYTES / 1024} KiB`, () => {
    const images = filesUnder(join(DOCS, 'images'), '.png');
    assert.ok(images.length >= WIZARD_PAGES.length, `${images.length} pictures`);
    for (const image of images) {
      const bytes = statSync(image).size;
      assert.ok(bytes <= MAX_IMAGE_BYTES, `${relative(ROOT, image)} is ${bytes} bytes`);
      assert.deepEqual(readFileSync(image).subarray(0, 8), PNG_SIGNATURE, `${relative(ROOT, image)} is a PNG`);
    }
  });

  test('links are found as Markdown writes them, and code is not taken for a link', () => {
    assert.deepEqual(linkTargets('See [a](x.md) and ![b](img/y.png "t") but not `[c](z.md)`.\n```\n[d](w.md)\n```\n'), ['x.md', 'img/y.png']);
  });
});
