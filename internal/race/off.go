//go:build !race

// Package race tells tests whether the race detector is on.
package race

// Enabled reports whether the race detector is on (see on.go).
const Enabled = false
