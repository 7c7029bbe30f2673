package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/attend-go/attend/datasets"
	"github.com/pkg/errors"
)

const tokenizeUsage = `Usage: train-toy tokenize --tokenizer SPEC [--train-on FILE] < TEXT

Reads standard input and prints its token ids as one JSON array, e.g.
  echo -n "Hello!! I'm Andrej" | train-toy tokenize --tokenizer gpt2
  [15496,3228,314,1101,10948,73]

SPEC is one of char, word, gpt2, bpe:N (N ≥ 256):
  char    one token per character; the vocabulary is the sorted characters of FILE
  word    one token per whitespace-separated word; the sorted words of FILE
  gpt2    GPT-2's byte-level BPE (tiktoken's gpt2 ids); no FILE
  bpe:N   a byte-level BPE of N tokens learned from FILE as minbpe's RegexTokenizer

Standard input must be UTF-8; a character or word not in the vocabulary is an error.`

// tokenizeStdin is the input of `train-toy tokenize`: the subcommands are not given
// standard input, so tests replace this.
var tokenizeStdin io.Reader = os.Stdin

// tokenizeCmd is `train-toy tokenize`.
func tokenizeCmd(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("train-toy tokenize", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	spec := fs.String("tokenizer", "", "the tokenizer `SPEC`: char, word, gpt2 or bpe:N (required)")
	trainOn := fs.String("train-on", "", "text `FILE` that char, word and bpe:N learn their vocabulary from (required for them)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, tokenizeUsage+"\n\nFlags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return err
		}
		return flagErr("train-toy tokenize", "tokenize: %v", err)
	}
	if fs.NArg() > 0 {
		return flagErr("train-toy tokenize", "tokenize: unexpected argument %q (the text is read from standard input)", fs.Arg(0))
	}
	if *spec == "" {
		return flagErr("train-toy tokenize", "tokenize: --tokenizer SPEC is required (%s)", datasets.TokenizerSpecs)
	}
	s, err := datasets.ParseTokenizerSpec(*spec)
	if err != nil {
		return usageErr("tokenize: %v", err)
	}
	switch {
	case s.NeedsText() && *trainOn == "":
		return usageErr("tokenize: --tokenizer %s learns its vocabulary from a text: give --train-on FILE", s)
	case !s.NeedsText() && *trainOn != "":
		return usageErr("tokenize: --train-on does not go with --tokenizer %s, whose vocabulary is fixed", s)
	}
	var train string
	if *trainOn != "" {
		if train, err = datasets.LoadTextFile(*trainOn); err != nil {
			return errors.Wrap(err, "tokenize: --train-on")
		}
	}
	if err := interrupted(ctx, "before reading standard input"); err != nil {
		return err
	}
	tok, err := s.New(train)
	if err != nil {
		return errors.Wrapf(err, "tokenize: --tokenizer %s from %s", s, *trainOn)
	}
	text, err := io.ReadAll(io.LimitReader(tokenizeStdin, datasets.MaxTextFile+1))
	switch {
	case err != nil:
		return errors.Wrap(err, "tokenize: reading standard input")
	case len(text) > datasets.MaxTextFile:
		return usageErr("tokenize: standard input is over %d bytes", datasets.MaxTextFile)
	}
	if err := interrupted(ctx, "before tokenizing"); err != nil {
		return err
	}
	ids, err := tok.Encode(string(text))
	if err != nil {
		return usageErr("tokenize: standard input: %v", err)
	}
	if ids == nil {
		ids = []int{}
	}
	out, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	w.Write(out)
	w.WriteByte('\n')
	return w.Flush()
}
