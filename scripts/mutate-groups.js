// The module groups `npm run mutate` covers: for each, the sources Stryker mutates and the compiled test files that
// exercise them. Only these files run against each mutant (Stryker then narrows to the files that cover it), so one
// group stays within minutes. Test files are chosen by what they import; slow end-to-end files are left out on purpose.
export const groups = {
  drives: {
    about: 'drive constraints',
    mutate: ['shared/drives.ts'],
    // driveConfirmations and privilegedNoFormat also reach it but take 35 s a run: too slow per mutant.
    tests: ['Drives', 'messageCodes', 'uncPaths'],
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
    tests: ['Fat32Volume', 'Fat32Append', 'Fat32Reader', 'sectorRule', 'sectorSizes'],
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
    tests: ['IsoImage', 'isoBoot', 'DiscSet'],
  },
  environment: {
    about: "the environment's encryption",
    mutate: ['electron/engine/media/TsEnvironment.ts', 'electron/engine/media/environment/MediaFileCrypto.ts'],
    // secrets.test (the loopback host end to end) takes over a minute a run.
    tests: ['TsEnvironment'],
  },
  output: {
    about: 'safe output',
    mutate: ['electron/engine/media/SafeOutput.ts'],
    tests: ['OutputCheck', 'OutputVolume', 'uncPaths', 'mediaSafety'],
  },
  host: {
    about: "the loopback host's checks",
    mutate: ['electron/host/*.ts'],
    // driveConfirmations and usbImageTargets go through the host too, at 25-70 s a run.
    tests: ['LoopbackHost', 'Progress'],
  },
};

/** The compiled test file of a test name, relative to the project (and to Stryker's sandbox). */
export const testFile = (name) => `dist/test/${name}.test.js`;
