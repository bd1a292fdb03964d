// What a compat program is to the runner: a main of ours built twice against a real library,
// and how to drive one build and observe it.

export interface Build {
  /** e.g. "zstd (capcc build)": names the program and the build in every message. */
  readonly label: string;
  /** The executable. */
  readonly binary: string;
  /** An empty directory of its own, removed afterwards. */
  readonly scratch: string;
}

export interface Observation {
  /** What the two builds must agree on exactly, line by line. */
  readonly output: string;
  /** The invariants this run broke (each build is checked on its own too). */
  readonly problems: readonly string[];
}

export interface CompatProgram {
  /** Names it in the runner's report and in compat/expected.ts. */
  readonly name: string;
  /** The executable under compat/build/capcc/ and compat/build/pthread/ (see compat/Makefile). */
  readonly binary: string;
  /** The library and where it comes from. */
  readonly library: string;
  /** How it uses threads: what it exercises. */
  readonly threads: string;
  /** Runs one build (throws ProgramFailure when it hangs, crashes or exits non-zero). */
  observe(build: Build): Promise<Observation>;
}

/** `problem` when `ok` is false, for building a problems list. */
export const unless = (ok: boolean, problem: string): string[] => (ok ? [] : [problem]);
