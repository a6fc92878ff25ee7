// Where a task sequence's media is started (issue 15): by booting the computer, from the running Windows
// (TSMBAutorun.exe), or either. The rules on made-up sequences, a model of them on generated ones, and the real exports
// of ../shared/fixtures against an independent reading of their first steps (Python's ElementTree, test/oracle).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { AnalysisResult, StartsFrom } from '../shared/analysis.js';
import { classifyStart } from '../electron/engine/site/StartScenario.js';
import { allSteps, parseTaskSequence } from '../electron/engine/site/TaskSequence.js';
import { FIXTURES, NO_SHARED, ORACLE, hasCommand, requireOrSkip, runCli, sharedFixturesPresent } from './helpers.js';

const T = (s: string): string => `SMS_TaskSequence_${s}`;

interface StepSpec {
  type: string;
  name: string;
  runIn?: string;
  disable?: boolean;
  vars?: Record<string, string>;
  condition?: string;
}

const winPeCondition = (value: 'true' | 'false'): string =>
  '<condition><expression type="SMS_TaskSequence_VariableConditionExpression">' +
  `<variable name="Operator">equals</variable><variable name="Value">${value}</variable><variable name="Variable">_SMSTSInWinPE</variable>` +
  '</expression></condition>';

const stepXml = (s: StepSpec): string =>
  `<step type="${s.type}" name="${s.name}"${s.runIn ? ` runIn="${s.runIn}"` : ''}${s.disable ? ' disable="true"' : ''}>${s.condition ?? ''}<action>x</action><defaultVarList>` +
  Object.entries(s.vars ?? {})
    .map(([k, v]) => `<variable name="${k}" property="${k}">${v}</variable>`)
    .join('') +
  '</defaultVarList></step>';

function classify(body: string): ReturnType<typeof classifyStart> {
  const doc = parseTaskSequence(`<sequence version="3.10">${body}</sequence>`, { file: 'test.xml' });
  return classifyStart([...allSteps(doc.children)].map((step) => ({ owner: '', step })));
}

const gather: StepSpec = { type: T('RunCommandLineAction'), name: 'Gather', runIn: 'WinPEandFullOS' };
const capture: StepSpec = { type: T('CaptureUserStateAction'), name: 'Capture User State', runIn: 'FullOS' };
const partition: StepSpec = { type: T('PartitionDiskAction'), name: 'Partition Disk', runIn: 'WinPE' };
const applyOs: StepSpec = { type: T('ApplyOperatingSystemAction'), name: 'Apply Operating System', runIn: 'WinPE' };
const restartWinPe: StepSpec = { type: T('RebootAction'), name: 'Restart in Windows PE', vars: { SMSRebootTarget: 'WinPE' } };

describe('where media is started: the rules', () => {
  test('a full-OS step before any Windows PE step: from Windows (refresh when an OS is applied later)', () => {
    const c = classify([gather, capture, restartWinPe, partition, applyOs].map(stepXml).join(''));
    assert.deepEqual([c.startsFrom, c.scenario, c.step], ['windows', 'refresh', 'Capture User State']);
    assert.match(c.reason, /TSMBAutorun\.exe/);
  });

  test('a Windows PE step first: booted (a new computer when it applies an OS)', () => {
    const c = classify([gather, partition, applyOs, { ...capture, name: 'Late capture' }].map(stepXml).join(''));
    assert.deepEqual([c.startsFrom, c.scenario, c.step], ['boot', 'new-computer', 'Partition Disk']);
  });

  test('Upgrade Operating System: from Windows, the upgrade scenario', () => {
    const c = classify(stepXml({ type: T('UpgradeOperatingSystemAction'), name: 'Upgrade Operating System', runIn: 'FullOS' }));
    assert.deepEqual([c.startsFrom, c.scenario], ['windows', 'upgrade']);
  });

  test('the class decides over runIn: an MDT partition step marked WinPEandFullOS still needs Windows PE', () => {
    const c = classify(stepXml({ ...partition, runIn: 'WinPEandFullOS' }) + stepXml(capture));
    assert.equal(c.startsFrom, 'boot');
    // …and a capture step without runIn still needs the full OS.
    assert.equal(classify(stepXml({ ...capture, runIn: undefined }) + stepXml(partition)).startsFrom, 'windows');
  });

  test('a restart into Windows PE before anything else: either', () => {
    const c = classify([gather, restartWinPe, partition].map(stepXml).join(''));
    assert.deepEqual([c.startsFrom, c.step], ['either', 'Restart in Windows PE']);
    // A restart to the installed OS decides nothing.
    assert.equal(classify(stepXml({ ...restartWinPe, vars: { SMSRebootTarget: 'HD' } }) + stepXml(partition)).startsFrom, 'boot');
  });

  test('_SMSTSInWinPE guards: a full-OS step kept for a start from Windows gives either; one only for Windows PE is skipped', () => {
    const guarded = `<group name="Capture">${winPeCondition('false')}${stepXml(capture)}</group>${stepXml(partition)}`;
    assert.deepEqual([classify(guarded).startsFrom, classify(guarded).step], ['either', 'Capture User State']);
    // The same guard on the step itself.
    assert.equal(classify(stepXml({ ...capture, condition: winPeCondition('false') }) + stepXml(partition)).startsFrom, 'either');
    // A full-OS step that runs only in Windows PE never runs: the next step decides.
    assert.equal(classify(stepXml({ ...capture, condition: winPeCondition('true') }) + stepXml(partition)).startsFrom, 'boot');
    // A Windows PE step that runs only in Windows PE: either.
    assert.equal(classify(stepXml({ ...partition, condition: winPeCondition('true') }) + stepXml(capture)).startsFrom, 'either');
  });

  test('disabled steps and steps in disabled groups decide nothing; nothing deciding is either', () => {
    const body = `<group name="Old" disable="true">${stepXml(capture)}</group>${stepXml({ ...capture, name: 'Off', disable: true })}${stepXml(partition)}`;
    assert.equal(classify(body).startsFrom, 'boot');
    const none = classify(stepXml(gather));
    assert.deepEqual([none.startsFrom, none.scenario, none.step], ['either', null, null]);
  });

  test('steps of a child task sequence are named with it', () => {
    const doc = parseTaskSequence(`<sequence>${stepXml(capture)}</sequence>`, { file: 'child.xml' });
    const c = classifyStart([...allSteps(doc.children)].map((step) => ({ owner: 'ABC00020', step })));
    assert.equal(c.step, 'ABC00020 › Capture User State');
  });
});

describe('where media is started: a model on generated sequences', () => {
  type Kind = 'neutral' | 'fullos' | 'winpe' | 'fullos-off' | 'winpe-off' | 'fullos-pe-only';
  const spec = (k: Kind, i: number): StepSpec => {
    const name = `S${i}`;
    switch (k) {
      case 'neutral':
        return { ...gather, name };
      case 'fullos':
        return { type: T('RunCommandLineAction'), name, runIn: 'FullOS' };
      case 'winpe':
        return { type: T('RunCommandLineAction'), name, runIn: 'WinPE' };
      case 'fullos-off':
        return { ...capture, name, disable: true };
      case 'winpe-off':
        return { ...partition, name, disable: true };
      case 'fullos-pe-only':
        return { ...capture, name, condition: winPeCondition('true') };
    }
  };
  /** The model: the first enabled step that runs on one side only decides; none deciding is either. */
  const model = (kinds: Kind[]): { startsFrom: StartsFrom; step: string | null } => {
    const i = kinds.findIndex((k) => k === 'fullos' || k === 'winpe');
    if (i < 0) return { startsFrom: 'either', step: null };
    return { startsFrom: kinds[i] === 'fullos' ? 'windows' : 'boot', step: `S${i}` };
  };

  test('the classification is the first deciding enabled step, whatever comes around it', () => {
    const kind = fc.constantFrom<Kind>('neutral', 'fullos', 'winpe', 'fullos-off', 'winpe-off', 'fullos-pe-only');
    fc.assert(
      fc.property(fc.array(kind, { maxLength: 12 }), (kinds) => {
        const c = classify(kinds.map((k, i) => stepXml(spec(k, i))).join(''));
        assert.deepEqual({ startsFrom: c.startsFrom, step: c.step }, model(kinds));
      }),
      { numRuns: 300, seed: 15 },
    );
  });
});

interface OracleSteps {
  packageId: string | null;
  enabledSteps: { name: string; type: string | null; runIn: string | null }[];
}

/**
 * The real exports as a reader of their first steps classifies them: the enabled steps before the deciding one (all
 * run in both Windows PE and the full OS), and the deciding step with what makes it one-sided.
 */
const FIXTURE_STARTS: {
  file: string;
  startsFrom: StartsFrom;
  scenario: AnalysisResult['start']['scenario'];
  /** The enabled steps before the deciding one, in order; all of them when nothing decides. */
  before: string[];
  deciding: { name: string; type: string; runIn: string | null } | null;
}[] = [
  {
    // A module of PowerShell steps that run anywhere (its one full-OS step, "Installing StifleR...", is disabled).
    file: 'exports/2Pint-OSDToolkit-Phase3-25.01.29.zip',
    startsFrom: 'either',
    scenario: null,
    before: ['Enabling BranchCache...', 'Configuring BranchCache Cache...', 'Increasing BITS Event Log...'],
    deciding: null,
  },
  {
    file: 'exports/2Pint-PreCache-OSD-Content-25.01.29.zip',
    startsFrom: 'either',
    scenario: null,
    before: ['Removing items from CCMCache...', 'Setting SMSTSAllowTokenAuthURLForACP...', 'Setting 2Pint Software ACP...'],
    deciding: null,
  },
  {
    // Command lines that set BitLocker policy, then ConfigMgr's Enable BitLocker, a full-OS step.
    file: 'exports/DRFiles-TS-BitLocker.zip',
    startsFrom: 'windows',
    scenario: null,
    before: ['Eject CD/ISO', 'Check TPM Status', 'Set XTS AES 256 (Operating System Drive)', 'Set XTS AES 256 (Fixed Disks)', 'Set AES-CBC 128 (Removable Drive)', 'Set XTS AES 256 (Full Disk Encryption)'],
    deciding: { name: 'Enable BitLocker (ConfigMgr)', type: T('EnableBitLockerAction'), runIn: 'FullOS' },
  },
  {
    // Check Readiness runs anywhere; the upgrade assessment is an Upgrade Operating System step.
    file: 'exports/DRFiles-Windows10UpgradeTS.zip',
    startsFrom: 'windows',
    scenario: 'upgrade',
    before: ['Check Readiness for Upgrade'],
    deciding: { name: 'Upgrade Assessment', type: T('UpgradeOperatingSystemAction'), runIn: 'FullOS' },
  },
  {
    // Its Download Package Content step is disabled; a PowerShell step, then Install Application in the full OS.
    file: 'exports/garytown-AppMappingAppInstalls.zip',
    startsFrom: 'windows',
    scenario: null,
    before: ['Map Applications per Serial Number'],
    deciding: { name: 'Install Applications from JSON list', type: T('InstallApplicationAction'), runIn: 'FullOS' },
  },
  {
    // OSDCloud lays Windows down from command lines in Windows PE; Apply Windows Settings is the first WinPE-only step.
    file: 'exports/garytown-OSDCloudTaskSequence.zip',
    startsFrom: 'boot',
    scenario: null,
    before: ['Set Dynamic Vars', 'Gather Variables', 'Set OSDComputerName', 'Eject CD', 'sandbox.osdcloud.com', 'OSDCloud', 'Enable TSDebugMode', 'Populate Default unattend.xml File'],
    deciding: { name: 'Apply Windows Settings', type: T('ApplyWindowsSettingsAction'), runIn: 'WinPE' },
  },
  {
    // Dell BIOS settings from command lines only: they run anywhere.
    file: 'sequences/DRFiles-MDT-BIOS-001-ts.xml',
    startsFrom: 'either',
    scenario: null,
    before: ['Copy Dell BIOS Config Tools', 'Install Dell HAPI Drivers', 'Enable UEFI', 'Enable Secure Boot', 'Enable Virtualization', 'Enable UEFI Network Stack', 'Set UEFI boot order'],
    deciding: null,
  },
  {
    // MDT's Gather and Validate, then Format and Partition Disk: a partition step (marked WinPEandFullOS by the template).
    file: 'sequences/PSD-PSDClient.xml',
    startsFrom: 'boot',
    scenario: 'new-computer',
    before: ['Gather', 'Validate'],
    deciding: { name: 'Format and Partition Disk (BIOS)', type: T('PartitionDiskAction'), runIn: 'WinPEandFullOS' },
  },
];

describe('where media is started: the real exports', () => {
  for (const f of FIXTURE_STARTS) {
    test(`${f.file}: ${f.startsFrom}${f.deciding ? ` (decided by "${f.deciding.name}")` : ''}`, (t) => {
      if (!requireOrSkip(t, sharedFixturesPresent(), NO_SHARED)) return;
      if (!requireOrSkip(t, hasCommand('python3'), 'python3 is not installed; the independent reading needs it')) return;
      const path = join(FIXTURES, f.file);
      // The independent reading: the enabled steps in run order, as Python's ElementTree sees them.
      const o = spawnSync('python3', [ORACLE, path], { encoding: 'utf8' });
      assert.equal(o.status, 0, o.stderr);
      const [read] = JSON.parse(o.stdout) as OracleSteps[];
      const names = read.enabledSteps.map((s) => s.name);
      const upTo = f.before.length + (f.deciding ? 1 : 0);
      assert.deepEqual(names.slice(0, upTo), [...f.before, ...(f.deciding ? [f.deciding.name] : [])], 'the first enabled steps, as read');
      for (const s of read.enabledSteps.slice(0, f.before.length)) assert.notEqual(s.runIn, f.startsFrom === 'boot' ? 'FullOS' : 'WinPE', `${s.name} runs on the other side`);
      if (f.deciding) {
        const d = read.enabledSteps[f.before.length];
        assert.deepEqual({ name: d.name, type: d.type, runIn: d.runIn }, f.deciding, 'the deciding step, as read');
      } else {
        assert.equal(names.length, f.before.length, 'nothing decides: every enabled step is listed');
        for (const s of read.enabledSteps) assert.equal(s.runIn, 'WinPEandFullOS', `${s.name} runs in both`);
      }

      // tsmedia's own classification, through the command line.
      const r = runCli(['analyze', path, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const parsed = JSON.parse(r.stdout) as AnalysisResult | AnalysisResult[];
      const a = Array.isArray(parsed) ? parsed[0] : parsed;
      assert.deepEqual({ startsFrom: a.start.startsFrom, scenario: a.start.scenario, step: a.start.step }, { startsFrom: f.startsFrom, scenario: f.scenario, step: f.deciding?.name ?? null });
      // One export analysed on its own has no site to hold OSD binaries: no finding about them.
      assert.equal(a.findings.some((x) => x.code === 'OSD_BINARIES_MISSING'), false);
    });
  }
});
