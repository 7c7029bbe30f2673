// Command archdump writes, for each GPT family (gpt.Families: nanoGPT's GPT, Llama,
// nanochat) at a tiny size, the model's float64 initial weights and one batch, for
// scripts/parity/torch_arch.py to compute PyTorch's loss and gradients from:
//
//	go run ./scripts/parity/archdump -out gpt/testdata/arch
//	/usr/bin/python3 scripts/parity/torch_arch.py gpt/testdata/arch
//
// Each family gets a directory with case.json (the config, the batch, the seed) and
// model.safetensors; the script adds torch.json (the loss) and torch_grads.safetensors
// (every learnable's gradient, by attend's name and in its layout). gpt's
// TestFamiliesMatchPyTorch rebuilds each model from case.json, loads the weights, and
// checks its loss and gradients against PyTorch's within 1e-9.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/safetensors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Case is case.json.
type Case struct {
	Family string     `json:"family"`
	Config gpt.Config `json:"config"`
	Seed   uint64     `json:"seed"`
	X      [][]int    `json:"x"`
	Y      [][]int    `json:"y"`
}

// tiny is the size every family is checked at: two layers (so nanochat's pattern has a
// short layer), four query heads over two key/value heads, a window of 2 keys.
var tiny = gpt.Config{Vocab: 11, BlockSize: 8, Layers: 2, Heads: 4, Width: 16}

func main() {
	out := flag.String("out", "gpt/testdata/arch", "directory to write the cases into")
	flag.Parse()
	for i, fam := range gpt.Families() {
		if err := dump(filepath.Join(*out, fam), fam, uint64(100+i)); err != nil {
			log.Fatal(err)
		}
	}
}

func dump(dir, fam string, seed uint64) error {
	cfg, err := gpt.Family(fam, tiny)
	if err != nil {
		return err
	}
	m, err := gpt.New(G.NewGraph(), cfg, layers.WithDtype(tensor.Float64), layers.WithSeed(seed), layers.WithInit(layers.Normal(0.3)))
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	c := Case{Family: fam, Config: m.Config, Seed: seed} // with its defaults filled in
	for b := 0; b < 2; b++ {
		x, y := make([]int, cfg.BlockSize), make([]int, cfg.BlockSize)
		for t := range x {
			x[t], y[t] = rng.IntN(cfg.Vocab), rng.IntN(cfg.Vocab)
		}
		y[3] = -1 // an unscored position
		c.X, c.Y = append(c.X, x), append(c.Y, y)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var ts []safetensors.NamedTensor
	for _, p := range m.Learnables() {
		ts = append(ts, safetensors.NamedTensor{Name: p.Name(), T: p.Value().(*tensor.Dense)})
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), ts, map[string]string{"family": fam}); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d learnables, %d parameters\n", fam, len(ts), m.NumParams())
	return os.WriteFile(filepath.Join(dir, "case.json"), append(b, '\n'), 0o644)
}
