/* Interfaces between the POSIX I/O shim and the I/O backends. */
#ifndef CAP_IO_H
#define CAP_IO_H

#include "internal.h"
#include <sys/uio.h>
#include <time.h>

#define CAP_DIR_READ 0
#define CAP_DIR_WRITE 1

/* epoll data tags for the runtime's own descriptors (real fds are < 2^31). */
#define CAP_TAG_DISK (1ULL << 40)
#define CAP_TAG_SIGNAL (1ULL << 41) /* + the worker's id: its handlers ran */
#define CAP_TAG_POOL ((1ULL << 40) + 2)
#define CAP_TAG_KICK ((1ULL << 40) + 3) /* mn.c: the poller must look again */
void cap__mn_kick_init(void);

struct cap_pollwait {
	struct cap_pollwait *next, *prev;
	struct cap_thread *t;
};

/* A timeout the kernel accepts, and its length. */
static inline bool cap__ts_valid(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}
static inline uint64_t cap__ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* io.c: the epoll backend */
int cap__fd_wait(int fd, int dir, uint64_t deadline_ns); /* 0, -ETIMEDOUT, -EINTR, -EBADF, -EPERM (not pollable) */
int cap__fd_wait_many(struct cap_pollwait *nodes, const int *fds, int n, uint64_t deadline_ns, int why);
bool cap__fd_user_nonblock(int fd);
/* Reads of a descriptor known empty (io.c).  Before a read: its edge count
 * (+1; 0: not watched), or CAP_READ_DRAINED when no edge came since a
 * read found it empty — park for one instead.  After a short read:
 * cap__fd_read_drained with what read_begin said (it ignores 0).  poll (and select,
 * through it), having seen a descriptor readable, passes its result through
 * cap__fd_poll_saw (it returns r), which forgets what reads knew. */
#define CAP_READ_DRAINED UINT32_MAX
uint32_t cap__fd_read_begin(int fd);
void cap__fd_read_drained(int fd, uint32_t begin);
struct pollfd;
long cap__fd_poll_saw(const struct pollfd *fds, unsigned long n, long r);
/* What a descriptor is, as far as waiting goes (cached until it is closed). */
enum cap_fd_kind {
	CAP_FD_DISK = 1,        /* regular file or block device */
	CAP_FD_STREAM = 2,      /* pipe, FIFO or socket */
	CAP_FD_DEVICE = 3,      /* terminal or another character device that may wait */
	CAP_FD_NEVER_WAITS = 4, /* /dev/null and the other memory devices, directories, ... */
};
enum cap_fd_kind cap__fd_kind(int fd);
bool cap__fd_is_disk(int fd); /* regular file or block device (cached) */
int cap__fd_twin(int fd); /* a terminal's own non-blocking description for writes, or -1 */
bool cap__fd_refresh_is_disk(int fd);
void cap__fd_note_nonblock(int fd, bool nb);
bool cap__fd_we_nonblock(int fd);
int cap__fd_make_nonblock(int fd);
uint64_t cap__fd_timeout_ns(int fd, int dir); /* SO_RCVTIMEO / SO_SNDTIMEO, 0 = none */
void cap__fd_forget_timeouts(int fd);
void cap__fd_copy(int from, int to);
int cap__io_add_internal(int fd, uint64_t tag);

/* posix_io.c: what the blocking calls share */
/* Buffers of an iovec array a call goes on with after a partial transfer,
 * copied into its frame: a window of the rest, taken again from the whole
 * array each round.  Small, as those frames are on every blocking read and
 * write (a first chunk has about 3 KiB). */
#define CAP_IOV_LOCAL 8
void cap__fd_new(int fd, bool nonblock); /* a descriptor the program just got */
/* One blocking call's waits on a descriptor (SO_RCVTIMEO / SO_SNDTIMEO
 * give its deadline, read once, when it first has to wait). */
struct cap_park {
	uint64_t deadline;
	uint32_t intr; /* the thread's intr_runs when the call began */
	bool started;
};
/* At the start of a call that may park.  A handler without SA_RESTART that
 * runs for the thread from then on interrupts the call (EINTR), even if it
 * ran before the thread parked — during the call's non-blocking attempt,
 * or on another worker — as it would interrupt the kernel's blocking call:
 * else the program's flag set by the handler (knot's `stopping`, checked
 * before accept) is never looked at again. */
static inline struct cap_park cap__park_begin(void)
{
	struct cap_worker *w = cap__w;
	return (struct cap_park){ .intr = w ? w->current->intr_runs : 0 };
}
/* The non-blocking attempt said EAGAIN: wait until fd is ready for `dir`.
 * Returns 0 to try again, else the error the program sees: -EAGAIN when it
 * asked not to block (its own O_NONBLOCK or MSG_DONTWAIT) or the socket
 * timeout passed, -EINTR, -EBADF, -EPERM (epoll cannot watch it). */
int cap__park(int fd, int dir, struct cap_park *pk, bool dontwait);
int cap__iov_window(const struct iovec *iov, int cnt, size_t done, struct iovec *local);
size_t cap__iov_len(const struct iovec *iov, int cnt);

/* A kernel result as the program sees it: -1 and errno for an error. */
static inline long cap__ret(long r)
{
	if (r < 0 && r > -4096) {
		cap__set_errno((int)-r);
		return -1;
	}
	return r;
}

/* disk.c: regular-file I/O through io_uring or helper threads.
 * Returns the byte count or -errno. */
enum cap_disk_op { CAP_DISK_READ, CAP_DISK_WRITE, CAP_DISK_FSYNC, CAP_DISK_FDATASYNC };
long cap__disk_io(enum cap_disk_op op, int fd, const struct iovec *iov, int iovcnt, int64_t off);
const char *cap__disk_backend_name(void);

/* posix_lock.c: fcntl's F_SETLKW and F_OFD_SETLKW */
int cap__fcntl_lock_wait(int fd, int cmd, long arg);

/* signal.c */
void cap__signals_deliver(struct cap_worker *w);

/* True when the caller is a user thread that may park (not the scheduler,
 * not a foreign kernel thread, not a signal handler). */
static inline bool cap__can_park(void)
{
	struct cap_worker *w = cap__w;
	return w && w->current != &w->sched && !w->sig.in_handler;
}

#endif
