/*
 * pool — a static web server in the thread-pool style: a fixed pool of
 * worker threads, a bounded queue of connections under one mutex and two
 * condition variables, and an acceptor thread that waits while the queue is
 * full.  The docroot's files are read into memory at start-up and served
 * from there (HTTP/1.1, GET and HEAD, keep-alive, pipelining).
 *
 *   pool [-p PORT] [-a ADDR] [-d DOCROOT] [-w WORKERS] [-q QUEUE]
 *        [-b BACKLOG] [-k KEEPALIVE_MS]
 *
 *   -p PORT      port to listen on (default 8080; 0 picks a free one)
 *   -a ADDR      IPv4 address to listen on (default 127.0.0.1)
 *   -d DOCROOT   directory whose regular files are served (default ./www;
 *                its top level only, read once)
 *   -w WORKERS   worker threads (default 16)
 *   -q QUEUE     connections that may wait for a worker (default 4096)
 *   -b BACKLOG   listen backlog (default 4096)
 *   -k MS        keep-alive: a connection idle this long is closed
 *                (default 5000, Apache's KeepAliveTimeout)
 *
 * Keep-alive.  A worker that has answered a request waits for the
 * connection's next one with poll(), in slices of SLICE_MS.  While no other
 * connection waits for a worker it keeps waiting, up to the keep-alive
 * timeout, then closes the connection.  When others wait, it does not let
 * an idle connection hold it: the connection goes back to the tail of the
 * queue (open, with its buffered bytes) and the worker takes the head — so
 * a pool of 16 serves 1,000 keep-alive clients in turn, as Apache's event
 * MPM hands idle connections back instead of parking a worker on each (its
 * worker MPM, which parks them, serves at most as many clients as it has
 * threads).  A connection is handed back at the latest after TURN requests
 * in a row (a client that pipelines cannot keep a worker to itself).
 * Because handed-back connections stay in the queue, QUEUE is also about
 * the most connections open at once: beyond it the acceptor waits and new
 * clients wait in the listen backlog.
 *
 * Prints "listening on PORT" once it accepts connections; on SIGINT or
 * SIGTERM prints "pool: N requests on M connections" and exits 0.
 * Plain POSIX threads: built with capcc the threads are Capriccio's, with
 * gcc -pthread (make pthread) they are kernel threads.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define IN_CAP 8192 /* request line + headers */
#define SLICE_MS 10 /* how long a worker waits before looking at the queue again */
#define TURN 64     /* requests in a row before a connection yields its worker */

static struct {
	int port, workers, backlog, keepalive_ms;
	unsigned queue;
	const char *addr, *docroot;
} cfg = { 8080, 16, 4096, 5000, 4096, "127.0.0.1", "www" };

static unsigned long n_requests, n_connections; /* __atomic */

/* ---- Files, read once ------------------------------------------------------ */

struct file {
	char *path; /* "/name" */
	char *head; /* "HTTP/1.1 200 OK ..." up to the blank line */
	size_t head_len, body_len;
	char *body;
};
static struct file *files;
static size_t n_files;

static const char *content_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (dot && (!strcmp(dot, ".html") || !strcmp(dot, ".htm")))
		return "text/html; charset=utf-8";
	if (dot && !strcmp(dot, ".txt"))
		return "text/plain; charset=utf-8";
	return "application/octet-stream";
}

static char *read_all(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *p = malloc(st.st_size ? (size_t)st.st_size : 1);
	size_t got = 0;
	while (p && got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
		if (n <= 0) {
			free(p);
			p = NULL;
		} else {
			got += (size_t)n;
		}
	}
	close(fd);
	*len = got;
	return p;
}

static bool load_docroot(void)
{
	DIR *d = opendir(cfg.docroot);
	if (!d)
		return false;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", cfg.docroot, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		struct file f = { 0 };
		f.body = read_all(path, &f.body_len);
		if (!f.body || asprintf(&f.path, "/%s", e->d_name) < 0)
			continue;
		int n = asprintf(&f.head, "HTTP/1.1 200 OK\r\nServer: pool\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
				 content_type(e->d_name), f.body_len);
		if (n < 0)
			continue;
		f.head_len = (size_t)n;
		struct file *grown = realloc(files, (n_files + 1) * sizeof *files);
		if (!grown)
			break;
		files = grown;
		files[n_files++] = f;
	}
	closedir(d);
	return true;
}

static const struct file *lookup(const char *path, size_t len)
{
	if (len == 1 && path[0] == '/') {
		path = "/index.html";
		len = strlen(path);
	}
	for (size_t i = 0; i < n_files; i++)
		if (strlen(files[i].path) == len && !memcmp(files[i].path, path, len))
			return &files[i];
	return NULL;
}

/* ---- The connection queue -------------------------------------------------- */

struct conn {
	int fd;
	size_t len;         /* bytes in buf */
	long long last_ms;  /* when the last request ended (or the connection opened) */
	char buf[IN_CAP + 1];
};

/* A ring of cfg.queue + cfg.workers slots: the acceptor adds only while fewer
 * than cfg.queue wait, and a worker hands back only a connection it took, so
 * a hand-back always finds a slot and never waits (were workers to wait for
 * room, all of them could, and nobody would take). */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	struct conn **ring;
	unsigned size, head, len;
} q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0 };

static void push_locked(struct conn *c)
{
	q.ring[(q.head + q.len++) % q.size] = c;
	pthread_cond_signal(&q.not_empty);
}

/* The acceptor: waits while the queue is full. */
static void enqueue_new(struct conn *c)
{
	pthread_mutex_lock(&q.mu);
	while (q.len >= cfg.queue)
		pthread_cond_wait(&q.not_full, &q.mu);
	push_locked(c);
	pthread_mutex_unlock(&q.mu);
}

static void hand_back(struct conn *c)
{
	pthread_mutex_lock(&q.mu);
	push_locked(c);
	pthread_mutex_unlock(&q.mu);
}

static struct conn *dequeue(void)
{
	pthread_mutex_lock(&q.mu);
	while (q.len == 0)
		pthread_cond_wait(&q.not_empty, &q.mu);
	struct conn *c = q.ring[q.head];
	q.head = (q.head + 1) % q.size;
	if (q.len-- == cfg.queue)
		pthread_cond_signal(&q.not_full);
	pthread_mutex_unlock(&q.mu);
	return c;
}

static bool others_waiting(void)
{
	pthread_mutex_lock(&q.mu);
	bool r = q.len > 0;
	pthread_mutex_unlock(&q.mu);
	return r;
}

/* ---- HTTP ------------------------------------------------------------------ */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return true;
}

static bool send_error(int fd, int status, const char *reason)
{
	char msg[256];
	int body = (int)strlen(reason) + 1;
	int n = snprintf(msg, sizeof msg,
			 "HTTP/1.1 %d %s\r\nServer: pool\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"
			 "Connection: close\r\n\r\n%s\n",
			 status, reason, body, reason);
	struct iovec iov = { msg, (size_t)n };
	return write_all(fd, &iov, 1);
}

/* Is `name` among the comma-separated tokens of a Connection header in `hdrs`
 * (NUL-terminated after the blank line)? */
static bool connection_has(const char *hdrs, const char *name)
{
	size_t len = strlen(name);
	for (const char *h = hdrs; (h = strcasestr(h, "\r\nConnection:")); h += 13) {
		const char *end = strstr(h + 2, "\r\n");
		for (const char *t = h + 13; t < end; t += strcspn(t, ",\r") + 1) {
			t += strspn(t, " \t");
			if (!strncasecmp(t, name, len) && strchr(" \t,\r", t[len]))
				return true;
		}
	}
	return false;
}

/* Answers the request of `len` bytes at the start of c->buf (headers end at
 * `len`, NUL-terminated there).  Returns true to keep the connection open. */
static bool respond(struct conn *c, size_t len)
{
	char *req = c->buf, saved = req[len];
	req[len] = '\0';
	char *sp1 = strchr(req, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	char *eol = strstr(req, "\r\n");
	bool ok = sp1 && sp2 && sp2 < eol && !strncmp(sp2 + 1, "HTTP/1.", 7);
	bool http10 = ok && sp2[8] == '0';
	bool keep = ok && (http10 ? connection_has(eol, "keep-alive") : !connection_has(eol, "close"));
	bool head = ok && sp1 - req == 4 && !memcmp(req, "HEAD", 4);
	bool get = ok && sp1 - req == 3 && !memcmp(req, "GET", 3);
	req[len] = saved;
	__atomic_add_fetch(&n_requests, 1, __ATOMIC_RELAXED);
	if (!ok || (!get && !head)) { /* another method may have a body: not worth reading here */
		send_error(c->fd, ok ? 405 : 400, ok ? "Method Not Allowed" : "Bad Request");
		return false;
	}
	char *path = sp1 + 1;
	size_t plen = strcspn(path, "? ");
	const struct file *f = lookup(path, plen);
	if (!f) {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nServer: pool\r\nContent-Type: text/plain; charset=utf-8\r\n"
					 "Content-Length: 10\r\n";
		const char *conn = keep ? (http10 ? "Connection: keep-alive\r\n\r\n" : "\r\n") : "Connection: close\r\n\r\n";
		struct iovec iov[3] = { { (void *)nf, sizeof nf - 1 }, { (void *)conn, strlen(conn) }, { "not found\n", head ? 0 : 10 } };
		return write_all(c->fd, iov, 3) && keep;
	}
	const char *conn = keep ? (http10 ? "Connection: keep-alive\r\n\r\n" : "\r\n") : "Connection: close\r\n\r\n";
	struct iovec iov[3] = { { f->head, f->head_len }, { (void *)conn, strlen(conn) }, { f->body, head ? 0 : f->body_len } };
	return write_all(c->fd, iov, 3) && keep;
}

static void close_conn(struct conn *c)
{
	close(c->fd);
	free(c);
}

/* Serves c until it is closed (then frees it) or handed back to the queue. */
static void serve(struct conn *c)
{
	unsigned turn = 0;
	for (;;) {
		/* Every complete request already read, in order (pipelining). */
		char *end;
		while (c->buf[c->len] = '\0', (end = strstr(c->buf, "\r\n\r\n"))) {
			if (turn >= TURN && others_waiting()) {
				hand_back(c);
				return;
			}
			size_t len = (size_t)(end - c->buf) + 4;
			if (!respond(c, len)) {
				close_conn(c);
				return;
			}
			turn++;
			memmove(c->buf, c->buf + len, c->len - len);
			c->len -= len;
			c->last_ms = now_ms();
		}
		if (c->len == IN_CAP) {
			send_error(c->fd, 431, "Request Header Fields Too Large");
			close_conn(c);
			return;
		}
		/* Between requests: do not sit on an idle connection while others wait. */
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		int r = poll(&pfd, 1, turn > 0 && others_waiting() ? 0 : SLICE_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0) {
			ssize_t n = recv(c->fd, c->buf + c->len, IN_CAP - c->len, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) { /* the client closed, or reset */
				close_conn(c);
				return;
			}
			c->len += (size_t)n;
			continue;
		}
		if (r < 0 || now_ms() - c->last_ms >= cfg.keepalive_ms) {
			close_conn(c);
			return;
		}
		if (others_waiting()) {
			hand_back(c);
			return;
		}
	}
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;)
		serve(dequeue());
	return NULL;
}

static void *acceptor(void *arg)
{
	int lfd = *(int *)arg, one = 1;
	struct timeval idle = { cfg.keepalive_ms / 1000, (cfg.keepalive_ms % 1000) * 1000 };
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("pool: accept");
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				usleep(100000); /* out of a resource: let connections close */
				continue;
			}
			exit(1);
		}
		__atomic_add_fetch(&n_connections, 1, __ATOMIC_RELAXED);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof idle); /* a client that stops reading */
		struct conn *c = malloc(sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = 0;
		c->last_ms = now_ms();
		enqueue_new(c);
	}
	return NULL;
}

/* ---- Main ------------------------------------------------------------------ */

static int number(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "pool: '%s' is not a number from %ld to %ld\n", s, lo, hi);
		exit(2);
	}
	return (int)v;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "p:a:d:w:q:b:k:")) != -1) {
		switch (opt) {
		case 'p': cfg.port = number(optarg, 0, 65535); break;
		case 'a': cfg.addr = optarg; break;
		case 'd': cfg.docroot = optarg; break;
		case 'w': cfg.workers = number(optarg, 1, 100000); break;
		case 'q': cfg.queue = (unsigned)number(optarg, 1, 1 << 24); break;
		case 'b': cfg.backlog = number(optarg, 1, INT_MAX); break;
		case 'k': cfg.keepalive_ms = number(optarg, 1, INT_MAX); break;
		default:
			fprintf(stderr, "usage: pool [-p PORT] [-a ADDR] [-d DOCROOT] [-w WORKERS] [-q QUEUE] [-b BACKLOG] [-k KEEPALIVE_MS]\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pool: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!load_docroot()) {
		fprintf(stderr, "pool: docroot %s: %s\n", cfg.docroot, strerror(errno));
		return 1;
	}
	q.size = cfg.queue + (unsigned)cfg.workers;
	q.ring = calloc(q.size, sizeof *q.ring);
	if (!q.ring) {
		perror("pool: queue");
		return 1;
	}

	/* One descriptor per open connection: use all we may. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	/* SIGINT and SIGTERM are taken by sigwait in main, so no thread is interrupted. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg.port) };
	if (lfd < 0 || inet_pton(AF_INET, cfg.addr, &addr.sin_addr) != 1) {
		fprintf(stderr, "pool: cannot listen on '%s'\n", cfg.addr);
		return 2;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	socklen_t alen = sizeof addr;
	if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, cfg.backlog) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("pool: listen");
		return 1;
	}

	pthread_t tid;
	for (int i = 0; i < cfg.workers; i++) {
		int err = pthread_create(&tid, NULL, worker, NULL);
		if (err) {
			fprintf(stderr, "pool: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	int err = pthread_create(&tid, NULL, acceptor, &lfd);
	if (err) {
		fprintf(stderr, "pool: pthread_create: %s\n", strerror(err));
		return 1;
	}
	printf("listening on %u\n", (unsigned)ntohs(addr.sin_port));
	fflush(stdout);

	int sig;
	sigwait(&stop, &sig);
	printf("pool: %lu requests on %lu connections\n", __atomic_load_n(&n_requests, __ATOMIC_RELAXED),
	       __atomic_load_n(&n_connections, __ATOMIC_RELAXED));
	fflush(stdout);
	exit(0);
}
