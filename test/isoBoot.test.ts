// The planned ISO boots: one dual-entry image (BIOS no-emulation etfsboot.com + UEFI efisys.bin) started under QEMU
// with SeaBIOS and with OVMF, each printing its stand-in's marker on the serial port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { planIso } from '../electron/engine/formats/iso/IsoImage.js';
import { writeImage } from '../electron/engine/io/ImageWriter.js';
import { hasCommand, requireOrSkip, tempDir } from './helpers.js';
import { buildBootStandIns, missingBootStandInTools } from './support/bootStandIns.js';
import { OVMF, QEMU, bootIso } from './support/qemu.js';


test('a dual-entry ISO boots: SeaBIOS runs etfsboot.com, OVMF runs BOOTX64.EFI from efisys.bin', async (t) => {
  const missing = [...missingBootStandInTools()];
  if (!hasCommand(QEMU)) missing.push(`${QEMU} (apt-get install qemu-system-x86)`);
  if (!existsSync(OVMF)) missing.push(`${OVMF} (apt-get install ovmf)`);
  if (!requireOrSkip(t, missing.length === 0, `missing ${missing.join(', ')}`)) return;

  const dir = tempDir(t, 'tsmedia-isoboot-');
  const s = buildBootStandIns(dir);
  const plan = planIso({
    volumeId: 'Configuration Manager',
    files: [
      { path: 'boot/etfsboot.com', source: { kind: 'buffer', data: s.etfsboot, label: 'etfsboot.com stand-in' } },
      { path: 'efi/microsoft/boot/efisys.bin', source: { kind: 'buffer', data: s.efisys, label: 'efisys.bin stand-in' } },
      { path: 'MediaLabel.txt', source: { kind: 'buffer', data: Buffer.from('label=Configuration Manager\r\n'), label: 'MediaLabel.txt' } },
      { path: 'SMS/data/TsmBootstrap.ini', source: { kind: 'buffer', data: Buffer.from('[MediaInfo]\r\nMediaType=FullMedia\r\n'), label: 'TsmBootstrap.ini' } },
    ],
    bootBios: 'boot/etfsboot.com',
    bootEfi: 'efi/microsoft/boot/efisys.bin',
    timestamp: new Date('2025-06-01T12:00:00Z'),
  });
  const iso = join(dir, 'media.iso');
  const fd = openSync(iso, 'w');
  try {
    writeImage(plan, fd);
  } finally {
    closeSync(fd);
  }

  // Both firmwares at once: two cores, and SeaBIOS is done long before OVMF.
  const [bios, uefi] = await Promise.all([bootIso(iso, s.biosMarker, false), bootIso(iso, s.uefiMarker, true)]);
  console.log(`# SeaBIOS: marker ${bios.found ? 'seen' : 'NOT seen'} after ${bios.ms} ms; OVMF: marker ${uefi.found ? 'seen' : 'NOT seen'} after ${uefi.ms} ms`);
  assert.ok(bios.found, `SeaBIOS did not print ${s.biosMarker}; serial output:\n${bios.output.slice(-2000)}`);
  assert.ok(uefi.found, `OVMF did not print ${s.uefiMarker}; serial output:\n${uefi.output.slice(-2000)}`);
  assert.ok(!bios.output.includes(s.uefiMarker), 'SeaBIOS must not start the UEFI image');
  assert.ok(!uefi.output.includes(s.biosMarker), 'OVMF must not start the BIOS image');
});
