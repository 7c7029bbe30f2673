package gpt

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/layers"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// MaxLayers bounds Config.Layers for CheckMemory: building the graph of a GPT grows
// faster than linearly with its depth (1000 blocks take 5.6 s to build on a 2-core AMD
// EPYC; nanoGPT's largest, GPT-2 XL, has 48).
const MaxLayers = 1024

// MemoryUse is an estimate of the memory a GPT takes, in bytes, by part. It counts the
// tensors of a model built by NewLM: the learnables, a gradient per learnable and
// the intermediate values of the training pass (batch > 0), one Decoder (the inference
// pass over a window and its key/value cache; LM builds one per concurrent
// inference call), and AdamW's two moments per learnable when an optimiser is counted.
type MemoryUse struct {
	Params      int64 // learnable numbers (a tied table once), as GPT.NumParams counts them
	Weights     int64 // the learnables
	Gradients   int64 // the gradients of the training pass, one per learnable (two more tables when tied)
	Optimizer   int64 // AdamW's first and second moments
	Activations int64 // every intermediate value and its gradient: batch × block × width per layer, attention weights batch × heads × block² per layer, logits batch × block × vocab
}

// Total is the sum of the parts.
func (m MemoryUse) Total() int64 {
	return m.Weights + m.Gradients + m.Optimizer + m.Activations
}

// String is the estimate in one line, e.g. "1.2 GB (weights 100 MB, …)".
func (m MemoryUse) String() string {
	return fmt.Sprintf("%s (weights %s, gradients %s, optimizer %s, activations %s)",
		FormatBytes(m.Total()), FormatBytes(m.Weights), FormatBytes(m.Gradients), FormatBytes(m.Optimizer), FormatBytes(m.Activations))
}

// FormatBytes prints a byte count in decimal units: "512 B", "1.5 MB", "8.0 TB".
func FormatBytes(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	v, u := float64(n), 0
	for v >= 1000 && u < len(units)-1 {
		v /= 1000
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}

// Elements of the intermediate values per position, measured on the graphs New,
// graph.CrossEntropy and gorgonia.Grad build (count a model's node shapes to re-measure:
// layers/memory_test.go does). In a block of width C with H heads, the training pass
// holds 24 values of C and 4 of 4C per position (forward and backward), and 3 of
// H × T per position (scores, weights and their gradient); a Decoder's inference pass,
// forward only, 10 of C, 2 of 4C and one H × T, and 2 of C in its cache (keys, values).
// Outside the blocks: 5 of C and the logits with their gradient; in inference 3 of C and
// the logits.
const (
	// FlashAttention keeps no (T_q × T_k) values: the H × T terms are 0 (the weights are
	// computed only when asked for — plots, explain — which the estimate leaves out).
	trainPerLayerC, trainPerLayerHT = 24 + 4*4, 0
	inferPerLayerC, inferPerLayerHT = 10 + 2*4 + 2, 0
	trainOuterC, trainOuterV        = 5, 2
	inferOuterC, inferOuterV        = 3, 1
)

// ArenaFraction is the part of the values a model's passes compute that their
// graph.Programs hold at once, sharing buffers by liveness: graph's TestProgramArenaBytes
// measures 0.46 of the nanoGPT-cpu training step (0.44 at a 1024 context), and the
// evaluation pass's own arena adds about 0.08.
const ArenaFraction = 0.55

// Memory estimates the memory of a model of this configuration with a training pass over
// batch rows (0: a Decoder only, as sampling with NewLM(cfg, 0) builds), in the
// given dtype, with AdamW's state if optimizer. The arithmetic is checked: a size that
// overflows int64, or an element count that overflows int, is a *MemoryError (which
// matches ErrConfig) naming the field.
func (c Config) Memory(batch int, dtype tensor.Dtype, optimizer bool) (MemoryUse, error) {
	if err := c.Validate(); err != nil {
		return MemoryUse{}, attend.Wrap(err, "gpt: Memory")
	}
	if batch < 0 {
		return MemoryUse{}, errors.Wrapf(attend.ErrArgument, "gpt: Memory: batch = %d; want ≥ 0", batch)
	}
	if dtype != tensor.Float32 && dtype != tensor.Float64 {
		return MemoryUse{}, errors.Wrapf(attend.ErrArgument, "gpt: Memory: dtype %v; want float32 or float64", dtype)
	}
	m, ok := c.memory(batch, int64(dtype.Size()), optimizer)
	if !ok {
		f := c.culprit(batch, func(c Config, batch int) float64 {
			if _, ok := c.memory(batch, int64(dtype.Size()), optimizer); ok {
				return 0
			}
			return 1
		})
		return MemoryUse{}, &MemoryError{Field: f.name, Value: f.value, Limit: "sizes overflow 64-bit integers"}
	}
	return m, nil
}

// memory computes the estimate; ok is false when a size overflows.
func (c Config) memory(batch int, elem int64, optimizer bool) (m MemoryUse, ok bool) {
	d := c.withDefaults()
	var a arith
	v, t, l, h, w := int64(d.Vocab), int64(d.BlockSize), int64(d.Layers), int64(d.Heads), int64(d.Width)
	b := int64(batch)

	params := d.params(&a, true)
	hid := int64(d.MLPHidden)
	// Every tensor is indexed by int: the largest ones must fit.
	a.fitsInt(a.mul(hid, w), a.mul(v, w), a.mul(t, w))

	attn := a.mul(h, t) // attention values per position of a block (one row per head)
	trainC, trainHT, inferC, inferHT := int64(trainPerLayerC), int64(trainPerLayerHT), int64(inferPerLayerC), int64(inferPerLayerHT)
	if d.NoAttention {
		trainC, trainHT, inferC, inferHT = 6+4*4, 0, 3+2*4, 0 // LayerNorm, MLP and residual only
	}
	outerC := int64(trainOuterC)
	if d.Dropout > 0 { // each dropout site: its output and gradient
		sites := int64(2)
		if d.NoAttention {
			sites = 1
		}
		trainC += 2 * sites
		outerC += 2
	}
	// The MLP's values of 4C per position scale with its hidden width (SwiGLU holds one
	// more: gate and up); the attention's keys and values with KVHeads.
	mlpScale := func(n int64) int64 {
		if d.MLP == layers.ActSwiGLU {
			n += n / 2
		}
		return a.mul(n, hid) / (4 * w)
	}
	// per position of a block: the values of C, the MLP's 4 (train) or 2 (infer) of 4C
	// scaled, the attention rows
	trainBlock := a.add(a.mul(trainC-16, w), mlpScale(16*w), a.mul(trainHT, attn))
	inferBlock := a.add(a.mul(inferC-8, w), mlpScale(8*w), a.mul(inferHT, attn))
	infer := a.mul(t, a.add(a.mul(l, inferBlock), a.mul(inferOuterC, w), a.mul(inferOuterV, v)))
	acts, grads := infer, int64(0)
	if b > 0 {
		bt := a.mul(b, t)
		a.fitsInt(a.mul(bt, hid), a.mul(bt, v), a.mul(bt, attn))
		train := a.mul(bt, a.add(a.mul(l, trainBlock), a.mul(outerC, w), a.mul(trainOuterV, v)))
		acts = a.add(acts, train)
		grads = params
		if d.Tied {
			grads = a.add(grads, a.mul(2, v, w)) // the head's and the embedding's gradients, then their sum
		}
	}
	// graph.Program shares its ops' buffers by liveness: what is alive at once is a
	// fraction of all the values a pass computes.
	acts = int64(math.Ceil(ArenaFraction * float64(acts)))
	m = MemoryUse{Params: params, Weights: a.mul(params, elem), Gradients: a.mul(grads, elem), Activations: a.mul(acts, elem)}
	if optimizer {
		m.Optimizer = a.mul(2, params, elem)
	}
	a.add(m.Weights, m.Gradients, m.Optimizer, m.Activations)
	return m, !a.overflow
}

// arith is int64 arithmetic that remembers an overflow.
type arith struct{ overflow bool }

func (a *arith) mul(xs ...int64) int64 {
	p := int64(1)
	for _, x := range xs {
		hi, lo := bits.Mul64(uint64(p), uint64(x))
		if x < 0 || hi != 0 || lo > math.MaxInt64 {
			a.overflow = true
			return math.MaxInt64
		}
		p = int64(lo)
	}
	return p
}

func (a *arith) add(xs ...int64) int64 {
	s := int64(0)
	for _, x := range xs {
		if x < 0 || s > math.MaxInt64-x {
			a.overflow = true
			return math.MaxInt64
		}
		s += x
	}
	return s
}

func (a *arith) fitsInt(xs ...int64) {
	for _, x := range xs {
		if x > math.MaxInt {
			a.overflow = true
		}
	}
}

// field is a size of a configuration (or the batch), by the name config.json gives it.
type field struct {
	name  string
	value int
}

// culprit returns the size whose reduction to 1 lowers cost the most: the field to name
// when a configuration is too large.
func (c Config) culprit(batch int, cost func(Config, int) float64) field {
	d := c.withDefaults()
	cands := []struct {
		f   field
		set func(*Config, *int)
	}{
		{field{"n_embd", d.Width}, func(c *Config, _ *int) { c.Width, c.Heads, c.KVHeads = 1, 1, 0 }},
		{field{"n_layer", d.Layers}, func(c *Config, _ *int) { c.Layers = 1 }},
		{field{"block_size", d.BlockSize}, func(c *Config, _ *int) { c.BlockSize = 1 }},
		{field{"batch", batch}, func(_ *Config, b *int) { *b = min(*b, 1) }},
		{field{"vocab", d.Vocab}, func(c *Config, _ *int) { c.Vocab = 1 }},
		{field{"n_head", d.Heads}, func(c *Config, _ *int) { c.Heads, c.KVHeads = 1, 0 }},
		{field{"mlp_hidden", d.MLPHidden}, func(c *Config, _ *int) { c.MLPHidden = 1 }},
	}
	best, bestCost := cands[0].f, math.Inf(1)
	for _, cd := range cands {
		cc, b := c, batch // c, not d: a width's defaults (the MLP's hidden width) follow it
		cd.set(&cc, &b)
		if got := cost(cc, b); got < bestCost {
			best, bestCost = cd.f, got
		}
	}
	return best
}

// MemoryError is CheckMemory's refusal: Field (n_embd, block_size, n_layer, vocab, n_head,
// mlp_hidden or batch, as config.json names them) is the size that, reduced, would help most.
type MemoryError struct {
	Field     string
	Value     int
	Need      MemoryUse // zero when Limit is set
	Available int64     // bytes the machine has, when Need is set
	Limit     string    // a bound the configuration exceeds (e.g. MaxLayers), if that is the reason
}

func (e *MemoryError) Error() string {
	if e.Limit != "" {
		return fmt.Sprintf("gpt: %s = %d: %s", e.Field, e.Value, e.Limit)
	}
	return fmt.Sprintf("gpt: %s = %d: the model needs about %s, more than the %s of memory available", e.Field, e.Value, e.Need, FormatBytes(e.Available))
}

// Is makes errors.Is(err, ErrConfig) hold.
func (e *MemoryError) Is(target error) bool { return target == attend.ErrArgument }

// CheckMemory refuses, before anything is allocated, a configuration that cannot be
// built on this machine: more than MaxLayers blocks, sizes that overflow, or an
// estimate (Memory) larger than available bytes (available ≤ 0: not checked; see
// AvailableMemory). The refusal is a *MemoryError naming the field, or Memory's error.
func (c Config) CheckMemory(batch int, dtype tensor.Dtype, optimizer bool, available int64) (MemoryUse, error) {
	if c.Layers > MaxLayers {
		return MemoryUse{}, &MemoryError{Field: "n_layer", Value: c.Layers, Limit: fmt.Sprintf("more than %d blocks (gpt.MaxLayers)", MaxLayers)}
	}
	m, err := c.Memory(batch, dtype, optimizer)
	if err != nil {
		return MemoryUse{}, err
	}
	if available > 0 && m.Total() > available {
		f := c.culprit(batch, func(c Config, b int) float64 {
			m, err := c.Memory(b, dtype, optimizer)
			if err != nil {
				return math.Inf(1)
			}
			return float64(m.Total())
		})
		return m, &MemoryError{Field: f.name, Value: f.value, Need: m, Available: available}
	}
	return m, nil
}

// AvailableMemory returns the bytes this process may still allocate and where the
// number comes from: on Linux MemAvailable from /proc/meminfo (MemTotal on kernels
// without it), lowered to the cgroup's memory.max when the process runs in a smaller
// container; elsewhere, or when none is readable, 0 and "unknown" (callers then check
// only the bounds that do not depend on the machine).
func AvailableMemory() (int64, string) {
	n, src := meminfo(readSmall("/proc/meminfo"))
	if lim, err := strconv.ParseInt(strings.TrimSpace(string(readSmall("/sys/fs/cgroup/memory.max"))), 10, 64); err == nil && lim > 0 && (n == 0 || lim < n) {
		n, src = lim, "/sys/fs/cgroup/memory.max"
	}
	if n == 0 {
		return 0, "unknown"
	}
	return n, src
}

// meminfo reads MemAvailable (else MemTotal) from the text of /proc/meminfo.
func meminfo(b []byte) (int64, string) {
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || kb <= 0 || kb > math.MaxInt64/1024 {
			continue
		}
		switch f[0] {
		case "MemAvailable:":
			return kb * 1024, "MemAvailable in /proc/meminfo"
		case "MemTotal:":
			total = kb * 1024
		}
	}
	if total > 0 {
		return total, "MemTotal in /proc/meminfo"
	}
	return 0, ""
}

// readSmall reads at most 64 kB of a regular file; nil on any error.
func readSmall(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, 64<<10)
	n, _ := f.Read(b)
	return b[:n]
}
