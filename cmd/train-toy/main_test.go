package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/filetest"
	"github.com/attend-go/attend/train"
)

// runCLI runs the command in-process and returns its exit status, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--heads", "3", "--width", "64"}, "--heads 3 does not divide --width 64"},
		{[]string{"--steps", "-5"}, "--steps -5"},
		{[]string{"--width", "0"}, "--width 0"},
		{[]string{"--task", "nope"}, `unknown --task "nope"`},
		{[]string{"--dtype", "float16"}, `--dtype "float16"`},
		{[]string{"--preset", "huge"}, `unknown --preset "huge"`},
		{[]string{"--lr", "0"}, "--lr 0"},
		{[]string{"--block", "7"}, "--block 7"},
		{[]string{"--task", "statquest", "--block", "6"}, "--block 6"},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"--steps", "ten"}, "invalid value"},
		{[]string{"--rng", "numpy"}, `--rng "numpy"`},
		{[]string{"--task", "copy", "--rng", "torch"}, "--rng torch draws nanoGPT's text batches: it needs --data"},
		{[]string{"--data", "x.txt", "--rng", "torch", "--no-attention"}, "drop --no-attention or use --rng attend"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"sample"}, "--from DIR is required"},
		{[]string{"eval"}, "eval: --from DIR is required"},
		{[]string{"eval", "--from", "x", "--split", "test"}, `--split "test"`},
		{[]string{"sample", "--from", "x"}, "--prompt is required"},
		{[]string{"sample", "--from", "x", "--prompt", "a", "--temperature", "-1"}, "--temperature -1"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, c.args...)
			if code != 2 {
				t.Errorf("exit status %d; want 2", code)
			}
			// A command line that does not parse adds a hint line (TestBadFlagHint).
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) == 2 && strings.HasPrefix(lines[1], "run 'train-toy") {
				lines = lines[:1]
			}
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q; want one line `error: …%s…`", stderr, c.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := runCLI(t, "-h")
	if code != 0 {
		t.Fatalf("exit status %d", code)
	}
	for _, flag := range []string{"-task", "-steps", "-batch", "-block", "-layers", "-heads", "-width", "-lr", "-seed",
		"-dtype", "-eval-every", "-out", "-temperature", "-top-k", "-prompt", "-samples", "-data", "-preset", "-resume"} {
		if !strings.Contains(out, "  "+flag+" ") && !strings.Contains(out, "  "+flag+"\n") {
			t.Errorf("-h does not document %s", flag)
		}
	}
	if !strings.Contains(out, `(default "copy")`) || !strings.Contains(out, "(default 250)") {
		t.Errorf("-h does not show defaults:\n%s", out)
	}
}

func TestDataFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "nope.txt"), "nope.txt"},
		{"empty", write("empty.txt", nil), "empty"},
		{"binary", write("bin.dat", []byte("ab\x00cd")), "bin.dat"},
		{"not utf-8", write("latin1.txt", []byte("caf\xe9 au lait")), "UTF-8"},
		{"too short", write("short.txt", []byte(strings.Repeat("abc", 20))), "too short"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "--data", c.path, "--out", filepath.Join(dir, "run-"+c.name), "--steps", "1")
			if code == 0 || !strings.HasPrefix(stderr, "error: ") || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "goroutine") {
				t.Errorf("exit %d, stderr %q; want a one-line error mentioning %q", code, stderr, c.want)
			}
		})
	}
}

// TestStatquestEndToEnd trains the seed course's toy, checks the run directory, and
// samples from it as a user would.
func TestStatquestEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sq")
	code, out, stderr := runCLI(t, "--task", "statquest", "--out", dir, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	for _, f := range []string{"ckpt-150/model.safetensors", "ckpt-150/optimizer.safetensors", "ckpt-150/config.json", "ckpt-150/state.json", "metrics.jsonl",
		"summary.json", "loss.png", "attention.png", "report.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory lacks %s: %v", f, err)
		}
	}
	if best, err := train.CheckpointDir(filepath.Join(dir, "best")); err != nil || !strings.HasPrefix(filepath.Base(best), "ckpt-") {
		t.Errorf("best/ holds no checkpoint directory: %v", err)
	} else {
		for _, f := range []string{"model.safetensors", "config.json", "state.json"} {
			if _, err := os.Stat(filepath.Join(best, f)); err != nil {
				t.Errorf("best checkpoint lacks %s: %v", f, err)
			}
		}
	}
	assertNoTemp(t, dir)
	var sum map[string]any
	filetest.ReadJSON(t, filepath.Join(dir, "summary.json"), &sum)
	for _, k := range []string{"task", "config", "steps", "train_loss", "val_loss", "val_acc", "wall_s", "params"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
	if sum["val_acc"].(float64) != 1 {
		t.Errorf("val_acc = %v; want 1", sum["val_acc"])
	}
	// The achieved speed is positive and below the GEMM peak probed at the start (the
	// step's FLOPs per second of steps; statquest's model is far from the peak).
	gf, _ := sum["gflops"].(float64)
	peak, _ := sum["peak_gflops"].(float64)
	if !(gf > 0 && peak > 0 && gf < peak) {
		t.Errorf("gflops = %v, peak_gflops = %v; want 0 < gflops < peak_gflops", sum["gflops"], sum["peak_gflops"])
	}
	if k, _ := sum["kernels"].(string); k != graph.Kernels() {
		t.Errorf("kernels = %q, want graph.Kernels() = %q", k, graph.Kernels())
	}
	if !strings.Contains(out, "GEMM peak: ") || !strings.Contains(out, "% of peak)") {
		t.Errorf("output lacks the GEMM peak or the fraction of it:\n%s", out)
	}
	metrics := readMetricLines(t, filepath.Join(dir, "metrics.jsonl"))
	if len(metrics) != 4 || metrics[0]["step"] != 0.0 {
		t.Fatalf("%d metrics lines, the first at step %v; want 4 (step 0, then every 50 of 150 steps)", len(metrics), metrics[0]["step"])
	}
	for _, k := range []string{"step", "train_loss", "val_loss", "val_acc", "lr", "tokens_per_s", "elapsed_s"} {
		if _, ok := metrics[1][k]; !ok {
			t.Errorf("metrics.jsonl lacks %q", k)
		}
	}
	for _, prompt := range []string{"what is statquest <EOS>", "statquest is what <EOS>"} {
		code, out, stderr := runCLI(t, "sample", "--from", dir, "--prompt", prompt, "--temperature", "0")
		if code != 0 || strings.TrimSpace(out) != "awesome <EOS>" {
			t.Errorf("sample after %q: exit %d, %q %q; want awesome <EOS>", prompt, code, out, stderr)
		}
	}
	code, _, stderr = runCLI(t, "sample", "--from", dir, "--prompt", "what is banana")
	if code == 0 || !strings.Contains(stderr, "banana") {
		t.Errorf("unknown word: exit %d, %q", code, stderr)
	}
}

func readMetricLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ms []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ms = append(ms, m)
	}
	return ms
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.Contains(filepath.Base(p), ".tmp") {
			t.Errorf("stray temporary file %s", p)
		}
		return nil
	})
}

// TestResumeMatchesUninterrupted: 40 steps in one go and 20 + 20 with --resume give the
// same losses at every evaluation, with attend's random streams (a task) and with
// PyTorch's (--rng torch on a text file: one generator for the weights, the prefetched
// training batch and every evaluation batch, saved in the checkpoint).
func TestResumeMatchesUninterrupted(t *testing.T) {
	text := filepath.Join(t.TempDir(), "text.txt")
	var sb strings.Builder
	for i := 0; sb.Len() < 6000; i++ {
		fmt.Fprintf(&sb, "Line %d: the quick brown fox jumps over the lazy dog %d times.\n", i, i*7%13)
	}
	if err := os.WriteFile(text, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		args  []string
		lines int
		keys  []string
	}{
		{"attend", []string{"--task", "reverse"}, 5, []string{"step", "train_loss", "val_loss", "val_acc", "lr"}},
		{"torch", []string{"--data", text, "--rng", "torch", "--block", "16", "--eval-batches", "2"}, 5,
			[]string{"step", "train_loss", "train_eval_loss", "val_loss", "val_acc", "lr"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			whole, split := filepath.Join(base, "whole"), filepath.Join(base, "split")
			common := append(append([]string{}, c.args...), "--layers", "1", "--width", "32", "--batch", "8", "--eval-every", "10",
				"--quiet", "--samples", "0", "--decay-steps", "40", "--warmup", "5")
			if code, out, e := runCLI(t, append(common, "--steps", "40", "--out", whole)...); code != 0 {
				t.Fatalf("whole run: %d %s %s", code, out, e)
			}
			if code, out, e := runCLI(t, append(common, "--steps", "20", "--out", split)...); code != 0 {
				t.Fatalf("first half: %d %s %s", code, out, e)
			}
			if code, out, e := runCLI(t, "--resume", split, "--steps", "40", "--quiet", "--samples", "0"); code != 0 {
				t.Fatalf("resume: %d %s %s", code, out, e)
			}
			a, b := readMetricLines(t, filepath.Join(whole, "metrics.jsonl")), readMetricLines(t, filepath.Join(split, "metrics.jsonl"))
			if len(a) != c.lines || len(b) != c.lines {
				t.Fatalf("%d and %d metrics lines; want %d each", len(a), len(b), c.lines)
			}
			for i := range a {
				for _, k := range c.keys {
					if k == "train_loss" && i == 0 {
						k = "val_loss" // the step-0 line has no step losses
					}
					if _, ok := a[len(a)-1][k]; !ok {
						t.Fatalf("metrics lack %q", k)
					}
					if a[i][k] != b[i][k] {
						t.Errorf("eval %d: %s = %v uninterrupted, %v resumed", i, k, a[i][k], b[i][k])
					}
				}
			}
			// A text run ends with the loss over the whole validation split, the same
			// for both (the same weights).
			if c.name == "torch" {
				sa, sb := readSummary(t, whole), readSummary(t, split)
				la, ok := sa["val_loss_full"].(float64)
				if !ok || la <= 0 || la != sb["val_loss_full"] {
					t.Errorf("val_loss_full %v uninterrupted, %v resumed", sa["val_loss_full"], sb["val_loss_full"])
				}
				// train-toy eval recomputes it from the saved model.
				code, out, e := runCLI(t, "eval", "--from", whole, "--json")
				var ev map[string]any
				if code != 0 || json.Unmarshal([]byte(out), &ev) != nil || ev["loss"] != la || ev["split"] != "val" {
					t.Errorf("eval --json: exit %d, %q %q; want the summary's val_loss_full %v", code, out, e, la)
				}
				if code, out, _ := runCLI(t, "eval", "--from", whole, "--split", "train"); code != 0 || !strings.Contains(out, "train split") {
					t.Errorf("eval --split train: exit %d, %q", code, out)
				}
			}
			// A conflicting model flag is refused.
			if code, _, e := runCLI(t, "--resume", split, "--steps", "50", "--width", "64"); code != 2 || !strings.Contains(e, "--width conflicts") {
				t.Errorf("conflicting --width: exit %d, %q", code, e)
			}
		})
	}
}

// TestInterrupt sends SIGINT to a training process: it saves a checkpoint, says where,
// exits 130, leaves no temporary file, and the checkpoint samples and resumes.
func TestInterrupt(t *testing.T) {
	for _, sig := range []struct {
		name   string
		sig    syscall.Signal
		status int
	}{{"SIGINT", syscall.SIGINT, 130}, {"SIGTERM", syscall.SIGTERM, 143}} {
		t.Run(sig.name, func(t *testing.T) { testInterrupt(t, sig.sig, sig.status) })
	}
}

func testInterrupt(t *testing.T, sig syscall.Signal, status int) {
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "run")
	cmd, lines, stderr := startCLI(t, "--task", "copy", "--steps", "100000", "--eval-every", "5", "--width", "32", "--out", dir, "--quiet")
	var out strings.Builder
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	evals := 0
	for line := range lines {
		out.WriteString(line + "\n")
		if strings.HasPrefix(line, "step ") {
			if evals++; evals == 3 { // steps 0, 5, 10
				cmd.Process.Signal(sig)
			}
		}
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != status {
		t.Fatalf("exit: %v; want status %d\nstdout:\n%s\nstderr:\n%s", err, status, out.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "checkpoint saved in "+dir) {
		t.Errorf("stderr does not say where the checkpoint is:\n%s", stderr.String())
	}
	assertNoTemp(t, dir)
	var st struct {
		Step int `json:"step"`
	}
	set, err := train.CheckpointDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	filetest.ReadJSON(t, filepath.Join(set, "state.json"), &st)
	if st.Step < 10 {
		t.Errorf("checkpoint at step %d; want ≥ 10", st.Step)
	}
	if o, err := exec.Command(bin, "sample", "--from", dir, "--prompt", "abcdefgh|", "--temperature", "0").CombinedOutput(); err != nil || len(strings.TrimSpace(string(o))) != 8 {
		t.Errorf("sample from the interrupted run: %v %q", err, o)
	}
	if o, err := exec.Command(bin, "--resume", dir, "--steps", itoa(st.Step+5), "--quiet", "--samples", "0").CombinedOutput(); err != nil {
		t.Errorf("resume the interrupted run: %v\n%s", err, o)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestNanoGPTPresetRepeatsPyTorch runs the nanogpt-cpu preset for 30 steps on Tiny
// Shakespeare and compares its evaluations with PyTorch's run of nanoGPT's train.py
// recipe at the same seed (testdata/nanogpt_torch_seed1337_30steps.json, written by
// `/usr/bin/python3 scripts/parity/torch_nanogpt_run.py --steps 30 --no-final-400
// --json-out ...`): with --rng torch (the preset's default) the initial weights, the
// training batches and the evaluation batches are nanoGPT's, so the losses are the same
// up to float32 rounding.
func TestNanoGPTPresetRepeatsPyTorch(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data", "tinyshakespeare.txt")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("Tiny Shakespeare not found at %s (../shared/data beside the repo): %v", data, err)
	}
	b, err := os.ReadFile("testdata/nanogpt_torch_seed1337_30steps.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Evals []struct {
			Step      int     `json:"step"`
			TrainLoss float64 `json:"train_loss"`
			ValLoss   float64 `json:"val_loss"`
		} `json:"evals"`
	}
	if err := json.Unmarshal(b, &ref); err != nil || len(ref.Evals) != 2 {
		t.Fatalf("reference: %v, %d evaluations", err, len(ref.Evals))
	}
	dir := filepath.Join(t.TempDir(), "run")
	if code, out, e := runCLI(t, "--preset", "nanogpt-cpu", "--data", data, "--steps", "30", "--out", dir, "--samples", "0", "--quiet"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, e)
	}
	got := readMetricLines(t, filepath.Join(dir, "metrics.jsonl"))
	if len(got) != 2 {
		t.Fatalf("%d metrics lines, want 2 (steps 0 and 30)", len(got))
	}
	for i, r := range ref.Evals {
		m := got[i]
		if int(m["step"].(float64)) != r.Step {
			t.Fatalf("line %d is step %v, want %d", i, m["step"], r.Step)
		}
		// float32 losses: measured 1e-7 relative at step 0 and after 30 steps (the
		// paired 2000-step run in scripts/parity ends with weights 1.3e-5 apart).
		tol := 1e-6
		if r.Step > 0 {
			tol = 5e-6
		}
		for _, c := range []struct {
			key  string
			want float64
		}{{"train_eval_loss", r.TrainLoss}, {"val_loss", r.ValLoss}} {
			v, ok := m[c.key].(float64)
			if !ok || math.Abs(v-c.want) > tol*c.want {
				t.Errorf("step %d %s = %v, PyTorch %.9g", r.Step, c.key, m[c.key], c.want)
			} else {
				t.Logf("step %d %s = %.9g, PyTorch %.9g (relative %.1e)", r.Step, c.key, v, c.want, math.Abs(v-c.want)/c.want)
			}
		}
	}
}

func readSummary(t *testing.T, dir string) map[string]any {
	t.Helper()
	var m map[string]any
	filetest.ReadJSON(t, filepath.Join(dir, "summary.json"), &m)
	return m
}
