// Package par runs loops over the available cores with long-lived helper goroutines
// that poll for work briefly before they sleep: waking a sleeping goroutine costs about
// 50 µs on the small virtual machines attend targets, more than many of a training
// step's loops take in all.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spin is how long an idle helper polls for work before it blocks.
const spin = 200 * time.Microsecond

type task struct {
	n    int64
	next atomic.Int64
	fn   func(i int)
	wg   sync.WaitGroup // one count per index
}

// run takes indices until none is left.
func (t *task) run() {
	for {
		i := t.next.Add(1) - 1
		if i >= t.n {
			return
		}
		t.fn(int(i))
		t.wg.Done()
	}
}

var (
	once    sync.Once
	helpers []chan *task
)

func start() {
	for i := 1; i < runtime.GOMAXPROCS(0); i++ {
		ch := make(chan *task, 1)
		helpers = append(helpers, ch)
		go helper(ch)
	}
}

func helper(ch chan *task) {
	for {
		var t *task
		deadline := time.Now().Add(spin)
	poll:
		for {
			select {
			case t = <-ch:
				break poll
			default:
				if time.Now().After(deadline) {
					t = <-ch
					break poll
				}
				runtime.Gosched()
			}
		}
		t.run()
	}
}

// For calls fn(i) for every i in [0, n), on the calling goroutine and on the helpers,
// and returns when all calls have returned. The caller never waits for a helper that has
// not started: a late helper finds nothing left to do.
func For(n int, fn func(i int)) {
	if n <= 0 {
		return
	}
	once.Do(start)
	if n == 1 || len(helpers) == 0 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	t := &task{n: int64(n), fn: fn}
	t.wg.Add(n)
	for _, ch := range helpers {
		select {
		case ch <- t:
		default: // that helper is still busy with an earlier task (nested For): skip it
		}
	}
	t.run()
	t.wg.Wait()
}
