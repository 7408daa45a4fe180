#!/usr/bin/env bash
# The GitHub Actions workflows (.github/workflows/*.yml): what they
# promise. Every CI job is a thin call of script/ci in a mode that
# script/test or .ci/run also runs; job containers only where GitHub's
# runners allow them, the containers job on the runner itself; the deploy's
# migrations, health gate and rollback. The workflow linters themselves
# (action-validator, actionlint) run in script/ci lint, with shellcheck and
# cppcheck.
#
#   tests/ops/workflows_test.sh
#
# Needs python3 with yaml (python3-yaml). Prints "N passed, N failed" last;
# exits non-zero on any failure.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WF=$ROOT/.github/workflows
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY=/usr/bin/python3
if ! "$PY" -c 'import yaml' 2>/dev/null; then
	fail "python3-yaml" "not installed (script/bootstrap)"
	finish
fi
workflows=("$WF"/*.yml)
if [ ! -e "${workflows[0]}" ]; then
	fail "workflows exist" "no .github/workflows/*.yml"
	finish
fi

# Every job of ci.yml: its steps are set-up (apt-get for git, checkout,
# setup-node, safe.directory, Debian's keyring) and one run of script/ci
# MODE; each MODE is one that script/test or .ci/run runs here.
ci_thin_jobs() {
	"$PY" - "$WF/ci.yml" "$ROOT/script/test" "$ROOT/.ci/run" "$ROOT/script/ci" <<'EOF'
import re, sys, yaml
ci = yaml.safe_load(open(sys.argv[1]))
test, cirun, script_ci = (open(p).read() for p in sys.argv[2:5])
# What runs here: script/test's default (unit + lint, integration, build)
# and .ci/run's (script/test, then script/test --containers).
here = {"lint": "run_lint" in test and "script/ci\" lint" in test.replace('"$BS_ROOT/', '"'),
        "unit": "bash script/test " in cirun or "script/test 2>&1" in cirun,
        "integration": "script/test 2>&1" in cirun,
        "build": "script/test 2>&1" in cirun,
        "containers": "script/test --containers" in cirun,
        "publish": True}   # only after containers, on pushes: no registry here
setup = re.compile(r"^(apt-get update -qq && apt-get install .*git ca-certificates"
                   r"|git config --global --add safe\.directory .*"
                   r"|sudo apt-get update -qq && sudo apt-get install -y -qq debian-archive-keyring)$")
bad, modes = [], set()
for name, job in ci["jobs"].items():
    if name == "scan":
        continue        # report only; documented in ci.yml
    calls = []
    for step in job["steps"]:
        if "uses" in step:
            if not step["uses"].split("@")[0] in ("actions/checkout", "actions/setup-node"):
                bad.append("%s: uses %s" % (name, step["uses"]))
            continue
        run = step["run"].strip()
        m = re.fullmatch(r"(?:sudo (?:--preserve-env=\S+ )?)?script/ci (\w+)", run)
        if m:
            calls.append(m.group(1))
        elif not setup.match(run):
            bad.append("%s: a step that is not set-up nor script/ci: %s" % (name, run[:80]))
    main = [c for c in calls if c != "publish"]
    if len(main) != 1:
        bad.append("%s: %d script/ci calls" % (name, len(main)))
    for c in calls:
        modes.add(c)
        if not re.search(r"^%s\)" % c, script_ci, re.M):
            bad.append("%s: script/ci has no mode %s" % (name, c))
        elif not here.get(c):
            bad.append("%s: script/ci %s is not run here (script/test, .ci/run)" % (name, c))
    # Job containers only on Linux runners, and not for podman.
    if "container" in job:
        if not str(job["runs-on"]).startswith("ubuntu"):
            bad.append("%s: a job container on %s" % (name, job["runs-on"]))
        if "containers" in calls:
            bad.append("%s: podman inside a job container" % name)
    if "services" in job:
        bad.append("%s: service containers (script/test starts its own)" % name)
for want in ("lint", "unit", "integration", "build", "containers", "publish"):
    if want not in modes:
        bad.append("no job runs script/ci %s" % want)
pub = ci["jobs"].get("containers", {})
if set(pub.get("needs", [])) != {"lint", "unit", "integration", "build"}:
    bad.append("containers (publish) does not wait for every other job")
if pub.get("permissions", {}).get("packages") != "write":
    bad.append("containers: no packages: write for GHCR")
if bad:
    sys.exit("\n".join(bad))
print("modes: " + " ".join(sorted(modes)))
EOF
}
check "ci.yml: every job a thin call of script/ci that runs here too" ci_thin_jobs

# .ci/run and script/test run the modes the jobs call.
modes_run_here() {
	grep -q 'script/test --containers' "$ROOT/.ci/run" &&
		grep -q '"$BS_ROOT/script/ci" lint' "$ROOT/script/test" &&
		grep -q '\[ "$run_unit" = 1 \] && run_lint' "$ROOT/script/test"
}
check ".ci/run runs script/test and --containers; script/test runs script/ci lint" modes_run_here

# ---- what the workflows promise --------------------------------------------

has() {
	local file=$1 re
	shift
	for re in "$@"; do
		grep -q -E -- "$re" "$file" || { echo "${file#"$ROOT"/} has no line matching: $re"; return 1; }
	done
}
ci_triggers() {
	local ci=$WF/ci.yml
	has "$ci" '^  push:' '^  pull_request:' '^name: CI$' 'ghcr\.io' \
		'TAGS: sha-\$\{\{ github\.sha \}\}'
}
check "ci.yml: pushes and pull requests, images to GHCR as sha-COMMIT" ci_triggers

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
	# Every service of the app image moves to the new tag (and back), the
	# turn engines too: they must run the release the schema is at.
	[ "$(grep -c 'compose up -d --no-deps --no-build app engine web$' "$d")" = 2 ] ||
		{ echo "deploy.yml does not recreate app, engine and web (deploy and rollback)"; return 1; }
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
	for f in .ci/run script/ci script/test script/bootstrap docker/Dockerfile \
		docker/web.Dockerfile docker/compose.yml frontend/package.json \
		tests/ops/package-lock.json script/backup script/restore; do
		[ -e "$ROOT/$f" ] || missing+=("$f")
	done
	[ ${#missing[@]} -eq 0 ] || { echo "missing: ${missing[*]}"; return 1; }
}
check "files the workflows name exist" referenced_files

finish
