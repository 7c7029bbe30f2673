package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
)

// runFlags are the flags every subcommand that loads a run has.
type runFlags struct {
	fs   *flag.FlagSet
	name string
	from *string
	best *bool

	usage func() // prints the usage (-h)
}

// newSubcommand starts the flag set of `train-toy name`; usage is printed by -h above
// the flags.
func newSubcommand(name, usage string, stdout io.Writer) *runFlags {
	fs := flag.NewFlagSet("train-toy "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package calls it on -h and on every error; parse prints the usage on -h
	return &runFlags{fs: fs, name: name, usage: func() {
		fmt.Fprintln(stdout, usage+"\n\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	},
		from: fs.String("from", "", "run `directory` to load (required)"),
		best: fs.Bool("best", false, "load the best-validation model (DIR/best) instead of the latest")}
}

// parse parses args: -h prints the usage (flag.ErrHelp); a bad flag, an extra argument or
// a missing --from is a usage error naming the subcommand.
func (r *runFlags) parse(args []string) error {
	if err := r.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			r.usage()
			return err
		}
		return flagErr("train-toy "+r.name, "%s: %v", r.name, err)
	}
	switch {
	case r.fs.NArg() > 0:
		return flagErr("train-toy "+r.name, "%s: unexpected argument %q", r.name, r.fs.Arg(0))
	case *r.from == "":
		return usageErr("%s: --from DIR is required", r.name)
	}
	return nil
}

// dir is the run directory to load: --from, or its best/ with --best.
func (r *runFlags) dir() string {
	if *r.best {
		return filepath.Join(*r.from, train.BestDir)
	}
	return *r.from
}

// loadRun reads the run config of dir's latest checkpoint and builds its model with the
// saved weights: an inference-only LM (batch 0), or with batches of the run's size for
// evaluation. The checkpoint directory is chosen once, so that config and weights come
// from the same save even while a training run writes new ones; if that run removes it
// before it is read, the newer one is loaded.
func loadRun(dir string, forEval bool) (rundir.Config, *gpt.LM, error) {
	for try := 0; ; try++ {
		set, err := train.CheckpointDir(dir)
		if err != nil {
			return rundir.Config{}, nil, err
		}
		cfg, lm, err := loadCheckpointDir(set, forEval)
		if err != nil && try < 3 && set != dir {
			if _, serr := os.Stat(set); errors.Is(serr, os.ErrNotExist) {
				continue
			}
		}
		return cfg, lm, err
	}
}

func loadCheckpointDir(dir string, forEval bool) (rundir.Config, *gpt.LM, error) {
	cfg, err := rundir.Load(dir)
	if err != nil {
		return cfg, nil, err
	}
	dt, err := cfg.DtypeOf()
	if err != nil {
		return cfg, nil, err
	}
	batch := 0
	if forEval {
		batch = max(cfg.Batch, 1)
	}
	if err := checkMemory(cfg, batch, false, dir); err != nil {
		return cfg, nil, err
	}
	lm, err := gpt.NewLM(cfg.Model, batch, layers.WithDtype(dt))
	if err != nil {
		return cfg, nil, err
	}
	if err := train.LoadModel(dir, lm); err != nil {
		return cfg, nil, err
	}
	return cfg, lm, nil
}
