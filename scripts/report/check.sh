#!/usr/bin/env bash
# Opens report.html of a fresh default run in headless Chromium (Debian's `chromium`) and
# fails on any console message or page error, or when check.js's DOM queries find a
# chart or heatmap missing; saves a screenshot.
#
#   scripts/report/check.sh [RUN_DIR]     # default: a fresh `train-toy` run in a temp dir
#
# The screenshot goes to $SCREENSHOT (default: RUN_DIR/report.png).
set -euo pipefail
cd "$(dirname "$0")/../.."
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then echo "check.sh: no chromium (apt-get install -y chromium)" >&2; exit 1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=${1:-}
if [ -z "$run" ]; then
  run="$work/run"
  echo "== a fresh default run in $run"
  go run ./cmd/train-toy --out "$run" --quiet >"$work/train.log"
  tail -n 4 "$work/train.log"
fi
page="$run/report.html"
shot=${SCREENSHOT:-$run/report.png}
[ -f "$page" ] || { echo "check.sh: no $page" >&2; exit 1; }

# A copy of the page with check.js after the page's own script.
{ sed '/<\/body>/,$d' "$page"; echo '<script>'; cat scripts/report/check.js; echo '</script>'; echo '</body></html>'; } >"$work/check.html"
chrome() {
  timeout 120 "$browser" --headless --disable-gpu --no-sandbox --no-first-run --disable-extensions \
    --user-data-dir="$work/profile" --enable-logging=stderr --v=0 --virtual-time-budget=10000 "$@"
}
echo "== $browser --headless --dump-dom"
chrome --dump-dom "file://$work/check.html" >"$work/dom.html" 2>"$work/chrome.log"
status=0
if grep -E ':CONSOLE[(:]' "$work/chrome.log"; then
  echo "FAIL: console messages (above); the page must log nothing" >&2
  status=1
fi
result=$(grep -o '<pre id="check-result">[^<]*</pre>' "$work/dom.html" | sed 's/<[^>]*>//g' || true)
if [ -z "$result" ]; then
  echo "FAIL: check.js wrote no result (the page's script did not run to the end?)" >&2
  grep -o '<div id="report-status"[^<]*</div>' "$work/dom.html" >&2 || true
  status=1
else
  echo "$result"
  case "$result" in OK*) ;; *) status=1 ;; esac
fi

echo "== screenshot"
chrome --screenshot="$shot" --window-size=1300,2300 --hide-scrollbars "file://$(realpath "$page")" 2>>"$work/chrome.log"
[ -s "$shot" ] || { echo "FAIL: no screenshot" >&2; status=1; }
echo "screenshot: $shot"
exit $status
