//go:build unix

package main

import "syscall"

// peakRSSMB returns the process's peak resident set size in MB (ru_maxrss is in KiB on
// Linux), as the PyTorch peer reports its own.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}
