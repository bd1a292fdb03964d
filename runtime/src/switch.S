/* Context switch for user-level threads (x86-64 System V).
 *
 * Only what the ABI says a callee keeps is saved: rbx, rbp, r12-r15 and the
 * stack pointer, plus the split-stack guard that code built with
 * -fsplit-stack compares against in every prologue (%fs:0x70, the TCB slot
 * GCC reserves for it).  No signal mask, no FPU state: that is why this is
 * ~10x cheaper than swapcontext.  The rest of libgcc's split-stack state
 * (segment list pointers) is saved in C around the call. */

	.text

/* void cap__ctx_switch(struct cap_ctx *from, struct cap_ctx *to)
 * struct cap_ctx { void *sp; void *guard; } */
	.globl	cap__ctx_switch
	.hidden	cap__ctx_switch
	.type	cap__ctx_switch, @function
cap__ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, 0(%rdi)
	movq	%fs:0x70, %rax
	movq	%rax, 8(%rdi)
	movq	8(%rsi), %rax
	movq	%rax, %fs:0x70
	movq	0(%rsi), %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	cap__ctx_switch, .-cap__ctx_switch

/* First code a new thread runs: cap__ctx_switch "returns" here with the
 * thread in r12.  rbp is 0 so frame-pointer walks stop at the thread base. */
	.globl	cap__thread_trampoline
	.hidden	cap__thread_trampoline
	.type	cap__thread_trampoline, @function
cap__thread_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%r12, %rdi
	andq	$-16, %rsp
	call	cap__thread_main
	ud2
	.cfi_endproc
	.size	cap__thread_trampoline, .-cap__thread_trampoline

/* void cap__sysstack_call(void (*fn)(void *), void *arg, void *stack_top)
 * Runs fn(arg) on the worker's kernel stack, for slow paths that call libc
 * (code not built for split stacks) without linking a large chunk into the
 * calling thread.  stack_top must be 16-byte aligned. */
	.globl	cap__sysstack_call
	.hidden	cap__sysstack_call
	.type	cap__sysstack_call, @function
cap__sysstack_call:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	movq	%rdx, %rsp
	movq	%rdi, %rax
	movq	%rsi, %rdi
	call	*%rax
	movq	%rbp, %rsp
	popq	%rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	cap__sysstack_call, .-cap__sysstack_call

/* Tell gold these functions are safe to call from split-stack code (they
 * need only a few words of stack), so it does not force callers onto a
 * large chunk; the no-split note stops it from looking for a split-stack
 * prologue in them. */
	.section	.note.GNU-split-stack,"",@progbits
	.section	.note.GNU-no-split-stack,"",@progbits
	.section	.note.GNU-stack,"",@progbits
