package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/attend-go/attend"
	"github.com/attend-go/attend/internal/safefile"
	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// Safetensors (https://github.com/huggingface/safetensors) layout:
//
//	8 bytes     N, little-endian uint64: length of the header
//	N bytes     UTF-8 JSON object, padded with spaces:
//	            {"__metadata__": {"key": "value", ...},
//	             "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}, ...}
//	rest        data section: each tensor's bytes, little-endian, row-major,
//	            at [begin, end) relative to the start of the data section
//
// Tensors tile the data section exactly: sorted by offset, each begins where
// the previous one ended, the first at 0, the last ends at the end of the file.

var (
	// ErrCorrupt is matched (with errors.Is) by every error reporting bytes
	// that are not a well-formed safetensors file; it matches attend.ErrData too.
	ErrCorrupt = attend.Kind(attend.ErrData, "corrupt safetensors data")
	// ErrUnsupported is matched by errors for well-formed tensors this package
	// cannot represent (dtypes other than F32, F64 and I64), read or written; it
	// matches attend.ErrData too.
	ErrUnsupported = attend.Kind(attend.ErrData, "unsupported safetensors tensor")
)

// MaxHeader is the largest header accepted, as in the reference implementation
// (100 MB).
const MaxHeader = 100_000_000

const stMetadataKey = "__metadata__"

// NamedTensor is a tensor with its name in a safetensors file. T is a
// contiguous tensor.Dense of dtype Float32, Float64 or Int64.
type NamedTensor struct {
	Name string
	T    *tensor.Dense
}

// formatError is a malformed-input error; it matches ErrCorrupt.
type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }
func (e *formatError) Unwrap() error { return ErrCorrupt }

func corruptf(format string, args ...any) error {
	return &formatError{msg: fmt.Sprintf(format, args...)}
}

// stDtypeSizes lists every byte-sized dtype of the format, with its size.
var stDtypeSizes = map[string]uint64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8, "C64": 8,
}

func stDtypeName(dt tensor.Dtype) (string, bool) {
	switch dt {
	case tensor.Float32:
		return "F32", true
	case tensor.Float64:
		return "F64", true
	case tensor.Int64:
		return "I64", true
	}
	return "", false
}

// ---------------------------------------------------------------- writing

// stPlanned is a tensor ready to be written: validated, with its bytes source.
type stPlanned struct {
	name   string
	dtype  string
	shape  []int
	f32    []float32
	f64    []float64
	i64    []int64
	nbytes uint64
}

// planSafetensors validates the input and builds the padded header.
func planSafetensors(ts []NamedTensor, meta map[string]string) (header []byte, plan []stPlanned, err error) {
	for k, v := range meta {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, nil, errors.Errorf("metadata %q: not valid UTF-8", k)
		}
	}
	seen := make(map[string]bool, len(ts))
	plan = make([]stPlanned, len(ts))
	for i, nt := range ts {
		switch {
		case nt.Name == "":
			return nil, nil, errors.Errorf("tensor %d: empty name", i)
		case nt.Name == stMetadataKey:
			return nil, nil, errors.Errorf("tensor %d: name %q is reserved", i, nt.Name)
		case !utf8.ValidString(nt.Name):
			return nil, nil, errors.Errorf("tensor %d: name %q is not valid UTF-8", i, nt.Name)
		case seen[nt.Name]:
			return nil, nil, errors.Errorf("tensor %d: duplicate name %q", i, nt.Name)
		case nt.T == nil:
			return nil, nil, errors.Errorf("tensor %q: nil tensor", nt.Name)
		}
		seen[nt.Name] = true
		p, err := planTensor(nt)
		if err != nil {
			return nil, nil, errors.Wrapf(err, "tensor %q", nt.Name)
		}
		plan[i] = p
	}

	var buf bytes.Buffer
	buf.WriteByte('{')
	if len(meta) > 0 {
		writeJSONString(&buf, stMetadataKey)
		buf.WriteString(":{")
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(&buf, k)
			buf.WriteByte(':')
			writeJSONString(&buf, meta[k])
		}
		buf.WriteByte('}')
	}
	var off uint64
	for i, p := range plan {
		if i > 0 || len(meta) > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(&buf, p.name)
		buf.WriteString(`:{"dtype":"`)
		buf.WriteString(p.dtype)
		buf.WriteString(`","shape":[`)
		for j, d := range p.shape {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Itoa(d))
		}
		buf.WriteString(`],"data_offsets":[`)
		buf.WriteString(strconv.FormatUint(off, 10))
		buf.WriteByte(',')
		off += p.nbytes
		buf.WriteString(strconv.FormatUint(off, 10))
		buf.WriteString("]}")
	}
	buf.WriteByte('}')
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	if buf.Len() > MaxHeader {
		return nil, nil, errors.Errorf("header is %d bytes, over the %d-byte limit", buf.Len(), MaxHeader)
	}
	return buf.Bytes(), plan, nil
}

func planTensor(nt NamedTensor) (stPlanned, error) {
	d := nt.T
	p := stPlanned{name: nt.Name}
	var ok bool
	if p.dtype, ok = stDtypeName(d.Dtype()); !ok {
		return p, errors.Wrapf(ErrUnsupported, "dtype %v (want float32, float64 or int64)", d.Dtype())
	}
	if d.RequiresIterator() {
		m, ok := d.Materialize().(*tensor.Dense)
		if !ok {
			return p, errors.Errorf("cannot materialise %T view", d.Materialize())
		}
		d = m
	}
	p.shape = slices.Clone([]int(d.Shape()))
	n := d.Size()
	var have int
	switch d.Dtype() {
	case tensor.Float32:
		p.f32 = d.Float32s()
		have = len(p.f32)
	case tensor.Float64:
		p.f64 = d.Float64s()
		have = len(p.f64)
	case tensor.Int64:
		p.i64 = d.Int64s()
		have = len(p.i64)
	}
	if have != n {
		return p, errors.Errorf("backing array holds %d elements for shape %v", have, d.Shape())
	}
	p.nbytes = uint64(n) * stDtypeSizes[p.dtype]
	return p, nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	// Like serde_json: escape only what JSON requires (no HTML escaping).
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // cannot fail for a string
	buf.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func writePlanned(w io.Writer, header []byte, plan []stPlanned) error {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(header)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return err
	}
	chunk := make([]byte, 0, 64<<10)
	flush := func() error {
		_, err := w.Write(chunk)
		chunk = chunk[:0]
		return err
	}
	for _, p := range plan {
		for _, x := range p.f32 {
			chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(x))
			if len(chunk)+8 > cap(chunk) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		for _, x := range p.f64 {
			chunk = binary.LittleEndian.AppendUint64(chunk, math.Float64bits(x))
			if len(chunk)+8 > cap(chunk) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		for _, x := range p.i64 {
			chunk = binary.LittleEndian.AppendUint64(chunk, uint64(x))
			if len(chunk)+8 > cap(chunk) {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// Encode writes ts and meta to w in safetensors format: tensors in
// the given order, packed from offset 0; the header lists __metadata__ first
// (omitted when meta is empty; keys sorted), then the tensors in order, and is
// padded with spaces to a multiple of 8 bytes, as the reference writer does.
// Names must be non-empty, unique, valid UTF-8 and not "__metadata__";
// tensors of other dtypes than Float32, Float64 and Int64 give an error
// matching ErrUnsupported. Everything is checked before the first write.
func Encode(w io.Writer, ts []NamedTensor, meta map[string]string) error {
	header, plan, err := planSafetensors(ts, meta)
	if err != nil {
		return errors.Wrap(err, "safetensors: encode")
	}
	return errors.Wrap(writePlanned(w, header, plan), "safetensors: encode")
}

// Write writes ts and meta to the file path (see Encode)
// atomically: the bytes go to a temporary file in the same directory, which
// is synced and then renamed over path. On any error path is left as it was
// and the temporary file is removed. The file gets mode 0644.
func Write(path string, ts []NamedTensor, meta map[string]string) error {
	header, plan, err := planSafetensors(ts, meta)
	if err == nil {
		err = safefile.WriteAtomic(path, 0o644, func(w io.Writer) error { return writePlanned(w, header, plan) })
	}
	return errors.Wrapf(err, "safetensors: write %s", path)
}

// ---------------------------------------------------------------- reading

// stEntry is one tensor's header entry. Pointers tell missing from zero.
type stEntry struct {
	Dtype   *string  `json:"dtype"`
	Shape   *[]int64 `json:"shape"`
	Offsets *[]int64 `json:"data_offsets"`
}

type stParsed struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// Info describes one tensor as a file's header records it.
type Info struct {
	Name  string
	Dtype tensor.Dtype // Float32, Float64 or Int64
	Shape tensor.Shape
}

// Decode parses a whole safetensors file held in data. Tensors are returned in
// file order (by data offset) as fresh tensors (data is not retained); meta is
// never nil. Malformed input gives an error matching ErrCorrupt that says what
// is wrong; well-formed tensors of a dtype other than F32, F64 and I64 give one
// matching ErrUnsupported. It never panics and allocates at most a small
// multiple of len(data).
func Decode(data []byte) ([]NamedTensor, map[string]string, error) {
	ts, meta, err := decodeSafetensors(data)
	if err != nil {
		return nil, nil, errors.Wrap(err, "safetensors: decode")
	}
	return ts, meta, nil
}

// Read reads the safetensors file at path (see Decode) with ReadWith and no
// options.
func Read(path string) ([]NamedTensor, map[string]string, error) {
	return ReadWith(path, ReadOptions{})
}

// ReadOptions are the options of ReadWith.
type ReadOptions struct {
	// Check, when not nil, is called with the validated header's tensors in
	// file order before any tensor data is read; its error is returned (naming
	// the file), so a file made for another model is refused without reading
	// its data.
	Check func([]Info) error
	// Hash, when not nil, is fed every byte of the file as it is read (for a
	// checksum of the file, say); it is complete when ReadWith succeeds.
	Hash io.Writer
}

// ReadWith reads the safetensors file at path in one streaming pass. The path
// must be a regular file (a FIFO, device or directory is refused before it is
// opened); the header length is checked against the file's size before the
// header is read, the header (names, dtypes, shapes, offsets: the tensors must
// tile the data section exactly) before the data is read, and the data section
// is read exactly, so a file is never read past what its header accounts for
// and memory is bounded by the file's size. Errors name the file once; corrupt
// bytes match ErrCorrupt, unsupported dtypes ErrUnsupported.
func ReadWith(path string, opt ReadOptions) ([]NamedTensor, map[string]string, error) {
	ts, meta, err := readFile(path, opt)
	if err != nil {
		return nil, nil, errors.Wrapf(err, "safetensors: read %s", path)
	}
	return ts, meta, nil
}

func readFile(path string, opt ReadOptions) ([]NamedTensor, map[string]string, error) {
	f, size, err := safefile.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<20)
	if opt.Hash != nil {
		r = io.TeeReader(r, opt.Hash)
	}
	if size < 8 {
		return nil, nil, corruptf("%d bytes is too short for the 8-byte header length", size)
	}
	var n8 [8]byte
	if _, err := io.ReadFull(r, n8[:]); err != nil {
		return nil, nil, err
	}
	n, err := headerLength(n8[:], uint64(size))
	if err != nil {
		return nil, nil, err
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, nil, errors.Wrap(err, "reading the header")
	}
	entries, meta, err := parseLayout(header, uint64(size)-8-n)
	if err != nil {
		return nil, nil, err
	}
	if opt.Check != nil {
		infos := make([]Info, len(entries))
		for i, e := range entries {
			dt, _ := stDtypeFor(e.dtype) // parseLayout checked it
			infos[i] = Info{Name: e.name, Dtype: dt, Shape: slices.Clone(tensor.Shape(e.shape))}
		}
		if err := opt.Check(infos); err != nil {
			return nil, nil, err
		}
	}
	body, err := safefile.ReadExactly(r, size-8-int64(n))
	if err != nil {
		return nil, nil, err
	}
	return decodeTensors(entries, body), meta, nil
}

// headerLength reads the header length from the first 8 bytes of a file of total
// bytes and checks it against the limit and the file's size.
func headerLength(b []byte, total uint64) (uint64, error) {
	n := binary.LittleEndian.Uint64(b)
	rest := total - 8
	switch {
	case n > MaxHeader:
		return 0, corruptf("header length %d exceeds the %d-byte limit", n, MaxHeader)
	case n > rest:
		return 0, corruptf("header length %d exceeds the %d bytes after the length field", n, rest)
	case n < 2:
		return 0, corruptf("header length %d is too short for a JSON object", n)
	}
	return n, nil
}

// parseLayout parses a header and checks that its tensors tile a data section of
// dataLen bytes exactly and have supported dtypes; entries come back in file order.
func parseLayout(header []byte, dataLen uint64) ([]stParsed, map[string]string, error) {
	entries, meta, err := parseHeader(header)
	if err != nil {
		return nil, nil, err
	}
	if err := checkLayout(entries, dataLen); err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if _, ok := stDtypeFor(e.dtype); !ok {
			return nil, nil, errors.Wrapf(ErrUnsupported, "tensor %q: dtype %s (supported: F32, F64, I64)", e.name, e.dtype)
		}
	}
	return entries, meta, nil
}

func decodeSafetensors(data []byte) ([]NamedTensor, map[string]string, error) {
	if len(data) < 8 {
		return nil, nil, corruptf("%d bytes is too short for the 8-byte header length", len(data))
	}
	n, err := headerLength(data[:8], uint64(len(data)))
	if err != nil {
		return nil, nil, err
	}
	entries, meta, err := parseLayout(data[8:8+n], uint64(len(data))-8-n)
	if err != nil {
		return nil, nil, err
	}
	return decodeTensors(entries, data[8+n:]), meta, nil
}

func decodeTensors(entries []stParsed, body []byte) []NamedTensor {
	ts := make([]NamedTensor, len(entries))
	for i, e := range entries {
		ts[i] = NamedTensor{Name: e.name, T: decodeTensor(e, body[e.begin:e.end])}
	}
	return ts
}

func stDtypeFor(name string) (tensor.Dtype, bool) {
	switch name {
	case "F32":
		return tensor.Float32, true
	case "F64":
		return tensor.Float64, true
	case "I64":
		return tensor.Int64, true
	}
	return tensor.Dtype{}, false
}

func parseHeader(header []byte) ([]stParsed, map[string]string, error) {
	if !utf8.Valid(header) {
		return nil, nil, corruptf("header is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	bad := func(err error) error { return valueError("", err) }
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, bad(err)
	}
	if tok != json.Delim('{') {
		return nil, nil, corruptf("header is not a JSON object")
	}
	meta := map[string]string{}
	var entries []stParsed
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, bad(err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, corruptf("header key %v is not a string", tok)
		}
		if seen[name] {
			return nil, nil, corruptf("header key %q appears twice", name)
		}
		seen[name] = true
		if name == stMetadataKey {
			var m map[string]string
			if err := dec.Decode(&m); err != nil {
				return nil, nil, valueError(stMetadataKey, err)
			}
			for k, v := range m {
				meta[k] = v
			}
			continue
		}
		var raw stEntry
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, valueError(fmt.Sprintf("tensor %q", name), err)
		}
		e, err := checkEntry(name, raw)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, nil, bad(err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, nil, bad(err)
		}
		return nil, nil, corruptf("header has data after the JSON object: %v", tok)
	}
	return entries, meta, nil
}

// valueError describes a JSON decoding error: a value of the wrong type at
// where, or broken JSON.
func valueError(where string, err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && where != "" {
		return corruptf("%s: %v", where, err)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = io.ErrUnexpectedEOF
	}
	return corruptf("header is not valid JSON: %v", err)
}

// checkEntry validates one entry on its own: dtype, shape, offsets, size.
func checkEntry(name string, raw stEntry) (stParsed, error) {
	e := stParsed{name: name}
	switch {
	case raw.Dtype == nil:
		return e, corruptf("tensor %q: missing dtype", name)
	case raw.Shape == nil:
		return e, corruptf("tensor %q: missing shape", name)
	case raw.Offsets == nil:
		return e, corruptf("tensor %q: missing data_offsets", name)
	}
	e.dtype = *raw.Dtype
	size, ok := stDtypeSizes[e.dtype]
	if !ok {
		return e, corruptf("tensor %q: unknown dtype %q", name, e.dtype)
	}
	shape := *raw.Shape
	e.shape = make([]int, len(shape))
	// nonzero is the product of the non-zero dimensions: it must fit an int
	// even for an empty tensor, or tensor's stride arithmetic would overflow.
	count, nonzero := uint64(1), uint64(1)
	for i, d := range shape {
		if d < 0 {
			return e, corruptf("tensor %q: negative dimension in shape %v", name, shape)
		}
		e.shape[i] = int(d)
		count *= uint64(d) // once 0, stays 0
		if d == 0 {
			continue
		}
		hi, lo := bits.Mul64(nonzero, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return e, corruptf("tensor %q: shape %v is too large", name, shape)
		}
		nonzero = lo
	}
	hi, nbytes := bits.Mul64(count, size)
	if hi != 0 {
		return e, corruptf("tensor %q: shape %v is too large", name, shape)
	}
	offs := *raw.Offsets
	if len(offs) != 2 {
		return e, corruptf("tensor %q: data_offsets %v must have 2 elements", name, offs)
	}
	if offs[0] < 0 || offs[1] < offs[0] {
		return e, corruptf("tensor %q: data_offsets %v are not an increasing pair", name, offs)
	}
	e.begin, e.end = uint64(offs[0]), uint64(offs[1])
	if e.end-e.begin != nbytes {
		return e, corruptf("tensor %q: data_offsets %v span %d bytes but %s%v needs %d", name, offs, e.end-e.begin, e.dtype, shape, nbytes)
	}
	return e, nil
}

// checkLayout checks that the tensors tile the data section exactly, then
// leaves entries sorted by offset (stable, so ties keep header order).
func checkLayout(entries []stParsed, dataLen uint64) error {
	for _, e := range entries {
		if e.end > dataLen {
			return corruptf("tensor %q: data_offsets [%d,%d] out of range (data section is %d bytes)", e.name, e.begin, e.end, dataLen)
		}
	}
	slices.SortStableFunc(entries, func(a, b stParsed) int {
		if c := cmpUint64(a.begin, b.begin); c != 0 {
			return c
		}
		return cmpUint64(a.end, b.end)
	})
	var pos uint64
	for i, e := range entries {
		switch {
		case e.begin < pos:
			return corruptf("tensor %q: data_offsets [%d,%d] overlap tensor %q", e.name, e.begin, e.end, entries[i-1].name)
		case e.begin > pos:
			return corruptf("tensor %q: data_offsets [%d,%d] leave a gap at [%d,%d]", e.name, e.begin, e.end, pos, e.begin)
		}
		pos = e.end
	}
	if pos != dataLen {
		return corruptf("data section is %d bytes but the tensors end at %d", dataLen, pos)
	}
	return nil
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decodeTensor converts validated little-endian bytes into a new tensor.
func decodeTensor(e stParsed, b []byte) *tensor.Dense {
	var backing any
	switch e.dtype {
	case "F32":
		s := make([]float32, len(b)/4)
		for i := range s {
			s[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		backing = s
	case "F64":
		s := make([]float64, len(b)/8)
		for i := range s {
			s[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		backing = s
	case "I64":
		s := make([]int64, len(b)/8)
		for i := range s {
			s[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
		backing = s
	}
	return tensor.New(tensor.WithShape(e.shape...), tensor.WithBacking(backing))
}
