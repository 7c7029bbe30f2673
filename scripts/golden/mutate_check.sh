#!/usr/bin/env bash
# Mutation check for layers.TestGolden: shows that the test really compares what it
# claims to compare.
#
#   scripts/golden/mutate_check.sh [CASE_DIR] [CASE_NAME]
#
# CASE_DIR defaults to layers/testdata/golden; CASE_NAME (a file name without .json)
# defaults to the first case in CASE_DIR that has a mask and an output projection
# (else the first case). Relative size of each change: env REL (default 1e-6).
#
# Expectations (exit 0 only if all hold):
#   0. the unmodified copy of CASE_DIR passes (otherwise the rest proves nothing);
#   1. one element of `out` changed        -> the case's float64 subtest FAILS on out;
#   2. one element of `grad_wk` changed    -> the case's float64 subtest FAILS on grad_wk;
#   3. one element of the input `x` changed -> the case's float64 subtest FAILS;
#   4. an empty directory                  -> TestGolden FAILS ("no golden case"), not skips.
# Each run is `GOLDEN_DIR=... go test ./layers -run Golden -count=1 -v`; a run that
# fails for another reason (e.g. a build error) does not count as an expected failure.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
REL=${REL:-1e-6}
SRC=${1:-$ROOT/layers/testdata/golden}
SRC=$(cd "$SRC" && pwd) || { echo "no such directory: ${1:-}"; exit 2; }

TMP=$(mktemp -d /tmp/golden-mutate.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

CASE=${2:-$($PY - "$SRC" <<'EOF'
import glob, json, os, sys
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))
best = [f for f in files if {"mask", "wo"} <= set(json.load(open(f)))]
print(os.path.basename((best or files or ["none.json"])[0])[:-5])
EOF
)}
[ -f "$SRC/$CASE.json" ] || { echo "case $CASE.json not found in $SRC"; exit 2; }

pass=0; fail=0
ok()  { echo "ok    $*"; pass=$((pass + 1)); }
bad() { echo "FAIL  $*"; fail=$((fail + 1)); }

# run_test DIR LOG: runs the golden test on DIR, returns go test's exit status.
run_test() {
	(cd "$ROOT" && GOLDEN_DIR="$1" go test ./layers -run Golden -count=1 -v) >"$2" 2>&1
}

# mutate DIR FIELD: multiplies the largest-magnitude element of FIELD in DIR/$CASE.json
# by (1 + REL); prints what it changed.
mutate() {
	$PY - "$1/$CASE.json" "$2" "$REL" <<'EOF'
import json, sys
path, field, rel = sys.argv[1], sys.argv[2], float(sys.argv[3])
doc = json.load(open(path))
if field not in doc:
    sys.exit("field %r not in %s" % (field, path))
def leaves(a, idx=()):
    if isinstance(a, list):
        for i, e in enumerate(a):
            yield from leaves(e, idx + (i,))
    else:
        yield idx, a
idx, v = max(leaves(doc[field]), key=lambda t: abs(t[1]))
if v == 0:
    sys.exit("field %r is all zero" % field)
parent = doc[field]
for i in idx[:-1]:
    parent = parent[i]
parent[idx[-1]] = v * (1 + rel)
json.dump(doc, open(path, "w"), allow_nan=False)
print("%s%s: %r -> %r" % (field, list(idx), v, parent[idx[-1]]))
EOF
}

echo "golden mutation check: cases from $SRC, mutated case $CASE, REL=$REL"

# 0. baseline
mkdir -p "$TMP/base" && cp "$SRC"/*.json "$TMP/base/"
if run_test "$TMP/base" "$TMP/base.log"; then
	ok "baseline: unmodified copy passes ($(grep -o 'worst error.*' "$TMP/base.log"))"
else
	bad "baseline: unmodified copy does not pass; mutation results would be meaningless:"
	grep -E -- '--- FAIL|golden_test.go|cannot|undefined|error' "$TMP/base.log" | head -20
	echo "SUMMARY: $pass ok, $fail failed"
	exit 1
fi

# 1-3. one changed number must make the mutated case's float64 subtest fail
for spec in "out:out" "grad_wk:grad_wk" "x:"; do
	field=${spec%%:*}; expect=${spec#*:}
	d="$TMP/mut_$field"; mkdir -p "$d" && cp "$SRC"/*.json "$d/"
	what=$(mutate "$d" "$field") || { bad "mutate $field: $what"; continue; }
	if run_test "$d" "$d.log"; then
		bad "$what: test still PASSES"
	elif ! grep -q -- "--- FAIL: TestGolden/$CASE.json/float64" "$d.log"; then
		bad "$what: test failed, but not in $CASE.json/float64:"; tail -15 "$d.log"
	elif [ -n "$expect" ] && ! grep -q "golden_test.go:[0-9]*: $expect\[" "$d.log"; then
		bad "$what: $CASE.json/float64 failed, but not on $expect:"; grep golden_test.go "$d.log" | head
	else
		ok "$what: fails as expected -> $(grep -m1 'golden_test.go:[0-9]*: ' "$d.log" | sed 's/^ *//')"
	fi
done

# 4. an empty directory must fail, not skip or pass
mkdir -p "$TMP/empty"
if run_test "$TMP/empty" "$TMP/empty.log"; then
	bad "empty directory: test PASSES"
elif grep -q -- '--- SKIP' "$TMP/empty.log"; then
	bad "empty directory: test skipped"
elif ! grep -q 'no golden case' "$TMP/empty.log"; then
	bad "empty directory: failed for another reason:"; tail -10 "$TMP/empty.log"
else
	ok "empty directory: fails -> $(grep -m1 'no golden case' "$TMP/empty.log" | sed 's/^ *//')"
fi

echo "SUMMARY: $pass ok, $fail failed"
[ "$fail" -eq 0 ]
