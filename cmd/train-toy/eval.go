package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
)

// evalCmd is `train-toy eval`: the loss of a saved text run over a whole split.
func evalCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("train-toy eval", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	from := fs.String("from", "", "run `directory` to load (required)")
	best := fs.Bool("best", false, "load the best-validation model (DIR/best) instead of the latest")
	split := fs.String("split", "val", "split to evaluate: val or train")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a sentence")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: train-toy eval --from DIR [flags]\n\nPrints the loss and accuracy of the model in DIR (a run on a text file) over a whole split\nof its data, in non-overlapping windows of the block size: a number without sampling noise.\n\nFlags:")
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return err
		}
		return usageErr("eval: %v", err)
	}
	switch {
	case fs.NArg() > 0:
		return usageErr("eval: unexpected argument %q", fs.Arg(0))
	case *from == "":
		return usageErr("eval: --from DIR is required")
	case *split != "val" && *split != "train":
		return usageErr("eval: --split %q: want val or train", *split)
	}
	dir := *from
	if *best {
		dir = filepath.Join(dir, train.BestDir)
	}
	cfg, err := train.LoadRunConfig(dir)
	if err != nil {
		return err
	}
	if cfg.Data.File == "" {
		return usageErr("eval: the run in %s trained on the %s task, not a text file; its validation loss is in summary.json", dir, cfg.Data.Task)
	}
	d, err := loadData(cfg, cfg.Tokenizer.Vocab)
	if err != nil {
		return err
	}
	ids := d.valIDs
	if *split == "train" {
		ids = d.trainIDs
	}
	dt, err := cfg.DtypeOf()
	if err != nil {
		return err
	}
	lm, err := train.NewLM(cfg.Model, max(cfg.Batch, 1), layers.WithDtype(dt))
	if err != nil {
		return err
	}
	if err := train.LoadModel(dir, lm); err != nil {
		return err
	}
	loss, acc, err := lm.EvaluateStream(ids)
	if err != nil {
		return err
	}
	windows := (len(ids) - 1) / cfg.Model.BlockSize
	if *asJSON {
		b, err := json.Marshal(map[string]any{"dir": dir, "split": *split, "windows": windows, "loss": loss, "acc": acc})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "%s: %s split, %d windows of %d tokens: loss %.4f, accuracy %.4f\n", dir, *split, windows, cfg.Model.BlockSize, loss, acc)
	return nil
}
