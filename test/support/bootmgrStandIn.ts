// A stand-in for BOOTMGR that checks the state the BIOS boot code hands over, assembled by the tests with nasm:
// CS:IP = 2000:0000, DS = ES = SS = 0, SP = 7C00h, DL = the BIOS drive expected, the boot sector at 0:7C00 (55AAh,
// "FAT32   ", hidden sectors = the partition's first sector, and the same BPB as the sector the drive in DL holds
// at that LBA), A20 on, and the whole file loaded (an order-sensitive checksum over every byte from offset 16, which
// the test computes and writes at offset 4). Then it prints STANDIN_OK on the first serial port and halts; a failed
// check prints STANDIN_FAIL and what failed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pattern } from '../helpers.js';

export const STANDIN_OK = 'TSMEDIA-BOOTMGR-STANDIN-OK';
export const STANDIN_FAIL = 'TSMEDIA-BOOTMGR-STANDIN-FAIL';
/** Bytes of code at the start of the stand-in; the rest is a pattern the checksum covers. */
const CODE_BYTES = 4096;

const asm = (size: number, hidden: number, drive: number, driveRead: boolean): string => `bits 16
org 0
    jmp short start
    nop
    db 0
checksum: dd 0
    times 16-($-$$) db 0
start:
    cmp sp, 0x7c00
    mov si, f_sp
    jne fail
    mov ax, ss
    test ax, ax
    mov si, f_ss
    jnz fail
    mov ax, ds
    test ax, ax
    mov si, f_ds
    jnz fail
    mov ax, es
    test ax, ax
    mov si, f_es
    jnz fail
    mov ax, cs
    cmp ax, 0x2000
    mov si, f_cs
    jne fail
    call here
here:
    pop ax
    cmp ax, here
    mov si, f_ip
    jne fail
    cmp dl, ${drive}
    mov si, f_dl
    jne fail
    cmp word [0x7dfe], 0xaa55
    mov si, f_sig
    jne fail
    cmp dword [0x7c00+82], 'FAT3'
    mov si, f_bpb
    jne fail
    cmp dword [0x7c00+28], ${hidden}
    mov si, f_hidden
    jne fail
    inc byte [0x7f0]            ; A20: the byte 1 MiB above must not follow
    push word 0xffff
    pop es
    mov al, [es:0x800]
    cmp al, [0x7f0]
    jne a20_ok
    inc byte [0x7f0]
    mov al, [es:0x800]
    cmp al, [0x7f0]
    mov si, f_a20
    je fail
a20_ok:
    xor ax, ax
    mov es, ax
${driveRead ? '' : '    jmp drive_read_done\n'}    mov si, 0x600               ; the drive in DL holds this BPB at the hidden sectors' LBA (the packet in low memory:
    mov dword [si], 0x10010     ; the stand-in's own bytes stay as loaded, for the checksum)
    mov dword [si+4], 0x1000
    mov dword [si+8], ${hidden}
    mov dword [si+12], 0
    mov ah, 0x42
    int 0x13
    mov si, f_read
    jc fail
    mov si, 0x7c00+11
    mov di, 0x1000+11
    mov cx, 64-11
    cld
    repe cmpsb
    mov si, f_drive_bpb
    jne fail
drive_read_done:
    mov bx, 0x2001              ; checksum: h = rol(h, 5) xor dword, over offsets 16 … ${size - 1}
    mov cx, ${size / 16 - 1}
    xor edx, edx
sum:
    mov ds, bx
    mov eax, [0]
    rol edx, 5
    xor edx, eax
    mov eax, [4]
    rol edx, 5
    xor edx, eax
    mov eax, [8]
    rol edx, 5
    xor edx, eax
    mov eax, [12]
    rol edx, 5
    xor edx, eax
    inc bx
    loop sum
    push cs
    pop ds
    cmp edx, [checksum]
    mov si, f_sum
    jne fail
    mov si, ok
    call serial
    jmp halt
fail:
    push cs
    pop ds
    push si
    mov si, bad
    call serial
    pop si
    call serial
halt:
    cli
    hlt
    jmp halt
serial:
    mov dx, 0x3f8
.next:
    cs lodsb
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    ret
ok:   db 13, 10, '${STANDIN_OK}', 13, 10, 0
bad:  db 13, 10, '${STANDIN_FAIL}: ', 0
f_sp: db 'SP', 0
f_ss: db 'SS', 0
f_ds: db 'DS', 0
f_es: db 'ES', 0
f_cs: db 'CS', 0
f_ip: db 'IP', 0
f_dl: db 'DL', 0
f_sig: db 'boot sector signature at 0:7DFE', 0
f_bpb: db 'no FAT32 BPB at 0:7C00', 0
f_hidden: db 'hidden sectors', 0
f_a20: db 'A20 off', 0
f_read: db 'reading the drive in DL', 0
f_drive_bpb: db 'the BPB at 0:7C00 is not the one at the hidden sectors of the drive in DL', 0
f_sum: db 'checksum: not loaded whole', 0
%if $-$$ > ${CODE_BYTES}
%error "stand-in code too long"
%endif
times ${CODE_BYTES}-($-$$) db 0
`;

/** The checksum the stand-in computes: over the dwords from offset 16 to the end, h = rol(h, 5) xor dword. */
export function standInChecksum(b: Buffer): number {
  let h = 0;
  for (let i = 16; i + 4 <= b.length; i += 4) h = (((h << 5) | (h >>> 27)) ^ b.readUInt32LE(i)) >>> 0;
  return h;
}

/**
 * A BOOTMGR stand-in of `size` bytes (a multiple of 16, at least 8 KiB) expecting `hidden` in the BPB and the BIOS
 * drive `drive` in DL (0x80: the first hard disk). `driveRead` false leaves out the check that reads the BPB back
 * through DL with the INT 13h extensions (for a BIOS made to lack them). Throws with nasm's message when it cannot be assembled.
 */
export function buildBootmgrStandIn(size: number, hidden: number, drive = 0x80, seed = 7, driveRead = true): Buffer {
  if (size % 16 !== 0 || size < 2 * CODE_BYTES) throw new Error(`stand-in size ${size}: a multiple of 16 of at least ${2 * CODE_BYTES} bytes`);
  const dir = mkdtempSync(join(tmpdir(), 'tsmedia-standin-'));
  try {
    writeFileSync(join(dir, 'bootmgr.asm'), asm(size, hidden, drive, driveRead));
    const r = spawnSync('nasm', ['-f', 'bin', '-o', join(dir, 'bootmgr'), join(dir, 'bootmgr.asm')], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`nasm (stand-in BOOTMGR) failed: ${r.error?.message ?? r.stderr}`);
    const code = readFileSync(join(dir, 'bootmgr'));
    const b = Buffer.concat([code, pattern(size - CODE_BYTES, seed)]);
    b.writeUInt32LE(standInChecksum(b), 4);
    return b;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SHIM_ASM = `bits 16
org 0x7c00
; Stands in for a BIOS without the INT 13h extensions (as some USB-floppy emulations are): hooks INT 13h so that
; AH=41h and AH=42h fail (CF set, AH=01h), then starts the drive's real MBR, which the test put in sector 1.
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    cld
    mov si, hook
    mov di, 0x0800
    mov cx, hook_end - hook
    rep movsb
    mov eax, [0x13*4]
    mov [0x0800 + (old - hook)], eax
    cli
    mov word [0x13*4], 0x0800
    mov word [0x13*4+2], 0
    sti
    jmp 0:0x0800 + (start_mbr - hook)
hook:
    cmp ah, 0x41
    je .none
    cmp ah, 0x42
    je .none
    jmp far [cs:0x0800 + (old - hook)]
.none:
    mov ah, 0x01
    stc
    sti
    retf 2
start_mbr:                      ; sector 1 (C0 H0 S2) to 0:7C00, by the BIOS's own CHS read
    mov ax, 0x0201
    mov bx, 0x7c00
    mov cx, 0x0002
    xor dh, dh
    int 0x13
    jc start_mbr
    jmp 0:0x7c00
old: dd 0
hook_end:
times 510-($-$$) db 0
dw 0xaa55
`;

/** A 512-byte MBR that makes the BIOS lack the INT 13h extensions, then starts the real MBR from sector 1. */
export function buildNoExtensionsShim(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'tsmedia-shim-'));
  try {
    writeFileSync(join(dir, 'shim.asm'), SHIM_ASM);
    const r = spawnSync('nasm', ['-f', 'bin', '-o', join(dir, 'shim'), join(dir, 'shim.asm')], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`nasm (no-extensions shim) failed: ${r.error?.message ?? r.stderr}`);
    return readFileSync(join(dir, 'shim'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const SHIM_4K_ASM = `bits 16
org 0x7c00
; Makes a disk of 512-byte sectors look like one of 4096-byte sectors to the INT 13h extensions, so that the boot code's
; 4096-byte path runs under a BIOS that cannot boot such disks (SeaBIOS): AH=42h reads are translated (count and LBA
; times 8); CHS reads (AH=02h) and the geometry (AH=08h), which would still be in 512-byte sectors, fail. Then it starts
; the real MBR, which the test put in the disk's second 512-byte sector.
%define R(x) (0x0800 + (x) - hook)
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    cld
    mov si, hook
    mov di, 0x0800
    mov cx, hook_end - hook
    rep movsb
    mov eax, [0x13*4]
    mov [R(old)], eax
    cli
    mov word [0x13*4], 0x0800
    mov word [0x13*4+2], 0
    sti
    jmp 0:R(start_mbr)
hook:
    cmp ah, 0x42
    je .ext
    cmp ah, 0x02
    je .fail
    cmp ah, 0x08
    je .fail
    jmp far [cs:R(old)]
.fail:
    mov ah, 0x01
    stc
    sti
    retf 2
.ext:
    pushad
    push ds
    push es
    mov ax, [si+2]
    shl ax, 3
    mov [cs:R(dap)+2], ax
    mov ax, [si+4]
    mov [cs:R(dap)+4], ax
    mov ax, [si+6]
    mov [cs:R(dap)+6], ax
    mov eax, [si+8]
    shl eax, 3
    mov [cs:R(dap)+8], eax
    push cs
    pop ds
    mov si, R(dap)
    mov ah, 0x42
    pushf
    call far [cs:R(old)]
    pop es
    pop ds
    jc .readerr
    popad
    xor ah, ah
    clc
    sti
    retf 2
.readerr:
    popad
    mov ah, 0x01
    stc
    sti
    retf 2
start_mbr:                      ; 512-byte sector 1 to 0:7C00 with the BIOS's own handler
    mov si, R(mbr_dap)
    mov ah, 0x42
    pushf
    call far [cs:R(old)]
    jc start_mbr
    jmp 0:0x7c00
old: dd 0
dap: db 16, 0
     dw 0, 0, 0
     dd 0, 0
mbr_dap: db 16, 0
     dw 1, 0x7c00, 0
     dd 1, 0
hook_end:
times 510-($-$$) db 0
dw 0xaa55
`;

/** A 512-byte MBR that shows the BIOS drive to the boot code as one of 4096-byte sectors, then starts the real MBR. */
export function build4kShim(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'tsmedia-shim4k-'));
  try {
    writeFileSync(join(dir, 'shim.asm'), SHIM_4K_ASM);
    const r = spawnSync('nasm', ['-f', 'bin', '-o', join(dir, 'shim'), join(dir, 'shim.asm')], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`nasm (4096-byte sector shim) failed: ${r.error?.message ?? r.stderr}`);
    return readFileSync(join(dir, 'shim'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
