package datasets

import (
	"errors"
	"testing"

	"github.com/attend-go/attend/internal/filetest"
	"github.com/attend-go/attend/torchrand"
)

// The offsets PyTorch's torch.randint draws right after nanoGPT's model construction
// (scripts/torchrand/gen_golden.py): the stream's first training batch must start there.
func TestNanoGPTStreamFirstBatchIsPyTorchs(t *testing.T) {
	var f struct {
		Streams []struct {
			Seed    uint64
			RandInt []int64 `json:"randint_1003790"`
			Raw32   []uint64
		}
	}
	filetest.ReadJSON(t, "../torchrand/testdata/torch_streams.json", &f)
	s0 := f.Streams[0]
	gen := torchrand.New(s0.Seed)
	for range s0.Raw32 {
		gen.Random()
	}
	// A training split of 1003790+64 tokens whose token at i is i, so x[b·T] is the offset.
	train := make([]int, 1003790+64)
	for i := range train {
		train[i] = i
	}
	s, err := NewNanoGPTStream(train, train[:100], 12, 64, gen)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]int, 12*64), make([]int, 12*64)
	if err := s.Train().Next(x, y); err != nil {
		t.Fatal(err)
	}
	for i, want := range s0.RandInt {
		if got := x[i*64]; int64(got) != want || y[i*64] != got+1 || x[i*64+63] != got+63 {
			t.Fatalf("window %d starts at %d (y %d), PyTorch's offset %d", i, got, y[i*64], want)
		}
	}
}

// Draw order: the training batch handed out at a step was drawn before the evaluation
// batches that precede that step (nanoGPT prefetches), and evaluation draws never
// change the training batches' order relative to one generator.
func TestNanoGPTStreamOrder(t *testing.T) {
	data := make([]int, 1000)
	for i := range data {
		data[i] = i
	}
	const B, T = 2, 4
	s, err := NewNanoGPTStream(data, data[:500], B, T, torchrand.New(3))
	if err != nil {
		t.Fatal(err)
	}
	ref := torchrand.New(3)
	drawN := func(n int) []int {
		o := make([]int, B)
		for i := range o {
			v, err := ref.RandInt(int64(n - T))
			if err != nil {
				t.Fatal(err)
			}
			o[i] = int(v)
		}
		return o
	}
	x, y := make([]int, B*T), make([]int, B*T)
	starts := func() []int { return []int{x[0], x[T]} }
	same := func(what string, got, want []int) {
		t.Helper()
		if got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("%s: offsets %v, want %v", what, got, want)
		}
	}
	x0 := drawN(1000) // drawn by NewNanoGPTStream
	ev := drawN(1000) // an evaluation train batch
	va := drawN(500)  // an evaluation val batch
	if err := s.TrainEval().Next(x, y); err != nil {
		t.Fatal(err)
	}
	same("train-eval batch", starts(), ev)
	if err := s.Val().Next(x, y); err != nil {
		t.Fatal(err)
	}
	same("val batch", starts(), va)
	x1 := drawN(1000)
	if err := s.Train().Next(x, y); err != nil {
		t.Fatal(err)
	}
	same("first training batch", starts(), x0)
	st, err := s.Val().State()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Train().Next(x, y); err != nil {
		t.Fatal(err)
	}
	same("second training batch", starts(), x1)
	after := append([]int(nil), x...)

	// Restoring the state (through any batcher) repeats the second batch.
	if err := s.Train().SetState(st); err != nil {
		t.Fatal(err)
	}
	if err := s.Train().Next(x, y); err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if x[i] != after[i] {
			t.Fatal("restored stream does not repeat the batch that followed")
		}
	}
}

func TestNanoGPTStreamErrors(t *testing.T) {
	data := make([]int, 100)
	if _, err := NewNanoGPTStream(data, data[:10], 2, 16, torchrand.New(1)); !errors.Is(err, ErrTooShort) {
		t.Errorf("short validation split: %v", err)
	}
	if _, err := NewNanoGPTStream(data, data, 0, 16, torchrand.New(1)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("batch 0: %v", err)
	}
	if _, err := NewNanoGPTStream(data, data, 1, 16, nil); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("nil generator: %v", err)
	}
	s, err := NewNanoGPTStream(data, data, 2, 4, torchrand.New(1))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := s.Train().State()
	if err := s.Val().Next(make([]int, 7), make([]int, 8)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("wrong buffer: %v", err)
	}
	if st2, _ := s.Train().State(); string(st2) != string(st) {
		t.Error("a rejected Next drew from the generator")
	}
	bad := append([]byte(nil), st...)
	bad[len(bad)-1] = 0x7f // offset far outside the split
	for name, b := range map[string][]byte{"empty": nil, "sampler state": []byte("pcg..."), "truncated": st[:len(st)-3], "offset": bad} {
		if err := s.Train().SetState(b); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if st2, _ := s.Train().State(); string(st2) != string(st) {
		t.Error("a rejected state changed the stream")
	}
}
