//go:build unix

package train_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/train"
	"gorgonia.org/tensor"
)

// TestLoadRefusesNonRegularFiles replaces each file of a checkpoint with a FIFO (which
// a plain read waits on forever), a link to /dev/zero (which it reads without end) and
// a directory: every load must fail at once with one error naming the file and saying
// what it is.
func TestLoadRefusesNonRegularFiles(t *testing.T) {
	cfg := ckptConfig(t, tensor.Float32)
	src := rigFromConfig(t, cfg)
	if _, err := src.tr.TrainStep(); err != nil {
		t.Fatal(err)
	}
	run := t.TempDir()
	if err := train.SaveCheckpoint(run, cfg, src.tr, cfg.State(train.RunState{})); err != nil {
		t.Fatal(err)
	}
	kinds := []struct {
		name string
		make func(path string) error
		want string
	}{
		{"FIFO", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "is a named pipe (FIFO), not a regular file"},
		{"link to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }, "is a link to a character device"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, "is a directory"},
	}
	loads := map[string]func(dir string) error{
		"LoadModel":      func(dir string) error { return train.LoadModel(dir, rigFromConfig(t, cfg).lm) },
		"LoadCheckpoint": func(dir string) error { _, err := train.LoadCheckpoint(dir, rigFromConfig(t, cfg).tr); return err },
		"rundir.Load":    func(dir string) error { _, err := rundir.Load(dir); return err },
	}
	uses := map[string][]string{
		train.ModelFile:     {"LoadModel", "LoadCheckpoint"},
		train.OptimizerFile: {"LoadCheckpoint"},
		train.StateFile:     {"LoadModel", "LoadCheckpoint"},
		train.ConfigFile:    {"rundir.Load"},
	}
	for file, users := range uses {
		for _, k := range kinds {
			for _, load := range users {
				t.Run(file+"/"+k.name+"/"+load, func(t *testing.T) {
					dir := copyDir(t, run)
					path := filepath.Join(dir, file)
					noErr(t, os.Remove(path))
					noErr(t, k.make(path))
					done := make(chan error, 1)
					go func() { done <- loads[load](dir) }()
					select {
					case err := <-done:
						checkLoadError(t, err, path, k.want)
					case <-time.After(10 * time.Second):
						t.Fatalf("%s blocks on %s", load, path)
					}
				})
			}
		}
	}
	t.Run("run directory a FIFO", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "run")
		noErr(t, syscall.Mkfifo(path, 0o644))
		_, err := rundir.Load(path)
		checkLoadError(t, err, path, "is not a directory")
	})
}
