//go:build (!amd64 && !arm64) || purego

package sgemm

// kernels lists the kernels usable on this machine, best first.
var kernels = []*kernel{genericKernel}
