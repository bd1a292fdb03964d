/* The frames of docs/PROTOCOL.md, one writer per record.  Used by the
 * telemetry thread and by the fixture generator (tests/gen_fixtures.c), so
 * the bytes the fixtures pin down are the bytes the runtime sends. */
#ifndef CAP_FRAMES_H
#define CAP_FRAMES_H

#include "wire.h"

struct cap_hello {
	uint16_t version; /* 0: CAP_PROTOCOL_VERSION (the fixtures write older ones too) */
	uint32_t pid;
	uint64_t start_realtime_ns;
	uint32_t interval_ms, quantum_us, stall_ms, first_chunk_bytes;
	const char *executable, *stack_mode, *disk_backend, *scheduler;
	uint16_t nmodules;
	const struct cap_module *modules;
	uint16_t nargs;
	const char *const *args;
};

struct cap_module {
	uint64_t bias, start, end;
	const char *path;
};

struct cap_resources {
	uint32_t threads, runnable, blocked_io, blocked_disk, blocked_sync, sleeping;
	uint64_t switches, blocking_ops, rss_bytes;
	uint32_t open_fds, fd_limit;
	uint64_t stack_allocated_bytes;
	uint32_t dropped_total, nodes_dropped;
};

void cap__frame_hello(struct cap_wire *w, const struct cap_hello *h);
/* WORKERS: one row per worker, after the snapshot `seq`. */
struct cap_worker_row {
	uint32_t id, runnable, threads;
	uint64_t busy_ns, parked_ns, switches, steals, migrations;
};
void cap__frame_workers(struct cap_wire *w, uint32_t seq, uint32_t n, const struct cap_worker_row *rows);
/* STACKS: the stack memory as the kernel holds it, measured by the
 * telemetry thread (stackmem_sys.c), after the snapshot `seq`. */
struct cap_stack_mem {
	uint64_t t_ns; /* when it was measured */
	uint64_t reserved_bytes, resident_bytes, waste_bytes;
	uint32_t mappings;
};
void cap__frame_stacks(struct cap_wire *w, uint32_t seq, const struct cap_stack_mem *m);
/* SYNC: the holders of the locks threads waited for, and who woke threads,
 * after the snapshot `seq` (since version 4).  Node ids as in node_defs;
 * a wake's `from` 0: none (UINT32_MAX on the wire). */
struct cap_hold_row {
	uint32_t node;
	uint64_t acquire, release, count, hold_total_ns, hold_max_ns, wait_total_ns;
};
struct cap_wake_row {
	uint32_t node, from;
	uint64_t waker, count;
};
void cap__frame_sync(struct cap_wire *w, uint32_t seq, uint32_t nholds, const struct cap_hold_row *holds, uint32_t nwakes,
		     const struct cap_wake_row *wakes);
void cap__frame_exit(struct cap_wire *w, int signaled, int32_t status, uint64_t t_ns);

/* A snapshot: begin, then each section in order — begin it, write its
 * records, end it — then end the snapshot. */
struct cap_snap {
	size_t frame_at, count_at;
	uint32_t count;
};
void cap__snap_begin(struct cap_wire *w, struct cap_snap *s, uint32_t seq, uint32_t dropped, uint64_t t_ns,
		    const struct cap_resources *r);
void cap__snap_section(struct cap_wire *w, struct cap_snap *s); /* starts the next section */
void cap__snap_end(struct cap_wire *w, struct cap_snap *s);

void cap__rec_node_def(struct cap_wire *w, struct cap_snap *s, uint32_t id, uint8_t kind, uint8_t nframes,
		      const uint64_t *frames);
void cap__rec_node_stat(struct cap_wire *w, struct cap_snap *s, uint32_t id, uint64_t count, uint64_t wait_total_ns,
		       uint64_t wait_max_ns, int64_t fd_delta);
void cap__rec_edge(struct cap_wire *w, struct cap_snap *s, uint32_t from, uint32_t to, uint64_t count,
		  uint64_t total_ns, uint64_t ewma_ns, uint64_t max_ns);
void cap__rec_site(struct cap_wire *w, struct cap_snap *s, uint64_t site, uint32_t live, uint32_t total,
		  uint32_t first_chunk, uint32_t split_frame_max, uint64_t chunks_linked, uint64_t allocated,
		  uint64_t used_max, uint64_t used_total, uint64_t waste);
void cap__rec_split(struct cap_wire *w, struct cap_snap *s, uint64_t callsite, uint64_t count, uint32_t frame_bytes,
		    uint32_t mapped);
void cap__rec_sample(struct cap_wire *w, struct cap_snap *s, uint32_t id, uint8_t nframes, const uint64_t *frames,
		    uint64_t count, uint64_t run_max_ns);
void cap__rec_stall(struct cap_wire *w, struct cap_snap *s, uint32_t id, uint32_t syscall, uint64_t count,
		   uint64_t total_ns, uint64_t max_ns, uint64_t pc, uint64_t callsite, uint64_t target);
void cap__rec_thread(struct cap_wire *w, struct cap_snap *s, uint64_t id, uint64_t spawn_site, uint64_t allocated,
		    uint64_t used, uint32_t chunks_linked, uint8_t state, uint8_t kind, const char *name);

#define CAP_SNAP_SECTIONS 8 /* node_defs node_stats edge_stats spawn_sites hot_splits samples stalls threads */

#endif
