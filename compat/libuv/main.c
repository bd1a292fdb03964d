/* uv-pool: libuv's event loop (epoll) and its thread pool.  Work items run on
 * libuv's pool and report back to the loop; file writes and reads go through
 * the pool too (uv_fs_*); a thread of our own wakes the loop with uv_async.
 * Prints what was computed, in an order that does not depend on scheduling.
 *
 *   uv-pool WORK_ITEMS FILE */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define FS_LEN 65536

static uint64_t *results;
static int after_count, async_count;
static uv_async_t async;
static char fs_out[FS_LEN], fs_in[FS_LEN];
static uv_buf_t fs_buf;
static uv_fs_t fs_req;
static uv_file fs_file;
static const char *fs_path;

static uint64_t fnv(uint64_t seed, int rounds)
{
	uint64_t h = 14695981039346656037ull;
	for (int k = 0; k < rounds; k++)
		h = (h ^ (seed + (uint64_t)k)) * 1099511628211ull;
	return h;
}

/* On a pool thread. */
static void work(uv_work_t *w) { results[(intptr_t)w->data] = fnv((uint64_t)(intptr_t)w->data, 200000); }
/* On the loop. */
static void after_work(uv_work_t *w, int status)
{
	after_count += status == 0;
	free(w);
}

static void fs_step(uv_fs_t *req);
static void fs_start(void)
{
	for (int i = 0; i < FS_LEN; i++)
		fs_out[i] = (char)('a' + i % 26);
	fs_req.data = (void *)0;
	uv_fs_open(uv_default_loop(), &fs_req, fs_path, UV_FS_O_CREAT | UV_FS_O_TRUNC | UV_FS_O_RDWR, 0600, fs_step);
}
/* open -> write -> read back -> close, each on the pool, each step from the loop. */
static void fs_step(uv_fs_t *req)
{
	intptr_t step = (intptr_t)req->data;
	ssize_t r = req->result;
	uv_fs_req_cleanup(req);
	if (r < 0) {
		fprintf(stderr, "uv-pool: fs step %d: %s\n", (int)step, uv_strerror((int)r));
		exit(1);
	}
	req->data = (void *)(step + 1);
	uv_loop_t *loop = uv_default_loop();
	switch (step) {
	case 0:
		fs_file = (uv_file)r;
		fs_buf = uv_buf_init(fs_out, FS_LEN);
		uv_fs_write(loop, req, fs_file, &fs_buf, 1, 0, fs_step);
		break;
	case 1:
		fs_buf = uv_buf_init(fs_in, FS_LEN);
		uv_fs_read(loop, req, fs_file, &fs_buf, 1, 0, fs_step);
		break;
	case 2:
		printf("fs: wrote %d, read back %zd, %s\n", FS_LEN, r, memcmp(fs_in, fs_out, FS_LEN) ? "different" : "same");
		uv_fs_close(loop, req, fs_file, fs_step);
		break;
	}
}

static void on_async(uv_async_t *a)
{
	async_count++; /* several sends may be coalesced into one call */
	if (*(volatile int *)a->data)
		uv_close((uv_handle_t *)a, NULL);
}

/* A thread of our own that pokes the loop. */
static void poker(void *done)
{
	for (int i = 0; i < 100; i++)
		uv_async_send(&async);
	*(volatile int *)done = 1;
	uv_async_send(&async);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: uv-pool WORK_ITEMS FILE\n");
		return 2;
	}
	int n = atoi(argv[1]);
	fs_path = argv[2];
	results = calloc((size_t)n, sizeof *results);
	uv_loop_t *loop = uv_default_loop();
	for (intptr_t i = 0; i < n; i++) {
		uv_work_t *w = malloc(sizeof *w);
		w->data = (void *)i;
		uv_queue_work(loop, w, work, after_work);
	}
	fs_start();
	static int done;
	async.data = &done;
	uv_async_init(loop, &async, on_async);
	uv_thread_t th;
	uv_thread_create(&th, poker, &done);
	int rc = uv_run(loop, UV_RUN_DEFAULT);
	uv_thread_join(&th);

	uint64_t x = 0;
	for (int i = 0; i < n; i++)
		x ^= results[i] * (uint64_t)(2 * i + 1);
	printf("work: %d queued, %d done, digest %016" PRIx64 "\n", n, after_count, x);
	printf("async: woken %s\n", async_count >= 1 ? "at least once" : "never");
	printf("loop: uv_run returned %d, %s\n", rc, uv_loop_close(loop) == 0 ? "closed" : "busy");
	return 0;
}
