package datasets

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestGPT2MergeHeap: the heap merge of long chunks gives the scan's parts.
func TestGPT2MergeHeap(t *testing.T) {
	tok, err := NewGPT2Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "b", "ab", "the", "ing", "ation", "x", "é", "中", "🤗", "0", "00", "!", "==", "-"}
	for k := 0; k < 200; k++ {
		chunk := RandomText(rng, pieces, 1+rng.IntN(100))
		if got, want := tok.mergeHeap(chunk, nil), tok.mergeScan(chunk, nil); !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk %q:\nheap %v\nscan %v", chunk, got, want)
		}
	}
}

// TestBPEEncodeHeap: the heap encoding of long chunks gives minbpe's loop (the scan).
func TestBPEEncodeHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"a", "a", "aa", "b", "ab", "the", "x", "é", "🤗", "-", "--"}
	gen := func(n int) string { return RandomText(rng, pieces, n) }
	var corpus []string
	for k := 0; k < 50; k++ {
		corpus = append(corpus, gen(1+rng.IntN(30)))
	}
	tok, err := TrainBPE(strings.Join(corpus, ""), 400)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 200; k++ {
		chunk := gen(20 + rng.IntN(100))
		// minbpe's loop, as encodeChunk runs it below mergeHeapFrom.
		scan := tok.encodeScan(byteIDs(chunk, nil))
		heapIDs := byteIDs(chunk, nil)
		if got := tok.encodeHeap(heapIDs); !reflect.DeepEqual(got, scan) {
			t.Fatalf("chunk %q:\nheap %v\nscan %v", chunk, got, scan)
		}
	}
}
