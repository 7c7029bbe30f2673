package par_test

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/attend-go/attend/internal/par"
	"github.com/attend-go/attend/internal/sgemm"
)

// poolGoroutines returns, from a dump of every goroutine's stack, the state of each
// goroutine in a helper loop of internal/par ("chan receive" when parked) and how many
// goroutines are in a helper loop of any other package (sgemm kept its own before).
func poolGoroutines() (states []string, others int) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		head, _, _ := bytes.Cut(g, []byte("\n"))
		switch {
		case bytes.Contains(g, []byte("internal/par.helper(")):
			st := head[bytes.IndexByte(head, '[')+1:]
			st = st[:bytes.IndexAny(st, ",]")]
			states = append(states, string(st))
		case bytes.Contains(g, []byte(".helper(")):
			others++
		}
	}
	return states, others
}

// The loops of the graph kernels and the split GEMMs run on one pool of GOMAXPROCS-1
// helpers, and helpers left idle park on a channel instead of spinning.
func TestOnePoolThatParksWhenIdle(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 for helpers")
	}
	const m, n, k = 256, 256, 128 // above sgemm's split threshold
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range a {
		a[i] = float32(i % 7)
	}
	for i := range b {
		b[i] = float32(i % 5)
	}
	for rep := 0; rep < 20; rep++ {
		sgemm.Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		par.For(64, func(int) {})
	}
	states, others := poolGoroutines()
	if others != 0 {
		t.Fatalf("%d helper goroutines outside internal/par: want one pool", others)
	}
	if want := runtime.GOMAXPROCS(0) - 1; len(states) != want {
		t.Fatalf("%d pool helpers, want GOMAXPROCS-1 = %d", len(states), want)
	}
	// Idle helpers spin for a short while, then park. Wait (generously, the machine is
	// shared) for every one of them to be parked in a channel receive.
	deadline := time.Now().Add(10 * time.Second)
	for {
		states, _ = poolGoroutines()
		parked := 0
		for _, s := range states {
			if s == "chan receive" {
				parked++
			}
		}
		if parked == len(states) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("helpers still not parked after 10 s idle: states %q", states)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
