// Exports: several task sequences in one zip, and hostile or broken zips each ending in a named error.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import yazl from 'yazl';
import { XMLValidator } from 'fast-xml-parser';
import { readExport } from '../electron/engine/site/TaskSequenceExport.js';
import { buildExportEntries, writeExportZip, xmlEscape } from '../electron/engine/site/ExportWriter.js';
import { FIXTURES, NO_SHARED, requireOrSkip, runCli, sharedFixturesPresent, tempDir } from './helpers.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function tsObject(id: string, name: string, boot: string, seq: string): string {
  return `<INSTANCE CLASSNAME="SMS_TaskSequencePackage"><PROPERTY NAME="PackageID" TYPE="string"><VALUE>${id}</VALUE></PROPERTY><PROPERTY NAME="Name" TYPE="string"><VALUE>${esc(name)}</VALUE></PROPERTY><PROPERTY NAME="BootImageID" TYPE="string"><VALUE>${boot}</VALUE></PROPERTY><PROPERTY NAME="Sequence" TYPE="string"><VALUE>${esc(seq)}</VALUE></PROPERTY></INSTANCE>`;
}

function manifest(ids: string[]): string {
  return `<LibraryDocument><EntryObjects>${ids.map((i) => `<Object Path="SMS_TaskSequencePackage.PackageID='${i}'" Type="SMS_TaskSequencePackage" />`).join('')}</EntryObjects></LibraryDocument>`;
}

function makeZip(path: string, entries: [string, string | Buffer][]): Promise<void> {
  return new Promise((resolve, reject) => {
    const z = new yazl.ZipFile();
    for (const [name, data] of entries) z.addBuffer(Buffer.isBuffer(data) ? data : Buffer.from(data), name, { mtime: new Date(2025, 0, 1) });
    z.end();
    const chunks: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => chunks.push(c));
    z.outputStream.on('error', reject);
    z.outputStream.on('end', () => {
      writeFileSync(path, Buffer.concat(chunks));
      resolve();
    });
  });
}

const SEQ = '<sequence version="3.10"><step type="SMS_TaskSequence_ApplyOperatingSystemAction" name="Apply"><action>OSDApplyOS.exe /image:ABC00002,1</action></step></sequence>';

describe('TaskSequenceExport', () => {
  test('several task sequences in one export, in the manifest order', async (t) => {
    const dir = tempDir(t);
    const zip = join(dir, 'two.zip');
    await makeZip(zip, [
      ['Manifest.xml', manifest(['ABC00020', 'ABC00010'])],
      ['SMS_TaskSequencePackage/ABC00010/object.xml', tsObject('ABC00010', 'First & one', 'ABC00001', SEQ)],
      ['SMS_TaskSequencePackage/ABC00020/object.xml', tsObject('ABC00020', 'Second', '', SEQ)],
    ]);
    const ex = await readExport(zip);
    assert.deepEqual(ex.taskSequences.map((x) => [x.packageId, x.name, x.bootImageId]), [
      ['ABC00020', 'Second', null],
      ['ABC00010', 'First & one', 'ABC00001'],
    ]);
    const r = runCli(['analyze', zip, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const arr = JSON.parse(r.stdout) as { packageId: string; references: { packageId: string }[] }[];
    assert.equal(arr.length, 2, 'an array when the export holds several');
    assert.deepEqual(arr[1].references.map((x) => x.packageId).sort(), ['ABC00001', 'ABC00002']);
  });

  test('an entry escaping the folder is refused by name', async (t) => {
    const dir = tempDir(t);
    const zip = join(dir, 'evil.zip');
    await makeZip(zip, [
      ['Manifest.xml', manifest(['ABC00010'])],
      ['SMS_TaskSequencePackage/ABC00010/object.xml', tsObject('ABC00010', 'x', 'ABC00001', SEQ)],
      ['zz/evil.txt', 'x'],
    ]);
    // Rename the entry in both headers: yazl (rightly) will not write "..".
    const buf = readFileSync(zip);
    const patched = Buffer.from(buf.toString('latin1').replaceAll('zz/evil.txt', '../evil.tx'.padEnd(11, 't')), 'latin1');
    writeFileSync(zip, patched);
    const r = runCli(['analyze', zip]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /evil\.zip.*"\.\.\/evil\.txt" points outside the export/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  test('duplicate entries, missing object.xml, no manifest, truncation', async (t) => {
    const dir = tempDir(t);
    const dup = join(dir, 'dup.zip');
    await makeZip(dup, [
      ['Manifest.xml', manifest(['ABC00010'])],
      ['SMS_TaskSequencePackage/ABC00010/object.xml', tsObject('ABC00010', 'x', 'ABC00001', SEQ)],
      ['SMS_TaskSequencePackage/ABC00010/object.xml', tsObject('ABC00010', 'y', 'ABC00001', SEQ)],
    ]);
    await assert.rejects(readExport(dup), /dup\.zip \(zip entry SMS_TaskSequencePackage\/ABC00010\/object\.xml\): the entry "SMS_TaskSequencePackage\/ABC00010\/object\.xml" appears twice/);

    const missing = join(dir, 'missing.zip');
    await makeZip(missing, [['Manifest.xml', manifest(['ABC00010'])]]);
    await assert.rejects(readExport(missing), /missing\.zip: Manifest\.xml lists task sequence ABC00010 but the entry SMS_TaskSequencePackage\/ABC00010\/object\.xml is missing/);

    const noManifest = join(dir, 'nomanifest.zip');
    await makeZip(noManifest, [['readme.txt', 'hello']]);
    await assert.rejects(readExport(noManifest), /nomanifest\.zip: this zip has no Manifest\.xml/);

    const badXml = join(dir, 'badxml.zip');
    await makeZip(badXml, [
      ['Manifest.xml', manifest(['ABC00010'])],
      ['SMS_TaskSequencePackage/ABC00010/object.xml', tsObject('ABC00010', 'x', 'ABC00001', '<sequence><step name="a"></sequence>')],
    ]);
    await assert.rejects(readExport(badXml), /badxml\.zip \(zip entry SMS_TaskSequencePackage\/ABC00010\/object\.xml\), line 1, column \d+: malformed XML.*\(line 1, column 26 of the Sequence property\)/);
  });

  test('a truncated real export is refused with the file named', async (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    const dir = tempDir(t);
    const src = readFileSync(join(FIXTURES, 'exports', 'garytown-OSDCloudTaskSequence.zip'));
    const cut = join(dir, 'cut.zip');
    writeFileSync(cut, src.subarray(0, Math.floor(src.length / 2)));
    const r = runCli(['analyze', cut, '--json']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cut\.zip: not a readable zip file/);
    assert.equal(r.stdout, '');
  });

  test('a zip bomb is refused before it is expanded', async (t) => {
    const dir = tempDir(t);
    const bomb = join(dir, 'bomb.zip');
    // 80 MiB of spaces compress to well under 100 KB; as an XML entry it would be read whole.
    await makeZip(bomb, [
      ['Manifest.xml', manifest(['ABC00010'])],
      ['SMS_TaskSequencePackage/ABC00010/object.xml', Buffer.alloc(80 * 1024 * 1024, 0x20)],
    ]);
    await assert.rejects(readExport(bomb), /bomb\.zip \(zip entry SMS_TaskSequencePackage\/ABC00010\/object\.xml\): the entry expands to 83886080 bytes/);
  });

  test('a syntax error in the embedded Sequence names the zip, the entry, and the line and column in that entry', async (t) => {
    const dir = tempDir(t);
    /**
     * Checks that `message` places the error where the parser finds it in `seq`, as written in the entry (escaped or
     * in CDATA): the entry's text at the line and column given starts with the raw form of the sequence's text there.
     */
    const placed = (message: string, zip: string, entry: string, entryText: string, seq: string, raw: (s: string) => string): void => {
      const found = XMLValidator.validate(seq);
      assert.notEqual(found, true, 'the sequence is damaged');
      const { line, col } = (found as { err: { line: number; col: number } }).err;
      const m = new RegExp(`^${zip.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')} \\(zip entry ${entry}\\), line (\\d+), column (\\d+): (.*)$`, 's').exec(message);
      assert.ok(m, message);
      assert.ok(m[3].includes(`(line ${line}, column ${col} of the Sequence property)`), message);
      assert.match(m[3], /Export the task sequence again/);
      const there = (seq.split(/\r?\n/)[line - 1] ?? '').slice(col - 1, col + 7);
      assert.ok(there.length >= 4, `the sequence has text at ${line}:${col}`);
      const entryLine = entryText.split(/\r?\n/)[Number(m[1]) - 1] ?? '';
      assert.ok(entryLine.slice(Number(m[2]) - 1).startsWith(raw(there)), `entry line ${m[1]} column ${m[2]}: ${entryLine.slice(Number(m[2]) - 1, Number(m[2]) + 40)} / ${raw(there)}`);
    };

    // As the Export wizard's object.xml is made here (electron/engine/site/ExportWriter.ts): CRLF, indented, the Sequence
    // escaped; the damage on the sequence's third line, after entities that are longer escaped than decoded.
    const seq = [
      '<sequence version="3.10">',
      '  <group name="Install &amp; configure">',
      '    <step type="SMS_TaskSequence_RunCommandLineAction" name="Say &quot;hi&quot;"><action>cmd /c echo "x" &gt; y</action></stepp>',
      '  </group>',
      '</sequence>',
    ].join('\n');
    const ts = { packageId: 'ABC00010', name: 'Damaged', bootImageId: 'ABC00001', sequenceXml: seq, sourceSite: 'ABC', references: [], appReferences: [] };
    const zip = join(dir, 'damaged.zip');
    await writeExportZip(zip, [ts]);
    const entry = 'SMS_TaskSequencePackage/ABC00010/object.xml';
    const entryText = (buildExportEntries([ts]).find((e) => e.name === entry)?.data ?? Buffer.alloc(0)).toString('utf8');
    assert.ok(entryText.split('\n').length > 20, 'the entry has lines before the Sequence');
    let message = '';
    await assert.rejects(readExport(zip), (err: Error) => ((message = err.message), true));
    placed(message, zip, entry, entryText, seq, xmlEscape);
    const r = runCli(['analyze', zip]);
    assert.equal(r.status, 1);
    assert.ok(r.stderr.includes(message), r.stderr);

    // As real exports hold it: the Sequence in CDATA on one line, the damage far into that line.
    const one = `<sequence version="3.10"><group name="G"><step name="A &amp; B" type="SMS_TaskSequence_RunCommandLineAction"><action>x</action></step></grop></sequence>`;
    const cdataEntry = `<INSTANCE CLASSNAME="SMS_TaskSequencePackage">\r\n  <PROPERTY NAME="PackageID" TYPE="string">\r\n    <VALUE>ABC00020</VALUE>\r\n  </PROPERTY>\r\n  <PROPERTY NAME="Sequence" CLASSORIGIN="SMS_TaskSequencePackage" TYPE="string">\r\n    <QUALIFIER NAME="CIMTYPE" PROPAGATED="true" TYPE="string" TOINSTANCE="true">\r\n      <VALUE>string</VALUE>\r\n    </QUALIFIER>\r\n    <VALUE><![CDATA[${one}]]></VALUE>\r\n  </PROPERTY>\r\n</INSTANCE>`;
    const cdataZip = join(dir, 'cdata.zip');
    const cdataName = 'SMS_TaskSequencePackage/ABC00020/object.xml';
    await makeZip(cdataZip, [['Manifest.xml', manifest(['ABC00020'])], [cdataName, cdataEntry]]);
    message = '';
    await assert.rejects(readExport(cdataZip), (err: Error) => ((message = err.message), true));
    placed(message, cdataZip, cdataName, cdataEntry, one, (x) => x);
    assert.match(message, /, line 9, column \d+: /);
    // The parser's "opened in" position is the entry's too: where <group> starts on the entry's line 9.
    const valueColumn = cdataEntry.split('\r\n')[8].indexOf('<![CDATA[') + 10;
    assert.ok(message.includes(`(opened in line 9, column ${valueColumn + one.indexOf('<group')}`), message);

    // Where the property is not written as the scan knows it (a namespace prefix), the position is the property's, said so.
    const prefixed = `<c:INSTANCE xmlns:c="urn:x" CLASSNAME="SMS_TaskSequencePackage"><c:PROPERTY NAME="Sequence" TYPE="string"><c:VALUE>${xmlEscape(one)}</c:VALUE></c:PROPERTY></c:INSTANCE>`;
    const prefixedZip = join(dir, 'prefixed.zip');
    await makeZip(prefixedZip, [['Manifest.xml', manifest(['ABC00020'])], [cdataName, prefixed]]);
    const found = XMLValidator.validate(one) as { err: { line: number; col: number } };
    await assert.rejects(readExport(prefixedZip), (err: Error) =>
      err.message.startsWith(`${prefixedZip} (zip entry ${cdataName}): line ${found.err.line}, column ${found.err.col} of the Sequence property: malformed XML`),
    );
  });

  test('a bare sequence file and a wrong file type', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'bare.xml'), `\ufeff${SEQ}`);
    const r = runCli(['analyze', join(dir, 'bare.xml'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const a = JSON.parse(r.stdout) as { packageId: null; bootImageId: null; references: { packageId: string }[] };
    assert.equal(a.packageId, null);
    assert.equal(a.bootImageId, null);
    assert.deepEqual(a.references.map((x) => x.packageId), ['ABC00002']);
    writeFileSync(join(dir, 'notes.txt'), 'x');
    const bad = runCli(['analyze', join(dir, 'notes.txt')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /notes\.txt: expected an exported task sequence \(\.zip\)/);
  });
});
