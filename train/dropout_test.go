package train_test

import (
	"testing"

	"github.com/attend-go/attend/datasets"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
	"gorgonia.org/tensor"
)

// With dropout on, two runs with the same seeds give the same losses, and the losses
// differ from a run without dropout.
func TestDropoutRunsRepeat(t *testing.T) {
	losses := func(dropout float64) []float64 {
		task, err := datasets.NewTask("copy", datasets.TaskOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := gpt.Config{Vocab: task.Tokenizer().VocabSize(), BlockSize: task.BlockSize(), Layers: 1, Heads: 2, Width: 16, Dropout: dropout}
		lm, err := gpt.NewLM(cfg, 4, layers.WithDtype(tensor.Float64), layers.WithSeed(5))
		if err != nil {
			t.Fatal(err)
		}
		tr, _ := datasets.NewTaskSampler(task, 4, 1)
		va, _ := datasets.NewTaskSampler(task, 4, 2)
		trainer, err := train.NewTrainer(lm, train.Config{Steps: 5, Schedule: train.CosineSchedule{MaxLR: 1e-2, MinLR: 1e-2},
			AdamW: train.DefaultAdamW(), Clip: 1}, tr, va)
		if err != nil {
			t.Fatal(err)
		}
		var ls []float64
		for i := 0; i < 5; i++ {
			l, err := trainer.TrainStep()
			if err != nil {
				t.Fatal(err)
			}
			ls = append(ls, l)
		}
		return ls
	}
	a, b, none := losses(0.2), losses(0.2), losses(0)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: loss %v then %v with the same seeds", i+1, a[i], b[i])
		}
	}
	if a[0] == none[0] {
		t.Fatal("dropout 0.2 gave the loss of dropout 0")
	}
}
