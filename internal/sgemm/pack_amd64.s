//go:build amd64 && !purego

#include "textflag.h"

// func copyRowsAVX(dst, src *float32, rows, ld, w int)
// dst[r*w+c] = src[r*ld+c] for r < rows, c < w; w is a positive multiple of 8.
TEXT ·copyRowsAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ ld+24(FP), R8
	SHLQ $2, R8
	MOVQ w+32(FP), R9
	SHRQ $3, R9
	TESTQ CX, CX
	JZ copy_done
copy_row:
	MOVQ R9, BX
	XORQ AX, AX
copy_chunk:
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS Y0, (DI)(AX*1)
	ADDQ $32, AX
	DECQ BX
	JNZ copy_chunk
	ADDQ R8, SI
	ADDQ AX, DI
	DECQ CX
	JNZ copy_row
copy_done:
	VZEROUPPER
	RET

// func transposeAVX(dst, src *float32, kc, ld, w int)
// dst[p*w+j] = src[j*ld+p] for j < w, p < kc; w and kc are positive
// multiples of 8. Works on 8×8 blocks held in YMM registers.
TEXT ·transposeAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ kc+16(FP), DX
	MOVQ ld+24(FP), R11
	SHLQ $2, R11            // R11 = ld in bytes
	LEAQ (R11)(R11*2), R12  // R12 = 3·ld bytes
	MOVQ w+32(FP), R8
	SHLQ $2, R8             // R8 = w in bytes
	LEAQ (R8)(R8*2), R9     // R9 = 3·w bytes
	XORQ AX, AX             // AX = j in bytes (column of dst)
tr_jloop:
	MOVQ SI, R10            // R10 = &src[j*ld + p]
	LEAQ (R10)(R11*4), R13  // R13 = row j+4
	LEAQ (DI)(AX*1), BX     // BX = &dst[p*w + j]
	MOVQ DX, CX
	SHRQ $3, CX             // CX = kc/8 blocks
tr_ploop:
	VMOVUPS (R10), Y0
	VMOVUPS (R10)(R11*1), Y1
	VMOVUPS (R10)(R11*2), Y2
	VMOVUPS (R10)(R12*1), Y3
	VMOVUPS (R13), Y4
	VMOVUPS (R13)(R11*1), Y5
	VMOVUPS (R13)(R11*2), Y6
	VMOVUPS (R13)(R12*1), Y7
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15
	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS Y8, (BX)
	VMOVUPS Y9, (BX)(R8*1)
	VMOVUPS Y10, (BX)(R8*2)
	VMOVUPS Y11, (BX)(R9*1)
	LEAQ (BX)(R8*4), BX
	VMOVUPS Y12, (BX)
	VMOVUPS Y13, (BX)(R8*1)
	VMOVUPS Y14, (BX)(R8*2)
	VMOVUPS Y15, (BX)(R9*1)
	LEAQ (BX)(R8*4), BX
	ADDQ $32, R10
	ADDQ $32, R13
	DECQ CX
	JNZ tr_ploop
	LEAQ (SI)(R11*8), SI    // next 8 rows of src
	ADDQ $32, AX
	CMPQ AX, R8
	JLT tr_jloop
	VZEROUPPER
	RET

// func copyRowsMaskedAVX(dst, src *float32, rows, ld, dstStride int, masks *[32]int32)
// For r < rows and c < 16: where masks[16+c] != 0,
// dst[r*dstStride+c] = src[r*ld+c] if masks[c] != 0, else 0.
// Masked-off elements are neither read nor written.
TEXT ·copyRowsMaskedAVX(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ ld+24(FP), R8
	SHLQ $2, R8
	MOVQ dstStride+32(FP), R9
	SHLQ $2, R9
	MOVQ masks+40(FP), AX
	VMOVDQU (AX), Y12
	VMOVDQU 32(AX), Y13
	VMOVDQU 64(AX), Y14
	VMOVDQU 96(AX), Y15
	TESTQ CX, CX
	JZ masked_done
masked_loop:
	VMASKMOVPS (SI), Y12, Y0
	VMASKMOVPS 32(SI), Y13, Y1
	VMASKMOVPS Y0, Y14, (DI)
	VMASKMOVPS Y1, Y15, 32(DI)
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ masked_loop
masked_done:
	VZEROUPPER
	RET

// func gatherColsAVX2(dst, src *float32, kc, dstStride int, idx *[16]int32, masks *[32]int32)
// For p < kc and c < 16 with masks[16+c] != 0:
// dst[p*dstStride+c] = src[idx[c]+p] if masks[c] != 0, else 0.
TEXT ·gatherColsAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ kc+16(FP), CX
	MOVQ dstStride+24(FP), R9
	SHLQ $2, R9
	MOVQ idx+32(FP), AX
	VMOVDQU (AX), Y10
	VMOVDQU 32(AX), Y11
	MOVQ masks+40(FP), AX
	VMOVDQU (AX), Y12
	VMOVDQU 32(AX), Y13
	VMOVDQU 64(AX), Y14
	VMOVDQU 96(AX), Y15
	TESTQ CX, CX
	JZ gather_done
gather_loop:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VMOVDQU Y12, Y2
	VMOVDQU Y13, Y3
	VGATHERDPS Y2, (SI)(Y10*4), Y0
	VGATHERDPS Y3, (SI)(Y11*4), Y1
	VMASKMOVPS Y0, Y14, (DI)
	VMASKMOVPS Y1, Y15, 32(DI)
	ADDQ $4, SI
	ADDQ R9, DI
	DECQ CX
	JNZ gather_loop
gather_done:
	VZEROUPPER
	RET

// func copyPanelAVX(dst, src *float32, rows, ld, w int)
// dst[r*w+c] = src[r*ld+c] for r < rows, c < w, for w = 4, 6, 8, 12 or 16
// (a full panel of op(A) = Aᵀ: each k-step's w values are contiguous in
// src). Unmasked loads and stores: AMD's VMASKMOVPS stores are slow.
TEXT ·copyPanelAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ ld+24(FP), R8
	SHLQ $2, R8
	MOVQ w+32(FP), R9
	TESTQ CX, CX
	JZ panel_done
	CMPQ R9, $4
	JEQ panel4
	CMPQ R9, $6
	JEQ panel6
	CMPQ R9, $8
	JEQ panel8
	CMPQ R9, $12
	JEQ panel12
panel16:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ panel16
	JMP panel_done
panel12:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), X1
	VMOVUPS Y0, (DI)
	VMOVUPS X1, 32(DI)
	ADDQ R8, SI
	ADDQ $48, DI
	DECQ CX
	JNZ panel12
	JMP panel_done
panel8:
	VMOVUPS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ R8, SI
	ADDQ $32, DI
	DECQ CX
	JNZ panel8
	JMP panel_done
panel6:
	VMOVUPS (SI), X0
	MOVQ 16(SI), AX
	VMOVUPS X0, (DI)
	MOVQ AX, 16(DI)
	ADDQ R8, SI
	ADDQ $24, DI
	DECQ CX
	JNZ panel6
	JMP panel_done
panel4:
	VMOVUPS (SI), X0
	VMOVUPS X0, (DI)
	ADDQ R8, SI
	ADDQ $16, DI
	DECQ CX
	JNZ panel4
panel_done:
	VZEROUPPER
	RET
