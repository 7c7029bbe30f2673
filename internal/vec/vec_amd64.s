//go:build amd64 && !purego

#include "textflag.h"

// AVX2 forms of the kernels of vec_generic.go, 8 float32 lanes per YMM register.
//
// Each follows its Go form operation by operation — the same constants, the same order,
// a VMULPS and a VADDPS where Go has x*y + z (never an FMA, which rounds once instead
// of twice) — so the results are bit-identical to the Go code's.
//
// Go assembler operand order is the reverse of Intel's: "VSUBPS B, A, D" is D = A − B,
// "VDIVPS B, A, D" is D = A / B, "VCMPPS $imm, B, A, D" is D = (A op B),
// "VANDNPS B, A, D" is D = ¬A ∧ B, "VBLENDVPS M, A, B, D" is D = M ? A : B, and
// "VMAXPS A, B, D" returns its first operand A in a lane where either is NaN — which
// is how Go's max(x, c) treats a NaN x, so the clamps below put x first.

// The rows of splat (vec_amd64.go): each constant in 8 lanes, 32 bytes a row.
#define HALF       ·splat+0(SB)
#define ONE        ·splat+32(SB)
#define SQRT2      ·splat+64(SB)
#define M4         ·splat+96(SB)
#define P4         ·splat+128(SB)
#define ERFP0      ·splat+160(SB)
#define ERFP1      ·splat+192(SB)
#define ERFP2      ·splat+224(SB)
#define ERFP3      ·splat+256(SB)
#define ERFP4      ·splat+288(SB)
#define ERFP5      ·splat+320(SB)
#define ERFP6      ·splat+352(SB)
#define ERFQ0      ·splat+384(SB)
#define ERFQ1      ·splat+416(SB)
#define ERFQ2      ·splat+448(SB)
#define ERFQ3      ·splat+480(SB)
#define ERFQ4      ·splat+512(SB)
#define ABS        ·splat+544(SB)
#define QUARTER    ·splat+576(SB)
#define MHALF      ·splat+608(SB)
#define LOG2E      ·splat+640(SB)
#define EXPC1      ·splat+672(SB)
#define EXPC2      ·splat+704(SB)
#define EXPE0      ·splat+736(SB)
#define EXPE1      ·splat+768(SB)
#define EXPE2      ·splat+800(SB)
#define EXPE3      ·splat+832(SB)
#define EXPE4      ·splat+864(SB)
#define EXPE5      ·splat+896(SB)
#define I127       ·splat+928(SB)
#define EXPMIN     ·splat+960(SB)
#define INVSQRT2PI ·splat+992(SB)
#define F127       ·splat+1024(SB)
#define EXPMAX     ·splat+1056(SB)
#define INF        ·splat+1088(SB)
#define NEGINF     ·splat+1120(SB)

// ERF sets X = Erf32(X) in every lane, using P, Q and X2 as scratch; Y14 must hold −4
// and Y15 4 (the clamp's bounds).
#define ERF(X, X2, P, Q) \
	VMAXPS X, Y14, X       \ // x = max(x, −4)
	VMINPS X, Y15, X       \ // x = min(x, 4)
	VMULPS X, X, X2        \ // x2 = x·x
	VMULPS ERFP0, X2, P    \ // p = x2·P0 + P1
	VADDPS ERFP1, P, P     \
	VMULPS X2, P, P        \ // p = x2·p + P2 … P6
	VADDPS ERFP2, P, P     \
	VMULPS X2, P, P        \
	VADDPS ERFP3, P, P     \
	VMULPS X2, P, P        \
	VADDPS ERFP4, P, P     \
	VMULPS X2, P, P        \
	VADDPS ERFP5, P, P     \
	VMULPS X2, P, P        \
	VADDPS ERFP6, P, P     \
	VMULPS ERFQ0, X2, Q    \ // q = x2·Q0 + Q1
	VADDPS ERFQ1, Q, Q     \
	VMULPS X2, Q, Q        \ // q = x2·q + Q2 … Q4
	VADDPS ERFQ2, Q, Q     \
	VMULPS X2, Q, Q        \
	VADDPS ERFQ3, Q, Q     \
	VMULPS X2, Q, Q        \
	VADDPS ERFQ4, Q, Q     \
	VMULPS P, X, X         \ // x·p
	VDIVPS Q, X, X           // x·p / q

// func geluAVX2(dst, src *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	JZ   gelu_done
	VMOVUPS M4, Y14
	VMOVUPS P4, Y15

gelu_loop:
	VMOVUPS (SI), Y0          // v
	VMULPS  SQRT2, Y0, Y1     // u = v·√2
	VMULPS  HALF, Y1, Y1      // u = u/2
	ERF(Y1, Y2, Y3, Y4)       // e = erf(u)
	VADDPS  ONE, Y1, Y1       // 1 + e
	VMULPS  HALF, Y0, Y0      // v·0.5
	VMULPS  Y1, Y0, Y0        // v·0.5·(1 + e)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     gelu_loop

gelu_done:
	VZEROUPPER
	RET

// func geluGradAVX2(dx, x, y, dy *float32, n int)
TEXT ·geluGradAVX2(SB), NOSPLIT, $0-40
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), BX
	MOVQ dy+24(FP), DX
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   grad_done
	VMOVUPS M4, Y14
	VMOVUPS P4, Y15

grad_loop:
	VMOVUPS (SI), Y0             // v
	// cdf from erf: 0.5·(1 + erf(v·√2/2))
	VMULPS  SQRT2, Y0, Y1
	VMULPS  HALF, Y1, Y1
	ERF(Y1, Y2, Y3, Y4)
	VADDPS  ONE, Y1, Y1
	VMULPS  HALF, Y1, Y1
	// cdf from the forward output, y/v, where |v| > 0.25
	VMOVUPS (BX), Y5
	VDIVPS  Y0, Y5, Y5           // y/v
	VANDPS  ABS, Y0, Y6          // |v|
	VCMPPS  $0x0e, QUARTER, Y6, Y6 // |v| > 0.25 (GT_OS: false for NaN, as in Go)
	VBLENDVPS Y6, Y5, Y1, Y1     // cdf

	// e = ExpNegHalfSq32(v)
	VMULPS  MHALF, Y0, Y7        // −0.5·v
	VMULPS  Y0, Y7, Y7           // x = −0.5·v·v
	VMULPS  LOG2E, Y7, Y8
	VSUBPS  HALF, Y8, Y8         // t = x·log2 e − 0.5
	VCVTTPS2DQ Y8, Y9
	VCVTDQ2PS Y9, Y9             // n = float32(int32(t))
	VCMPPS  $0x01, Y9, Y8, Y10   // t < n (LT_OS)
	VANDPS  ONE, Y10, Y10
	VSUBPS  Y10, Y9, Y9          // n-- where n > t
	VADDPS  ONE, Y9, Y9          // n++
	VMULPS  EXPC1, Y9, Y10
	VSUBPS  Y10, Y7, Y10         // x − n·C1
	VMULPS  EXPC2, Y9, Y11
	VADDPS  Y11, Y10, Y10        // r = x − n·C1 + n·C2
	VMULPS  EXPE0, Y10, Y11      // p = E0·r + E1
	VADDPS  EXPE1, Y11, Y11
	VMULPS  Y10, Y11, Y11        // p = p·r + E2 … E5
	VADDPS  EXPE2, Y11, Y11
	VMULPS  Y10, Y11, Y11
	VADDPS  EXPE3, Y11, Y11
	VMULPS  Y10, Y11, Y11
	VADDPS  EXPE4, Y11, Y11
	VMULPS  Y10, Y11, Y11
	VADDPS  EXPE5, Y11, Y11
	VMULPS  Y10, Y11, Y11        // p·r
	VMULPS  Y10, Y11, Y11        // p·r·r
	VADDPS  Y10, Y11, Y11        // + r
	VADDPS  ONE, Y11, Y11        // + 1
	VCVTTPS2DQ Y9, Y9            // int32(n)
	VPADDD  I127, Y9, Y9
	VPSLLD  $23, Y9, Y9          // 2^n
	VMULPS  Y9, Y11, Y11
	VCMPPS  $0x01, EXPMIN, Y7, Y10 // x < expMin (LT_OS)
	VANDNPS Y11, Y10, Y11        // e = 0 there

	// dx = dy·(cdf + v·e·(1/√(2π)))
	VMULPS  Y11, Y0, Y11
	VMULPS  INVSQRT2PI, Y11, Y11
	VADDPS  Y11, Y1, Y1
	VMULPS  (DX), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     grad_loop

grad_done:
	VZEROUPPER
	RET


// func maxAVX2(x *float32, n int) float32
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	VMOVUPS NEGINF, Y0
	TESTQ   CX, CX
	JZ      max_reduce

max_loop:
	VMOVUPS (SI), Y2
	VMAXPS  Y0, Y2, Y0        // m = max(x, m), m where x is NaN
	ADDQ    $32, SI
	DECQ    CX
	JNZ     max_loop

max_reduce:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS  X1, X0, X0        // 4 lanes
	VMOVHLPS X0, X0, X1
	VMAXPS  X1, X0, X0        // 2 lanes
	VPSHUFD $1, X0, X1
	VMAXSS  X1, X0, X0        // 1 lane
	VZEROUPPER
	MOVSS   X0, ret+16(FP)
	RET

// EXP sets Y3 = Exp32(Y0) in every lane, using Y1, Y2, Y4 and Y5 as scratch.
#define EXP \
	VMULPS  LOG2E, Y0, Y1         \
	VADDPS  HALF, Y1, Y1          \ // t = x·log2 e + 0.5
	VROUNDPS $1, Y1, Y1           \ // n = floor(t)
	VMULPS  EXPC1, Y1, Y2         \
	VSUBPS  Y2, Y0, Y2            \ // x − n·C1
	VMULPS  EXPC2, Y1, Y3         \
	VADDPS  Y3, Y2, Y2            \ // r = x − n·C1 + n·C2
	VMULPS  EXPE0, Y2, Y3         \ // p = E0·r + E1
	VADDPS  EXPE1, Y3, Y3         \
	VMULPS  Y2, Y3, Y3            \ // p = p·r + E2 … E5
	VADDPS  EXPE2, Y3, Y3         \
	VMULPS  Y2, Y3, Y3            \
	VADDPS  EXPE3, Y3, Y3         \
	VMULPS  Y2, Y3, Y3            \
	VADDPS  EXPE4, Y3, Y3         \
	VMULPS  Y2, Y3, Y3            \
	VADDPS  EXPE5, Y3, Y3         \
	VMULPS  Y2, Y3, Y3            \ // p·r
	VMULPS  Y2, Y3, Y3            \ // p·r·r
	VADDPS  Y2, Y3, Y3            \ // + r
	VADDPS  ONE, Y3, Y3           \ // y = … + 1
	VCMPPS  $0x0e, F127, Y1, Y4   \ // n > 127: y = y·2, n = n − 1
	VANDPS  Y4, Y3, Y5            \
	VADDPS  Y5, Y3, Y3            \ // y + y there, y + 0 elsewhere
	VANDPS  ONE, Y4, Y5           \
	VSUBPS  Y5, Y1, Y1            \
	VCVTTPS2DQ Y1, Y1             \ // int32(n)
	VPADDD  I127, Y1, Y1          \
	VPSLLD  $23, Y1, Y1           \ // 2^n
	VMULPS  Y1, Y3, Y3            \
	VCMPPS  $0x01, EXPMIN, Y0, Y4 \ // x < expMin: 0
	VANDNPS Y3, Y4, Y3            \
	VCMPPS  $0x0e, EXPMAX, Y0, Y4 \ // x > expMax: +Inf
	VBLENDVPS Y4, INF, Y3, Y3     \
	VCMPPS  $0x03, Y0, Y0, Y4     \ // x is NaN: x
	VBLENDVPS Y4, Y0, Y3, Y3

// func expShiftAVX2(dst, src *float32, n int, shift float32)
//
// n need not be a multiple of 8: the last n mod 8 elements are read and written with
// masked moves (lanes past n are neither read nor written).
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y13
	MOVQ CX, DX
	ANDQ $7, DX                   // the tail
	SHRQ $3, CX
	JZ   exp_tail

exp_loop:
	VMOVUPS (SI), Y0
	VSUBPS  Y13, Y0, Y0           // x = src − shift
	EXP
	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     exp_loop

exp_tail:
	TESTQ DX, DX
	JZ    exp_done
	LEAQ  ·tailMask+32(SB), AX
	SHLQ  $2, DX
	SUBQ  DX, AX                  // &tailMask[8 − tail]: tail lanes of −1
	VMOVDQU (AX), Y6
	VMASKMOVPS (SI), Y6, Y0
	VSUBPS  Y13, Y0, Y0
	EXP
	VMASKMOVPS Y3, Y6, (DI)

exp_done:
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float64)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSD s+16(FP), Y2
	SHRQ $3, CX
	JZ   scale_done

scale_loop:
	VCVTPS2PD (SI), Y0           // lanes 0–3 in float64
	VCVTPS2PD 16(SI), Y1         // lanes 4–7
	VMULPD  Y2, Y0, Y0
	VMULPD  Y2, Y1, Y1
	VCVTPD2PSY Y0, X0            // rounded once to float32
	VCVTPD2PSY Y1, X1
	VMOVUPS X0, (SI)
	VMOVUPS X1, 16(SI)
	ADDQ    $32, SI
	DECQ    CX
	JNZ     scale_loop

scale_done:
	VZEROUPPER
	RET

// ADAMW4 does AdamW on the 4 elements at byte offset off, in float64 lanes; Y8–Y15 hold
// the constants (decay, w, 1−w, β2, 1−β2, bc2Sqrt, eps, stepSize) and MOMENT is the
// first-moment update (ADAMW_LERP or ADAMW_FLIP).
#define ADAMW_LERP \
	VMULPD  Y9, Y3, Y3    \ // w·(g − m)
	VADDPD  Y3, Y2, Y2      // m + w·(g − m)

#define ADAMW_FLIP \
	VMULPD  Y10, Y3, Y3   \ // (g − m)·(1 − w)
	VSUBPD  Y3, Y0, Y2      // g − (g − m)·(1 − w)

#define ADAMW4(off, MOMENT) \
	VCVTPS2PD off(BX), Y0 \ // g
	VCVTPS2PD off(SI), Y1 \ // p
	VMULPD  Y8, Y1, Y1    \ // p·decay
	VCVTPS2PD off(DX), Y2 \ // m
	VSUBPD  Y2, Y0, Y3    \ // g − m
	MOMENT                \
	VCVTPS2PD off(R8), Y4 \ // v
	VMULPD  Y11, Y4, Y4   \ // v·β2
	VMULPD  Y0, Y0, Y5    \ // g·g
	VMULPD  Y12, Y5, Y5   \ // (1 − β2)·g²
	VADDPD  Y5, Y4, Y4    \ // v
	VSQRTPD Y4, Y5        \
	VDIVPD  Y13, Y5, Y5   \ // √v / bc2Sqrt
	VADDPD  Y14, Y5, Y5   \ // + eps
	VDIVPD  Y5, Y2, Y6    \ // m / denom
	VMULPD  Y15, Y6, Y6   \ // stepSize·(m / denom)
	VSUBPD  Y6, Y1, Y1    \ // p
	VCVTPD2PSY Y1, X1     \
	VMOVUPS X1, off(SI)   \
	VCVTPD2PSY Y2, X2     \
	VMOVUPS X2, off(DX)   \
	VCVTPD2PSY Y4, X4     \
	VMOVUPS X4, off(R8)   \
	VMOVUPS X7, off(BX)     // g = 0

// func adamwAVX2(p, grad, m, v *float32, n int, c *adamwConsts, lerp bool)
TEXT ·adamwAVX2(SB), NOSPLIT, $0-49
	MOVQ p+0(FP), SI
	MOVQ grad+8(FP), BX
	MOVQ m+16(FP), DX
	MOVQ v+24(FP), R8
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), AX
	VBROADCASTSD 0(AX), Y8
	VBROADCASTSD 8(AX), Y9
	VBROADCASTSD 16(AX), Y10
	VBROADCASTSD 24(AX), Y11
	VBROADCASTSD 32(AX), Y12
	VBROADCASTSD 40(AX), Y13
	VBROADCASTSD 48(AX), Y14
	VBROADCASTSD 56(AX), Y15
	VXORPS  X7, X7, X7
	SHRQ $3, CX
	JZ   adamw_done
	MOVBLZX lerp+48(FP), AX
	TESTQ AX, AX
	JZ   adamw_flip

adamw_lerp:
	ADAMW4(0, ADAMW_LERP)
	ADAMW4(16, ADAMW_LERP)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ  adamw_lerp
	JMP  adamw_done

adamw_flip:
	ADAMW4(0, ADAMW_FLIP)
	ADAMW4(16, ADAMW_FLIP)
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, R8
	DECQ CX
	JNZ  adamw_flip

adamw_done:
	VZEROUPPER
	RET

// The LayerNorm row passes, 4 elements a step in float64 lanes.

// func layerNormRowAVX2(y, x, gain, bias *float32, n int, mean, rstd float64)
TEXT ·layerNormRowAVX2(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gain+16(FP), DX
	MOVQ bias+24(FP), R9
	MOVQ n+32(FP), CX
	VBROADCASTSD mean+40(FP), Y14
	VBROADCASTSD rstd+48(FP), Y15
	SHRQ $2, CX
	JZ   ln_done
	TESTQ R9, R9
	JZ   ln_nobias

ln_bias:
	VCVTPS2PD (SI), Y0
	VSUBPD  Y14, Y0, Y0         // x − mean
	VMULPD  Y15, Y0, Y0         // ·rstd
	VCVTPS2PD (DX), Y1
	VMULPD  Y1, Y0, Y0          // ·g
	VCVTPS2PD (R9), Y1
	VADDPD  Y1, Y0, Y0          // + b
	VCVTPD2PSY Y0, X0
	VMOVUPS X0, (DI)
	ADDQ    $16, SI
	ADDQ    $16, DX
	ADDQ    $16, R9
	ADDQ    $16, DI
	DECQ    CX
	JNZ     ln_bias
	JMP     ln_done

ln_nobias:
	VCVTPS2PD (SI), Y0
	VSUBPD  Y14, Y0, Y0
	VMULPD  Y15, Y0, Y0
	VCVTPS2PD (DX), Y1
	VMULPD  Y1, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS X0, (DI)
	ADDQ    $16, SI
	ADDQ    $16, DX
	ADDQ    $16, DI
	DECQ    CX
	JNZ     ln_nobias

ln_done:
	VZEROUPPER
	RET

// func layerNormGradRowAVX2(dx, x, gain, dy *float32, n int, mean, rstd, m1, m2 float64)
TEXT ·layerNormGradRowAVX2(SB), NOSPLIT, $0-72
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ gain+16(FP), DX
	MOVQ dy+24(FP), BX
	MOVQ n+32(FP), CX
	VBROADCASTSD mean+40(FP), Y12
	VBROADCASTSD rstd+48(FP), Y13
	VBROADCASTSD m1+56(FP), Y14
	VBROADCASTSD m2+64(FP), Y15
	SHRQ $2, CX
	JZ   lng_done

lng_loop:
	VCVTPS2PD (SI), Y0
	VSUBPD  Y12, Y0, Y0         // x − mean
	VMULPD  Y13, Y0, Y0         // x̂ = (x − mean)·rstd
	VMULPD  Y15, Y0, Y0         // x̂·m2
	VCVTPS2PD (BX), Y1
	VCVTPS2PD (DX), Y2
	VMULPD  Y2, Y1, Y1          // dŷ = dy·g
	VSUBPD  Y14, Y1, Y1         // dŷ − m1
	VSUBPD  Y0, Y1, Y1          // − x̂·m2
	VMULPD  Y13, Y1, Y1         // rstd·(…)
	VCVTPD2PSY Y1, X1
	VMOVUPS X1, (DI)
	ADDQ    $16, SI
	ADDQ    $16, DX
	ADDQ    $16, BX
	ADDQ    $16, DI
	DECQ    CX
	JNZ     lng_loop

lng_done:
	VZEROUPPER
	RET

// func gainAccAVX2(acc *float64, x, dy *float32, n int, mean, rstd float64)
TEXT ·gainAccAVX2(SB), NOSPLIT, $0-48
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), BX
	MOVQ n+24(FP), CX
	VBROADCASTSD mean+32(FP), Y14
	VBROADCASTSD rstd+40(FP), Y15
	SHRQ $2, CX
	JZ   gain_done

gain_loop:
	VCVTPS2PD (SI), Y0
	VSUBPD  Y14, Y0, Y0         // x − mean
	VCVTPS2PD (BX), Y1
	VMULPD  Y0, Y1, Y1          // dy·(x − mean)
	VMULPD  Y15, Y1, Y1         // ·rstd
	VADDPD  (DI), Y1, Y1        // acc + …
	VMOVUPD Y1, (DI)
	ADDQ    $16, SI
	ADDQ    $16, BX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     gain_loop

gain_done:
	VZEROUPPER
	RET

// func addAVX2(dst, a, b *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), BX
	MOVQ n+24(FP), CX
	XORQ AX, AX
	SHRQ $3, CX
	JZ   add_tail8

	SHRQ $2, CX                  // 32 a step
	JZ   add_tail8
add_loop32:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS 32(SI)(AX*4), Y1
	VMOVUPS 64(SI)(AX*4), Y2
	VMOVUPS 96(SI)(AX*4), Y3
	VADDPS  (BX)(AX*4), Y0, Y0
	VADDPS  32(BX)(AX*4), Y1, Y1
	VADDPS  64(BX)(AX*4), Y2, Y2
	VADDPS  96(BX)(AX*4), Y3, Y3
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ    $32, AX
	DECQ    CX
	JNZ     add_loop32

add_tail8:                       // then 8 a step up to n
	MOVQ n+24(FP), CX
	ANDQ $-8, CX
add_loop8:
	CMPQ AX, CX
	JGE  add_done
	VMOVUPS (SI)(AX*4), Y0
	VADDPS  (BX)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     add_loop8

add_done:
	VZEROUPPER
	RET

// func softmaxGradAVX2(dx, p, grad *float32, n int, d float32)
TEXT ·softmaxGradAVX2(SB), NOSPLIT, $0-36
	MOVQ dx+0(FP), DI
	MOVQ p+8(FP), SI
	MOVQ grad+16(FP), BX
	MOVQ n+24(FP), CX
	VBROADCASTSS d+32(FP), Y15
	VXORPS Y14, Y14, Y14
	SHRQ $3, CX
	JZ   sg_done

sg_loop:
	VMOVUPS (SI), Y0             // p
	VMOVUPS (BX), Y1             // g
	VSUBPS  Y15, Y1, Y1          // g − d
	VMULPS  Y1, Y0, Y1           // p·(g − d)
	VCMPPS  $0x00, Y14, Y0, Y2   // p == 0 (EQ_OQ)
	VANDNPS Y1, Y2, Y1           // exactly 0 there
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, BX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sg_loop

sg_done:
	VZEROUPPER
	RET

// TRANSPOSE4 loads 4 columns (at byte offset off) of the 4 rows at B, B+R8, B+2·R8,
// B+R9 and leaves column j of the 4 rows in Y0…Y3 (one row per float64 lane), using
// X4–X7 as scratch.
#define TRANSPOSE4(B, off) \
	VMOVUPS off(B), X0          \
	VMOVUPS off(B)(R8*1), X1    \
	VMOVUPS off(B)(R8*2), X2    \
	VMOVUPS off(B)(R9*1), X3    \
	VUNPCKLPS X1, X0, X4        \ // r0j0 r1j0 r0j1 r1j1
	VUNPCKHPS X1, X0, X5        \ // r0j2 r1j2 r0j3 r1j3
	VUNPCKLPS X3, X2, X6        \ // r2j0 r3j0 r2j1 r3j1
	VUNPCKHPS X3, X2, X7        \ // r2j2 r3j2 r2j3 r3j3
	VMOVLHPS X6, X4, X0         \ // column 0
	VMOVHLPS X4, X6, X1         \ // column 1
	VMOVLHPS X7, X5, X2         \ // column 2
	VMOVHLPS X5, X7, X3         \ // column 3
	VCVTPS2PD X0, Y0            \
	VCVTPS2PD X1, Y1            \
	VCVTPS2PD X2, Y2            \
	VCVTPS2PD X3, Y3

// SUM4 adds columns Y0…Y3 into ACC, in column order.
#define SUM4(ACC) \
	VADDPD Y0, ACC, ACC \
	VADDPD Y1, ACC, ACC \
	VADDPD Y2, ACC, ACC \
	VADDPD Y3, ACC, ACC

// SQ4 adds (column − MEAN)² of columns Y0…Y3 into ACC, in column order.
#define SQ4(MEAN, ACC) \
	VSUBPD MEAN, Y0, Y0 \
	VMULPD Y0, Y0, Y0   \
	VSUBPD MEAN, Y1, Y1 \
	VMULPD Y1, Y1, Y1   \
	VSUBPD MEAN, Y2, Y2 \
	VMULPD Y2, Y2, Y2   \
	VSUBPD MEAN, Y3, Y3 \
	VMULPD Y3, Y3, Y3   \
	SUM4(ACC)

// func rowStats8AVX2(x *float32, c int, mean, vr *[8]float64)
TEXT ·rowStats8AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ c+8(FP), CX
	MOVQ mean+16(FP), AX
	MOVQ vr+24(FP), DX
	MOVQ CX, R8
	SHLQ $2, R8                 // a row in bytes
	LEAQ (R8)(R8*2), R9         // three rows
	LEAQ (SI)(R8*4), DI         // rows 4–7
	CVTSQ2SD CX, X12
	VBROADCASTSD X12, Y12       // float64(c)
	VXORPD Y8, Y8, Y8           // sums of rows 0–3
	VXORPD Y9, Y9, Y9           // rows 4–7
	SHRQ $2, CX                 // steps of 4 columns
	MOVQ CX, R10
	XORQ BX, BX

rs_sum:
	TRANSPOSE4(SI, 0)
	SUM4(Y8)
	TRANSPOSE4(DI, 0)
	SUM4(Y9)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ  rs_sum

	VDIVPD Y12, Y8, Y10         // means of rows 0–3
	VDIVPD Y12, Y9, Y11         // rows 4–7
	VMOVUPD Y10, (AX)
	VMOVUPD Y11, 32(AX)
	MOVQ R10, CX
	MOVQ R10, BX
	SHLQ $4, BX
	SUBQ BX, SI                 // back to column 0
	SUBQ BX, DI
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9

rs_sq:
	TRANSPOSE4(SI, 0)
	SQ4(Y10, Y8)
	TRANSPOSE4(DI, 0)
	SQ4(Y11, Y9)
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ  rs_sq

	VMOVUPD Y8, (DX)
	VMOVUPD Y9, 32(DX)
	VZEROUPPER
	RET

// TR4 is TRANSPOSE4 into other registers: A0–A3 are the X names and W0–W3 the Y names
// of the four outputs; X4–X7 are scratch.
#define TR4(B, A0, A1, A2, A3, W0, W1, W2, W3) \
	VMOVUPS (B), A0             \
	VMOVUPS (B)(R8*1), A1       \
	VMOVUPS (B)(R8*2), A2       \
	VMOVUPS (B)(R9*1), A3       \
	VUNPCKLPS A1, A0, X4        \
	VUNPCKHPS A1, A0, X5        \
	VUNPCKLPS A3, A2, X6        \
	VUNPCKHPS A3, A2, X7        \
	VMOVLHPS X6, X4, A0         \
	VMOVHLPS X4, X6, A1         \
	VMOVLHPS X7, X5, A2         \
	VMOVHLPS X5, X7, A3         \
	VCVTPS2PD A0, W0            \
	VCVTPS2PD A1, W1            \
	VCVTPS2PD A2, W2            \
	VCVTPS2PD A3, W3

// GAIN4 sets Y4–Y7 to float64(g[j]) … float64(g[j+3]) in every lane, g[j] at (R13).
#define GAIN4 \
	VBROADCASTSS (R13), X4   \
	VBROADCASTSS 4(R13), X5  \
	VBROADCASTSS 8(R13), X6  \
	VBROADCASTSS 12(R13), X7 \
	VCVTPS2PD X4, Y4         \
	VCVTPS2PD X5, Y5         \
	VCVTPS2PD X6, Y6         \
	VCVTPS2PD X7, Y7

// GM1 does column X (Y0–Y3) with its dy column D (Y12–Y15) and gain G (Y4–Y7) for
// the rows whose mean and rstd are at MEAN and RSTD: dh = dy·g; M1 += dh;
// M2 += dh·(x − mean)·rstd.
#define GM1(X, D, G, MEAN, RSTD, M1, M2) \
	VMULPD  G, D, D      \
	VADDPD  D, M1, M1    \
	VSUBPD  MEAN, X, X   \
	VMULPD  X, D, X      \
	VMULPD  RSTD, X, X   \
	VADDPD  X, M2, M2

// func gradMeans8AVX2(x, dy, gain *float32, c int, mean, rstd, m1, m2 *[8]float64)
TEXT ·gradMeans8AVX2(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), SI
	MOVQ dy+8(FP), R11
	MOVQ gain+16(FP), R13
	MOVQ c+24(FP), CX
	MOVQ mean+32(FP), AX
	MOVQ rstd+40(FP), BX
	MOVQ CX, R8
	SHLQ $2, R8                 // a row in bytes
	LEAQ (R8)(R8*2), R9         // three rows
	LEAQ (SI)(R8*4), DI         // x rows 4–7
	LEAQ (R11)(R8*4), R12       // dy rows 4–7
	VXORPD Y8, Y8, Y8           // m1 of rows 0–3
	VXORPD Y9, Y9, Y9           // m2 of rows 0–3
	VXORPD Y10, Y10, Y10        // m1 of rows 4–7
	VXORPD Y11, Y11, Y11        // m2 of rows 4–7
	SHRQ $2, CX

gm_loop:
	TR4(SI, X0, X1, X2, X3, Y0, Y1, Y2, Y3)
	TR4(R11, X12, X13, X14, X15, Y12, Y13, Y14, Y15)
	GAIN4
	GM1(Y0, Y12, Y4, (AX), (BX), Y8, Y9)
	GM1(Y1, Y13, Y5, (AX), (BX), Y8, Y9)
	GM1(Y2, Y14, Y6, (AX), (BX), Y8, Y9)
	GM1(Y3, Y15, Y7, (AX), (BX), Y8, Y9)
	TR4(DI, X0, X1, X2, X3, Y0, Y1, Y2, Y3)
	TR4(R12, X12, X13, X14, X15, Y12, Y13, Y14, Y15)
	GAIN4
	GM1(Y0, Y12, Y4, 32(AX), 32(BX), Y10, Y11)
	GM1(Y1, Y13, Y5, 32(AX), 32(BX), Y10, Y11)
	GM1(Y2, Y14, Y6, 32(AX), 32(BX), Y10, Y11)
	GM1(Y3, Y15, Y7, 32(AX), 32(BX), Y10, Y11)
	ADDQ $16, SI
	ADDQ $16, DI
	ADDQ $16, R11
	ADDQ $16, R12
	ADDQ $16, R13
	DECQ CX
	JNZ  gm_loop

	MOVQ m1+48(FP), AX
	MOVQ m2+56(FP), BX
	VMOVUPD Y8, (AX)
	VMOVUPD Y10, 32(AX)
	VMOVUPD Y9, (BX)
	VMOVUPD Y11, 32(BX)
	VZEROUPPER
	RET
