package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attend-go/attend/train"
)

// TestKillResume is the short version of scripts/torture/kill_resume.sh: a run that
// evaluates and checkpoints every step is SIGKILLed a few times at moments spread over
// its checkpoint writes; after each kill --resume must start from the last checkpoint
// the killed run finished (or the one after, if the kill landed between its rename and
// the printed line), and sample and eval must load it.
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds train-toy and trains")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "train-toy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	text := filepath.Join(tmp, "text.txt")
	var sb strings.Builder
	for i := range 200 {
		sb.WriteString("line " + strconv.Itoa(i) + ": the quick brown fox jumps over the lazy dog.\n")
	}
	if err := os.WriteFile(text, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(tmp, "run")
	stepLine := regexp.MustCompile(`(?m)^step +(\d+):`)
	resumed := regexp.MustCompile(`resuming at step (\d+) `)
	last := -1
	for k, wait := range []time.Duration{700, 230, 410, 150, 330} {
		args := []string{"--data", text, "--layers", "1", "--heads", "2", "--width", "16", "--block", "16", "--batch", "4",
			"--eval-every", "1", "--eval-batches", "1", "--rng", "attend", "--samples", "0", "--quiet", "--steps", "100000", "--out", run}
		if last >= 0 {
			args = []string{"--resume", run, "--steps", "100000", "--quiet", "--samples", "0"}
		}
		cmd := exec.Command(bin, args...)
		outPath := filepath.Join(tmp, "out")
		f, err := os.Create(outPath) // a file, not a buffer: read while the run writes it
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		output := func() string { b, _ := os.ReadFile(outPath); return string(b) }
		deadline := time.Now().Add(20 * time.Second)
		for last >= 0 && !resumed.MatchString(output()) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(wait * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		f.Close()
		o := output()
		if last >= 0 {
			m := resumed.FindStringSubmatch(o)
			if m == nil {
				t.Fatalf("kill %d: --resume did not start:\n%s", k, o)
			}
			got, _ := strconv.Atoi(m[1])
			if got != last && got != last+1 {
				t.Fatalf("kill %d: resumed at step %d; the last complete checkpoint was step %d", k, got, last)
			}
			last = got
		}
		if ms := stepLine.FindAllStringSubmatch(o, -1); len(ms) > 0 {
			last, _ = strconv.Atoi(ms[len(ms)-1][1])
		} else if last < 0 {
			t.Fatalf("kill %d: no checkpoint after %v:\n%s", k, wait*time.Millisecond, o)
		}
		for _, sub := range [][]string{
			{"sample", "--from", run, "--prompt", "line", "--max-tokens", "4", "--temperature", "0"},
			{"eval", "--from", run}, {"eval", "--from", run, "--best"},
		} {
			if o, err := exec.Command(bin, sub...).CombinedOutput(); err != nil {
				t.Errorf("kill %d: %s: %v\n%s", k, strings.Join(sub, " "), err, o)
			}
		}
	}
}

// ckptDir is the latest checkpoint directory of the run in dir.
func ckptDir(t *testing.T, dir string) string {
	t.Helper()
	set, err := train.CheckpointDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
