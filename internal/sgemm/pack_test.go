package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/attend-go/attend/internal/par"
)

// TestPack checks packA and packB (assembly helpers and Go loops) against
// their definitions, zero padding included.
func TestPack(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, asm := range []bool{false, true} {
		if asm && !useAsmPack {
			continue
		}
		old := useAsmPack
		useAsmPack = asm
		for _, kr := range kernels {
			for _, tr := range []bool{false, true} {
				for _, kc := range []int{1, 7, 8, 9, 16, 31} {
					for _, cnt := range []int{1, 3, 4, 6, 8, kr.mr - 1, kr.mr, kr.nr - 1, kr.nr, kr.nr + 5, 2*kr.nr + 3} {
						if cnt < 1 {
							continue
						}
						name := fmt.Sprintf("asm=%v/%s/t=%v/kc=%d/n=%d", asm, kr.name, tr, kc, cnt)
						ld := max(cnt, kc) + rng.IntN(4)
						src := make([]float32, ld*max(cnt, kc)+8)
						for i := range src {
							src[i] = rng.Float32()
						}
						// op(X)[p][j] for the B side, op(X)[i][p] for the A side.
						atB := func(p, j int) float32 {
							if tr {
								return src[j*ld+p]
							}
							return src[p*ld+j]
						}
						np := kr.paddedWidth(cnt)
						dst := make([]float32, kc*np+3)
						for i := range dst {
							dst[i] = -1
						}
						packB(kr, dst, src, ld, tr, kc, cnt)
						for jr := 0; jr < cnt; {
							w, _ := kr.panelWidth(cnt - jr)
							for p := 0; p < kc; p++ {
								for j := 0; j < w; j++ {
									want := float32(0)
									if jr+j < cnt {
										want = atB(p, jr+j)
									}
									if got := dst[jr*kc+p*w+j]; got != want {
										t.Fatalf("%s packB: panel %d p=%d j=%d: got %v want %v", name, jr, p, j, got, want)
									}
								}
							}
							jr += w
						}
						if rows := min(cnt, kr.mr); true {
							atA := func(i, p int) float32 {
								if tr {
									return src[p*ld+i]
								}
								return src[i*ld+p]
							}
							h, _ := kr.panelHeight(rows)
							dst := make([]float32, kc*h+3)
							for i := range dst {
								dst[i] = -1
							}
							packA(kr, dst, src, ld, tr, rows, kc)
							for p := 0; p < kc; p++ {
								for i := 0; i < h; i++ {
									want := float32(0)
									if i < rows {
										want = atA(i, p)
									}
									if got := dst[p*h+i]; got != want {
										t.Fatalf("%s packA rows=%d: p=%d i=%d: got %v want %v", name, rows, p, i, got, want)
									}
								}
							}
							for _, v := range dst[kc*h:] {
								if v != -1 {
									t.Fatalf("%s packA wrote past the panel", name)
								}
							}
						}
					}
				}
			}
		}
		useAsmPack = old
	}
}

// TestPackWholeBParallel checks that packing op(B) in parts on several goroutines lays
// it out exactly as packing it whole does, for every kernel, both layouts of B, widths
// that end in partial panels and several K blocks.
func TestPackWholeBParallel(t *testing.T) {
	defer par.SetThreads(par.SetThreads(3))
	rng := rand.New(rand.NewPCG(21, 22))
	for _, kr := range kernels {
		for _, tB := range []bool{false, true} {
			for _, nk := range [][2]int{{100, 700}, {512, 768}, {1000, 300}, {65, 600}, {97, 257}} {
				n, k := nk[0], nk[1]
				ldb := n + 3
				if tB {
					ldb = k + 5
				}
				b := make([]float32, max(n, k)*ldb)
				for i := range b {
					b[i] = rng.Float32()
				}
				need := packedBLen(kr, n, k)
				want, got := make([]float32, need), make([]float32, need)
				for i := range got {
					got[i] = -1
				}
				packWholeB(kr, want, tB, n, k, b, ldb)
				packWholeBParallel(kr, 3, got, tB, n, k, b, ldb)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s tB=%v n=%d k=%d: element %d is %v, want %v", kr.name, tB, n, k, i, got[i], want[i])
					}
				}
			}
		}
	}
}
