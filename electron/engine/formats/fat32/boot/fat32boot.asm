; tsmedia FAT32 boot code. Copyright (c) the tsmedia authors. MIT licence, as the rest of tsmedia (package.json).
; Written from public descriptions of the FAT32 on-disk format (Microsoft's fatgen103) and of the state Windows' own
; boot sector hands BOOTMGR; no other boot code was read or copied.
;
; Two parts, assembled as one flat program at 0:7C00:
; - bytes 0-511: the volume's boot sector. Bytes 3-89 are the OEM name and the BPB, which the engine fills in (here
;   zeros); the code between byte 90 and the 55AAh signature loads part two from sectors 2, 3, ... of the volume
;   (as many as it takes at the volume's bytes per sector) to 0:7E00 and runs it.
; - bytes 512-: part two. It finds BOOTMGR in the root directory (following the root's cluster chain), follows
;   BOOTMGR's cluster chain through the FAT, loads the whole file at 2000:0000 and jumps there with DL = the BIOS
;   drive, the boot sector (with its BPB) at 0:7C00, DS = ES = SS = 0, SP = 7C00h and A20 on.
; Every number comes from the BPB at run time: bytes per sector (512 to 4096), sectors per cluster, reserved sectors,
; FATs and their size, the active FAT when mirroring is off, the root cluster and the hidden sectors (the partition's
; first sector on the drive). Sectors are addressed with 32-bit LBAs in 64-bit INT 13h extension packets; without the
; extensions (some USB-floppy emulations) they are read one at a time by cylinder/head/sector.
bits 16
org 0x7c00

BPB_BPS     equ 11          ; word: bytes per sector
BPB_SPC     equ 13          ; byte: sectors per cluster
BPB_RSVD    equ 14          ; word: reserved sectors
BPB_NFATS   equ 16          ; byte: number of FATs
BPB_HIDDEN  equ 28          ; dword: hidden sectors (the partition's first sector)
BPB_FATSZ   equ 36          ; dword: sectors per FAT
BPB_FLAGS   equ 40          ; word: bit 7 = only the FAT in bits 0-3 is active
BPB_ROOT    equ 44          ; dword: root directory's first cluster
BPB_DRIVE   equ 64          ; byte: BIOS drive (set here to the drive booted from)

v_ext       equ 0x0500      ; byte: 1 when the INT 13h extensions are there
v_spt       equ 0x0502      ; word: sectors per track (CHS)
v_heads     equ 0x0504      ; word: heads (CHS)
v_dap       equ 0x0510      ; 16 bytes: the extensions' disk address packet
v_fat       equ 0x0520      ; dword: LBA of the FAT in use
v_data      equ 0x0524      ; dword: LBA of cluster 2
v_fatsec    equ 0x0528      ; dword: LBA of the FAT sector in FATBUF
v_clus      equ 0x052c      ; dword: current cluster
v_left      equ 0x0530      ; dword: sectors of BOOTMGR still to read
v_seg       equ 0x0534      ; word: segment BOOTMGR's next sectors go to
v_chunk     equ 0x0536      ; word: most sectors one read may take (32 KiB)
v_count     equ 0x0538      ; word: directory entries looked at
v_a20       equ 0x05f0      ; byte: the A20 probe
DIRBUF      equ 0x1000      ; one directory sector (up to 4 KiB)
FATBUF      equ 0x2000      ; one FAT sector (up to 4 KiB)
STAGE2_MAGIC equ 0x3254     ; "T2"

    jmp short start
    nop
    times 90-($-$$) db 0    ; OEM name and BPB: the volume's own

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    cld
    mov bp, sp
    mov [bp+BPB_DRIVE], dl
    mov [v_ext], al
    mov ah, 0x41
    mov bx, 0x55aa
    int 0x13
    jc .chs
    cmp bx, 0xaa55
    jne .chs
    test cl, 1
    jz .chs
    inc byte [v_ext]
    jmp .load
.chs:
    mov ah, 0x08
    mov dl, [bp+BPB_DRIVE]
    xor di, di
    int 0x13
    jc disk_error
    and cx, 0x3f
    mov [v_spt], cx
    movzx dx, dh
    inc dx
    mov [v_heads], dx
    xor ax, ax
    mov es, ax
.load:
    mov ax, stage2_end - stage2 ; part two: ceil(bytes / bytes per sector) sectors from sector 2
    add ax, [bp+BPB_BPS]
    dec ax
    xor dx, dx
    div word [bp+BPB_BPS]
    mov cx, ax
    mov eax, [bp+BPB_HIDDEN]
    add eax, 2
    mov bx, stage2
    call read_sectors
    cmp word [stage2], STAGE2_MAGIC
    mov si, msg_stage2
    jne fatal
    jmp stage2_entry

; Reads CX sectors from drive LBA EAX to ES:BX (at most 32 KiB, within one 64 KiB segment). Keeps every register.
read_sectors:
    pushad
    push es
    cmp byte [v_ext], 0
    je .chs
    mov si, v_dap
    mov word [si], 16
    mov [si+2], cx
    mov [si+4], bx
    mov [si+6], es
    mov [si+8], eax
    xor edx, edx
    mov [si+12], edx
    mov ah, 0x42
    mov dl, [bp+BPB_DRIVE]
    int 0x13
    jc disk_error
    jmp .done
.chs:
    push eax
    push cx
    xor edx, edx
    movzx ecx, word [v_spt]
    div ecx                     ; EAX = track, EDX = sector - 1
    mov di, dx
    inc di
    xor edx, edx
    movzx ecx, word [v_heads]
    div ecx                     ; EAX = cylinder, EDX = head
    cmp eax, 1023
    ja disk_error
    mov ch, al
    mov cl, ah
    shl cl, 6
    or cx, di
    mov dh, dl
    mov dl, [bp+BPB_DRIVE]
    mov ax, 0x0201
    int 0x13
    jc disk_error
    pop cx
    pop eax
    inc eax
    mov dx, [bp+BPB_BPS]
    shr dx, 4
    mov si, es
    add si, dx
    mov es, si
    loop .chs
.done:
    pop es
    popad
    ret

disk_error:
    mov si, msg_disk
%include "fatal.inc"            ; fatal: print [SI] and the key message, restart on a key; print

msg_disk:   db 13, 10, 'Disk error', 0
msg_stage2: db 13, 10, 'Boot sectors missing', 0
msg_key:    db 13, 10, 'Press a key to restart', 13, 10, 0

%if $-$$ > 510
%error "the boot sector's code is longer than 420 bytes"
%endif
times 510-($-$$) db 0
    dw 0xaa55

; ---------------------------------------------------------------------------------------------------------------------
; Part two, at 0:7E00
stage2:
    dw STAGE2_MAGIC
stage2_entry:
    movzx eax, word [bp+BPB_RSVD]   ; the first FAT, then cluster 2 behind all FATs
    add eax, [bp+BPB_HIDDEN]
    mov [v_fat], eax
    movzx eax, byte [bp+BPB_NFATS]
    mul dword [bp+BPB_FATSZ]
    add eax, [v_fat]
    mov [v_data], eax
    test byte [bp+BPB_FLAGS], 0x80
    jz .mirrored
    movzx eax, byte [bp+BPB_FLAGS]
    and al, 0x0f
    mul dword [bp+BPB_FATSZ]
    add [v_fat], eax
.mirrored:
    or dword [v_fatsec], -1
    mov word [v_count], 0
    mov ax, 0x8000
    xor dx, dx
    div word [bp+BPB_BPS]
    mov [v_chunk], ax

    mov eax, [bp+BPB_ROOT]      ; the root directory, cluster by cluster, sector by sector
.dir_cluster:
    cmp eax, 2
    jb missing
    cmp eax, 0x0ffffff8
    jae missing
    mov [v_clus], eax
    call cluster_lba
    movzx cx, byte [bp+BPB_SPC]
.dir_sector:
    push cx
    mov cx, 1
    mov bx, DIRBUF
    call read_sectors
    pop cx
    mov di, DIRBUF
    mov dx, [bp+BPB_BPS]
    add dx, di
.entry:
    cmp byte [di], 0            ; the end of the directory
    je missing
    inc word [v_count]          ; FAT allows 65,536 entries: a longer (looping) chain is damage
    jz missing
    push cx
    push di
    mov si, bootmgr_name
    mov cx, 11
    repe cmpsb
    pop di
    pop cx
    jne .next
    test byte [di+11], 0x18     ; neither a folder nor the volume label (long-name entries have 0x08 set)
    jz found
.next:
    add di, 32
    cmp di, dx
    jb .entry
    inc eax
    loop .dir_sector
    mov eax, [v_clus]
    call next_cluster
    jmp .dir_cluster

found:
    mov eax, [di+28]            ; size
    test eax, eax
    jz missing
    movzx ecx, word [bp+BPB_BPS]
    dec eax
    xor edx, edx
    div ecx
    inc eax                     ; sectors to read
    mov [v_left], eax
    mul ecx                     ; bytes they take from 2000:0000
    mov ebx, eax
    test edx, edx
    jnz too_large
    int 0x12                    ; KiB below the extended BIOS data area
    movzx eax, ax
    shl eax, 10
    sub eax, 0x20000
    jb too_large
    cmp ebx, eax
    ja too_large
    mov ax, [di+20]             ; first cluster
    shl eax, 16
    mov ax, [di+26]
    mov word [v_seg], 0x2000
.cluster:
    cmp eax, 2
    jb disk_error               ; the chain ends before the file does: a damaged volume
    cmp eax, 0x0ffffff7
    jae disk_error
    mov [v_clus], eax
    call cluster_lba
    movzx ecx, byte [bp+BPB_SPC]
.chunk:
    mov edx, ecx                ; sectors now: the cluster's rest, the file's rest, 32 KiB at most
    cmp edx, [v_left]
    jbe .a
    mov edx, [v_left]
.a:
    cmp dx, [v_chunk]
    jbe .b
    mov dx, [v_chunk]
.b:
    push cx
    mov cx, dx
    mov es, [v_seg]
    xor bx, bx
    call read_sectors
    pop cx
    movzx edx, dx
    add eax, edx
    sub ecx, edx
    sub [v_left], edx
    jz loaded
    push eax
    mov ax, [bp+BPB_BPS]
    shr ax, 4
    mul dx
    add [v_seg], ax
    pop eax
    test ecx, ecx
    jnz .chunk
    mov eax, [v_clus]
    call next_cluster
    jmp .cluster

loaded:
    xor ax, ax
    mov es, ax
    call a20_check              ; A20 on: the BIOS's way (INT 15h AX=2401h), else the fast gate (port 92h)
    jnz .a20
    mov ax, 0x2401
    int 0x15
    call a20_check
    jnz .a20
    in al, 0x92
    or al, 2
    and al, 0xfe
    out 0x92, al
.a20:
    xor ax, ax
    mov ds, ax
    mov es, ax
    cli
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov dl, [bp+BPB_DRIVE]
    jmp 0x2000:0x0000

missing:
    mov si, msg_missing
    jmp fatal
too_large:
    mov si, msg_large
    jmp fatal

; EAX = cluster -> EAX = its first sector's LBA.
cluster_lba:
    push edx
    push ecx
    sub eax, 2
    movzx ecx, byte [bp+BPB_SPC]
    mul ecx
    add eax, [v_data]
    pop ecx
    pop edx
    ret

; EAX = cluster -> EAX = its FAT entry (28 bits). Keeps the other registers; ES must be 0 afterwards only.
next_cluster:
    push es
    push bx
    push ecx
    push edx
    push si
    shl eax, 2
    movzx ecx, word [bp+BPB_BPS]
    xor edx, edx
    div ecx                     ; EAX = sector of the FAT, EDX = offset in it
    add eax, [v_fat]
    cmp eax, [v_fatsec]
    je .cached
    mov [v_fatsec], eax
    xor bx, bx
    mov es, bx
    mov bx, FATBUF
    mov cx, 1
    call read_sectors
.cached:
    mov si, dx
    mov eax, [si+FATBUF]
    and eax, 0x0fffffff
    pop si
    pop edx
    pop ecx
    pop bx
    pop es
    ret

; ZF clear when A20 is on: the byte at 0:05F0 changed, and the one 1 MiB above it did not follow.
a20_check:
    push es
    push word 0xffff
    pop es
    inc byte [v_a20]
    mov al, [es:v_a20+0x10]
    cmp al, [v_a20]
    pop es
    ret

bootmgr_name: db 'BOOTMGR    '
msg_missing:  db 13, 10, 'BOOTMGR is missing', 0
msg_large:    db 13, 10, 'BOOTMGR is too large for the memory below the EBDA', 0
stage2_end:
