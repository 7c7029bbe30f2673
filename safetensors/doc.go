// Package safetensors reads and writes tensors in Hugging Face's safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header length,
// a JSON header naming each tensor's dtype, shape and data offsets (and optional
// string metadata under "__metadata__"), then the raw little-endian, row-major data.
// attend's checkpoints (model.safetensors, optimizer.safetensors) are written and read
// with it, and so can any []NamedTensor of gorgonia.org/tensor Dense tensors.
//
// Tensors of dtype Float32 (F32), Float64 (F64) and Int64 (I64) are read and written.
// Encode and Write lay files out as the reference writer does (header padded with
// spaces to a multiple of 8 bytes, tensors packed in the given order), and Write
// replaces a file atomically (temporary file, fsync, rename). Decode parses bytes in
// memory; Read and ReadWith stream a file of known size: the header length is checked
// against the file's size before the header is read, the header is validated (every
// entry's dtype, shape and offsets; the tensors must tile the data section exactly,
// without gaps, overlaps or trailing bytes) before any data is read, ReadOptions.Check
// can refuse the names, dtypes and shapes before the data is read, and the data
// section is read exactly, so memory is bounded by the file's size and no file is
// read past what its header accounts for.
//
// # Errors
//
// Every function returns at most one error, wrapped once with what was being done
// and the file's path ("safetensors: read model.safetensors: tensor \"w\": data_offsets
// [0,8] out of range (data section is 4 bytes)"). Bytes that are not a well-formed
// safetensors file give an error matching ErrCorrupt; a well-formed tensor of a dtype
// this package does not represent (BF16, say), read or written, gives one matching
// ErrUnsupported; match them with errors.Is. Both also match the module's
// attend.ErrData (package attend holds the sentinels every package shares). I/O errors
// (a missing file, a full disk)
// match neither. Nothing panics, whatever the bytes; the fuzzer FuzzDecode checks it.
//
// # Why not github.com/nlpodyssey/safetensors
//
// The Go port of the reference implementation is used by the tests as an independent
// reader of the files written here, but it does not serve the checkpoint loader:
// Deserialize and ReadMetadata take the whole file as a []byte (no reader, so a file
// must be read into memory before its header can refuse it), its errors are plain
// strings with no sentinel (a corrupt file, an unsupported dtype and a model mismatch
// cannot be told apart with errors.Is) and several do not name the tensor ("info data
// offsets mismatch"), a header key given twice is silently resolved to the last value,
// shapes are checked against uint64 overflow only (not against an int, which
// gorgonia's tensor needs), and it returns byte views, not tensor.Dense values.
// Writing through it would need a View adapter for every tensor and orders tensors
// by dtype and name, not as given.
package safetensors
