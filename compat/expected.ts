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

export const EXPECTED_FAILURES: Readonly<Record<string, ExpectedFailure>> = {};
