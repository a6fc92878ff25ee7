// The sample site: a small, deterministic Configuration Manager site on disk (site SMP) that the app and the tests
// can read as if it were real: a site descriptor, task sequence export zips and two distribution points' content
// libraries. Every byte is generated here from fixed text; there are no Microsoft files in it. The WIM, EXE, MSI and
// boot files are STAND-INS: they start with the right magic where that matters and are otherwise filler text.
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ContentLibraryWriter } from '../../electron/engine/site/ContentLibraryWriter.js';
import { buildFatFloppy } from './FatFloppy.js';
import { buildAppMgmtDigest, writeExportZip, xmlEscape, type ExportedObject, type ExportTaskSequence } from '../../electron/engine/site/ExportWriter.js';
import { standInPe } from './StandInPe.js';

export const SITE_CODE = 'SMP';
export const SITE_NAME = 'Sample site (tsmedia)';
export const AUTHORING_SCOPE = 'ScopeId_7E1B6C2A-4F3D-4E59-9A80-1C2D3E4F5A6B';

/** Application identities (fixed GUIDs, invented for the sample). */
export const APPS = {
  reader: {
    packageId: 'SMP00006',
    name: 'Contoso Reader',
    version: '24.1',
    ciId: 16777217,
    application: 'Application_6A1E0C52-7B3D-4C8E-9F21-0D4A5B6C7D81',
    deploymentType: 'DeploymentType_1B2C3D4E-5F60-4718-8A9B-ACBDCEDF0112',
    content: 'Content_4E5F6071-8293-4A4B-8C5D-6E7F80910A1B',
    productCode: '{0D1E2F30-4152-4637-8899-AABBCCDDEE01}',
    dependencyRule: 'DTRule_7A8B9C0D-1E2F-4031-8425-364758697A8B',
  },
  runtime: {
    packageId: 'SMP00007',
    name: 'Contoso Runtime 2.0',
    version: '2.0',
    ciId: 16777218,
    application: 'Application_9C8B7A65-4D3E-4F21-8B0C-1D2E3F405162',
    deploymentType: 'DeploymentType_2C3D4E5F-6071-4829-9BAC-BDCEDF011223',
    content: 'Content_5F607182-93A4-4B5C-9D6E-7F8091A2B3C4',
    productCode: '{0D1E2F30-4152-4637-8899-AABBCCDDEE02}',
  },
} as const;

export const modelName = (app: { application: string }): string => `${AUTHORING_SCOPE}/${app.application}`;

type Kind = 'BootImage' | 'OperatingSystemImage' | 'OperatingSystemUpgradePackage' | 'DriverPackage' | 'Package' | 'Application' | 'TaskSequence';

interface CatalogEntry {
  packageId: string;
  name: string;
  kind: Kind;
  version: string | null;
  sourceVersion: number;
  modelName?: string;
  dependencies?: string[];
}

interface SampleFile {
  relativePath: string;
  data: Buffer;
}

const WIM_MAGIC = Buffer.from('MSWIM\0\0\0', 'latin1');

/** Deterministic filler: "tsmedia sample stand-in: <path>\n" repeated to `size` bytes, after an optional magic. */
export function standIn(path: string, size: number, magic: Buffer = Buffer.alloc(0)): Buffer {
  const line = Buffer.from(`tsmedia sample stand-in: ${path}\n`, 'utf8');
  const out = Buffer.alloc(size);
  magic.copy(out, 0);
  for (let off = magic.length; off < size; off += line.length) line.copy(out, off, 0, Math.min(line.length, size - off));
  return out;
}

const text = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'utf8');
const file = (relativePath: string, data: Buffer): SampleFile => ({ relativePath, data });

// ---- Package content -------------------------------------------------------------------------------------------

function bootImageFiles(): SampleFile[] {
  // Stand-in for the UEFI loader: a PE-looking header ("MZ") and filler. Not executable.
  const bootx64 = standIn('efi/boot/bootx64.efi', 3072, Buffer.from('MZ', 'latin1'));
  // Stand-in for etfsboot.com: exactly 4,096 bytes (8 sectors of 512, loaded whole by the BIOS). The first bytes are a
  // real-mode "cli; hlt; jmp $-1" loop so that a BIOS that runs it halts quietly; the rest is filler.
  const etfsboot = standIn('boot/etfsboot.com', 4096, Buffer.from([0xfa, 0xf4, 0xeb, 0xfd]));
  return [
    file('bootmgr', standIn('bootmgr', 2048)),
    file('bootmgr.efi', standIn('bootmgr.efi', 2048, Buffer.from('MZ', 'latin1'))),
    file('boot/bcd', standIn('boot/bcd', 1024, Buffer.from('regf', 'latin1'))),
    file('boot/boot.sdi', standIn('boot/boot.sdi', 2048)),
    file('boot/etfsboot.com', etfsboot),
    file('efi/boot/bootx64.efi', bootx64),
    file('efi/microsoft/boot/bcd', standIn('efi/microsoft/boot/bcd', 1024, Buffer.from('regf', 'latin1'))),
    // A real FAT12 1.44 MB image holding \EFI\BOOT\BOOTX64.EFI, as efisys.bin is on Windows media.
    file('efi/microsoft/boot/efisys.bin', buildFatFloppy([{ path: 'EFI/BOOT/BOOTX64.EFI', data: bootx64 }], 'EFISECTOR')),
    // Stand-in: only the 8-byte WIM magic is real; this is not a valid WIM.
    file('sources/boot.wim', standIn('sources/boot.wim', 4096, WIM_MAGIC)),
  ];
}

function osImageFiles(): SampleFile[] {
  // Stand-in: WIM magic then filler (64 KiB); not a valid WIM.
  return [file('install.wim', standIn('install.wim', 64 * 1024, WIM_MAGIC))];
}

function upgradePackageFiles(): SampleFile[] {
  // Stand-ins for the extracted Windows setup media of an OS upgrade package.
  return [
    file('setup.exe', standIn('setup.exe', 2048, Buffer.from('MZ', 'latin1'))),
    file('sources/install.wim', standIn('sources/install.wim', 32 * 1024, WIM_MAGIC)),
    file('sources/setupprep.exe', standIn('sources/setupprep.exe', 2048, Buffer.from('MZ', 'latin1'))),
  ];
}

/** The OSD binaries' version: the sample client package's (ConfigMgr 2403). */
export const OSD_BINARIES_VERSION = '5.0.9128.1000';

/**
 * Stand-ins for the site server's <ConfigMgr installation folder>\OSD\bin\<arch>: PE images with a version resource
 * and no code, under the names media started from Windows run (TSMBAutorun.exe starts TsmBootstrap.exe).
 */
export async function osdBinaryFiles(arch: 'x64' | 'i386'): Promise<SampleFile[]> {
  const pe = async (name: string, description: string, isDll = false): Promise<SampleFile> =>
    file(name, await standInPe({ name: name.split('/').pop() ?? name, version: OSD_BINARIES_VERSION, description, is32Bit: arch === 'i386', isDll }));
  return [
    await pe('TSMBAutorun.exe', 'starts the task sequence from the media in a running Windows'),
    await pe('TsmBootstrap.exe', 'task sequence media bootstrap'),
    await pe('TsManager.exe', 'task sequence manager'),
    await pe('TsProgressUI.exe', 'task sequence progress'),
    await pe('TSCore.dll', 'task sequence core', true),
    await pe('CcmCore.dll', 'client core', true),
    await pe('00000409/TsRes.dll', 'English resources', true),
  ];
}

function clientFiles(): SampleFile[] {
  return [
    file('ccmsetup.exe', standIn('ccmsetup.exe', 2048, Buffer.from('MZ', 'latin1'))),
    file('ccmsetup.cab', standIn('ccmsetup.cab', 1024, Buffer.from('MSCF', 'latin1'))),
    file('i386/client.msi', standIn('i386/client.msi', 1536)),
    file('x64/client.msi', standIn('x64/client.msi', 1536)),
    file('x64/MicrosoftPolicyPlatformSetup.msi', standIn('x64/MicrosoftPolicyPlatformSetup.msi', 1024)),
  ];
}
const CLIENT_EMPTY_FOLDERS = ['x64/ClientUpdate'];

function usmtFiles(): SampleFile[] {
  return [
    file('amd64/scanstate.exe', standIn('amd64/scanstate.exe', 2048, Buffer.from('MZ', 'latin1'))),
    file('amd64/loadstate.exe', standIn('amd64/loadstate.exe', 2048, Buffer.from('MZ', 'latin1'))),
    file(
      'amd64/MigApp.xml',
      text(
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
          '<!-- tsmedia sample stand-in for USMT MigApp.xml -->\n' +
          '<migration urlid="http://www.microsoft.com/migration/1.0/migxmlext/migapp">\n' +
          '  <component type="Application" context="UserAndSystem">\n' +
          '    <displayName>Contoso Reader settings</displayName>\n' +
          '    <role role="Settings"><rules><include><objectSet>\n' +
          '      <pattern type="Registry">HKCU\\Software\\Contoso\\Reader\\* [*]</pattern>\n' +
          '    </objectSet></include></rules></role>\n' +
          '  </component>\n' +
          '</migration>\n',
      ),
    ),
  ];
}

function driverInf(name: string, driverVer: string): Buffer {
  return text(
    `; tsmedia sample stand-in: ${name}\n[Version]\nSignature="$WINDOWS NT$"\nClass=${name.startsWith('net') ? 'Net' : 'SCSIAdapter'}\n` +
      `Provider=%Contoso%\nDriverVer=${driverVer}\nCatalogFile=${basename(name, '.inf')}.cat\n\n[Strings]\nContoso="Contoso Ltd."\n`,
  );
}

/** Driver package content; version 2 is current, version 1 is the old content DP02 still holds. */
function driverFiles(sourceVersion: 1 | 2): SampleFile[] {
  const common = [
    file('net/e1000.sys', standIn('net/e1000.sys', 3072, Buffer.from('MZ', 'latin1'))),
    file('storage/iastor.inf', driverInf('storage/iastor.inf', '03/14/2023,19.5.0.1037')),
    file('storage/iastor.sys', standIn('storage/iastor.sys', 3072, Buffer.from('MZ', 'latin1'))),
  ];
  if (sourceVersion === 1) return [file('net/e1000.inf', driverInf('net/e1000.inf', '06/21/2022,12.19.1.37')), ...common];
  return [
    file('net/e1000.inf', driverInf('net/e1000.inf', '09/30/2024,12.19.2.60')),
    file('net/e1000.cat', standIn('net/e1000.cat', 1024)),
    ...common,
  ];
}

function readerFiles(): SampleFile[] {
  return [file('setup.msi', standIn('Contoso Reader/setup.msi', 4096, Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])))];
}

function runtimeFiles(): SampleFile[] {
  return [file('runtime.msi', standIn('Contoso Runtime/runtime.msi', 3072, Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])))];
}

function scriptsFiles(): SampleFile[] {
  return [
    file(
      'Enable-Logging.ps1',
      text(
        '# tsmedia sample: Contoso Scripts package\n' +
          'param([string]$LogPath = "$env:SystemRoot\\Temp\\Contoso")\n' +
          'New-Item -ItemType Directory -Path $LogPath -Force | Out-Null\n' +
          'Set-ItemProperty -Path "HKLM:\\SOFTWARE\\Contoso" -Name LogPath -Value $LogPath -ErrorAction SilentlyContinue\n' +
          'Write-Output "Logging enabled in $LogPath"\n',
      ),
    ),
  ];
}

// ---- Task sequence XML -----------------------------------------------------------------------------------------

interface Var {
  name: string;
  property: string;
  value?: string;
  hidden?: boolean;
}

interface StepOptions {
  description?: string;
  disable?: boolean;
  continueOnError?: boolean;
  runIn?: 'WinPE' | 'FullOS' | 'WinPEandFullOS';
  successCodeList?: string;
  retryCount?: number;
  condition?: string;
}

const a = xmlEscape;

function v(name: string, property: string, value?: string, hidden = false): Var {
  const out: Var = { name, property, hidden };
  if (value !== undefined) out.value = value;
  return out;
}

function step(type: string, name: string, action: string, vars: Var[], o: StepOptions = {}): string {
  let x = `<step type="${a(type)}" name="${a(name)}" description="${a(o.description ?? '')}"`;
  if (o.disable) x += ' disable="true"';
  if (o.continueOnError) x += ' continueOnError="true"';
  x += ` runIn="${o.runIn ?? 'WinPEandFullOS'}" successCodeList="${o.successCodeList ?? '0 3010'}" retryCount="${o.retryCount ?? 0}" runFromNet="false">`;
  if (o.condition) x += o.condition;
  x += `<action>${a(action)}</action><defaultVarList>`;
  for (const vr of vars) {
    x += `<variable name="${a(vr.name)}" property="${a(vr.property)}"${vr.hidden ? ' hidden="true"' : ''}`;
    x += vr.value === undefined || vr.value === '' ? ' />' : `>${a(vr.value)}</variable>`;
  }
  return x + '</defaultVarList></step>';
}

function group(name: string, children: string[], o: { description?: string; disable?: boolean } = {}): string {
  return `<group name="${a(name)}" description="${a(o.description ?? '')}"${o.disable ? ' disable="true"' : ''}>${children.join('')}</group>`;
}

function sequence(packages: { id: string; program?: string }[], applications: string[], body: string[]): string {
  let x = '<sequence version="3.10">';
  if (packages.length + applications.length > 0) {
    x += '<referenceList>';
    for (const p of packages) x += `<reference package="${a(p.id)}" program="${a(p.program ?? '*')}"/>`;
    for (const m of applications) x += `<reference application="${a(m)}"/>`;
    x += '</referenceList>';
  }
  return x + '<globalVarList/>' + body.join('') + '</sequence>';
}

const variableCondition = (variable: string, operator: string, value: string): string =>
  '<condition><expression type="SMS_TaskSequence_VariableConditionExpression">' +
  `<variable name="Operator">${a(operator)}</variable><variable name="Value">${a(value)}</variable><variable name="Variable">${a(variable)}</variable>` +
  '</expression></condition>';

const T = (s: string): string => `SMS_TaskSequence_${s}`;

function setVariable(name: string, variable: string, value: string, o: StepOptions = {}): string {
  return step(
    T('SetVariableAction'),
    name,
    `tsenv.exe "${variable}=${value}" /hiddenflag:False`,
    [v('DoNotShowVariableValue', 'DoNotShowVariableValue', 'false', true), v('VariableName', 'VariableName', variable, true), v('VariableValue', 'VariableValue', value, true)],
    o,
  );
}

function restartInWinPE(): string {
  return step(
    T('RebootAction'),
    'Restart in Windows PE',
    'smsboot.exe /target:WinPE',
    [
      v('SMSRebootMessage', 'Message', 'The computer restarts in Windows PE to install Windows 11.'),
      v('SMSRebootTimeout', 'MessageTimeout', '60'),
      v('SMSRebootTarget', 'Target', 'WinPE', true),
    ],
    { condition: variableCondition('_SMSTSInWinPE', 'equals', 'false') },
  );
}

function applyOperatingSystem(imageId: string): string {
  return step(
    T('ApplyOperatingSystemAction'),
    'Apply Operating System',
    `OSDApplyOS.exe /image:${imageId},1`,
    [
      v('OSDConfigFileName', 'ConfigFileName'),
      v('OSDImageIndex', 'ImageIndex', '1'),
      v('ImagePackageID', 'ImagePackageID', imageId, true),
      v('OSDRunFromNet', 'RunFromNet', 'false', true),
    ],
    { runIn: 'WinPE', successCodeList: '0' },
  );
}

function autoApplyDrivers(name: string, o: StepOptions = {}): string {
  return step(
    T('AutoApplyAction'),
    name,
    'osddriverclient.exe /auto /bestmatch /unsigned:False',
    [v('OSDAllowUnsignedDriver', 'UnsignedDriver', 'false'), v('OSDAutoApplyDriverBestMatch', 'BestMatch', 'true'), v('OSDAutoApplyDriverCategoryList', 'DriverCategoryList')],
    { runIn: 'WinPE', successCodeList: '0', ...o },
  );
}

function setupWindows(clientId: string, preProductionId?: string): string {
  const vars = [v('SMSClientInstallProperties', 'ClientInstallProperties', 'SMSCACHESIZE=10240 SMSSITECODE=SMP'), v('_SMSClientPackageID', 'ClientPackageID', clientId)];
  if (preProductionId) vars.push(v('_SMSClientPreProductionPackageID', 'ClientPreProductionPackageID', preProductionId));
  return step(T('SetupWindowsAndSMSAction'), 'Setup Windows and ConfigMgr', 'OSDSetupWindows.exe', vars, { successCodeList: '0' });
}

function runCommandLine(name: string, command: string): string {
  return step(
    T('RunCommandLineAction'),
    name,
    `smsswd.exe /run: ${command}`,
    [
      v('CommandLine', 'CommandLine', command, true),
      v('SMSTSDisableWow64Redirection', 'DisableWow64Redirection', 'false'),
      v('SMSTSRunCommandLineOutputVariableName', 'OutputVariableName'),
      v('_SMSTSRunCommandLineAsUser', 'RunAsUser', 'false'),
      v('SuccessCodes', 'SuccessCodes', '0 3010', true),
    ],
    { runIn: 'FullOS' },
  );
}

/** Partition Disk 0 for UEFI: EFI, MSR and Windows, with a recovery partition after Windows when asked. */
function partitionDiskUefi(withRecovery: boolean): string {
  const recovery = [
    v('OSDPartitions3Type', 'Partitions3Type', 'Recovery'),
    v('OSDPartitions3FileSystem', 'Partitions3FileSystem', 'NTFS'),
    v('OSDPartitions3Size', 'Partitions3Size', '100'),
    v('OSDPartitions3SizeUnits', 'Partitions3SizeUnits', 'Percent'),
    v('OSDPartitions3VolumeName', 'Partitions3VolumeName', 'Recovery'),
  ];
  return step(
    T('PartitionDiskAction'),
    'Partition Disk 0 - UEFI',
    'OSDDiskPart.exe',
    [
      v('OSDDiskIndex', 'DiskIndex', '0'),
      v('OSDPartitionStyle', 'PartitionStyle', 'GPT'),
      v('OSDPartitions', 'Partitions', withRecovery ? '4' : '3', true),
      v('OSDPartitions0Type', 'Partitions0Type', 'EFI'),
      v('OSDPartitions0FileSystem', 'Partitions0FileSystem', 'FAT32'),
      v('OSDPartitions0Size', 'Partitions0Size', '500'),
      v('OSDPartitions0SizeUnits', 'Partitions0SizeUnits', 'MB'),
      v('OSDPartitions0VolumeName', 'Partitions0VolumeName', 'EFI'),
      v('OSDPartitions1Type', 'Partitions1Type', 'MSR'),
      v('OSDPartitions1Size', 'Partitions1Size', '128'),
      v('OSDPartitions1SizeUnits', 'Partitions1SizeUnits', 'MB'),
      v('OSDPartitions2Type', 'Partitions2Type', 'Primary'),
      v('OSDPartitions2FileSystem', 'Partitions2FileSystem', 'NTFS'),
      v('OSDPartitions2Size', 'Partitions2Size', withRecovery ? '99' : '100'),
      v('OSDPartitions2SizeUnits', 'Partitions2SizeUnits', 'Percent'),
      v('OSDPartitions2VolumeName', 'Partitions2VolumeName', 'Windows'),
      v('OSDPartitions2VolumeLetterVariable', 'Partitions2VolumeLetterVariable', 'OSDisk'),
      ...(withRecovery ? recovery : []),
    ],
    { runIn: 'WinPE', successCodeList: '0' },
  );
}

/** The "Example task sequence for stand-alone media" of Microsoft's article, made concrete. */
function refreshSequence(): string {
  const readerModel = modelName(APPS.reader);
  return sequence(
    [{ id: 'SMP00002' }, { id: 'SMP00003' }, { id: 'SMP00004' }, { id: 'SMP00005' }, { id: 'SMP00008' }],
    [readerModel],
    [
      group(
        'Capture File and Settings',
        [
          step(
            T('CaptureWindowsSettingsAction'),
            'Capture Windows Settings',
            'osdwinsettings.exe /capture',
            [v('OSDMigrateComputerName', 'MigrateComputerName', 'true'), v('OSDMigrateRegistrationInfo', 'MigrateRegistrationInfo', 'true'), v('OSDMigrateTimeZone', 'MigrateTimeZone', 'true')],
            { runIn: 'FullOS', successCodeList: '0' },
          ),
          step(
            T('CaptureNetworkSettingsAction'),
            'Capture Network Settings',
            'osdnetsettings.exe capture',
            [v('OSDMigrateAdapterSettings', 'MigrateAdapterSettings', 'true'), v('OSDMigrateNetworkMembership', 'MigrateNetworkMembership', 'true')],
            { runIn: 'FullOS', successCodeList: '0' },
          ),
          group('Capture User Files and Settings', [
            setVariable('Set Local State Location', 'OSDStateStorePath', '%_SMSTSUserStatePath%', { successCodeList: '0' }),
            step(
              T('CaptureUserStateAction'),
              'Capture User State',
              'OSDMigrateUserState.exe /collect /continueOnError:%_OSDMigrateContinueOnLockedFiles%',
              [
                v('OSDMigrateContinueOnLockedFiles', 'ContinueOnLockedFiles', 'true'),
                v('OSDMigrateEnableVerboseLogging', 'EnableVerboseLogging', 'false'),
                v('OSDMigrateMode', 'Mode', 'Simple'),
                v('_OSDMigrateUsmtPackageID', 'PackageID', 'SMP00004'),
                v('OSDMigrateSkipEncryptedFiles', 'SkipEncryptedFiles', 'false'),
                v('_OSDMigrateUseHardlinks', 'UseHardLinks', 'true'),
              ],
              { runIn: 'FullOS', successCodeList: '0' },
            ),
          ]),
        ],
        { description: 'Capture the settings and files of the current Windows installation.' },
      ),
      group('Install Operating System', [
        restartInWinPE(),
        partitionDiskUefi(true),
        applyOperatingSystem('SMP00002'),
        step(
          T('ApplyWindowsSettingsAction'),
          'Apply Windows Settings',
          'osdwinsettings.exe /config',
          [
            v('OSDLocalAdminPassword', 'AdminPassword'),
            v('OSDRandomAdminPassword', 'RandomAdminPassword', 'true'),
            v('OSDRegisteredOrgName', 'RegisteredOrgName', 'Contoso'),
            v('OSDRegisteredUserName', 'RegisteredUserName', 'Contoso user'),
            v('OSDTimeZone', 'TimeZone', 'W. Europe Standard Time'),
          ],
          { runIn: 'WinPE', successCodeList: '0' },
        ),
        step(
          T('ApplyNetworkSettingsAction'),
          'Apply Network Settings',
          'osdnetsettings.exe configure',
          [
            v('OSDNetworkJoinType', 'NetworkJoinType', '1'),
            v('OSDJoinWorkgroupName', 'WorkgroupName', 'WORKGROUP'),
            v('OSDEnableTCPIPFiltering', 'EnableTCPIPFiltering', 'false', true),
            v('OSDAdapterCount', 'NumAdapters', '0', true),
          ],
          { runIn: 'WinPE', successCodeList: '0' },
        ),
        step(
          T('ApplyDriverPackageAction'),
          'Apply Driver Package',
          'osddriverclient.exe /install:SMP00005 /unsigned:False',
          [
            v('OSDApplyDriverBootCriticalContentUniqueID', 'BootCriticalContentUniqueID'),
            v('OSDApplyDriverBootCriticalHardwareComponent', 'BootCriticalHardwareComponent'),
            v('OSDApplyDriverBootCriticalID', 'BootCriticalID'),
            v('OSDApplyDriverBootCriticalINFFile', 'BootCriticalINFFile'),
            v('OSDApplyDriverDriverPackageID', 'DriverPackageID', 'SMP00005'),
            v('OSDAllowUnsignedDriver', 'UnsignedDriver', 'false'),
          ],
          { runIn: 'WinPE', successCodeList: '0' },
        ),
      ]),
      group('Setup Operating System', [
        setupWindows('SMP00003'),
        step(
          T('InstallApplicationAction'),
          'Install Contoso Reader',
          `smsappinstall.exe /app:${readerModel} /basevar: /continueOnError:False`,
          [
            v('ApplicationName', 'ApplicationName', readerModel, true),
            v('ContinueOnInstallError', 'ContinueOnInstallError', 'false', true),
            v('NumApps', 'NumApps', '1', true),
            v('RetryCount', 'RetryCount', '2', true),
          ],
          { runIn: 'FullOS', successCodeList: '0', retryCount: 2 },
        ),
        step(
          T('RunPowerShellScriptAction'),
          'Run Contoso Scripts',
          'OSDRunPowerShellScript.exe',
          [
            v('OSDRunPowerShellScriptExecutionPolicy', 'ExecutionPolicy', 'Bypass'),
            v('OSDRunPowerShellScriptOutputVariableName', 'OutputVariableName'),
            v('OSDRunPowerShellScriptPackageID', 'PackageID', 'SMP00008'),
            v('OSDRunPowerShellScriptParameters', 'Parameters', '-LogPath "%SystemRoot%\\Temp\\Contoso"'),
            v('_SMSTSRunPowerShellAsUser', 'RunAsUser', 'false'),
            v('OSDRunPowerShellScriptScriptName', 'ScriptName', 'Enable-Logging.ps1'),
          ],
          { runIn: 'FullOS' },
        ),
      ]),
      group('Restore User Files and Settings', [
        step(
          T('RestoreUserStateAction'),
          'Restore User State',
          'OSDMigrateUserState.exe /apply /continueOnError:%OSDMigrateContinueOnRestore%',
          [
            v('OSDMigrateContinueOnRestore', 'ContinueOnRestore', 'true'),
            v('OSDMigrateEnableVerboseLogging', 'EnableVerboseLogging', 'false'),
            v('OSDMigrateLocalAccounts', 'LocalAccounts', 'false'),
            v('_OSDMigrateUsmtRestorePackageID', 'PackageID', 'SMP00004'),
          ],
          { runIn: 'FullOS', successCodeList: '0' },
        ),
      ]),
    ],
  );
}

/** A new computer (bare metal): booted from the media, it partitions the disk and installs Windows 11. */
function bareMetalSequence(): string {
  const readerModel = modelName(APPS.reader);
  return sequence(
    [{ id: 'SMP00002' }, { id: 'SMP00003' }, { id: 'SMP00005' }],
    [readerModel],
    [
      group('Install Operating System', [
        partitionDiskUefi(false),
        applyOperatingSystem('SMP00002'),
        step(
          T('ApplyDriverPackageAction'),
          'Apply Driver Package',
          'osddriverclient.exe /install:SMP00005 /unsigned:False',
          [v('OSDApplyDriverDriverPackageID', 'DriverPackageID', 'SMP00005'), v('OSDAllowUnsignedDriver', 'UnsignedDriver', 'false')],
          { runIn: 'WinPE', successCodeList: '0' },
        ),
      ]),
      group('Setup Operating System', [
        setupWindows('SMP00003'),
        step(
          T('InstallApplicationAction'),
          'Install Contoso Reader',
          `smsappinstall.exe /app:${readerModel} /basevar: /continueOnError:False`,
          [v('ApplicationName', 'ApplicationName', readerModel, true), v('ContinueOnInstallError', 'ContinueOnInstallError', 'false', true), v('NumApps', 'NumApps', '1', true)],
          { runIn: 'FullOS', successCodeList: '0' },
        ),
      ]),
    ],
  );
}

/** An in-place upgrade: started from the running Windows, Windows setup upgrades it to Windows 11 23H2. */
function upgradeSequence(): string {
  return sequence(
    [{ id: 'SMP00009' }, { id: 'SMP00008' }],
    [],
    [
      group('Upgrade the Operating System', [
        step(
          T('UpgradeOperatingSystemAction'),
          'Upgrade Operating System',
          'TSUpgradeOS.exe',
          [
            v('OSDSetupEditionIndex', 'EditionIndex', '1'),
            v('OSDUpgradeInstallPackageID', 'InstallPackageID', 'SMP00009'),
            v('OSDSetupDynamicUpdate', 'DynamicUpdateSetting', 'DISABLED'),
            v('OSDSetupIgnoreErrors', 'IgnoreErrors', 'false'),
          ],
          { runIn: 'FullOS', successCodeList: '0' },
        ),
        step(
          T('RebootAction'),
          'Restart Computer',
          'smsboot.exe /target:HD',
          [v('SMSRebootMessage', 'Message', 'Windows 11 is installed; the computer restarts.'), v('SMSRebootTimeout', 'MessageTimeout', '60'), v('SMSRebootTarget', 'Target', 'HD', true)],
          { successCodeList: '0' },
        ),
      ]),
      group('Post-Processing', [
        step(
          T('RunPowerShellScriptAction'),
          'Run Contoso Scripts',
          'OSDRunPowerShellScript.exe',
          [
            v('OSDRunPowerShellScriptExecutionPolicy', 'ExecutionPolicy', 'Bypass'),
            v('OSDRunPowerShellScriptPackageID', 'PackageID', 'SMP00008'),
            v('OSDRunPowerShellScriptScriptName', 'ScriptName', 'Enable-Logging.ps1'),
          ],
          { runIn: 'FullOS' },
        ),
      ]),
    ],
  );
}

/** A task sequence that breaks every stand-alone media rule it can (and one disabled group that must not count). */
function unsupportedSequence(): string {
  return sequence(
    [{ id: 'SMP00002' }, { id: 'SMP00003' }, { id: 'SMP00008', program: 'Run' }],
    [],
    [
      group('Prepare', [
        step(
          T('InstallSoftwareAction'),
          'Install Contoso Scripts (before the OS)',
          'smsswd.exe /pkg:SMP00008 /install /basevar: /continueOnError:',
          [v('PackageID', 'PackageID', 'SMP00008', true), v('_SMSSWDProgramName', 'ProgramName', 'Run'), v('OSDPackageDownloadRetries', 'RetryCount', '0')],
          { runIn: 'FullOS', successCodeList: '0' },
        ),
      ]),
      group('Install Operating System', [restartInWinPE(), applyOperatingSystem('SMP00002'), autoApplyDrivers('Auto Apply Drivers')]),
      group('Setup Operating System', [
        setupWindows('SMP00003', 'SMP00003'),
        setVariable('Set Primary User', 'SMSTSUdaUsers', 'CONTOSO\\jdoe', { successCodeList: '0' }),
      ]),
      group('Post-install', [
        step(
          T('DownloadPackageContentAction'),
          'Download Package Content',
          'OsdDownloadContent.exe',
          [
            v('OSDDownloadContinueDownloadOnError', 'ContinueDownloadOnError', 'true'),
            v('OSDDownloadDestinationLocationType', 'DestinationLocationType', 'TSCache'),
            v('OSDDownloadDownloadPackages', 'DownloadPackages', 'SMP00008'),
            v('OSDPackageCount', 'NumPackages', '1'),
            v('OSDPackage', 'PackageInfo', '1', true),
            v('OSDPackage0Name', 'PackageInfo0Name', 'Contoso Scripts'),
            v('OSDPackage0PackageId', 'PackageInfo0PackageId', 'SMP00008'),
            v('OSDPackage0PkgType', 'PackageInfo0PkgType', '0'),
          ],
          { successCodeList: '0' },
        ),
        step(
          T('InstallUpdateAction'),
          'Install Software Updates',
          'TSInstallSWUpdate.exe /target:%SMSInstallUpdateTarget%',
          [v('RetryCount', 'RetryCount', '2', true), v('SMSInstallUpdateTarget', 'Target', 'All')],
          { runIn: 'FullOS', successCodeList: '0', continueOnError: true, retryCount: 2 },
        ),
        step(
          T('InstallApplicationAction'),
          'Install Applications (dynamic)',
          'smsappinstall.exe /app: /basevar:APPS /continueOnError:True',
          [v('BaseVariableName', 'BaseVariableName', 'APPS', true), v('ContinueOnInstallError', 'ContinueOnInstallError', 'true', true), v('RetryCount', 'RetryCount', '2', true)],
          { runIn: 'FullOS', successCodeList: '0', retryCount: 2 },
        ),
        step(
          T('InstallSoftwareAction'),
          'Install Packages (dynamic)',
          'smsswd.exe /pkg: /install /basevar:PACKAGES /continueOnError:True',
          [v('BaseVariableName', 'BaseVariableName', 'PACKAGES', true), v('ContinueOnInstallError', 'ContinueOnInstallError', 'true', true), v('OSDPackageDownloadRetries', 'RetryCount', '0')],
          { runIn: 'FullOS', successCodeList: '0' },
        ),
      ]),
      group('Legacy drivers (disabled)', [autoApplyDrivers('Auto Apply Drivers (legacy)')], {
        disable: true,
        description: 'Disabled: must not raise a finding.',
      }),
    ],
  );
}

/** PowerShell's base64 of UTF-16LE with a byte order mark, as the Run PowerShell Script step stores a script. */
function encodeScript(script: string): string {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(script.replace(/\r?\n/g, '\r\n'), 'utf16le')]).toString('base64');
}

function postInstallSequence(): string {
  const script =
    '# tsmedia sample: set the time zone and write a marker\n' +
    'Set-TimeZone -Id "W. Europe Standard Time"\n' +
    '"Configured by tsmedia sample $(Get-Date -Format s)" | Out-File "$env:SystemRoot\\Temp\\tsmedia-post.txt" -Append\n';
  return sequence(
    [],
    [],
    [
      group('Post-install', [
        runCommandLine('Write marker file', 'cmd.exe /c echo tsmedia sample > "%SystemRoot%\\Temp\\tsmedia.txt"'),
        runCommandLine('Show IP configuration', 'ipconfig.exe /all'),
        step(
          T('RunPowerShellScriptAction'),
          'Set time zone (PowerShell)',
          'OSDRunPowerShellScript.exe',
          [
            v('OSDRunPowerShellScriptExecutionPolicy', 'ExecutionPolicy', 'Bypass'),
            v('OSDRunPowerShellScriptOutputVariableName', 'OutputVariableName'),
            v('OSDRunPowerShellScriptParameters', 'Parameters'),
            v('_SMSTSRunPowerShellAsUser', 'RunAsUser', 'false'),
            v('OSDRunPowerShellScriptSourceScript', 'SourceScript', encodeScript(script)),
          ],
          { runIn: 'FullOS' },
        ),
      ]),
    ],
  );
}

// ---- The site ----------------------------------------------------------------------------------------------------

interface SamplePackage {
  packageId: string;
  name: string;
  kind: Kind;
  className: string;
  /** ReferencePackageType / PackageType. */
  type: number;
  version: string;
  sourceVersion: number;
  description: string;
  files: SampleFile[];
  folders?: string[];
  contentId?: string;
}

function packages(): SamplePackage[] {
  return [
    { packageId: 'SMP00001', name: 'Boot image (x64)', kind: 'BootImage', className: 'SMS_BootImagePackage', type: 258, version: '10.0.22621.1', sourceVersion: 1, description: 'Windows PE boot image for x64 (sample stand-in).', files: bootImageFiles() },
    { packageId: 'SMP00002', name: 'Windows 11 Enterprise 23H2', kind: 'OperatingSystemImage', className: 'SMS_ImagePackage', type: 257, version: '10.0.22631.2861', sourceVersion: 1, description: 'Windows 11 Enterprise 23H2 x64 (sample stand-in).', files: osImageFiles() },
    { packageId: 'SMP00003', name: 'Configuration Manager Client Package', kind: 'Package', className: 'SMS_Package', type: 0, version: '5.00.9128.1000', sourceVersion: 1, description: 'This package is automatically created and distributed so that client can upgrade itself from the closest distribution point.', files: clientFiles(), folders: CLIENT_EMPTY_FOLDERS },
    { packageId: 'SMP00004', name: 'User State Migration Tool for Windows', kind: 'Package', className: 'SMS_Package', type: 0, version: '10.0.22621.1', sourceVersion: 1, description: 'USMT (sample stand-in).', files: usmtFiles() },
    { packageId: 'SMP00005', name: 'Contoso Laptop 14 drivers', kind: 'DriverPackage', className: 'SMS_DriverPackage', type: 3, version: 'A05', sourceVersion: 2, description: 'Drivers for the Contoso Laptop 14 (sample stand-in).', files: driverFiles(2) },
    { packageId: APPS.reader.packageId, name: APPS.reader.name, kind: 'Application', className: 'SMS_Application', type: 512, version: APPS.reader.version, sourceVersion: 1, description: 'Contoso Reader (depends on Contoso Runtime 2.0).', files: readerFiles(), contentId: `${APPS.reader.content}.1` },
    { packageId: APPS.runtime.packageId, name: APPS.runtime.name, kind: 'Application', className: 'SMS_Application', type: 512, version: APPS.runtime.version, sourceVersion: 1, description: 'Contoso Runtime 2.0.', files: runtimeFiles(), contentId: `${APPS.runtime.content}.1` },
    { packageId: 'SMP00008', name: 'Contoso Scripts', kind: 'Package', className: 'SMS_Package', type: 0, version: '1.0', sourceVersion: 1, description: 'Contoso PowerShell scripts.', files: scriptsFiles() },
    { packageId: 'SMP00009', name: 'Windows 11 Enterprise 23H2 upgrade', kind: 'OperatingSystemUpgradePackage', className: 'SMS_OperatingSystemInstallPackage', type: 259, version: '10.0.22631.2861', sourceVersion: 1, description: 'Windows 11 Enterprise 23H2 setup files for in-place upgrades (sample stand-in).', files: upgradePackageFiles() },
  ];
}

const sizeKB = (files: SampleFile[]): number => Math.ceil(files.reduce((n, f) => n + f.data.length, 0) / 1024);

function packageObject(p: SamplePackage): ExportedObject {
  if (p.className === 'SMS_Application') {
    const app = p.packageId === APPS.reader.packageId ? APPS.reader : APPS.runtime;
    const deps =
      app === APPS.reader
        ? [{ authoringScopeId: AUTHORING_SCOPE, deploymentTypeLogicalName: APPS.runtime.deploymentType, ruleId: APPS.reader.dependencyRule, groupName: 'Contoso Runtime' }]
        : [];
    const digest = buildAppMgmtDigest({
      authoringScopeId: AUTHORING_SCOPE,
      applicationLogicalName: app.application,
      deploymentTypeLogicalName: app.deploymentType,
      title: app.name,
      publisher: 'Contoso',
      softwareVersion: app.version,
      contentId: app.content,
      contentVersion: 1,
      files: p.files.map((f) => ({ name: f.relativePath, size: f.data.length })),
      installCommandLine: `msiexec /i "${p.files[0]?.relativePath ?? 'setup.msi'}" /qn`,
      productCode: app.productCode,
      dependencies: deps,
    });
    return {
      className: 'SMS_Application',
      properties: {
        CI_ID: app.ciId,
        CI_UniqueID: `${modelName(app)}/1`,
        CIVersion: 1,
        IsLatest: true,
        LocalizedDisplayName: app.name,
        Manufacturer: 'Contoso',
        ModelName: modelName(app),
        NumberOfDependentDTs: app === APPS.reader ? 1 : 0,
        PackageID: p.packageId,
        SDMPackageXML: digest,
        SoftwareVersion: app.version,
        SourceSite: SITE_CODE,
      },
    };
  }
  return {
    className: p.className,
    properties: {
      Description: p.description,
      Name: p.name,
      PackageID: p.packageId,
      PackageSize: sizeKB(p.files),
      PackageType: p.type,
      SourceSite: SITE_CODE,
      SourceVersion: p.sourceVersion,
      StoredPkgVersion: p.sourceVersion,
      Version: p.version,
    },
  };
}

function reference(p: SamplePackage): ExportTaskSequence['references'][number] {
  return { packageId: p.packageId, name: p.name, version: p.version, type: p.type, description: p.description };
}

export interface SampleSiteResult {
  outDir: string;
  files: number;
  bytes: number;
}

async function totals(dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const t = await totals(p);
      files += t.files;
      bytes += t.bytes;
    } else if (e.isFile()) {
      files++;
      bytes += (await stat(p)).size;
    }
  }
  return { files, bytes };
}

const README = `tsmedia sample site
===================

A small, generated Configuration Manager site (site code SMP, "Sample site (tsmedia)") for trying tsmedia without a
real site, and for its tests. Regenerate it with:  node dist/scripts/make-sample-site.js [outDir]

Everything here is generated from fixed text by scripts/lib/SampleSite.ts; there are no Microsoft files in it.
The boot files, WIMs, EXEs and MSIs are STAND-INS (right names, sizes in the right range and, where it matters,
the right magic bytes) - media made from them will not install Windows. efi\\microsoft\\boot\\efisys.bin is a real
1.44 MB FAT12 image holding EFI\\BOOT\\BOOTX64.EFI.

  tsmedia-site.json         site descriptor: site code, name and the catalog of packages (IDs, kinds, versions)
  exports\\                  task sequence exports in the console's Export wizard format (.zip)
    SMP00010 Windows 11 Refresh.zip   SMP00010, exported with its dependencies (applications, packages): the
                                      refresh scenario, started from the running Windows
    SMP-More.zip                      SMP00011 (steps stand-alone media does not support) and
                                      SMP00012 (no boot image)
    SMP-Scenarios.zip                 SMP00013 (a new computer: booted from the media) and
                                      SMP00014 (an in-place upgrade: started from the running Windows)
  OSD\\bin\\x64\\, OSD\\bin\\i386\\   stand-ins for the site server's OSD binaries (TSMBAutorun.exe, TsmBootstrap.exe, ...):
                            empty PE files with a version resource, not Microsoft's files; media carry them in SMS\\bin
  SCCMContentLib_DP01\\      content library of distribution point DP01: the current content of every package
  SCCMContentLib_DP02\\      content library of DP02: holds the OLD driver package content (SMP00005.1, the site is
                            at version 2) and lacks SMP00008, so it cannot serve SMP00010 on its own

Packages: SMP00001 boot image, SMP00002 OS image, SMP00003 client package, SMP00004 USMT, SMP00005 driver package,
SMP00006 application Contoso Reader (depends on SMP00007 application Contoso Runtime 2.0), SMP00008 package
Contoso Scripts, SMP00009 OS upgrade package.
`;

/** Generates the sample site into `outDir` (replaced as a whole: written beside it, then renamed into place). */
export async function generateSampleSite(outDir: string): Promise<SampleSiteResult> {
  const parent = dirname(outDir);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(outDir)}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const pkgs = packages();
    const byId = new Map(pkgs.map((p) => [p.packageId, p]));
    const pkg = (id: string): SamplePackage => {
      const p = byId.get(id);
      if (!p) throw new Error(`sample site: no package ${id}`);
      return p;
    };

    // Distribution points.
    const dp01 = new ContentLibraryWriter(join(tmp, 'SCCMContentLib_DP01'));
    const dp02 = new ContentLibraryWriter(join(tmp, 'SCCMContentLib_DP02'));
    for (const p of pkgs) {
      const opts = { folders: p.folders ?? [], ...(p.contentId !== undefined ? { contentId: p.contentId } : {}) };
      await dp01.addContent(p.packageId, p.sourceVersion, p.files, opts);
      if (p.packageId === 'SMP00008') continue; // DP02 lacks SMP00008 entirely
      if (p.packageId === 'SMP00005') await dp02.addContent(p.packageId, 1, driverFiles(1), opts); // old content only
      else await dp02.addContent(p.packageId, p.sourceVersion, p.files, opts);
    }

    // Exports.
    const exportsDir = join(tmp, 'exports');
    await mkdir(exportsDir, { recursive: true });
    const refresh: ExportTaskSequence = {
      packageId: 'SMP00010',
      name: 'Windows 11 Refresh (stand-alone)',
      description: 'Refreshes a computer to Windows 11 Enterprise 23H2 from stand-alone media, keeping user state (sample).',
      bootImageId: 'SMP00001',
      sequenceXml: refreshSequence(),
      sourceSite: SITE_CODE,
      references: ['SMP00001', 'SMP00002', 'SMP00003', 'SMP00004', 'SMP00005', 'SMP00006', 'SMP00008'].map((id) => reference(pkg(id))),
      appReferences: [{ modelName: modelName(APPS.reader), packageId: APPS.reader.packageId, ciId: APPS.reader.ciId }],
    };
    await writeExportZip(
      join(exportsDir, 'SMP00010 Windows 11 Refresh.zip'),
      [refresh],
      ['SMP00006', 'SMP00007', 'SMP00001', 'SMP00002', 'SMP00003', 'SMP00004', 'SMP00005', 'SMP00008'].map((id) => packageObject(pkg(id))),
      { userStateMigrationPackageId: 'SMP00004', authoringScopeId: AUTHORING_SCOPE },
    );
    const unsupported: ExportTaskSequence = {
      packageId: 'SMP00011',
      name: 'Windows 11 (unsupported steps)',
      description: 'Uses steps that stand-alone media does not support (sample).',
      bootImageId: 'SMP00001',
      sequenceXml: unsupportedSequence(),
      sourceSite: SITE_CODE,
      references: [
        reference(pkg('SMP00001')),
        reference(pkg('SMP00002')),
        reference(pkg('SMP00003')),
        { ...reference(pkg('SMP00008')), program: 'Run' },
      ],
      appReferences: [],
    };
    const postInstall: ExportTaskSequence = {
      packageId: 'SMP00012',
      name: 'Post-install scripts (no boot image)',
      description: 'Runs scripts in the full OS; deploys no OS and has no boot image (sample).',
      bootImageId: null,
      sequenceXml: postInstallSequence(),
      sourceSite: SITE_CODE,
      references: [],
      appReferences: [],
    };
    await writeExportZip(join(exportsDir, 'SMP-More.zip'), [unsupported, postInstall], [], {
      userStateMigrationPackageId: 'SMP00004',
      authoringScopeId: AUTHORING_SCOPE,
    });
    const bareMetal: ExportTaskSequence = {
      packageId: 'SMP00013',
      name: 'Windows 11 New Computer (stand-alone)',
      description: 'Installs Windows 11 Enterprise 23H2 on a new computer booted from stand-alone media (sample).',
      bootImageId: 'SMP00001',
      sequenceXml: bareMetalSequence(),
      sourceSite: SITE_CODE,
      references: ['SMP00001', 'SMP00002', 'SMP00003', 'SMP00005', 'SMP00006'].map((id) => reference(pkg(id))),
      appReferences: [{ modelName: modelName(APPS.reader), packageId: APPS.reader.packageId, ciId: APPS.reader.ciId }],
    };
    const upgrade: ExportTaskSequence = {
      packageId: 'SMP00014',
      name: 'Windows 11 Upgrade (stand-alone)',
      description: 'Upgrades the running Windows in place to Windows 11 Enterprise 23H2 from stand-alone media (sample).',
      bootImageId: 'SMP00001',
      sequenceXml: upgradeSequence(),
      sourceSite: SITE_CODE,
      references: ['SMP00001', 'SMP00009', 'SMP00008'].map((id) => reference(pkg(id))),
      appReferences: [],
    };
    await writeExportZip(
      join(exportsDir, 'SMP-Scenarios.zip'),
      [bareMetal, upgrade],
      ['SMP00006', 'SMP00007', 'SMP00001', 'SMP00002', 'SMP00003', 'SMP00005', 'SMP00008', 'SMP00009'].map((id) => packageObject(pkg(id))),
      { userStateMigrationPackageId: 'SMP00004', authoringScopeId: AUTHORING_SCOPE },
    );

    // The site server's OSD binaries, copied into the site folder as OSD\bin (the folder convention).
    for (const arch of ['x64', 'i386'] as const) {
      for (const f of await osdBinaryFiles(arch)) {
        const at = join(tmp, 'OSD', 'bin', arch, ...f.relativePath.split('/'));
        await mkdir(dirname(at), { recursive: true });
        await writeFile(at, f.data);
      }
    }

    // Site descriptor.
    const catalog: CatalogEntry[] = pkgs.map((p) => {
      const e: CatalogEntry = { packageId: p.packageId, name: p.name, kind: p.kind, version: p.version, sourceVersion: p.sourceVersion };
      if (p.kind === 'Application') {
        const app = p.packageId === APPS.reader.packageId ? APPS.reader : APPS.runtime;
        e.modelName = modelName(app);
        e.dependencies = app === APPS.reader ? [APPS.runtime.packageId] : [];
      }
      return e;
    });
    for (const ts of [refresh, unsupported, postInstall, bareMetal, upgrade]) {
      catalog.push({ packageId: ts.packageId, name: ts.name, kind: 'TaskSequence', version: null, sourceVersion: 1 });
    }
    const descriptor = { siteCode: SITE_CODE, siteName: SITE_NAME, centralAdministrationSite: false, catalog };
    await writeFile(join(tmp, 'tsmedia-site.json'), JSON.stringify(descriptor, null, 2) + '\n');
    await writeFile(join(tmp, 'README.txt'), README.replace(/\n/g, '\r\n'));

    await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return { outDir, ...(await totals(outDir)) };
}
