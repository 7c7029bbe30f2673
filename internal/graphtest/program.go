package graphtest

import (
	"math"
	"testing"

	"github.com/attend-go/attend/graph"
	G "gorgonia.org/gorgonia"
)

// Forwarder is a model whose Forward maps a (B, T) node of token ids to (B, T, V) logits.
type Forwarder interface {
	Forward(ids *G.Node) (*G.Node, error)
}

// LMLoss runs m forward on the ids x and returns its logits and their mean cross-entropy
// against the targets y (graph.CrossEntropy).
func LMLoss(t testing.TB, m Forwarder, x, y *G.Node) (logits, loss *G.Node) {
	t.Helper()
	logits, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	loss, err = graph.CrossEntropy(logits, y)
	if err != nil {
		t.Fatal(err)
	}
	return logits, loss
}

// TapeValues runs g once on Gorgonia's TapeMachine and returns the values of outs.
func TapeValues(t testing.TB, g *G.ExprGraph, outs G.Nodes) [][]float64 {
	t.Helper()
	if err := RunAll(g); err != nil {
		t.Fatal(err)
	}
	want := make([][]float64, len(outs))
	for i, n := range outs {
		want[i] = Values(t, n.Value())
	}
	return want
}

// ExpectRunsMatch runs p runs times and fails the test unless every run gives the values
// of outs bit for bit as want (from TapeValues); what names the case in the failure.
func ExpectRunsMatch(t testing.TB, what string, p *graph.Program, outs G.Nodes, want [][]float64, runs int) {
	t.Helper()
	for run := 0; run < runs; run++ {
		if err := p.Run(); err != nil {
			t.Fatal(err)
		}
		for i, n := range outs {
			got := Values(t, p.Value(n))
			for j := range want[i] {
				if math.Float64bits(got[j]) != math.Float64bits(want[i][j]) {
					t.Fatalf("%s run %d: value %d[%d] = %v, TapeMachine %v", what, run, i, j, got[j], want[i][j])
				}
			}
		}
	}
}
