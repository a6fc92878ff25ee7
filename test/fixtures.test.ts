// Every real export and sequence in ../shared/fixtures read by `tsmedia analyze --json`, checked against an
// independent reading (Python's zipfile + ElementTree in test/oracle/ts_oracle.py).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { AnalysisResult } from '../shared/analysis.js';
import { FIXTURES, NO_SHARED, ORACLE, hasCommand, requireOrSkip, runCli, sharedFixturesPresent } from './helpers.js';

interface OracleResult {
  packageId: string | null;
  bootImageId: string | null;
  stepCounts: Record<string, number>;
  disabledSteps: string[];
  references: string[];
}

const files = sharedFixturesPresent()
  ? [
      ...readdirSync(join(FIXTURES, 'exports')).filter((n) => n.endsWith('.zip')).map((n) => join(FIXTURES, 'exports', n)),
      ...readdirSync(join(FIXTURES, 'sequences')).filter((n) => n.endsWith('.xml')).map((n) => join(FIXTURES, 'sequences', n)),
    ]
  : [];

describe('real fixtures', () => {
  test('the fixtures are present', (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    assert.equal(files.length, 8, 'SOURCES.md lists six exports and two sequences');
  });

  for (const file of files) {
    test(`analyze --json ${file.slice(FIXTURES.length + 1)}`, (t) => {
      if (!requireOrSkip(t, hasCommand('python3'), 'python3 is not installed; the independent oracle needs it')) return;
      const r = runCli(['analyze', file, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const parsed = JSON.parse(r.stdout) as AnalysisResult | AnalysisResult[];
      const ours = Array.isArray(parsed) ? parsed : [parsed];
      const o = spawnSync('python3', [ORACLE, file], { encoding: 'utf8' });
      assert.equal(o.status, 0, o.stderr);
      const theirs = JSON.parse(o.stdout) as OracleResult[];
      assert.equal(ours.length, theirs.length, 'one analysis per task sequence');
      for (const expected of theirs) {
        const a = ours.find((x) => x.packageId === expected.packageId);
        assert.ok(a, `analysis for ${expected.packageId}`);
        const counts: Record<string, number> = {};
        for (const s of a.steps) counts[s.type ?? 'null'] = (counts[s.type ?? 'null'] ?? 0) + 1;
        assert.deepEqual(counts, expected.stepCounts, 'steps by type');
        assert.deepEqual(a.steps.filter((s) => s.disabled).map((s) => s.name), expected.disabledSteps, 'disabled steps');
        assert.equal(a.bootImageId, expected.bootImageId, 'boot image');
        assert.deepEqual(a.references.map((x) => x.packageId).sort(), expected.references, 'references');
        // Whatever the content, a task sequence without a boot image is refused; one with a boot image is not.
        assert.equal(a.findings.some((f) => f.code === 'NO_BOOT_IMAGE'), expected.bootImageId === null);
      }
    });
  }

  test('fixture findings follow the stand-alone rules', (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    const codes = (name: string): string[] => {
      const r = runCli(['analyze', join(FIXTURES, name), '--json']);
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as AnalysisResult).findings.map((f) => f.code).sort();
    };
    // Two Download Package Content steps, Install Updates, and a dynamic Install Application (BaseVariableName).
    assert.deepEqual(codes('exports/DRFiles-Windows10UpgradeTS.zip'), [
      'DOWNLOAD_PACKAGE_CONTENT',
      'DOWNLOAD_PACKAGE_CONTENT',
      'DYNAMIC_APPLICATION_INSTALL',
      'NO_BOOT_IMAGE',
      'SOFTWARE_UPDATES',
    ]);
    // Its Download Package Content step is disabled: no finding for it; the dynamic app install is enabled.
    assert.deepEqual(codes('exports/garytown-AppMappingAppInstalls.zip'), ['DYNAMIC_APPLICATION_INSTALL', 'NO_BOOT_IMAGE', 'NO_OS_DEPLOYMENT']);
    // A boot image, but OSDCloud lays the OS down from a command line: no Apply Operating System step.
    assert.deepEqual(codes('exports/garytown-OSDCloudTaskSequence.zip'), ['NO_OS_DEPLOYMENT']);
    // MDT's Install Operating System counts as deploying an OS.
    assert.deepEqual(codes('sequences/PSD-PSDClient.xml'), ['NO_BOOT_IMAGE']);
  });

  test('reference names, kinds and versions come from ReferencesInfo.xml', (t) => {
    if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
    const r = runCli(['analyze', join(FIXTURES, 'exports/garytown-OSDCloudTaskSequence.zip'), '--json']);
    const a = JSON.parse(r.stdout) as AnalysisResult;
    const boot = a.references.find((x) => x.packageId === 'MEM00003');
    assert.deepEqual({ kind: boot?.kind, name: boot?.name, version: boot?.version }, { kind: 'BootImage', name: 'Boot image (x64)', version: '10.0.22000.1' });
    const up = JSON.parse(runCli(['analyze', join(FIXTURES, 'exports/DRFiles-Windows10UpgradeTS.zip'), '--json']).stdout) as AnalysisResult;
    assert.equal(up.references.find((x) => x.packageId === 'PS10005C')?.kind, 'OperatingSystemUpgradePackage');
    assert.equal(up.references.find((x) => x.packageId === 'PS100241')?.name, 'Windows 10 x64 - Dell Latitude E7270');
  });
});
