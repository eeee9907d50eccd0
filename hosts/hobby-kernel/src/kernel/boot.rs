//! The boot stub: a multiboot header and the 32-bit code that takes the CPU to long mode.
//!
//! qemu's `-kernel` multiboot loader refuses a 64-bit ELF unless the header gives the
//! image's addresses (flag bit 16, the "a.out kludge"): the header names where the image
//! loads (`__image_start`, 1 MiB), where the file's bytes end (`__load_end`), where the
//! zero-filled part ends (`__bss_end`) and the entry (`_start32`). `link.ld` lays the
//! image out as one segment so that file offsets and addresses advance together, as the
//! kludge needs.
//!
//! `_start32` runs in 32-bit protected mode, paging off, interrupts off, `eax` = the
//! multiboot magic and `ebx` = the information address. It
//!
//! 1. zeroes `.bss` (page tables and statics; the heap and the stack in `.bss.kheap`
//!    need no zeroing and are left alone: 48 MiB less to clear),
//! 2. identity-maps the first GiB with 2 MiB pages,
//! 3. turns on PAE, SSE (`CR4.OSFXSR`, `CR4.OSXMMEXCPT`, `CR0.MP`, `CR0.EM` and `CR0.TS`
//!    clear: the precompiled `core` formats integers with SSE), long mode (`EFER.LME`)
//!    and paging,
//! 4. loads a GDT with a 64-bit code segment, jumps to it, and calls
//!    `kernel_main(magic, info)` on a 2 MiB stack with interrupts still off.

core::arch::global_asm!(
    r#"
    .section .multiboot, "a"
    .balign 4
mb_header:
    .long 0x1BADB002
    .long 0x00010003
    .long -(0x1BADB002 + 0x00010003)
    .long mb_header
    .long __image_start
    .long __load_end
    .long __bss_end
    .long _start32

    .section .boot.text, "ax"
    .code32
    .globl _start32
_start32:
    cli
    cld
    movl %eax, %ebp
    movl %ebx, %esi
    movl $boot_stack_top, %esp

    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    movl $boot_pdpt, %eax
    orl $0x3, %eax
    movl %eax, boot_pml4
    movl $boot_pd, %eax
    orl $0x3, %eax
    movl %eax, boot_pdpt
    xorl %ecx, %ecx
1:
    movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, boot_pd(,%ecx,8)
    incl %ecx
    cmpl $512, %ecx
    jne 1b
    movl $boot_pml4, %eax
    movl %eax, %cr3

    movl %cr4, %eax
    orl $0x620, %eax
    movl %eax, %cr4

    movl $0xC0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr

    movl %cr0, %eax
    andl $0xFFFFFFF3, %eax
    orl $0x80000003, %eax
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $boot_long_mode

    .code64
boot_long_mode:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq $boot_stack_top, %rsp
    movl %ebp, %edi
    movl %esi, %esi
    xorl %ebp, %ebp
    call kernel_main
2:
    cli
    hlt
    jmp 2b

    .section .boot.rodata, "a"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

    .section .bss.boot, "aw", @nobits
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4096

    .section .bss.kheap.stack, "aw", @nobits
    .balign 16
boot_stack:
    .skip 0x200000
boot_stack_top:
"#,
    options(att_syntax)
);
