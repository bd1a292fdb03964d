// C++ thread_local objects with destructors: each thread constructs its own
// on first use and destroys it when it ends, with its own values; main's is
// destroyed once, before the exit handlers run (glibc's order).
#include <pthread.h>
#include <stdint.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"

static long destroyed_sum, destroyed_count;

struct Session {
	std::string name = "unset";
	long id = 0;
	~Session()
	{
		__atomic_add_fetch(&destroyed_sum, id, __ATOMIC_RELAXED);
		__atomic_add_fetch(&destroyed_count, 1, __ATOMIC_RELAXED);
	}
};
thread_local Session session;

static void *use_session(void *arg)
{
	long id = (long)(intptr_t)arg;
	bool fresh = session.name == "unset" && session.id == 0;
	session.id = id;
	session.name.assign(64, (char)('a' + id)); // on the heap: a shared object would be freed twice
	usleep(1000);
	return (void *)(intptr_t)(fresh && session.id == id && session.name == std::string(64, (char)('a' + id)));
}

static void each_thread_destroys_its_own_object(void)
{
	pthread_t t[8];
	for (long i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, use_session, (void *)(intptr_t)(i + 1));
	long ok = 0;
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok += (intptr_t)r;
	}
	CHECK_EQ(ok, 8);
	CHECK_EQ(destroyed_count, 8);
	CHECK_EQ(destroyed_sum, 36);
}

// exit() called by a thread destroys that thread's objects before the exit
// handlers run (here: in a child process, whose exit status tells).
static void child_checks_at_exit(void) { _exit(destroyed_count == 1 && destroyed_sum == 7 ? 0 : 3); }

static void *exit_with_session(void *)
{
	session.id = 7;
	session.name.assign(64, 'e');
	usleep(1000);
	exit(0);
}

static void exit_from_a_thread_destroys_its_objects(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		destroyed_count = destroyed_sum = 0;
		atexit(child_checks_at_exit);
		pthread_t t;
		pthread_create(&t, NULL, exit_with_session, NULL);
		pthread_join(t, NULL);
		_exit(4); // not reached: the thread exits the process
	}
	int st = -1;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
}

static void mains_object_is_destroyed_once_before_exit_handlers(void)
{
	if (destroyed_count != 9 || destroyed_sum != 36 + 100) {
		printf("not ok - at exit, %ld objects destroyed (sum %ld), expected 9 (sum 136)\n", destroyed_count,
		       destroyed_sum);
		fflush(stdout);
		_exit(1);
	}
}

int main(void)
{
	RUN(each_thread_destroys_its_own_object);
	RUN(exit_from_a_thread_destroys_its_objects);
	session.id = 100;
	session.name = "main";
	atexit(mains_object_is_destroyed_once_before_exit_handlers);
	TAP_DONE();
}
