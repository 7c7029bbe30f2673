//go:build amd64 && !purego

#include "textflag.h"

DATA expc<>+0(SB)/4, $-87.33654
DATA expc<>+4(SB)/4, $1.44269504088896341
DATA expc<>+8(SB)/4, $0.5
DATA expc<>+12(SB)/4, $0.693359375
DATA expc<>+16(SB)/4, $-2.12194440e-4
DATA expc<>+20(SB)/4, $1.9875691500e-4
DATA expc<>+24(SB)/4, $1.3981999507e-3
DATA expc<>+28(SB)/4, $8.3334519073e-3
DATA expc<>+32(SB)/4, $4.1665795894e-2
DATA expc<>+36(SB)/4, $1.6666665459e-1
DATA expc<>+40(SB)/4, $5.0000001201e-1
DATA expc<>+44(SB)/4, $1.0
DATA expc<>+48(SB)/4, $127
GLOBL expc<>(SB), RODATA|NOPTR, $52

// func expShiftAVX2(row *float32, n int, m float32) float32
// row[i] = exp(row[i] − m) for i < n (n a multiple of 8; every row[i] ≤ m or −Inf;
// below −87.33654 the result is 0), and returns the sum of the results. The same
// reduction and polynomial as expShift32, with FMA.
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-28
	MOVQ row+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS m+16(FP), Y15
	VBROADCASTSS expc<>+0(SB), Y14  // lower limit
	VBROADCASTSS expc<>+4(SB), Y13  // log2 e
	VBROADCASTSS expc<>+8(SB), Y12  // 0.5
	VBROADCASTSS expc<>+12(SB), Y11 // ln 2, high part
	VBROADCASTSS expc<>+16(SB), Y10 // ln 2, low part
	VBROADCASTSS expc<>+44(SB), Y9  // 1
	VPBROADCASTD expc<>+48(SB), Y8  // 127 (int32)
	VXORPS Y7, Y7, Y7               // the sum
	SHRQ $3, CX
	JZ exp_done

exp_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0              // x = row − m
	VCMPPS $0x1d, Y14, Y0, Y6       // valid: x ≥ limit (false for −Inf, NaN)
	VMAXPS Y14, Y0, Y0              // keep the arithmetic finite
	VMULPS Y13, Y0, Y1
	VSUBPS Y12, Y1, Y1              // x·log2 e − ½
	VCVTTPS2DQ Y1, Y2               // n (int32), truncated: round(x·log2 e) for x ≤ 0
	VCVTDQ2PS Y2, Y1                // n (float)
	VMOVAPS Y0, Y3
	VFNMADD231PS Y11, Y1, Y3        // r = x − n·C1
	VFNMADD231PS Y10, Y1, Y3        // r −= n·C2
	VBROADCASTSS expc<>+20(SB), Y4  // p = P0
	VBROADCASTSS expc<>+24(SB), Y5
	VFMADD213PS Y5, Y3, Y4          // p = p·r + P1
	VBROADCASTSS expc<>+28(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expc<>+32(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expc<>+36(SB), Y5
	VFMADD213PS Y5, Y3, Y4
	VBROADCASTSS expc<>+40(SB), Y5
	VFMADD213PS Y5, Y3, Y4          // p
	VMULPS Y3, Y3, Y5               // r²
	VFMADD213PS Y3, Y5, Y4          // p·r² + r
	VADDPS Y9, Y4, Y4               // + 1
	VPADDD Y8, Y2, Y2
	VPSLLD $23, Y2, Y2              // 2^n
	VMULPS Y2, Y4, Y4
	VANDPS Y6, Y4, Y4               // 0 where not valid
	VMOVUPS Y4, (SI)
	VADDPS Y4, Y7, Y7
	ADDQ $32, SI
	DECQ CX
	JNZ exp_loop

exp_done:
	VEXTRACTF128 $1, Y7, X0
	VADDPS X0, X7, X7
	VHADDPS X7, X7, X7
	VHADDPS X7, X7, X7
	VZEROUPPER
	MOVSS X7, ret+24(FP)
	RET
