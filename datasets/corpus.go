package datasets

import (
	"bytes"
	"math"

	"github.com/attend-go/attend/internal/safefile"
	"github.com/pkg/errors"
)

// MaxTextFile is the largest text file LoadTextFile reads: 1 GiB, a thousand times Tiny
// Shakespeare. Its characters become one int each (8 GiB at the limit), so a larger
// corpus wants a streaming loader, not this one.
const MaxTextFile = 1 << 30

// LoadTextFile reads a UTF-8 text file. The error names the file and wraps the os error
// when it cannot be read, ErrNotRegular when it is not a regular file (a FIFO, device
// or directory: refused before it is opened, so nothing blocks), ErrTooLarge when it
// is over MaxTextFile bytes (refused before it is read), ErrEmpty when it is empty,
// ErrBinary when it contains a NUL byte and ErrInvalidUTF8 when it is not UTF-8; the
// last two give the byte offset.
func LoadTextFile(path string) (string, error) {
	b, err := safefile.ReadFile(path, MaxTextFile)
	var big *safefile.SizeError
	if errors.As(err, &big) {
		return "", errors.Wrapf(err, "datasets: load text file %s (a text corpus may have up to datasets.MaxTextFile bytes)", path)
	}
	if err != nil {
		return "", errors.Wrapf(err, "datasets: load text file %s", path)
	}
	if len(b) == 0 {
		return "", errors.Wrapf(ErrEmpty, "datasets: load text file %s", path)
	}
	if off := bytes.IndexByte(b, 0); off >= 0 {
		return "", errors.Wrapf(ErrBinary, "datasets: load text file %s: NUL byte at byte offset %d", path, off)
	}
	s := string(b)
	if off := invalidUTF8Offset(s); off >= 0 {
		return "", errors.Wrapf(ErrInvalidUTF8, "datasets: load text file %s: byte 0x%02x at byte offset %d", path, s[off], off)
	}
	return s, nil
}

// Corpus is a token stream split into a training and a validation part.
type Corpus struct {
	Train []int
	Val   []int
}

// NewCorpus puts the first int((1-valFrac)·len(ids)) tokens in Train and the rest in
// Val; valFrac = 0.1 is nanoGPT's split, n = int(0.9*len(data)). Train and Val share
// memory with ids (Train's capacity is clipped so appending to it cannot overwrite Val).
// valFrac must lie in (0, 1) and ids must not be empty (ErrInvalidArgument, ErrEmpty).
func NewCorpus(ids []int, valFrac float64) (*Corpus, error) {
	if math.IsNaN(valFrac) || valFrac <= 0 || valFrac >= 1 {
		return nil, errors.Wrapf(ErrInvalidArgument, "datasets: corpus: validation fraction %v, want 0 < valFrac < 1", valFrac)
	}
	if len(ids) == 0 {
		return nil, errors.Wrap(ErrEmpty, "datasets: corpus: no tokens")
	}
	n := int((1 - valFrac) * float64(len(ids)))
	return &Corpus{Train: ids[:n:n], Val: ids[n:]}, nil
}

// Check reports whether both splits can supply at least one window of block inputs
// plus the target after them, that is block+1 tokens. A short split gives an error
// wrapping ErrTooShort such as
// "validation split has 40 tokens, needs at least block+1 = 65".
func (c *Corpus) Check(block int) error {
	if block < 1 {
		return errors.Wrapf(ErrInvalidArgument, "datasets: corpus: block size %d, want ≥ 1", block)
	}
	for _, s := range []struct {
		name string
		n    int
	}{{"training", len(c.Train)}, {"validation", len(c.Val)}} {
		if s.n < block+1 {
			return errors.Wrapf(ErrTooShort, "datasets: corpus: %s split has %d tokens, needs at least block+1 = %d", s.name, s.n, block+1)
		}
	}
	return nil
}
