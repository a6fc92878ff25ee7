; tsmedia MBR boot code. Copyright (c) the tsmedia authors. MIT licence, as the rest of tsmedia (package.json).
; Written from the public descriptions of what a PC master boot record does; no other boot code was read or copied.
;
; The BIOS loads sector 0 of the drive at 0:7C00 and jumps there with DL = the BIOS drive. This code moves itself to
; 0:0600, finds the active partition (bit 7 of the entry's status byte), reads its first sector to 0:7C00 with the
; INT 13h extensions (AH=41h check, AH=42h read with a 64-bit LBA packet), or by cylinder/head/sector (AH=02h) when
; they are missing or fail, checks the 55AAh signature and jumps to 0:7C00 with DL = the drive and DS:SI = the
; partition entry, as boot sectors expect. Only bytes 0-439 are code: the disk signature (440-443) and the partition
; table (446-509) are the drive's own and are never part of this program.
bits 16
org 0x0600

start:
    cli
    xor ax, ax
    mov ss, ax
    mov sp, 0x7c00
    mov ds, ax
    mov es, ax
    sti
    cld
    mov si, 0x7c00              ; move out of the way of the boot sector
    mov di, 0x0600
    mov cx, 256
    rep movsw
    jmp 0:relocated

relocated:
    mov [drive], dl
    mov si, 0x07be              ; the partition table, as moved
    mov cx, 4
.find:
    test byte [si], 0x80
    jnz found
    add si, 16
    loop .find
    mov si, msg_noactive
    jmp fatal

found:
    mov bp, si
    mov ah, 0x41                ; INT 13h extensions present?
    mov bx, 0x55aa
    mov dl, [drive]
    int 0x13
    jc chs
    cmp bx, 0xaa55
    jne chs
    test cl, 1                  ; packet (AH=42h) calls supported
    jz chs
    mov eax, [bp+8]
    mov [dap_lba], eax
    mov si, dap
    mov ah, 0x42
    mov dl, [drive]
    int 0x13
    jnc check

chs:                            ; CHS from the LBA with the BIOS's own geometry, else the entry's CHS
    mov ah, 0x08
    mov dl, [drive]
    xor di, di
    int 0x13
    jc .entry_chs
    and cx, 0x3f                ; sectors per track
    jz .entry_chs
    movzx ecx, cx
    movzx ebx, dh
    inc bx                      ; heads
    mov eax, [bp+8]
    xor edx, edx
    div ecx                     ; EAX = track, EDX = sector - 1
    mov di, dx
    xor edx, edx
    div ebx                     ; EAX = cylinder, EDX = head
    cmp eax, 1023
    ja .entry_chs
    mov ch, al
    mov cl, ah
    shl cl, 6
    inc di
    or cx, di
    mov dh, dl
    jmp .read
.entry_chs:
    mov dh, [bp+1]
    mov cx, [bp+2]
.read:
    mov di, 3                   ; tries
.again:
    xor ax, ax
    mov es, ax
    mov bx, 0x7c00
    mov ax, 0x0201
    mov dl, [drive]
    push di
    push cx
    push dx
    int 0x13
    pop dx
    pop cx
    pop di
    jnc check
    xor ax, ax                  ; reset the drive and try again
    mov dl, [drive]
    int 0x13
    dec di
    jnz .again
    mov si, msg_read
    jmp fatal

check:
    cmp word [0x7dfe], 0xaa55
    mov si, msg_noos
    jne fatal
    mov si, bp
    mov dl, [drive]
    jmp 0:0x7c00

%include "fatal.inc"            ; fatal: print [SI] and the key message, restart on a key; print

dap:     db 16, 0
         dw 1, 0x7c00, 0
dap_lba: dd 0, 0
drive:   db 0x80
msg_noactive: db 13, 10, 'No active partition', 0
msg_read:     db 13, 10, 'Disk read error', 0
msg_noos:     db 13, 10, 'No boot sector on the active partition', 0
msg_key:      db 13, 10, 'Press a key to restart', 13, 10, 0

%if $-$$ > 440
%error "MBR code is longer than 440 bytes"
%endif
times 440-($-$$) db 0
