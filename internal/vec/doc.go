// Package vec holds attend's float32 kernels outside the matrix products: the parts of
// a training step that are element-wise or row-wise — GELU and its gradient (with the
// erf and exp they need), softmax rows and their gradient, LayerNorm and its
// gradients, the AdamW update, and the residual add.
//
// Each kernel has a pure-Go form, which is the reference and what runs without SIMD,
// on architectures other than amd64 and arm64 and under the purego build tag; two
// forms in Go assembly for amd64, both written into vec_amd64.s by gen_vec.go from one
// description of the kernel: AVX2, 8 float32 or 4 float64 lanes at a time, and
// AVX-512, 16 float32 or 8 float64 lanes with masked loads and stores for the last
// partial vector; and a NEON form for arm64, 4 float32 or 2 float64 lanes, written
// into vec_arm64.s by gen_vec_arm64.go. The best form the CPU has is chosen at
// start-up (golang.org/x/sys/cpu: AVX-512F and VL, else AVX2, else Go; NEON on every
// arm64). The assembly evaluates the same formulas in the same order with separate
// multiplies and adds (no FMA, which rounds once instead of twice), and the Go form
// rounds every product to its type explicitly so the compiler cannot fuse it either:
// the forms give bit-identical results on every input, at every GOAMD64 level and on
// every architecture. Sums that the Go form takes in order (float64 row sums and dot
// products) stay in that order; the assembly puts rows, not columns, in its lanes, or
// leaves the sum to Go.
//
// The row kernels of rows.go (column sums for bias gradients, the cross-entropy's
// log-sum-exp and its fused softmax-and-scale gradient) have AVX2 and AVX-512 forms in
// rows_amd64.s, written by gen_rows.go (on arm64 they run in Go); the column sums put
// columns, not rows, in their float64 lanes, so each column is still summed in row
// order.
//
// The functions write into dst and require the other slices to be at least as long as
// the source; they panic (an index out of range) otherwise, as a copy would.
package vec
