package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// evalCmd is `train-toy eval`: the loss of a saved text run over a whole split.
func evalCmd(ctx context.Context, args []string, stdout, _ io.Writer) error {
	r := newSubcommand("eval", "Usage: train-toy eval --from DIR [flags]\n\nPrints the loss and accuracy of the model in DIR (a run on a text file) over a whole split\nof its data, in non-overlapping windows of the block size: a number without sampling noise.", stdout)
	split := r.fs.String("split", "val", "split to evaluate: val or train")
	asJSON := r.fs.Bool("json", false, "print one JSON object instead of a sentence")
	if err := r.parse(args); err != nil {
		return err
	}
	if *split != "val" && *split != "train" {
		return usageErr("eval: --split %q: want val or train", *split)
	}
	dir := r.dir()
	cfg, lm, err := loadRun(dir, true)
	if err != nil {
		return err
	}
	if cfg.Data.File == "" {
		return usageErr("eval: the run in %s trained on the %s task, not a text file; its validation loss is in summary.json", dir, cfg.Data.Task)
	}
	d, err := loadData(cfg)
	if err != nil {
		return err
	}
	ids := d.valIDs
	if *split == "train" {
		ids = d.trainIDs
	}
	if err := interrupted(ctx, "while loading %s; nothing was evaluated", dir); err != nil {
		return err
	}
	loss, acc, err := lm.EvaluateStreamContext(ctx, ids)
	if ctx.Err() != nil {
		return stopped(ctx, "during the evaluation of %s; nothing was written", dir)
	}
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
