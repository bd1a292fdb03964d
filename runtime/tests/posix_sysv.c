/* System V message queues and semaphores, and eventfd_read/eventfd_write:
 * a call that waits (for a message, for room in a queue, for a semaphore,
 * for a counter) parks only its caller, with the kernel's results —
 * IPC_NOWAIT, semtimedop's timeout (EAGAIN), EINTR when a handler runs,
 * SA_RESTART or not (the kernel never restarts these). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "in_syscall.h"
#include "sigtest.h"
#include "tap.h"
#include "ticker.h"

struct msg {
	long type;
	char text[8];
};

static int queue, sems, counter;

static void *send_later(void *a)
{
	ticker_await(TICKER_MIN);
	struct msg m = { 7, "hello" };
	CHECK_EQ(msgsnd(queue, &m, sizeof m.text, 0), 0);
	return a;
}

static void msgrcv_parks_only_the_caller(void)
{
	queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	CHECK(queue >= 0);
	struct msg m;
	errno = 0;
	CHECK_EQ(msgrcv(queue, &m, sizeof m.text, 0, IPC_NOWAIT), -1);
	CHECK_EQ(errno, ENOMSG);
	ticker_start();
	pthread_t t;
	pthread_create(&t, NULL, send_later, NULL);
	TICKER_OPEN();
	CHECK_EQ(msgrcv(queue, &m, sizeof m.text, 0, 0), (long)sizeof m.text);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(m.type, 7);
	CHECK(strcmp(m.text, "hello") == 0);
	pthread_join(t, NULL);
	ticker_stop();
	msgctl(queue, IPC_RMID, NULL);
}

static void *receive_later(void *a)
{
	ticker_await(TICKER_MIN);
	struct msg m;
	CHECK_EQ(msgrcv(queue, &m, sizeof m.text, 0, 0), (long)sizeof m.text);
	return a;
}

/* A queue of 16 bytes holds two messages: the third waits for room. */
static void msgsnd_on_a_full_queue_parks_only_the_caller(void)
{
	queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	struct msqid_ds ds;
	CHECK_EQ(msgctl(queue, IPC_STAT, &ds), 0);
	ds.msg_qbytes = 16;
	CHECK_EQ(msgctl(queue, IPC_SET, &ds), 0);
	struct msg m = { 1, "full" };
	CHECK_EQ(msgsnd(queue, &m, sizeof m.text, IPC_NOWAIT), 0);
	CHECK_EQ(msgsnd(queue, &m, sizeof m.text, IPC_NOWAIT), 0);
	errno = 0;
	CHECK_EQ(msgsnd(queue, &m, sizeof m.text, IPC_NOWAIT), -1);
	CHECK_EQ(errno, EAGAIN);
	ticker_start();
	pthread_t t;
	pthread_create(&t, NULL, receive_later, NULL);
	TICKER_OPEN();
	CHECK_EQ(msgsnd(queue, &m, sizeof m.text, 0), 0);
	CHECK_TICKED(TICKER_CLOSE());
	pthread_join(t, NULL);
	CHECK_EQ(msgctl(queue, IPC_STAT, &ds), 0);
	CHECK_EQ((long)ds.msg_qnum, 2);
	ticker_stop();
	msgctl(queue, IPC_RMID, NULL);
}

static void *post_later(void *a)
{
	ticker_await(TICKER_MIN);
	struct sembuf up = { 0, 2, 0 };
	CHECK_EQ(semop(sems, &up, 1), 0);
	return a;
}

/* Two operations at once, applied together or not at all. */
static void semop_parks_only_the_caller(void)
{
	sems = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
	CHECK(sems >= 0);
	struct sembuf both[2] = { { 0, -2, 0 }, { 1, 1, SEM_UNDO } };
	errno = 0;
	struct sembuf nowait[2] = { { 0, -2, IPC_NOWAIT }, { 1, 1, 0 } };
	CHECK_EQ(semop(sems, nowait, 2), -1);
	CHECK_EQ(errno, EAGAIN);
	ticker_start();
	pthread_t t;
	pthread_create(&t, NULL, post_later, NULL);
	TICKER_OPEN();
	CHECK_EQ(semop(sems, both, 2), 0);
	CHECK_TICKED(TICKER_CLOSE());
	pthread_join(t, NULL);
	CHECK_EQ(semctl(sems, 0, GETVAL), 0);
	CHECK_EQ(semctl(sems, 1, GETVAL), 1);
	ticker_stop();
}

static long wait_50ms(void)
{
	struct sembuf down = { 0, -1, 0 };
	struct timespec ts = { 0, 50000000 };
	errno = 0;
	long r = semtimedop(sems, &down, 1, &ts);
	CHECK_EQ(errno, EAGAIN);
	return r;
}

static void semtimedop_times_out_parking_only_the_caller(void)
{
	ticker_start();
	TICKER_OPEN();
	TICKER_REPEAT(CHECK_EQ(wait_50ms(), -1));
	CHECK_TICKED(TICKER_CLOSE());
	ticker_stop();
	semctl(sems, 0, IPC_RMID);
}

static pthread_t main_thread;
static void *interrupt_msgrcv(void *a)
{
	if (in_syscall(SYS_msgrcv, (unsigned long)queue))
		pthread_kill(main_thread, SIGUSR1);
	return a;
}

/* Even under SA_RESTART: msgrcv is never restarted after a handler. */
static void a_handler_interrupts_msgrcv(void)
{
	queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	main_thread = pthread_self();
	sig_reset();
	sig_install(SIGUSR1, sig_record, SA_RESTART);
	pthread_t t;
	pthread_create(&t, NULL, interrupt_msgrcv, NULL);
	struct msg m;
	errno = 0;
	CHECK_EQ(msgrcv(queue, &m, sizeof m.text, 0, 0), -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(sig_runs, 1);
	CHECK(pthread_equal(sig_ran_in, main_thread));
	pthread_join(t, NULL);
	signal(SIGUSR1, SIG_DFL);
	msgctl(queue, IPC_RMID, NULL);
}

static void *count_later(void *a)
{
	ticker_await(TICKER_MIN);
	CHECK_EQ(eventfd_write(counter, 5), 0);
	return a;
}

static void eventfd_read_parks_only_the_caller(void)
{
	counter = eventfd(0, 0);
	ticker_start();
	pthread_t t;
	pthread_create(&t, NULL, count_later, NULL);
	TICKER_OPEN();
	eventfd_t v = 0;
	CHECK_EQ(eventfd_read(counter, &v), 0);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(v, 5u);
	pthread_join(t, NULL);
	ticker_stop();
	close(counter);
}

int main(void)
{
	RUN(msgrcv_parks_only_the_caller);
	RUN(msgsnd_on_a_full_queue_parks_only_the_caller);
	RUN(semop_parks_only_the_caller);
	RUN(semtimedop_times_out_parking_only_the_caller);
	RUN(a_handler_interrupts_msgrcv);
	RUN(eventfd_read_parks_only_the_caller);
	TAP_DONE();
}
