// The module groups `npm run mutate` covers: for each, the sources Stryker mutates and the compiled test files that
// exercise them. Only these files run against each mutant (Stryker then narrows to the files that cover it), so one
// group stays within minutes. Test files are chosen by what they import; slow end-to-end files are left out on purpose.
export const groups = {
  drives: {
    about: 'drive constraints',
    mutate: ['shared/drives.ts'],
    // driveConfirmations and privilegedNoFormat also reach it but take 35 s a run: too slow per mutant. DriveRules tests
    // the module on its own with drives written out (under a second a run); messageCodes takes 7 s.
    tests: ['DriveRules', 'Drives', 'messageCodes', 'uncPaths'],
  },
  log: {
    about: 'log masking (CMTrace log)',
    mutate: ['electron/engine/media/CmTraceLog.ts'],
    // usbImageTargets writes through it too but takes over a minute a run.
    tests: ['CmTraceLog', 'OutputVolume'],
  },
  discs: {
    about: 'disc packing',
    mutate: ['electron/engine/media/DiscSet.ts', 'electron/engine/media/DiscSetPlan.ts'],
    // DiscSetPack: the packer against a plain reference packer and the disc plan, a few seconds a run. DiscSet (the
    // long random runs, 10-40 s) and discSets (whole sets end to end) reach every mutant too: too slow per mutant.
    tests: ['DiscSetPack'],
  },
  large: {
    about: 'the 4 GiB rule and WIM split planning',
    mutate: ['electron/engine/media/LargeFiles.ts', 'electron/engine/formats/wim/WimSplit.ts'],
    // fat32Limit reaches LargeFiles too, but its USB runs take 6 s; LargeFiles is its planning in under a second.
    tests: ['WimSplit', 'mediaUsbWim', 'LargeFiles'],
  },
  fat32: {
    about: 'FAT32 planning and append',
    mutate: [
      'electron/engine/formats/fat32/FatGeometry.ts',
      'electron/engine/formats/fat32/Fat32Volume.ts',
      'electron/engine/formats/fat32/Fat32Append.ts',
    ],
    // sectorRule.test (loop devices under the sector-rule shim, about 25 s a run) writes through these too; sectorSizes
    // covers the same 512/4096-byte geometries in seconds.
    // Fat32AppendPlan: the append planner's allocation, regions and refusals asserted exactly on a volume with known holes.
    tests: ['FatGeometry', 'FatPlanChecks', 'Fat32Volume', 'Fat32Append', 'Fat32AppendPlan', 'Fat32AppendTrees', 'Fat32Trees', 'Fat32Reader', 'sectorSizes'],
  },
  iso: {
    about: 'ISO planning',
    mutate: [
      'electron/engine/formats/iso/IsoImage.ts',
      'electron/engine/formats/iso/IsoSizes.ts',
      'electron/engine/formats/iso/IsoTree.ts',
      'electron/engine/formats/iso/IsoDirectories.ts',
      'electron/engine/formats/iso/IsoDescriptors.ts',
    ],
    // DiscSet.test plans whole sets through these (9 s a run); it is the discs group's.
    tests: ['IsoPlanChecks', 'IsoImage', 'IsoTrees', 'isoBoot'],
  },
  environment: {
    about: "the environment's encryption",
    mutate: ['electron/engine/media/TsEnvironment.ts', 'electron/engine/media/environment/MediaFileCrypto.ts'],
    // secrets.test (the loopback host end to end) takes over a minute a run. MediaFileCrypto and TsEnvironmentInput
    // take about a second each (TsEnvironment about 5, with its oracle processes and RSA keys).
    tests: ['MediaFileCrypto', 'TsEnvironmentInput', 'TsEnvironment'],
  },
  output: {
    about: 'safe output',
    mutate: ['electron/engine/media/SafeOutput.ts'],
    // SafeOutput (3 s) first: mediaSafety (10 s) runs the command line in child processes, whose coverage Stryker cannot
    // see, so without a test in this process most of the file counted as not covered.
    tests: ['SafeOutput', 'OutputCheck', 'OutputVolume', 'uncPaths', 'mediaSafety'],
  },
  secureBoot: {
    about: 'Secure Boot readiness (Authenticode signatures of EFI boot files, efisys.bin)',
    mutate: [
      'electron/engine/formats/pe/PeLayout.ts',
      'electron/engine/formats/pe/Authenticode.ts',
      'electron/engine/formats/pe/SecureBootClass.ts',
      'electron/engine/formats/pe/BootFiles.ts',
      'electron/engine/formats/fat32/FatSmallImage.ts',
    ],
    // SecureBoot (2 s: openssl and sbsign make the test CAs once) and FatSmallImage (under a second) test these in this
    // process; secureBootMedia reaches them through the command line as well (5 s a run).
    tests: ['SecureBoot', 'FatSmallImage', 'secureBootMedia'],
  },
  host: {
    about: "the loopback host's checks",
    // The checks issue 16 names (codes, sessions and their secrets, Host/Origin/Sec-Fetch-Site, the session header,
    // request bodies and the bounds) are all in these two files; EngineApi.ts is the engine's API behind them, not a
    // check of the host's (its argument checks are the API's, tested by LoopbackHost.test).
    mutate: ['electron/host/HostSessions.ts', 'electron/host/LoopbackHost.ts'],
    // HostSessions (0.2 s) and HostChecks (4 s) test these checks one by one. LoopbackHost.test (10 s, it makes media)
    // and Progress.test (which reaches only EngineApi.ts) are left out: with LoopbackHost.test after them, a run of the
    // group was on course for over 50 minutes on the shared build machine (476 mutants). driveConfirmations and
    // usbImageTargets go through the host too, at 25-70 s a run.
    tests: ['HostSessions', 'HostChecks'],
  },
};

/** The compiled test file of a test name, relative to the project (and to Stryker's sandbox). */
export const testFile = (name) => `dist/test/${name}.test.js`;
