/*
 * pipeline — a CPU-bound compression pipeline: a reader thread cuts the
 * input into blocks, a pool of compressor threads compresses them (LZ77
 * with hash chains), and a writer thread puts the compressed blocks back in
 * order, writes them and checksums them.  The stages are joined by bounded
 * queues, each under a mutex and two condition variables.
 *
 *   pipeline [-i INPUT | -n MIB] [-o OUTPUT] [-t THREADS] [-b BLOCK_KIB] [-q DEPTH]
 *
 *   -i INPUT     file to compress (default: generated text, see -n)
 *   -n MIB       MiB of generated text (default 32): words drawn by a fixed
 *                xorshift generator, so every run compresses the same bytes
 *   -o OUTPUT    write the compressed stream there (default: only checksum it)
 *   -t THREADS   compressor threads (default 4)
 *   -b KIB       block size (default 64)
 *   -q DEPTH     blocks each queue holds (default 8)
 *
 * Prints one line:
 *   pipeline: blocks B in N out M crc_in X crc_out Y seconds S
 * where crc_in and crc_out are the CRC-32 (zlib's) of the input and of the
 * compressed stream, and seconds the wall time from the first read to the
 * last write.  The output is identical whatever the thread count.
 *
 * The stream: per block, its raw length and its compressed length (32-bit
 * little-endian each), then the compressed bytes: tokens, where a byte
 * c < 128 is followed by c + 1 literal bytes, and a byte c >= 128 is a match
 * of c - 128 + MIN_MATCH bytes at the 16-bit little-endian distance that
 * follows.  Matches never reach into the previous block, so blocks compress
 * independently.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIN_MATCH 4
#define MAX_MATCH (127 + MIN_MATCH)
#define MAX_LITERALS 128
#define WINDOW 65535
#define HASH_BITS 15
#define CHAIN 32 /* candidates tried per position: the compressor's "level" */

static struct {
	const char *input, *output;
	size_t generate, block;
	int threads;
	unsigned depth;
} cfg = { NULL, NULL, 32u << 20, 64u << 10, 4, 8 };

/* ---- CRC-32 (the polynomial of zlib, gzip and PNG) -------------------------- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[n] = c;
	}
}

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- LZ77 with hash chains --------------------------------------------------- */

/* Worst case: every byte a literal, one token byte per MAX_LITERALS. */
static size_t bound(size_t n)
{
	return n + n / MAX_LITERALS + 1;
}

static uint32_t hash4(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return (v * 2654435761u) >> (32 - HASH_BITS);
}

static void put_u16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static size_t flush_literals(unsigned char *out, const unsigned char *lit, size_t n)
{
	size_t o = 0;
	while (n > 0) {
		size_t k = n < MAX_LITERALS ? n : MAX_LITERALS;
		out[o++] = (unsigned char)(k - 1);
		memcpy(out + o, lit, k);
		o += k;
		lit += k;
		n -= k;
	}
	return o;
}

/* Compresses in[0..n) into out (bound(n) bytes); `head` (1 << HASH_BITS) and
 * `prev` (n entries) are the caller's scratch.  Returns the compressed size. */
static size_t compress_block(const unsigned char *in, size_t n, unsigned char *out, int32_t *head, int32_t *prev)
{
	size_t o = 0, lit = 0, i = 0;
	for (size_t h = 0; h < (1u << HASH_BITS); h++)
		head[h] = -1;
	while (i + MIN_MATCH <= n) {
		uint32_t h = hash4(in + i);
		size_t best = 0, dist = 0, limit = n - i < MAX_MATCH ? n - i : MAX_MATCH;
		int chain = CHAIN;
		for (int32_t c = head[h]; c >= 0 && i - (size_t)c <= WINDOW && chain-- > 0; c = prev[c]) {
			size_t l = 0;
			while (l < limit && in[(size_t)c + l] == in[i + l])
				l++;
			if (l > best) {
				best = l;
				dist = i - (size_t)c;
				if (l == limit)
					break;
			}
		}
		prev[i] = head[h];
		head[h] = (int32_t)i;
		if (best < MIN_MATCH) {
			i++;
			continue;
		}
		o += flush_literals(out + o, in + lit, i - lit);
		out[o++] = (unsigned char)(128 + best - MIN_MATCH);
		put_u16(out + o, (unsigned)dist);
		o += 2;
		/* The matched positions join the chains too, so later matches find them. */
		for (size_t j = i + 1; j < i + best && j + MIN_MATCH <= n; j++) {
			uint32_t hj = hash4(in + j);
			prev[j] = head[hj];
			head[hj] = (int32_t)j;
		}
		i += best;
		lit = i;
	}
	return o + flush_literals(out + o, in + lit, n - lit);
}

/* ---- Bounded queues ------------------------------------------------------------ */

struct block {
	size_t seq, len, zlen;
	unsigned char *data, *z;
	struct block *next; /* in the writer's reorder list */
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	struct block **ring;
	unsigned head, len;
	int producers; /* still putting; a NULL from get means all have finished */
};

static void queue_init(struct queue *q, int producers)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	q->ring = calloc(cfg.depth, sizeof *q->ring);
	q->head = q->len = 0;
	q->producers = producers;
	if (!q->ring) {
		perror("pipeline: queue");
		exit(1);
	}
}

static void queue_put(struct queue *q, struct block *b)
{
	pthread_mutex_lock(&q->mu);
	while (q->len == cfg.depth)
		pthread_cond_wait(&q->not_full, &q->mu);
	q->ring[(q->head + q->len++) % cfg.depth] = b;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

/* One producer is done: when it was the last, every consumer wakes to NULL. */
static void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	if (--q->producers == 0)
		pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

static struct block *queue_get(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->len == 0 && q->producers > 0)
		pthread_cond_wait(&q->not_empty, &q->mu);
	struct block *b = NULL;
	if (q->len > 0) {
		b = q->ring[q->head];
		q->head = (q->head + 1) % cfg.depth;
		q->len--;
		pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->mu);
	return b;
}

static struct queue raw, packed;

/* ---- The stages --------------------------------------------------------------- */

static uint32_t crc_in;
static size_t bytes_in, n_blocks;

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		perror("pipeline: malloc");
		exit(1);
	}
	return p;
}

/* Text from a fixed vocabulary, so it compresses like prose does. */
static size_t generate(unsigned char *p, size_t n, uint64_t *state)
{
	static const char *const words[] = { "the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ",
					     "thread ", "stack ", "capriccio ", "server ", "request ", "block ",
					     "queue ", "worker ", "compress ", "pipeline ", "of ", "and ", "\n" };
	size_t o = 0;
	while (o < n) {
		uint64_t x = *state;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*state = x;
		const char *w = words[x % (sizeof words / sizeof *words)];
		size_t l = strlen(w) < n - o ? strlen(w) : n - o;
		memcpy(p + o, w, l);
		o += l;
	}
	return n;
}

static void *reader(void *arg)
{
	(void)arg;
	int fd = -1;
	if (cfg.input && (fd = open(cfg.input, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "pipeline: %s: %s\n", cfg.input, strerror(errno));
		exit(1);
	}
	uint64_t state = 88172645463325252ull;
	size_t left = cfg.generate;
	for (size_t seq = 0;; seq++) {
		struct block *b = xmalloc(sizeof *b);
		b->data = xmalloc(cfg.block);
		b->seq = seq;
		b->len = 0;
		if (fd < 0) {
			b->len = generate(b->data, left < cfg.block ? left : cfg.block, &state);
			left -= b->len;
		} else {
			while (b->len < cfg.block) {
				ssize_t n = read(fd, b->data + b->len, cfg.block - b->len);
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					fprintf(stderr, "pipeline: %s: %s\n", cfg.input, strerror(errno));
					exit(1);
				}
				if (n == 0)
					break;
				b->len += (size_t)n;
			}
		}
		if (b->len == 0) {
			free(b->data);
			free(b);
			break;
		}
		crc_in = crc32_update(crc_in, b->data, b->len);
		bytes_in += b->len;
		n_blocks++;
		queue_put(&raw, b);
	}
	if (fd >= 0)
		close(fd);
	queue_close(&raw);
	return NULL;
}

static void *compressor(void *arg)
{
	(void)arg;
	int32_t *head = xmalloc(sizeof *head << HASH_BITS), *prev = xmalloc(sizeof *prev * cfg.block);
	for (struct block *b; (b = queue_get(&raw));) {
		b->z = xmalloc(bound(b->len));
		b->zlen = compress_block(b->data, b->len, b->z, head, prev);
		free(b->data);
		b->data = NULL;
		queue_put(&packed, b);
	}
	free(head);
	free(prev);
	queue_close(&packed);
	return NULL;
}

static uint32_t crc_out;
static size_t bytes_out;

static void emit(int fd, const unsigned char *p, size_t n)
{
	crc_out = crc32_update(crc_out, p, n);
	bytes_out += n;
	while (fd >= 0 && n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "pipeline: %s: %s\n", cfg.output, strerror(errno));
			exit(1);
		}
		p += w;
		n -= (size_t)w;
	}
}

static void write_block(int fd, struct block *b)
{
	unsigned char hdr[8];
	for (int i = 0; i < 4; i++) {
		hdr[i] = (unsigned char)(b->len >> (8 * i));
		hdr[4 + i] = (unsigned char)(b->zlen >> (8 * i));
	}
	emit(fd, hdr, sizeof hdr);
	emit(fd, b->z, b->zlen);
	free(b->z);
	free(b);
}

static void *writer(void *arg)
{
	(void)arg;
	int fd = -1;
	if (cfg.output && (fd = open(cfg.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "pipeline: %s: %s\n", cfg.output, strerror(errno));
		exit(1);
	}
	/* Blocks arrive in any order: those ahead of the next one wait in a sorted list. */
	struct block *ahead = NULL;
	size_t next = 0;
	for (struct block *b; (b = queue_get(&packed));) {
		struct block **p = &ahead;
		while (*p && (*p)->seq < b->seq)
			p = &(*p)->next;
		b->next = *p;
		*p = b;
		while (ahead && ahead->seq == next) {
			struct block *w = ahead;
			ahead = w->next;
			write_block(fd, w);
			next++;
		}
	}
	if (fd >= 0 && close(fd) < 0) {
		fprintf(stderr, "pipeline: %s: %s\n", cfg.output, strerror(errno));
		exit(1);
	}
	return NULL;
}

/* ---- Main ------------------------------------------------------------------------ */

static long number(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "pipeline: '%s' is not a number from %ld to %ld\n", s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "i:n:o:t:b:q:")) != -1) {
		switch (opt) {
		case 'i': cfg.input = optarg; break;
		case 'n': cfg.generate = (size_t)number(optarg, 0, 1 << 20) << 20; break;
		case 'o': cfg.output = optarg; break;
		case 't': cfg.threads = (int)number(optarg, 1, 4096); break;
		case 'b': cfg.block = (size_t)number(optarg, 1, 1 << 20) << 10; break; /* lengths fit 32 bits */
		case 'q': cfg.depth = (unsigned)number(optarg, 1, 1 << 20); break;
		default:
			fprintf(stderr, "usage: pipeline [-i INPUT | -n MIB] [-o OUTPUT] [-t THREADS] [-b BLOCK_KIB] [-q DEPTH]\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pipeline: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	crc_init();
	queue_init(&raw, 1);
	queue_init(&packed, cfg.threads);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t r, w, *c = xmalloc(sizeof *c * (size_t)cfg.threads);
	int err = pthread_create(&r, NULL, reader, NULL);
	for (int i = 0; i < cfg.threads && !err; i++)
		err = pthread_create(&c[i], NULL, compressor, NULL);
	if (!err)
		err = pthread_create(&w, NULL, writer, NULL);
	if (err) {
		fprintf(stderr, "pipeline: pthread_create: %s\n", strerror(err));
		return 1;
	}
	pthread_join(r, NULL);
	for (int i = 0; i < cfg.threads; i++)
		pthread_join(c[i], NULL);
	pthread_join(w, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("pipeline: blocks %zu in %zu out %zu crc_in %08x crc_out %08x seconds %.3f\n", n_blocks, bytes_in, bytes_out,
	       crc_in, crc_out, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(c);
	return 0;
}
