package par

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attend-go/attend/internal/race"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 17, 1000} {
		counts := make([]atomic.Int32, n)
		For(n, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("n = %d: index %d ran %d times", n, i, c)
			}
		}
	}
}

// Nested and concurrent calls finish (a busy helper is skipped, never waited for).
func TestForNested(t *testing.T) {
	var total atomic.Int64
	For(8, func(i int) {
		For(8, func(j int) { total.Add(int64(i*8 + j)) })
	})
	if got, want := total.Load(), int64(63*64/2); got != want {
		t.Fatalf("sum %d; want %d", got, want)
	}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			var s atomic.Int64
			For(100, func(i int) { s.Add(1) })
			done <- s.Load() == 100
		}()
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Fatal("a concurrent For missed indices")
		}
	}
}

// A Body that is a struct with a method: what callers use to avoid a closure.
type sumBody struct {
	x   []float64
	out []float64
}

func (b *sumBody) Do(i int) { b.out[i] = b.x[i] * 2 }

// valueBody is sumBody as a value: what ForBody takes.
type valueBody struct{ x, out []float64 }

func (b valueBody) Do(i int) { b.out[i] = b.x[i] * 2 }

func TestRunWithBodyAndThreadCap(t *testing.T) {
	b := &sumBody{x: make([]float64, 50), out: make([]float64, 50)}
	for i := range b.x {
		b.x[i] = float64(i)
	}
	for _, cap := range []int{0, 1, 2} {
		old := SetThreads(cap)
		clear(b.out)
		Run(len(b.x), len(b.x), b)
		SetThreads(old)
		for i, v := range b.out {
			if v != 2*float64(i) {
				t.Fatalf("SetThreads(%d): out[%d] = %v, want %v", cap, i, v, 2*float64(i))
			}
		}
	}
	defer SetThreads(SetThreads(1))
	if Threads() != 1 {
		t.Fatalf("Threads() = %d after SetThreads(1)", Threads())
	}
}

var sink atomic.Int64

func addIndex(i int) { sink.Add(int64(i)) }

// A loop whose body allocates nothing runs without allocating: the pool's task records
// are reused (the old For allocated one per call).
func TestForDoesNotAllocate(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 for helpers")
	}
	if race.Enabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	b := &sumBody{x: make([]float64, 64), out: make([]float64, 64)}
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"For", func() { For(64, addIndex) }},
		{"Run", func() { Run(64, 64, b) }},
		{"ForBody", func() { ForBody(64, valueBody{b.x, b.out}) }},
	} {
		// Not testing.AllocsPerRun: it sets GOMAXPROCS to 1, where no helper runs.
		// Warm up: helpers started, and as many task records made as can be in flight
		// (a record stays held by its copies queued for helpers until they drain).
		const calls = 2000
		for i := 0; i < calls; i++ {
			c.f()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		for i := 0; i < calls; i++ {
			c.f()
		}
		runtime.ReadMemStats(&ms)
		// A stray allocation (the runtime's own, a GC emptying the pool) is tolerated;
		// one per call is not.
		if n := ms.Mallocs - before; n >= calls/20 {
			t.Errorf("%s: %d allocations in %d calls, want 0 per call", c.name, n, calls)
		}
	}
}

// Run returns only when every part has finished, also when a helper's part outlasts the
// caller's polling for it (then the caller parks until it ends).
func TestRunWaitsForLongHelperParts(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs 2 Ps for a helper")
	}
	helped := 0
	for r := 0; r < 10; r++ {
		var started, done atomic.Bool
		var byHelper bool
		For(2, func(i int) {
			if i == 0 { // the caller's: wait (up to 100 ms) for a helper to start part 1
				for t0 := time.Now(); !started.Load() && time.Since(t0) < 100*time.Millisecond; {
					time.Sleep(20 * time.Microsecond)
				}
				byHelper = started.Load()
				return
			}
			started.Store(true)
			time.Sleep(5 * spin)
			done.Store(true)
		})
		if !done.Load() {
			t.Fatalf("round %d: For returned before a helper's part finished", r)
		}
		if byHelper {
			helped++
		}
	}
	if helped == 0 {
		t.Fatal("no helper took part 1 in 10 rounds")
	}
}

// BenchmarkRunShortParts is a loop of two parts of about 20 µs each, back to back: what
// the split products and loops of a training step look like to the pool.
func BenchmarkRunShortParts(b *testing.B) {
	var sink atomic.Int64
	spinFor := func(d time.Duration) {
		for t0 := time.Now(); time.Since(t0) < d; {
			sink.Add(1)
		}
	}
	for b.Loop() {
		For(2, func(int) { spinFor(20 * time.Microsecond) })
	}
}
