// Task sequence variable rules (SPEC.md "Task sequence variables"), shared by the UI and the engine.
import type { RuleIssue } from './messages.js';

export const MAX_VARIABLE_NAME = 256;
export const MAX_VARIABLE_VALUE = 4000;

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;

export type VariableNameIssueCode = 'EMPTY' | 'TOO_LONG' | 'READ_ONLY' | 'BAD_CHARACTERS';
export type VariableValueIssueCode = 'TOO_LONG';

/** What is wrong with the name (a code, its values and the English sentence), or null when it is valid for a media variable. */
export function variableNameIssue(name: string): RuleIssue<VariableNameIssueCode> | null {
  if (name.length === 0) return { code: 'EMPTY', params: {}, message: 'A variable name cannot be empty.' };
  if (name.length > MAX_VARIABLE_NAME) {
    return {
      code: 'TOO_LONG',
      params: { length: name.length, max: MAX_VARIABLE_NAME },
      message: `A variable name has at most ${MAX_VARIABLE_NAME} characters (this one has ${name.length}).`,
    };
  }
  if (name.startsWith('_')) return { code: 'READ_ONLY', params: { name }, message: `"${name}" starts with "_": such variables are read-only and set by ConfigMgr.` };
  if (!NAME_RE.test(name)) return { code: 'BAD_CHARACTERS', params: { name }, message: `"${name}" must start with a letter and hold only letters, digits, "_" and "-".` };
  return null;
}

/** What is wrong with the value of variable `name`, or null. */
export function variableValueIssue(name: string, value: string): RuleIssue<VariableValueIssueCode> | null {
  if (value.length > MAX_VARIABLE_VALUE) {
    return {
      code: 'TOO_LONG',
      params: { name, length: value.length, max: MAX_VARIABLE_VALUE },
      message: `The value of "${name}" has ${value.length} characters; at most ${MAX_VARIABLE_VALUE} are allowed.`,
    };
  }
  return null;
}

/** Returns a sentence saying what is wrong with the name, or null when it is valid for a media variable. */
export function variableNameProblem(name: string): string | null {
  return variableNameIssue(name)?.message ?? null;
}

export function variableValueProblem(name: string, value: string): string | null {
  return variableValueIssue(name, value)?.message ?? null;
}
