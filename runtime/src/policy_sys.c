/* The resource-aware policy's readings (policy.c), on the system stack:
 * the descriptor limit, the memory limit and the memory in use — resident
 * bytes against CAPRICCIO_MEMORY_LIMIT, address space against RLIMIT_AS
 * (which is what that limit limits: stacks reserve far more than they touch). */
#include "internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int cap__statm = -1;
static bool cap__memory_from_env;

void cap__policy_read_sys(void *arg)
{
	struct cap_policy_limits *l = arg;
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r) == 0)
		l->fd_limit = r.rlim_cur == RLIM_INFINITY ? 0 : r.rlim_cur;
	if (!cap__memory_from_env && getrlimit(RLIMIT_AS, &r) == 0)
		l->memory_limit = r.rlim_cur == RLIM_INFINITY ? 0 : r.rlim_cur;
	if (!l->memory_limit)
		return;
	if (cap__statm < 0)
		cap__statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	char buf[128];
	ssize_t n = cap__statm >= 0 ? pread(cap__statm, buf, sizeof buf - 1, 0) : -1;
	if (n <= 0)
		return;
	buf[n] = 0;
	unsigned long size, resident;
	if (sscanf(buf, "%lu %lu", &size, &resident) == 2)
		l->memory_bytes = (uint64_t)(cap__memory_from_env ? resident : size) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* At start: the limits from the environment and what is open already. */
void cap__policy_init_sys(uint64_t memory_limit, uint64_t stack_limit)
{
	cap__memory_from_env = memory_limit != 0;
	cap__limits.memory_limit = memory_limit;
	cap__limits.stack_limit = stack_limit;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		uint64_t n = 0;
		for (struct dirent *e; (e = readdir(d));)
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
		cap__limits.fds_at_start = n ? n - 1 : 0; /* not the directory's own */
	}
	cap__policy_read_sys(&cap__limits);
}
