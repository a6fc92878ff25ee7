// Task sequence variable rules (SPEC.md "Task sequence variables"), shared by the UI and the engine.

export const MAX_VARIABLE_NAME = 256;
export const MAX_VARIABLE_VALUE = 4000;

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Returns a sentence saying what is wrong with the name, or null when it is valid for a media variable. */
export function variableNameProblem(name: string): string | null {
  if (name.length === 0) return 'A variable name cannot be empty.';
  if (name.length > MAX_VARIABLE_NAME) return `A variable name has at most ${MAX_VARIABLE_NAME} characters (this one has ${name.length}).`;
  if (name.startsWith('_')) return `"${name}" starts with "_": such variables are read-only and set by ConfigMgr.`;
  if (!NAME_RE.test(name)) return `"${name}" must start with a letter and hold only letters, digits, "_" and "-".`;
  return null;
}

export function variableValueProblem(name: string, value: string): string | null {
  if (value.length > MAX_VARIABLE_VALUE) return `The value of "${name}" has ${value.length} characters; at most ${MAX_VARIABLE_VALUE} are allowed.`;
  return null;
}
