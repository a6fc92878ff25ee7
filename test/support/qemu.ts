// Boots an image under QEMU (software emulation: KVM crashes guests here) and watches the serial port for a marker.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const OVMF = '/usr/share/ovmf/OVMF.fd';
export const QEMU = 'qemu-system-x86_64';
const BOOT_TIMEOUT_MS = 60_000;

export interface BootResult {
  found: boolean;
  output: string;
  ms: number;
}

/**
 * Boots the ISO as a CD (or an image or drive as a disk; 'disk4k': a read-only virtio disk with 4096-byte logical and
 * physical blocks, as a 4Kn drive); resolves when `marker` appears on the serial port (QEMU is then killed) or after
 * the timeout.
 */
export function bootIso(iso: string, marker: string, uefi: boolean, as: 'cdrom' | 'disk' | 'disk4k' = 'cdrom'): Promise<BootResult> {
  const args = ['-machine', 'q35,accel=tcg', '-m', '512', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-net', 'none'];
  if (uefi) args.push('-bios', OVMF);
  if (as === 'disk4k') args.push('-drive', `file=${iso},format=raw,if=none,id=stick,readonly=on`, '-device', 'virtio-blk-pci,drive=stick,logical_block_size=4096,physical_block_size=4096');
  else args.push('-drive', as === 'cdrom' ? `file=${iso},media=cdrom,readonly=on,if=ide,index=2` : `file=${iso},format=raw,if=ide,index=0,snapshot=on`);
  return runQemu(args, [marker]);
}

export interface DiskBoot {
  /** How the disk is attached: an IDE disk, or a USB mass-storage device on an xHCI controller. */
  bus: 'ide' | 'usb';
  /** Logical (and physical) block size; default 512. */
  sectorSize?: 512 | 4096;
  uefi?: boolean;
  /** Markers to wait for (the first seen ends the run). */
  markers: string[];
  timeoutMs?: number;
}

/** A file holding SeaBIOS's "etc/sercon-port" (0x3F8, little-endian): its screen output is copied to the serial port. */
function serconPortFile(): string {
  const f = join(tmpdir(), 'tsmedia-sercon-port.bin');
  if (!existsSync(f)) writeFileSync(f, Buffer.from([0xf8, 0x03]));
  return f;
}

/**
 * Boots a disk image (snapshot: never changed) under SeaBIOS — whose screen text goes to the serial port too (sercon),
 * so the boot code's messages can be read — or OVMF; resolves when one of the markers appears or after the timeout.
 */
export function bootDisk(img: string, o: DiskBoot): Promise<BootResult> {
  const args = ['-machine', 'q35,accel=tcg', '-m', '512', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot', '-net', 'none'];
  if (o.uefi) args.push('-bios', OVMF);
  else args.push('-fw_cfg', `name=etc/sercon-port,file=${serconPortFile()}`);
  const bs = o.sectorSize ?? 512;
  const blocks = `logical_block_size=${bs},physical_block_size=${bs}`;
  args.push('-drive', `file=${img},format=raw,if=none,id=stick,snapshot=on`);
  if (o.bus === 'usb') args.push('-device', 'qemu-xhci,id=xhci', '-device', `usb-storage,bus=xhci.0,drive=stick,bootindex=1,${blocks}`);
  else args.push('-device', `ide-hd,drive=stick,bus=ide.0,bootindex=1,${blocks}`);
  return runQemu(args, o.markers, o.timeoutMs);
}

function runQemu(args: string[], markers: string[], timeoutMs = BOOT_TIMEOUT_MS): Promise<BootResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let done = false;
    const seen = (): boolean => markers.some((m) => output.includes(m));
    const finish = (found: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (tail) clearTimeout(tail);
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
      resolve({ found, output, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('latin1');
      // The rest of the line after the marker (a failure's reason) follows within moments.
      if (seen() && !tail) tail = setTimeout(() => finish(true), 300);
    };
    let tail: NodeJS.Timeout | null = null;
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(err);
      }
    });
    child.on('close', () => finish(seen()));
  });
}
