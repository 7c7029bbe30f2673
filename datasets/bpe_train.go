package datasets

import (
	"container/heap"

	"github.com/pkg/errors"
)

// TrainBPE learns a byte-level BPE of vocabSize tokens (vocabSize-256 merges) from
// text, with exactly the merges of minbpe's RegexTokenizer.train (GPT4SplitPattern):
// each step joins the pair of adjacent ids counted most often over the chunks of text
// (occurrences may overlap, as get_stats counts them), and among pairs of that count
// the one that occurs first in the text — the first that Python's dict holds, which
// max() returns.
//
// Instead of minbpe's recount of every pair at each step it counts each distinct chunk
// once with its multiplicity and, at each merge, updates the counts of the chunks that
// hold the pair only, with a heap ordered by count and first occurrence: learning 4,096
// tokens from Tiny Shakespeare takes well under a second.
//
// vocabSize < 256 or > MaxBPEVocabSize wraps ErrInvalidArgument; an empty text ErrEmpty; invalid UTF-8
// ErrInvalidUTF8 with the byte offset; a text too small to give vocabSize-256 merges
// (no adjacent pair left) ErrTooShort.
func TrainBPE(text string, vocabSize int) (*BPETokenizer, error) {
	if vocabSize < 256 || vocabSize > MaxBPEVocabSize {
		return nil, errors.Wrapf(ErrInvalidArgument, "datasets: bpe: vocabulary size %d, want 256 to %d", vocabSize, MaxBPEVocabSize)
	}
	if text == "" {
		return nil, errors.Wrap(ErrEmpty, "datasets: bpe: training text")
	}
	if err := checkUTF8("bpe: training text", text); err != nil {
		return nil, err
	}
	tr := newBPETrainer(text)
	merges := make([][2]int, 0, min(vocabSize-256, len(text)))
	for len(merges) < vocabSize-256 {
		p, ok := tr.best()
		if !ok {
			return nil, errors.Wrapf(ErrTooShort, "datasets: bpe: after %d merges no pair of adjacent tokens is left in the text; vocabulary size %d needs %d merges", len(merges), vocabSize, vocabSize-256)
		}
		a, b := int32(p>>32), int32(uint32(p))
		tr.merge(a, b, int32(256+len(merges)))
		merges = append(merges, [2]int{int(a), int(b)})
	}
	return NewBPETokenizer(SavedBPE{Split: BPESplitGPT4, Merges: merges})
}

// bpeWord is one distinct chunk of the training text: its current ids, the byte offset
// of each id in the chunk, and how many times the chunk occurs.
type bpeWord struct {
	ids, offs []int32
	n         int64
}

// pairStat is what the trainer knows of one pair of ids. first is a lower bound of the
// key (word<<32 | byte offset) of the pair's first occurrence in the text, exact when
// exact is set; words lists the words that hold or held the pair (stale and repeated
// entries are skipped when read).
type pairStat struct {
	count int64
	first int64
	exact bool
	words []int32
}

// bpeEntry is a heap entry: a pair with the count and first-occurrence key it had
// when pushed. Stale entries are dropped when popped.
type bpeEntry struct {
	count, first int64
	pair         uint64
}

// bpeHeap pops the highest count, then the lowest first-occurrence key.
type bpeHeap []bpeEntry

func (h bpeHeap) Len() int { return len(h) }
func (h bpeHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	return h[i].first < h[j].first
}
func (h bpeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *bpeHeap) Push(x any)   { *h = append(*h, x.(bpeEntry)) }
func (h *bpeHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// bpeTrainer holds the invariant that every pair with a positive count has a heap entry
// with its current count and a key at most its true first-occurrence key, so that the
// first valid entry popped is minbpe's choice.
type bpeTrainer struct {
	words []bpeWord
	stats map[uint64]*pairStat
	h     bpeHeap
	stamp []int32 // stamp[w] == the merge that last visited word w

	// scratch of merge
	before       []uint64
	after        map[uint64]int32
	touched      map[uint64]touchedPair
	round        int32
	oldIDs, offs []int32
}

type touchedPair struct{ count, first int64 }

func wordKey(w, off int32) int64 { return int64(w)<<32 | int64(off) }

func newBPETrainer(text string) *bpeTrainer {
	tr := &bpeTrainer{stats: make(map[uint64]*pairStat), after: make(map[uint64]int32), touched: make(map[uint64]touchedPair)}
	index := make(map[string]int32)
	splitChunks(text, nextGPT4, func(chunk string) {
		w, ok := index[chunk]
		if !ok {
			w = int32(len(tr.words))
			index[chunk] = w
			word := bpeWord{ids: make([]int32, len(chunk)), offs: make([]int32, len(chunk))}
			for i := 0; i < len(chunk); i++ {
				word.ids[i], word.offs[i] = int32(chunk[i]), int32(i)
			}
			tr.words = append(tr.words, word)
		}
		tr.words[w].n++
	})
	for w := range tr.words {
		word := &tr.words[w]
		for i := 0; i+1 < len(word.ids); i++ {
			p := pairKey(word.ids[i], word.ids[i+1])
			st := tr.stats[p]
			if st == nil {
				st = &pairStat{first: wordKey(int32(w), word.offs[i]), exact: true}
				tr.stats[p] = st
			}
			st.count += word.n
			if k := len(st.words); k == 0 || st.words[k-1] != int32(w) {
				st.words = append(st.words, int32(w))
			}
		}
	}
	tr.h = make(bpeHeap, 0, len(tr.stats))
	for p, st := range tr.stats {
		tr.h = append(tr.h, bpeEntry{st.count, st.first, p})
	}
	heap.Init(&tr.h)
	tr.stamp = make([]int32, len(tr.words))
	return tr
}

// firstIn returns the byte offset of the first occurrence of (a, b) in word, or -1.
func firstIn(word *bpeWord, a, b int32) int32 {
	for i := 0; i+1 < len(word.ids); i++ {
		if word.ids[i] == a && word.ids[i+1] == b {
			return word.offs[i]
		}
	}
	return -1
}

// refresh makes st.first exact, and drops from st.words the words without the pair.
func (tr *bpeTrainer) refresh(p uint64, st *pairStat) {
	a, b := int32(p>>32), int32(uint32(p))
	tr.round++
	kept := st.words[:0]
	first := int64(-1)
	for _, w := range st.words {
		if tr.stamp[w] == -tr.round {
			continue
		}
		tr.stamp[w] = -tr.round
		off := firstIn(&tr.words[w], a, b)
		if off < 0 {
			continue
		}
		kept = append(kept, w)
		if k := wordKey(w, off); first < 0 || k < first {
			first = k
		}
	}
	st.words, st.first, st.exact = kept, first, true
}

// best returns minbpe's next merge: the pair of highest count that occurs first.
func (tr *bpeTrainer) best() (uint64, bool) {
	for tr.h.Len() > 0 {
		e := heap.Pop(&tr.h).(bpeEntry)
		st := tr.stats[e.pair]
		if st == nil || st.count != e.count || st.count <= 0 {
			continue
		}
		if !st.exact {
			tr.refresh(e.pair, st)
		}
		if e.first != st.first {
			heap.Push(&tr.h, bpeEntry{st.count, st.first, e.pair})
			continue
		}
		return e.pair, true
	}
	return 0, false
}

// merge joins (a, b) into id in every word that holds it and updates the counts and
// first-occurrence keys of the pairs around it.
func (tr *bpeTrainer) merge(a, b, id int32) {
	p := pairKey(a, b)
	st := tr.stats[p]
	tr.round++
	clear(tr.touched)
	touch := func(q uint64, s *pairStat) {
		if _, ok := tr.touched[q]; !ok {
			tr.touched[q] = touchedPair{s.count, s.first}
		}
	}
	for _, w := range st.words {
		if tr.stamp[w] == tr.round {
			continue
		}
		tr.stamp[w] = tr.round
		word := &tr.words[w]
		if firstIn(word, a, b) < 0 {
			continue
		}
		tr.before = tr.before[:0]
		for i := 0; i+1 < len(word.ids); i++ {
			tr.before = append(tr.before, pairKey(word.ids[i], word.ids[i+1]))
		}
		word.ids = mergeIDs(word.ids, word.offs, a, b, id)
		clear(tr.after)
		for i := 0; i+1 < len(word.ids); i++ {
			q := pairKey(word.ids[i], word.ids[i+1])
			if _, seen := tr.after[q]; !seen {
				tr.after[q] = word.offs[i]
			}
		}
		for _, q := range tr.before {
			s := tr.stats[q]
			touch(q, s)
			s.count -= word.n
			if _, still := tr.after[q]; !still && int32(s.first>>32) == w {
				s.exact = false // its first occurrence was here and is gone
			}
		}
		for i := 0; i+1 < len(word.ids); i++ {
			q := pairKey(word.ids[i], word.ids[i+1])
			s := tr.stats[q]
			if s == nil {
				s = &pairStat{first: wordKey(w, word.offs[i]), exact: true}
				tr.stats[q] = s
			}
			touch(q, s)
			s.count += word.n
			if k := len(s.words); k == 0 || s.words[k-1] != w {
				s.words = append(s.words, w)
			}
		}
		for q, off := range tr.after {
			s := tr.stats[q]
			k := wordKey(w, off)
			switch {
			case k <= s.first:
				s.first, s.exact = k, true
			case s.exact && int32(s.first>>32) == w:
				s.first = k // still first in this word, which was the first to hold it
			}
		}
	}
	st.count, st.words = 0, nil
	delete(tr.stats, p)
	for q, old := range tr.touched {
		s := tr.stats[q]
		if s == nil || s.count <= 0 {
			continue
		}
		if s.count != old.count || s.first < old.first {
			heap.Push(&tr.h, bpeEntry{s.count, s.first, q})
		}
	}
}
