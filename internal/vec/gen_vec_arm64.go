//go:build ignore

// gen_vec_arm64 writes vec_arm64.s: the NEON forms of the kernels of vec_generic.go
// and its neighbours (see vec_arm64.go for their Go declarations).
//
//	go run gen_vec_arm64.go          (or: go generate ./internal/vec/ on arm64)
//	go run gen_vec_arm64.go -check   (also checks every WORD against GNU as)
//
// Each kernel follows its Go form operation by operation — the same constants, the
// same order, an FMUL and an FADD where Go has x*y + z (never FMLA, which rounds once
// instead of twice), FCVTL/FCVTN where Go converts between float32 and float64 — so
// its results are bit-identical to the Go code's. Four float32 (or two float64) lanes
// a vector; the Go side hands the kernels whole blocks of 4 elements.
//
// The Go assembler knows almost none of the Advanced SIMD floating-point instructions,
// so all the arithmetic is WORD encodings from the small encoder below, each with the
// instruction in GNU syntax in a comment; -check assembles those comments with
// aarch64-linux-gnu-as (binutils-aarch64-linux-gnu) and compares the words. Loads,
// stores, moves and branches are the Go assembler's own.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// The rows of neonConsts (vec_arm64.go), 16 bytes each, in this order.
const (
	cOne = iota
	cHalf
	cM4
	cP4
	cErfP1 // P1…P6
	_
	_
	_
	_
	_
	cErfQ1 // Q1…Q4
	_
	_
	_
	cPack1 // {√2, erfP0, erfQ0, 1/√(2π)}: multipliers, used by element
	cPack2 // {−0.5, log2 e, expC1, expC2}
	cQuarter
	cExpMin
	cI127
	cExpE1 // E1…E5
	_
	_
	_
	_
	cExpE0
	cExpMax
	cF127
	cInf
	cNegInf
)

// The lanes of the packed rows.
const (
	lSqrt2, lErfP0, lErfQ0, lInvSqrt2Pi = 0, 1, 2, 3
	lMHalf, lLog2e, lExpC1, lExpC2      = 0, 1, 2, 3
)

// gen collects the assembly text and, for -check, every WORD it emitted.
type gen struct {
	w     bytes.Buffer
	words []word
}

// word is one encoded instruction and its GNU text.
type word struct {
	enc  uint32
	text string
}

// p writes one line of assembly.
func (g *gen) p(format string, args ...any) { fmt.Fprintf(&g.w, "\t"+format+"\n", args...) }

// label writes a branch target.
func (g *gen) label(l string) { fmt.Fprintf(&g.w, "%s:\n", l) }

// emit writes one encoded instruction as a WORD with its GNU form as the comment.
func (g *gen) emit(enc uint32, format string, args ...any) {
	text := fmt.Sprintf(format, args...)
	g.words = append(g.words, word{enc, text})
	g.p("WORD $0x%08x // %s", enc, text)
}

// Advanced SIMD three registers of the same type: op | Rm<<16 | Rn<<5 | Rd.
var three = map[string]uint32{
	"fadd.4s": 0x4e20d400, "fadd.2d": 0x4e60d400,
	"fsub.4s": 0x4ea0d400, "fsub.2d": 0x4ee0d400,
	"fmul.4s": 0x6e20dc00, "fmul.2d": 0x6e60dc00,
	"fdiv.4s": 0x6e20fc00, "fdiv.2d": 0x6e60fc00,
	"fmax.4s": 0x4e20f400, "fmin.4s": 0x4ea0f400,
	"fcmgt.4s": 0x6ea0e400, "fcmeq.4s": 0x4e20e400,
	"add.4s":  0x4ea08400,
	"zip1.4s": 0x4e803800, "zip2.4s": 0x4e807800,
	"and.16b": 0x4e201c00, "bic.16b": 0x4e601c00, "orr.16b": 0x4ea01c00,
	"bit.16b": 0x6ea01c00, "bif.16b": 0x6ee01c00,
}

// op3 emits "op Vd.T, Vn.T, Vm.T" for op of the form "fadd.4s".
func (g *gen) op3(op string, d, n, m int) {
	enc, ok := three[op]
	if !ok {
		panic(op)
	}
	name, t, _ := strings.Cut(op, ".")
	g.emit(enc|uint32(m)<<16|uint32(n)<<5|uint32(d), "%s v%d.%s, v%d.%s, v%d.%s", name, d, t, n, t, m, t)
}

// Advanced SIMD two-register forms: op | Rn<<5 | Rd, with the GNU operand types.
var two = map[string]struct {
	enc    uint32
	td, tn string
}{
	"fabs":   {0x4ea0f800, "4s", "4s"},
	"fsqrt":  {0x6ee1f800, "2d", "2d"},
	"fcvtzs": {0x4ea1b800, "4s", "4s"},
	"scvtf":  {0x4e21d800, "4s", "4s"},
	"frintm": {0x4e219800, "4s", "4s"},
	"fcvtl":  {0x0e617800, "2d", "2s"},
	"fcvtl2": {0x4e617800, "2d", "4s"},
	"fcvtn":  {0x0e616800, "2s", "2d"},
	"fcvtn2": {0x4e616800, "4s", "2d"},
}

// op2 emits "op Vd.T, Vn.T'".
func (g *gen) op2(op string, d, n int) {
	f, ok := two[op]
	if !ok {
		panic(op)
	}
	g.emit(f.enc|uint32(n)<<5|uint32(d), "%s v%d.%s, v%d.%s", op, d, f.td, n, f.tn)
}

// fcmeq0 emits FCMEQ Vd.4S, Vn.4S, #0.0 (all ones where Vn is ±0).
func (g *gen) fcmeq0(d, n int) {
	g.emit(0x4ea0d800|uint32(n)<<5|uint32(d), "fcmeq v%d.4s, v%d.4s, #0.0", d, n)
}

// fmaxv emits FMAXV Sd, Vn.4S (the largest lane; NaN if a lane is NaN).
func (g *gen) fmaxv(d, n int) {
	g.emit(0x6e30f800|uint32(n)<<5|uint32(d), "fmaxv s%d, v%d.4s", d, n)
}

// shl emits SHL Vd.4S, Vn.4S, #sh (immh:immb = 32 + sh).
func (g *gen) shl(d, n, sh int) {
	g.emit(0x4f005400|uint32(32+sh)<<16|uint32(n)<<5|uint32(d), "shl v%d.4s, v%d.4s, #%d", d, n, sh)
}

// fmulElem emits FMUL Vd.4S, Vn.4S, Vm.S[idx] (by element: index H:L, Rm < 16).
func (g *gen) fmulElem(d, n, m, idx int) {
	if m >= 16 {
		panic("fmul by element takes V0–V15")
	}
	g.emit(0x4f809000|uint32(idx&1)<<21|uint32(m)<<16|uint32(idx>>1)<<11|uint32(n)<<5|uint32(d),
		"fmul v%d.4s, v%d.4s, v%d.s[%d]", d, n, m, idx)
}

// consts loads rows first, first+1, … of neonConsts into regs[0], regs[1], …: one
// VLD1 for each run of up to 4 consecutive registers, R9 as scratch.
func (g *gen) consts(first int, regs ...int) {
	g.p("MOVD $·neonConsts+%d(SB), R9", 16*first)
	for len(regs) > 0 {
		k := min(4, len(regs))
		for i := 1; i < k; i++ {
			if regs[i] != regs[0]+i {
				k = i
				break
			}
		}
		var l []string
		for _, r := range regs[:k] {
			l = append(l, fmt.Sprintf("V%d.S4", r))
		}
		g.p("VLD1.P %d(R9), [%s]", 16*k, strings.Join(l, ", "))
		regs = regs[k:]
	}
}

// text starts the function name with its Go signature as a comment.
func (g *gen) text(sig, name, frame string) {
	fmt.Fprintf(&g.w, "// func %s\nTEXT ·%s(SB), NOSPLIT, %s\n", sig, name, frame)
}

// add: dst = a + b, 16 elements a step then 4.
func (g *gen) add() {
	g.text("addNEON(dst, a, b *float32, n int)", "addNEON", "$0-32")
	g.p("MOVD dst+0(FP), R0")
	g.p("MOVD a+8(FP), R1")
	g.p("MOVD b+16(FP), R2")
	g.p("MOVD n+24(FP), R3")
	g.p("LSR $4, R3, R4")
	g.p("AND $15, R3, R3")
	g.p("LSR $2, R3, R3")
	g.p("CBZ R4, tail")
	g.label("loop16")
	g.p("VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]")
	g.p("VLD1.P 64(R2), [V4.S4, V5.S4, V6.S4, V7.S4]")
	for i := range 4 {
		g.op3("fadd.4s", i, i, 4+i)
	}
	g.p("VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)")
	g.p("SUBS $1, R4, R4")
	g.p("BNE loop16")
	g.label("tail")
	g.p("CBZ R3, done")
	g.label("loop4")
	g.p("VLD1.P 16(R1), [V0.S4]")
	g.p("VLD1.P 16(R2), [V4.S4]")
	g.op3("fadd.4s", 0, 0, 4)
	g.p("VST1.P [V0.S4], 16(R0)")
	g.p("SUBS $1, R3, R3")
	g.p("BNE loop4")
	g.label("done")
	g.p("RET")
	g.w.WriteString("\n")
}

// scale: x = float32(float64(x)·s).
func (g *gen) scale() {
	g.text("scaleNEON(x *float32, n int, s float64)", "scaleNEON", "$0-24")
	g.p("MOVD x+0(FP), R0")
	g.p("MOVD n+8(FP), R3")
	g.p("FMOVD s+16(FP), F7")
	g.p("VDUP V7.D[0], V7.D2")
	g.p("LSR $2, R3, R3")
	g.label("loop")
	g.p("VLD1 (R0), [V0.S4]")
	g.op2("fcvtl", 1, 0) // lanes 0–1 in float64
	g.op2("fcvtl2", 2, 0)
	g.op3("fmul.2d", 1, 1, 7)
	g.op3("fmul.2d", 2, 2, 7)
	g.op2("fcvtn", 0, 1) // rounded once to float32
	g.op2("fcvtn2", 0, 2)
	g.p("VST1.P [V0.S4], 16(R0)")
	g.p("SUBS $1, R3, R3")
	g.p("BNE loop")
	g.p("RET")
	g.w.WriteString("\n")
}

// max: m = x > m ? x : m lane by lane (a NaN x never taken), then the largest lane
// (FMAXV: no lane of m is NaN).
func (g *gen) max() {
	g.text("maxNEON(x *float32, n int) float32", "maxNEON", "$0-20")
	g.p("MOVD x+0(FP), R0")
	g.p("MOVD n+8(FP), R3")
	g.p("LSR $2, R3, R3")
	g.consts(cNegInf, 0)
	g.label("loop")
	g.p("VLD1.P 16(R0), [V2.S4]")
	g.op3("fcmgt.4s", 3, 2, 0) // x > m (false for NaN)
	g.op3("bit.16b", 0, 2, 3)  // m = x there
	g.p("SUBS $1, R3, R3")
	g.p("BNE loop")
	g.fmaxv(0, 0)
	g.p("FMOVS F0, ret+16(FP)")
	g.p("RET")
	g.w.WriteString("\n")
}

// expRegs names the registers of exp: pack holds cPack2 (V0–V15), the others one
// constant each.
type expRegs struct {
	pack, half, one, e0, f127, i127, expMin, expMax, inf int
	e                                                    [5]int // E1…E5
}

// exp sets V3 = Exp32(V0) lane by lane, V1, V2, V4 and V5 scratch: n = floor(x·log2 e
// + 0.5), r = x − n·C1 + n·C2, the polynomial, the step for n > 127, 2^n from the
// bits (int32(n) + 127) << 23, then 0 below expMin, +Inf above expMax and x for NaN.
func (g *gen) exp(k expRegs) {
	g.fmulElem(1, 0, k.pack, lLog2e) // x·log2 e
	g.op3("fadd.4s", 1, 1, k.half)   // t = … + 0.5
	g.op2("frintm", 1, 1)            // n = floor(t)
	g.fmulElem(2, 1, k.pack, lExpC1) // n·C1
	g.op3("fsub.4s", 2, 0, 2)        // x − n·C1
	g.fmulElem(3, 1, k.pack, lExpC2) // n·C2
	g.op3("fadd.4s", 2, 2, 3)        // r
	g.op3("fmul.4s", 3, k.e0, 2)     // p = E0·r + E1
	g.op3("fadd.4s", 3, 3, k.e[0])
	for _, e := range k.e[1:] { // p = p·r + E2 … E5
		g.op3("fmul.4s", 3, 3, 2)
		g.op3("fadd.4s", 3, 3, e)
	}
	g.op3("fmul.4s", 3, 3, 2)         // p·r
	g.op3("fmul.4s", 3, 3, 2)         // ·r
	g.op3("fadd.4s", 3, 3, 2)         // + r
	g.op3("fadd.4s", 3, 3, k.one)     // y = … + 1
	g.op3("fcmgt.4s", 4, 1, k.f127)   // n > 127:
	g.op3("fadd.4s", 5, 3, 3)         //   y·2
	g.op3("bit.16b", 3, 5, 4)         //   y = y·2 there
	g.op3("and.16b", 5, 4, k.one)     //   1 there, 0 elsewhere
	g.op3("fsub.4s", 1, 1, 5)         //   n − 1 there
	g.op2("fcvtzs", 1, 1)             // int32(n)
	g.op3("add.4s", 1, 1, k.i127)     // + 127
	g.shl(1, 1, 23)                   // 2^n
	g.op3("fmul.4s", 3, 3, 1)         // y·2^n
	g.op3("fcmgt.4s", 4, k.expMin, 0) // x < expMin: 0
	g.op3("bic.16b", 3, 3, 4)
	g.op3("fcmgt.4s", 4, 0, k.expMax) // x > expMax: +Inf
	g.op3("bit.16b", 3, k.inf, 4)
	g.op3("fcmeq.4s", 4, 0, 0) // x is NaN: x
	g.op3("bif.16b", 3, 0, 4)
}

// expShift: dst = Exp32(src − shift).
func (g *gen) expShift() {
	g.text("expShiftNEON(dst, src *float32, n int, shift float32)", "expShiftNEON", "$0-28")
	g.p("MOVD dst+0(FP), R0")
	g.p("MOVD src+8(FP), R1")
	g.p("MOVD n+16(FP), R3")
	g.p("FMOVS shift+24(FP), F29")
	g.p("VDUP V29.S[0], V29.S4")
	g.p("LSR $2, R3, R3")
	k := expRegs{pack: 15, half: 16, one: 17, e0: 18, e: [5]int{19, 20, 21, 22, 23},
		f127: 24, i127: 25, expMin: 26, expMax: 27, inf: 28}
	g.consts(cOne, 17, 16)
	g.consts(cPack2, 15)
	g.consts(cExpMin, 26, 25, 19, 20, 21, 22, 23, 18, 27, 24, 28)
	g.label("loop")
	g.p("VLD1.P 16(R1), [V0.S4]")
	g.op3("fsub.4s", 0, 0, 29) // x = src − shift
	g.exp(k)
	g.p("VST1.P [V3.S4], 16(R0)")
	g.p("SUBS $1, R3, R3")
	g.p("BNE loop")
	g.p("RET")
	g.w.WriteString("\n")
}

// softmaxGrad: dx = p·(g − d), exactly 0 where p is ±0.
func (g *gen) softmaxGrad() {
	g.text("softmaxGradNEON(dx, p, grad *float32, n int, d float32)", "softmaxGradNEON", "$0-36")
	g.p("MOVD dx+0(FP), R0")
	g.p("MOVD p+8(FP), R1")
	g.p("MOVD grad+16(FP), R2")
	g.p("MOVD n+24(FP), R3")
	g.p("FMOVS d+32(FP), F31")
	g.p("VDUP V31.S[0], V31.S4")
	g.p("LSR $2, R3, R3")
	g.label("loop")
	g.p("VLD1.P 16(R1), [V0.S4]")
	g.p("VLD1.P 16(R2), [V1.S4]")
	g.op3("fsub.4s", 1, 1, 31) // g − d
	g.op3("fmul.4s", 1, 0, 1)  // p·(g − d)
	g.fcmeq0(2, 0)             // p == 0
	g.op3("bic.16b", 1, 1, 2)  // +0 there
	g.p("VST1.P [V1.S4], 16(R0)")
	g.p("SUBS $1, R3, R3")
	g.p("BNE loop")
	g.p("RET")
	g.w.WriteString("\n")
}

// adamw: AdamWF32 on 4 elements a step, in two halves of 2 float64 lanes; V24–V31
// hold the constants (decay, w, 1−w, β2, 1−β2, bc2Sqrt, eps, stepSize), V23 zeros.
func (g *gen) adamw() {
	g.text("adamwNEON(p, grad, m, v *float32, n int, c *adamwConsts, lerp bool)", "adamwNEON", "$0-49")
	g.p("MOVD p+0(FP), R0")
	g.p("MOVD grad+8(FP), R1")
	g.p("MOVD m+16(FP), R2")
	g.p("MOVD v+24(FP), R3")
	g.p("MOVD n+32(FP), R4")
	g.p("MOVD c+40(FP), R5")
	g.p("MOVBU lerp+48(FP), R6")
	g.p("LSR $2, R4, R4")
	for i := range 8 {
		g.p("FMOVD %d(R5), F%d", 8*i, 24+i)
		g.p("VDUP V%d.D[0], V%d.D2", 24+i, 24+i)
	}
	g.p("VEOR V23.B16, V23.B16, V23.B16")
	g.p("CBZ R6, flip")
	for _, lerp := range []bool{true, false} {
		l := "lerp"
		if !lerp {
			l = "flip"
			g.label(l)
		}
		g.label(l + "_loop")
		g.p("VLD1 (R1), [V0.S4]") // g
		g.p("VLD1 (R0), [V1.S4]") // p
		g.p("VLD1 (R2), [V2.S4]") // m
		g.p("VLD1 (R3), [V3.S4]") // v
		for h, b := range []int{4, 12} {
			cvt := "fcvtl"
			if h == 1 {
				cvt = "fcvtl2"
			}
			gi, pi, mi, t, vi, s := b, b+1, b+2, b+3, b+4, b+5
			g.op2(cvt, gi, 0)
			g.op2(cvt, pi, 1)
			g.op3("fmul.2d", pi, pi, 24) // p·decay
			g.op2(cvt, mi, 2)
			g.op3("fsub.2d", t, gi, mi) // g − m
			if lerp {
				g.op3("fmul.2d", t, 25, t)  // w·(g − m)
				g.op3("fadd.2d", mi, mi, t) // m + w·(g − m)
			} else {
				g.op3("fmul.2d", t, t, 26)  // (g − m)·(1 − w)
				g.op3("fsub.2d", mi, gi, t) // g − (g − m)·(1 − w)
			}
			g.op2(cvt, vi, 3)
			g.op3("fmul.2d", vi, vi, 27) // v·β2
			g.op3("fmul.2d", t, gi, gi)  // g·g
			g.op3("fmul.2d", t, 28, t)   // (1 − β2)·g²
			g.op3("fadd.2d", vi, vi, t)  // v
			g.op2("fsqrt", s, vi)
			g.op3("fdiv.2d", s, s, 29)  // √v / bc2Sqrt
			g.op3("fadd.2d", s, s, 30)  // + eps
			g.op3("fdiv.2d", t, mi, s)  // m / denom
			g.op3("fmul.2d", t, 31, t)  // stepSize·(m / denom)
			g.op3("fsub.2d", pi, pi, t) // p
		}
		g.op2("fcvtn", 1, 5)
		g.op2("fcvtn2", 1, 13)
		g.op2("fcvtn", 2, 6)
		g.op2("fcvtn2", 2, 14)
		g.op2("fcvtn", 3, 8)
		g.op2("fcvtn2", 3, 16)
		g.p("VST1.P [V1.S4], 16(R0)")
		g.p("VST1.P [V2.S4], 16(R2)")
		g.p("VST1.P [V3.S4], 16(R3)")
		g.p("VST1.P [V23.S4], 16(R1)") // g = 0
		g.p("SUBS $1, R4, R4")
		g.p("BNE %s_loop", l)
		g.p("RET")
	}
	g.w.WriteString("\n")
}

// erfRegs names the registers of erf: pack holds cPack1 (V0–V15), the others one
// constant each.
type erfRegs struct {
	pack, m4, p4 int
	p            [6]int // P1…P6
	q            [4]int // Q1…Q4
}

// erf sets X = Erf32(X) lane by lane, X2, P and Q scratch: the clamp to [−4, 4]
// (FMAX/FMIN give NaN for NaN, as Go's max and min do), p(x²) and q(x²) by Horner's
// rule, x·p / q.
func (g *gen) erf(k erfRegs, x, x2, p, q int) {
	g.op3("fmax.4s", x, x, k.m4) // x = max(x, −4)
	g.op3("fmin.4s", x, x, k.p4) // x = min(x, 4)
	g.op3("fmul.4s", x2, x, x)   // x2 = x·x
	g.fmulElem(p, x2, k.pack, lErfP0)
	g.op3("fadd.4s", p, p, k.p[0]) // p = x2·P0 + P1
	for _, c := range k.p[1:] {    // p = x2·p + P2 … P6
		g.op3("fmul.4s", p, x2, p)
		g.op3("fadd.4s", p, p, c)
	}
	g.fmulElem(q, x2, k.pack, lErfQ0)
	g.op3("fadd.4s", q, q, k.q[0]) // q = x2·Q0 + Q1
	for _, c := range k.q[1:] {    // q = x2·q + Q2 … Q4
		g.op3("fmul.4s", q, x2, q)
		g.op3("fadd.4s", q, q, c)
	}
	g.op3("fmul.4s", x, x, p) // x·p
	g.op3("fdiv.4s", x, x, q) // x·p / q
}

// geluConsts loads the constants of erf and 1 and 0.5: V16 1, V17 0.5, V18 −4, V19 4,
// V20–V25 P1…P6, V26–V29 Q1…Q4, V15 cPack1.
func (g *gen) geluConsts() erfRegs {
	g.consts(cOne, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 15)
	return erfRegs{pack: 15, m4: 18, p4: 19, p: [6]int{20, 21, 22, 23, 24, 25}, q: [4]int{26, 27, 28, 29}}
}

const one, half = 16, 17 // geluConsts' registers of 1 and 0.5

// gelu: dst = v·0.5·(1 + erf(v·√2/2)).
func (g *gen) gelu() {
	g.text("geluNEON(dst, src *float32, n int)", "geluNEON", "$0-24")
	g.p("MOVD dst+0(FP), R0")
	g.p("MOVD src+8(FP), R1")
	g.p("MOVD n+16(FP), R3")
	g.p("LSR $2, R3, R3")
	k := g.geluConsts()
	g.label("loop")
	g.p("VLD1.P 16(R1), [V0.S4]")    // v
	g.fmulElem(1, 0, k.pack, lSqrt2) // u = v·√2
	g.op3("fmul.4s", 1, 1, half)     // u = u/2
	g.erf(k, 1, 2, 3, 4)             // e = erf(u)
	g.op3("fadd.4s", 1, 1, one)      // 1 + e
	g.op3("fmul.4s", 0, 0, half)     // v·0.5
	g.op3("fmul.4s", 0, 0, 1)        // v·0.5·(1 + e)
	g.p("VST1.P [V0.S4], 16(R0)")
	g.p("SUBS $1, R3, R3")
	g.p("BNE loop")
	g.p("RET")
	g.w.WriteString("\n")
}

// geluGrad: dx = dy·(cdf + v·ExpNegHalfSq32(v)·(1/√(2π))), cdf = y/v where |v| > 0.25,
// else 0.5·(1 + erf(v·√2/2)). Besides geluConsts: V14 cPack2, V30 0.25, V31 expMin,
// V8 the integer 127, V9–V13 E1…E5, V7 E0; V0–V6 work.
func (g *gen) geluGrad() {
	g.text("geluGradNEON(dx, x, y, dy *float32, n int)", "geluGradNEON", "$0-40")
	g.p("MOVD dx+0(FP), R0")
	g.p("MOVD x+8(FP), R1")
	g.p("MOVD y+16(FP), R2")
	g.p("MOVD dy+24(FP), R4")
	g.p("MOVD n+32(FP), R3")
	g.p("LSR $2, R3, R3")
	k := g.geluConsts()
	g.consts(cPack2, 14, 30, 31)
	g.consts(cI127, 8, 9, 10, 11, 12, 13, 7)
	const pack2, quarter, expMin, i127, e0 = 14, 30, 31, 8, 7
	g.label("loop")
	g.p("VLD1.P 16(R1), [V0.S4]") // v
	// cdf from erf: 0.5·(1 + erf(v·√2/2))
	g.fmulElem(1, 0, k.pack, lSqrt2)
	g.op3("fmul.4s", 1, 1, half)
	g.erf(k, 1, 2, 3, 4)
	g.op3("fadd.4s", 1, 1, one)
	g.op3("fmul.4s", 1, 1, half)
	// cdf from the forward output, y/v, where |v| > 0.25 (false for NaN, as in Go)
	g.p("VLD1.P 16(R2), [V2.S4]")
	g.op3("fdiv.4s", 2, 2, 0)
	g.op2("fabs", 3, 0)
	g.op3("fcmgt.4s", 3, 3, quarter)
	g.op3("bit.16b", 1, 2, 3)
	// e = ExpNegHalfSq32(v)
	g.fmulElem(2, 0, pack2, lMHalf) // −0.5·v
	g.op3("fmul.4s", 2, 2, 0)       // x = −0.5·v·v
	g.fmulElem(3, 2, pack2, lLog2e) // x·log2 e
	g.op3("fsub.4s", 3, 3, half)    // t = … − 0.5
	g.op2("fcvtzs", 4, 3)           // int32(t)
	g.op2("scvtf", 4, 4)            // n = float32(int32(t))
	g.op3("fcmgt.4s", 5, 4, 3)      // n > t:
	g.op3("and.16b", 5, 5, one)     //   1 there, 0 elsewhere
	g.op3("fsub.4s", 4, 4, 5)       //   n−−
	g.op3("fadd.4s", 4, 4, one)     // n++
	g.fmulElem(5, 4, pack2, lExpC1) // n·C1
	g.op3("fsub.4s", 5, 2, 5)       // x − n·C1
	g.fmulElem(6, 4, pack2, lExpC2) // n·C2
	g.op3("fadd.4s", 5, 5, 6)       // r
	g.op3("fcmgt.4s", 3, expMin, 2) // x < expMin (for later)
	g.op3("fmul.4s", 6, e0, 5)      // p = E0·r + E1
	g.op3("fadd.4s", 6, 6, 9)
	for e := 10; e <= 13; e++ { // p = p·r + E2 … E5
		g.op3("fmul.4s", 6, 6, 5)
		g.op3("fadd.4s", 6, 6, e)
	}
	g.op3("fmul.4s", 6, 6, 5)   // p·r
	g.op3("fmul.4s", 6, 6, 5)   // ·r
	g.op3("fadd.4s", 6, 6, 5)   // + r
	g.op3("fadd.4s", 6, 6, one) // + 1
	g.op2("fcvtzs", 4, 4)       // int32(n)
	g.op3("add.4s", 4, 4, i127) // + 127
	g.shl(4, 4, 23)             // 2^n
	g.op3("fmul.4s", 6, 6, 4)   // e = poly·2^n
	g.op3("bic.16b", 6, 6, 3)   // 0 where x < expMin
	// dx = dy·(cdf + v·e·(1/√(2π)))
	g.op3("fmul.4s", 6, 0, 6)
	g.fmulElem(6, 6, k.pack, lInvSqrt2Pi)
	g.op3("fadd.4s", 1, 1, 6)
	g.p("VLD1.P 16(R4), [V2.S4]")
	g.op3("fmul.4s", 1, 2, 1)
	g.p("VST1.P [V1.S4], 16(R0)")
	g.p("SUBS $1, R3, R3")
	g.p("BNE loop")
	g.p("RET")
	g.w.WriteString("\n")
}

// The LayerNorm row passes, 4 elements a step in two halves of 2 float64 lanes.

// cvt is the conversion of half h (0: lanes 0–1, 1: lanes 2–3) of a float32 vector.
func cvt(h int) string { return [2]string{"fcvtl", "fcvtl2"}[h] }

// layerNormRow: y = float32(((x − mean)·rstd)·g [+ b]); bias may be nil.
func (g *gen) layerNormRow() {
	g.text("layerNormRowNEON(y, x, gain, bias *float32, n int, mean, rstd float64)", "layerNormRowNEON", "$0-56")
	g.p("MOVD y+0(FP), R0")
	g.p("MOVD x+8(FP), R1")
	g.p("MOVD gain+16(FP), R2")
	g.p("MOVD bias+24(FP), R5")
	g.p("MOVD n+32(FP), R3")
	g.p("FMOVD mean+40(FP), F30")
	g.p("VDUP V30.D[0], V30.D2")
	g.p("FMOVD rstd+48(FP), F31")
	g.p("VDUP V31.D[0], V31.D2")
	g.p("LSR $2, R3, R3")
	g.p("CBZ R5, nobias_loop")
	for _, bias := range []bool{true, false} {
		l := "bias_loop"
		if !bias {
			l = "nobias_loop"
		}
		g.label(l)
		g.p("VLD1.P 16(R1), [V0.S4]")
		g.p("VLD1.P 16(R2), [V1.S4]")
		if bias {
			g.p("VLD1.P 16(R5), [V2.S4]")
		}
		for h, b := range []int{3, 6} {
			x, gn, bi := b, b+1, b+2
			g.op2(cvt(h), x, 0)
			g.op3("fsub.2d", x, x, 30) // x − mean
			g.op3("fmul.2d", x, x, 31) // ·rstd
			g.op2(cvt(h), gn, 1)
			g.op3("fmul.2d", x, x, gn) // ·g
			if bias {
				g.op2(cvt(h), bi, 2)
				g.op3("fadd.2d", x, x, bi) // + b
			}
		}
		g.op2("fcvtn", 0, 3)
		g.op2("fcvtn2", 0, 6)
		g.p("VST1.P [V0.S4], 16(R0)")
		g.p("SUBS $1, R3, R3")
		g.p("BNE %s", l)
		g.p("RET")
	}
	g.w.WriteString("\n")
}

// layerNormGradRow: dx = float32(rstd·(dy·g − m1 − x̂·m2)), x̂ = (x − mean)·rstd.
func (g *gen) layerNormGradRow() {
	g.text("layerNormGradRowNEON(dx, x, gain, dy *float32, n int, mean, rstd, m1, m2 float64)", "layerNormGradRowNEON", "$0-72")
	g.p("MOVD dx+0(FP), R0")
	g.p("MOVD x+8(FP), R1")
	g.p("MOVD gain+16(FP), R2")
	g.p("MOVD dy+24(FP), R4")
	g.p("MOVD n+32(FP), R3")
	for i, a := range []string{"mean", "rstd", "m1", "m2"} {
		g.p("FMOVD %s+%d(FP), F%d", a, 40+8*i, 28+i)
		g.p("VDUP V%d.D[0], V%d.D2", 28+i, 28+i)
	}
	const mean, rstd, m1, m2 = 28, 29, 30, 31
	g.p("LSR $2, R3, R3")
	g.label("loop")
	g.p("VLD1.P 16(R1), [V0.S4]")
	g.p("VLD1.P 16(R2), [V1.S4]")
	g.p("VLD1.P 16(R4), [V2.S4]")
	for h, b := range []int{3, 6} {
		x, gn, d := b, b+1, b+2
		g.op2(cvt(h), x, 0)
		g.op3("fsub.2d", x, x, mean) // x − mean
		g.op3("fmul.2d", x, x, rstd) // x̂ = (x − mean)·rstd
		g.op3("fmul.2d", x, x, m2)   // x̂·m2
		g.op2(cvt(h), d, 2)
		g.op2(cvt(h), gn, 1)
		g.op3("fmul.2d", d, d, gn)   // dŷ = dy·g
		g.op3("fsub.2d", d, d, m1)   // dŷ − m1
		g.op3("fsub.2d", d, d, x)    // − x̂·m2
		g.op3("fmul.2d", d, rstd, d) // rstd·(…)
	}
	g.op2("fcvtn", 0, 5)
	g.op2("fcvtn2", 0, 8)
	g.p("VST1.P [V0.S4], 16(R0)")
	g.p("SUBS $1, R3, R3")
	g.p("BNE loop")
	g.p("RET")
	g.w.WriteString("\n")
}

// gainAcc: acc += (dy·(x − mean))·rstd, acc in float64.
func (g *gen) gainAcc() {
	g.text("gainAccNEON(acc *float64, x, dy *float32, n int, mean, rstd float64)", "gainAccNEON", "$0-48")
	g.p("MOVD acc+0(FP), R0")
	g.p("MOVD x+8(FP), R1")
	g.p("MOVD dy+16(FP), R2")
	g.p("MOVD n+24(FP), R3")
	g.p("FMOVD mean+32(FP), F30")
	g.p("VDUP V30.D[0], V30.D2")
	g.p("FMOVD rstd+40(FP), F31")
	g.p("VDUP V31.D[0], V31.D2")
	g.p("LSR $2, R3, R3")
	g.label("loop")
	g.p("VLD1.P 16(R1), [V0.S4]")
	g.p("VLD1.P 16(R2), [V1.S4]")
	g.p("VLD1 (R0), [V2.D2, V3.D2]")
	for h, b := range []int{4, 6} {
		x, d := b, b+1
		g.op2(cvt(h), x, 0)
		g.op3("fsub.2d", x, x, 30) // x − mean
		g.op2(cvt(h), d, 1)
		g.op3("fmul.2d", d, d, x)     // dy·(x − mean)
		g.op3("fmul.2d", d, d, 31)    // ·rstd
		g.op3("fadd.2d", 2+h, 2+h, d) // acc + …
	}
	g.p("VST1.P [V2.D2, V3.D2], 32(R0)")
	g.p("SUBS $1, R3, R3")
	g.p("BNE loop")
	g.p("RET")
	g.w.WriteString("\n")
}

// columns loads 4 columns of the rows at pointers ra and rb (advancing them) and
// leaves column j of the two rows in Vout+j (row ra in lane 0), V0–V3 scratch.
func (g *gen) columns(ra, rb, out int) {
	g.p("VLD1.P 16(R%d), [V0.S4]", ra)
	g.p("VLD1.P 16(R%d), [V1.S4]", rb)
	g.op3("zip1.4s", 2, 0, 1) // a0 b0 a1 b1
	g.op3("zip2.4s", 3, 0, 1) // a2 b2 a3 b3
	g.op2("fcvtl", out, 2)
	g.op2("fcvtl2", out+1, 2)
	g.op2("fcvtl", out+2, 3)
	g.op2("fcvtl2", out+3, 3)
}

// rowPointers sets R(first+i) to row i of the 8 rows from R(base), R(stride) the
// length of a row in bytes.
func (g *gen) rowPointers(base, first, stride int) {
	g.p("MOVD R%d, R%d", base, first)
	for i := 1; i < 8; i++ {
		g.p("ADD R%d, R%d, R%d", stride, first+i-1, first+i)
	}
}

// rowStats8: mean[i] = Σ_j x[i][j] / c, then vr[i] = Σ_j (x[i][j] − mean[i])², each
// sum in column order, for 8 rows: rows 2k and 2k+1 in the lanes of V16+k (sums) and
// V24+k (means).
func (g *gen) rowStats8() {
	g.text("rowStats8NEON(x *float32, c int, mean, vr *[8]float64)", "rowStats8NEON", "$0-32")
	g.p("MOVD x+0(FP), R10")
	g.p("MOVD c+8(FP), R8")
	g.p("MOVD mean+16(FP), R11")
	g.p("MOVD vr+24(FP), R12")
	g.p("LSL $2, R8, R9") // a row in bytes
	g.p("SCVTFD R8, F20")
	g.p("VDUP V20.D[0], V20.D2") // float64(c)
	for pass := range 2 {
		g.rowPointers(10, 0, 9)
		g.p("LSR $2, R8, R13") // steps of 4 columns
		for k := range 4 {
			g.p("VEOR V%d.B16, V%d.B16, V%d.B16", 16+k, 16+k, 16+k)
		}
		l := [2]string{"sum", "sq"}[pass]
		g.label(l)
		for k := range 4 {
			g.columns(2*k, 2*k+1, 4)
			for j := 4; j < 8; j++ {
				if pass == 1 {
					g.op3("fsub.2d", j, j, 24+k) // x − mean
					g.op3("fmul.2d", j, j, j)    // (x − mean)²
				}
			}
			for j := 4; j < 8; j++ {
				g.op3("fadd.2d", 16+k, 16+k, j)
			}
		}
		g.p("SUBS $1, R13, R13")
		g.p("BNE %s", l)
		if pass == 0 {
			for k := range 4 {
				g.op3("fdiv.2d", 24+k, 16+k, 20)
			}
			g.p("VST1 [V24.D2, V25.D2, V26.D2, V27.D2], (R11)")
		}
	}
	g.p("VST1 [V16.D2, V17.D2, V18.D2, V19.D2], (R12)")
	g.p("RET")
	g.w.WriteString("\n")
}

// gradMeans8: m1[i] = Σ_j dy·g and m2[i] = Σ_j ((dy·g)·(x − mean[i]))·rstd[i] over
// row i's columns in order, for 8 rows: x rows from R0–R7, dy rows from R8–R15, rows
// 2k and 2k+1 in the lanes of V12+k (mean), V16+k (rstd), V20+k (m1) and V24+k (m2);
// V28–V31 are g[j]…g[j+3] in both lanes.
func (g *gen) gradMeans8() {
	g.text("gradMeans8NEON(x, dy, gain *float32, c int, mean, rstd, m1, m2 *[8]float64)", "gradMeans8NEON", "$0-64")
	g.p("MOVD x+0(FP), R20")
	g.p("MOVD dy+8(FP), R21")
	g.p("MOVD gain+16(FP), R19")
	g.p("MOVD c+24(FP), R24")
	g.p("MOVD mean+32(FP), R22")
	g.p("MOVD rstd+40(FP), R23")
	g.p("VLD1 (R22), [V12.D2, V13.D2, V14.D2, V15.D2]")
	g.p("VLD1 (R23), [V16.D2, V17.D2, V18.D2, V19.D2]")
	g.p("LSL $2, R24, R25") // a row in bytes
	g.p("LSR $2, R24, R22") // steps of 4 columns
	g.rowPointers(20, 0, 25)
	g.rowPointers(21, 8, 25)
	for k := range 8 {
		g.p("VEOR V%d.B16, V%d.B16, V%d.B16", 20+k, 20+k, 20+k)
	}
	g.label("loop")
	g.p("VLD1.P 16(R19), [V0.S4]")
	g.op2("fcvtl", 1, 0)
	g.op2("fcvtl2", 2, 0)
	for j := range 4 {
		g.p("VDUP V%d.D[%d], V%d.D2", 1+j/2, j%2, 28+j)
	}
	for k := range 4 {
		g.columns(2*k, 2*k+1, 4)   // x
		g.columns(8+2*k, 9+2*k, 8) // dy
		for j := range 4 {
			x, d, gn := 4+j, 8+j, 28+j
			g.op3("fmul.2d", d, d, gn)      // dh = dy·g
			g.op3("fadd.2d", 20+k, 20+k, d) // m1 += dh
			g.op3("fsub.2d", x, x, 12+k)    // x − mean
			g.op3("fmul.2d", x, d, x)       // dh·(x − mean)
			g.op3("fmul.2d", x, x, 16+k)    // ·rstd
			g.op3("fadd.2d", 24+k, 24+k, x) // m2 += …
		}
	}
	g.p("SUBS $1, R22, R22")
	g.p("BNE loop")
	g.p("MOVD m1+48(FP), R22")
	g.p("MOVD m2+56(FP), R23")
	g.p("VST1 [V20.D2, V21.D2, V22.D2, V23.D2], (R22)")
	g.p("VST1 [V24.D2, V25.D2, V26.D2, V27.D2], (R23)")
	g.p("RET")
	g.w.WriteString("\n")
}

func main() {
	check := flag.Bool("check", false, "assemble the WORDs' comments with aarch64-linux-gnu-as and compare")
	flag.Parse()
	var g gen
	g.w.WriteString("// Code generated by gen_vec_arm64.go; DO NOT EDIT.\n\n//go:build arm64 && !purego\n\n#include \"textflag.h\"\n\n")
	g.add()
	g.scale()
	g.max()
	g.expShift()
	g.softmaxGrad()
	g.adamw()
	g.gelu()
	g.geluGrad()
	g.layerNormRow()
	g.layerNormGradRow()
	g.gainAcc()
	g.rowStats8()
	g.gradMeans8()
	if err := os.WriteFile("vec_arm64.s", g.w.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *check {
		if err := g.check(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// check assembles the GNU text of every WORD with aarch64-linux-gnu-as, disassembles
// it with aarch64-linux-gnu-objdump and compares the encodings one by one.
func (g *gen) check() error {
	dir, err := os.MkdirTemp("", "gen_vec_arm64")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var src bytes.Buffer
	for _, w := range g.words {
		src.WriteString(w.text + "\n")
	}
	s, o := filepath.Join(dir, "w.s"), filepath.Join(dir, "w.o")
	if err := os.WriteFile(s, src.Bytes(), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("aarch64-linux-gnu-as", "-o", o, s).CombinedOutput(); err != nil {
		return fmt.Errorf("aarch64-linux-gnu-as: %v\n%s", err, out)
	}
	out, err := exec.Command("aarch64-linux-gnu-objdump", "-d", o).Output()
	if err != nil {
		return fmt.Errorf("aarch64-linux-gnu-objdump: %v", err)
	}
	re := regexp.MustCompile(`(?m)^\s*[0-9a-f]+:\s+([0-9a-f]{8})\s`)
	var got []uint32
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseUint(m[1], 16, 32)
		got = append(got, uint32(v))
	}
	if len(got) != len(g.words) {
		return fmt.Errorf("objdump shows %d instructions; %d WORDs", len(got), len(g.words))
	}
	seen := map[string]bool{}
	for i, w := range g.words {
		if got[i] != w.enc {
			return fmt.Errorf("%s: GNU as gives %#08x; the encoder %#08x", w.text, got[i], w.enc)
		}
		seen[strings.Fields(w.text)[0]] = true
	}
	fmt.Printf("all %d WORDs (%d mnemonics) match aarch64-linux-gnu-as\n", len(g.words), len(seen))
	return nil
}
