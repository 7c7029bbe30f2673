//go:build ignore

// gen_vec writes vec_amd64.s: the AVX2 and AVX-512 forms of the kernels of
// vec_generic.go.
//
//	go run gen_vec.go   (or: go generate ./internal/vec/)
//
// Each kernel is described once, as the instructions for one vector of lanes (w32
// float32 or w64 float64 lanes of a target's registers), and the target decides the
// few things that differ between widths: the register names, how a comparison makes a
// mask (a vector of all-ones lanes, or a K register) and how a mask is used (blends
// and ands, or masked instructions), and whether the last partial vector is done with
// masked loads and stores. The instructions are those of the Go form, in its order,
// with a separate multiply and add where Go has x*y + z (never an FMA), so every form
// is bit-identical to the Go code.
//
// Go assembler operand order is the reverse of Intel's: "VSUBPS B, A, D" is D = A − B,
// "VCMPPS $imm, B, A, D" is D = (A op B), "VBLENDVPS M, A, B, D" is D = M ? A : B,
// "VBLENDMPS A, B, K, D" is D = K ? A : B, and "VMAXPS A, B, D" returns its first
// operand A in a lane where either is NaN — which is how Go's max(x, c) treats a NaN
// x, so the clamps put x first. Only the first operand (after an immediate; the second
// of VBLENDVPS) may be in memory.
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// target is an instruction set the kernels are written for.
type target struct {
	name string // the kernels' name suffix
	v    string // vector registers: "Y" or "Z"
	h    string // registers of half a vector: "X" or "Y"
	w32  int    // float32 lanes of a vector
	w64  int    // float64 lanes of a vector
	evex bool   // AVX-512: 32 registers, K masks, masked tails, broadcast operands
}

var (
	avx2   = target{name: "AVX2", v: "Y", h: "X", w32: 8, w64: 4}
	avx512 = target{name: "AVX512", v: "Z", h: "Y", w32: 16, w64: 8, evex: true}
)

// The constants of splat (vec_amd64.go), one row of 8 float32 each, in row order.
var constNames = []string{
	"HALF", "ONE", "SQRT2", "M4", "P4",
	"ERFP0", "ERFP1", "ERFP2", "ERFP3", "ERFP4", "ERFP5", "ERFP6",
	"ERFQ0", "ERFQ1", "ERFQ2", "ERFQ3", "ERFQ4",
	"ABS", "QUARTER", "MHALF", "LOG2E",
	"EXPC1", "EXPC2",
	"EXPE0", "EXPE1", "EXPE2", "EXPE3", "EXPE4", "EXPE5",
	"I127", "EXPMIN", "INVSQRT2PI",
	"F127", "EXPMAX", "INF", "NEGINF",
}

func isConst(s string) bool {
	for _, c := range constNames {
		if c == s {
			return true
		}
	}
	return false
}

// gen writes the kernels of one target.
type gen struct {
	target
	w     *bytes.Buffer
	kern  string            // the kernel being written, for its labels
	reg   map[string]string // constants held in registers
	tail  bool              // writing a masked last vector
	tailY string            // AVX2: the register holding the lanes' mask of a masked tail
}

func (g *gen) p(format string, args ...any) { fmt.Fprintf(g.w, "\t"+format+"\n", args...) }

func (g *gen) comment(s string) { fmt.Fprintf(g.w, "\t// %s\n", s) }

func (g *gen) label(l string) { fmt.Fprintf(g.w, "%s_%s:\n", g.kern, l) }

func (g *gen) lab(l string) string { return g.kern + "_" + l }

// r is vector register i; x is the register of its lower half.
func (g *gen) r(i int) string { return fmt.Sprintf("%s%d", g.v, i) }
func (g *gen) x(i int) string { return fmt.Sprintf("%s%d", g.h, i) }

// m is a mask: vector register y for AVX2, K register k for AVX-512.
func (g *gen) m(y, k int) string {
	if g.evex {
		return fmt.Sprintf("K%d", k)
	}
	return g.r(y)
}

// text starts kernel name (the target's suffix added) with its Go signature.
func (g *gen) text(name, sig, frame string) {
	g.kern = name + g.name
	g.reg = map[string]string{}
	fmt.Fprintf(g.w, "\n// func %s%s\nTEXT ·%s(SB), NOSPLIT, %s\n", g.kern, sig, g.kern, frame)
}

// preload holds constant c in vector register i for the rest of the kernel.
func (g *gen) preload(c string, i int) {
	if g.evex {
		g.p("VBROADCASTSS %s, %s", c, g.r(i))
	} else {
		g.p("VMOVUPS %s, %s", c, g.r(i))
	}
	g.reg[c] = g.r(i)
}

// preloadEVEX holds the first constants of cs in Z16… for an AVX-512 kernel (the
// others are broadcast operands); an AVX2 kernel reads them from memory.
func (g *gen) preloadEVEX(cs ...string) {
	if !g.evex {
		return
	}
	for i, c := range cs {
		if i == 16 {
			break
		}
		g.preload(c, 16+i)
	}
}

// op writes "mn a, rest…" where the first operand that is not an immediate may name a
// constant: a register holding it, else its row of splat (AVX2) or its first element
// broadcast (AVX-512). The other operands are registers (or constants held in them).
func (g *gen) op(mn, a string, rest ...string) {
	ops := append([]string{a}, rest...)
	first := 0
	if strings.HasPrefix(a, "$") {
		first = 1
	}
	for i, o := range ops {
		if !isConst(o) {
			continue
		}
		if r, ok := g.reg[o]; ok {
			ops[i] = r
		} else if i != first {
			panic(fmt.Sprintf("%s: constant %s in a register operand of %s is not preloaded", g.kern, o, mn))
		} else if g.evex {
			mn += ".BCST"
		}
	}
	g.p("%s %s", mn, strings.Join(ops, ", "))
}

// The logic of float32 lanes: AVX-512 has no VANDPS/VXORPS without DQ, so it uses the
// integer forms, which give the same bits.
func (g *gen) andps(a, b, d string) {
	if g.evex {
		g.op("VPANDD", a, b, d)
	} else {
		g.op("VANDPS", a, b, d)
	}
}

func (g *gen) zero(i int) {
	if g.evex {
		g.p("VPXORD %s, %s, %s", g.r(i), g.r(i), g.r(i))
	} else {
		g.p("VXORPS %s, %s, %s", g.r(i), g.r(i), g.r(i))
	}
}

// blend sets d = a where mask m is set.
func (g *gen) blend(m, a, d string) {
	if g.evex {
		g.op("VBLENDMPS", a, d, m, d)
	} else {
		if r, ok := g.reg[a]; ok {
			a = r
		}
		g.p("VBLENDVPS %s, %s, %s, %s", m, a, d, d) // a is the operand that may be in memory
	}
}

// zeroWhere sets d = 0 where mask m is set.
func (g *gen) zeroWhere(m, d string) {
	if g.evex {
		g.p("VPXORD %s, %s, %s, %s", d, d, m, d)
	} else {
		g.p("VANDNPS %s, %s, %s", d, m, d)
	}
}

// subWhere sets d = d − c where mask m is set (AVX2: d − 0 elsewhere, using s).
func (g *gen) subWhere(m, c, d, s string) {
	if g.evex {
		g.op("VSUBPS", c, d, m, d)
		return
	}
	g.op("VANDPS", c, m, s)
	g.p("VSUBPS %s, %s, %s", s, d, d)
}

// addWhere sets d = d + a where mask m is set (AVX2: d + 0 elsewhere, using s).
func (g *gen) addWhere(m, a, d, s string) {
	if g.evex {
		g.op("VADDPS", a, d, m, d)
		return
	}
	g.p("VANDPS %s, %s, %s", m, a, s)
	g.p("VADDPS %s, %s, %s", s, d, d)
}

// A pointer that a loop walks: its register and the size of its elements.
type ptr struct {
	reg  string
	size int
}

// loop is the element loop of a kernel over n elements (n in CX, n > 0; R11 and R12
// are scratch): steps of unroll vectors of lanes elements, then single vectors, then
// (AVX-512, or AVX2 if maskedTail, with the lanes' mask in register tailY) the last
// n mod lanes elements with masked loads and stores; without it n must be a multiple of
// lanes. body writes vector u of a step, at(p) being the address of its elements in
// pointer p.
type loop struct {
	name       string // the labels' prefix
	lanes      int
	unroll     int
	ptrs       []ptr
	maskedTail bool
	tailY      int
	body       func(u int, at func(p int) string)
}

// emit writes l; it ends by falling through to (or jumping to) the kernel's done label.
func (g *gen) emit(l loop) {
	pre := l.name
	if pre != "" {
		pre += "_"
	}
	step := l.lanes * l.unroll
	sh := log2(step)
	advance := func(k int) {
		for _, q := range l.ptrs {
			g.p("ADDQ $%d, %s", k*q.size, q.reg)
		}
	}
	addr := func(u int) func(int) string {
		return func(p int) string {
			q := l.ptrs[p]
			if off := u * l.lanes * q.size; off != 0 {
				return fmt.Sprintf("%d(%s)", off, q.reg)
			}
			return fmt.Sprintf("(%s)", q.reg)
		}
	}
	tail := g.evex || l.maskedTail
	g.p("MOVQ CX, R12")
	g.p("SHRQ $%d, CX", sh)
	next := pre + "single"
	if l.unroll == 1 {
		next = pre + "tail"
	}
	if l.unroll == 1 && !tail {
		next = "done"
	}
	g.p("JZ %s", g.lab(next))
	g.label(pre + "loop")
	for u := range l.unroll {
		l.body(u, addr(u))
	}
	advance(step)
	g.p("DECQ CX")
	g.p("JNZ %s", g.lab(pre+"loop"))
	if l.unroll > 1 {
		g.label(pre + "single")
		g.p("MOVQ R12, CX")
		g.p("ANDQ $%d, CX", step-1)
		g.p("SHRQ $%d, CX", log2(l.lanes))
		if tail {
			g.p("JZ %s", g.lab(pre+"tail"))
		} else {
			g.p("JZ %s", g.lab("done"))
		}
		g.label(pre + "single_loop")
		l.body(0, addr(0))
		advance(l.lanes)
		g.p("DECQ CX")
		g.p("JNZ %s", g.lab(pre+"single_loop"))
	}
	if tail {
		g.label(pre + "tail")
		g.p("ANDQ $%d, R12", l.lanes-1)
		g.p("JZ %s", g.lab("done"))
		if g.evex {
			g.comment("K1: the first n mod lanes lanes")
			g.p("MOVL $1, R11")
			g.p("MOVQ R12, CX")
			g.p("SHLL CX, R11")
			g.p("DECL R11")
			g.p("KMOVW R11, K1")
		} else {
			g.comment("the mask of the first n mod 8 lanes: &tailMask[8 − n mod 8]")
			g.p("LEAQ ·tailMask+32(SB), R11")
			g.p("SHLQ $2, R12")
			g.p("SUBQ R12, R11")
			g.p("VMOVDQU (R11), %s", g.r(l.tailY))
			g.tailY = g.r(l.tailY)
		}
		g.tail = true
		l.body(0, addr(0))
		g.tail = false
	}
	g.p("JMP %s", g.lab("done"))
}

// ld loads float32 lanes from a into register d (masked in a tail).
func (g *gen) ld(a, d string) {
	switch {
	case !g.tail:
		g.p("VMOVUPS %s, %s", a, d)
	case g.evex:
		g.p("VMOVUPS.Z %s, K1, %s", a, d)
	default:
		g.p("VMASKMOVPS %s, %s, %s", a, g.tailY, d)
	}
}

// st stores float32 register s at a (masked in a tail).
func (g *gen) st(s, a string) {
	switch {
	case !g.tail:
		g.p("VMOVUPS %s, %s", s, a)
	case g.evex:
		g.p("VMOVUPS %s, K1, %s", s, a)
	default:
		g.p("VMASKMOVPS %s, %s, %s", s, g.tailY, a)
	}
}

// mem is a float32 operand at a: a itself, or in a tail loaded into register s.
func (g *gen) mem(a, s string) string {
	if !g.tail {
		return a
	}
	g.ld(a, s)
	return s
}

// ldcvt loads float32 elements at a into the float64 lanes of vector register i.
func (g *gen) ldcvt(a string, i int) {
	if g.tail {
		g.p("VCVTPS2PD.Z %s, K1, %s", a, g.r(i))
		return
	}
	g.p("VCVTPS2PD %s, %s", a, g.r(i))
}

// stcvt rounds the float64 lanes of vector register i to float32 and stores them at a.
func (g *gen) stcvt(i int, a string) {
	if g.evex {
		g.p("VCVTPD2PS %s, %s", g.r(i), g.x(i))
	} else {
		g.p("VCVTPD2PSY %s, %s", g.r(i), g.x(i))
	}
	g.sthalf(i, a)
}

// sthalf stores the lower half of vector register i (float32 lanes) at a.
func (g *gen) sthalf(i int, a string) {
	if g.tail {
		g.p("VMOVUPS %s, K1, %s", g.x(i), a)
		return
	}
	g.p("VMOVUPS %s, %s", g.x(i), a)
}

// mempd is a float64 operand at a: a itself, or in a tail loaded into register s.
func (g *gen) mempd(a, s string) string {
	if !g.tail {
		return a
	}
	g.p("VMOVUPD.Z %s, K1, %s", a, s)
	return s
}

// stpd stores float64 register s at a.
func (g *gen) stpd(s, a string) {
	if g.tail {
		g.p("VMOVUPD %s, K1, %s", s, a)
		return
	}
	g.p("VMOVUPD %s, %s", s, a)
}

func (g *gen) done() {
	g.label("done")
	g.p("VZEROUPPER")
	g.p("RET")
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	if 1<<k != n {
		panic(fmt.Sprint(n, " is not a power of 2"))
	}
	return k
}

// erf sets register x = Erf32(x) in every lane, using x2, p and q as scratch; M4 and P4
// must be held in registers.
func (g *gen) erf(x, x2, p, q string) {
	g.op("VMAXPS", x, "M4", x) // x = max(x, −4)
	g.op("VMINPS", x, "P4", x) // x = min(x, 4)
	g.op("VMULPS", x, x, x2)
	g.op("VMULPS", "ERFP0", x2, p)
	g.op("VADDPS", "ERFP1", p, p)
	for i := 2; i <= 6; i++ {
		g.op("VMULPS", x2, p, p)
		g.op("VADDPS", fmt.Sprintf("ERFP%d", i), p, p)
	}
	g.op("VMULPS", "ERFQ0", x2, q)
	g.op("VADDPS", "ERFQ1", q, q)
	for i := 2; i <= 4; i++ {
		g.op("VMULPS", x2, q, q)
		g.op("VADDPS", fmt.Sprintf("ERFQ%d", i), q, q)
	}
	g.op("VMULPS", p, x, x)
	g.op("VDIVPS", q, x, x)
}

// erfConsts are the constants of erf after M4 and P4, in the order of their use.
var erfConsts = []string{"ERFP0", "ERFP1", "ERFP2", "ERFP3", "ERFP4", "ERFP5", "ERFP6", "ERFQ0", "ERFQ1", "ERFQ2", "ERFQ3", "ERFQ4"}

// gelu is GeluF32: v·0.5·(1 + erf(v·√2/2)).
func (g *gen) gelu() {
	g.text("gelu", "(dst, src *float32, n int)", "$0-24")
	g.p("MOVQ dst+0(FP), DI")
	g.p("MOVQ src+8(FP), SI")
	g.p("MOVQ n+16(FP), CX")
	g.preload("M4", 14)
	g.preload("P4", 15)
	g.preloadEVEX(append([]string{"SQRT2", "HALF", "ONE"}, erfConsts...)...)
	g.emit(loop{lanes: g.w32, unroll: 1, ptrs: []ptr{{"DI", 4}, {"SI", 4}},
		body: func(u int, at func(int) string) {
			g.ld(at(1), g.r(0))                     // v
			g.op("VMULPS", "SQRT2", g.r(0), g.r(1)) // u = v·√2
			g.op("VMULPS", "HALF", g.r(1), g.r(1))  // u/2
			g.erf(g.r(1), g.r(2), g.r(3), g.r(4))
			g.op("VADDPS", "ONE", g.r(1), g.r(1))  // 1 + erf(u)
			g.op("VMULPS", "HALF", g.r(0), g.r(0)) // v·0.5
			g.op("VMULPS", g.r(1), g.r(0), g.r(0)) // v·0.5·(1 + erf(u))
			g.st(g.r(0), at(0))
		}})
	g.done()
}

// geluGrad is GeluGradF32: dy·(cdf + v·ExpNegHalfSq32(v)·(1/√(2π))), cdf = y/v where
// |v| > 0.25, else from erf.
func (g *gen) geluGrad() {
	g.text("geluGrad", "(dx, x, y, dy *float32, n int)", "$0-40")
	g.p("MOVQ dx+0(FP), DI")
	g.p("MOVQ x+8(FP), SI")
	g.p("MOVQ y+16(FP), BX")
	g.p("MOVQ dy+24(FP), DX")
	g.p("MOVQ n+32(FP), CX")
	g.preload("M4", 14)
	g.preload("P4", 15)
	g.preloadEVEX(append([]string{"SQRT2", "HALF", "ONE", "MHALF"}, erfConsts...)...)
	r := g.r
	g.emit(loop{lanes: g.w32, unroll: 1, ptrs: []ptr{{"DI", 4}, {"SI", 4}, {"BX", 4}, {"DX", 4}},
		body: func(u int, at func(int) string) {
			g.ld(at(1), r(0)) // v
			g.comment("cdf from erf: 0.5·(1 + erf(v·√2/2))")
			g.op("VMULPS", "SQRT2", r(0), r(1))
			g.op("VMULPS", "HALF", r(1), r(1))
			g.erf(r(1), r(2), r(3), r(4))
			g.op("VADDPS", "ONE", r(1), r(1))
			g.op("VMULPS", "HALF", r(1), r(1))
			g.comment("cdf from the forward output, y/v, where |v| > 0.25")
			g.ld(at(2), r(5))
			g.op("VDIVPS", r(0), r(5), r(5)) // y/v
			g.andps("ABS", r(0), r(6))       // |v|
			m := g.m(6, 2)
			g.op("VCMPPS", "$0x0e", "QUARTER", r(6), m) // |v| > 0.25 (GT_OS: false for NaN, as in Go)
			g.blend(m, r(5), r(1))                      // cdf
			g.comment("e = ExpNegHalfSq32(v)")
			g.op("VMULPS", "MHALF", r(0), r(7))
			g.op("VMULPS", r(0), r(7), r(7)) // x = −0.5·v·v
			g.op("VMULPS", "LOG2E", r(7), r(8))
			g.op("VSUBPS", "HALF", r(8), r(8)) // t = x·log2 e − 0.5
			g.p("VCVTTPS2DQ %s, %s", r(8), r(9))
			g.p("VCVTDQ2PS %s, %s", r(9), r(9)) // n = float32(int32(t))
			m = g.m(10, 3)
			g.op("VCMPPS", "$0x01", r(9), r(8), m) // t < n (LT_OS)
			g.subWhere(m, "ONE", r(9), r(10))      // n-- there
			g.op("VADDPS", "ONE", r(9), r(9))      // n++
			g.op("VMULPS", "EXPC1", r(9), r(10))
			g.op("VSUBPS", r(10), r(7), r(10)) // x − n·C1
			g.op("VMULPS", "EXPC2", r(9), r(11))
			g.op("VADDPS", r(11), r(10), r(10)) // r = x − n·C1 + n·C2
			g.expPoly(r(10), r(11))
			g.p("VCVTTPS2DQ %s, %s", r(9), r(9)) // int32(n)
			g.op("VPADDD", "I127", r(9), r(9))
			g.p("VPSLLD $23, %s, %s", r(9), r(9)) // 2^n
			g.op("VMULPS", r(9), r(11), r(11))
			m = g.m(10, 4)
			g.op("VCMPPS", "$0x01", "EXPMIN", r(7), m) // x < expMin (LT_OS)
			g.zeroWhere(m, r(11))                      // e = 0 there
			g.comment("dx = dy·(cdf + v·e·(1/√(2π)))")
			g.op("VMULPS", r(11), r(0), r(11))
			g.op("VMULPS", "INVSQRT2PI", r(11), r(11))
			g.op("VADDPS", r(11), r(1), r(1))
			g.op("VMULPS", g.mem(at(3), r(12)), r(1), r(1))
			g.st(r(1), at(0))
		}})
	g.done()
}

// expPoly sets p = expPoly(rr) (Cephes' polynomial, each step rounded).
func (g *gen) expPoly(rr, p string) {
	g.op("VMULPS", "EXPE0", rr, p) // p = E0·r + E1
	g.op("VADDPS", "EXPE1", p, p)
	for i := 2; i <= 5; i++ {
		g.op("VMULPS", rr, p, p) // p = p·r + E2 … E5
		g.op("VADDPS", fmt.Sprintf("EXPE%d", i), p, p)
	}
	g.op("VMULPS", rr, p, p)    // p·r
	g.op("VMULPS", rr, p, p)    // p·r·r
	g.op("VADDPS", rr, p, p)    // + r
	g.op("VADDPS", "ONE", p, p) // + 1
}

// exp sets register 3 = Exp32(register 0) in every lane, using registers 1, 2, 4
// and 5 as scratch.
func (g *gen) exp() {
	r := g.r
	g.op("VMULPS", "LOG2E", r(0), r(1))
	g.op("VADDPS", "HALF", r(1), r(1)) // t = x·log2 e + 0.5
	if g.evex {
		g.p("VRNDSCALEPS $1, %s, %s", r(1), r(1)) // n = floor(t)
	} else {
		g.p("VROUNDPS $1, %s, %s", r(1), r(1)) // n = floor(t)
	}
	g.op("VMULPS", "EXPC1", r(1), r(2))
	g.op("VSUBPS", r(2), r(0), r(2)) // x − n·C1
	g.op("VMULPS", "EXPC2", r(1), r(3))
	g.op("VADDPS", r(3), r(2), r(2)) // r = x − n·C1 + n·C2
	g.expPoly(r(2), r(3))
	m := g.m(4, 2)
	g.op("VCMPPS", "$0x0e", "F127", r(1), m) // n > 127: y = y·2, n = n − 1
	g.addWhere(m, r(3), r(3), r(5))
	g.subWhere(m, "ONE", r(1), r(5))
	g.p("VCVTTPS2DQ %s, %s", r(1), r(1)) // int32(n)
	g.op("VPADDD", "I127", r(1), r(1))
	g.p("VPSLLD $23, %s, %s", r(1), r(1)) // 2^n
	g.op("VMULPS", r(1), r(3), r(3))
	m = g.m(4, 3)
	g.op("VCMPPS", "$0x01", "EXPMIN", r(0), m) // x < expMin: 0
	g.zeroWhere(m, r(3))
	m = g.m(4, 4)
	g.op("VCMPPS", "$0x0e", "EXPMAX", r(0), m) // x > expMax: +Inf
	g.blend(m, "INF", r(3))
	m = g.m(4, 5)
	g.op("VCMPPS", "$0x03", r(0), r(0), m) // x is NaN: x
	g.blend(m, r(0), r(3))
}

var expConsts = []string{"LOG2E", "HALF", "EXPC1", "EXPC2", "EXPE0", "EXPE1", "EXPE2", "EXPE3", "EXPE4", "EXPE5", "ONE", "F127", "I127", "EXPMIN", "EXPMAX", "INF"}

// expShift is ExpShiftF32: Exp32(src − shift); AVX2 masks its last vector too.
func (g *gen) expShift() {
	g.text("expShift", "(dst, src *float32, n int, shift float32)", "$0-28")
	g.p("MOVQ dst+0(FP), DI")
	g.p("MOVQ src+8(FP), SI")
	g.p("MOVQ n+16(FP), CX")
	g.p("VBROADCASTSS shift+24(FP), %s", g.r(13))
	g.preloadEVEX(expConsts...)
	g.emit(loop{lanes: g.w32, unroll: 1, ptrs: []ptr{{"DI", 4}, {"SI", 4}}, maskedTail: true, tailY: 6,
		body: func(u int, at func(int) string) {
			g.ld(at(1), g.r(0))
			g.op("VSUBPS", g.r(13), g.r(0), g.r(0)) // x = src − shift
			g.exp()
			g.st(g.r(3), at(0))
		}})
	g.done()
}

// max is MaxF32: the lanes' running maximum in register 0 (NaNs skipped), then the
// reduction across the lanes.
func (g *gen) max() {
	g.text("max", "(x *float32, n int) float32", "$0-20")
	g.p("MOVQ x+0(FP), SI")
	g.p("MOVQ n+8(FP), CX")
	if g.evex {
		g.p("VBROADCASTSS NEGINF, Z0")
	} else {
		g.p("VMOVUPS NEGINF, Y0")
	}
	g.emit(loop{lanes: g.w32, unroll: 1, ptrs: []ptr{{"SI", 4}},
		body: func(u int, at func(int) string) {
			g.ld(at(0), g.r(2))
			if g.tail {
				g.p("VMAXPS %s, %s, K1, %s", g.r(0), g.r(2), g.r(0)) // the lanes past n keep m
			} else {
				g.p("VMAXPS %s, %s, %s", g.r(0), g.r(2), g.r(0)) // m = max(x, m), m where x is NaN
			}
		}})
	g.label("done")
	if g.evex {
		g.p("VEXTRACTF64X4 $1, Z0, Y1")
		g.p("VMAXPS Y1, Y0, Y0") // 8 lanes
	}
	g.p("VEXTRACTF128 $1, Y0, X1")
	g.p("VMAXPS X1, X0, X0") // 4 lanes
	g.p("VMOVHLPS X0, X0, X1")
	g.p("VMAXPS X1, X0, X0") // 2 lanes
	g.p("VPSHUFD $1, X0, X1")
	g.p("VMAXSS X1, X0, X0") // 1 lane
	g.p("VZEROUPPER")
	g.p("MOVSS X0, ret+16(FP)")
	g.p("RET")
}

// scale is ScaleF32: x·s in float64, rounded once.
func (g *gen) scale() {
	g.text("scale", "(x *float32, n int, s float64)", "$0-24")
	g.p("MOVQ x+0(FP), SI")
	g.p("MOVQ n+8(FP), CX")
	g.p("VBROADCASTSD s+16(FP), %s", g.r(2))
	g.emit(loop{lanes: g.w64, unroll: 2, ptrs: []ptr{{"SI", 4}},
		body: func(u int, at func(int) string) {
			g.ldcvt(at(0), u)
			g.p("VMULPD %s, %s, %s", g.r(2), g.r(u), g.r(u))
			g.stcvt(u, at(0)) // rounded once to float32
		}})
	g.done()
}

// add is AddF32, 4 vectors a step.
func (g *gen) add() {
	g.text("add", "(dst, a, b *float32, n int)", "$0-32")
	g.p("MOVQ dst+0(FP), DI")
	g.p("MOVQ a+8(FP), SI")
	g.p("MOVQ b+16(FP), BX")
	g.p("MOVQ n+24(FP), CX")
	g.emit(loop{lanes: g.w32, unroll: 4, ptrs: []ptr{{"DI", 4}, {"SI", 4}, {"BX", 4}},
		body: func(u int, at func(int) string) {
			g.ld(at(1), g.r(u))
			g.p("VADDPS %s, %s, %s", g.mem(at(2), g.r(4+u)), g.r(u), g.r(u))
			g.st(g.r(u), at(0))
		}})
	g.done()
}

// softmaxGrad is softmaxGradRow: p·(g − d), exactly 0 where p is 0.
func (g *gen) softmaxGrad() {
	g.text("softmaxGrad", "(dx, p, grad *float32, n int, d float32)", "$0-36")
	g.p("MOVQ dx+0(FP), DI")
	g.p("MOVQ p+8(FP), SI")
	g.p("MOVQ grad+16(FP), BX")
	g.p("MOVQ n+24(FP), CX")
	g.p("VBROADCASTSS d+32(FP), %s", g.r(15))
	g.zero(14)
	r := g.r
	g.emit(loop{lanes: g.w32, unroll: 1, ptrs: []ptr{{"DI", 4}, {"SI", 4}, {"BX", 4}},
		body: func(u int, at func(int) string) {
			g.ld(at(1), r(0))                           // p
			g.ld(at(2), r(1))                           // g
			g.p("VSUBPS %s, %s, %s", r(15), r(1), r(1)) // g − d
			g.p("VMULPS %s, %s, %s", r(1), r(0), r(1))  // p·(g − d)
			m := g.m(2, 2)
			g.p("VCMPPS $0x00, %s, %s, %s", r(14), r(0), m) // p == 0 (EQ_OQ)
			g.zeroWhere(m, r(1))                            // exactly 0 there
			g.st(r(1), at(0))
		}})
	g.done()
}

// adamw does AdamW in float64 lanes; registers 8–15 hold the constants (decay, w,
// 1−w, β2, 1−β2, bc2Sqrt, eps, stepSize) and the lower half of register 7 is zero.
func (g *gen) adamw() {
	g.text("adamw", "(p, grad, m, v *float32, n int, c *adamwConsts, lerp bool)", "$0-49")
	g.p("MOVQ p+0(FP), SI")
	g.p("MOVQ grad+8(FP), BX")
	g.p("MOVQ m+16(FP), DX")
	g.p("MOVQ v+24(FP), R8")
	g.p("MOVQ n+32(FP), CX")
	g.p("MOVQ c+40(FP), AX")
	for i := range 8 {
		g.p("VBROADCASTSD %d(AX), %s", 8*i, g.r(8+i))
	}
	g.p("VXORPS X7, X7, X7")
	g.p("MOVBLZX lerp+48(FP), AX")
	g.p("TESTQ AX, AX")
	g.p("JZ %s", g.lab("flip_start"))
	r := g.r
	ptrs := []ptr{{"SI", 4}, {"BX", 4}, {"DX", 4}, {"R8", 4}}
	body := func(lerp bool) func(int, func(int) string) {
		return func(u int, at func(int) string) {
			g.ldcvt(at(1), 0)                          // g
			g.ldcvt(at(0), 1)                          // p
			g.p("VMULPD %s, %s, %s", r(8), r(1), r(1)) // p·decay
			g.ldcvt(at(2), 2)                          // m
			g.p("VSUBPD %s, %s, %s", r(2), r(0), r(3)) // g − m
			if lerp {
				g.p("VMULPD %s, %s, %s", r(9), r(3), r(3)) // w·(g − m)
				g.p("VADDPD %s, %s, %s", r(3), r(2), r(2)) // m + w·(g − m)
			} else {
				g.p("VMULPD %s, %s, %s", r(10), r(3), r(3)) // (g − m)·(1 − w)
				g.p("VSUBPD %s, %s, %s", r(3), r(0), r(2))  // g − (g − m)·(1 − w)
			}
			g.ldcvt(at(3), 4)                           // v
			g.p("VMULPD %s, %s, %s", r(11), r(4), r(4)) // v·β2
			g.p("VMULPD %s, %s, %s", r(0), r(0), r(5))  // g·g
			g.p("VMULPD %s, %s, %s", r(12), r(5), r(5)) // (1 − β2)·g²
			g.p("VADDPD %s, %s, %s", r(5), r(4), r(4))  // v
			g.p("VSQRTPD %s, %s", r(4), r(5))
			g.p("VDIVPD %s, %s, %s", r(13), r(5), r(5)) // √v / bc2Sqrt
			g.p("VADDPD %s, %s, %s", r(14), r(5), r(5)) // + eps
			g.p("VDIVPD %s, %s, %s", r(5), r(2), r(6))  // m / denom
			g.p("VMULPD %s, %s, %s", r(15), r(6), r(6)) // stepSize·(m / denom)
			g.p("VSUBPD %s, %s, %s", r(6), r(1), r(1))  // p
			g.stcvt(1, at(0))
			g.stcvt(2, at(2))
			g.stcvt(4, at(3))
			g.sthalf(7, at(1)) // g = 0
		}
	}
	g.emit(loop{name: "lerp", lanes: g.w64, unroll: 2, ptrs: ptrs, body: body(true)})
	g.label("flip_start")
	g.emit(loop{name: "flip", lanes: g.w64, unroll: 2, ptrs: ptrs, body: body(false)})
	g.done()
}

// The LayerNorm row passes, in float64 lanes.

// layerNormRow is layerNormRow: (x − mean)·rstd·g (+ b), a loop for each of with and
// without bias.
func (g *gen) layerNormRow() {
	g.text("layerNormRow", "(y, x, gain, bias *float32, n int, mean, rstd float64)", "$0-56")
	g.p("MOVQ y+0(FP), DI")
	g.p("MOVQ x+8(FP), SI")
	g.p("MOVQ gain+16(FP), DX")
	g.p("MOVQ bias+24(FP), R9")
	g.p("MOVQ n+32(FP), CX")
	g.p("VBROADCASTSD mean+40(FP), %s", g.r(14))
	g.p("VBROADCASTSD rstd+48(FP), %s", g.r(15))
	g.p("TESTQ R9, R9")
	g.p("JZ %s", g.lab("nobias_start"))
	r := g.r
	body := func(bias bool) func(int, func(int) string) {
		return func(u int, at func(int) string) {
			g.ldcvt(at(1), 0)
			g.p("VSUBPD %s, %s, %s", r(14), r(0), r(0)) // x − mean
			g.p("VMULPD %s, %s, %s", r(15), r(0), r(0)) // ·rstd
			g.ldcvt(at(2), 1)
			g.p("VMULPD %s, %s, %s", r(1), r(0), r(0)) // ·g
			if bias {
				g.ldcvt(at(3), 1)
				g.p("VADDPD %s, %s, %s", r(1), r(0), r(0)) // + b
			}
			g.stcvt(0, at(0))
		}
	}
	g.emit(loop{name: "bias", lanes: g.w64, unroll: 1, ptrs: []ptr{{"DI", 4}, {"SI", 4}, {"DX", 4}, {"R9", 4}}, body: body(true)})
	g.label("nobias_start")
	g.emit(loop{name: "nobias", lanes: g.w64, unroll: 1, ptrs: []ptr{{"DI", 4}, {"SI", 4}, {"DX", 4}}, body: body(false)})
	g.done()
}

// layerNormGradRow is layerNormGradRow: rstd·(dy·g − m1 − x̂·m2).
func (g *gen) layerNormGradRow() {
	g.text("layerNormGradRow", "(dx, x, gain, dy *float32, n int, mean, rstd, m1, m2 float64)", "$0-72")
	g.p("MOVQ dx+0(FP), DI")
	g.p("MOVQ x+8(FP), SI")
	g.p("MOVQ gain+16(FP), DX")
	g.p("MOVQ dy+24(FP), BX")
	g.p("MOVQ n+32(FP), CX")
	for i, a := range []string{"mean+40", "rstd+48", "m1+56", "m2+64"} {
		g.p("VBROADCASTSD %s(FP), %s", a, g.r(12+i))
	}
	r := g.r
	g.emit(loop{lanes: g.w64, unroll: 1, ptrs: []ptr{{"DI", 4}, {"SI", 4}, {"DX", 4}, {"BX", 4}},
		body: func(u int, at func(int) string) {
			g.ldcvt(at(1), 0)
			g.p("VSUBPD %s, %s, %s", r(12), r(0), r(0)) // x − mean
			g.p("VMULPD %s, %s, %s", r(13), r(0), r(0)) // x̂ = (x − mean)·rstd
			g.p("VMULPD %s, %s, %s", r(15), r(0), r(0)) // x̂·m2
			g.ldcvt(at(3), 1)
			g.ldcvt(at(2), 2)
			g.p("VMULPD %s, %s, %s", r(2), r(1), r(1))  // dŷ = dy·g
			g.p("VSUBPD %s, %s, %s", r(14), r(1), r(1)) // dŷ − m1
			g.p("VSUBPD %s, %s, %s", r(0), r(1), r(1))  // − x̂·m2
			g.p("VMULPD %s, %s, %s", r(13), r(1), r(1)) // rstd·(…)
			g.stcvt(1, at(0))
		}})
	g.done()
}

// gainAcc is gainAcc: acc += dy·(x − mean)·rstd, in float64.
func (g *gen) gainAcc() {
	g.text("gainAcc", "(acc *float64, x, dy *float32, n int, mean, rstd float64)", "$0-48")
	g.p("MOVQ acc+0(FP), DI")
	g.p("MOVQ x+8(FP), SI")
	g.p("MOVQ dy+16(FP), BX")
	g.p("MOVQ n+24(FP), CX")
	g.p("VBROADCASTSD mean+32(FP), %s", g.r(14))
	g.p("VBROADCASTSD rstd+40(FP), %s", g.r(15))
	g.gainAccBody()
	g.done()
}

// gainAccBody is gainAcc's loop over CX elements of acc (DI), x (SI) and dy (BX), with
// mean and rstd in every lane of registers 14 and 15; it ends at the done label.
func (g *gen) gainAccBody() {
	r := g.r
	g.emit(loop{lanes: g.w64, unroll: 1, ptrs: []ptr{{"DI", 8}, {"SI", 4}, {"BX", 4}},
		body: func(u int, at func(int) string) {
			g.ldcvt(at(1), 0)
			g.p("VSUBPD %s, %s, %s", r(14), r(0), r(0)) // x − mean
			g.ldcvt(at(2), 1)
			g.p("VMULPD %s, %s, %s", r(0), r(1), r(1))                 // dy·(x − mean)
			g.p("VMULPD %s, %s, %s", r(15), r(1), r(1))                // ·rstd
			g.p("VADDPD %s, %s, %s", g.mempd(at(0), r(2)), r(1), r(1)) // acc + …
			g.stpd(r(1), at(0))
		}})
}

// gainCols is gainAcc over the same n columns of rows rows, stride elements apart
// (row r's mean and rstd at mean[r], rstd[r]): the rows loop here, so a narrow strip of
// columns costs no call per row. The x and dy arguments hold the current row.
func (g *gen) gainCols() {
	g.text("gainCols", "(acc *float64, x, dy *float32, n, rows, stride int, mean, rstd *float64)", "$0-64")
	g.p("MOVQ acc+0(FP), R10")
	g.p("MOVQ n+24(FP), R13")
	g.p("MOVQ rows+32(FP), R9")
	g.p("MOVQ stride+40(FP), R8")
	g.p("SHLQ $2, R8") // a row in bytes
	g.p("MOVQ mean+48(FP), AX")
	g.p("MOVQ rstd+56(FP), DX")
	g.p("TESTQ R9, R9")
	g.p("JZ %s", g.lab("end"))
	g.label("row")
	g.p("MOVQ R10, DI")
	g.p("MOVQ x+8(FP), SI")
	g.p("MOVQ dy+16(FP), BX")
	g.p("MOVQ R13, CX")
	g.p("VBROADCASTSD (AX), %s", g.r(14))
	g.p("VBROADCASTSD (DX), %s", g.r(15))
	g.gainAccBody()
	g.label("done") // the row's columns are done
	g.p("MOVQ x+8(FP), SI")
	g.p("ADDQ R8, SI")
	g.p("MOVQ SI, x+8(FP)")
	g.p("MOVQ dy+16(FP), BX")
	g.p("ADDQ R8, BX")
	g.p("MOVQ BX, dy+16(FP)")
	g.p("ADDQ $8, AX")
	g.p("ADDQ $8, DX")
	g.p("DECQ R9")
	g.p("JNZ %s", g.lab("row"))
	g.label("end")
	g.p("VZEROUPPER")
	g.p("RET")
}

// The row sums of 8 rows, one row per float64 lane (AVX2: rows 0–3 and 4–7 in two
// vectors), 4 columns a step: the rows start at B, B+R8, B+2·R8, B+R9 (R8 a row in
// bytes, R9 three rows) for the first 4 and the same from B4 for the others.

// tr4 loads 4 columns of the 4 rows at b and leaves column j of the rows in the
// float32 lanes of X register a[j], using X4–X7 as scratch.
func (g *gen) tr4(b string, a [4]int) {
	x := func(i int) string { return fmt.Sprintf("X%d", i) }
	g.p("VMOVUPS (%s), %s", b, x(a[0]))
	g.p("VMOVUPS (%s)(R8*1), %s", b, x(a[1]))
	g.p("VMOVUPS (%s)(R8*2), %s", b, x(a[2]))
	g.p("VMOVUPS (%s)(R9*1), %s", b, x(a[3]))
	g.p("VUNPCKLPS %s, %s, X4", x(a[1]), x(a[0])) // r0j0 r1j0 r0j1 r1j1
	g.p("VUNPCKHPS %s, %s, X5", x(a[1]), x(a[0])) // r0j2 r1j2 r0j3 r1j3
	g.p("VUNPCKLPS %s, %s, X6", x(a[3]), x(a[2])) // r2j0 r3j0 r2j1 r3j1
	g.p("VUNPCKHPS %s, %s, X7", x(a[3]), x(a[2])) // r2j2 r3j2 r2j3 r3j3
	g.p("VMOVLHPS X6, X4, %s", x(a[0]))           // column 0
	g.p("VMOVHLPS X4, X6, %s", x(a[1]))           // column 1
	g.p("VMOVLHPS X7, X5, %s", x(a[2]))           // column 2
	g.p("VMOVHLPS X5, X7, %s", x(a[3]))           // column 3
}

// cols8 loads 4 columns of the 8 rows at b (rows 0–3) and b4 (rows 4–7) as float64
// and calls f with each group of rows in a vector (AVX2: rows 0–3, then rows 4–7;
// AVX-512: all 8) and its columns' registers, a[j] for column j; X8–X11 are scratch
// for AVX-512.
func (g *gen) cols8(b, b4 string, a [4]int, f func(grp int, col [4]string)) {
	var col [4]string
	for j := range col {
		col[j] = g.r(a[j])
	}
	if !g.evex {
		for grp, base := range []string{b, b4} {
			g.tr4(base, a)
			for j := range 4 {
				g.p("VCVTPS2PD X%d, %s", a[j], col[j])
			}
			f(grp, col)
		}
		return
	}
	g.tr4(b, a)
	g.tr4(b4, [4]int{8, 9, 10, 11})
	for j := range 4 {
		g.p("VINSERTF128 $1, X%d, Y%d, Y%d", 8+j, a[j], a[j]) // rows 4–7 above rows 0–3
		g.p("VCVTPS2PD Y%d, %s", a[j], col[j])
	}
	f(0, col)
}

// groups is how many vectors hold the 8 rows' float64 lanes.
func (g *gen) groups() int { return 8 / g.w64 }

// rowStats8 sums 8 rows and then their squared deviations from the means, each row in
// column order.
func (g *gen) rowStats8() {
	g.text("rowStats8", "(x *float32, c int, mean, vr *[8]float64)", "$0-32")
	g.p("MOVQ x+0(FP), SI")
	g.p("MOVQ c+8(FP), CX")
	g.p("MOVQ mean+16(FP), AX")
	g.p("MOVQ vr+24(FP), DX")
	g.p("MOVQ CX, R8")
	g.p("SHLQ $2, R8")         // a row in bytes
	g.p("LEAQ (R8)(R8*2), R9") // three rows
	g.p("LEAQ (SI)(R8*4), DI") // rows 4–7
	g.p("CVTSQ2SD CX, X12")
	g.p("VBROADCASTSD X12, %s", g.r(12)) // float64(c)
	g.p("SHRQ $2, CX")                   // steps of 4 columns
	g.p("MOVQ CX, R10")
	n := g.groups()
	acc := func(grp int) string { return g.r(13 + grp) }  // the sums
	mean := func(grp int) string { return g.r(16 + grp) } // AVX-512: Z16; AVX2: 16 is out of range
	if !g.evex {
		mean = func(grp int) string { return g.r(10 + grp) }
	}
	for grp := range n {
		g.zeropd(acc(grp))
	}
	g.label("sum")
	g.cols8("SI", "DI", [4]int{0, 1, 2, 3}, func(grp int, col [4]string) {
		for _, c := range col {
			g.p("VADDPD %s, %s, %s", c, acc(grp), acc(grp))
		}
	})
	g.p("ADDQ $16, SI")
	g.p("ADDQ $16, DI")
	g.p("DECQ CX")
	g.p("JNZ %s", g.lab("sum"))
	for grp := range n {
		g.p("VDIVPD %s, %s, %s", g.r(12), acc(grp), mean(grp)) // the means
		g.p("VMOVUPD %s, %d(AX)", mean(grp), 8*g.w64*grp)
		g.zeropd(acc(grp))
	}
	g.p("MOVQ R10, CX")
	g.p("MOVQ R10, BX")
	g.p("SHLQ $4, BX")
	g.p("SUBQ BX, SI") // back to column 0
	g.p("SUBQ BX, DI")
	g.label("sq")
	g.cols8("SI", "DI", [4]int{0, 1, 2, 3}, func(grp int, col [4]string) {
		for _, c := range col { // (column − mean)²
			g.p("VSUBPD %s, %s, %s", mean(grp), c, c)
			g.p("VMULPD %s, %s, %s", c, c, c)
		}
		for _, c := range col {
			g.p("VADDPD %s, %s, %s", c, acc(grp), acc(grp))
		}
	})
	g.p("ADDQ $16, SI")
	g.p("ADDQ $16, DI")
	g.p("DECQ CX")
	g.p("JNZ %s", g.lab("sq"))
	for grp := range n {
		g.p("VMOVUPD %s, %d(DX)", acc(grp), 8*g.w64*grp)
	}
	g.p("VZEROUPPER")
	g.p("RET")
}

func (g *gen) zeropd(r string) {
	if g.evex {
		g.p("VPXORQ %s, %s, %s", r, r, r)
	} else {
		g.p("VXORPD %s, %s, %s", r, r, r)
	}
}

// gradMeans8 sums dh = dy·g and dh·(x − mean)·rstd over each of 8 rows' columns.
func (g *gen) gradMeans8() {
	g.text("gradMeans8", "(x, dy, gain *float32, c int, mean, rstd, m1, m2 *[8]float64)", "$0-64")
	g.p("MOVQ x+0(FP), SI")
	g.p("MOVQ dy+8(FP), R11")
	g.p("MOVQ gain+16(FP), R13")
	g.p("MOVQ c+24(FP), CX")
	g.p("MOVQ mean+32(FP), AX")
	g.p("MOVQ rstd+40(FP), BX")
	g.p("MOVQ CX, R8")
	g.p("SHLQ $2, R8")           // a row in bytes
	g.p("LEAQ (R8)(R8*2), R9")   // three rows
	g.p("LEAQ (SI)(R8*4), DI")   // x rows 4–7
	g.p("LEAQ (R11)(R8*4), R12") // dy rows 4–7
	g.p("SHRQ $2, CX")
	n := g.groups()
	// m1 and m2 of each group, and the group's mean and rstd (memory operands for
	// AVX2, registers for AVX-512).
	m1 := func(grp int) string { return g.r(8 + 2*grp) }
	m2 := func(grp int) string { return g.r(9 + 2*grp) }
	mean := func(grp int) string { return fmt.Sprintf("%d(AX)", 32*grp) }
	rstd := func(grp int) string { return fmt.Sprintf("%d(BX)", 32*grp) }
	if g.evex { // clear of the scratch registers 8–11 of cols8 and gm
		g.p("VMOVUPD (AX), Z16")
		g.p("VMOVUPD (BX), Z17")
		mean = func(int) string { return "Z16" }
		rstd = func(int) string { return "Z17" }
		m1 = func(int) string { return "Z24" }
		m2 = func(int) string { return "Z25" }
	}
	for grp := range n {
		g.zeropd(m1(grp))
		g.zeropd(m2(grp))
	}
	g.label("loop")
	// The columns of x in registers 0–3, then (gm) those of dy in 12–15 and the gains
	// in 4–7, group by group (AVX2) or all rows at once (AVX-512).
	g.cols8("SI", "DI", [4]int{0, 1, 2, 3}, func(grp int, col [4]string) {
		g.gm(grp, col, m1(grp), m2(grp), mean(grp), rstd(grp))
	})
	g.p("ADDQ $16, SI")
	g.p("ADDQ $16, DI")
	g.p("ADDQ $16, R11")
	g.p("ADDQ $16, R12")
	g.p("ADDQ $16, R13")
	g.p("DECQ CX")
	g.p("JNZ %s", g.lab("loop"))
	g.p("MOVQ m1+48(FP), AX")
	g.p("MOVQ m2+56(FP), BX")
	for grp := range n {
		g.p("VMOVUPD %s, %d(AX)", m1(grp), 8*g.w64*grp)
		g.p("VMOVUPD %s, %d(BX)", m2(grp), 8*g.w64*grp)
	}
	g.p("VZEROUPPER")
	g.p("RET")
}

// gm loads group grp's dy columns (registers 12–15) and the 4 gains (4–7) and adds
// column j of x (xc[j]) into m1 and m2.
func (g *gen) gm(grp int, xc [4]string, m1, m2, mean, rstd string) {
	dy := [4]int{12, 13, 14, 15}
	if g.evex {
		g.tr4("R11", dy)
		g.tr4("R12", [4]int{8, 9, 10, 11})
		for j := range 4 {
			g.p("VINSERTF128 $1, X%d, Y%d, Y%d", 8+j, dy[j], dy[j])
			g.p("VCVTPS2PD Y%d, Z%d", dy[j], dy[j])
		}
	} else {
		g.tr4([]string{"R11", "R12"}[grp], dy)
		for j := range 4 {
			g.p("VCVTPS2PD X%d, Y%d", dy[j], dy[j])
		}
	}
	for j := range 4 { // the gains g[j…j+3] in every lane
		g.p("VBROADCASTSS %d(R13), %s", 4*j, g.x(4+j))
		g.p("VCVTPS2PD %s, %s", g.x(4+j), g.r(4+j))
	}
	for j := range 4 {
		d, gn, x := g.r(dy[j]), g.r(4+j), xc[j]
		g.p("VMULPD %s, %s, %s", gn, d, d) // dh = dy·g
		g.p("VADDPD %s, %s, %s", d, m1, m1)
		g.p("VSUBPD %s, %s, %s", mean, x, x) // x − mean
		g.p("VMULPD %s, %s, %s", x, d, x)    // dh·(x − mean)
		g.p("VMULPD %s, %s, %s", rstd, x, x) // ·rstd
		g.p("VADDPD %s, %s, %s", x, m2, m2)
	}
}

// header is the start of the generated file, the splat rows' names included.
func header(w *bytes.Buffer, what string) {
	fmt.Fprintf(w, `// Code generated by gen_vec.go; DO NOT EDIT.

//go:build amd64 && !purego

#include "textflag.h"

// %s
//
// Each follows its Go form operation by operation — the same constants, the same order,
// a multiply and an add where Go has x*y + z (never an FMA, which rounds once instead
// of twice) — so the results are bit-identical to the Go code's.

// The rows of splat (vec_amd64.go): each constant in 8 lanes, 32 bytes a row.
`, what)
	for i, c := range constNames {
		fmt.Fprintf(w, "#define %-10s ·splat+%d(SB)\n", c, 32*i)
	}
}

func main() {
	var w bytes.Buffer
	header(&w, `The AVX2 and AVX-512 forms of the kernels of vec_generic.go: AVX2 with 8 float32 or 4
// float64 lanes per YMM register, on whole vectors (the Go code does the rest, except
// in expShift, which masks its last vector); AVX-512 with 16 float32 or 8 float64
// lanes per ZMM register, the last partial vector with masked loads and stores (K1).`)
	for _, t := range []target{avx2, avx512} {
		g := &gen{target: t, w: &w}
		g.gelu()
		g.geluGrad()
		g.max()
		g.expShift()
		g.scale()
		g.adamw()
		g.add()
		g.softmaxGrad()
		g.layerNormRow()
		g.layerNormGradRow()
		g.gainAcc()
		g.gainCols()
		g.rowStats8()
		g.gradMeans8()
	}
	if err := os.WriteFile("vec_amd64.s", w.Bytes(), 0o644); err != nil {
		panic(err)
	}
}
