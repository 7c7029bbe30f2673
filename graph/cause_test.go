package graph_test

import (
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A data error raised while the machine runs is reachable through Cause, although
// Gorgonia's machine error has no Unwrap.
func TestCauseOfRunError(t *testing.T) {
	g := G.NewGraph()
	logits := G.NewMatrix(g, G.Float64, G.WithShape(2, 3), G.WithName("logits"), G.WithInit(G.Zeroes()))
	targets := G.NewVector(g, tensor.Int, G.WithShape(2), G.WithName("targets"),
		G.WithValue(tensor.New(tensor.WithBacking([]int{0, 3}))))
	loss, err := graph.CrossEntropy(logits, targets)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g, G.BindDualValues(logits))
	defer m.Close()
	_ = loss
	err = m.RunAll()
	if err == nil {
		t.Fatal("target 3 of a vocabulary of 3 ran without error")
	}
	if errors.Is(err, graph.ErrArgument) {
		t.Log("Gorgonia now unwraps its machine errors; Cause is still correct")
	}
	if !errors.Is(graph.Cause(err), graph.ErrArgument) {
		t.Fatalf("Cause(%v) = %v; want ErrArgument", err, graph.Cause(err))
	}
	if graph.Cause(nil) != nil {
		t.Fatal("Cause(nil) != nil")
	}
}
