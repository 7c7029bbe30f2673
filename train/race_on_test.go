//go:build race

package train_test

// raceEnabled: the race detector makes sync.Pool drop items (the GEMM workspaces), so
// allocation measurements are meaningless under it.
const raceEnabled = true
