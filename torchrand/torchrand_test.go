package torchrand

import (
	"fmt"
	"math"
	"testing"

	"github.com/attend-go/attend/internal/filetest"
)

type stream struct {
	Seed       uint64    `json:"seed"`
	Raw32      []uint64  `json:"raw32"`
	RandInt    []int64   `json:"randint_1003790"`
	RandInt40  []int64   `json:"randint_2pow40"`
	Uniform    []float64 `json:"uniform_pm0.1_10"`
	Normal5    []float64 `json:"normal_5"`
	Normal3    []float64 `json:"normal_3"`
	Normal16   []float64 `json:"normal_16"`
	Normal20   []float64 `json:"normal_20"`
	Normal40   []float64 `json:"normal_40"`
	Normal8320 struct {
		Head, Tail []float64
		Sum        float64
	} `json:"normal_8320"`
	Raw32After []uint64 `json:"raw32_after"`
}

func loadStreams(t *testing.T) []stream {
	t.Helper()
	var f struct{ Streams []stream }
	filetest.ReadJSON(t, "testdata/torch_streams.json", &f)
	if len(f.Streams) == 0 {
		t.Fatal("no streams in testdata/torch_streams.json")
	}
	return f.Streams
}

// The reference value every MT19937 implementation is checked against: the 10000th
// output of std::mt19937 with its default seed 5489 (C++11 [rand.predef]).
func TestMT19937Reference(t *testing.T) {
	g := New(5489)
	var y uint32
	for i := 0; i < 10000; i++ {
		y = g.Random()
	}
	if y != 4123659995 {
		t.Fatalf("10000th output %d, want 4123659995", y)
	}
}

// closeF32 reports whether got is want to within 4e-7 relative, or 4e-7·0.002 absolute
// near zero: a few float32 ulps. PyTorch's normal_ uses vectorised approximations of
// log, sin and cos (avx_mathfun) which torchrand does not copy; uniform_ values and
// all integers match exactly.
func closeF32(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 4e-7*math.Max(math.Abs(want), 0.002)
}

func checkF32(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !closeF32(got[i], want[i]) {
			t.Fatalf("%s[%d] = %.9g, PyTorch %.9g", what, i, got[i], want[i])
		}
	}
}

// Every draw in the file, made in the file's order from one generator per seed, so a
// wrong number of draws anywhere shows up in everything after it.
func TestStreamsMatchPyTorch(t *testing.T) {
	for _, s := range loadStreams(t) {
		t.Run(fmt.Sprint(s.Seed), func(t *testing.T) {
			g := New(s.Seed)
			for i, want := range s.Raw32 {
				if got := randInt(t, g, 1<<32-1); uint64(got) != want {
					t.Fatalf("raw32[%d] = %d, PyTorch %d", i, got, want)
				}
			}
			for i, want := range s.RandInt {
				if got := randInt(t, g, 1003790); got != want {
					t.Fatalf("randint(1003790)[%d] = %d, PyTorch %d", i, got, want)
				}
			}
			for i, want := range s.RandInt40 {
				if got := randInt(t, g, 1<<40); got != want {
					t.Fatalf("randint(2^40)[%d] = %d, PyTorch %d", i, got, want)
				}
			}
			u := make([]float32, 10)
			g.UniformFill32(u, -0.1, 0.1)
			for i, want := range s.Uniform {
				if u[i] != float32(want) {
					t.Fatalf("uniform_(-0.1, 0.1)[%d] = %.9g, PyTorch %.9g", i, u[i], want)
				}
			}
			for _, c := range []struct {
				n    int
				want []float64
			}{{5, s.Normal5}, {3, s.Normal3}, {16, s.Normal16}, {20, s.Normal20}, {40, s.Normal40}} {
				v := make([]float32, c.n)
				g.NormalFill32(v, 0, 0.02)
				checkF32(t, fmt.Sprintf("normal_ of %d", c.n), v, c.want)
			}
			v := make([]float32, 8320)
			g.NormalFill32(v, 0, 0.02)
			checkF32(t, "normal_ of 8320, head", v[:32], s.Normal8320.Head)
			checkF32(t, "normal_ of 8320, tail", v[len(v)-32:], s.Normal8320.Tail)
			sum := 0.0
			for _, x := range v {
				sum += float64(x)
			}
			if math.Abs(sum-s.Normal8320.Sum) > 1e-5 {
				t.Fatalf("normal_ of 8320: sum %.9g, PyTorch %.9g", sum, s.Normal8320.Sum)
			}
			for i, want := range s.Raw32After {
				if got := randInt(t, g, 1<<32-1); uint64(got) != want {
					t.Fatalf("raw32 after the fills [%d] = %d, PyTorch %d", i, got, want)
				}
			}
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	g := New(42)
	for i := 0; i < 1000; i++ {
		g.Random()
	}
	v := make([]float32, 3)
	g.NormalFill32(v, 0, 1) // leaves a cached normal behind
	b, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var h Generator
	if err := h.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	a, c := make([]float32, 7), make([]float32, 7)
	g.NormalFill32(a, 0, 1)
	h.NormalFill32(c, 0, 1)
	for i := range a {
		if a[i] != c[i] {
			t.Fatalf("restored generator differs at %d: %v vs %v", i, c[i], a[i])
		}
	}
	for i := 0; i < 2000; i++ {
		if x, y := g.Random(), h.Random(); x != y {
			t.Fatalf("restored generator differs at draw %d", i)
		}
	}
	// A freshly seeded generator's state round-trips too.
	if b, err = New(1).MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	if err := h.UnmarshalBinary(b); err != nil {
		t.Fatalf("fresh state: %v", err)
	}
	if x, y := h.Random(), New(1).Random(); x != y {
		t.Fatalf("fresh state restored: first draw %d, want %d", x, y)
	}
}

func TestUnmarshalRejectsBadState(t *testing.T) {
	good, _ := New(5).MarshalBinary()
	mutate := func(f func(b []byte) []byte) []byte {
		b := append([]byte(nil), good...)
		return f(b)
	}
	cases := map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-1],
		"version":   mutate(func(b []byte) []byte { b[0] = 2; return b }),
		"left 0": mutate(func(b []byte) []byte {
			copy(b[1+4*stateN:], []byte{0, 0, 0, 0})
			return b
		}),
		"left 900": mutate(func(b []byte) []byte {
			copy(b[1+4*stateN:], []byte{0x84, 3, 0, 0})
			return b
		}),
		"flag": mutate(func(b []byte) []byte { b[1+4*stateN+8] = 7; return b }),
		"nan": mutate(func(b []byte) []byte {
			copy(b[len(b)-8:], []byte{1, 0, 0, 0, 0, 0, 0xf8, 0x7f})
			return b
		}),
	}
	for name, b := range cases {
		g := New(9)
		want := New(9).Random()
		if err := g.UnmarshalBinary(b); err == nil {
			t.Errorf("%s: no error", name)
		}
		if got := g.Random(); got != want {
			t.Errorf("%s: a rejected state changed the generator", name)
		}
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	good, _ := New(5).MarshalBinary()
	f.Add(good)
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		var g Generator
		if err := g.UnmarshalBinary(b); err != nil {
			return
		}
		// An accepted state must be usable and round-trip.
		for i := 0; i < 700; i++ {
			g.Random()
		}
		v := make([]float32, 5)
		g.NormalFill32(v, 0, 1)
		c, err := g.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var h Generator
		if err := h.UnmarshalBinary(c); err != nil {
			t.Fatalf("re-marshalled state rejected: %v", err)
		}
	})
}

func BenchmarkRandom(b *testing.B) {
	g := New(1)
	for i := 0; i < b.N; i++ {
		g.Random()
	}
}

func randInt(t *testing.T, g *Generator, high int64) int64 {
	t.Helper()
	v, err := g.RandInt(high)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRandIntRejectsNonPositiveHigh(t *testing.T) {
	g := New(1)
	for _, high := range []int64{0, -5} {
		if _, err := g.RandInt(high); err == nil {
			t.Errorf("RandInt(%d): no error", high)
		}
	}
	if got, want := g.Random(), New(1).Random(); got != want {
		t.Error("a rejected RandInt drew from the generator")
	}
}
