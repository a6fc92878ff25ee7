// Where stand-alone media of a task sequence is started: by booting the computer from it (a new computer), or from the
// running Windows with SMS\bin\<arch>\TSMBAutorun.exe (refresh, upgrade). The first enabled step, in run order, that
// can run in only one of Windows PE and the full operating system decides; steps that run in both do not.
import type { StartClassification, StartScenario } from '../../../shared/analysis.js';
import { stepClass, stepVariable, type TsCondition, type TsStep } from './TaskSequence.js';

export interface WalkedStep {
  /** The child task sequence holding the step ("" for the task sequence itself). */
  owner: string;
  step: TsStep;
}

/** Steps that only work in the full operating system, whatever their runIn says: they read or change the running Windows. */
const FULL_OS_CLASSES = new Set([
  'CaptureUserStateAction',
  'CaptureWindowsSettingsAction',
  'CaptureNetworkSettingsAction',
  'UpgradeOperatingSystemAction',
  'PrepareOSAction',
  'PrepareSMSClientAction',
  'EnableBitLockerAction',
  'DisableBitLockerAction',
  'InstallUpdateAction',
]);

/**
 * Steps that only work in Windows PE: they partition the disk or lay down Windows. MDT templates sometimes mark them
 * "WinPEandFullOS"; the class wins over runIn.
 */
const WINPE_CLASSES = new Set([
  'PartitionDiskAction',
  'ApplyOperatingSystemAction',
  'ApplyDataImageAction',
  'ApplyWindowsSettingsAction',
  'ApplyNetworkSettingsAction',
  'ApplyDriverPackageAction',
  'AutoApplyAction',
  'SetupWindowsAndSMSAction',
  'OfflineEnableBitLockerAction',
  'CaptureSystemImageAction',
  'BDD_InstallOS',
  'BDD_InjectDrivers',
]);

const OS_DEPLOYING = new Set(['ApplyOperatingSystemAction', 'BDD_InstallOS', 'UpgradeOperatingSystemAction']);

type Side = 'full-os' | 'winpe' | 'both';

function sideOf(step: TsStep): Side {
  const cls = stepClass(step);
  if (FULL_OS_CLASSES.has(cls)) return 'full-os';
  if (WINPE_CLASSES.has(cls)) return 'winpe';
  const runIn = (step.runIn ?? '').toLowerCase();
  if (runIn === 'fullos') return 'full-os';
  if (runIn === 'winpe') return 'winpe';
  return 'both';
}

/** The value `_SMSTSInWinPE` must equal for the condition to hold, where an and-chain of the condition says so. */
function inWinPeGuard(c: TsCondition): boolean | null {
  if (c.element === 'expression') {
    const v = (name: string): string => (c.variables.find((x) => x.name.toLowerCase() === name)?.value ?? '').trim().toLowerCase();
    if (c.type !== 'SMS_TaskSequence_VariableConditionExpression' || v('variable') !== '_smstsinwinpe') return null;
    const value = v('value') === 'true';
    if (v('operator') === 'equals') return value;
    if (v('operator') === 'notequals') return !value;
    return null;
  }
  // The condition element itself, and "and" operators, hold only when every child does; "or" and "not" say nothing.
  if (c.element === 'condition' || (c.element === 'operator' && c.type === 'and')) {
    for (const child of c.children) {
      const g = inWinPeGuard(child);
      if (g !== null) return g;
    }
  }
  return null;
}

/** Whether the step (or a group around it) runs only when the computer is, or is not, in Windows PE. */
function guardOf(step: TsStep): boolean | null {
  for (const c of [...step.groupConditions, ...(step.condition ? [step.condition] : [])]) {
    const g = inWinPeGuard(c);
    if (g !== null) return g;
  }
  return null;
}

const restartTarget = (step: TsStep): string => (stepVariable(step, 'SMSRebootTarget') ?? '').trim().toLowerCase();

/** Classifies a task sequence from its enabled steps in run order (child task sequences' steps included). */
export function classifyStart(walked: readonly WalkedStep[]): StartClassification {
  const enabled = walked.filter((w) => !w.step.disabled);
  const label = (w: WalkedStep): string => (w.owner ? `${w.owner} › ${w.step.name}` : w.step.name);
  const upgrade = enabled.some((w) => stepClass(w.step) === 'UpgradeOperatingSystemAction');
  const deploys = enabled.some((w) => OS_DEPLOYING.has(stepClass(w.step)));
  const fromWindows: StartScenario | null = upgrade ? 'upgrade' : deploys ? 'refresh' : null;

  for (const w of enabled) {
    const s = w.step;
    const side = sideOf(s);
    const guard = guardOf(s);
    if (stepClass(s) === 'RebootAction' && restartTarget(s) === 'winpe') {
      // A restart into Windows PE before anything that needs Windows PE: the media may be started from Windows.
      return {
        startsFrom: 'either',
        scenario: null,
        step: label(w),
        reason: `"${label(w)}" restarts into Windows PE before any step that needs it, so the media can be started from the running Windows as well as booted.`,
      };
    }
    if (side === 'full-os') {
      if (guard === false) {
        return {
          startsFrom: 'either',
          scenario: null,
          step: label(w),
          reason: `"${label(w)}" runs in the full operating system only when the task sequence was started from Windows (_SMSTSInWinPE is false), so the media can be started either way.`,
        };
      }
      if (guard === true) continue; // never runs: a full-OS step kept for Windows PE
      return {
        startsFrom: 'windows',
        scenario: fromWindows,
        step: label(w),
        reason: `"${label(w)}" runs in the full operating system before any restart into Windows PE, so the media must be started from the running Windows (SMS\\bin\\x64\\TSMBAutorun.exe).`,
      };
    }
    if (side === 'winpe') {
      if (guard === true) {
        return {
          startsFrom: 'either',
          scenario: null,
          step: label(w),
          reason: `"${label(w)}" needs Windows PE but runs only when the computer is in it (_SMSTSInWinPE is true), so the media can be started either way.`,
        };
      }
      if (guard === false) continue;
      return {
        startsFrom: 'boot',
        scenario: deploys ? 'new-computer' : null,
        step: label(w),
        reason: `"${label(w)}" needs Windows PE and comes before any step that needs the full operating system, so the computer is booted from the media.`,
      };
    }
  }
  return {
    startsFrom: 'either',
    scenario: null,
    step: null,
    reason: 'Every enabled step runs in both Windows PE and the full operating system, so the media can be booted or started from the running Windows.',
  };
}
