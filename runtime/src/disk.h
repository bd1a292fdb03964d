/* A disk request, living on the requesting thread's stack until done. */
#ifndef CAP_DISK_H
#define CAP_DISK_H

#include "io.h"

struct cap_disk_req {
	enum cap_disk_op op;
	int fd;
	const struct iovec *iov;
	int iovcnt;
	int64_t off;
	long result;
	volatile int done;
	struct cap_thread *t;
};

enum cap_disk_backend { CAP_DISK_NONE = 0, CAP_DISK_URING, CAP_DISK_THREADS };

/* disk_sys.c, run on the system stack */
void cap__disk_setup_sys(void *unused);    /* picks the backend: cap__disk_backend */
void cap__disk_submit_sys(void *req);      /* struct cap_disk_req * */
void cap__disk_reap_sys(void *w);          /* wakes finished requests' threads */
void cap__disk_forget_sys(void *unused);   /* after fork, in the child */
/* Process-wide: chosen once, from CAPRICCIO_DISK and what the kernel
 * offers.  (Requests the kernel refused to take, being short of memory,
 * wait in the worker's ring: disk.sq_waiting, offered again soon.) */
extern enum cap_disk_backend cap__disk_backend;

#endif
