package gpt_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/gpt"
	"github.com/attend-go/attend/layers"
	G "gorgonia.org/gorgonia"
)

// TestDeepErrorOneLine: a failure deep inside a GPT's construction (the weight of one
// block's MLP) is one line that names the dotted node once, says where it left attend
// once, and matches the module's sentinel.
func TestDeepErrorOneLine(t *testing.T) {
	cfg := gpt.Config{Vocab: 11, BlockSize: 6, Layers: 2, Heads: 2, Width: 8}
	src, err := gpt.New(G.NewGraph(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	const victim = "blocks.1.mlp.fc.weight"
	var share G.Nodes
	for _, n := range src.Learnables() {
		if n.Name() != victim {
			share = append(share, n)
		}
	}
	_, err = gpt.New(G.NewGraph(), cfg, layers.Share(share))
	if err == nil {
		t.Fatalf("gpt.New shared without %s: no error", victim)
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	if !errors.Is(err, attend.ErrArgument) || !errors.Is(err, layers.ErrConfig) {
		t.Errorf("error does not match attend.ErrArgument: %v", err)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	if n := strings.Count(msg, "blocks.1"); n != 1 {
		t.Errorf("error names blocks.1 %d times; want once: %q", n, msg)
	}
	if !strings.Contains(msg, victim) {
		t.Errorf("error does not name %s: %q", victim, msg)
	}
	for _, pkg := range []string{"gpt: ", "layers: ", "graph: "} {
		if n := strings.Count(msg, pkg); n > 1 {
			t.Errorf("error says %q %d times: %q", pkg, n, msg)
		}
	}
	if n := strings.Count(msg, ": "); n > 3 {
		t.Errorf("error nests %d levels: %q", n, msg)
	}
}
