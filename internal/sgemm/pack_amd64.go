//go:build amd64 && !purego

package sgemm

import "golang.org/x/sys/cpu"

// copyRowsAVX sets dst[r*w+c] = src[r*ld+c] for r < rows, c < w (w a
// positive multiple of 8).
//
//go:noescape
func copyRowsAVX(dst, src *float32, rows, ld, w int)

// transposeAVX sets dst[p*w+j] = src[j*ld+p] for j < w, p < kc (w and kc
// positive multiples of 8).
//
//go:noescape
func transposeAVX(dst, src *float32, kc, ld, w int)

// copyRowsMaskedAVX sets, for r < rows and c < 16 with masks[16+c] != 0,
// dst[r*dstStride+c] = src[r*ld+c] if masks[c] != 0, else 0.
//
//go:noescape
func copyRowsMaskedAVX(dst, src *float32, rows, ld, dstStride int, masks *[32]int32)

// copyPanelAVX sets dst[r*w+c] = src[r*ld+c] for r < rows, c < w, for w one
// of 4, 6, 8, 12, 16, without masks.
//
//go:noescape
func copyPanelAVX(dst, src *float32, rows, ld, w int)

// gatherColsAVX2 sets, for p < kc and c < 16 with masks[16+c] != 0,
// dst[p*dstStride+c] = src[idx[c]+p] if masks[c] != 0, else 0.
//
//go:noescape
func gatherColsAVX2(dst, src *float32, kc, dstStride int, idx *[16]int32, masks *[32]int32)

var useAsmPack = cpu.X86.HasAVX
var useGather = cpu.X86.HasAVX2

// packPanelAN packs one mr-tall panel of op(A) = A (a[0] = A[0][0]):
// d[p*mr+i] = a[i*lda+p] for i < rows, 0 for rows ≤ i < mr, p < kc. It
// reports whether it could use the assembly helper.
func packPanelAN(d, a []float32, lda, rows, kc, mr int) bool {
	if !useAsmPack || !useGather || mr > 16 || lda > 1<<26 {
		return false
	}
	var masks [32]int32
	var idx [16]int32
	for i := 0; i < 16; i++ {
		if i < rows {
			masks[i] = -1
			idx[i] = int32(i * lda)
		}
		if i < mr {
			masks[16+i] = -1
		}
	}
	_ = a[(rows-1)*lda+kc-1]
	_ = d[kc*mr-1]
	gatherColsAVX2(&d[0], &a[0], kc, mr, &idx, &masks)
	return true
}

// packPanelAT packs one mr-tall panel of op(A) = Aᵀ (a[0] = op(A)[0][0]):
// d[p*mr+i] = a[p*lda+i] for i < rows, 0 for rows ≤ i < mr, p < kc. It
// reports whether it could use the assembly helper.
func packPanelAT(d, a []float32, lda, rows, kc, mr int) bool {
	if !useAsmPack || mr > 16 {
		return false
	}
	if rows == mr && (mr == 4 || mr == 6 || mr == 8 || mr == 12 || mr == 16) {
		_ = a[(kc-1)*lda+rows-1]
		_ = d[kc*mr-1]
		copyPanelAVX(&d[0], &a[0], kc, lda, mr)
		return true
	}
	var masks [32]int32
	for i := 0; i < 16; i++ {
		if i < rows {
			masks[i] = -1
		}
		if i < mr {
			masks[16+i] = -1
		}
	}
	_ = a[(kc-1)*lda+rows-1]
	_ = d[kc*mr-1]
	copyRowsMaskedAVX(&d[0], &a[0], kc, lda, mr, &masks)
	return true
}

// packFullB packs a full w-wide panel of op(B) into d (len kc·w) from b
// (b[0] = op(B)[0][0]) with the assembly helpers, if usable. It reports
// whether it did.
func packFullB(d, b []float32, ldb int, tB bool, kc, w int) bool {
	if !useAsmPack || w%8 != 0 {
		return false
	}
	if !tB {
		_ = b[(kc-1)*ldb+w-1]
		copyRowsAVX(&d[0], &b[0], kc, ldb, w)
		return true
	}
	kc8 := kc &^ 7
	if kc8 > 0 {
		_ = b[(w-1)*ldb+kc8-1]
		_ = d[kc8*w-1]
		transposeAVX(&d[0], &b[0], kc8, ldb, w)
	}
	for j := 0; j < w; j++ {
		src := b[j*ldb+kc8 : j*ldb+kc]
		for p, v := range src {
			d[(kc8+p)*w+j] = v
		}
	}
	return true
}
