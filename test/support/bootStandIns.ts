// Stand-ins for Windows PE's boot files, built from Debian tools, that prove a firmware path end to end:
// - boot/etfsboot.com: a 4,096-byte real-mode program (nasm) that writes a marker to the first serial port and halts.
//   Loaded whole (8 sectors of 512 bytes) as a no-emulation El Torito image, it prints under SeaBIOS.
// - bootmgr: a BOOTMGR stand-in (bootmgrStandIn.ts) that prints its marker when the BIOS boot code of a USB drive
//   loads it as Windows' boot sector would.
// - efi/microsoft/boot/efisys.bin: a 1.44 MB FAT image (mkfs.fat, mmd, mcopy) holding EFI/BOOT/BOOTX64.EFI, a
//   standalone GRUB (grub-mkstandalone) whose embedded grub.cfg turns on the serial terminal, echoes a marker and
//   halts. The UEFI firmware treats the image as an EFI system partition and starts BOOTX64.EFI from it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContentLibraryWriter } from '../../electron/engine/site/ContentLibraryWriter.js';
import { buildBootmgrStandIn } from './bootmgrStandIn.js';

export const BIOS_MARKER = 'TSMEDIA-BIOS-MARKER';
export const UEFI_MARKER = 'TSMEDIA-UEFI-MARKER';

export interface BootStandIns {
  etfsboot: Buffer;
  efisys: Buffer;
  /** The GRUB EFI application inside efisys.bin, for a USB volume's \EFI\BOOT\BOOTX64.EFI. */
  bootx64: Buffer;
  biosMarker: string;
  uefiMarker: string;
}

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;

/** mkfs.fat lives in /usr/sbin, often not on a user's PATH. */
function mkfsFat(): string | null {
  if (onPath('mkfs.fat')) return 'mkfs.fat';
  for (const p of ['/usr/sbin/mkfs.fat', '/sbin/mkfs.fat', '/usr/local/sbin/mkfs.fat']) if (existsSync(p)) return p;
  return null;
}

/** The tools buildBootStandIns needs that are missing, with the Debian package to install (empty when all are there). */
export function missingBootStandInTools(): string[] {
  const missing: string[] = [];
  if (!onPath('nasm')) missing.push('nasm (apt-get install nasm)');
  if (!onPath('grub-mkstandalone') || !existsSync('/usr/lib/grub/x86_64-efi')) missing.push('grub-mkstandalone for x86_64-efi (apt-get install grub-efi-amd64-bin)');
  if (!mkfsFat()) missing.push('mkfs.fat (apt-get install dosfstools)');
  if (!onPath('mmd') || !onPath('mcopy')) missing.push('mmd/mcopy (apt-get install mtools)');
  return missing;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.error || r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}${r.stdout}`);
  }
}

const ETFSBOOT_ASM = `bits 16
org 0x7c00
; Loaded at 0x07C0:0000 (or 0000:7C00): a far jump makes CS 0 so the org holds, then DS = CS.
start:
    jmp 0x0000:main
main:
    cli
    mov ax, cs
    mov ds, ax
    cld
    mov si, marker
    mov dx, 0x3f8
.next:
    lodsb
    test al, al
    jz .halt
    out dx, al
    jmp .next
.halt:
    cli
    hlt
    jmp .halt
marker: db 13, 10, '${BIOS_MARKER}', 13, 10, 0
times 4096-($-$$) db 0
`;

const GRUB_CFG = `serial --unit=0 --speed=115200
terminal_output serial
echo ${UEFI_MARKER}
halt
`;

/** Builds both stand-ins in `dir` (which must exist); throws with the tool's output when a step fails. */
export function buildBootStandIns(dir: string): BootStandIns {
  const missing = missingBootStandInTools();
  if (missing.length > 0) throw new Error(`cannot build the boot stand-ins: missing ${missing.join(', ')}`);

  const asm = join(dir, 'etfsboot.asm');
  const etfsPath = join(dir, 'etfsboot.com');
  writeFileSync(asm, ETFSBOOT_ASM);
  run('nasm', ['-f', 'bin', '-o', etfsPath, asm]);
  const etfsboot = readFileSync(etfsPath);
  if (etfsboot.length !== 4096) throw new Error(`nasm produced ${etfsboot.length} bytes for etfsboot.com, 4096 expected`);

  const cfg = join(dir, 'grub.cfg');
  const efiApp = join(dir, 'BOOTX64.EFI');
  writeFileSync(cfg, GRUB_CFG);
  // Only the modules the script needs, so the image fits a 1.44 MB floppy (all modules make ~10 MB).
  run('grub-mkstandalone', [
    '-O',
    'x86_64-efi',
    '--install-modules=normal configfile echo serial terminal halt',
    '--locales=',
    '--fonts=',
    '--themes=',
    '-o',
    efiApp,
    `boot/grub/grub.cfg=${cfg}`,
  ]);

  const img = join(dir, 'efisys.bin');
  run(mkfsFat() as string, ['-C', img, '1440']);
  const mt = { MTOOLS_SKIP_CHECK: '1' };
  run('mmd', ['-i', img, '::/EFI', '::/EFI/BOOT'], mt);
  run('mcopy', ['-i', img, efiApp, '::/EFI/BOOT/BOOTX64.EFI'], mt);
  const efisys = readFileSync(img);
  return { etfsboot, efisys, bootx64: readFileSync(efiApp), biosMarker: BIOS_MARKER, uefiMarker: UEFI_MARKER };
}

/**
 * Builds the stand-in boot files in `dir`/standins and makes them a new version (2) of the site's boot image SMP00001
 * on both distribution points, so media made from `site` boot them.
 */
export async function useBootStandIns(site: string, dir: string): Promise<BootStandIns> {
  mkdirSync(join(dir, 'standins'));
  const s = buildBootStandIns(join(dir, 'standins'));
  const boot = [
    // A BOOTMGR stand-in for the BIOS boot code on USB media (partition at 1 MiB of 512-byte sectors, the first disk).
    { relativePath: 'bootmgr', data: buildBootmgrStandIn(64 * 1024, 2048) },
    { relativePath: 'boot/etfsboot.com', data: s.etfsboot },
    { relativePath: 'efi/boot/bootx64.efi', data: s.bootx64 },
    { relativePath: 'efi/microsoft/boot/efisys.bin', data: s.efisys },
    { relativePath: 'sources/boot.wim', data: Buffer.from('MSWIM\0\0\0 stand-in') },
  ];
  await replaceBootImage(site, boot);
  return s;
}

/** Makes `files` version 2 of the site's boot image SMP00001 on both distribution points, the version media take. */
export async function replaceBootImage(site: string, files: { relativePath: string; data: Buffer }[]): Promise<void> {
  for (const dp of ['SCCMContentLib_DP01', 'SCCMContentLib_DP02']) await new ContentLibraryWriter(join(site, dp)).addContent('SMP00001', 2, files);
  const descPath = join(site, 'tsmedia-site.json');
  const desc = JSON.parse(readFileSync(descPath, 'utf8')) as { catalog: { packageId: string; sourceVersion: number }[] };
  (desc.catalog.find((c) => c.packageId === 'SMP00001') as { sourceVersion: number }).sourceVersion = 2;
  writeFileSync(descPath, JSON.stringify(desc));
}
