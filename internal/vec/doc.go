// Package vec holds attend's element-wise float32 kernels outside the matrix products:
// the GELU of a training step and its gradient, with the erf and exp they need.
//
// Each kernel has a pure-Go form (vec_generic.go), which is the reference and what
// runs without AVX2, on other architectures and under the purego build tag, and an
// AVX2 form in Go assembly (vec_amd64.s) that runs 8 lanes at a time. The assembly
// evaluates the same polynomials in the same order with separate multiplies and adds
// (no FMA), and the Go form rounds every product to float32 explicitly so the compiler
// cannot fuse it either: the two forms give bit-identical results on every input, on
// every GOAMD64 level and architecture.
//
// The functions write into dst and require the other slices to be at least as long as
// the source; they panic (an index out of range) otherwise, as a copy would.
package vec
