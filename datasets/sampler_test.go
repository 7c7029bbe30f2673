package datasets_test

import (
	"slices"
	"testing"

	"github.com/attend-go/attend/datasets"
)

// ramp returns 0, 1, …, n-1 so that a token's value is its offset.
func ramp(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestSamplerWindows(t *testing.T) {
	tests := []struct {
		name              string
		n, batch, block   int
		draws             int
		wantAllOffsetsHit bool
	}{
		{"minimal data: only offset 0", 5, 3, 4, 10, true},
		{"two offsets", 6, 4, 4, 50, true},
		{"typical", 1000, 8, 16, 20, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := ramp(tc.n)
			s, err := datasets.NewSampler(data, tc.batch, tc.block, 7)
			if err != nil {
				t.Fatal(err)
			}
			if s.BatchSize() != tc.batch || s.BlockSize() != tc.block {
				t.Fatalf("sizes %d, %d", s.BatchSize(), s.BlockSize())
			}
			T := tc.block
			x, y := make([]int, tc.batch*T), make([]int, tc.batch*T)
			hit := make(map[int]bool)
			for range tc.draws {
				if err := s.Next(x, y); err != nil {
					t.Fatal(err)
				}
				for b := 0; b < tc.batch; b++ {
					i := x[b*T]
					if i < 0 || i+T >= tc.n {
						t.Fatalf("offset %d outside [0, %d)", i, tc.n-T)
					}
					hit[i] = true
					for j := 0; j < T; j++ {
						if x[b*T+j] != data[i+j] || y[b*T+j] != data[i+j+1] {
							t.Fatalf("row %d: x %v, y %v are not data[%d:] and data[%d:] shifted by one",
								b, x[b*T:(b+1)*T], y[b*T:(b+1)*T], i, i+1)
						}
					}
				}
			}
			if tc.wantAllOffsetsHit && len(hit) != tc.n-T {
				t.Fatalf("drew offsets %v, want all %d valid offsets", hit, tc.n-T)
			}
		})
	}
}

func TestSamplerDeterministic(t *testing.T) {
	draw := func(seed uint64) []int {
		s, err := datasets.NewSampler(ramp(500), 4, 8, seed)
		if err != nil {
			t.Fatal(err)
		}
		var all []int
		x, y := make([]int, 32), make([]int, 32)
		for range 5 {
			if err := s.Next(x, y); err != nil {
				t.Fatal(err)
			}
			all = append(all, x...)
		}
		return all
	}
	a, b, c := draw(42), draw(42), draw(43)
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different batches")
	}
	if slices.Equal(a, c) {
		t.Fatal("seeds 42 and 43 gave identical batches")
	}
}

func TestSamplerStateResume(t *testing.T) {
	s, err := datasets.NewSampler(ramp(300), 3, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]int, 15), make([]int, 15)
	for range 7 {
		if err := s.Next(x, y); err != nil {
			t.Fatal(err)
		}
	}
	state, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	var want [][]int
	for range 4 {
		if err := s.Next(x, y); err != nil {
			t.Fatal(err)
		}
		want = append(want, slices.Concat(x, y))
	}

	// A fresh sampler with another seed, restored, must continue identically.
	r, err := datasets.NewSampler(ramp(300), 3, 5, 999)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetState(state); err != nil {
		t.Fatal(err)
	}
	for k := range want {
		if err := r.Next(x, y); err != nil {
			t.Fatal(err)
		}
		if got := slices.Concat(x, y); !slices.Equal(got, want[k]) {
			t.Fatalf("batch %d after restore = %v, want %v", k, got, want[k])
		}
	}

	if err := r.SetState([]byte("garbage")); err == nil {
		t.Fatal("SetState(garbage) succeeded")
	} else {
		checkErr(t, err, datasets.ErrInvalidArgument)
	}
}

func TestSamplerErrors(t *testing.T) {
	tests := []struct {
		name            string
		n, batch, block int
		sentinel        error
		contains        string
	}{
		{"zero batch", 10, 0, 4, datasets.ErrInvalidArgument, "batch size 0"},
		{"zero block", 10, 2, 0, datasets.ErrInvalidArgument, "block size 0"},
		{"data too short", 4, 2, 4, datasets.ErrTooShort, "data has 4 tokens, needs at least block+1 = 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := datasets.NewSampler(ramp(tc.n), tc.batch, tc.block, 0)
			checkErr(t, err, tc.sentinel, tc.contains)
		})
	}
	t.Run("wrong buffer length", func(t *testing.T) {
		s, err := datasets.NewSampler(ramp(10), 2, 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkErr(t, s.Next(make([]int, 6), make([]int, 5)), datasets.ErrInvalidArgument, "want B·T = 2·3 = 6")
	})
}

func BenchmarkSamplerNext(b *testing.B) {
	s, err := datasets.NewSampler(ramp(1_000_000), 64, 256, 0)
	if err != nil {
		b.Fatal(err)
	}
	x, y := make([]int, 64*256), make([]int, 64*256)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Next(x, y); err != nil {
			b.Fatal(err)
		}
	}
}
