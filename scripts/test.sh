#!/usr/bin/env bash
# Everything that `npm test` runs: dependencies, build, lint, C tests (with 1, 2 and 4 workers, and
# against the checked build), the compatibility suite (compat/), Node tests, the demo (short), and the
# VS Code tests (extension host and UI, in code-server, with the packaged .vsix).
# Every suite always runs; the script fails at the end if any failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

heading() { printf '\n==== %s ====\n' "$*"; }

heading 'dependencies (scripts/setup-deps.sh)'
bash scripts/setup-deps.sh

heading 'build (npm run build)'
npm run --silent build

failed=()

heading 'lint (npm run lint: ESLint with typescript-eslint, type-checked, zero warnings)'
npm run --silent lint || failed+=('lint')

# Once per worker count: one, two, and four (more workers than this
# machine's cores, to shake out races).  Without CAPRICCIO_WORKERS a program
# runs one worker per CPU it may use.
for workers in 1 2 4; do
	heading "C tests with CAPRICCIO_WORKERS=$workers (make -C runtime test)"
	CAPRICCIO_WORKERS=$workers make -C runtime test || failed+=("C tests with $workers worker(s)")
done

# The runtime built with its invariants asserted (make -C runtime checked: CAP_CHECK in
# runtime/src/internal.h), with more workers than cores.
heading 'C tests against the checked build, CAPRICCIO_WORKERS=4 (make -C runtime checked)'
CAPRICCIO_WORKERS=4 make -C runtime checked || failed+=('C tests against the checked build')

heading 'compatibility suite (npm run test:compat: real threaded C libraries, capcc build against pthread build)'
npm run --silent test:compat || failed+=('compatibility suite')

# A test still running after 5 minutes fails (the slowest takes 15 s here), and the runner exits once
# every test has ended even if a hung child would keep a file's process alive.
heading 'Node tests (npm run test:node)'
npm run --silent test:node || failed+=('Node tests')

heading 'the demo, short (bash scripts/demo.sh --seconds 2: the same script and checks as npm run demo)'
demo_out=$(mktemp -d -t capriccio-demo-test.XXXXXX)
bash scripts/demo.sh --seconds 2 --out "$demo_out" || failed+=('demo')
rm -rf "$demo_out"

heading 'VS Code tests (npm run test:vscode)'
npm run --silent test:vscode || failed+=('VS Code tests')

if ((${#failed[@]} > 0)); then
	heading "FAILED: $(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')"
	exit 1
fi
heading 'all tests passed'
