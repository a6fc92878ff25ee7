// Stand-alone rules on hand-made task sequences: each rule, disabled steps, the central administration site issue
// and its workaround, child task sequences and application dependencies (with cycles).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { analyzeTaskSequence } from '../electron/engine/site/Analysis.js';
import { InputError } from '../electron/engine/errors.js';
import type { OsdBinaries } from '../electron/engine/site/OsdBinaries.js';
import { Site } from '../electron/engine/site/Site.js';
import type { SiteDescriptor } from '../electron/engine/site/SiteDescriptor.js';
import { parseTaskSequence } from '../electron/engine/site/TaskSequence.js';
import type { TaskSequencePackage } from '../electron/engine/site/TaskSequenceExport.js';

function ts(packageId: string, body: string, bootImageId: string | null = 'ABC00001', extra: Partial<TaskSequencePackage> = {}): TaskSequencePackage {
  const sequenceXml = `<sequence version="3.10">${body}</sequence>`;
  return {
    packageId,
    name: `TS ${packageId}`,
    description: '',
    bootImageId,
    sourceSite: 'ABC',
    sequence: parseTaskSequence(sequenceXml, { file: `${packageId}.xml` }),
    sequenceXml,
    references: [],
    appReferences: [],
    source: `${packageId}.xml`,
    ...extra,
  };
}

const step = (type: string, name: string, vars: Record<string, string> = {}, attrs = '', action = ''): string =>
  `<step type="SMS_TaskSequence_${type}" name="${name}"${attrs}><action>${action}</action><defaultVarList>${Object.entries(vars)
    .map(([k, v]) => `<variable name="${k}" property="${k}">${v}</variable>`)
    .join('')}</defaultVarList></step>`;

const APPLY_OS = step('ApplyOperatingSystemAction', 'Apply Operating System', { ImagePackageID: 'ABC00002' }, '', 'OSDApplyOS.exe /image:ABC00002,1');
const SETUP = step('SetupWindowsAndSMSAction', 'Setup Windows and ConfigMgr', { _SMSClientPackageID: 'ABC00003' });

/** A site whose OSD binaries are absent, or present (`osd`: their x64 folder as found). */
function site(taskSequences: TaskSequencePackage[], descriptor: Partial<SiteDescriptor> | null = null, osd = false): Site {
  const d: SiteDescriptor | null = descriptor
    ? { siteCode: 'ABC', siteName: null, centralAdministrationSite: false, exports: null, distributionPoints: null, catalog: [], osdBinaries: null, siteServer: null, adminService: null, ...descriptor }
    : null;
  const osdBinaries: OsdBinaries = osd
    ? { location: '/nowhere/OSD/bin', origin: 'site-folder', architectures: [{ name: 'x64', folder: '/nowhere/OSD/bin/x64', files: [], bytes: 0 }], problem: null, i386Problem: 'absent', looked: true }
    : { location: null, origin: null, architectures: [], problem: 'the site has no OSD\\bin folder.', i386Problem: 'absent', looked: true };
  return new Site({ root: '/nowhere', descriptor: d, taskSequences, applications: [], contentObjects: [], distributionPoints: [], osdBinaries });
}

async function codes(s: Site, t: TaskSequencePackage): Promise<string[]> {
  return (await analyzeTaskSequence(s, t)).findings.map((f) => f.code).sort();
}

describe('stand-alone analysis', () => {
  test('a clean OS deployment raises nothing', async () => {
    const t = ts('ABC00010', APPLY_OS + SETUP);
    assert.deepEqual(await codes(site([t]), t), []);
  });

  test('each unsupported action is found, and only when enabled', async () => {
    const body =
      step('InstallSoftwareAction', 'Early package', { PackageID: 'ABC00008', _SMSSWDProgramName: 'Run' }) +
      APPLY_OS +
      step('AutoApplyAction', 'Auto Apply Drivers') +
      step('DownloadPackageContentAction', 'Download', { OSDDownloadDownloadPackages: 'ABC00008,ABC00009' }) +
      step('InstallUpdateAction', 'Updates') +
      step('InstallSoftwareAction', 'Dynamic packages', { BaseVariableName: 'PACKAGES' }) +
      step('InstallApplicationAction', 'Dynamic apps', { BaseVariableName: 'APPS' }) +
      step('SetupWindowsAndSMSAction', 'Setup', { _SMSClientPackageID: 'ABC00003', _SMSClientPreProductionPackageID: 'ABC00004' }) +
      step('SetVariableAction', 'UDA', { VariableName: 'SMSTSUdaUsers', VariableValue: 'CONTOSO\\jdoe' }) +
      `<group name="Off" disable="true">${step('AutoApplyAction', 'Disabled auto apply')}${step('InstallUpdateAction', 'Disabled updates')}</group>` +
      step('AutoApplyAction', 'Own flag off', {}, ' disable="true"');
    const t = ts('ABC00010', body);
    const a = await analyzeTaskSequence(site([t]), t);
    assert.deepEqual(
      a.findings.map((f) => [f.code, f.step]),
      [
        ['SOFTWARE_BEFORE_OS', 'Early package'],
        ['AUTO_APPLY_DRIVERS', 'Auto Apply Drivers'],
        ['DOWNLOAD_PACKAGE_CONTENT', 'Download'],
        ['SOFTWARE_UPDATES', 'Updates'],
        ['DYNAMIC_PACKAGE_INSTALL', 'Dynamic packages'],
        ['DYNAMIC_APPLICATION_INSTALL', 'Dynamic apps'],
        ['PRE_PRODUCTION_CLIENT', 'Setup'],
        ['USER_DEVICE_AFFINITY', 'UDA'],
      ],
    );
    assert.ok(a.findings.every((f) => f.severity === 'warning'));
    // Content named by steps, disabled ones included (the console puts it on media too).
    assert.deepEqual(
      a.references.map((r) => [r.packageId, r.kind]).sort(),
      [
        ['ABC00001', 'BootImage'],
        ['ABC00002', 'OperatingSystemImage'],
        ['ABC00003', 'Package'],
        ['ABC00004', 'Package'],
        ['ABC00008', 'Package'],
        ['ABC00009', 'Unknown'],
      ],
    );
  });

  test('no boot image is an error; no OS deployment a warning; global UDA variable', async () => {
    const t = ts('ABC00011', `<globalVarList><variable name="SMSTSAssignUsersMode" property="x">Auto</variable></globalVarList>${step('RunCommandLineAction', 'Hello')}`, null);
    const a = await analyzeTaskSequence(site([t]), t);
    assert.deepEqual(a.findings.map((f) => [f.severity, f.code]), [
      ['error', 'NO_BOOT_IMAGE'],
      ['warning', 'NO_OS_DEPLOYMENT'],
      ['warning', 'USER_DEVICE_AFFINITY'],
    ]);
  });

  test('Install Package at a central administration site, and the documented workaround', async () => {
    const pkg = step('InstallSoftwareAction', 'Install Package', { PackageID: 'ABC00008', _SMSSWDProgramName: 'Run' });
    const plain = ts('ABC00010', APPLY_OS + SETUP + pkg);
    assert.deepEqual(await codes(site([plain], { centralAdministrationSite: false }), plain), [], 'not at a primary site');
    const cas = site([plain], { centralAdministrationSite: true });
    const a = await analyzeTaskSequence(cas, plain);
    assert.deepEqual(a.findings.map((f) => f.code), ['INSTALL_PACKAGE_AT_CAS']);
    assert.match(a.findings[0].message, /0x80041001/);
    assert.match(a.findings[0].message, /ComponentName="Enable SWDist", Enabled="true", LockSettings="TRUE", PolicySource="local", PolicyVersion="1\.0", SiteSettingsKey="1"/);

    const wmic = step('RunCommandLineAction', 'Enable SWDist', {}, '', 'WMIC /namespace:\\\\root\\ccm\\policy\\machine\\requestedconfig path ccm_SoftwareDistributionClientConfig CREATE ComponentName="Enable SWDist", Enabled="true"');
    const fixed = ts('ABC00010', APPLY_OS + SETUP + wmic + pkg);
    assert.deepEqual(await codes(site([fixed], { centralAdministrationSite: true }), fixed), [], 'workaround after Setup, before Install Package');
    const tooEarly = ts('ABC00010', APPLY_OS + wmic + SETUP + pkg);
    assert.deepEqual(await codes(site([tooEarly], { centralAdministrationSite: true }), tooEarly), ['INSTALL_PACKAGE_AT_CAS'], 'the workaround must follow Setup Windows and ConfigMgr');

    const script = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("Set-WmiInstance -Namespace root\\ccm\\policy\\machine\\requestedconfig -Class CCM_SoftwareDistributionClientConfig -Arguments @{ComponentName='Enable SWDist';Enabled='true'}", 'utf16le')]).toString('base64');
    const ps = step('RunPowerShellScriptAction', 'Enable SWDist (PS)', { OSDRunPowerShellScriptSourceScript: script });
    const fixedPs = ts('ABC00010', APPLY_OS + SETUP + ps + pkg);
    assert.deepEqual(await codes(site([fixedPs], { centralAdministrationSite: true }), fixedPs), [], 'a PowerShell script (base64 UTF-16LE) counts too');
  });

  test('child task sequences: content followed, findings prefixed, missing child and cycles', async () => {
    const child = ts('ABC00020', step('AutoApplyAction', 'Auto in child') + step('ApplyDriverPackageAction', 'Drivers', { OSDApplyDriverDriverPackageID: 'ABC00005' }), null);
    const parent = ts('ABC00010', APPLY_OS + `<subtasksequence type="SMS_TaskSequence_SubTasksequence" name="Run child"><defaultVarList><variable name="OSDSubTasksequencePackageID" property="TsPackageID">ABC00020</variable></defaultVarList></subtasksequence>`);
    const s = site([parent, child]);
    const a = await analyzeTaskSequence(s, parent);
    assert.ok(a.references.some((r) => r.packageId === 'ABC00005' && r.kind === 'DriverPackage' && r.via[0].includes('of ABC00020')));
    assert.ok(a.references.some((r) => r.packageId === 'ABC00020' && r.kind === 'TaskSequence'));
    assert.deepEqual(a.findings.map((f) => [f.code, f.step]), [['AUTO_APPLY_DRIVERS', 'ABC00020 › Auto in child']]);
    assert.equal(a.steps.length, 2, 'steps are the task sequence\'s own');

    const lonely = await analyzeTaskSequence(site([parent]), parent);
    assert.deepEqual(lonely.findings.map((f) => f.code), ['CHILD_TASK_SEQUENCE_NOT_FOUND']);

    const sub = (id: string): string => `<subtasksequence name="Run ${id}"><defaultVarList><variable name="OSDSubTasksequencePackageID" property="TsPackageID">${id}</variable></defaultVarList></subtasksequence>`;
    const a1 = ts('ABC00030', APPLY_OS + sub('ABC00031'));
    const a2 = ts('ABC00031', sub('ABC00032'));
    const a3 = ts('ABC00032', sub('ABC00030'));
    await assert.rejects(
      analyzeTaskSequence(site([a1, a2, a3]), a1),
      (err: unknown) => err instanceof InputError && /child task sequences form a cycle: ABC00030 → ABC00031 → ABC00032 → ABC00030 \(step "Run ABC00030"\)/.test(err.message),
    );
  });

  test('applications: resolved through AppReferencesInfo, dependencies detected on request, cycles refused', async () => {
    const model = 'ScopeId_1/Application_A';
    const install = step('InstallApplicationAction', 'Install apps', { ApplicationName: `${model}, ScopeId_1/Application_Unknown` });
    const t = ts('ABC00010', APPLY_OS + install, 'ABC00001', { appReferences: [{ modelName: model, packageId: 'ABC00040', ciId: 1 }] });
    const catalog = [
      { packageId: 'ABC00040', name: 'App A', kind: 'Application' as const, version: '1.0', sourceVersion: 1, modelName: model, dependencies: ['ABC00041'] },
      { packageId: 'ABC00041', name: 'App B', kind: 'Application' as const, version: '2.0', sourceVersion: 1, modelName: null, dependencies: ['ABC00042'] },
      { packageId: 'ABC00042', name: 'App C', kind: 'Application' as const, version: null, sourceVersion: null, modelName: null, dependencies: [] },
    ];
    const s = site([t], { catalog });
    const without = await analyzeTaskSequence(s, t, { detectDependencies: false });
    assert.deepEqual(without.references.filter((r) => r.kind === 'Application').map((r) => r.packageId), ['ABC00040']);
    assert.deepEqual(without.findings.map((f) => f.code), ['APPLICATION_NOT_RESOLVED']);
    assert.match(without.findings[0].message, /ScopeId_1\/Application_Unknown/);
    const withDeps = await analyzeTaskSequence(s, t, { detectDependencies: true });
    assert.deepEqual(withDeps.references.filter((r) => r.kind === 'Application').map((r) => [r.packageId, r.name]), [
      ['ABC00040', 'App A'],
      ['ABC00041', 'App B'],
      ['ABC00042', 'App C'],
    ]);
    assert.deepEqual(withDeps.references.find((r) => r.packageId === 'ABC00042')?.via, ['dependency of ABC00041']);

    const cyclic = site([t], { catalog: [catalog[0], { ...catalog[1], dependencies: ['ABC00040'] }] });
    await assert.rejects(analyzeTaskSequence(cyclic, t, { detectDependencies: true }), /application dependencies form a cycle: ABC00040 → ABC00041 → ABC00040/);
  });
});
