import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../electron/engine/errors.js';
import { allSteps, parseTaskSequence, stepVariable } from '../electron/engine/site/TaskSequence.js';

const where = { file: 'test.xml' };

describe('TaskSequence', () => {
  test('keeps document order across groups and steps, with paths', () => {
    const doc = parseTaskSequence(
      `<sequence version="3.10"><step type="A" name="one"/><group name="G1"><step type="B" name="two"/><group name="G2"><step type="C" name="three"/></group></group><step type="D" name="four"/></sequence>`,
      where,
    );
    const steps = [...allSteps(doc.children)];
    assert.deepEqual(steps.map((s) => s.name), ['one', 'two', 'three', 'four']);
    assert.deepEqual(steps.map((s) => s.path), [[], ['G1'], ['G1', 'G2'], []]);
    assert.equal(doc.version, '3.10');
  });

  test('a step inside a disabled group is disabled, its own flag is kept apart', () => {
    const doc = parseTaskSequence(
      `<sequence><group name="off" disable="true"><step type="X" name="inner" disable="false"/><group name="deeper"><step type="X" name="deepest"/></group></group><step type="X" name="own" disable="TRUE" continueOnError="true"/><step type="X" name="on"/></sequence>`,
      where,
    );
    const steps = [...allSteps(doc.children)];
    assert.deepEqual(
      steps.map((s) => [s.name, s.disabled, s.ownDisabled]),
      [
        ['inner', true, false],
        ['deepest', true, false],
        ['own', true, true],
        ['on', false, false],
      ],
    );
    assert.equal(steps[2].continueOnError, true);
  });

  test('steps without a type, empty operators, escaped XML values and base64 scripts', () => {
    const script = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Write-Host "<hi>"', 'utf16le')]).toString('base64');
    const doc = parseTaskSequence(
      `<?xml version="1.0"?>
<sequence version="3.00" name="MDT">
  <step name="no type"><action>cscript.exe "%SCRIPTROOT%\\ZTIGather.wsf"</action></step>
  <step type="SMS_TaskSequence_SetDynamicVariablesAction" name="rules">
    <condition><operator type="and"><operator/><expression type="SMS_TaskSequence_VariableConditionExpression"><variable name="Variable">IsVM</variable><variable name="Operator">equals</variable><variable name="Value">TRUE</variable></expression></operator></condition>
    <defaultVarList><variable name="OSDSetDynamicVariablesRules" property="Rules">&lt;Rules&gt;&lt;Rule a="1&amp;amp;2"/&gt;&lt;/Rules&gt;</variable>
    <variable name="OSDRunPowerShellScriptSourceScript" property="SourceScript" hidden="true">${script}</variable></defaultVarList>
  </step>
  <subtasksequence type="SMS_TaskSequence_SubTasksequence" name="child"><defaultVarList><variable name="OSDSubTasksequencePackageID" property="TsPackageID">ABC00012</variable></defaultVarList></subtasksequence>
</sequence>`,
      where,
    );
    const steps = [...allSteps(doc.children)];
    assert.equal(steps.length, 3);
    assert.equal(steps[0].type, null);
    assert.equal(steps[0].action, 'cscript.exe "%SCRIPTROOT%\\ZTIGather.wsf"');
    assert.equal(steps[1].condition?.children[0].element, 'operator');
    assert.equal(steps[1].condition?.children[0].children[0].type, null, 'empty <operator/>');
    assert.deepEqual(steps[1].condition?.children[0].children[1].variables.map((v) => v.value), ['IsVM', 'equals', 'TRUE']);
    assert.equal(stepVariable(steps[1], 'osdsetdynamicvariablesrules'), '<Rules><Rule a="1&amp;2"/></Rules>');
    assert.equal(stepVariable(steps[1], 'OSDRunPowerShellScriptSourceScript'), script);
    assert.equal(steps[1].variables[1].hidden, true);
    assert.equal(steps[2].kind, 'subtasksequence');
    assert.equal(stepVariable(steps[2], 'OSDSubTasksequencePackageID'), 'ABC00012');
    assert.equal(doc.name, 'MDT');
  });

  test('malformed XML names the file and line', () => {
    assert.throws(
      () => parseTaskSequence('<sequence>\n<group name="a">\n<step name="b">\n</group>\n</sequence>', where),
      (err: unknown) => err instanceof InputError && /^test\.xml, line \d+/.test(err.message) && /malformed XML/.test(err.message),
    );
    assert.throws(() => parseTaskSequence('<sequence><step name="x"', where), /test\.xml.*malformed XML/);
    assert.throws(() => parseTaskSequence('', where), /test\.xml: the XML document is empty/);
    assert.throws(() => parseTaskSequence('<policy/>', where), /expected a <sequence>.*found <policy>/);
  });

  test('reference list and global variables', () => {
    const doc = parseTaskSequence(
      `<sequence version="3.10"><referenceList><reference package="ABC00001" program="*"/><reference application="ScopeId_1/Application_2"/></referenceList><globalVarList><variable name="OSDAdapterCount" property="NumAdapters">0</variable></globalVarList></sequence>`,
      where,
    );
    assert.deepEqual(doc.references, [
      { package: 'ABC00001', application: null, program: '*' },
      { package: null, application: 'ScopeId_1/Application_2', program: null },
    ]);
    assert.deepEqual(doc.globalVariables, [{ name: 'OSDAdapterCount', property: 'NumAdapters', hidden: false, value: '0' }]);
  });
});
