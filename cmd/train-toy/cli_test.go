package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attend-go/attend/internal/filetest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildBinary builds train-toy once per test run, for the tests that send signals.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "train-toy-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "train-toy")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// tree returns every file under dir with a hash of its bytes.
func tree(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	m := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		m[p] = sha256.Sum256(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameTree(t *testing.T, what string, a, b map[string][32]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d files before, %d after", what, len(a), len(b))
	}
	for p, h := range a {
		if b[p] != h {
			t.Errorf("%s: %s changed or vanished", what, p)
		}
	}
}

// oneLine checks that stderr is exactly one line `error: …want…`.
func oneLine(t *testing.T, stderr, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], want) || strings.Contains(stderr, "goroutine") {
		t.Errorf("stderr %q; want one line `error: …%s…`", stderr, want)
	}
}

var quick = []string{"--steps", "4", "--warmup", "1", "--width", "16", "--layers", "1", "--batch", "4", "--quiet", "--samples", "0"}

// TestRunDirectories: --out of another run or of a directory of other files is refused
// in one line and changes nothing; an empty one is used; --resume with another --out
// is a conflict.
func TestRunDirectories(t *testing.T) {
	base := t.TempDir()
	run1 := filepath.Join(base, "run1")
	if code, out, e := runCLI(t, append(quick, "--out", run1)...); code != 0 {
		t.Fatalf("first run: %d %s %s", code, out, e)
	}
	other := filepath.Join(base, "other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"metrics.jsonl": "mine\n", "notes.txt": "keep me\n", "model.safetensors": "not a model"} {
		if err := os.WriteFile(filepath.Join(other, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{run1, other} {
		before := tree(t, dir)
		code, out, stderr := runCLI(t, append(quick, "--out", dir, "--steps", "8")...)
		if code != 2 {
			t.Errorf("--out %s: exit %d; want 2\n%s", dir, code, out)
		}
		oneLine(t, stderr, "--resume "+dir)
		sameTree(t, "--out "+dir, before, tree(t, dir))
	}
	file := filepath.Join(other, "notes.txt")
	code, _, stderr := runCLI(t, append(quick, "--out", file)...)
	if code != 2 {
		t.Errorf("--out of a file: exit %d", code)
	}
	oneLine(t, stderr, "not a directory")

	empty := filepath.Join(base, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, out, e := runCLI(t, append(quick, "--out", empty)...); code != 0 {
		t.Errorf("--out of an empty directory: exit %d %s %s", code, out, e)
	}
	if _, err := os.Stat(filepath.Join(ckptDir(t, empty), "state.json")); err != nil {
		t.Errorf("the empty directory holds no checkpoint: %v", err)
	}

	before := tree(t, run1)
	code, _, stderr = runCLI(t, "--resume", run1, "--out", filepath.Join(base, "run2"), "--steps", "8", "--quiet", "--samples", "0")
	if code != 2 {
		t.Errorf("--resume with --out: exit %d; want 2", code)
	}
	oneLine(t, stderr, "conflicts with --resume")
	sameTree(t, "--resume with --out", before, tree(t, run1))
	if _, err := os.Stat(filepath.Join(base, "run2")); err == nil {
		t.Errorf("--resume --out created the other directory")
	}
	if code, out, e := runCLI(t, "--resume", run1, "--out", run1+"/", "--steps", "8", "--quiet", "--samples", "0"); code != 0 {
		t.Errorf("--resume DIR --out DIR/: exit %d %s %s", code, out, e)
	}
}

// TestNewRunDirNeverCollides: the default run directory of a second run started in the
// same second is another one.
func TestNewRunDirNeverCollides(t *testing.T) {
	parent := t.TempDir()
	now := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	var got []string
	for i := 0; i < 3; i++ {
		dir, err := newRunDir(parent, "copy", now)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(dir))
	}
	want := []string{"copy-20261201-210000", "copy-20261201-210000-2", "copy-20261201-210000-3"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("run directories %v; want %v", got, want)
	}
}

// TestBadFlagHint: a command line that does not parse prints one error line and one
// hint line on stderr, nothing on stdout, exit 2.
func TestBadFlagHint(t *testing.T) {
	for _, c := range []struct {
		args       []string
		want, hint string
	}{
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag", "run 'train-toy -h' for usage"},
		{[]string{"--steps", "ten"}, `invalid value "ten" for flag -steps`, "run 'train-toy -h' for usage"},
		{[]string{"extra"}, `unexpected argument "extra"`, "run 'train-toy -h' for usage"},
		{[]string{"sample", "--nope"}, "sample: flag provided but not defined: -nope", "run 'train-toy sample -h' for usage"},
		{[]string{"eval", "--from", "x", "y"}, `eval: unexpected argument "y"`, "run 'train-toy eval -h' for usage"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, out, stderr := runCLI(t, c.args...)
			lines := strings.Split(stderr, "\n")
			if code != 2 || out != "" || len(lines) != 3 || !strings.HasPrefix(lines[0], "error: "+c.want) || lines[1] != c.hint || lines[2] != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, `error: %s…` and %q", code, out, stderr, c.want, c.hint)
			}
		})
	}
}

// TestHelpOnce: -h prints the usage once on stdout and exits 0, for the command and
// every subcommand; the command's usage lists every subcommand.
func TestHelpOnce(t *testing.T) {
	cmds := [][]string{{"-h"}, {"help"}}
	for _, s := range subcommands {
		cmds = append(cmds, []string{s.name, "-h"})
	}
	for _, args := range cmds {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, stderr := runCLI(t, args...)
			if code != 0 || stderr != "" {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			if n := strings.Count(out, "Usage:"); n != 1 {
				t.Errorf("%d usages printed; want 1:\n%s", n, out)
			}
			if n := strings.Count(out, "  -from") + strings.Count(out, "  -task") + strings.Count(out, "  -train-on"); n != 1 {
				t.Errorf("the flags are listed %d times; want 1", n)
			}
		})
	}
	_, out, _ := runCLI(t, "-h")
	for _, s := range subcommands {
		if !strings.Contains(out, "train-toy "+s.name+" ") {
			t.Errorf("the usage does not list %q:\n%s", s.name, out)
		}
	}
}

// TestSizesCheckedBeforeAllocating: sizes that cannot fit are one line naming the flag,
// or the config.json field of a run, before anything is allocated.
func TestSizesCheckedBeforeAllocating(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--width", "1000000", "--heads", "1"}, "--width 1000000: the run needs about"},
		{[]string{"--batch", "100000000"}, "--batch 100000000: the run needs about"},
		{[]string{"--block", "100000"}, "--block 100000: the run needs about"},
		{[]string{"--layers", "1000000"}, "--layers 1000000: more than 1024 blocks"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			code, _, stderr := runCLI(t, append([]string{"--steps", "2", "--warmup", "1", "--quiet", "--out", dir}, c.args...)...)
			if code != 2 {
				t.Errorf("exit %d; want 2", code)
			}
			oneLine(t, stderr, c.want)
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("the run directory was created")
			}
		})
	}

	run := filepath.Join(t.TempDir(), "run")
	if code, out, e := runCLI(t, append(quick, "--out", run)...); code != 0 {
		t.Fatalf("run: %d %s %s", code, out, e)
	}
	for _, c := range []struct {
		field string
		value any
		want  string
	}{
		{"n_embd", int64(1) << 40, "n_embd 1099511627776: sizes overflow"},
		// attention's memory is linear in the context: 1e12 positions overflow the
		// training pass's sizes, or just do not fit the inference pass
		{"block_size", 1e12, "block_size 1000000000000: "},
		{"n_layer", 1000000, "n_layer 1000000: more than 1024 blocks"},
		{"n_embd", 1000000, "n_embd 1000000: the"},
	} {
		dir := filepath.Join(t.TempDir(), "bad")
		if err := os.CopyFS(dir, os.DirFS(run)); err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		filetest.ReadJSON(t, filepath.Join(ckptDir(t, dir), "config.json"), &cfg)
		cfg["model"].(map[string]any)[c.field] = c.value
		if c.field == "n_embd" {
			cfg["model"].(map[string]any)["n_head"] = 1
		}
		b, _ := json.Marshal(cfg)
		if err := os.WriteFile(filepath.Join(ckptDir(t, dir), "config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"sample", "--from", dir, "--prompt", "ab"}, {"eval", "--from", dir}, {"--resume", dir, "--steps", "9", "--quiet"}} {
			t.Run(c.field+" "+args[0], func(t *testing.T) {
				code, _, stderr := runCLI(t, args...)
				if code != 1 {
					t.Errorf("exit %d; want 1", code)
				}
				oneLine(t, stderr, filepath.Join(ckptDir(t, dir), "config.json")+": "+c.want)
			})
		}
	}
}

// TestTextWithoutNewline: a run on a text with no newline samples from its first
// character and exits 0.
func TestTextWithoutNewline(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "x.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("xyxyxyxyzzz", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "--data", text, "--steps", "3", "--warmup", "1", "--block", "16", "--width", "16", "--layers", "1",
		"--batch", "4", "--quiet", "--samples", "1", "--out", filepath.Join(dir, "run"))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	i := strings.Index(out, "samples:\n---\n")
	if i < 0 || !strings.HasPrefix(out[i+len("samples:\n---\n"):], "x") || len(out[i:]) < 200 {
		t.Errorf("no sample starting with the text's first character:\n%s", out)
	}
}

// writeLog records each Write.
type writeLog struct{ writes []string }

func (w *writeLog) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// TestSampleStreams: sample writes each token as it is drawn, then the newline; the
// text is the one a whole-string print would give.
func TestSampleStreams(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if code, out, e := runCLI(t, append(quick, "--out", dir)...); code != 0 {
		t.Fatalf("run: %d %s %s", code, out, e)
	}
	var w writeLog
	var errb bytes.Buffer
	if code := run([]string{"sample", "--from", dir, "--prompt", "abc|", "--max-tokens", "20", "--temperature", "0"}, &w, &errb); code != 0 {
		t.Fatalf("exit %d %s", code, errb.String())
	}
	if len(w.writes) != 21 || w.writes[20] != "\n" {
		t.Fatalf("%d writes %q; want 20 one-token writes and a newline", len(w.writes), w.writes)
	}
	for _, s := range w.writes[:20] {
		if len([]rune(s)) != 1 {
			t.Errorf("write %q is not one character", s)
		}
	}
}

// startCLI starts the binary and returns its stdout lines on a channel.
func startCLI(t *testing.T, args ...string) (*exec.Cmd, <-chan string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(buildBinary(t), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines, &stderr
}

// waitExit waits at most d for cmd and returns its exit status (-1 if killed).
func waitExit(t *testing.T, cmd *exec.Cmd, lines <-chan string, d time.Duration) int {
	t.Helper()
	timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer timer.Stop()
	for range lines {
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestInterruptEvaluation: --eval-batches 100000000 and a signal during the first
// evaluation (step 0): the run exits at once with 130 (SIGINT) or 143 (SIGTERM) and one line,
// and writes no checkpoint (there was none before; the trainer's test checks that a
// checkpoint taken earlier is not replaced). `eval` and `sample` stop the same way.
func TestInterruptEvaluation(t *testing.T) {
	for _, c := range []struct {
		sig    syscall.Signal
		status int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		dir := filepath.Join(t.TempDir(), "run")
		cmd, lines, stderr := startCLI(t, "--steps", "100", "--eval-every", "5", "--eval-batches", "100000000", "--width", "16",
			"--layers", "1", "--quiet", "--out", dir)
		for l := range lines {
			if strings.HasPrefix(l, "run directory:") {
				break
			}
		}
		time.Sleep(1500 * time.Millisecond) // every run evaluates at step 0: that evaluation is on
		cmd.Process.Signal(c.sig)
		start := time.Now()
		code := waitExit(t, cmd, lines, 30*time.Second)
		if code != c.status || time.Since(start) > 10*time.Second {
			t.Errorf("%v: exit %d after %v; want %d at once\n%s", c.sig, code, time.Since(start), c.status, stderr)
		}
		if !strings.Contains(stderr.String(), "during the evaluation at step 0") || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: stderr %q", c.sig, stderr)
		}
		if sets, _ := filepath.Glob(filepath.Join(dir, "ckpt-*")); len(sets) > 0 {
			t.Errorf("%v: a checkpoint was saved mid-evaluation: %v", c.sig, sets)
		}
	}
}

// TestInterruptEvalAndSample: `eval` over a long split and `sample` of many tokens stop
// at a signal with one line and the signal's status.
func TestInterruptEvalAndSample(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "t.txt")
	var sb strings.Builder
	for i := 0; sb.Len() < 600_000; i++ {
		fmt.Fprintf(&sb, "line %d of a text long enough to take a while to evaluate.\n", i)
	}
	if err := os.WriteFile(text, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if code, out, e := runCLI(t, "--data", text, "--steps", "2", "--warmup", "1", "--block", "64", "--width", "64", "--layers", "3",
		"--batch", "2", "--quiet", "--samples", "0", "--eval-batches", "1", "--out", run); code != 0 {
		t.Fatalf("run: %d %s %s", code, out, e)
	}
	before := tree(t, run)
	for _, c := range []struct {
		args []string
		sig  syscall.Signal
		want string
	}{
		{[]string{"eval", "--from", run, "--split", "train"}, syscall.SIGINT, "during the evaluation of"},
		{[]string{"sample", "--from", run, "--prompt", "line", "--max-tokens", "100000000"}, syscall.SIGTERM, "while sampling"},
	} {
		cmd, lines, stderr := startCLI(t, c.args...)
		time.Sleep(1500 * time.Millisecond)
		cmd.Process.Signal(c.sig)
		start := time.Now()
		code := waitExit(t, cmd, lines, 30*time.Second)
		if code != 128+int(c.sig) || time.Since(start) > 10*time.Second {
			t.Errorf("%s: exit %d after %v\n%s", c.args[0], code, time.Since(start), stderr)
		}
		if !strings.Contains(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%s: stderr %q; want one line with %q", c.args[0], stderr, c.want)
		}
	}
	sameTree(t, "eval and sample", before, tree(t, run))
}

// TestInterruptBeforeFirstEvaluation: SIGTERM before any evaluation saves a checkpoint
// that resumes (the best validation loss, none yet, must be representable in JSON).
func TestInterruptBeforeFirstEvaluation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	cmd, lines, stderr := startCLI(t, "--steps", "100000", "--eval-every", "1000000", "--width", "16", "--layers", "1", "--quiet", "--out", dir)
	for l := range lines {
		if strings.HasPrefix(l, "run directory:") {
			break
		}
	}
	time.Sleep(time.Second)
	cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd, lines, 30*time.Second); code != 143 || !strings.Contains(stderr.String(), "checkpoint saved in "+dir) {
		t.Fatalf("exit %d; stderr %q", code, stderr)
	}
	var st struct {
		Step int `json:"step"`
	}
	filetest.ReadJSON(t, filepath.Join(ckptDir(t, dir), "state.json"), &st)
	if code, out, e := runCLI(t, "--resume", dir, "--steps", itoa(st.Step+2), "--quiet", "--samples", "0"); code != 0 {
		t.Errorf("resume: exit %d\n%s\n%s", code, out, e)
	}
}

// TestShortRunWarmup: a run shorter than the default warm-up trains (found by hand:
// `--steps 20` failed with the schedule's own error, exit 1); an explicit warm-up as
// long as the decay is a usage error naming both flags.
func TestShortRunWarmup(t *testing.T) {
	for _, steps := range []string{"1", "10", "20"} {
		s, err := parseTrain([]string{"--steps", steps}, io.Discard)
		if err != nil {
			t.Fatalf("--steps %s: %v", steps, err)
		}
		if s.Warmup < 0 || s.Warmup >= s.DecaySteps {
			t.Errorf("--steps %s: warmup %d, decay steps %d", steps, s.Warmup, s.DecaySteps)
		}
	}
	if s, _ := parseTrain(nil, io.Discard); s.Warmup != 20 {
		t.Errorf("the default run's warm-up is %d; want 20", s.Warmup)
	}
	_, err := parseTrain([]string{"--steps", "20", "--warmup", "20"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--warmup 20 and --decay-steps 20") {
		t.Errorf("explicit warm-up = decay: %v; want a usage error naming both", err)
	}
}
