/* Linked by capcc right after the program's own objects and libraries (not
 * part of libcapriccio.a): two empty thread-local markers that fall where
 * the program's .tdata and .tbss end, ahead of the runtime's and libgcc's
 * thread-locals, and a function that tells the runtime where they are
 * (tls_sys.c).  The program's thread-locals are everything before them. */

	.section	.tdata,"awT",@progbits
	.type	cap__tls_user_tdata_end, @object
cap__tls_user_tdata_end:
	.size	cap__tls_user_tdata_end, 0

	.section	.tbss,"awT",@nobits
	.type	cap__tls_user_end, @object
cap__tls_user_end:
	.size	cap__tls_user_end, 0

/* void cap__tls_user_bounds(intptr_t end[2]): both ends as offsets from the
 * thread pointer (local-exec: the linker fills them in). */
	.text
	.globl	cap__tls_user_bounds
	.hidden	cap__tls_user_bounds
	.type	cap__tls_user_bounds, @function
cap__tls_user_bounds:
	.cfi_startproc
	xorl	%eax, %eax
	leaq	cap__tls_user_tdata_end@tpoff(%rax), %rax
	movq	%rax, 0(%rdi)
	xorl	%eax, %eax
	leaq	cap__tls_user_end@tpoff(%rax), %rax
	movq	%rax, 8(%rdi)
	ret
	.cfi_endproc
	.size	cap__tls_user_bounds, .-cap__tls_user_bounds

/* Safe to call from split-stack code (see switch.S). */
	.section	.note.GNU-split-stack,"",@progbits
	.section	.note.GNU-no-split-stack,"",@progbits
	.section	.note.GNU-stack,"",@progbits
