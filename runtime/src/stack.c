/* Thread stacks.
 *
 * Split mode: a thread starts on a small first chunk carved from a slab of
 * same-sized chunks (one size class per 256 bytes); the thread structure
 * lives at the top of its chunk, so one allocation serves both.  When a call
 * needs more room, libgcc's __morestack links further chunks, recorded in the
 * thread's split-stack context; a thread gives back the ones it no longer
 * runs on to its worker's pool each time it stops (chunks.h).  A freed chunk
 * goes back to its class with any the pool had no room for still attached,
 * so the next thread on it reuses them instead of mapping new ones.
 *
 * Fixed mode: one mmap'd stack per thread with a PROT_NONE guard page below
 * it, for code not compiled with -fsplit-stack.  Freed stacks are pooled;
 * their pages are given back with MADV_DONTNEED.  Running into the guard page
 * is caught by the SIGSEGV handler (diag_sys.c), which names the thread.
 *
 * Every mapping is registered in the stack memory map (stackmem.h), which
 * measures what they cost.
 *
 * Either way the top of the allocation holds the thread structure and,
 * below it, the thread's copy of the program's thread-locals (tls.h), on top
 * of the size asked for. */
#include "stackmem.h"
#include "tls.h"

#include <errno.h>
#include <sys/mman.h>

#define CAP_GRAIN 256u
#define CAP_SLAB_BYTES (1u << 20)
#define CAP_PAGE 4096u
#define CAP_FIXED_POOL_MAX 256

/* Process-wide: the configuration (set before the first thread), and the
 * bytes of live threads' stacks, which the resource-aware policy compares
 * with the process's limit.  Free stacks are kept per worker (ctx.h). */
size_t cap__default_chunk = 3840; /* 3.75 KiB with the thread structure: a blocked thread costs less than a page */
size_t cap__default_fixed = 256u << 10;
uint64_t cap__stack_bytes;
int cap__stack_mode = CAP_STACK_SPLIT;


static void *cap__map(size_t bytes, int extra)
{
	long p = cap_sys6(SYS_mmap, 0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | extra, -1, 0);
	return (p < 0 && p > -4096) ? NULL : (void *)p;
}

/* What sits above a thread's stack: its structure and its thread-locals. */
static inline size_t cap__top(void) { return CAP_TSIZE + cap__tls.area; }

static inline struct cap_thread *cap__place(char *base, size_t bytes)
{
	struct cap_thread *t = (struct cap_thread *)(base + bytes - CAP_TSIZE);
	t->stack_lo = base;
	t->stack_size = bytes - cap__top();
	return t;
}

/* Only its worker writes it; the telemetry thread reads it (ctx.h). */
static inline void cap__idle_add(struct cap_stack_ctx *sc, int64_t bytes)
{
	atomic_store_explicit(&sc->idle, atomic_load_explicit(&sc->idle, memory_order_relaxed) + bytes,
			      memory_order_relaxed);
}

static int cap__split_alloc(struct cap_thread **out, size_t size)
{
	if (size < CAP_MIN_CHUNK)
		size = CAP_MIN_CHUNK;
	size = (size + cap__tls.area + CAP_GRAIN - 1) & ~(size_t)(CAP_GRAIN - 1);
	uint32_t cls = (uint32_t)(size / CAP_GRAIN);
	struct cap_thread *t;
	if (cls >= CAP_NCLASS) {
		size = (size + CAP_PAGE - 1) & ~(size_t)(CAP_PAGE - 1);
		char *base = cap__stackmem_map(size, 0);
		if (!base)
			return -ENOMEM;
		t = cap__place(base, size);
		t->ss.segments = NULL;
	} else {
		struct cap_stack_ctx *sc = &cap__w->stacks;
		struct cap_class *c = &sc->classes[cls];
		cap__idle_add(sc, -(int64_t)size);
		if (c->free) {
			t = c->free;
			c->free = t->next;
			if (t->ss.segments) { /* in use again */
				cap__idle_add(sc, -(int64_t)(uintptr_t)t->ss.segments->extra);
				t->ss.segments->extra = NULL;
			}
		} else {
			if (c->bump + size > c->end) {
				size_t slab = CAP_SLAB_BYTES - CAP_SLAB_BYTES % size;
				char *s = cap__stackmem_map(slab, MAP_POPULATE);
				if (!s) {
					cap__idle_add(sc, (int64_t)size);
					return -ENOMEM;
				}
				cap__idle_add(sc, (int64_t)slab);
				c->bump = s;
				c->end = s + slab;
			}
			t = cap__place(c->bump, size);
			c->bump += size;
			t->ss.segments = NULL;
		}
	}
	t->chunk_class = cls;
	t->stack_kind = CAP_STACK_KIND_SLAB;
	*out = t;
	return 0;
}

static int cap__fixed_alloc(struct cap_thread **out, size_t size)
{
	if (size == 0)
		size = cap__default_fixed;
	if (size < 4 * CAP_PAGE)
		size = 4 * CAP_PAGE;
	size = (size + cap__tls.area + CAP_PAGE - 1) & ~(size_t)(CAP_PAGE - 1);
	struct cap_stack_ctx *sc = &cap__w->stacks;
	struct cap_thread **pp = &sc->fixed_pool, *t;
	for (; (t = *pp) != NULL; pp = &t->next) {
		if (t->stack_size + cap__top() == size) {
			*pp = t->next;
			sc->fixed_pooled--;
			*out = t;
			return 0;
		}
	}
	char *base = cap__map(size + CAP_PAGE, 0);
	if (!base)
		return -ENOMEM;
	cap_sys3(SYS_mprotect, base, CAP_PAGE, PROT_NONE);
	cap__stackmem_add(base + CAP_PAGE, size);
	t = cap__place(base + CAP_PAGE, size);
	t->ss.segments = NULL;
	t->chunk_class = 0;
	t->stack_kind = CAP_STACK_KIND_FIXED;
	*out = t;
	return 0;
}

int cap__stack_alloc(struct cap_thread **out, size_t size, int mode)
{
	if (mode == CAP_STACK_DEFAULT)
		mode = cap__stack_mode;
	int err = mode == CAP_STACK_FIXED ? cap__fixed_alloc(out, size)
		  : mode == CAP_STACK_SPLIT ? cap__split_alloc(out, size ? size : cap__default_chunk)
					    : -EINVAL;
	if (!err)
		__atomic_add_fetch(&cap__stack_bytes, (*out)->stack_size + cap__top(), __ATOMIC_RELAXED);
	return err;
}

/* libgcc unmaps the chunks still linked to t. */
static void cap__release_chain(struct cap_thread *t)
{
	if (!t->ss.segments)
		return;
	for (struct cap_libgcc_segment *s = t->ss.segments; s; s = s->next)
		cap__stackmem_del(s);
	cap__on_sysstack(CAP_SYSFN_RELEASE_CHAIN, t);
}

void cap__stack_free(struct cap_thread *t)
{
	__atomic_sub_fetch(&cap__stack_bytes, t->stack_size + cap__top(), __ATOMIC_RELAXED);
	t->state = 0;
	if (t->stack_kind == CAP_STACK_KIND_FIXED) {
		cap__release_chain(t);
		size_t used = (size_t)(((uintptr_t)t & ~(uintptr_t)(CAP_PAGE - 1)) - (uintptr_t)t->stack_lo);
		struct cap_stack_ctx *sc = &cap__w->stacks;
		if (sc->fixed_pooled < CAP_FIXED_POOL_MAX) {
			cap_sys3(SYS_madvise, t->stack_lo, used, MADV_DONTNEED);
			t->next = sc->fixed_pool;
			sc->fixed_pool = t;
			sc->fixed_pooled++;
		} else {
			cap__stackmem_del(t->stack_lo);
			cap_sys2(SYS_munmap, t->stack_lo - CAP_PAGE, t->stack_size + cap__top() + CAP_PAGE);
		}
		return;
	}
	if (t->chunk_class >= CAP_NCLASS) {
		cap__release_chain(t);
		cap__stackmem_del(t->stack_lo);
		cap_sys2(SYS_munmap, t->stack_lo, t->stack_size + cap__top());
		return;
	}
	struct cap_stack_ctx *sc = &cap__w->stacks;
	struct cap_class *c = &sc->classes[t->chunk_class];
	size_t idle = t->stack_size + cap__top();
	if (t->ss.segments) { /* chunks the pool had no room for stay with it: idle too, as much as is resident */
		size_t r = 0;
		for (struct cap_libgcc_segment *s = t->ss.segments; s; s = s->next)
			r += cap__resident_bytes((uintptr_t)s, s->size + sizeof *s);
		t->ss.segments->extra = (void *)(uintptr_t)r; /* libgcc leaves the field to its users */
		idle += r;
	}
	cap__idle_add(sc, (int64_t)idle);
	t->next = c->free;
	c->free = t;
}

void cap__stack_init(void)
{
	if (cap__default_chunk < CAP_MIN_CHUNK)
		cap__default_chunk = CAP_MIN_CHUNK;
}

const char *cap__stack_mode_name(void) { return cap__stack_mode == CAP_STACK_FIXED ? "fixed" : "split"; }
int cap__stack_default_mode(void) { return cap__stack_mode; }
