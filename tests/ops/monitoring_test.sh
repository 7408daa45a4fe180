#!/usr/bin/env bash
# Monitoring (monitoring/): the Prometheus config and the alert rules pass
# promtool (check config, check rules, and the unit tests in
# alerts_test.yml, which must fire and not fire every alert); the Grafana
# dashboard is JSON whose queries are valid PromQL; and every metric that
# the dashboard or the alerts name is one that src/metrics.c renders (or
# Prometheus's own up / the blackbox exporter's probe_success). Every alert
# has a runbook section in docs/OPERATIONS.md.
#
#   tests/ops/monitoring_test.sh
#
# Needs promtool (the Debian package prometheus) and python3. Prints
# "N passed, N failed" last; exits non-zero on any failure.
# The checks are functions that check() calls.
# shellcheck disable=SC2317
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MON=$ROOT/monitoring
# shellcheck source=tests/ops/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in promtool python3; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "tool $tool" "$tool is not installed (script/bootstrap installs it)"
done
[ "$failed" -eq 0 ] || finish

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bs-monitoring.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

check "promtool check config prometheus.yml" promtool check config "$MON/prometheus.yml"
check "promtool check rules alerts.yml" promtool check rules "$MON/alerts.yml"
check "promtool test rules alerts_test.yml" promtool test rules "$MON/alerts_test.yml"
check "dashboard.json is JSON" python3 -m json.tool "$MON/grafana/dashboard.json"

# The dashboard's and the alerts' expressions, one per line, Grafana's
# variables replaced by what PromQL accepts.
python3 - "$MON/grafana/dashboard.json" >"$TMP/dashboard.exprs" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
def walk(panels):
    for p in panels:
        yield from walk(p.get("panels", []))
        for t in p.get("targets", []):
            if t.get("expr"):
                yield t["expr"]
for e in walk(d.get("panels", [])):
    e = e.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    e = e.replace("$instance", ".*")
    print(e.replace("\n", " "))
EOF

# Each dashboard query as a recording rule: promtool parses the PromQL.
dashboard_promql() {
	python3 - "$TMP/dashboard.exprs" >"$TMP/dashboard_rules.yml" <<'EOF'
import json, sys
exprs = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
if not exprs:
    sys.exit("no queries in the dashboard")
print("groups:\n  - name: dashboard\n    rules:")
for i, e in enumerate(exprs):
    # JSON strings are valid YAML double-quoted scalars.
    print("      - record: dashboard:query_%d\n        expr: %s" % (i, json.dumps(e)))
EOF
	promtool check rules "$TMP/dashboard_rules.yml"
}
check "dashboard queries are valid PromQL" dashboard_promql

# Names that metrics.c renders: every "# TYPE name kind" in its strings, the
# counter families' names, and a histogram's _bucket, _sum and _count.
metric_names_exist() {
	python3 - "$ROOT/src/metrics.c" "$TMP/dashboard.exprs" "$MON/alerts.yml" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
known = set()
for name, kind in re.findall(r'# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)', src):
    known.add(name)
    if kind == "histogram":
        known.update(name + s for s in ("_bucket", "_sum", "_count"))
m = re.search(r'counter_families\[[^\]]*\]\s*=\s*\{(.*?)\n\};', src, re.S)
if m:
    known.update(re.findall(r'\{\s*"([a-z_][a-z0-9_]*)"\s*,', m.group(1)))
if len(known) < 10:
    sys.exit("found only %d metric names in metrics.c: %s" % (len(known), sorted(known)))
extra = {"up", "probe_success"}   # Prometheus's and the blackbox exporter's

KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring",
            "group_left", "group_right", "bool", "offset", "inf", "nan"}

def names(expr):
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    s = re.sub(r"'(?:[^'\\]|\\.)*'", '""', s)
    s = re.sub(r'`[^`]*`', '""', s)
    s = re.sub(r'\{[^}]*\}', ' ', s)
    s = re.sub(r'\[[^\]]*\]', ' ', s)
    s = re.sub(r'\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', s)
    s = re.sub(r'(?<![A-Za-z0-9_:])\d+(\.\d+)?([eE][+-]?\d+)?', ' 0 ', s)
    for m in re.finditer(r'[A-Za-z_:][A-Za-z0-9_:]*', s):
        if s[m.end():].lstrip().startswith("("):
            continue        # a function
        if m.group(0).lower() in KEYWORDS:
            continue
        yield m.group(0)

exprs = [("dashboard", l.strip()) for l in open(sys.argv[2]) if l.strip()]
# The alerts' expr values: single-line, or a block scalar ("|") below.
lines = open(sys.argv[3]).read().split("\n")
i = 0
while i < len(lines):
    m = re.match(r'^(\s*)expr:\s*(.*)$', lines[i])
    if m:
        indent, rest = len(m.group(1)), m.group(2)
        if rest in ("|", ">", "|-", ">-"):
            body = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or
                    len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i])
                i += 1
            exprs.append(("alerts.yml", " ".join(body)))
            continue
        exprs.append(("alerts.yml", rest))
    i += 1

bad = []
used = set()
for where, e in exprs:
    for n in names(e):
        used.add(n)
        if n not in known and n not in extra:
            bad.append("%s: %s (in %s)" % (where, n, e[:120]))
if bad:
    print("metrics that src/metrics.c does not render:")
    print("\n".join(sorted(set(bad))))
    sys.exit(1)
if not used:
    sys.exit("no metric names found in the queries")
print("%d expressions, metrics used: %s" % (len(exprs), " ".join(sorted(used))))
EOF
}
check "every metric queried is rendered by src/metrics.c" metric_names_exist

# Every alert has a firing and a not-firing case in alerts_test.yml.
alerts_tested_both_ways() {
	python3 - "$MON/alerts.yml" "$MON/alerts_test.yml" <<'EOF'
import re, sys
alerts = re.findall(r'^\s*-\s*alert:\s*(\S+)', open(sys.argv[1]).read(), re.M)
fires, quiet = set(), set()
current = None
for line in open(sys.argv[2]):
    m = re.match(r'^\s*alertname:\s*(\S+)', line)
    if m:
        current = m.group(1)
        continue
    m = re.match(r'^\s*exp_alerts:\s*(\S*)', line)
    if m and current:
        (quiet if m.group(1) == "[]" else fires).add(current)
        current = None
missing = [a for a in alerts if a not in fires or a not in quiet]
if not alerts:
    sys.exit("no alerts found")
if missing:
    for a in missing:
        print("%s: %s" % (a, ", ".join(
            w for w, s in (("no firing case", fires), ("no not-firing case", quiet)) if a not in s)))
    sys.exit(1)
print("%d alerts, each tested firing and not firing" % len(alerts))
EOF
}
check "every alert tested firing and not firing" alerts_tested_both_ways

# Every runbook annotation names a heading of docs/OPERATIONS.md (GitHub's
# anchor: lower case, punctuation dropped, spaces to '-').
runbooks_exist() {
	python3 - "$MON/alerts.yml" "$ROOT/docs/OPERATIONS.md" <<'EOF'
import re, sys
anchors = set()
for line in open(sys.argv[2]):
    m = re.match(r'^#+\s+(.*?)\s*$', line)
    if m:
        a = re.sub(r'[^\w\- ]', '', m.group(1).lower()).replace(" ", "-")
        anchors.add(a)
bad = []
refs = re.findall(r'runbook:\s*"docs/OPERATIONS\.md#([^"]+)"', open(sys.argv[1]).read())
alerts = re.findall(r'^\s*-\s*alert:\s*(\S+)', open(sys.argv[1]).read(), re.M)
if len(refs) != len(alerts):
    bad.append("%d alerts but %d runbook annotations" % (len(alerts), len(refs)))
bad += ["no heading for #%s" % r for r in refs if r not in anchors]
if bad:
    sys.exit("\n".join(bad))
EOF
}
check "every alert's runbook section exists in docs/OPERATIONS.md" runbooks_exist

# The provisioned data source is the one the dashboard's panels name.
datasource_matches() {
	local uid
	uid=$(sed -n 's/^[[:space:]]*uid:[[:space:]]*\([A-Za-z0-9_-]*\).*/\1/p' "$MON/grafana/datasource.yml" | head -n 1)
	[ -n "$uid" ] || { echo "no uid in datasource.yml"; return 1; }
	python3 - "$MON/grafana/dashboard.json" "$uid" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
uid = sys.argv[2]
bad = []
def walk(panels):
    for p in panels:
        yield p
        yield from walk(p.get("panels", []))
for p in walk(d["panels"]):
    for obj in [p] + p.get("targets", []):
        ds = obj.get("datasource")
        if isinstance(ds, dict) and ds.get("uid") != uid:
            bad.append("panel %r uses datasource %r" % (p.get("title"), ds))
if bad:
    sys.exit("\n".join(bad))
EOF
}
check "dashboard uses the provisioned data source" datasource_matches

finish
