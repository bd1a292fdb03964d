// The compat programs that cannot pass today, each for a gap in the runtime that another part of
// the work is closing. The runner reports each as "expected to fail" while it fails the way
// `symptom` says, and fails the suite when it passes (then remove its entry here) or when it
// fails some other way.

export interface ExpectedFailure {
  /** Why it fails today. */
  readonly reason: string;
  /** The work that fixes it. */
  readonly fixedBy: string;
  /** Matches the runner's account of the failure (e.g. the system call it hangs in). */
  readonly symptom: RegExp;
}

const EPOLL = 'issue 11: epoll_wait/epoll_pwait under Capriccio';

export const EXPECTED_FAILURES: Readonly<Record<string, ExpectedFailure>> = {
  // gdb: epoll_wait(timeout=-1) <- libuv.so <- uv_run <- main
  libuv: {
    reason:
      "uv_run's epoll_wait(-1) goes straight to the kernel and blocks the one worker kernel thread, so the pool's threads (user threads on it) never run the work the loop waits for",
    fixedBy: EPOLL,
    symptom: /hangs while running: .* in epoll_wait /,
  },
  // gdb: epoll_wait(timeout=-1) <- libmicrohttpd.so <- cap__thread_main (a pool thread)
  'microhttpd-pool': {
    reason:
      "a pool thread's epoll_wait(-1) goes straight to the kernel: requests are answered (the kernel wakes it for each), but the main thread never runs again to see its stdin close and stop the daemon",
    fixedBy: EPOLL,
    symptom: /hangs after its standard input closed .* in epoll_wait /,
  },
};
