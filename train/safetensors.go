package train

import (
	"io"
	"os"

	"github.com/attend-go/attend/internal/safefile"
	"github.com/attend-go/attend/safetensors"
	"github.com/pkg/errors"
)

// The safetensors codec lives in package safetensors; these names stay so that code
// written against train keeps compiling, and errors.Is matches the same sentinels.

// NamedTensor is safetensors.NamedTensor.
type NamedTensor = safetensors.NamedTensor

var (
	// ErrCorrupt is safetensors.ErrCorrupt.
	ErrCorrupt = safetensors.ErrCorrupt
	// ErrUnsupported is safetensors.ErrUnsupported.
	ErrUnsupported = safetensors.ErrUnsupported
)

// MaxSafetensorsHeader is safetensors.MaxHeader.
const MaxSafetensorsHeader = safetensors.MaxHeader

// EncodeSafetensors is safetensors.Encode.
//
// Deprecated: use safetensors.Encode.
func EncodeSafetensors(w io.Writer, ts []NamedTensor, meta map[string]string) error {
	return safetensors.Encode(w, ts, meta)
}

// DecodeSafetensors is safetensors.Decode.
//
// Deprecated: use safetensors.Decode.
func DecodeSafetensors(data []byte) ([]NamedTensor, map[string]string, error) {
	return safetensors.Decode(data)
}

// WriteSafetensors is safetensors.Write.
//
// Deprecated: use safetensors.Write.
func WriteSafetensors(path string, ts []NamedTensor, meta map[string]string) error {
	return safetensors.Write(path, ts, meta)
}

// ReadSafetensors is safetensors.Read.
//
// Deprecated: use safetensors.Read.
func ReadSafetensors(path string) ([]NamedTensor, map[string]string, error) {
	return safetensors.Read(path)
}

// WriteFileAtomic is os.WriteFile done atomically, as checkpoints are written: the
// bytes go to a temporary file in path's directory, which is synced and renamed over
// path, and the directory is synced. Readers see the old content or the new, never a
// part; on error the temporary file is removed. The file gets exactly mode perm (the
// umask is not applied).
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return errors.Wrapf(safefile.WriteFile(path, data, perm), "train: write %s", path)
}
