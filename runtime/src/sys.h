/* Raw system calls and clocks for code that runs on user-thread stacks.
 *
 * Runtime code on a thread's first chunk is compiled with -fsplit-stack.
 * A direct call from it into libc (which is not) makes gold rewrite the
 * caller to demand a large chunk on every call, which would link a
 * big chunk into every thread.  So the hot paths issue system calls inline
 * and read the clock through the vDSO by function pointer.  Return values
 * follow the kernel convention: >= 0 success, -errno failure. */
#ifndef CAP_SYS_H
#define CAP_SYS_H

#include <stdint.h>
#include <sys/syscall.h>

static inline long cap_sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define cap_sys0(n) cap_sys6((n), 0, 0, 0, 0, 0, 0)
#define cap_sys1(n, a) cap_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define cap_sys2(n, a, b) cap_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define cap_sys3(n, a, b, c) cap_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define cap_sys4(n, a, b, c, d) cap_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define cap_sys5(n, a, b, c, d, e) \
	cap_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)
#define cap_sys6l(n, a, b, c, d, e, f) \
	cap_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

/* Monotonic and real-time clocks in nanoseconds (vDSO when available). */
uint64_t cap__mono_ns(void);
uint64_t cap__real_ns(void);
uint64_t cap__clock_ns(int clock); /* any clock_gettime clock */

#endif
