// Package par is attend's one pool of helper goroutines: the parallel loops of the graph
// kernels (For) and the split matrix products of internal/sgemm (Run) share it.
//
// The pool has GOMAXPROCS-1 helpers, started on first use (more are started if
// GOMAXPROCS grows), that live for the life of the process. After each piece of work a
// helper polls for the next one for 200 µs, yielding with runtime.Gosched, because
// waking a parked goroutine costs about 50 µs on the small virtual machines attend
// targets — more than many of a training step's loops take in all — and a step's loops
// and products come back to back. Then it parks on a channel receive, so an idle
// process does not burn its cores.
//
// The caller of For or Run always works on its own loop too and never waits for a part
// that nobody has started: a busy or late helper only costs speed, so nested and
// concurrent calls cannot deadlock. When it has run out of parts to take it polls, for up
// to the same 200 µs, for the helpers to finish theirs before it parks: parking there at
// the end of every loop and product cost a nanogpt-cpu training step 11% here.
//
// The only tunable is the cap on goroutines per loop, set with SetThreads.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spin is how long an idle helper polls for work before it parks.
const spin = 200 * time.Microsecond

// Body is a loop body: Do(i) runs part i of a loop. Do is called from several
// goroutines at once, once for each part.
type Body interface {
	Do(i int)
}

// Func makes a func a Body (a func value is one word: the conversion allocates nothing).
type Func func(i int)

// Do calls f(i).
func (f Func) Do(i int) { f(i) }

// task is one call of Run, shared by the caller and the helpers it was handed to.
type task struct {
	refs atomic.Int32 // the caller and each queued copy
	// span holds the parts not yet taken, [lo, hi), as lo<<32 | hi. The caller takes
	// parts from the front, helpers from the back, so in a loop of similar calls each
	// goroutine tends to get the same data as last time, still in its core's cache.
	span atomic.Uint64
	wg   sync.WaitGroup // one count per part
	left atomic.Int32   // parts not finished yet: the caller polls it before it waits on wg
	body Body
}

// freeTasks holds task records for reuse. Not a sync.Pool: the last holder of a task,
// which puts it back, is often a helper, and a sync.Pool keeps that in the helper's P
// where the caller's Get does not look first, so it would allocate a new one.
var freeTasks = make(chan *task, 64)

func newTask() *task {
	select {
	case t := <-freeTasks:
		return t
	default:
		return new(task)
	}
}

// take claims a part from the front or the back; ok is false when none is left.
func (t *task) take(front bool) (i int, ok bool) {
	for {
		s := t.span.Load()
		lo, hi := uint32(s>>32), uint32(s)
		if lo >= hi {
			return 0, false
		}
		ns, i := uint64(lo+1)<<32|uint64(hi), int(lo)
		if !front {
			ns, i = uint64(lo)<<32|uint64(hi-1), int(hi-1)
		}
		if t.span.CompareAndSwap(s, ns) {
			return i, true
		}
	}
}

// work runs parts until none is left.
func (t *task) work(front bool) {
	for {
		i, ok := t.take(front)
		if !ok {
			return
		}
		t.body.Do(i)
		t.left.Add(-1)
		t.wg.Done()
	}
}

func (t *task) release() {
	if t.refs.Add(-1) == 0 {
		t.body = nil
		select {
		case freeTasks <- t:
		default: // enough spare records
		}
	}
}

// Helpers take tasks from queue. A task is queued once per helper it may use; a copy
// that a helper takes after the task is done finds no part left and is dropped.
var (
	queue     = make(chan *task, 64)
	helpersMu sync.Mutex
	helpers   atomic.Int32
)

// ensureHelpers starts helpers until there are n.
func ensureHelpers(n int) {
	if int(helpers.Load()) >= n {
		return
	}
	helpersMu.Lock()
	for int(helpers.Load()) < n {
		go helper()
		helpers.Add(1)
	}
	helpersMu.Unlock()
}

func helper() {
	for t := range queue { // parked here when idle
		t.work(false)
		t.release()
		// Poll for the next task for a while before parking again.
		for deadline := time.Now().Add(spin); time.Now().Before(deadline); {
			select {
			case t := <-queue:
				t.work(false)
				t.release()
				deadline = time.Now().Add(spin)
			default:
				runtime.Gosched()
			}
		}
	}
}

// maxThreads caps the goroutines one loop uses (see SetThreads); 0 means no cap.
var maxThreads atomic.Int32

// Threads is the most goroutines one For or Run call uses, the caller's included:
// runtime.GOMAXPROCS(0), or less after SetThreads.
func Threads() int {
	p := runtime.GOMAXPROCS(0)
	if c := int(maxThreads.Load()); c > 0 && c < p {
		return c
	}
	return p
}

// SetThreads caps the goroutines one For or Run call uses (n < 1 removes the cap;
// GOMAXPROCS stays the upper bound) and returns the previous cap (0: none). With
// SetThreads(1) every loop runs on its caller.
func SetThreads(n int) int { return int(maxThreads.Swap(int32(max(n, 0)))) }

// Run calls body.Do(i) for every i in [0, n) on the calling goroutine and on up to
// threads-1 helpers (at most Threads()-1), and returns when every call has returned.
// n must fit in 32 bits.
func Run(n, threads int, body Body) {
	if n <= 0 {
		return
	}
	h := min(threads, Threads(), n) - 1
	if h < 1 {
		for i := 0; i < n; i++ {
			body.Do(i)
		}
		return
	}
	ensureHelpers(runtime.GOMAXPROCS(0) - 1)
	t := newTask()
	t.body = body
	t.span.Store(uint64(n))
	t.refs.Store(int32(1 + h))
	t.wg.Add(n)
	t.left.Store(int32(n))
	for i := 0; i < h; i++ {
		select {
		case queue <- t:
		default: // queue full (many concurrent callers): do without
			t.refs.Add(-1)
		}
	}
	t.work(true)
	// When no part is left to take, helpers may still be running their last ones: poll
	// for them (for up to spin) rather than park in wg.Wait at once, whose wake-up costs
	// as much as a part takes.
	for deadline := time.Now().Add(spin); t.left.Load() > 0 && time.Now().Before(deadline); {
		runtime.Gosched()
	}
	t.wg.Wait()
	t.release()
}

// For calls fn(i) for every i in [0, n) on the calling goroutine and on the helpers, and
// returns when all calls have returned. A closure that captures variables is allocated
// at every call; ForBody with a struct avoids that.
func For(n int, fn func(i int)) { Run(n, n, Func(fn)) }

// ForBody calls b.Do(i) for every i in [0, n), like For. b is a value (typically a
// struct of the loop's operands with a Do method) and nothing is allocated, where a
// capturing closure passed to For is allocated at every call: a loop split across
// helpers copies b into a box that the helpers share, taken from a pool of boxes for
// b's type.
func ForBody[B Body](n int, b B) {
	if n < 2 || Threads() < 2 {
		for i := 0; i < n; i++ {
			b.Do(i)
		}
		return
	}
	x := boxPool[B]().Get().(*bodyBox[B])
	x.b = b
	Run(n, n, x) // every Do has returned: x is no longer used
	var zero B
	x.b = zero
	boxPool[B]().Put(x)
}

// bodyBox is a Body's heap copy, shared with the helpers.
type bodyBox[B Body] struct{ b B }

// boxPools holds a sync.Pool of *bodyBox[B] for each body type B that ForBody has split,
// keyed by the nil *B (an interface holding a pointer: no allocation).
var boxPools sync.Map

// boxPool is the pool of ForBody's boxes for B.
func boxPool[B Body]() *sync.Pool {
	key := (*B)(nil)
	if p, ok := boxPools.Load(key); ok {
		return p.(*sync.Pool)
	}
	p, _ := boxPools.LoadOrStore(key, &sync.Pool{New: func() any { return new(bodyBox[B]) }})
	return p.(*sync.Pool)
}

func (x *bodyBox[B]) Do(i int) { x.b.Do(i) }
