/* Calls to external functions annotated in capriccio.annotations.json.
 *
 * capcc generates, for each annotated NAME, a stub __wrap_NAME that loads
 * the real function into r11 and the annotation into r10, then jumps to
 * cap__annotated_call.  That saves the argument registers (and where the
 * caller's stack arguments are) in a struct cap_call on the stack, lets
 * annotate.c decide where the call runs — on a helper kernel thread, or on
 * a chunk big enough for it — and returns what the function returned.
 * cap__annot_invoke makes the call itself, wherever it runs.
 *
 * struct cap_call (annotate.c): rdi rsi rdx rcx r8 r9 rax target flags args
 * ret_rax ret_rdx @0..88, xmm0-7 @96, ret_xmm0 @224, ret_xmm1 @240, err @256,
 * copy @264; 272 bytes. */

	.text

	.globl	cap__annotated_call
	.hidden	cap__annotated_call
	.type	cap__annotated_call, @function
cap__annotated_call:
	.cfi_startproc
	/* libgcc linking a chunk calls syscall() (mmap) on the old chunk's last
	 * bytes, with the thread half-way through a split: an annotation of
	 * syscall must not park it there, nor add frames.  The call goes
	 * straight on, as if not annotated. */
	cmpb	$0, %fs:cap__splitting@tpoff
	jne	.Lin_place
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	subq	$272, %rsp
	movq	%rdi, 0(%rsp)
	movq	%rsi, 8(%rsp)
	movq	%rdx, 16(%rsp)
	movq	%rcx, 24(%rsp)
	movq	%r8, 32(%rsp)
	movq	%r9, 40(%rsp)
	movq	%rax, 48(%rsp)
	movq	%r11, 56(%rsp)
	movq	%r10, 64(%rsp)
	leaq	16(%rbp), %rax		/* the caller's stack arguments */
	movq	%rax, 72(%rsp)
	movdqu	%xmm0, 96(%rsp)
	movdqu	%xmm1, 112(%rsp)
	movdqu	%xmm2, 128(%rsp)
	movdqu	%xmm3, 144(%rsp)
	movdqu	%xmm4, 160(%rsp)
	movdqu	%xmm5, 176(%rsp)
	movdqu	%xmm6, 192(%rsp)
	movdqu	%xmm7, 208(%rsp)
	movq	%rsp, %rdi
	call	cap__annot_dispatch
	movq	80(%rsp), %rax
	movq	88(%rsp), %rdx
	movdqu	224(%rsp), %xmm0
	movdqu	240(%rsp), %xmm1
	leave
	.cfi_def_cfa %rsp, 8
	ret
.Lin_place:
	jmp	*%r11
	.cfi_endproc
	.size	cap__annotated_call, .-cap__annotated_call

/* void cap__annot_invoke(struct cap_call *c): copy c->copy bytes of stack
 * arguments, load the registers, call c->target, keep what it returns. */
	.globl	cap__annot_invoke
	.hidden	cap__annot_invoke
	.type	cap__annot_invoke, @function
cap__annot_invoke:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	pushq	%rbx
	subq	$8, %rsp
	movq	%rdi, %rbx
	movq	264(%rbx), %rcx
	subq	%rcx, %rsp
	andq	$-16, %rsp
	movq	72(%rbx), %rsi
	movq	%rsp, %rdi
	rep movsb
	movdqu	96(%rbx), %xmm0
	movdqu	112(%rbx), %xmm1
	movdqu	128(%rbx), %xmm2
	movdqu	144(%rbx), %xmm3
	movdqu	160(%rbx), %xmm4
	movdqu	176(%rbx), %xmm5
	movdqu	192(%rbx), %xmm6
	movdqu	208(%rbx), %xmm7
	movq	0(%rbx), %rdi
	movq	8(%rbx), %rsi
	movq	16(%rbx), %rdx
	movq	24(%rbx), %rcx
	movq	32(%rbx), %r8
	movq	40(%rbx), %r9
	movq	48(%rbx), %rax
	call	*56(%rbx)
	movq	%rax, 80(%rbx)
	movq	%rdx, 88(%rbx)
	movdqu	%xmm0, 224(%rbx)
	movdqu	%xmm1, 240(%rbx)
	movq	-8(%rbp), %rbx
	leave
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	cap__annot_invoke, .-cap__annot_invoke

/* Split-stack code may call these directly: they need only their own
 * frames (the callee runs elsewhere, or on a stack made for it). */
	.section	.note.GNU-split-stack,"",@progbits
	.section	.note.GNU-no-split-stack,"",@progbits
	.section	.note.GNU-stack,"",@progbits
