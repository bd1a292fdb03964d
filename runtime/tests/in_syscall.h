/* Has a blocking call reached the kernel?  /proc/self/task/TID/syscall
 * names the system call each thread sits in, with its arguments. */
#ifndef CAP_IN_SYSCALL_H
#define CAP_IN_SYSCALL_H
#include <dirent.h>
#include <stdio.h>
#include <time.h>

/* Whether some thread of this process sits in system call `nr` with first
 * argument `arg0`: the call has reached the kernel and blocks there. */
static int in_syscall_now(long nr, unsigned long arg0)
{
	DIR *d = opendir("/proc/self/task");
	int found = 0;
	struct dirent *e;
	while (d && !found && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], line[256];
		snprintf(path, sizeof path, "/proc/self/task/%s/syscall", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		long n;
		unsigned long a;
		if (fgets(line, sizeof line, f) && sscanf(line, "%ld %lx", &n, &a) == 2 && n == nr && a == arg0)
			found = 1;
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

/* Waits for it (a minute at most: a hang is reported, not waited out). */
static int in_syscall(long nr, unsigned long arg0)
{
	for (int i = 0; i < 60000; i++) {
		if (in_syscall_now(nr, arg0))
			return 1;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	fprintf(stderr, "  no thread ever entered system call %ld(%#lx, ...)\n", nr, arg0);
	return 0;
}

#endif
