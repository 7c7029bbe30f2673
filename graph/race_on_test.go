//go:build race

package graph

// raceEnabled: the race detector makes sync.Pool drop items (the GEMM workspaces) and
// adds allocations of its own, so allocation counts are meaningless under it.
const raceEnabled = true
