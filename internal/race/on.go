//go:build race

package race

// Enabled reports whether the race detector is on. It makes sync.Pool drop items (the
// GEMM workspaces) and adds allocations of its own, so tests skip allocation counts
// under it.
const Enabled = true
