// Package rundir is train-toy's run directory schema: the config.json that a run's
// checkpoints carry (the model, its dtype, the tokenizer, the data, the batch, the seed,
// the random streams and the training recipe), and its checks when a run is loaded for
// sampling, evaluation or resuming. The checkpoints themselves — the files, their
// atomic saves, checksums and loads — are package train's (train.SaveCheckpoint,
// train.LoadCheckpoint, train.ReadConfig); this package says what train-toy puts in them.
package rundir

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Format names the layout of a run directory (train.RunFormat).
const Format = train.RunFormat

// RNGTorch is Config.RNG for PyTorch's generator in nanoGPT's order.
const RNGTorch = "torch"

// TokenizerSpec is what it takes to rebuild a tokenizer: its kind — "char", "word",
// "gpt2" or "bpe:N" (datasets.ParseTokenizerSpec) — and, for char and word, its
// vocabulary id by id, for bpe:N its merges (datasets.SavedTokenizer). Before training
// only Kind is set: the run builds the tokenizer from its training text and saves it
// whole.
type TokenizerSpec struct {
	Kind   string   `json:"kind"`
	Vocab  []string `json:"vocab"`
	Merges [][2]int `json:"merges,omitempty"`
}

// Build rebuilds the tokenizer t saved (datasets.LoadTokenizer).
func (t TokenizerSpec) Build() (datasets.Tokenizer, error) {
	return datasets.LoadTokenizer(datasets.SavedTokenizer{Spec: t.Kind, Vocab: t.Vocab, Merges: t.Merges})
}

// Saved reports whether t holds a built tokenizer (not only its kind).
func (t TokenizerSpec) Saved() bool { return t.Vocab != nil || t.Merges != nil || t.Kind == "gpt2" }

// SpecOf is tok as a TokenizerSpec to save.
func SpecOf(tok datasets.Tokenizer) (TokenizerSpec, error) {
	s, err := datasets.SaveTokenizer(tok)
	if err != nil {
		return TokenizerSpec{}, err
	}
	return TokenizerSpec{Kind: s.Spec, Vocab: s.Vocab, Merges: s.Merges}, nil
}

// DataSpec names the data a run trains on: a synthetic task or a text file.
type DataSpec struct {
	Task    string  `json:"task,omitempty"`
	File    string  `json:"file,omitempty"`
	ValFrac float64 `json:"val_frac,omitempty"`
}

// Config is config.json: everything needed to rebuild the model and resume training.
type Config struct {
	Format    string        `json:"format"`
	Model     gpt.Config    `json:"model"`
	Dtype     string        `json:"dtype"` // "float32" or "float64"
	Tokenizer TokenizerSpec `json:"tokenizer"`
	Data      DataSpec      `json:"data"`
	Batch     int           `json:"batch"`
	Seed      uint64        `json:"seed"`
	// RNG names the random streams: "" (attend's own: a PCG stream per tensor and per
	// split) or RNGTorch (PyTorch's generator in nanoGPT's order: gpt.Model.InitLikeNanoGPT,
	// then datasets.NanoGPTStream).
	RNG   string       `json:"rng,omitempty"`
	Train train.Config `json:"train"`
}

// DtypeOf returns the tensor dtype Config.Dtype names.
func (c Config) DtypeOf() (tensor.Dtype, error) {
	switch c.Dtype {
	case "float32":
		return tensor.Float32, nil
	case "float64":
		return tensor.Float64, nil
	}
	return tensor.Dtype{}, errors.Wrapf(attend.ErrArgument, "dtype %q; want float32 or float64", c.Dtype)
}

// TokenizerHash is the SHA-256 of a tokenizer's kind and vocabulary, id by id, as
// recorded in state.json (train.RunState.TokenizerSHA256).
func TokenizerHash(t TokenizerSpec) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n", t.Kind, len(t.Vocab))
	for _, v := range t.Vocab {
		fmt.Fprintf(h, "%d:%s\n", len(v), v)
	}
	for _, m := range t.Merges { // none for char and word: their hashes are as before
		fmt.Fprintf(h, "%d,%d\n", m[0], m[1])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// State is the train.RunState to save with c: its tokenizer's hash set.
func (c Config) State(st train.RunState) train.RunState {
	st.TokenizerSHA256 = TokenizerHash(c.Tokenizer)
	return st
}

// Load reads the config.json of dir's latest checkpoint (see train.CheckpointDir) and
// checks it: format, model, dtype, and a tokenizer vocabulary that matches the model's
// and the one the checkpoint was saved with. Its errors match train.ErrCheckpoint.
func Load(dir string) (Config, error) {
	var c Config
	st, err := train.ReadConfig(dir, &c)
	if err != nil {
		return c, err
	}
	set, err := train.CheckpointDir(dir)
	if err != nil {
		return c, err
	}
	path := filepath.Join(set, train.ConfigFile)
	bad := func(format string, args ...any) error {
		return errors.Wrapf(train.ErrCheckpoint, "%s: "+format, append([]any{path}, args...)...)
	}
	if c.Format != Format {
		return c, bad("format %q; want %q", c.Format, Format)
	}
	if err := c.Model.Validate(); err != nil {
		return c, bad("%v", err)
	}
	if _, err := c.DtypeOf(); err != nil {
		return c, bad("%v", err)
	}
	tok, err := c.Tokenizer.Build()
	if err != nil {
		return c, bad("%v", err)
	}
	if tok.VocabSize() != c.Model.Vocab {
		return c, bad("tokenizer has %d symbols, model vocabulary %d", tok.VocabSize(), c.Model.Vocab)
	}
	if c.RNG != "" && c.RNG != RNGTorch {
		return c, bad("rng %q; want %q or none", c.RNG, RNGTorch)
	}
	if st.TokenizerSHA256 != "" && st.TokenizerSHA256 != TokenizerHash(c.Tokenizer) {
		return c, bad("the tokenizer vocabulary is not the one the checkpoint was saved with (its hash differs from %s's)", filepath.Join(set, train.StateFile))
	}
	return c, nil
}
