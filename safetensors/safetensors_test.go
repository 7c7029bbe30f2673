package safetensors_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/attend-go/attend/internal/filetest"
	"github.com/attend-go/attend/safetensors"
)

// tinyFile is the exact encoding of tinyTensors with metadata {"format": "pt"}.
var tinyFile = concat(
	[]byte{0x90, 0, 0, 0, 0, 0, 0, 0}, // header length 144, little-endian
	[]byte(`{"__metadata__":{"format":"pt"},`+
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`+
		`"b":{"dtype":"F64","shape":[1,1],"data_offsets":[8,16]}}`+
		`   `), // 141 bytes of JSON + 3 spaces of padding = 144
	[]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, // a = [1, −2] as float32
	[]byte{0, 0, 0, 0, 0, 0, 0xe0, 0x3f},    // b = [[0.5]] as float64
)

func tinyTensors() []safetensors.NamedTensor {
	return []safetensors.NamedTensor{
		{Name: "a", T: tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, -2}))},
		{Name: "b", T: tensor.New(tensor.WithShape(1, 1), tensor.WithBacking([]float64{0.5}))},
	}
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// rawFile builds a file from a header (unpadded) and a data section.
func rawFile(header string, data []byte) []byte {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	return concat(n[:], []byte(header), data)
}

func TestEncodeBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, tinyTensors(), map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), tinyFile) {
		t.Errorf("encoded\n%q\nwant\n%q", buf.Bytes(), tinyFile)
	}
	ts, meta, err := safetensors.Decode(tinyFile)
	if err != nil {
		t.Fatal(err)
	}
	assertSameTensors(t, ts, tinyTensors())
	if !reflect.DeepEqual(meta, map[string]string{"format": "pt"}) {
		t.Errorf("meta = %v", meta)
	}
}

// assertSameTensors compares names, order, dtypes, shapes and data bit for bit.
func assertSameTensors(t *testing.T, got, want []safetensors.NamedTensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.T.Dtype() != w.T.Dtype() || !reflect.DeepEqual([]int(g.T.Shape()), []int(w.T.Shape())) {
			t.Errorf("tensor %d: %q %v %v, want %q %v %v", i, g.Name, g.T.Dtype(), g.T.Shape(), w.Name, w.T.Dtype(), w.T.Shape())
			continue
		}
		if gb, wb := dataBits(g.T), dataBits(w.T); !reflect.DeepEqual(gb, wb) {
			t.Errorf("tensor %q: data bits %x, want %x", g.Name, gb, wb)
		}
	}
}

// dataBits returns a tensor's elements in row-major order as raw bits.
func dataBits(d *tensor.Dense) []uint64 {
	if d.RequiresIterator() && d.Size() > 0 {
		d = d.Materialize().(*tensor.Dense)
	}
	var out []uint64
	switch d.Dtype() {
	case tensor.Float32:
		for _, x := range d.Float32s()[:d.Size()] {
			out = append(out, uint64(math.Float32bits(x)))
		}
	case tensor.Float64:
		for _, x := range d.Float64s()[:d.Size()] {
			out = append(out, math.Float64bits(x))
		}
	case tensor.Int64:
		for _, x := range d.Int64s()[:d.Size()] {
			out = append(out, uint64(x))
		}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	transposed := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6}))
	if err := transposed.T(); err != nil {
		t.Fatal(err)
	}
	f32 := func(x ...float32) []float32 { return x }
	tests := []struct {
		name string
		ts   []safetensors.NamedTensor
		meta map[string]string
		want []safetensors.NamedTensor // nil: same as ts
	}{
		{"float32 and float64 with metadata", []safetensors.NamedTensor{
			{Name: "blocks.0.attn.wq", T: tensor.New(tensor.WithShape(2, 3), tensor.WithBacking(f32(1, -2, 3.5, float32(math.Inf(1)), float32(math.Copysign(0, -1)), 1e-45)))},
			{Name: "ln.g", T: tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{math.Pi, math.NaN(), -math.MaxFloat64}))},
		}, map[string]string{"step": "100", "note": `quotes " and \ and <html> & ünïcödé ✓` + "\n\t"}, nil},
		{"int64, scalar and empty tensors", []safetensors.NamedTensor{
			{Name: "tokens", T: tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]int64{math.MinInt64, -1, 0, math.MaxInt64}))},
			{Name: "scalar", T: tensor.New(tensor.WithShape(), tensor.WithBacking([]float64{2.5}))},
			{Name: "empty", T: tensor.New(tensor.WithShape(0, 3), tensor.WithBacking([]float32{}))},
			{Name: "after empty", T: tensor.New(tensor.WithShape(1, 1, 1), tensor.WithBacking([]float32{7}))},
		}, nil, nil},
		{"transposed view is written row-major", []safetensors.NamedTensor{{Name: "wT", T: transposed}}, map[string]string{},
			[]safetensors.NamedTensor{{Name: "wT", T: tensor.New(tensor.WithShape(3, 2), tensor.WithBacking([]float64{1, 4, 2, 5, 3, 6}))}}},
		{"no tensors", nil, map[string]string{"k": "v"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.safetensors")
			if err := safetensors.Write(path, tc.ts, tc.meta); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", info.Mode().Perm())
			}
			ts, meta, err := safetensors.Read(path)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == nil {
				want = tc.ts
			}
			assertSameTensors(t, ts, want)
			if len(meta) != len(tc.meta) || len(meta) > 0 && !reflect.DeepEqual(meta, tc.meta) {
				t.Errorf("meta = %q, want %q", meta, tc.meta)
			}
			if meta == nil {
				t.Error("meta is nil")
			}
			// The header is padded to a multiple of 8 bytes.
			raw, _ := os.ReadFile(path)
			if n := binary.LittleEndian.Uint64(raw); n%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", n)
			}
		})
	}
}

func TestDecodeFileOrder(t *testing.T) {
	// Header lists "late" first; file order is by data offset. Zero-size
	// tensors at the same offset keep header order.
	data := rawFile(`{"late":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},`+
		`"z1":{"dtype":"F64","shape":[0],"data_offsets":[0,0]},`+
		`"early":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},`+
		`"z2":{"dtype":"I64","shape":[2,0],"data_offsets":[0,0]}}`,
		[]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40})
	ts, meta, err := safetensors.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, nt := range ts {
		names = append(names, nt.Name)
	}
	if got := strings.Join(names, " "); got != "z1 z2 early late" {
		t.Errorf("order %q, want %q", got, "z1 z2 early late")
	}
	if got := ts[3].T.Data().([]float32); got[0] != 2 {
		t.Errorf("late = %v, want [2]", got)
	}
	if meta == nil || len(meta) != 0 {
		t.Errorf("meta = %v, want empty non-nil", meta)
	}
}

// corruptCases are malformed files; want is a part of the error message.
var corruptCases = []struct {
	name string
	data []byte
	want string
}{
	{"empty file", nil, "0 bytes is too short for the 8-byte header length"},
	{"seven bytes", []byte("1234567"), "7 bytes is too short"},
	{"text file", []byte("hello, this is just a text file\n"), "header length 8367736964726416744 exceeds the 100000000-byte limit"},
	{"PNG", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"), "exceeds the 100000000-byte limit"},
	{"header longer than file", concat([]byte{100, 0, 0, 0, 0, 0, 0, 0}, []byte(`{}`)), "header length 100 exceeds the 2 bytes after the length field"},
	{"header length 0", make([]byte, 8), "header length 0 is too short"},
	{"bad JSON", rawFile(`{"a":`, nil), "header is not valid JSON: unexpected EOF"},
	{"bad JSON inside entry", rawFile(`{"a":{"dtype":"F32",}}`, nil), "header is not valid JSON: invalid character '}'"},
	{"unterminated object", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`, nil), "header is not valid JSON: unexpected EOF"},
	{"not an object", rawFile(`["a", 1]`, nil), "header is not a JSON object"},
	{"data after JSON", rawFile(`{} {}`, nil), "header has data after the JSON object"},
	{"invalid UTF-8", rawFile("{\"\xff\":1}", nil), "header is not valid UTF-8"},
	{"entry not an object", rawFile(`{"a":5}`, nil), `tensor "a": json: cannot unmarshal number`},
	{"missing dtype", rawFile(`{"a":{"shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "a": missing dtype`},
	{"missing offsets", rawFile(`{"a":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), `tensor "a": missing data_offsets`},
	{"unknown dtype", rawFile(`{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "a": unknown dtype "F31"`},
	{"shape/size mismatch", rawFile(`{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "a": data_offsets [0 8] span 8 bytes but F64[2] needs 16`},
	{"negative dimension", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "a": negative dimension in shape [-1]`},
	{"fractional dimension", rawFile(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "a": json: cannot unmarshal number 1.5`},
	{"shape overflows", rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, make([]byte, 4)), `tensor "a": shape [4294967296 4294967296] is too large`},
	{"bytes overflow", rawFile(`{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}}`, nil), `shape [4611686018427387904] is too large`},
	{"empty tensor with huge dims", rawFile(`{"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}`, nil), "is too large"},
	{"three offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, make([]byte, 8)), `data_offsets [0 4 8] must have 2 elements`},
	{"reversed offsets", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, make([]byte, 4)), `data_offsets [4 0] are not an increasing pair`},
	{"negative offset", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[-4,-4]}}`, nil), `data_offsets [-4 -4] are not an increasing pair`},
	{"out of range", rawFile(`{"blocks.0.attn.wq":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}}`, make([]byte, 64)),
		`model.safetensors: tensor "blocks.0.attn.wq": data_offsets [0,100] out of range (data section is 64 bytes)`},
	{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12)),
		`tensor "b": data_offsets [4,12] overlap tensor "a"`},
	{"same offsets twice", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8)),
		`overlap tensor "a"`},
	{"gap", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `tensor "a": data_offsets [4,8] leave a gap at [0,4]`},
	{"trailing bytes", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 5)), "data section is 5 bytes but the tensors end at 4"},
	{"duplicate name", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `header key "a" appears twice`},
	{"duplicate metadata", rawFile(`{"__metadata__":{},"__metadata__":{}}`, nil), `header key "__metadata__" appears twice`},
	{"metadata not strings", rawFile(`{"__metadata__":{"n":1}}`, nil), "__metadata__: json: cannot unmarshal number"},
	{"truncated data", tinyFile[:len(tinyFile)-1], `tensor "b": data_offsets [8,16] out of range (data section is 15 bytes)`},
	{"truncated header", tinyFile[:100], "header length 144 exceeds the 92 bytes after the length field"},
}

func TestReadCorrupt(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range corruptCases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "model.safetensors")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			ts, meta, err := safetensors.Read(path)
			if !errors.Is(err, safetensors.ErrCorrupt) {
				t.Fatalf("error = %v, want ErrCorrupt", err)
			}
			if ts != nil || meta != nil {
				t.Errorf("got tensors/meta with an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, path+": ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q\nwant it to name %s and contain %q", msg, path, tc.want)
			}
		})
	}
}

func TestReadUnsupported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "half.safetensors")
	data := rawFile(`{"h":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := safetensors.Read(path)
	if !errors.Is(err, safetensors.ErrUnsupported) || errors.Is(err, safetensors.ErrCorrupt) || !strings.Contains(err.Error(), `tensor "h": dtype BF16`) {
		t.Errorf("error = %v, want ErrUnsupported naming the tensor", err)
	}
	if _, _, err := safetensors.Read(filepath.Join(t.TempDir(), "missing")); err == nil || errors.Is(err, safetensors.ErrCorrupt) {
		t.Errorf("missing file: error = %v", err)
	}
}

// TestReadWith: Check sees the header's tensors in file order before any data is
// read, and its refusal comes back naming the file with only the length field and
// the header read; Hash sees every byte of the file on success.
func TestReadWith(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := os.WriteFile(path, tinyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	var seen []safetensors.Info
	var h bytes.Buffer
	ts, meta, err := safetensors.ReadWith(path, safetensors.ReadOptions{
		Check: func(infos []safetensors.Info) error { seen = infos; return nil },
		Hash:  &h,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []safetensors.Info{{Name: "a", Dtype: tensor.Float32, Shape: tensor.Shape{2}}, {Name: "b", Dtype: tensor.Float64, Shape: tensor.Shape{1, 1}}}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("Check saw %+v; want %+v", seen, want)
	}
	if !bytes.Equal(h.Bytes(), tinyFile) {
		t.Errorf("Hash saw %d bytes; want the file's %d", h.Len(), len(tinyFile))
	}
	assertSameTensors(t, ts, tinyTensors())
	if meta["format"] != "pt" {
		t.Errorf("meta = %v", meta)
	}

	h.Reset()
	refuse := errors.New("made for another model")
	_, _, err = safetensors.ReadWith(path, safetensors.ReadOptions{
		Check: func([]safetensors.Info) error { return refuse },
		Hash:  &h,
	})
	if !errors.Is(err, refuse) || !strings.Contains(err.Error(), path+": made for another model") {
		t.Errorf("error = %v; want Check's, naming %s", err, path)
	}
	if n := 8 + 144; h.Len() != n {
		t.Errorf("a refused file was read for %d bytes; want only the %d of the length and header", h.Len(), n)
	}

	// Check is not called for a corrupt header.
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(bad, tinyFile[:len(tinyFile)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	called := false
	_, _, err = safetensors.ReadWith(bad, safetensors.ReadOptions{Check: func([]safetensors.Info) error { called = true; return nil }})
	if !errors.Is(err, safetensors.ErrCorrupt) || called {
		t.Errorf("corrupt file: error = %v, Check called = %v; want ErrCorrupt before Check", err, called)
	}
}

func TestWriteAtomic(t *testing.T) {
	int32T := tensor.New(tensor.WithShape(1), tensor.WithBacking([]int32{1}))
	f64 := func(x float64) *tensor.Dense {
		return tensor.New(tensor.WithShape(1), tensor.WithBacking([]float64{x}))
	}
	tests := []struct {
		name    string
		ts      []safetensors.NamedTensor
		meta    map[string]string
		want    string
		errType error
	}{
		{"unsupported dtype", []safetensors.NamedTensor{{Name: "ok", T: f64(1)}, {Name: "i", T: int32T}}, nil, `tensor "i": dtype int32 (want float32, float64 or int64)`, safetensors.ErrUnsupported},
		{"duplicate name", []safetensors.NamedTensor{{Name: "x", T: f64(1)}, {Name: "x", T: f64(2)}}, nil, `tensor 1: duplicate name "x"`, nil},
		{"empty name", []safetensors.NamedTensor{{Name: "", T: f64(1)}}, nil, "tensor 0: empty name", nil},
		{"reserved name", []safetensors.NamedTensor{{Name: "__metadata__", T: f64(1)}}, nil, `name "__metadata__" is reserved`, nil},
		{"nil tensor", []safetensors.NamedTensor{{Name: "n"}}, nil, `tensor "n": nil tensor`, nil},
		{"invalid UTF-8 metadata", nil, map[string]string{"k": "\xff"}, "not valid UTF-8", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, path := filetest.Previous(t, "model.safetensors", 0o600)
			err := safetensors.Write(path, tc.ts, tc.meta)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to name %s and contain %q", err, path, tc.want)
			}
			if tc.errType != nil && !errors.Is(err, tc.errType) {
				t.Errorf("error %v does not match %v", err, tc.errType)
			}
			if got, _ := os.ReadFile(path); string(got) != "previous" {
				t.Errorf("existing file changed to %q", got)
			}
			if left := filetest.TempFiles(t, dir); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}

	t.Run("rename fails after writing", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "model.safetensors") // a non-empty directory
		if err := os.MkdirAll(filepath.Join(target, "inside"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := safetensors.Write(target, tinyTensors(), nil); err == nil {
			t.Fatal("writing over a directory succeeded")
		}
		if left := filetest.TempFiles(t, dir); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})

	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no", "such", "dir", "m.safetensors")
		if err := safetensors.Write(path, tinyTensors(), nil); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("error = %v", err)
		}
	})

	t.Run("read-only directory", func(t *testing.T) {
		dir, path := filetest.Previous(t, "model.safetensors", 0o644)
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		if probe, err := os.CreateTemp(dir, "probe"); err == nil { // root ignores permissions
			probe.Close()
			os.Remove(probe.Name())
			t.Skip("directory permissions are not enforced (running as root?)")
		}
		if err := safetensors.Write(path, tinyTensors(), nil); err == nil {
			t.Error("write into a read-only directory succeeded")
		}
		if got, _ := os.ReadFile(path); string(got) != "previous" {
			t.Errorf("existing file changed to %q", got)
		}
	})

	t.Run("overwrite", func(t *testing.T) {
		dir, path := filetest.Previous(t, "model.safetensors", 0o600)
		if err := safetensors.Write(path, tinyTensors(), map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, tinyFile) {
			t.Errorf("file holds %q, want the tiny file", got)
		}
		if left := filetest.TempFiles(t, dir); len(left) > 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})
}

// failingWriter accepts n bytes, then fails.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestEncodeWriterError(t *testing.T) {
	for _, n := range []int{0, 8, 100, len(tinyFile) - 1} {
		err := safetensors.Encode(&failingWriter{n: n}, tinyTensors(), map[string]string{"format": "pt"})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("fail after %d bytes: error = %v", n, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(tinyFile)
	for _, tc := range corruptCases {
		f.Add(tc.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, meta, err := safetensors.Decode(data)
		if err != nil {
			if !errors.Is(err, safetensors.ErrCorrupt) && !errors.Is(err, safetensors.ErrUnsupported) {
				t.Fatalf("error matches neither ErrCorrupt nor ErrUnsupported: %v", err)
			}
			return
		}
		total := 0
		for _, nt := range ts {
			total += nt.T.Size() * int(nt.T.Dtype().Size())
			if nt.Name == "" {
				return // readable, but the writer refuses empty names
			}
		}
		if total > len(data) {
			t.Fatalf("decoded %d data bytes from a %d-byte input", total, len(data))
		}
		var buf bytes.Buffer
		if err := safetensors.Encode(&buf, ts, meta); err != nil {
			t.Fatalf("re-encoding a decoded file: %v", err)
		}
		ts2, meta2, err := safetensors.Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("decoding a re-encoded file: %v", err)
		}
		assertSameTensors(t, ts2, ts)
		if !reflect.DeepEqual(meta, meta2) {
			t.Fatalf("metadata %q became %q", meta, meta2)
		}
	})
}

func ExampleWrite() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	w := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1, 2, 3, 4}))
	b := tensor.New(tensor.WithShape(2), tensor.WithBacking([]float64{0.5, -0.5}))
	err = safetensors.Write(path, []safetensors.NamedTensor{{Name: "fc.w", T: w}, {Name: "fc.b", T: b}},
		map[string]string{"step": "1000"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}

	ts, meta, err := safetensors.Read(path)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	for _, nt := range ts {
		fmt.Printf("%s %v %v %v\n", nt.Name, nt.T.Dtype(), nt.T.Shape(), nt.T.Data())
	}
	fmt.Println("step", meta["step"])

	_, _, err = safetensors.Decode([]byte("not a safetensors file"))
	fmt.Println(errors.Is(err, safetensors.ErrCorrupt))
	// Output:
	// fc.w float32 (2, 2) [1 2 3 4]
	// fc.b float64 (2) [0.5 -0.5]
	// step 1000
	// true
}
