package datasets

import (
	"math/rand/v2"
	"slices"
	"strings"
)

// statQuestVocab is the vocabulary of StatQuest's "Decoder-only transformers" video,
// in its id order.
var statQuestVocab = []string{"what", "is", "statquest", "awesome", "<EOS>"}

var statQuestSequences = []string{
	"what is statquest <EOS> awesome <EOS>",
	"statquest is what <EOS> awesome <EOS>",
}

const statQuestAnswer = "awesome <EOS>"

// StatQuestTask is the two-sentence word task from StatQuest's decoder-only
// transformer example. The vocabulary is what, is, statquest, awesome, <EOS> (ids 0–4)
// and the two sequences of 6 tokens are
//
//	what is statquest <EOS> awesome <EOS>
//	statquest is what <EOS> awesome <EOS>
//
// T = 5: x is the first 5 tokens and y the last 5; the positions t = 3 and 4, which
// predict "awesome" and the final "<EOS>", are scored. Row b of a batch is sequence
// b mod 2, so any even batch size holds both equally; rng is not used and may be nil.
type StatQuestTask struct {
	tok  *WordTokenizer
	seqs [][]int
}

// NewStatQuestTask returns the statquest task.
func NewStatQuestTask() *StatQuestTask {
	ids := make(map[string]int, len(statQuestVocab))
	for i, w := range statQuestVocab {
		ids[w] = i
	}
	return &StatQuestTask{
		tok: &WordTokenizer{vocab: slices.Clone(statQuestVocab), ids: ids},
		// statQuestSequences in ids; a test checks they decode to the text.
		seqs: [][]int{{0, 1, 2, 4, 3, 4}, {2, 1, 0, 4, 3, 4}},
	}
}

// Name returns "statquest".
func (t *StatQuestTask) Name() string { return "statquest" }

// Tokenizer returns the word tokenizer over the 5 words.
func (t *StatQuestTask) Tokenizer() Tokenizer { return t.tok }

// BlockSize returns 5.
func (t *StatQuestTask) BlockSize() int { return 5 }

// Prompts returns "what is statquest <EOS>" and "statquest is what <EOS>".
func (t *StatQuestTask) Prompts() []string {
	p := make([]string, len(statQuestSequences))
	for i, s := range statQuestSequences {
		p[i] = strings.TrimSuffix(s, " "+statQuestAnswer)
	}
	return p
}

// Answer returns "awesome <EOS>" for either prompt (compared word by word).
func (t *StatQuestTask) Answer(prompt string) (string, bool) {
	if slices.Contains(t.Prompts(), strings.Join(strings.Fields(prompt), " ")) {
		return statQuestAnswer, true
	}
	return "", false
}

// Batch fills B rows, row b being sequence b mod 2.
func (t *StatQuestTask) Batch(_ *rand.Rand, B int, x, y []int, scored []bool) error {
	const T = 5
	if err := checkBatch("statquest", B, T, x, y, scored); err != nil {
		return err
	}
	for b := 0; b < B; b++ {
		seq, row := t.seqs[b%len(t.seqs)], b*T
		copy(x[row:row+T], seq[:T])
		for i := 0; i < T; i++ {
			if i >= 3 {
				y[row+i], scored[row+i] = seq[i+1], true
			} else {
				y[row+i], scored[row+i] = IgnoreIndex, false
			}
		}
	}
	return nil
}
