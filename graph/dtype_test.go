package graph_test

import (
	"errors"
	"testing"

	"github.com/attend-go/attend/graph"
	"github.com/attend-go/attend/internal/graphtest"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// An op is built for its nodes' element type: handed values of the other float dtype
// it refuses them instead of reading their memory as its own type.
func TestOpRefusesOtherDtype(t *testing.T) {
	g := G.NewGraph()
	x := graphtest.Input(g, tensor.Float64, "x", tensor.Shape{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	y, err := graph.GELU(x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := y.Op().Do(graphtest.DenseOf(tensor.Float64, tensor.Shape{2, 3}, []float64{1, 2, 3, 4, 5, 6})); err != nil {
		t.Fatalf("float64 input: %v", err)
	}
	_, err = y.Op().Do(graphtest.DenseOf(tensor.Float32, tensor.Shape{2, 3}, []float64{1, 2, 3, 4, 5, 6}))
	if !errors.Is(err, graph.ErrDtype) {
		t.Fatalf("float32 input to a float64 op: got %v; want ErrDtype", err)
	}
}
