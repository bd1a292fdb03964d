/* The worker's pool of linked chunks (issue 15).
 *
 * libgcc links a chunk when a call needs more room than the thread has
 * left, and keeps it linked after the call returns, for the next call that
 * needs it: a thread keeps every chunk it ever linked, and a thread that
 * once called into libc (gold asks 1 MiB for such a call) holds that
 * megabyte of address space while it waits.  Here a thread gives back the
 * chunks beyond the one it runs on each time it stops running (sched.c's
 * switch: it blocks, yields or ends), into its worker's pool, and a split
 * on that worker links one from the pool before libgcc looks for room
 * (__wrap___generic_morestack, graph.c): no system call, and a thread that
 * waits holds only the chunks its frames are on.  When none fits, the
 * chunk is mapped here too, so that libgcc maps none and every chunk is in
 * the stack memory map (stackmem.h).
 *
 * Both run where nothing may split: pointer moves only.  The pool is the
 * worker's alone; a pool that is full leaves the rest linked to the thread,
 * as libgcc would (at most CAP_CHUNKS_MAX chunks kept per worker). */
#ifndef CAP_CHUNKS_H
#define CAP_CHUNKS_H

#include "internal.h"
#include "stackmem.h"

#define CAP_CHUNKS_MAX 64u
#define CAP_CHUNK_ANY (64u << 10) /* a chunk this small fits any call that needs less */

/* libgcc's record of a block that split-stack code got for alloca: kept on
 * the chunk that was current then, never freed while the chunk is linked. */
struct cap_libgcc_dynamic {
	struct cap_libgcc_dynamic *next;
	size_t size;
	void *block;
};

static inline size_t cap__chunk_bytes(const struct cap_libgcc_segment *s) { return s->size + sizeof *s; }

/* A chunk going into the pool: its alloca blocks belong to calls that have
 * returned, so they join its free list, which libgcc reuses. */
static inline void cap__chunk_pooled(struct cap_stack_ctx *sc, struct cap_libgcc_segment *s)
{
	struct cap_libgcc_dynamic *d = s->dynamic_allocation;
	if (CAP_UNLIKELY(d != NULL)) {
		while (d->next)
			d = d->next;
		d->next = s->free_dynamic_allocation;
		s->free_dynamic_allocation = s->dynamic_allocation;
		s->dynamic_allocation = NULL;
	}
	s->prev = NULL;
	s->next = sc->chunks;
	sc->chunks = s;
	sc->nchunks++;
}

/* The running context's chunks from *pp on (none of them under its
 * frames) into the pool, as many as fit; returns their bytes. */
static inline size_t cap__chunks_give(struct cap_stack_ctx *sc, struct cap_libgcc_segment *cur, struct cap_libgcc_segment **pp)
{
	struct cap_libgcc_segment *s = *pp;
	size_t bytes = 0;
	while (s && sc->nchunks < CAP_CHUNKS_MAX) {
		struct cap_libgcc_segment *next = s->next;
		bytes += cap__chunk_bytes(s);
		cap__chunk_pooled(sc, s);
		s = next;
	}
	*pp = s;
	if (s)
		s->prev = cur;
	return bytes;
}

/* The thread about to stop running gives back the chunks beyond its
 * current one; returns their bytes (0, nearly always, in one load and a
 * test). */
static inline size_t cap__chunks_release(struct cap_stack_ctx *sc)
{
	struct cap_libgcc_segment *cur = __morestack_current_segment;
	struct cap_libgcc_segment **pp = cur ? &cur->next : &__morestack_segments;
	if (CAP_LIKELY(*pp == NULL))
		return 0;
	return cap__chunks_give(sc, cur, pp);
}

/* Before libgcc's split for a frame of `frame` bytes and `param` bytes of
 * arguments: if the thread has no linked chunk beyond its current one that
 * is large enough, one is linked there for libgcc to find: from the pool
 * (a smaller one the thread had goes there first), or mapped here.  libgcc
 * then maps and unmaps none itself, so every chunk is in the stack memory
 * map (stackmem.h).  A smaller chunk the pool had no room for stays linked
 * after the new one.  True when a chunk was mapped: a system call. */
static inline bool cap__chunk_take(struct cap_stack_ctx *sc, size_t frame, size_t param)
{
	struct cap_libgcc_segment *cur = __morestack_current_segment;
	struct cap_libgcc_segment **pp = cur ? &cur->next : &__morestack_segments;
	if (*pp) {
		if ((*pp)->size >= frame)
			return false; /* libgcc reuses it */
		cap__chunks_give(sc, cur, pp);
	}
	/* The smallest that fits, and not one far larger than libgcc would map
	 * (at least a page): a 1 MiB chunk is kept for a call into libc. */
	size_t need = frame + param, most = 4 * need > CAP_CHUNK_ANY ? 4 * need : CAP_CHUNK_ANY;
	struct cap_libgcc_segment **best = NULL, *s;
	for (struct cap_libgcc_segment **q = &sc->chunks; (s = *q) != NULL; q = &s->next)
		if (s->size >= need && s->size <= most && (!best || s->size < (*best)->size))
			best = q;
	if (best) {
		s = *best;
		*best = s->next;
		sc->nchunks--;
	} else {
		/* As libgcc sizes it: the frame, its arguments and the header,
		 * in whole pages, at least one page's room. */
		size_t bytes = ((need < 2048 ? 2048 : need) + sizeof *s + 4095) & ~(size_t)4095;
		s = cap__stackmem_map(bytes, 0);
		if (!s)
			return true; /* libgcc tries, and fails alike */
		s->size = bytes - sizeof *s; /* the rest of the header is zero */
	}
	s->prev = cur;
	s->next = *pp;
	if (*pp)
		(*pp)->prev = s;
	*pp = s;
	return !best;
}

#endif
