/* Writes (or checks) protocol/fixtures: frames made by the runtime's own
 * encoder (src/frames_sys.c), each *.bin beside a *.json holding what a
 * decoder must read from it.  The TypeScript decoder is tested against the
 * same files (extension/test).
 *   gen_fixtures --write DIR    regenerate
 *   gen_fixtures --check DIR    fail if the encoder no longer writes them */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "frames.h"

static int checking, failures;

static void emit(const char *dir, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (checking) {
		FILE *f = fopen(path, "rb");
		char *old = malloc(len + 1);
		size_t n = f ? fread(old, 1, len + 1, f) : 0;
		if (f)
			fclose(f);
		if (n != len || memcmp(old, data, len) != 0) {
			fprintf(stderr, "fixture %s differs from what the encoder writes now (regenerate: make -C runtime fixtures)\n", path);
			failures++;
		}
		free(old);
		return;
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void emit_str(const char *dir, const char *name, const char *s) { emit(dir, name, s, strlen(s)); }

static const struct cap_module modules[] = {
	{ 0x55d0c0a00000ull, 0x55d0c0a00000ull, 0x55d0c0a2f000ull, "/work/app/server" },
	{ 0x7f3a12000000ull, 0x7f3a12028000ull, 0x7f3a121bd000ull, "/lib/x86_64-linux-gnu/libc.so.6" },
};
static const char *const args[] = { "/work/app/server", "--port", "8080" };

/* Version 1 (before WORKERS): the recordings made then must stay readable. */
static const struct cap_hello hello = {
	.version = 1, .pid = 4242, .start_realtime_ns = 1795000000123456789ull, .interval_ms = 100, .quantum_us = 10000,
	.stall_ms = 20, .first_chunk_bytes = 3840, .executable = "/work/app/server", .stack_mode = "split",
	.disk_backend = "io_uring", .scheduler = "fifo", .nmodules = 2, .modules = modules, .nargs = 3, .args = args,
};

static const char hello_json[] =
	"{\"type\":\"hello\",\"version\":1,\"pid\":4242,\"startRealtimeNs\":1795000000123456789,"
	"\"intervalMs\":100,\"quantumUs\":10000,\"stallMs\":20,\"firstChunkBytes\":3840,"
	"\"executable\":\"/work/app/server\",\"stackMode\":\"split\",\"diskBackend\":\"io_uring\",\"scheduler\":\"fifo\","
	"\"modules\":[{\"bias\":\"0x55d0c0a00000\",\"start\":\"0x55d0c0a00000\",\"end\":\"0x55d0c0a2f000\",\"path\":\"/work/app/server\"},"
	"{\"bias\":\"0x7f3a12000000\",\"start\":\"0x7f3a12028000\",\"end\":\"0x7f3a121bd000\",\"path\":\"/lib/x86_64-linux-gnu/libc.so.6\"}],"
	"\"args\":[\"/work/app/server\",\"--port\",\"8080\"]}";

static const struct cap_resources res1 = {
	.threads = 12, .runnable = 2, .blocked_io = 7, .blocked_disk = 1, .blocked_sync = 1, .sleeping = 1,
	.switches = 123456, .blocking_ops = 65432, .rss_bytes = 10485760, .open_fds = 15, .fd_limit = 20000,
	.stack_allocated_bytes = 49152, .dropped_total = 3, .nodes_dropped = 0,
};
#define RES1_JSON                                                                                                  \
	"\"resources\":{\"threads\":12,\"runnable\":2,\"blockedIo\":7,\"blockedDisk\":1,\"blockedSync\":1,\"sleeping\":1," \
	"\"switches\":123456,\"blockingOps\":65432,\"rssBytes\":10485760,\"openFds\":15,\"fdLimit\":20000,"               \
	"\"stackAllocatedBytes\":49152,\"droppedTotal\":3,\"nodesDropped\":0}"

static const uint64_t chain1[] = { 0x55d0c0a01234ull, 0x55d0c0a02345ull, 0x7f3a12029abcull };
static const uint64_t chain2[] = { 0x55d0c0a01300ull };
static const uint64_t sample1[] = { 0x55d0c0a01500ull, 0x55d0c0a02345ull };

static void snapshot1(struct cap_wire *w)
{
	struct cap_snap s;
	cap__snap_begin(w, &s, 1, 2, 250000000ull, &res1);
	cap__snap_section(w, &s); /* node_defs */
	cap__rec_node_def(w, &s, 1, 9, 3, chain1);
	cap__rec_node_def(w, &s, 2, 1, 1, chain2);
	cap__snap_section(w, &s); /* node_stats */
	cap__rec_node_stat(w, &s, 1, 1000, 15000000000ull, 25000000ull, 2);
	cap__rec_node_stat(w, &s, 2, 10, 150000000ull, 15100000ull, -1);
	cap__snap_section(w, &s); /* edge_stats */
	cap__rec_edge(w, &s, 1, 2, 999, 2997000000ull, 3001000ull, 4500000ull);
	cap__snap_section(w, &s); /* spawn_sites */
	cap__rec_site(w, &s, 0x55d0c0a01100ull, 10, 25, 3840, 7680, 4, 38400, 3200, 40000, 56000);
	cap__snap_section(w, &s); /* hot_splits */
	cap__rec_split(w, &s, 0x55d0c0a01288ull, 42, 8192, 0);
	cap__snap_section(w, &s); /* samples */
	cap__rec_sample(w, &s, 1, 2, sample1, 17, 52000000ull);
	cap__snap_section(w, &s); /* stalls */
	cap__rec_stall(w, &s, 1, 35, 2, 61000000ull, 40000000ull, 0x7f3a1202f000ull, 0x55d0c0a01777ull, 0x7f3a1202e000ull);
	cap__snap_section(w, &s); /* threads */
	cap__rec_thread(w, &s, 1, 0x55d0c0a00f00ull, 65536, 2400, 0, 3, 2, "main");
	cap__rec_thread(w, &s, 7, 0x55d0c0a01100ull, 3840, 3900, 1, 1, 0, "");
	cap__snap_end(w, &s);
}

static const char snapshot1_json[] =
	"{\"type\":\"snapshot\",\"seq\":1,\"dropped\":2,\"tNs\":250000000," RES1_JSON ","
	"\"nodeDefs\":[{\"id\":1,\"kind\":9,\"frames\":[\"0x55d0c0a01234\",\"0x55d0c0a02345\",\"0x7f3a12029abc\"]},"
	"{\"id\":2,\"kind\":1,\"frames\":[\"0x55d0c0a01300\"]}],"
	"\"nodeStats\":[{\"id\":1,\"count\":1000,\"waitTotalNs\":15000000000,\"waitMaxNs\":25000000,\"fdDelta\":2},"
	"{\"id\":2,\"count\":10,\"waitTotalNs\":150000000,\"waitMaxNs\":15100000,\"fdDelta\":-1}],"
	"\"edgeStats\":[{\"from\":1,\"to\":2,\"count\":999,\"totalNs\":2997000000,\"ewmaNs\":3001000,\"maxNs\":4500000}],"
	"\"spawnSites\":[{\"site\":\"0x55d0c0a01100\",\"threadsLive\":10,\"threadsTotal\":25,\"firstChunkBytes\":3840,"
	"\"splitFrameMax\":7680,\"chunksLinked\":4,\"allocatedBytes\":38400,\"usedBytesMax\":3200,\"usedBytesTotal\":40000,\"untouchedBytes\":56000}],"
	"\"hotSplits\":[{\"callsite\":\"0x55d0c0a01288\",\"count\":42,\"frameBytes\":8192,\"mapped\":0}],"
	"\"samples\":[{\"id\":1,\"count\":17,\"runMaxNs\":52000000,\"frames\":[\"0x55d0c0a01500\",\"0x55d0c0a02345\"]}],"
	"\"stalls\":[{\"id\":1,\"syscall\":35,\"count\":2,\"totalNs\":61000000,\"maxNs\":40000000,\"pc\":\"0x7f3a1202f000\","
	"\"callsite\":\"0x55d0c0a01777\",\"target\":\"0x7f3a1202e000\"}],"
	"\"threads\":[{\"id\":1,\"spawnSite\":\"0x55d0c0a00f00\",\"allocatedBytes\":65536,\"usedBytes\":2400,\"chunksLinked\":0,\"state\":3,\"kind\":2,\"name\":\"main\"},"
	"{\"id\":7,\"spawnSite\":\"0x55d0c0a01100\",\"allocatedBytes\":3840,\"usedBytes\":3900,\"chunksLinked\":1,\"state\":1,\"kind\":0,\"name\":\"\"}]}";

/* A later snapshot with only what changed. */
static void snapshot2(struct cap_wire *w)
{
	struct cap_resources r = res1;
	r.threads = 11;
	r.switches = 130000;
	r.dropped_total = 3;
	struct cap_snap s;
	cap__snap_begin(w, &s, 2, 0, 350000000ull, &r);
	cap__snap_section(w, &s);
	cap__snap_section(w, &s);
	cap__rec_node_stat(w, &s, 1, 1100, 16500000000ull, 25000000ull, 2);
	cap__snap_section(w, &s);
	cap__rec_edge(w, &s, 1, 2, 1099, 3297000000ull, 3000000ull, 4500000ull);
	for (int i = 0; i < 5; i++)
		cap__snap_section(w, &s);
	cap__snap_end(w, &s);
}

static const char snapshot2_json[] =
	"{\"type\":\"snapshot\",\"seq\":2,\"dropped\":0,\"tNs\":350000000,"
	"\"resources\":{\"threads\":11,\"runnable\":2,\"blockedIo\":7,\"blockedDisk\":1,\"blockedSync\":1,\"sleeping\":1,"
	"\"switches\":130000,\"blockingOps\":65432,\"rssBytes\":10485760,\"openFds\":15,\"fdLimit\":20000,"
	"\"stackAllocatedBytes\":49152,\"droppedTotal\":3,\"nodesDropped\":0},"
	"\"nodeDefs\":[],\"nodeStats\":[{\"id\":1,\"count\":1100,\"waitTotalNs\":16500000000,\"waitMaxNs\":25000000,\"fdDelta\":2}],"
	"\"edgeStats\":[{\"from\":1,\"to\":2,\"count\":1099,\"totalNs\":3297000000,\"ewmaNs\":3000000,\"maxNs\":4500000}],"
	"\"spawnSites\":[],\"hotSplits\":[],\"samples\":[],\"stalls\":[],\"threads\":[]}";

/* Two workers, as the runtime sends after each snapshot since version 2. */
static const struct cap_worker_row workers1[] = {
	{ .id = 0, .runnable = 3, .threads = 7, .busy_ns = 180000000, .parked_ns = 70000000, .switches = 5000, .steals = 0, .migrations = 2 },
	{ .id = 1, .runnable = 0, .threads = 5, .busy_ns = 60000000, .parked_ns = 185000000, .switches = 1200, .steals = 4, .migrations = 9 },
};
static const struct cap_worker_row workers2[] = {
	{ .id = 0, .runnable = 1, .threads = 6, .busy_ns = 330000000, .parked_ns = 70000000, .switches = 9000, .steals = 1, .migrations = 3 },
	{ .id = 1, .runnable = 2, .threads = 6, .busy_ns = 150000000, .parked_ns = 245000000, .switches = 4100, .steals = 7, .migrations = 12 },
};
static const char workers1_json[] =
	"{\"type\":\"workers\",\"seq\":1,\"workers\":["
	"{\"id\":0,\"runnable\":3,\"threads\":7,\"busyNs\":180000000,\"parkedNs\":70000000,\"switches\":5000,\"steals\":0,\"migrations\":2},"
	"{\"id\":1,\"runnable\":0,\"threads\":5,\"busyNs\":60000000,\"parkedNs\":185000000,\"switches\":1200,\"steals\":4,\"migrations\":9}]}";
static const char workers2_json[] =
	"{\"type\":\"workers\",\"seq\":2,\"workers\":["
	"{\"id\":0,\"runnable\":1,\"threads\":6,\"busyNs\":330000000,\"parkedNs\":70000000,\"switches\":9000,\"steals\":1,\"migrations\":3},"
	"{\"id\":1,\"runnable\":2,\"threads\":6,\"busyNs\":150000000,\"parkedNs\":245000000,\"switches\":4100,\"steals\":7,\"migrations\":12}]}";

/* Stack memory as measured, after each snapshot since version 3. */
static const struct cap_stack_mem stacks1 = { .t_ns = 200000000, .reserved_bytes = 2101248, .resident_bytes = 126976, .waste_bytes = 16384, .mappings = 3 };
static const struct cap_stack_mem stacks2 = { .t_ns = 300000000, .reserved_bytes = 1052672, .resident_bytes = 94208, .waste_bytes = 20480, .mappings = 2 };
static const char stacks1_json[] =
	"{\"type\":\"stacks\",\"seq\":1,\"tNs\":200000000,\"mappings\":3,\"reservedBytes\":2101248,\"residentBytes\":126976,\"wasteBytes\":16384}";
static const char stacks2_json[] =
	"{\"type\":\"stacks\",\"seq\":2,\"tNs\":300000000,\"mappings\":2,\"reservedBytes\":1052672,\"residentBytes\":94208,\"wasteBytes\":20480}";

/* Lock holders and wakes, after each STACKS since version 4: node 2 (a
 * sleep in these snapshots, any node will do) waited for a lock held from
 * one call site to another, and was woken from two sites, one of them by a
 * thread that had not blocked yet. */
static const struct cap_hold_row holds1[] = { { 2, 0x55d0c0a01400ull, 0x55d0c0a01460ull, 8, 40000000ull, 5200000ull, 38000000ull } };
static const struct cap_wake_row wakes1[] = { { 2, 1, 0x55d0c0a01460ull, 8 }, { 1, 0, 0x55d0c0a01500ull, 3 } };
static const struct cap_hold_row holds2[] = { { 2, 0x55d0c0a01400ull, 0x55d0c0a01460ull, 9, 45000000ull, 5200000ull, 42000000ull } };
static const struct cap_wake_row wakes2[] = { { 2, 1, 0x55d0c0a01460ull, 9 }, { 1, 0, 0x55d0c0a01500ull, 3 } };
static const char sync1_json[] =
	"{\"type\":\"sync\",\"seq\":1,\"holds\":[{\"node\":2,\"acquire\":\"0x55d0c0a01400\",\"release\":\"0x55d0c0a01460\",\"count\":8,"
	"\"holdTotalNs\":40000000,\"holdMaxNs\":5200000,\"waitTotalNs\":38000000}],"
	"\"wakes\":[{\"node\":2,\"fromNode\":1,\"waker\":\"0x55d0c0a01460\",\"count\":8},{\"node\":1,\"fromNode\":null,\"waker\":\"0x55d0c0a01500\",\"count\":3}]}";
static const char sync2_json[] =
	"{\"type\":\"sync\",\"seq\":2,\"holds\":[{\"node\":2,\"acquire\":\"0x55d0c0a01400\",\"release\":\"0x55d0c0a01460\",\"count\":9,"
	"\"holdTotalNs\":45000000,\"holdMaxNs\":5200000,\"waitTotalNs\":42000000}],"
	"\"wakes\":[{\"node\":2,\"fromNode\":1,\"waker\":\"0x55d0c0a01460\",\"count\":9},{\"node\":1,\"fromNode\":null,\"waker\":\"0x55d0c0a01500\",\"count\":3}]}";

/* hello_json as version v writes it. */
static void versioned(char *out, int v)
{
	const char *at = strstr(hello_json, "\"version\":1,");
	sprintf(out, "%.*s\"version\":%d,%s", (int)(at - hello_json), hello_json, v, at + strlen("\"version\":1,"));
}

static const char exit_json[] = "{\"type\":\"exit\",\"how\":\"exited\",\"status\":3,\"tNs\":400000000}";

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "--write") && strcmp(argv[1], "--check"))) {
		fprintf(stderr, "usage: gen_fixtures --write|--check DIR\n");
		return 2;
	}
	checking = !strcmp(argv[1], "--check");
	const char *dir = argv[2];
	struct cap_wire w = { 0 };

	cap__frame_hello(&w, &hello);
	emit(dir, "hello.bin", w.buf, w.len);
	char json[8192];
	snprintf(json, sizeof json, "[%s]\n", hello_json);
	emit_str(dir, "hello.json", json);

	w.len = 0;
	snapshot1(&w);
	emit(dir, "snapshot.bin", w.buf, w.len);
	snprintf(json, sizeof json, "[%s]\n", snapshot1_json);
	emit_str(dir, "snapshot.json", json);

	w.len = 0;
	cap__frame_exit(&w, 0, 3, 400000000ull);
	emit(dir, "exit.bin", w.buf, w.len);
	snprintf(json, sizeof json, "[%s]\n", exit_json);
	emit_str(dir, "exit.json", json);

	/* A whole recording: magic, hello, two snapshots, exit. */
	w.len = 0;
	cap_wire_put(&w, CAP_RECORDING_MAGIC, 8);
	cap__frame_hello(&w, &hello);
	snapshot1(&w);
	snapshot2(&w);
	cap__frame_exit(&w, 0, 3, 400000000ull);
	emit(dir, "recording.cap", w.buf, w.len);
	static char big[32768];
	snprintf(big, sizeof big, "[%s,\n%s,\n%s,\n%s]\n", hello_json, snapshot1_json, snapshot2_json, exit_json);
	emit_str(dir, "recording.json", big);

	/* Version 2: the same recording with WORKERS after each snapshot; version
	 * 3 adds STACKS after those. */
	struct cap_hello hello2 = hello;
	char hello2_json[sizeof hello_json], hello3_json[sizeof hello_json], hello4_json[sizeof hello_json];
	versioned(hello2_json, 2);
	versioned(hello3_json, 3);
	versioned(hello4_json, 4);
	w.len = 0;
	cap__frame_workers(&w, 1, 2, workers1);
	emit(dir, "workers.bin", w.buf, w.len);
	snprintf(json, sizeof json, "[%s]\n", workers1_json);
	emit_str(dir, "workers.json", json);

	w.len = 0;
	cap__frame_stacks(&w, 1, &stacks1);
	emit(dir, "stacks.bin", w.buf, w.len);
	snprintf(json, sizeof json, "[%s]\n", stacks1_json);
	emit_str(dir, "stacks.json", json);

	w.len = 0;
	cap__frame_sync(&w, 1, 1, holds1, 2, wakes1);
	emit(dir, "sync.bin", w.buf, w.len);
	snprintf(json, sizeof json, "[%s]\n", sync1_json);
	emit_str(dir, "sync.json", json);

	for (int v = 2; v <= 4; v++) {
		hello2.version = (uint16_t)v;
		w.len = 0;
		cap_wire_put(&w, CAP_RECORDING_MAGIC, 8);
		cap__frame_hello(&w, &hello2);
		snapshot1(&w);
		cap__frame_workers(&w, 1, 2, workers1);
		if (v >= 3)
			cap__frame_stacks(&w, 1, &stacks1);
		if (v >= 4)
			cap__frame_sync(&w, 1, 1, holds1, 2, wakes1);
		snapshot2(&w);
		cap__frame_workers(&w, 2, 2, workers2);
		if (v >= 3)
			cap__frame_stacks(&w, 2, &stacks2);
		if (v >= 4)
			cap__frame_sync(&w, 2, 1, holds2, 2, wakes2);
		cap__frame_exit(&w, 0, 3, 400000000ull);
		char name[32];
		snprintf(name, sizeof name, "recording-v%d.cap", v);
		emit(dir, name, w.buf, w.len);
		if (v == 2)
			snprintf(big, sizeof big, "[%s,\n%s,\n%s,\n%s,\n%s,\n%s]\n", hello2_json, snapshot1_json, workers1_json,
				 snapshot2_json, workers2_json, exit_json);
		else if (v == 3)
			snprintf(big, sizeof big, "[%s,\n%s,\n%s,\n%s,\n%s,\n%s,\n%s,\n%s]\n", hello3_json, snapshot1_json,
				 workers1_json, stacks1_json, snapshot2_json, workers2_json, stacks2_json, exit_json);
		else
			snprintf(big, sizeof big, "[%s,\n%s,\n%s,\n%s,\n%s,\n%s,\n%s,\n%s,\n%s,\n%s]\n", hello4_json,
				 snapshot1_json, workers1_json, stacks1_json, sync1_json, snapshot2_json, workers2_json, stacks2_json,
				 sync2_json, exit_json);
		snprintf(name, sizeof name, "recording-v%d.json", v);
		emit_str(dir, name, big);
	}

	if (checking) {
		printf("%s - fixtures in %s match the encoder\n", failures ? "not ok" : "ok", dir);
		printf("%d passed, %d failed\n", failures ? 0 : 1, failures ? 1 : 0);
	}
	free(w.buf);
	return failures ? 1 : 0;
}
