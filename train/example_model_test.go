package train_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/layers"
	"github.com/attend-go/attend/train"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// firstToken is a toy classification task: a sequence of seqLen tokens, labelled with
// its first token. Only the last position is scored, so the model must attend back to
// position 0 to answer.
type firstToken struct {
	rng            *rand.Rand
	batch, classes int
}

const seqLen = 5

func (f firstToken) Next(x, y []int) error {
	for b := 0; b < f.batch; b++ {
		row := x[b*seqLen : (b+1)*seqLen]
		for i := range row {
			row[i] = f.rng.IntN(f.classes)
		}
		for i := 0; i < seqLen-1; i++ {
			y[b*seqLen+i] = -1 // not scored
		}
		y[(b+1)*seqLen-1] = row[0]
	}
	return nil
}

// Example_userModel trains a model written here, not the GPT, with train.Trainer: a
// one-layer causal attention classifier (token and position embeddings, one
// SelfAttention, a linear head), built as a Gorgonia graph and handed to the Trainer as
// a train.GraphModel.
func Example_userModel() {
	const batch, classes, width = 32, 6, 16
	g := G.NewGraph()
	opts := []layers.Option{layers.WithDtype(tensor.Float64), layers.WithSeed(7)}
	x := G.NewTensor(g, tensor.Int, 2, G.WithShape(batch, seqLen), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithShape(batch, seqLen), tensor.Of(tensor.Int))))
	y := G.NewTensor(g, tensor.Int, 2, G.WithShape(batch, seqLen), G.WithName("y"),
		G.WithValue(tensor.New(tensor.WithShape(batch, seqLen), tensor.Of(tensor.Int))))

	tok, err := layers.NewEmbedding(g, "tok", classes, width, opts...)
	if err != nil {
		log.Fatal(err)
	}
	pos, err := layers.NewEmbedding(g, "pos", seqLen, width, opts...)
	if err != nil {
		log.Fatal(err)
	}
	attn, err := layers.NewSelfAttention(g, "attn", layers.AttentionConfig{DModel: width, Heads: 2, Causal: true, OutProj: true}, opts...)
	if err != nil {
		log.Fatal(err)
	}
	head, err := layers.NewLinear(g, "head", width, classes, true, opts...)
	if err != nil {
		log.Fatal(err)
	}
	h, err := tok.Forward(x) // (B, T, width)
	if err == nil {
		h, err = pos.AddPositions(h)
	}
	if err == nil {
		h, err = attn.Forward(h)
	}
	var logits, loss *G.Node
	if err == nil {
		logits, err = head.Forward(h) // (B, T, classes)
	}
	if err == nil {
		loss, err = graph.CrossEntropy(logits, y)
	}
	if err != nil {
		log.Fatal(err)
	}
	var params G.Nodes
	for _, l := range []layers.Layer{tok, pos, attn, head} {
		params = append(params, l.Learnables()...)
	}
	model, err := train.NewGraphModel(train.GraphSpec{Inputs: x, Targets: y, Loss: loss, Logits: logits, Params: params})
	if err != nil {
		log.Fatal(err)
	}

	cfg := train.Config{
		Steps:       300,
		Schedule:    train.CosineSchedule{MaxLR: 1e-2, MinLR: 1e-3, WarmupSteps: 20, DecaySteps: 300},
		AdamW:       train.AdamWConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8},
		EvalEvery:   300,
		EvalBatches: 8,
		EvalAtStart: true,
	}
	trainData := firstToken{rng: rand.New(rand.NewPCG(1, 2)), batch: batch, classes: classes}
	valData := firstToken{rng: rand.New(rand.NewPCG(3, 4)), batch: batch, classes: classes}
	tr, err := train.NewTrainer(model, cfg, trainData, valData)
	if err != nil {
		log.Fatal(err)
	}
	tr.OnEval = func(r train.Report) error {
		fmt.Printf("step %d: val accuracy %s\n", r.Step, bucket(r.ValAcc))
		return nil
	}
	if err := tr.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	// Output:
	// step 0: val accuracy below 50%
	// step 300: val accuracy above 95%
}

// bucket keeps the example's output independent of the last digits of the run.
func bucket(acc float64) string {
	switch {
	case acc > 0.95:
		return "above 95%"
	case acc < 0.5:
		return "below 50%"
	}
	return fmt.Sprintf("%.2f", acc)
}
