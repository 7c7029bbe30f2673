package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/attend-go/attend/cmd/train-toy/rundir"
	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/explain"
	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/train"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

const explainUsage = `Usage: train-toy explain [--masked] [--x JSON [--seed N | --wq JSON --wk JSON --wv JSON]]
       train-toy explain --from DIR --prompt TEXT [--layer L] [--head H]

Prints self-attention step by step, to 4 decimals: the encodings, Q, K, V, the similarity
scores q·kᵀ, the scaled scores, (with --masked) the causal mask and the masked scores, the
attention weights and the output. Without flags: the seed course's example (3 tokens,
d_model 2, the weights torch.manual_seed(42) gave its nn.Linear layers).

--x takes your own encodings as a JSON matrix, one row per token: --x '[[1,0,2],[0,1,1]]'.
Its weights are random (--seed) or yours: --wq, --wk (d_model × d_k) and --wv
(d_model × d_v), JSON matrices applied as x·W (the transpose of nn.Linear.weight).

--from shows the same steps inside a trained run: head H of layer L of the model in DIR
on the tokens of TEXT (causal, as the model runs), with the tokens on the rows and columns.`

// explainCmd is `train-toy explain`.
func explainCmd(_ context.Context, args []string, stdout, _ io.Writer) error {
	r := newSubcommand("explain", explainUsage, stdout)
	fs := r.fs
	masked := fs.Bool("masked", false, "causal (masked) self-attention: each token sees only itself and the tokens before it")
	xJSON := fs.String("x", "", "your encodings: a JSON `matrix`, one row per token (default: the seed's)")
	seed := fs.Uint64("seed", 0, "draw random weights from this seed, as the layer initialises them (default: the seed's weights, or seed 1 with --x)")
	wq := fs.String("wq", "", "query weights, a JSON `matrix` d_model × d_k")
	wk := fs.String("wk", "", "key weights, a JSON `matrix` d_model × d_k")
	wv := fs.String("wv", "", "value weights, a JSON `matrix` d_model × d_v")
	prompt := fs.String("prompt", "", "with --from: the text whose attention to show")
	layer := fs.Int("layer", 0, "with --from: the block, from 0")
	head := fs.Int("head", 0, "with --from: the head, from 0")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			r.usage()
			return err
		}
		return flagErr("train-toy explain", "explain: %v", err)
	}
	if fs.NArg() > 0 {
		return flagErr("train-toy explain", "explain: unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if *r.from != "" {
		for _, name := range []string{"x", "seed", "wq", "wk", "wv", "masked"} {
			if given[name] {
				return usageErr("explain: --%s does not go with --from (a trained layer has its own weights and is causal)", name)
			}
		}
		if *prompt == "" {
			return usageErr("explain: --from needs --prompt TEXT")
		}
		return explainRun(stdout, r.dir(), *prompt, *layer, *head)
	}
	for _, name := range []string{"prompt", "layer", "head", "best"} {
		if given[name] {
			return usageErr("explain: --%s needs --from DIR", name)
		}
	}
	nw := 0
	for _, name := range []string{"wq", "wk", "wv"} {
		if given[name] {
			nw++
		}
	}
	if nw > 0 && nw < 3 {
		return usageErr("explain: give all three of --wq, --wk and --wv, or none")
	}
	if nw == 3 && given["seed"] {
		return usageErr("explain: --seed draws the weights; it does not go with --wq, --wk and --wv")
	}

	in := explain.Seed(*masked)
	what := "the seed's example: 3 tokens, d_model 2, the weights torch.manual_seed(42) gave nn.Linear(2, 2, bias=False) for q, k and v"
	if given["x"] {
		x, err := parseMatrix("--x", *xJSON)
		if err != nil {
			return err
		}
		in.X = x
		if nw == 0 && !given["seed"] {
			*seed = 1
		}
	}
	switch {
	case nw == 3:
		for _, p := range []struct {
			flag string
			dst  *[][]float64
			src  string
		}{{"--wq", &in.Wq, *wq}, {"--wk", &in.Wk, *wk}, {"--wv", &in.Wv, *wv}} {
			m, err := parseMatrix(p.flag, p.src)
			if err != nil {
				return err
			}
			*p.dst = m
		}
		if err := checkWeights(in); err != nil {
			return err
		}
		what = fmt.Sprintf("%s, your weights", describeX(in.X, given["x"]))
	case given["x"] || given["seed"]:
		var err error
		if in, err = explain.RandomWeights(in.X, *seed, *masked); err != nil {
			return err
		}
		what = fmt.Sprintf("%s, random weights from seed %d (uniform in ±1/√d_model, nn.Linear's default)", describeX(in.X, given["x"]), *seed)
	}
	steps, err := explain.Steps(in)
	if err != nil {
		return err
	}
	kind := "self-attention"
	if *masked {
		kind = "masked (causal) self-attention"
	}
	fmt.Fprintf(stdout, "%s on %s\n", kind, what)
	printSteps(stdout, steps, nil)
	return nil
}

func describeX(x [][]float64, yours bool) string {
	if !yours {
		return "the seed's 3 tokens"
	}
	return fmt.Sprintf("your %d tokens of width %d", len(x), len(x[0]))
}

// parseMatrix reads a JSON matrix of numbers: one clear usage error for anything else.
func parseMatrix(flagName, s string) ([][]float64, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, usageErr("explain: %s: not a JSON matrix like [[1, 2], [3, 4]]: %v", flagName, err)
	}
	if len(raw) == 0 {
		return nil, usageErr("explain: %s: the matrix is empty", flagName)
	}
	m := make([][]float64, len(raw))
	for i, r := range raw {
		var row []any
		if err := json.Unmarshal(r, &row); err != nil {
			return nil, usageErr("explain: %s: row %d is %s, not a list of numbers", flagName, i+1, r)
		}
		if len(row) == 0 {
			return nil, usageErr("explain: %s: row %d is empty", flagName, i+1)
		}
		if i > 0 && len(row) != len(m[0]) {
			return nil, usageErr("explain: %s: rows of different lengths: row 1 has %d numbers, row %d has %d", flagName, len(m[0]), i+1, len(row))
		}
		m[i] = make([]float64, len(row))
		for j, v := range row {
			f, ok := v.(float64)
			if !ok {
				b, _ := json.Marshal(v)
				return nil, usageErr("explain: %s: row %d, column %d is %s, not a number", flagName, i+1, j+1, b)
			}
			m[i][j] = f
		}
	}
	return m, nil
}

// checkWeights turns a shape mismatch between the user's matrices into a usage error
// naming the flags.
func checkWeights(in explain.Input) error {
	d := len(in.X[0])
	for _, w := range []struct {
		flag string
		m    [][]float64
	}{{"--wq", in.Wq}, {"--wk", in.Wk}, {"--wv", in.Wv}} {
		if len(w.m) != d {
			return usageErr("explain: %s has %d rows; want %d, the width of the encodings (x·W)", w.flag, len(w.m), d)
		}
	}
	if len(in.Wk[0]) != len(in.Wq[0]) {
		return usageErr("explain: --wk has %d columns and --wq %d; queries and keys must have the same width", len(in.Wk[0]), len(in.Wq[0]))
	}
	return nil
}

// printSteps prints each matrix under a line saying what it is: on one line when it is
// short and unlabelled, else as a table (labelled with tokens when given).
func printSteps(w io.Writer, steps []explain.Step, tokens []string) {
	for _, s := range steps {
		fmt.Fprintf(w, "\n%s (%d × %d): %s\n", s.Name, len(s.M), len(s.M[0]), s.What)
		if line := explain.Inline(s.M); tokens == nil && len(line) <= 100 {
			fmt.Fprintln(w, line)
			continue
		}
		rows := tokens
		if rows == nil {
			rows = make([]string, len(s.M))
			for i := range rows {
				rows[i] = strconv.Itoa(i + 1)
			}
		}
		var cols []string
		if s.Square {
			cols = rows
		}
		fmt.Fprint(w, explain.Table(s.M, rows, cols))
	}
}

// explainRun shows head h of block l of the model in dir on the tokens of prompt: the
// input of the block's attention (its first LayerNorm's output), the head's slices of
// Wq, Wk and Wv, and the steps they give, computed in float64.
func explainRun(w io.Writer, dir, prompt string, l, h int) error {
	cfg, lm, err := loadRun(dir, false)
	if err != nil {
		return err
	}
	mc := lm.Model.Config
	switch {
	case mc.NoAttention:
		return usageErr("explain: the model in %s has no attention (--no-attention)", dir)
	case l < 0 || l >= mc.Layers:
		return usageErr("explain: --layer %d: the model has layers 0 to %d", l, mc.Layers-1)
	case h < 0 || h >= mc.Heads:
		return usageErr("explain: --head %d: the model has heads 0 to %d", h, mc.Heads-1)
	}
	tok, err := runTokenizer(dir, cfg)
	if err != nil {
		return err
	}
	ids, err := tok.Encode(prompt)
	if err != nil {
		return usageErr("explain: --prompt: %v", err)
	}
	switch {
	case len(ids) == 0:
		return usageErr("explain: --prompt is empty")
	case len(ids) > mc.BlockSize:
		return usageErr("explain: --prompt has %d tokens; the model's context is %d", len(ids), mc.BlockSize)
	}
	tokens := make([]string, len(ids))
	for i, id := range ids {
		t, err := tok.Decode([]int{id})
		if err != nil {
			return err
		}
		tokens[i] = printable(t)
	}
	in, err := headInput(lm, ids, l, h)
	if err != nil {
		return err
	}
	steps, err := explain.Steps(in)
	if err != nil {
		return err
	}
	steps[0].Name = "encodings"
	steps[0].What = fmt.Sprintf("the input of layer %d's attention: the token and position embeddings, through the layer's LayerNorm ln_1", l)
	if l > 0 {
		steps[0].What = fmt.Sprintf("the input of layer %d's attention: the residual stream after layers 0 to %d, through the layer's LayerNorm ln_1", l, l-1)
	}
	last := &steps[len(steps)-1]
	last.What += fmt.Sprintf("; head %d's part of the layer's output, before the output projection Wo mixes the heads", h)
	fmt.Fprintf(w, "head %d of layer %d of the model in %s (width %d, heads of width %d), on %d tokens: %s\n",
		h, l, dir, mc.Width, mc.Width/mc.Heads, len(ids), strings.Join(tokens, " "))
	printSteps(w, steps, tokens)
	return nil
}

// headInput runs the model on ids up to the attention of block l and returns its input
// with head h's columns of Wq, Wk, Wv (and of the biases): one head as explain sees it.
// The stream is the model's own forward pass (gpt.Model.BlockInput), then the block's
// LayerNorm.
func headInput(lm *gpt.LM, ids []int, l, h int) (explain.Input, error) {
	m := lm.Model
	t := len(ids)
	idsT := tensor.New(tensor.WithShape(1, t), tensor.WithBacking(append([]int(nil), ids...)))
	in := G.NewTensor(lm.Graph, tensor.Int, 2, G.WithShape(1, t), G.WithName("explain.ids"), G.WithValue(idsT))
	x, err := m.BlockInput(in, l) // (1, T, C): the residual stream entering block l
	if err != nil {
		return explain.Input{}, err
	}
	blk := m.Blocks[l]
	if x, err = blk.LN1.Forward(x); err != nil { // (1, T, C)
		return explain.Input{}, err
	}
	p, err := graph.NewProgram(x)
	if err != nil {
		return explain.Input{}, err
	}
	if err := p.Run(); err != nil {
		return explain.Input{}, errors.Wrap(err, "explain")
	}
	c := m.Config.Width
	dh := c / m.Config.Heads
	a := blk.Attn
	cols := func(n *G.Node) [][]float64 { // head h's columns of a (C, C) weight
		d := float64s(n.Value())
		out := make([][]float64, c)
		for i := range out {
			out[i] = d[i*c+h*dh : i*c+(h+1)*dh]
		}
		return out
	}
	vec := func(n *G.Node) []float64 {
		if n == nil {
			return nil
		}
		return float64s(n.Value())[h*dh : (h+1)*dh]
	}
	xd := float64s(p.Value(x))
	xs := make([][]float64, t)
	for i := range xs {
		xs[i] = xd[i*c : (i+1)*c]
	}
	return explain.Input{X: xs, Wq: cols(a.Wq), Wk: cols(a.Wk), Wv: cols(a.Wv),
		Bq: vec(a.Bq), Bk: vec(a.Bk), Bv: vec(a.Bv), Causal: true}, nil
}

// float64s copies a float value of the model to float64 (nil if it is none).
func float64s(v G.Value) []float64 {
	f, err := num.Float64s(v)
	if err != nil {
		return nil
	}
	return f
}

// runTokenizer rebuilds the tokenizer saved in the run config of dir.
func runTokenizer(dir string, cfg rundir.Config) (datasets.Tokenizer, error) {
	tok, err := cfg.Tokenizer.Build()
	return tok, errors.Wrapf(err, "%s", filepath.Join(dir, train.ConfigFile))
}
