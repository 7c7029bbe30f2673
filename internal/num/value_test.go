package num_test

import (
	"slices"
	"testing"

	"github.com/attend-go/attend/internal/num"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestFloat64s(t *testing.T) {
	f32 := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 2.5, -3, 4}))
	f64 := tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{0.1, 0.2, 0.3}))
	for _, c := range []struct {
		name string
		v    G.Value
		want []float64
	}{
		{"float32 tensor", f32, []float64{1, 2.5, -3, 4}},
		{"float64 tensor", f64, []float64{0.1, 0.2, 0.3}},
		{"float32 scalar", G.NewF32(1.5), []float64{1.5}},
		{"float64 scalar", G.NewF64(0.1), []float64{0.1}},
	} {
		got, err := num.Float64s(c.v)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	got, _ := num.Float64s(f64)
	got[0] = 9
	if f64.Float64s()[0] != 0.1 {
		t.Error("Float64s returned the tensor's own slice; want a copy")
	}
	ints := tensor.New(tensor.WithShape(2), tensor.WithBacking([]int{1, 2}))
	view, err := f32.Slice(nil, tensor.S(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []G.Value{nil, (*tensor.Dense)(nil), ints, G.NewI(3), view.(*tensor.Dense)} {
		if got, err := num.Float64s(v); err == nil {
			t.Errorf("Float64s(%T %v) = %v; want an error", v, v, got)
		}
	}
}

func TestSliceSharesMemory(t *testing.T) {
	d := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, 2}))
	s, err := num.Slice[float32](d)
	if err != nil {
		t.Fatal(err)
	}
	s[1] = 7
	if d.Float32s()[1] != 7 {
		t.Error("Slice did not share the tensor's memory")
	}
	if _, err := num.Slice[float64](d); err == nil {
		t.Error("Slice[float64] of a float32 tensor: want an error")
	}
	x := G.NewF64(2)
	s64, err := num.Slice[float64](x)
	if err != nil || len(s64) != 1 {
		t.Fatal(s64, err)
	}
	s64[0] = 3
	if float64(*x) != 3 {
		t.Error("Slice did not share the scalar's memory")
	}
}

func TestByDtype(t *testing.T) {
	for _, c := range []struct {
		dt   tensor.Dtype
		want string
	}{{tensor.Float64, "f64"}, {tensor.Float32, "f32"}} {
		got, err := num.ByDtype(c.dt, "f64", "f32")
		if err != nil || got != c.want {
			t.Errorf("ByDtype(%v) = %q, %v; want %q", c.dt, got, err, c.want)
		}
	}
	for _, dt := range []tensor.Dtype{tensor.Int, tensor.Bool, tensor.Complex64, {}} {
		if got, err := num.ByDtype(dt, "f64", "f32"); err == nil {
			t.Errorf("ByDtype(%v) = %q; want an error", dt, got)
		}
	}
	if num.DtypeOf[float32]() != tensor.Float32 || num.DtypeOf[float64]() != tensor.Float64 {
		t.Errorf("DtypeOf: float32 → %v, float64 → %v", num.DtypeOf[float32](), num.DtypeOf[float64]())
	}
}
