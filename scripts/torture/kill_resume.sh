#!/usr/bin/env bash
# kill_resume.sh [KILLS] — SIGKILL a train-toy run at KILLS (default 50) random moments
# and check, after every kill, that the run directory holds a complete checkpoint:
#   * the next --resume starts from the last checkpoint the killed run finished (the step
#     of its last "step N:" line, or N+1 when the kill landed after the next checkpoint
#     was renamed into place but before its line was printed), never from an older one;
#   * `train-toy sample --from` and `train-toy eval --from` load it, and its best/;
# and at the end that the run, resumed 50 times, has exactly the metrics (step, training
# and validation loss, bit for bit) of the same run trained without interruption.
# Evaluation and checkpoint every step (--eval-every 1), on a small text file, so that
# most kills land in or near a checkpoint write. Prints "N of KILLS kills resumed".
set -uo pipefail
kills=${1:-50}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap '[ "${keep:-}" ] && echo "kept $work" || rm -rf "$work"' EXIT
bin=$work/train-toy
(cd "$root" && go build -o "$bin" ./cmd/train-toy) || exit 1
for i in $(seq 1 300); do echo "line $i: the quick brown fox jumps over the lazy dog."; done >"$work/text.txt"
model=(--data "$work/text.txt" --layers 1 --heads 2 --width 16 --block 16 --batch 4 --eval-every 1 --eval-batches 1
	--rng attend --warmup 10 --decay-steps 100000 --samples 0 --quiet)
run=$work/run
last=-1 # step of the last checkpoint known complete
ok=0 during_write=0 start=$(date +%s)
fail() { echo "kill $k: $*"; bad=1; keep=1; ls -la "$run" "$run/best"; cat "$work/out" | tail -3; cat "$work/prev" | head -3; cat "$work/prev" | tail -3; }
for k in $(seq 1 "$kills"); do
	bad=0
	# Empty the output files here, not in the background job's redirection: the job's
	# shell truncates them only when it gets to run, and until then the polling below
	# would read the previous round's "resuming at step" line.
	: >"$work/out"
	: >"$work/err"
	if [ "$last" -lt 0 ]; then
		"$bin" "${model[@]}" --steps 100000 --out "$run" >"$work/out" 2>"$work/err" &
	else
		"$bin" --resume "$run" --steps 100000 --quiet --samples 0 >"$work/out" 2>"$work/err" &
	fi
	pid=$!
	if [ "$last" -ge 0 ]; then # wait until the resume has loaded the checkpoint
		for _ in $(seq 1 200); do
			grep -q "resuming at step" "$work/out" && break
			kill -0 $pid 2>/dev/null || break
			sleep 0.05
		done
		got=$(sed -n 's/^resuming at step \([0-9]*\) .*/\1/p' "$work/out")
		if [ -z "$got" ]; then
			fail "--resume did not start: $(cat "$work/err")"
		elif [ "$got" != "$last" ] && [ "$got" != $((last + 1)) ]; then
			fail "--resume started at step $got; the last complete checkpoint was step $last"
		fi
		last=${got:-$last}
	fi
	sleep "$((RANDOM % 2)).$(printf '%03d' $((RANDOM % 1000)))"
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
	cp "$work/out" "$work/prev"
	printed=$(sed -n 's/^step *\([0-9]*\):.*/\1/p' "$work/out" | tail -1)
	[ -n "$printed" ] && last=$printed
	[ "$last" -lt 0 ] && last=0 # killed before its first checkpoint: then none may exist
	if compgen -G "$run/ckpt-*.tmp-*" >/dev/null || compgen -G "$run/best/ckpt-*.tmp-*" >/dev/null; then
		during_write=$((during_write + 1))
	fi
	if ! [ -d "$run" ] || ! compgen -G "$run/ckpt-*" >/dev/null; then
		if [ -z "$printed" ] && [ "$k" = 1 ]; then # killed before the first checkpoint
			rm -rf "$run"
			last=-1
			ok=$((ok + 1))
			continue
		fi
	fi
	for from in "$run" "$run --best"; do
		# shellcheck disable=SC2086
		"$bin" sample --from $from --prompt "line" --max-tokens 8 --temperature 0 >"$work/sample" 2>&1 || fail "sample --from $from: $(cat "$work/sample")"
		# shellcheck disable=SC2086
		"$bin" eval --from $from --json >"$work/eval" 2>&1 || fail "eval --from $from: $(cat "$work/eval")"
	done
	[ "$bad" = 0 ] && ok=$((ok + 1))
done
# Finish the run, then train the same run without interruption and compare.
final=$((last + 3))
"$bin" --resume "$run" --steps $final --quiet --samples 0 >"$work/out" 2>&1 || { echo "final resume: $(cat "$work/out")"; ok=$((ok - 1)); }
"$bin" "${model[@]}" --steps $final --out "$work/ref" >"$work/refout" 2>&1 || echo "reference run failed: $(cat "$work/refout")"
metrics() { jq -c '[.step, .train_loss, .val_loss]' "$1/metrics.jsonl"; }
same=yes
if ! diff <(metrics "$run") <(metrics "$work/ref") >"$work/diff"; then
	same=no
	head -5 "$work/diff"
fi
echo "$ok of $kills kills resumed ($during_write landed during a checkpoint write, leaving a temporary); $final steps;" \
	"metrics equal to the uninterrupted run's: $same; $(($(date +%s) - start)) s"
[ "$ok" = "$kills" ] && [ "$same" = yes ]
