/* The epoll backend: parks threads on sockets, pipes and other pollable
 * descriptors until they are ready.
 *
 * Every descriptor a thread waits on is registered once, edge-triggered, for
 * both directions; a thread only parks after its non-blocking attempt said
 * EAGAIN, so an edge can never be missed.  The per-descriptor table also
 * caches what the blocking calls need to preserve the program's view: whether
 * the program itself set O_NONBLOCK, and its SO_RCVTIMEO / SO_SNDTIMEO.
 *
 * A read that comes back short from a TCP socket or a pipe found it empty,
 * and with edge-triggered registration whatever comes next brings an edge:
 * until the poller sees one, the next read parks without asking the kernel
 * for the EAGAIN it would get (nginx's rev->ready = 0).  That was a third of
 * a keep-alive server's system calls: read, write, then read for EAGAIN.
 * poll and select that see it readable first make the next read ask; after
 * the program's own epoll_wait it parks until the poller sees the edge too,
 * a scheduler pass later. */
#include "internal.h"
#include "io.h"
#include "telemetry.h"
#include "mn.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

struct cap_fd {
	uint8_t flags_known;   /* user_nonblock is valid */
	uint8_t user_nonblock; /* the program asked for O_NONBLOCK */
	uint8_t we_nonblock;   /* we set O_NONBLOCK on it (listening sockets) */
	uint8_t registered;    /* in our epoll set */
	uint8_t timeo_known;
	uint8_t not_socket;
	uint8_t kind; /* enum cap_fd_kind; 0 = not looked at yet */
	uint8_t no_twin; /* cap__fd_twin: this one cannot have one */
	/* An edge came with no thread parked for it (under cap__mn.lock): it
	 * may have come between a thread's EAGAIN and its park, on another
	 * worker's poll, so the next park returns at once to try again. */
	uint8_t rready, wready;
	/* Reads may skip a socket known drained (cap__fd_read_begin): 1 when it
	 * is one whose short read means empty, 2 when not, 0: not looked at. */
	uint8_t bytestream;
	uint8_t hup; /* a hang-up or error came: a read may end the stream without an edge */
	/* Read edges the poller has seen, and (+1) the count before the last
	 * read that found the socket drained; 0: not known drained. */
	_Atomic uint32_t redges, drained;
	int32_t twin;    /* > 0: its twin is twin - 1; < 0: it is the twin of -twin - 1 */
	uint64_t rcvtimeo_ns, sndtimeo_ns;
	struct cap_waitq readers, writers;
	struct cap_pollwait *pollers;
};

/* Process-wide by design, as descriptors are.  `registered` means in the
 * one worker's epoll set; with several workers (issue 14) it becomes per
 * epoll instance, or the instance is shared. */
static struct cap_fd *cap__fds;
static size_t cap__nfds;
static int cap__fd_hwm = -1; /* highest descriptor ever registered */

int cap__fd_table_init(void)
{
	struct rlimit rl;
	size_t n = 1u << 16;
	if (cap_sys4(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max > n)
		n = rl.rlim_max;
	if (n > (1u << 22))
		n = 1u << 22;
	long p = cap_sys6(SYS_mmap, 0, n * sizeof(struct cap_fd), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p < 0 && p > -4096)
		return (int)p;
	cap__fds = (struct cap_fd *)p;
	cap__nfds = n;
	return 0;
}

int cap__io_init(struct cap_worker *w)
{
	long fd = cap_sys1(SYS_epoll_create1, EPOLL_CLOEXEC);
	if (fd < 0)
		return (int)fd;
	cap__fds_runtime(1);
	w->io.epfd = (int)fd;
	return 0;
}

static inline struct cap_fd *cap__fd(int fd)
{
	return (fd >= 0 && (size_t)fd < cap__nfds) ? &cap__fds[fd] : NULL;
}

int cap__io_add_internal(int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
	long r = cap_sys4(SYS_epoll_ctl, cap__w->io.epfd, EPOLL_CTL_ADD, fd, &ev);
	return r < 0 ? (int)r : 0;
}

/* ---- Descriptor state --------------------------------------------------- */

bool cap__fd_user_nonblock(int fd)
{
	struct cap_fd *f = cap__fd(fd);
	if (f && f->flags_known)
		return f->user_nonblock;
	long fl = cap_sys2(SYS_fcntl, fd, F_GETFL);
	bool nb = fl >= 0 && (fl & O_NONBLOCK);
	if (f) {
		f->user_nonblock = nb;
		f->flags_known = 1;
	}
	return nb;
}

void cap__fd_note_nonblock(int fd, bool nb)
{
	struct cap_fd *f = cap__fd(fd);
	if (f) {
		f->bytestream = 0; /* F_SETFL may have set O_DIRECT */
		f->user_nonblock = nb;
		f->flags_known = 1;
	}
}

bool cap__fd_we_nonblock(int fd)
{
	struct cap_fd *f = cap__fd(fd);
	return f && f->we_nonblock;
}

/* Listening sockets are the one case without a per-call non-blocking
 * variant (accept4's flag applies to the new socket), so we set O_NONBLOCK
 * on them and hide it from F_GETFL. */
int cap__fd_make_nonblock(int fd)
{
	struct cap_fd *f = cap__fd(fd);
	if (f && f->we_nonblock)
		return 0;
	long fl = cap_sys2(SYS_fcntl, fd, F_GETFL);
	if (fl < 0)
		return (int)fl;
	if (f) {
		f->user_nonblock = (fl & O_NONBLOCK) != 0;
		f->flags_known = 1;
	}
	if (!(fl & O_NONBLOCK)) {
		long r = cap_sys3(SYS_fcntl, fd, F_SETFL, fl | O_NONBLOCK);
		if (r < 0)
			return (int)r;
		if (f)
			f->we_nonblock = 1;
	}
	return 0;
}

static uint64_t cap__tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u;
}

uint64_t cap__fd_timeout_ns(int fd, int dir)
{
	struct cap_fd *f = cap__fd(fd);
	if (f && f->timeo_known)
		return dir == CAP_DIR_READ ? f->rcvtimeo_ns : f->sndtimeo_ns;
	struct timeval rcv = { 0, 0 }, snd = { 0, 0 };
	socklen_t len = sizeof rcv;
	uint8_t not_socket = 0;
	if (cap_sys5(SYS_getsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, &len) < 0) {
		not_socket = 1;
	} else {
		len = sizeof snd;
		cap_sys5(SYS_getsockopt, fd, SOL_SOCKET, SO_SNDTIMEO, &snd, &len);
	}
	if (!f)
		return dir == CAP_DIR_READ ? cap__tv_ns(&rcv) : cap__tv_ns(&snd);
	f->rcvtimeo_ns = cap__tv_ns(&rcv);
	f->sndtimeo_ns = cap__tv_ns(&snd);
	f->not_socket = not_socket;
	f->timeo_known = 1;
	return dir == CAP_DIR_READ ? f->rcvtimeo_ns : f->sndtimeo_ns;
}

/* Memory devices (major 1: /dev/null, zero, full, random, urandom) answer
 * every read and write at once; other character devices (terminals, serial
 * lines, input devices) may wait for the outside world. */
static enum cap_fd_kind cap__kind_of(const struct stat *st)
{
	if (S_ISREG(st->st_mode) || S_ISBLK(st->st_mode))
		return CAP_FD_DISK;
	if (S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode))
		return CAP_FD_STREAM;
	if (S_ISCHR(st->st_mode)) {
		/* glibc's major()/minor() decoding, written out: split code calls no libc */
		uint64_t d = st->st_rdev;
		unsigned maj = (unsigned)(((d >> 8) & 0xfff) | ((d >> 32) & ~0xfffull));
		unsigned min = (unsigned)((d & 0xff) | ((d >> 12) & ~0xffull));
		if (maj == 1 && (min == 3 || min == 5 || min == 7 || min == 8 || min == 9))
			return CAP_FD_NEVER_WAITS;
		return CAP_FD_DEVICE;
	}
	return CAP_FD_NEVER_WAITS; /* directories, epoll and event descriptors: nothing to wait for here */
}

enum cap_fd_kind cap__fd_kind(int fd)
{
	struct cap_fd *f = cap__fd(fd);
	if (f && f->kind)
		return (enum cap_fd_kind)f->kind;
	struct stat st;
	if (cap_sys2(SYS_fstat, fd, &st) != 0)
		return CAP_FD_NEVER_WAITS; /* not open: whatever is tried next fails with EBADF */
	enum cap_fd_kind k = cap__kind_of(&st);
	if (f)
		f->kind = (uint8_t)k;
	return k;
}

bool cap__fd_is_disk(int fd) { return cap__fd_kind(fd) == CAP_FD_DISK; }

bool cap__fd_refresh_is_disk(int fd)
{
	struct cap_fd *f = cap__fd(fd);
	if (f)
		f->kind = 0;
	return cap__fd_is_disk(fd);
}

/* A terminal's write has no per-call non-blocking form (RWF_NOWAIT is
 * refused), and O_NONBLOCK on its file description would reach every
 * other process that shares it (the shell).  A second description of the
 * same terminal, opened by the runtime with O_NONBLOCK, gives this process
 * alone writes that never block.  Not for a pseudo-terminal's master:
 * reopening it would make a new terminal. */
int cap__fd_twin(int fd)
{
	struct cap_fd *f = cap__fd(fd);
	if (!f || f->no_twin || f->twin < 0)
		return -1;
	if (f->twin > 0)
		return f->twin - 1;
	char tio[64]; /* the kernel's struct termios fits */
	unsigned ptn;
	f->no_twin = 1;
	if (cap__fd_kind(fd) != CAP_FD_DEVICE || cap_sys3(SYS_ioctl, fd, TCGETS, tio) != 0 ||
	    cap_sys3(SYS_ioctl, fd, TIOCGPTN, &ptn) == 0)
		return -1;
	char path[32] = "/proc/self/fd/", *p = path + 14, digits[12];
	int n = 0;
	for (unsigned v = (unsigned)fd; n == 0 || v; v /= 10)
		digits[n++] = (char)('0' + v % 10);
	while (n)
		*p++ = digits[--n];
	*p = 0;
	long t = cap_sys4(SYS_openat, AT_FDCWD, path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
	struct cap_fd *tf = t >= 0 ? cap__fd((int)t) : NULL;
	if (!tf) {
		if (t >= 0)
			cap_sys1(SYS_close, t);
		return -1;
	}
	cap__fds_runtime(1);
	cap__fd_reset((int)t);
	tf->twin = -(fd + 1);
	f->twin = (int32_t)t + 1;
	f->no_twin = 0;
	return (int)t;
}

void cap__fd_forget_timeouts(int fd)
{
	struct cap_fd *f = cap__fd(fd);
	if (f)
		f->timeo_known = 0;
}

static int cap__fd_register(struct cap_worker *w, int fd, struct cap_fd *f)
{
	if (f->registered)
		return 0;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = (uint64_t)fd };
	long r = cap_sys4(SYS_epoll_ctl, w->io.epfd, EPOLL_CTL_ADD, fd, &ev);
	if (r == -EEXIST)
		r = 0;
	if (r < 0)
		return (int)r;
	f->registered = 1;
	if (fd > cap__fd_hwm)
		cap__fd_hwm = fd;
	return 0;
}

/* In a forked child the epoll instance is still the parent's (shared, like
 * any open file): take a new one and register again what we watched. */
void cap__io_after_fork(struct cap_worker *w)
{
	long ep = cap_sys1(SYS_epoll_create1, EPOLL_CLOEXEC);
	if (ep < 0)
		return;
	cap_sys1(SYS_close, w->io.epfd);
	w->io.epfd = (int)ep;
	for (int fd = 0; fd <= cap__fd_hwm; fd++) {
		struct cap_fd *f = &cap__fds[fd];
		if (!f->registered)
			continue;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = (uint64_t)fd };
		if (cap_sys4(SYS_epoll_ctl, w->io.epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			f->registered = 0;
	}
}

/* A thread parks on epoll: if nobody polls, a parked worker should
 * (cap__mn_unlock wakes it). */
static inline void cap__io_waiter(struct cap_worker *w, int d)
{
	atomic_fetch_add_explicit(&cap__mn.io_waiters, (uint32_t)d, memory_order_relaxed);
	if (d > 0 && !atomic_load_explicit(&cap__mn.poller, memory_order_relaxed))
		w->wakep = cap__mn.n > 1;
}

int cap__fd_wait(int fd, int dir, uint64_t deadline_ns)
{
	struct cap_worker *w = cap__w;
	struct cap_fd *f = cap__fd(fd);
	if (!f)
		return -EBADF;
	uint8_t *ready = dir == CAP_DIR_READ ? &f->rready : &f->wready;
	struct cap_graph_prep prep;
	int r;
	/* With telemetry, the wait's point is found before the lock is taken,
	 * when the descriptor is not ready (telemetry.h): if it became ready
	 * meanwhile, the point is forgotten; if it was ready and no longer
	 * is, it is found as every other time, the lock given up for that. */
	for (;;) {
		bool found = w->tel && !*ready;
		if (found)
			cap__graph_prepare(w->tel, w->current, CAP_WAIT_IO, &prep);
		cap__mn_lock();
		r = cap__fd_register(w, fd, f);
		if (r) {
			cap__mn_unlock(w);
			return r;
		}
		if (*ready) {
			*ready = 0;
			cap__mn_unlock(w);
			return 0;
		}
		if (found || !w->tel)
			break;
		cap__mn_unlock(w);
	}
	cap__io_waiter(w, 1);
	r = cap__block_prepared(dir == CAP_DIR_READ ? &f->readers : &f->writers, deadline_ns, CAP_WAIT_IO,
				(const void *)(intptr_t)fd, w->tel ? &prep : NULL);
	cap__io_waiter(cap__w, -1);
	return r;
}

/* poll(): one node per descriptor, on the caller's stack, in each
 * descriptor's list of pollers. */
int cap__fd_wait_many(struct cap_pollwait *nodes, const int *fds, int n, uint64_t deadline_ns, int why)
{
	struct cap_worker *w = cap__w;
	struct cap_thread *me = w->current;
	int r = 0, linked = 0;
	cap__graph_prefetch(w);
	cap__mn_lock();
	for (; linked < n; linked++) {
		struct cap_fd *f = cap__fd(fds[linked]);
		if (!f || (r = cap__fd_register(w, fds[linked], f)) != 0)
			break;
		struct cap_pollwait *pw = &nodes[linked];
		pw->t = me;
		pw->prev = NULL;
		pw->next = f->pollers;
		if (f->pollers)
			f->pollers->prev = pw;
		f->pollers = pw;
	}
	bool ready = false;
	for (int i = 0; i < linked; i++) {
		struct cap_fd *f = cap__fd(fds[i]);
		ready |= f->rready | f->wready;
		f->rready = f->wready = 0;
	}
	if (linked == n && !ready) {
		cap__io_waiter(w, 1);
		r = cap__block(NULL, deadline_ns, (enum cap_wait_reason)why, nodes);
		cap__mn_lock();
		cap__io_waiter(w, -1);
	}
	for (int i = 0; i < linked; i++) {
		struct cap_fd *f = cap__fd(fds[i]);
		struct cap_pollwait *pw = &nodes[i];
		if (pw->prev)
			pw->prev->next = pw->next;
		else if (f->pollers == pw)
			f->pollers = pw->next;
		if (pw->next)
			pw->next->prev = pw->prev;
	}
	cap__mn_unlock(cap__w);
	return r;
}

static void cap__fd_wake(struct cap_fd *f, uint32_t ev, int result)
{
	bool polled = f->pollers != NULL;
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
		if (ev & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
			f->hup = 1;
		atomic_fetch_add_explicit(&f->redges, 1, memory_order_release);
		f->rready = !f->readers.head && !polled;
		cap__wake_all(&f->readers, result);
	}
	if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
		f->wready = !f->writers.head && !polled;
		cap__wake_all(&f->writers, result);
	}
	for (struct cap_pollwait *pw = f->pollers; pw; pw = pw->next)
		cap__wake(pw->t, result);
}

/* The program closes (or replaces) fd: forget it, and wake its waiters
 * with EBADF rather than leave them parked on a descriptor that is gone. */
void cap__fd_reset(int fd)
{
	struct cap_fd *f = cap__fd(fd);
	if (!f)
		return;
	struct cap_worker *w = cap__w;
	if (f->registered && w)
		cap_sys4(SYS_epoll_ctl, w->io.epfd, EPOLL_CTL_DEL, fd, NULL);
	if (w) {
		cap__mn_lock();
		cap__fd_wake(f, EPOLLIN | EPOLLOUT, -EBADF);
		cap__mn_unlock(w);
	}
	f->flags_known = f->user_nonblock = f->we_nonblock = f->registered = 0;
	f->timeo_known = f->not_socket = f->kind = f->no_twin = 0;
	f->rready = f->wready = f->bytestream = f->hup = 0;
	atomic_store_explicit(&f->drained, 0, memory_order_relaxed);
	int32_t twin = f->twin;
	f->twin = 0;
	if (twin > 0) { /* the terminal goes: so does its twin */
		cap__fd_reset(twin - 1);
		if (cap_sys1(SYS_close, twin - 1) == 0)
			cap__fds_runtime(-1);
	} else if (twin < 0 && cap__fd(-twin - 1)) { /* the twin itself went (closed by the program) */
		cap__fds[-twin - 1].twin = 0;
	}
}

/* Descriptor `to` now refers to what `from` does (dup): same flags. */
void cap__fd_copy(int from, int to)
{
	struct cap_fd *a = cap__fd(from), *b = cap__fd(to);
	if (!a || !b)
		return;
	b->flags_known = a->flags_known;
	b->user_nonblock = a->user_nonblock;
	b->we_nonblock = a->we_nonblock;
}

/* ---- Drained sockets (nginx's rev->ready = 0) --------------------------- */

/* A short read of a TCP socket or a pipe means it was empty, and whatever
 * comes after brings an edge.  Not of a UNIX socket (a read stops where the
 * writer changes, or at passed descriptors), a datagram socket or a pipe in
 * packet mode (O_DIRECT): each may hold more after a short read. */
static bool cap__fd_bytestream(int fd)
{
	int v = 0;
	socklen_t len = sizeof v;
	long r = cap_sys5(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, &v, &len);
	if (r == -ENOTSOCK) {
		long fl = cap_sys2(SYS_fcntl, fd, F_GETFL);
		return cap__fd_kind(fd) == CAP_FD_STREAM && fl >= 0 && !(fl & O_DIRECT);
	}
	if (r != 0 || v != IPPROTO_TCP)
		return false;
	len = sizeof v;
	return cap_sys5(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_STREAM;
}

uint32_t cap__fd_read_begin(int fd)
{
	struct cap_fd *f = cap__fd(fd);
	if (!f || !f->registered)
		return 0;
	uint32_t e = atomic_load_explicit(&f->redges, memory_order_acquire);
	uint32_t d = atomic_load_explicit(&f->drained, memory_order_relaxed);
	if (d && d - 1 == e && !f->hup && f->flags_known && !f->user_nonblock)
		return CAP_READ_DRAINED;
	return e + 1;
}

void cap__fd_read_drained(int fd, uint32_t begin)
{
	struct cap_fd *f = cap__fd(fd);
	if (!f || !begin || begin == CAP_READ_DRAINED)
		return;
	if (!f->bytestream)
		f->bytestream = cap__fd_bytestream(fd) ? 1 : 2;
	if (f->bytestream == 1)
		atomic_store_explicit(&f->drained, begin, memory_order_relaxed);
}

/* poll saw fd readable, maybe before the poller saw its edge: the read
 * that follows must ask the kernel. */
long cap__fd_poll_saw(const struct pollfd *fds, nfds_t n, long r)
{
	for (nfds_t i = 0; r > 0 && i < n; i++) {
		struct cap_fd *f = cap__fd(fds[i].fd);
		if (f && (fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)))
			atomic_store_explicit(&f->drained, 0, memory_order_relaxed);
	}
	return r;
}

/* ---- The poller --------------------------------------------------------- */

extern void cap__disk_complete(struct cap_worker *w);
extern void cap__signals_deliver(struct cap_worker *w);
extern void cap__pool_complete(struct cap_worker *w);

void cap__io_poll(struct cap_worker *w, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	/* Idle (the poller, on its own context): let through what some thread
	 * accepts now. */
	if (timeout_ns != 0)
		cap__sig_idle_settle(w);
	long n = cap_sys6l(SYS_epoll_pwait2, w->io.epfd, w->io.events, CAP_IO_EVENTS, tsp, NULL, 8);
	if (n == -ENOSYS) {
		int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
		n = cap_sys6l(SYS_epoll_pwait, w->io.epfd, w->io.events, CAP_IO_EVENTS, ms, NULL, 8);
	}
	/* Descriptor and signal events under the wait lock, taken once for up
	 * to CAP_IO_BATCH of them in a row rather than once per event, and
	 * released around the others, which take it themselves. */
	int held = 0;
	if (n > 0)
		cap__tel_wake_batch(w, true);
	for (long i = 0; i < n; i++) {
		uint64_t tag = w->io.events[i].data.u64;
		if (held && (tag == CAP_TAG_DISK || tag == CAP_TAG_POOL || tag == CAP_TAG_KICK || held == CAP_IO_BATCH)) {
			cap__mn_unlock(w);
			held = 0;
		}
		if (tag == CAP_TAG_DISK) {
			cap__disk_complete(w);
			continue;
		}
		if (tag == CAP_TAG_POOL) {
			cap__pool_complete(w);
			continue;
		}
		if (tag == CAP_TAG_KICK) {
			uint64_t v;
			cap_sys3(SYS_read, cap__mn.kick_fd, &v, sizeof v);
			atomic_store(&cap__mn.kicked, 0);
			continue;
		}
		if (!held)
			cap__mn_lock();
		held++;
		if (tag >= CAP_TAG_SIGNAL && tag < CAP_TAG_SIGNAL + cap__mn.n) /* the trampoline ran on that worker */
			cap__signals_deliver(cap__mn.workers[tag - CAP_TAG_SIGNAL]);
		else if (tag < cap__nfds)
			cap__fd_wake(&cap__fds[tag], w->io.events[i].events, 0);
	}
	if (held)
		cap__mn_unlock(w);
	if (n > 0)
		cap__tel_wake_batch(w, false);
	if (n == -EINTR) {
		cap__mn_lock();
		cap__signals_deliver(w);
		cap__mn_unlock(w);
	}
}

/* Wakes the poller out of epoll_wait (mn.c: cap__mn_kick). */
void cap__mn_kick_init(void)
{
	long fd = cap_sys2(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return;
	cap__fds_runtime(1);
	if (cap__io_add_internal((int)fd, CAP_TAG_KICK) == 0)
		cap__mn.kick_fd = (int)fd;
}
