/*
 * knot — the Capriccio paper's test web server, rebuilt: HTTP/1.1 static
 * files, one thread per connection, keep-alive, a page cache.
 *
 *   knot [-p PORT] [-a ADDR] [-d DOCROOT] [-c CACHE_BYTES] [-m read|sendfile]
 *        [-b BACKLOG] [-t MAX_THREADS] [-k KEEPALIVE_SECONDS] [-s STACK_BYTES]
 *
 *   -p PORT      port to listen on (default 8080; 0 picks a free one)
 *   -a ADDR      IPv4 address to listen on (default 127.0.0.1; 0.0.0.0 for all)
 *   -d DOCROOT   directory served (default ./www)
 *   -c BYTES     page cache size (default 64 MiB; K/M/G suffixes; 0 = none)
 *   -m MODE      read: serve from the page cache with write(); files larger
 *                than a quarter of the cache go out with sendfile()
 *                sendfile: no page cache, every file goes out with sendfile()
 *                (default read)
 *   -b BACKLOG   listen backlog (default 4096; the kernel caps it at somaxconn)
 *   -t N         at most N connection threads at once (default 0: no limit).
 *                At the limit the accept loop waits for a thread to finish;
 *                new connections queue in the kernel's backlog meanwhile.
 *   -k SECONDS   idle keep-alive (and stalled-client) timeout (default 30)
 *   -s BYTES     pthread stack size for connection threads (default: the
 *                library's; under Capriccio up to 64 KiB is the first chunk)
 *
 * Prints "listening on PORT" once it accepts connections.  On SIGINT or
 * SIGTERM it prints "knot: N requests on M connections" and exits 0.
 *
 * Plain POSIX C (no capriccio.h): built with `capriccio cc` the connection
 * threads are Capriccio's user-level threads, built with gcc -pthread they
 * are kernel threads ("knot on pthreads", the baseline).  Sockets are never
 * written through stdio.
 *
 * HTTP: GET and HEAD; request line and headers up to 8 KiB (414 when the
 * request line alone does not fit, else 431); pipelined requests and
 * requests split across reads; keep-alive by default for HTTP/1.1, opt-in
 * ("Connection: keep-alive") for HTTP/1.0; a request body announced by
 * Content-Length (on, say, a POST answered 405) is read and dropped.
 * Responses carry Date, Content-Length, Content-Type (by extension) and
 * Last-Modified; an If-Modified-Since equal to it gets 304.  Paths are
 * percent-decoded; a ".." segment is refused with 400; a directory maps to
 * its index.html.
 *
 * Page cache: file contents with their response headers, keyed by the
 * decoded path, in a hash table with an LRU list, bounded by -c and shared
 * by all threads under one pthread mutex (a user-level mutex on Capriccio).
 * A hit costs no system call but the writev() of header and body; an entry
 * is re-checked with stat() at most once a second, and reloaded if the file
 * changed.  Entries are reference-counted, so eviction never frees a body
 * that a thread is still writing.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP 8192        /* request line + headers */
#define OUT_CAP 1024       /* one response header */
#define PATH_CAP 4096      /* decoded path */
#define MAX_DISCARD (1 << 20) /* request body we are willing to read and drop */

/* ---- Configuration and counters ------------------------------------------ */

static struct {
	int port;
	const char *addr;
	const char *docroot;
	size_t cache_bytes;
	bool use_sendfile;
	int backlog;
	long max_threads;
	int keepalive_s;
	size_t stack_bytes;
} cfg = { 8080, "127.0.0.1", "www", (size_t)64 << 20, false, 4096, 0, 30, 0 };

static int docroot_fd = -1;
static volatile sig_atomic_t stopping;
static volatile sig_atomic_t forwarded;
static pthread_t main_tid;

static unsigned long n_requests, n_connections; /* __atomic */

/* The connection-thread limit (-t): main waits on `room` at the limit. */
static pthread_mutex_t active_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t room = PTHREAD_COND_INITIALIZER;
static long active;

/* ---- Small helpers ------------------------------------------------------- */

static const struct {
	const char *ext;
	const char *type;
} mime_types[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "css", "text/css; charset=utf-8" },
	{ "js", "text/javascript; charset=utf-8" },
	{ "mjs", "text/javascript; charset=utf-8" },
	{ "json", "application/json" },
	{ "xml", "application/xml" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "webp", "image/webp" },
	{ "ico", "image/x-icon" },
	{ "pdf", "application/pdf" },
	{ "wasm", "application/wasm" },
	{ "woff2", "font/woff2" },
	{ "gz", "application/gzip" },
};

static const char *mime_type(const char *path, size_t len)
{
	size_t i = len;
	while (i > 0 && path[i - 1] != '.' && path[i - 1] != '/')
		i--;
	if (i == 0 || path[i - 1] != '.')
		return "application/octet-stream";
	const char *ext = path + i;
	size_t elen = len - i;
	for (size_t k = 0; k < sizeof mime_types / sizeof mime_types[0]; k++)
		if (strlen(mime_types[k].ext) == elen && strncasecmp(ext, mime_types[k].ext, elen) == 0)
			return mime_types[k].type;
	return "application/octet-stream";
}

static void http_date(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Writes all of iov[0..cnt), however many calls it takes. */
static int writev_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		size_t done = (size_t)n;
		while (cnt > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	return writev_all(fd, &v, 1);
}

/* ---- Page cache ---------------------------------------------------------- */

struct entry {
	struct entry *hnext;        /* hash chain */
	struct entry *prev, *next;  /* LRU list, most recent first */
	uint64_t hash;
	int refs;                   /* the table's reference + one per user (__atomic) */
	bool in_table;
	time_t checked;             /* last time the file was stat()ed (__atomic) */
	ino_t ino;
	dev_t dev;
	struct timespec mtime;
	size_t size;                /* body bytes */
	size_t charge;              /* bytes counted against the cache */
	const char *body;
	char last_modified[32];
	unsigned hdr_len;
	char hdr[160];              /* Content-Type, Content-Length, Last-Modified lines */
	unsigned key_len;
	char key[];                 /* decoded path, then the body */
};

static struct {
	pthread_mutex_t mu;
	struct entry **buckets;
	size_t nbuckets, count, used;
	struct entry lru; /* sentinel */
} cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

static uint64_t hash_key(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static void entry_put(struct entry *e)
{
	if (__atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(e);
}

static void lru_unlink(struct entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_push_front(struct entry *e)
{
	e->next = cache.lru.next;
	e->prev = &cache.lru;
	cache.lru.next->prev = e;
	cache.lru.next = e;
}

/* Under cache.mu.  Drops the table's reference. */
static void cache_remove_locked(struct entry *e)
{
	struct entry **pp = &cache.buckets[e->hash & (cache.nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	e->in_table = false;
	cache.count--;
	cache.used -= e->charge;
	entry_put(e);
}

static void cache_grow_locked(void)
{
	size_t n = cache.nbuckets ? cache.nbuckets * 2 : 1024;
	struct entry **b = calloc(n, sizeof *b);
	if (!b)
		return;
	for (size_t i = 0; i < cache.nbuckets; i++) {
		struct entry *e = cache.buckets[i];
		while (e) {
			struct entry *nx = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
			e = nx;
		}
	}
	free(cache.buckets);
	cache.buckets = b;
	cache.nbuckets = n;
}

/* A referenced entry for key, or NULL. */
static struct entry *cache_get(const char *key, size_t len, uint64_t h)
{
	struct entry *found = NULL;
	pthread_mutex_lock(&cache.mu);
	if (cache.nbuckets) {
		for (struct entry *e = cache.buckets[h & (cache.nbuckets - 1)]; e; e = e->hnext) {
			if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0) {
				__atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
				if (cache.lru.next != e) {
					lru_unlink(e);
					lru_push_front(e);
				}
				found = e;
				break;
			}
		}
	}
	pthread_mutex_unlock(&cache.mu);
	return found;
}

/* Inserts e (holding one reference for the caller) unless an entry for the
 * same key got there first: then returns that one, referenced, and frees e. */
static struct entry *cache_insert(struct entry *e)
{
	pthread_mutex_lock(&cache.mu);
	if (cache.count >= cache.nbuckets)
		cache_grow_locked();
	if (!cache.nbuckets) {
		pthread_mutex_unlock(&cache.mu);
		return e; /* out of memory: serve it uncached */
	}
	struct entry **head = &cache.buckets[e->hash & (cache.nbuckets - 1)];
	for (struct entry *o = *head; o; o = o->hnext) {
		if (o->hash == e->hash && o->key_len == e->key_len && memcmp(o->key, e->key, e->key_len) == 0) {
			if (o->ino == e->ino && o->dev == e->dev && o->size == e->size &&
			    o->mtime.tv_sec == e->mtime.tv_sec && o->mtime.tv_nsec == e->mtime.tv_nsec) {
				__atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
				pthread_mutex_unlock(&cache.mu);
				free(e);
				return o;
			}
			cache_remove_locked(o); /* stale */
			break;
		}
	}
	while (cache.used + e->charge > cfg.cache_bytes && cache.lru.prev != &cache.lru)
		cache_remove_locked(cache.lru.prev);
	head = &cache.buckets[e->hash & (cache.nbuckets - 1)];
	e->hnext = *head;
	*head = e;
	lru_push_front(e);
	e->in_table = true;
	e->refs++; /* the table's */
	cache.count++;
	cache.used += e->charge;
	pthread_mutex_unlock(&cache.mu);
	return e;
}

/* The file changed on disk: forget the entry (if still there). */
static void cache_forget(struct entry *e)
{
	pthread_mutex_lock(&cache.mu);
	if (e->in_table)
		cache_remove_locked(e);
	pthread_mutex_unlock(&cache.mu);
}

static bool same_file(const struct entry *e, const struct stat *st)
{
	return e->ino == st->st_ino && e->dev == st->st_dev && e->size == (size_t)st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void fill_meta(struct entry *e, const char *path, size_t plen, const struct stat *st)
{
	e->ino = st->st_ino;
	e->dev = st->st_dev;
	e->mtime = st->st_mtim;
	e->size = (size_t)st->st_size;
	http_date(st->st_mtim.tv_sec, e->last_modified);
	int n = snprintf(e->hdr, sizeof e->hdr, "Content-Type: %s\r\nContent-Length: %zu\r\nLast-Modified: %s\r\n",
			 mime_type(path, plen), e->size, e->last_modified);
	e->hdr_len = n > 0 && (size_t)n < sizeof e->hdr ? (unsigned)n : 0;
}

/* ---- Connections --------------------------------------------------------- */

struct conn {
	int fd;
	bool keepalive;
	time_t date_t;
	char date[32];
	size_t start, end, scan; /* unparsed input is in[start, end); scan: end-of-header search resumes here */
	char out[OUT_CAP];
	char path[PATH_CAP + 16];
	char in[IN_CAP];
};

/* What one request asked for. */
struct request {
	bool head;    /* HEAD (no body in the response) */
	bool v10;     /* HTTP/1.0 */
	bool close;   /* close after the response */
	const char *ims; /* If-Modified-Since value, NUL-free, length ims_len */
	size_t ims_len;
	size_t path_len;
	long long body; /* Content-Length of the request body */
};

static void refresh_date(struct conn *c)
{
	time_t now = time(NULL);
	if (now != c->date_t) {
		c->date_t = now;
		http_date(now, c->date);
	}
}

/* Starts a response header in c->out: status line, Server, Date. */
static size_t head_start(struct conn *c, const char *status)
{
	static const char a[] = "HTTP/1.1 ", b[] = "\r\nServer: knot\r\nDate: ";
	refresh_date(c);
	size_t sl = strlen(status), dl = strlen(c->date), n = 0;
	memcpy(c->out, a, sizeof a - 1);
	n += sizeof a - 1;
	memcpy(c->out + n, status, sl);
	n += sl;
	memcpy(c->out + n, b, sizeof b - 1);
	n += sizeof b - 1;
	memcpy(c->out + n, c->date, dl);
	n += dl;
	memcpy(c->out + n, "\r\n", 2);
	return n + 2;
}

/* Appends the Connection header (when one is needed) and the blank line. */
static size_t head_end(struct conn *c, size_t n, const struct request *rq)
{
	static const char ka[] = "Connection: keep-alive\r\n\r\n", cl[] = "Connection: close\r\n\r\n";
	if (!c->keepalive) {
		memcpy(c->out + n, cl, sizeof cl - 1);
		return n + sizeof cl - 1;
	}
	if (rq && rq->v10) {
		memcpy(c->out + n, ka, sizeof ka - 1);
		return n + sizeof ka - 1;
	}
	memcpy(c->out + n, "\r\n", 2);
	return n + 2;
}

/* An error response with a short text body.  Returns -1 if the write failed. */
static int send_error(struct conn *c, const struct request *rq, int code)
{
	const char *status, *text;
	switch (code) {
	case 400: status = "400 Bad Request"; break;
	case 404: status = "404 Not Found"; break;
	case 405: status = "405 Method Not Allowed"; break;
	case 414: status = "414 URI Too Long"; break;
	case 431: status = "431 Request Header Fields Too Large"; break;
	case 505: status = "505 HTTP Version Not Supported"; break;
	default: status = "500 Internal Server Error"; break;
	}
	text = status + 4;
	if (code != 404 && code != 405)
		c->keepalive = false;
	size_t n = head_start(c, status);
	n += (size_t)snprintf(c->out + n, OUT_CAP - n, "%sContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n",
			      code == 405 ? "Allow: GET, HEAD\r\n" : "", strlen(text) + 1);
	n = head_end(c, n, rq);
	struct iovec iov[3] = { { c->out, n }, { (void *)text, strlen(text) }, { "\n", 1 } };
	return writev_all(c->fd, iov, rq && rq->head ? 1 : 3);
}

static bool ims_matches(const struct request *rq, const char *lm)
{
	size_t n = strlen(lm);
	return rq->ims && rq->ims_len == n && memcmp(rq->ims, lm, n) == 0;
}

/* A cached entry: one writev of header and body. */
static int send_entry(struct conn *c, const struct request *rq, const struct entry *e)
{
	bool nm = ims_matches(rq, e->last_modified);
	size_t n = head_start(c, nm ? "304 Not Modified" : "200 OK");
	if (nm) {
		n += (size_t)snprintf(c->out + n, OUT_CAP - n, "Last-Modified: %s\r\n", e->last_modified);
	} else {
		memcpy(c->out + n, e->hdr, e->hdr_len);
		n += e->hdr_len;
	}
	n = head_end(c, n, rq);
	struct iovec iov[2] = { { c->out, n }, { (void *)e->body, e->size } };
	return writev_all(c->fd, iov, rq->head || nm || e->size == 0 ? 1 : 2);
}

/* An uncached file: header, then sendfile(). */
static int send_file_fd(struct conn *c, const struct request *rq, int ffd, const struct stat *st)
{
	struct entry meta; /* just its header fields */
	fill_meta(&meta, c->path, rq->path_len, st);
	bool nm = ims_matches(rq, meta.last_modified);
	size_t n = head_start(c, nm ? "304 Not Modified" : "200 OK");
	if (nm) {
		n += (size_t)snprintf(c->out + n, OUT_CAP - n, "Last-Modified: %s\r\n", meta.last_modified);
	} else {
		memcpy(c->out + n, meta.hdr, meta.hdr_len);
		n += meta.hdr_len;
	}
	n = head_end(c, n, rq);
	if (rq->head || nm || meta.size == 0)
		return write_all(c->fd, c->out, n);
	/* MSG_MORE: the header leaves with the first bytes of the file. */
	for (size_t done = 0; done < n;) {
		ssize_t w = send(c->fd, c->out + done, n - done, MSG_MORE | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)w;
	}
	off_t off = 0;
	while ((size_t)off < meta.size) {
		ssize_t w = sendfile(c->fd, ffd, &off, meta.size - (size_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) /* the file shrank: the promised length cannot be kept */
			return -1;
	}
	return 0;
}

/* Reads a whole regular file into a new, referenced cache entry. */
static struct entry *load_entry(struct conn *c, const struct request *rq, uint64_t h, int ffd, const struct stat *st)
{
	size_t size = (size_t)st->st_size;
	struct entry *e = malloc(sizeof *e + rq->path_len + 1 + size);
	if (!e)
		return NULL;
	memset(e, 0, sizeof *e);
	e->hash = h;
	e->refs = 1;
	e->key_len = (unsigned)rq->path_len;
	memcpy(e->key, c->path, rq->path_len);
	e->key[rq->path_len] = '\0';
	char *body = e->key + rq->path_len + 1;
	e->body = body;
	for (size_t got = 0; got < size;) {
		ssize_t r = pread(ffd, body + got, size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) { /* error, or the file shrank while we read it */
			free(e);
			return NULL;
		}
		got += (size_t)r;
	}
	fill_meta(e, c->path, rq->path_len, st);
	e->checked = time(NULL);
	e->charge = sizeof *e + rq->path_len + 1 + size;
	return e;
}

/* Opens the file for c->path (relative to the docroot); a directory means its
 * index.html.  Returns the descriptor, or -1 with the HTTP status in *code. */
static int open_path(struct conn *c, struct request *rq, struct stat *st, int *code)
{
	const char *rel = c->path;
	while (*rel == '/')
		rel++;
	int ffd = openat(docroot_fd, *rel ? rel : ".", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (ffd < 0)
		goto fail;
	if (fstat(ffd, st) < 0) {
		close(ffd);
		goto fail;
	}
	if (S_ISDIR(st->st_mode)) {
		close(ffd);
		if (rq->path_len + 11 > PATH_CAP) {
			*code = 414;
			return -1;
		}
		if (c->path[rq->path_len - 1] != '/')
			c->path[rq->path_len++] = '/';
		memcpy(c->path + rq->path_len, "index.html", 11);
		rq->path_len += 10;
		rel = c->path;
		while (*rel == '/')
			rel++;
		ffd = openat(docroot_fd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (ffd < 0)
			goto fail;
		if (fstat(ffd, st) < 0) {
			close(ffd);
			goto fail;
		}
	}
	if (!S_ISREG(st->st_mode)) {
		close(ffd);
		*code = 404;
		return -1;
	}
	/* O_NONBLOCK only kept a FIFO from hanging the open; files ignore it. */
	return ffd;
fail:
	*code = (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP || errno == ENAMETOOLONG) ? 404 : 500;
	if (errno == ENAMETOOLONG)
		*code = 414;
	return -1;
}

static int serve_file(struct conn *c, struct request *rq)
{
	if (c->path[rq->path_len - 1] == '/') { /* "/" and "/dir/" -> index.html */
		memcpy(c->path + rq->path_len, "index.html", 11);
		rq->path_len += 10;
	}
	uint64_t h = 0;
	bool cacheable = !cfg.use_sendfile && cfg.cache_bytes > 0;
	if (cacheable) {
		h = hash_key(c->path, rq->path_len);
		struct entry *e = cache_get(c->path, rq->path_len, h);
		if (e) {
			time_t now = time(NULL);
			time_t checked = __atomic_load_n(&e->checked, __ATOMIC_RELAXED);
			if (now == checked || now == checked + 1) {
			hit:;
				int r = send_entry(c, rq, e);
				entry_put(e);
				return r;
			}
			/* At most once a second: is the file still the same? */
			struct stat st;
			const char *rel = c->path;
			while (*rel == '/')
				rel++;
			if (fstatat(docroot_fd, rel, &st, 0) == 0 && S_ISREG(st.st_mode) && same_file(e, &st)) {
				__atomic_store_n(&e->checked, now, __ATOMIC_RELAXED);
				goto hit;
			}
			cache_forget(e);
			entry_put(e);
		}
	}
	struct stat st;
	int code = 0;
	size_t asked_len = rq->path_len;
	int ffd = open_path(c, rq, &st, &code);
	if (ffd < 0)
		return send_error(c, rq, code);
	int r;
	if (cacheable && (size_t)st.st_size <= cfg.cache_bytes / 4) {
		if (rq->path_len != asked_len) /* a directory: now dir/index.html */
			h = hash_key(c->path, rq->path_len);
		struct entry *e = load_entry(c, rq, h, ffd, &st);
		if (e) {
			close(ffd);
			e = cache_insert(e);
			r = send_entry(c, rq, e);
			entry_put(e);
			return r;
		}
	}
	r = send_file_fd(c, rq, ffd, &st);
	close(ffd);
	return r;
}

static bool token_in(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return true;
	}
	return false;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Decodes the request target into c->path.  Returns 0 or an HTTP status. */
static int decode_target(struct conn *c, struct request *rq, const char *t, size_t n)
{
	if (n >= 7 && (strncasecmp(t, "http://", 7) == 0 || (n >= 8 && strncasecmp(t, "https://", 8) == 0))) {
		size_t i = t[4] == ':' ? 7 : 8; /* absolute-form: drop scheme and authority */
		while (i < n && t[i] != '/')
			i++;
		if (i == n) {
			t = "/";
			n = 1;
		} else {
			t += i;
			n -= i;
		}
	}
	if (n == 0 || t[0] != '/')
		return 400;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = t[i];
		if (ch == '?' || ch == '#')
			break;
		if (ch == '%') {
			int hi = i + 2 < n ? hexval(t[i + 1]) : -1, lo = i + 2 < n ? hexval(t[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return 400;
			ch = (char)(hi * 16 + lo);
			if (ch == '\0')
				return 400;
			i += 2;
		}
		if (o >= PATH_CAP)
			return 414;
		c->path[o++] = ch;
	}
	/* Refuse any ".." segment (after decoding: "%2e%2e" too). */
	for (size_t i = 0; i + 2 < o; i++)
		if (c->path[i] == '/' && c->path[i + 1] == '.' && c->path[i + 2] == '.' &&
		    (i + 3 == o || c->path[i + 3] == '/'))
			return 400;
	c->path[o] = '\0';
	rq->path_len = o;
	return 0;
}

static bool name_is(const char *p, size_t n, const char *name, size_t nl)
{
	return n == nl && strncasecmp(p, name, nl) == 0;
}

/* Parses the request in c->in[c->start, hdr_end) and answers it.  Returns -1
 * when the connection must close (c->keepalive false or a write failed). */
static int handle(struct conn *c, size_t hdr_end, long long *discard)
{
	const char *p = c->in + c->start, *end = c->in + hdr_end;
	struct request rq = { 0 };
	c->keepalive = true;

	/* Request line: METHOD SP TARGET SP HTTP/x.y */
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	const char *le = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
	const char *sp1 = memchr(p, ' ', (size_t)(le - p));
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1 || le - sp2 != 9 || memcmp(sp2 + 1, "HTTP/", 5) != 0 ||
	    sp2[6] < '0' || sp2[6] > '9' || sp2[7] != '.' || sp2[8] < '0' || sp2[8] > '9') {
		c->keepalive = false;
		send_error(c, NULL, 400);
		return -1;
	}
	if (sp2[6] != '1') {
		c->keepalive = false;
		send_error(c, NULL, 505);
		return -1;
	}
	rq.v10 = sp2[8] == '0';
	size_t mlen = (size_t)(sp1 - p);
	bool get = mlen == 3 && memcmp(p, "GET", 3) == 0;
	rq.head = mlen == 4 && memcmp(p, "HEAD", 4) == 0;
	for (const char *m = p; m < sp1; m++)
		if (*m < 'A' || *m > 'Z') {
			c->keepalive = false;
			send_error(c, NULL, 400);
			return -1;
		}

	/* Headers. */
	bool host = false, te = false, cl_seen = false;
	long long cl = 0;
	bool want_close = false, want_ka = false;
	for (const char *l = eol + 1; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		if (!nl)
			nl = end;
		const char *lend = nl > l && nl[-1] == '\r' ? nl - 1 : nl;
		if (lend == l)
			break; /* the blank line */
		const char *colon = memchr(l, ':', (size_t)(lend - l));
		if (!colon || colon == l || *l == ' ' || *l == '\t' || colon[-1] == ' ' || colon[-1] == '\t') {
			c->keepalive = false; /* no field name, whitespace before the colon, or obsolete folding */
			send_error(c, NULL, 400);
			return -1;
		}
		const char *v = colon + 1;
		while (v < lend && (*v == ' ' || *v == '\t'))
			v++;
		const char *ve = lend;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		size_t nlen = (size_t)(colon - l), vlen = (size_t)(ve - v);
		switch (*l | 0x20) {
		case 'c':
			if (name_is(l, nlen, "connection", 10)) {
				want_close |= token_in(v, vlen, "close");
				want_ka |= token_in(v, vlen, "keep-alive");
			} else if (name_is(l, nlen, "content-length", 14)) {
				long long x = 0;
				if (vlen == 0 || vlen > 15)
					goto bad;
				for (size_t i = 0; i < vlen; i++) {
					if (v[i] < '0' || v[i] > '9')
						goto bad;
					x = x * 10 + (v[i] - '0');
				}
				if (cl_seen && x != cl)
					goto bad;
				cl = x;
				cl_seen = true;
			}
			break;
		case 'h':
			if (name_is(l, nlen, "host", 4))
				host = true;
			break;
		case 'i':
			if (name_is(l, nlen, "if-modified-since", 17)) {
				rq.ims = v;
				rq.ims_len = vlen;
			}
			break;
		case 't':
			if (name_is(l, nlen, "transfer-encoding", 17))
				te = true;
			break;
		}
		l = nl + 1;
	}
	if (!host && !rq.v10)
		goto bad; /* RFC 9112 3.2: a 1.1 request without Host gets 400 */

	c->keepalive = rq.v10 ? (want_ka && !want_close) : !want_close;
	if (te)
		c->keepalive = false; /* a chunked body we will not parse */
	if (cl > MAX_DISCARD)
		c->keepalive = false;
	*discard = cl;
	rq.close = !c->keepalive;

	if (!get && !rq.head) {
		if (send_error(c, &rq, 405) < 0)
			return -1;
		return c->keepalive ? 0 : -1;
	}
	int code = decode_target(c, &rq, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	int r = code ? send_error(c, &rq, code) : serve_file(c, &rq);
	if (r < 0 || !c->keepalive)
		return -1;
	return 0;
bad:
	c->keepalive = false;
	send_error(c, NULL, 400);
	return -1;
}

/* Where the header block that starts at c->start ends (just past its blank
 * line), or 0 if it is not all in yet.  Resumes the search at c->scan. */
static size_t find_header_end(struct conn *c)
{
	size_t i = c->scan > c->start ? c->scan : c->start;
	while (i < c->end) {
		const char *nl = memchr(c->in + i, '\n', c->end - i);
		if (!nl)
			break;
		size_t k = (size_t)(nl - c->in);
		/* A line ending at k is blank if it is "\n" or "\r\n" right after
		 * the previous line's "\n" (or at the very start: leading blank
		 * lines were skipped already). */
		if (k > c->start && c->in[k - 1] == '\n')
			return k + 1;
		if (k > c->start + 1 && c->in[k - 1] == '\r' && c->in[k - 2] == '\n')
			return k + 1;
		i = k + 1;
	}
	/* Resume at the last unterminated line: a blank line is at most two
	 * bytes after the previous "\n". */
	c->scan = c->end >= 2 ? c->end - 2 : 0;
	return 0;
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	int fd = c->fd;
	long long discard = 0;

	for (;;) {
		/* Drop a request body (announced by Content-Length). */
		if (discard > 0) {
			size_t have = c->end - c->start;
			size_t take = (size_t)discard < have ? (size_t)discard : have;
			c->start += take;
			discard -= (long long)take;
			if (discard > 0) {
				ssize_t n = read(fd, c->in, IN_CAP);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					break;
				c->start = c->scan = 0;
				c->end = (size_t)n;
				continue;
			}
		}
		/* Blank lines before a request are ignored (RFC 9112 2.2). */
		while (c->start < c->end && (c->in[c->start] == '\r' || c->in[c->start] == '\n'))
			c->start++;
		if (c->start == c->end)
			c->start = c->end = c->scan = 0;
		size_t hdr_end = c->start < c->end ? find_header_end(c) : 0;
		if (hdr_end == 0) {
			if (c->end == IN_CAP) {
				if (c->start > 0) { /* make room: move the partial request down */
					memmove(c->in, c->in + c->start, c->end - c->start);
					c->scan -= c->scan >= c->start ? c->start : c->scan;
					c->end -= c->start;
					c->start = 0;
				} else {
					c->keepalive = false;
					send_error(c, NULL, memchr(c->in, '\n', c->end) ? 431 : 414);
					__atomic_add_fetch(&n_requests, 1, __ATOMIC_RELAXED);
					break;
				}
			}
			ssize_t n = read(fd, c->in + c->end, IN_CAP - c->end);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* peer closed, reset, or idle for -k seconds (EAGAIN) */
			c->end += (size_t)n;
			continue;
		}
		int r = handle(c, hdr_end, &discard);
		__atomic_add_fetch(&n_requests, 1, __ATOMIC_RELAXED);
		if (r < 0)
			break;
		c->start = hdr_end;
		c->scan = hdr_end;
	}
	close(fd);
	free(c);
	if (cfg.max_threads > 0) {
		pthread_mutex_lock(&active_mu);
		if (active-- == cfg.max_threads)
			pthread_cond_signal(&room);
		pthread_mutex_unlock(&active_mu);
	}
	return NULL;
}

/* ---- Main ---------------------------------------------------------------- */

static void on_signal(int sig)
{
	stopping = 1;
	/* With kernel threads the signal may land on a connection thread; the
	 * accept loop in main must see EINTR.  (On Capriccio it always goes to
	 * main; pthread_self() is then whichever thread was running.) */
	if (!forwarded && !pthread_equal(pthread_self(), main_tid)) {
		forwarded = 1;
		pthread_kill(main_tid, sig);
	}
}

static bool parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno)
		return false;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		return false;
	*out = (size_t)v;
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: knot [-p PORT] [-a ADDR] [-d DOCROOT] [-c CACHE_BYTES] [-m read|sendfile]\n"
			"            [-b BACKLOG] [-t MAX_THREADS] [-k KEEPALIVE_SECONDS] [-s STACK_BYTES]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int opt;
	size_t v;
	while ((opt = getopt(argc, argv, "p:a:d:c:m:b:t:k:s:h")) != -1) {
		switch (opt) {
		case 'p':
			if (!parse_size(optarg, &v) || v > 65535)
				usage();
			cfg.port = (int)v;
			break;
		case 'a': cfg.addr = optarg; break;
		case 'd': cfg.docroot = optarg; break;
		case 'c':
			if (!parse_size(optarg, &cfg.cache_bytes))
				usage();
			break;
		case 'm':
			if (strcmp(optarg, "read") == 0)
				cfg.use_sendfile = false;
			else if (strcmp(optarg, "sendfile") == 0)
				cfg.use_sendfile = true;
			else
				usage();
			break;
		case 'b':
			if (!parse_size(optarg, &v) || v < 1 || v > 1 << 20)
				usage();
			cfg.backlog = (int)v;
			break;
		case 't':
			if (!parse_size(optarg, &v) || v > 1 << 30)
				usage();
			cfg.max_threads = (long)v;
			break;
		case 'k':
			if (!parse_size(optarg, &v) || v > 86400)
				usage();
			cfg.keepalive_s = (int)v;
			break;
		case 's':
			if (!parse_size(optarg, &cfg.stack_bytes))
				usage();
			break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();

	docroot_fd = open(cfg.docroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (docroot_fd < 0) {
		fprintf(stderr, "knot: docroot %s: %s\n", cfg.docroot, strerror(errno));
		return 1;
	}
	cache.lru.next = cache.lru.prev = &cache.lru;

	/* One descriptor per connection: use all we may. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	main_tid = pthread_self();
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: accept() returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("knot: socket");
		return 1;
	}
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)cfg.port);
	if (inet_pton(AF_INET, cfg.addr, &addr.sin_addr) != 1) {
		fprintf(stderr, "knot: bad address '%s'\n", cfg.addr);
		return 2;
	}
	if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("knot: bind");
		return 1;
	}
	if (listen(lfd, cfg.backlog) < 0) {
		perror("knot: listen");
		return 1;
	}
	socklen_t alen = sizeof addr;
	if (getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("knot: getsockname");
		return 1;
	}
	printf("listening on %u\n", (unsigned)ntohs(addr.sin_port));
	fflush(stdout);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (cfg.stack_bytes)
		pthread_attr_setstacksize(&attr, cfg.stack_bytes);
	struct timeval idle = { cfg.keepalive_s, 0 };

	while (!stopping) {
		if (cfg.max_threads > 0) {
			pthread_mutex_lock(&active_mu);
			while (active >= cfg.max_threads && !stopping) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += 1; /* look at `stopping` now and then */
				pthread_cond_timedwait(&room, &active_mu, &ts);
			}
			active++;
			pthread_mutex_unlock(&active_mu);
			if (stopping)
				break;
		}
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (cfg.max_threads > 0) {
				pthread_mutex_lock(&active_mu);
				active--;
				pthread_mutex_unlock(&active_mu);
			}
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			perror("knot: accept");
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				usleep(100000); /* out of a resource: let connections finish */
				continue;
			}
			return 1;
		}
		__atomic_add_fetch(&n_connections, 1, __ATOMIC_RELAXED);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (cfg.keepalive_s > 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle);
		}
		struct conn *c = malloc(sizeof *c);
		pthread_t tid;
		int err = c ? 0 : ENOMEM;
		if (c) {
			c->fd = fd;
			c->date_t = 0;
			c->start = c->end = c->scan = 0;
			err = pthread_create(&tid, &attr, serve, c);
		}
		if (err != 0) {
			fprintf(stderr, "knot: pthread_create: %s\n", strerror(err));
			free(c);
			close(fd);
			if (cfg.max_threads > 0) {
				pthread_mutex_lock(&active_mu);
				active--;
				pthread_mutex_unlock(&active_mu);
			}
		}
	}
	close(lfd);
	printf("knot: %lu requests on %lu connections\n", __atomic_load_n(&n_requests, __ATOMIC_RELAXED),
	       __atomic_load_n(&n_connections, __ATOMIC_RELAXED));
	fflush(stdout);
	exit(0);
}
