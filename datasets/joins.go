package datasets

import (
	"container/heap"
	"math"
)

// joins is the heap merge the two byte-pair encoders share (BPETokenizer.encodeHeap,
// GPT2Tokenizer.mergeHeap), O(n log n): the positions are a linked list (next, prev; −1
// ends it), rank[i] is the rank of joining position i with the next one (math.MaxInt32
// for none), and the candidate joins a heap ordered by rank, then position; an entry
// whose rank is no longer its position's is stale and skipped.
type joins struct{ next, prev, rank []int32 }

// newJoins returns the list of positions 0 … n−1 (n ≥ 1), none ranked yet.
func newJoins(n int) *joins {
	js := &joins{next: make([]int32, n), prev: make([]int32, n), rank: make([]int32, n)}
	for i := range js.next {
		js.next[i], js.prev[i], js.rank[i] = int32(i+1), int32(i-1), math.MaxInt32
	}
	js.next[n-1] = -1
	return js
}

// run makes the joins, the lowest rank first and the leftmost of equal ranks, until none
// is left: joining i with next[i] removes next[i] from the list, calls joined(i, rank)
// (when joined is not nil), then ranks i and the position before it again with rankOf,
// which reads the list as it stands.
func (js *joins) run(rankOf func(i int32) int32, joined func(i, rank int32)) {
	next, prev, rank := js.next, js.prev, js.rank
	h := make(candHeap, 0, len(next))
	for i := int32(0); int(i)+1 < len(next); i++ {
		if rank[i] = rankOf(i); rank[i] != math.MaxInt32 {
			h = append(h, cand{rank[i], i})
		}
	}
	heap.Init(&h)
	for h.Len() > 0 {
		c := heap.Pop(&h).(cand)
		i := c.at
		if rank[i] != c.rank {
			continue // stale: the position was removed or its join changed
		}
		j := next[i]
		rank[j] = math.MaxInt32
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if joined != nil {
			joined(i, c.rank)
		}
		for _, b := range [2]int32{i, prev[i]} {
			if b < 0 {
				continue
			}
			if rank[b] = rankOf(b); rank[b] != math.MaxInt32 {
				heap.Push(&h, cand{rank[b], b})
			}
		}
	}
}

// cand is a candidate join: position at with the next one, at rank.
type cand struct{ rank, at int32 }

// candHeap pops the lowest rank, the leftmost first.
type candHeap []cand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	return h[i].rank < h[j].rank || h[i].rank == h[j].rank && h[i].at < h[j].at
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(cand)) }
func (h *candHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
