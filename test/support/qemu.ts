// Boots an image under QEMU (software emulation: KVM crashes guests here) and watches the serial port for a marker.
import { spawn } from 'node:child_process';

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
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let done = false;
    const finish = (found: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
      resolve({ found, output, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), BOOT_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('latin1');
      if (output.includes(marker)) finish(true);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(err);
      }
    });
    child.on('close', () => finish(output.includes(marker)));
  });
}

