// The task sequence XML (`<sequence>` 3.00 and 3.10) as a typed tree in document order.
import type { ErrorLocation } from '../errors.js';
import { InputError } from '../errors.js';
import { child, childrenNamed, localName, parseXml, type XmlElement } from './xml.js';

export interface TsVariable {
  name: string;
  property: string | null;
  hidden: boolean;
  value: string;
}

/** A condition node: an operator (and/or/not) over children, or an expression with its variables. */
export interface TsCondition {
  element: string;
  type: string | null;
  variables: TsVariable[];
  children: TsCondition[];
}

interface TsNodeBase {
  name: string;
  description: string;
  /** The node's own `disable` flag. */
  ownDisabled: boolean;
  /** Disabled itself or inside a disabled group. */
  disabled: boolean;
  continueOnError: boolean;
  condition: TsCondition | null;
  /** Names of enclosing groups, outermost first. */
  path: string[];
}

export interface TsStep extends TsNodeBase {
  kind: 'step' | 'subtasksequence';
  type: string | null;
  action: string;
  runIn: string | null;
  successCodes: string | null;
  timeout: number | null;
  variables: TsVariable[];
  /** Conditions of the enclosing groups, outermost first: the step runs only when they hold too. */
  groupConditions: TsCondition[];
}

export interface TsGroup extends TsNodeBase {
  kind: 'group';
  children: TsNode[];
}

export type TsNode = TsStep | TsGroup;

export interface TsReference {
  package: string | null;
  application: string | null;
  program: string | null;
}

export interface TaskSequenceDocument {
  version: string | null;
  name: string | null;
  references: TsReference[];
  globalVariables: TsVariable[];
  children: TsNode[];
}

const truthy = (v: string | undefined): boolean => v !== undefined && v.trim().toLowerCase() === 'true';

function readVariables(list: XmlElement | undefined): TsVariable[] {
  if (!list) return [];
  return childrenNamed(list, 'variable').map((v) => ({
    name: v.attrs.name ?? '',
    property: v.attrs.property ?? null,
    hidden: truthy(v.attrs.hidden),
    value: v.text,
  }));
}

function readCondition(el: XmlElement): TsCondition {
  return {
    element: localName(el.name),
    type: el.attrs.type ?? null,
    variables: childrenNamed(el, 'variable').map((v) => ({
      name: v.attrs.name ?? '',
      property: v.attrs.property ?? null,
      hidden: false,
      value: v.text,
    })),
    children: el.children.filter((c) => localName(c.name) !== 'variable').map(readCondition),
  };
}

function readNodes(parent: XmlElement, path: string[], parentDisabled: boolean, parentConditions: TsCondition[]): TsNode[] {
  const out: TsNode[] = [];
  for (const el of parent.children) {
    const tag = localName(el.name);
    if (tag !== 'group' && tag !== 'step' && tag !== 'subtasksequence') continue;
    const ownDisabled = truthy(el.attrs.disable);
    const condEl = child(el, 'condition');
    const base: TsNodeBase = {
      name: el.attrs.name ?? '',
      description: el.attrs.description ?? '',
      ownDisabled,
      disabled: ownDisabled || parentDisabled,
      continueOnError: truthy(el.attrs.continueOnError),
      condition: condEl ? readCondition(condEl) : null,
      path,
    };
    if (tag === 'group') {
      out.push({ ...base, kind: 'group', children: readNodes(el, [...path, base.name], base.disabled, base.condition ? [...parentConditions, base.condition] : parentConditions) });
    } else {
      const timeout = el.attrs.timeout !== undefined ? Number.parseInt(el.attrs.timeout, 10) : NaN;
      out.push({
        ...base,
        kind: tag,
        type: el.attrs.type ?? null,
        action: child(el, 'action')?.text ?? '',
        runIn: el.attrs.runIn ?? null,
        successCodes: el.attrs.successCodeList ?? null,
        timeout: Number.isFinite(timeout) ? timeout : null,
        variables: readVariables(child(el, 'defaultVarList')),
        groupConditions: parentConditions,
      });
    }
  }
  return out;
}

/** Reads a `<sequence>` document; throws InputError naming `where` on malformed XML or a wrong root. */
export function parseTaskSequence(xml: string, where: ErrorLocation): TaskSequenceDocument {
  const root = parseXml(xml, where);
  return taskSequenceFromElement(root, where);
}

export function taskSequenceFromElement(root: XmlElement, where: ErrorLocation): TaskSequenceDocument {
  if (localName(root.name) !== 'sequence') {
    throw new InputError(`expected a <sequence> task sequence document, found <${root.name}>.`, where);
  }
  const refList = child(root, 'referenceList');
  const references: TsReference[] = refList
    ? childrenNamed(refList, 'reference').map((r) => ({
        package: r.attrs.package ?? null,
        application: r.attrs.application ?? null,
        program: r.attrs.program ?? null,
      }))
    : [];
  return {
    version: root.attrs.version ?? null,
    name: root.attrs.name ?? null,
    references,
    globalVariables: readVariables(child(root, 'globalVarList')),
    children: readNodes(root, [], false, []),
  };
}

/** Every step and sub task sequence in document order. */
export function* allSteps(nodes: readonly TsNode[]): Generator<TsStep> {
  for (const n of nodes) {
    if (n.kind === 'group') yield* allSteps(n.children);
    else yield n;
  }
}

/** A step's variable value by name (case-insensitive, as task sequence variables are). */
export function stepVariable(step: TsStep, name: string): string | undefined {
  const lower = name.toLowerCase();
  return step.variables.find((v) => v.name.toLowerCase() === lower)?.value;
}

/** The step class without the SMS_TaskSequence_ prefix (e.g. "ApplyOperatingSystemAction"). */
export function stepClass(step: TsStep): string {
  const t = step.type ?? '';
  return t.startsWith('SMS_TaskSequence_') ? t.slice('SMS_TaskSequence_'.length) : t;
}
