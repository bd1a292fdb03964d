/* Frame encoders (see frames.h and docs/PROTOCOL.md). */
#include "frames.h"

void cap__frame_hello(struct cap_wire *w, const struct cap_hello *h)
{
	size_t at = cap_wire_begin(w, CAP_FRAME_HELLO);
	cap_wire_u16(w, h->version ? h->version : CAP_PROTOCOL_VERSION);
	cap_wire_u16(w, 0);
	cap_wire_u32(w, h->pid);
	cap_wire_u64(w, h->start_realtime_ns);
	cap_wire_u32(w, h->interval_ms);
	cap_wire_u32(w, h->quantum_us);
	cap_wire_u32(w, h->stall_ms);
	cap_wire_u32(w, h->first_chunk_bytes);
	cap_wire_str(w, h->executable);
	cap_wire_str(w, h->stack_mode);
	cap_wire_str(w, h->disk_backend);
	cap_wire_str(w, h->scheduler);
	cap_wire_u16(w, h->nmodules);
	for (uint16_t i = 0; i < h->nmodules; i++) {
		cap_wire_u64(w, h->modules[i].bias);
		cap_wire_u64(w, h->modules[i].start);
		cap_wire_u64(w, h->modules[i].end);
		cap_wire_str(w, h->modules[i].path);
	}
	cap_wire_u16(w, h->nargs);
	for (uint16_t i = 0; i < h->nargs; i++)
		cap_wire_str(w, h->args[i]);
	cap_wire_end(w, at);
}

void cap__frame_workers(struct cap_wire *w, uint32_t seq, uint32_t n, const struct cap_worker_row *rows)
{
	size_t at = cap_wire_begin(w, CAP_FRAME_WORKERS);
	cap_wire_u32(w, seq);
	cap_wire_u32(w, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct cap_worker_row *r = &rows[i];
		cap_wire_u32(w, r->id);
		cap_wire_u32(w, r->runnable);
		cap_wire_u32(w, r->threads);
		cap_wire_u32(w, 0);
		cap_wire_u64(w, r->busy_ns);
		cap_wire_u64(w, r->parked_ns);
		cap_wire_u64(w, r->switches);
		cap_wire_u64(w, r->steals);
		cap_wire_u64(w, r->migrations);
	}
	cap_wire_end(w, at);
}

void cap__frame_stacks(struct cap_wire *w, uint32_t seq, const struct cap_stack_mem *m)
{
	size_t at = cap_wire_begin(w, CAP_FRAME_STACKS);
	cap_wire_u32(w, seq);
	cap_wire_u32(w, m->mappings);
	cap_wire_u64(w, m->t_ns);
	cap_wire_u64(w, m->reserved_bytes);
	cap_wire_u64(w, m->resident_bytes);
	cap_wire_u64(w, m->waste_bytes);
	cap_wire_end(w, at);
}

void cap__frame_sync(struct cap_wire *w, uint32_t seq, uint32_t nholds, const struct cap_hold_row *holds, uint32_t nwakes,
		     const struct cap_wake_row *wakes)
{
	size_t at = cap_wire_begin(w, CAP_FRAME_SYNC);
	cap_wire_u32(w, seq);
	cap_wire_u32(w, nholds);
	for (uint32_t i = 0; i < nholds; i++) {
		const struct cap_hold_row *h = &holds[i];
		cap_wire_u32(w, h->node);
		cap_wire_u32(w, 0);
		cap_wire_u64(w, h->acquire);
		cap_wire_u64(w, h->release);
		cap_wire_u64(w, h->count);
		cap_wire_u64(w, h->hold_total_ns);
		cap_wire_u64(w, h->hold_max_ns);
		cap_wire_u64(w, h->wait_total_ns);
	}
	cap_wire_u32(w, nwakes);
	for (uint32_t i = 0; i < nwakes; i++) {
		const struct cap_wake_row *k = &wakes[i];
		cap_wire_u32(w, k->node);
		cap_wire_u32(w, k->from ? k->from : UINT32_MAX);
		cap_wire_u64(w, k->waker);
		cap_wire_u64(w, k->count);
	}
	cap_wire_end(w, at);
}

void cap__frame_exit(struct cap_wire *w, int signaled, int32_t status, uint64_t t_ns)
{
	size_t at = cap_wire_begin(w, CAP_FRAME_EXIT);
	cap_wire_u8(w, signaled ? 1 : 0);
	cap_wire_u8(w, 0);
	cap_wire_u16(w, 0);
	cap_wire_put(w, &status, 4);
	cap_wire_u64(w, t_ns);
	cap_wire_end(w, at);
}

void cap__snap_begin(struct cap_wire *w, struct cap_snap *s, uint32_t seq, uint32_t dropped, uint64_t t_ns,
		    const struct cap_resources *r)
{
	s->frame_at = cap_wire_begin(w, CAP_FRAME_SNAPSHOT);
	cap_wire_u32(w, seq);
	cap_wire_u32(w, dropped);
	cap_wire_u64(w, t_ns);
	cap_wire_u32(w, r->threads);
	cap_wire_u32(w, r->runnable);
	cap_wire_u32(w, r->blocked_io);
	cap_wire_u32(w, r->blocked_disk);
	cap_wire_u32(w, r->blocked_sync);
	cap_wire_u32(w, r->sleeping);
	cap_wire_u64(w, r->switches);
	cap_wire_u64(w, r->blocking_ops);
	cap_wire_u64(w, r->rss_bytes);
	cap_wire_u32(w, r->open_fds);
	cap_wire_u32(w, r->fd_limit);
	cap_wire_u64(w, r->stack_allocated_bytes);
	cap_wire_u32(w, r->dropped_total);
	cap_wire_u32(w, r->nodes_dropped);
	s->count_at = 0;
	s->count = 0;
}

static void cap__snap_close_section(struct cap_wire *w, struct cap_snap *s)
{
	if (s->count_at)
		cap_wire_patch_u32(w, s->count_at, s->count);
}

void cap__snap_section(struct cap_wire *w, struct cap_snap *s)
{
	cap__snap_close_section(w, s);
	s->count_at = w->len;
	s->count = 0;
	cap_wire_u32(w, 0);
}

void cap__snap_end(struct cap_wire *w, struct cap_snap *s)
{
	cap__snap_close_section(w, s);
	cap_wire_end(w, s->frame_at);
}

void cap__rec_node_def(struct cap_wire *w, struct cap_snap *s, uint32_t id, uint8_t kind, uint8_t nframes,
		      const uint64_t *frames)
{
	cap_wire_u32(w, id);
	cap_wire_u8(w, kind);
	cap_wire_u8(w, nframes);
	cap_wire_u16(w, 0);
	cap_wire_put(w, frames, (size_t)nframes * 8);
	s->count++;
}

void cap__rec_node_stat(struct cap_wire *w, struct cap_snap *s, uint32_t id, uint64_t count, uint64_t wait_total_ns,
		       uint64_t wait_max_ns, int64_t fd_delta)
{
	cap_wire_u32(w, id);
	cap_wire_u32(w, 0);
	cap_wire_u64(w, count);
	cap_wire_u64(w, wait_total_ns);
	cap_wire_u64(w, wait_max_ns);
	cap_wire_i64(w, fd_delta);
	s->count++;
}

void cap__rec_edge(struct cap_wire *w, struct cap_snap *s, uint32_t from, uint32_t to, uint64_t count,
		  uint64_t total_ns, uint64_t ewma_ns, uint64_t max_ns)
{
	cap_wire_u32(w, from);
	cap_wire_u32(w, to);
	cap_wire_u64(w, count);
	cap_wire_u64(w, total_ns);
	cap_wire_u64(w, ewma_ns);
	cap_wire_u64(w, max_ns);
	s->count++;
}

void cap__rec_site(struct cap_wire *w, struct cap_snap *s, uint64_t site, uint32_t live, uint32_t total,
		  uint32_t first_chunk, uint32_t split_frame_max, uint64_t chunks_linked, uint64_t allocated,
		  uint64_t used_max, uint64_t used_total, uint64_t waste)
{
	cap_wire_u64(w, site);
	cap_wire_u32(w, live);
	cap_wire_u32(w, total);
	cap_wire_u32(w, first_chunk);
	cap_wire_u32(w, split_frame_max);
	cap_wire_u64(w, chunks_linked);
	cap_wire_u64(w, allocated);
	cap_wire_u64(w, used_max);
	cap_wire_u64(w, used_total);
	cap_wire_u64(w, waste);
	s->count++;
}

void cap__rec_split(struct cap_wire *w, struct cap_snap *s, uint64_t callsite, uint64_t count, uint32_t frame_bytes,
		    uint32_t mapped)
{
	cap_wire_u64(w, callsite);
	cap_wire_u64(w, count);
	cap_wire_u32(w, frame_bytes);
	cap_wire_u32(w, mapped);
	s->count++;
}

void cap__rec_sample(struct cap_wire *w, struct cap_snap *s, uint32_t id, uint8_t nframes, const uint64_t *frames,
		    uint64_t count, uint64_t run_max_ns)
{
	cap_wire_u32(w, id);
	cap_wire_u8(w, nframes);
	cap_wire_u8(w, 0);
	cap_wire_u16(w, 0);
	cap_wire_u64(w, count);
	cap_wire_u64(w, run_max_ns);
	cap_wire_put(w, frames, (size_t)nframes * 8);
	s->count++;
}

void cap__rec_stall(struct cap_wire *w, struct cap_snap *s, uint32_t id, uint32_t syscall, uint64_t count,
		   uint64_t total_ns, uint64_t max_ns, uint64_t pc, uint64_t callsite, uint64_t target)
{
	cap_wire_u32(w, id);
	cap_wire_u32(w, syscall);
	cap_wire_u64(w, count);
	cap_wire_u64(w, total_ns);
	cap_wire_u64(w, max_ns);
	cap_wire_u64(w, pc);
	cap_wire_u64(w, callsite);
	cap_wire_u64(w, target);
	s->count++;
}

void cap__rec_thread(struct cap_wire *w, struct cap_snap *s, uint64_t id, uint64_t spawn_site, uint64_t allocated,
		    uint64_t used, uint32_t chunks_linked, uint8_t state, uint8_t kind, const char *name)
{
	cap_wire_u64(w, id);
	cap_wire_u64(w, spawn_site);
	cap_wire_u64(w, allocated);
	cap_wire_u64(w, used);
	cap_wire_u32(w, chunks_linked);
	cap_wire_u8(w, state);
	cap_wire_u8(w, kind);
	cap_wire_u16(w, 0);
	cap_wire_str(w, name);
	s->count++;
}
