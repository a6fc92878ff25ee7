// The Markdown report keeps its shape whatever the site and the user named things: a task sequence name, label,
// package, distribution point, step, message or prestart command holding line breaks, pipes, backticks, HTML or block
// markers is shown as typed. Checked by an independent CommonMark/GFM parser (markdown-it), over generated names.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import MarkdownIt from 'markdown-it';
import type { Token } from 'markdown-it';
import { MediaReport, type ReportInput } from '../electron/engine/media/MediaReport.js';
import type { MediaManifest } from '../electron/engine/media/Manifest.js';
import type { MediaPackage, PlannedContent } from '../electron/engine/media/MediaPlan.js';
import type { Finding } from '../shared/analysis.js';

const md = new MarkdownIt({ html: true });

interface Names {
  taskSequence: string;
  label: string;
  packages: { name: string; version: string; dp: string }[];
  prestart: string | null;
  variable: string;
  step: string;
  message: string;
  /** The signer and root CA of the boot manager (names from a certificate: anything). */
  signer: string;
}

function reportOf(n: Names): string {
  const packages: MediaPackage[] = n.packages.map((p, i) => ({
    packageId: `SMP0000${i}`,
    name: p.name,
    kind: 'Package',
    version: p.version,
    sourceVersion: 3,
    contentIds: [`SMP0000${i}`],
    bytes: 1000 + i,
    files: 2,
    distributionPoint: p.dp,
    mediaFolder: `SMS/PKG/SMP0000${i}`,
  }));
  const warnings: Finding[] = [{ severity: 'warning', code: 'AUTO_APPLY_DRIVERS', step: n.step, message: n.message }];
  const content = { packages, warnings } as Pick<PlannedContent, 'packages' | 'warnings'> as PlannedContent;
  const manifest = { tool: 'tsmedia 0.1.0', taskSequence: { packageId: 'SMP00010', name: n.taskSequence }, files: [] } as Pick<MediaManifest, 'tool' | 'taskSequence' | 'files'> as MediaManifest;
  const input: ReportInput = {
    request: { size: 'dvd', password: null, unattended: false, autorun: false, variables: [{ name: n.variable, value: 'v', secret: false }], prestartCommand: n.prestart },
    label: n.label,
    mediaGuid: '0F6A3D2E-1111-2222-3333-444455556666',
    content,
    manifest,
    startsFrom: { startsFrom: 'windows', scenario: 'refresh', step: n.step, reason: n.message },
    runtime: null,
    secureBoot: {
      overall: 'other-ca',
      files: [
        {
          path: 'efi/boot/bootx64.efi',
          class: 'other-ca',
          authorities: [n.signer],
          summary: '',
          signatures: [{ signer: n.signer, chain: [], root: n.signer, authority: null, authorityName: `"${n.signer}" (a CA not recognised by thumbprint)`, problem: null }],
        },
      ],
    },
    discs: [{ path: '/out/media.iso', bytes: 2048, sha256: null }],
    start: null,
    expire: null,
    timestamp: new Date(Date.UTC(2026, 0, 2)),
    verified: false,
  };
  return new MediaReport(input).toMarkdown();
}

/** What a reader sees of the text: control characters as U+FFFD, every kind of line break as one. */
const shown = (s: string): string =>
  // eslint-disable-next-line no-control-regex
  s.replace(/[\u0000-\u0008\u000e-\u001f\u007f-\u0084\u0086-\u009f]/g, '\ufffd').replace(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/g, '\n');

/**
 * The literal text of an inline token: fails when the text opened any construct (emphasis, code, link, HTML other than
 * <br>). The report's own bold finding code is the one construct allowed, and shown as `**`.
 */
function literal(inline: Token): string {
  let out = '';
  for (const c of inline.children ?? []) {
    if (c.type === 'text') out += c.content;
    else if (c.type === 'strong_open' || c.type === 'strong_close') out += '**';
    else if (c.type === 'html_inline' && c.content === '<br>') out += '\n';
    else assert.fail(`the text opened a Markdown construct (${c.type} ${JSON.stringify(c.content)}) in ${JSON.stringify(inline.content)}`);
  }
  return out;
}

interface Shape {
  headings: string[];
  tables: string[][][];
  lists: string[][];
  fences: string[];
}

/** The report's structure as the parser sees it. */
function shapeOf(markdown: string): Shape {
  const tokens = md.parse(markdown, {});
  const s: Shape = { headings: [], tables: [], lists: [], fences: [] };
  let row: string[] | null = null;
  let inHeading = false;
  let inCell = false;
  let list: string[] | null = null;
  let depth = 0;
  for (const t of tokens) {
    if (t.type === 'heading_open') inHeading = true;
    else if (t.type === 'heading_close') inHeading = false;
    else if (t.type === 'table_open') s.tables.push([]);
    else if (t.type === 'tr_open') row = [];
    else if (t.type === 'tr_close' && row) s.tables[s.tables.length - 1].push(row);
    else if (t.type === 'th_open' || t.type === 'td_open') inCell = true;
    else if (t.type === 'th_close' || t.type === 'td_close') inCell = false;
    else if (t.type === 'bullet_list_open') {
      depth++;
      assert.equal(depth, 1, 'no list inside a list item');
      list = [];
    } else if (t.type === 'bullet_list_close') {
      depth--;
      if (list) s.lists.push(list);
      list = null;
    } else if (t.type === 'list_item_open' && list) list.push('');
    else if (t.type === 'fence') s.fences.push(t.content);
    // A list item that is one line break alone ("- <br>") parses as an HTML block holding it: the same page.
    else if (t.type === 'html_block' && list && t.content === '<br>\n') list[list.length - 1] = '\n';
    else if (t.type === 'inline') {
      if (inHeading) s.headings.push(literal(t));
      else if (inCell && row) row.push(literal(t));
      else if (list) list[list.length - 1] = literal(t);
    } else if (['blockquote_open', 'code_block', 'html_block', 'hr', 'ordered_list_open'].includes(t.type)) assert.fail(`a name started a ${t.type}`);
  }
  return s;
}

const hostile = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 30, unit: 'grapheme' }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20, unit: 'binary' }) },
  {
    weight: 4,
    arbitrary: fc
      .array(
        fc.constantFrom('\n', '\r\n', '\r', '\u2028', '\u0085', '\v', '|', '||', '`', '```', '~~~', '# ', '## ', '- ', '* ', '+ ', '> ', '1. ', '2) ', '    ', '\t', '=', '---', '<script>', '</td>', '<br>', '[a](http://x)', '![i](x)', '&amp;', '&#124;', '\\', '\\|', '*b*', '_u_', '~~s~~', ' ', 'name', 'Ünïcödé', '日本語', '😀', '\u0000', '\u001b[31m'),
        { maxLength: 8 },
      )
      .map((a) => a.join('')),
  },
);

const namesArb: fc.Arbitrary<Names> = fc.record({
  taskSequence: hostile,
  label: hostile,
  packages: fc.array(fc.record({ name: hostile, version: hostile, dp: hostile }), { minLength: 1, maxLength: 3 }),
  prestart: fc.option(hostile.filter((s) => s !== ''), { nil: null }),
  variable: hostile,
  step: hostile,
  message: hostile,
  signer: hostile,
});

describe('media report in Markdown', () => {
  test('a name with a line break stays in its table row; a command with one is a code block', () => {
    const report = reportOf({
      taskSequence: 'Windows 11\nx64 | prod',
      label: 'LAB|EL',
      packages: [{ name: 'Drivers\r\nHP', version: '1.0', dp: 'DP01' }],
      prestart: 'cmd.exe /c "echo a"\nreg add `x` ```',
      variable: 'OSDComputerName',
      step: 'Apply\nOS',
      message: 'line one\nline two',
      signer: 'Evil | CA\n# root',
    });
    const s = shapeOf(report);
    assert.equal(s.headings[0], 'Stand-alone media: Windows 11\nx64 | prod (SMP00010)');
    assert.equal(s.tables.length, 4);
    assert.ok(s.tables[0].every((r) => r.length === 2), 'the media table has two columns in every row');
    assert.deepEqual(s.tables[3][1], ['efi/boot/bootx64.efi', 'another CA', 'signer Evil | CA\n# root; CA "Evil | CA\n# root" (a CA not recognised by thumbprint); root Evil | CA\n# root']);
    assert.equal(s.tables[2].length, 2, 'header and one package row');
    assert.equal(s.tables[2][1][2], 'Drivers\nHP');
    assert.deepEqual(s.fences, ['cmd.exe /c "echo a"\nreg add `x` ```\n']);
  });

  test('any names: every heading, table row, list item and the prestart command keep their place and text', () => {
    fc.assert(
      fc.property(namesArb, (n) => {
        const s = shapeOf(reportOf(n));
        const headings = ['Discs', 'Packages', ...(n.prestart ? ['Prestart command'] : []), 'Secure Boot', 'Variables', 'Findings acknowledged'];
        assert.deepEqual(s.headings, [`Stand-alone media: ${shown(n.taskSequence)} (SMP00010)`, ...headings]);
        assert.equal(s.tables.length, 4, 'media, discs, packages, Secure Boot');
        assert.equal(s.tables[3].length, 2, 'the Secure Boot table: header and one file');
        assert.deepEqual(s.tables[3][1], ['efi/boot/bootx64.efi', 'another CA', `signer ${shown(n.signer)}; CA "${shown(n.signer)}" (a CA not recognised by thumbprint); root ${shown(n.signer)}`]);
        assert.equal(s.tables[0].length, 13, 'the media table: header and twelve rows');
        for (const r of s.tables[0]) assert.equal(r.length, 2);
        assert.equal(s.tables[0][2][1], shown(n.label));
        assert.equal(s.tables[2].length, n.packages.length + 1);
        n.packages.forEach((p, i) => {
          const r = s.tables[2][i + 1];
          assert.equal(r.length, 9);
          assert.deepEqual([r[2], r[3], r[8]], [p.name, p.version, p.dp].map(shown));
        });
        assert.deepEqual(s.fences, n.prestart ? [`${shown(n.prestart)}\n`] : []);
        assert.equal(s.lists.length, 2, 'variables and findings');
        assert.deepEqual(s.lists[0], [shown(n.variable)]);
        assert.deepEqual(s.lists[1], [`**AUTO_APPLY_DRIVERS**${n.step ? ` (step "${shown(n.step)}")` : ''}:${n.message ? ` ${shown(n.message)}` : ''}`]);
      }),
      { numRuns: 300, seed: 1101 },
    );
  });
});
