package datasets_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/pkg/errors"

	"github.com/attend-go/attend/datasets"
)

func ExampleNewCharTokenizer() {
	tok, err := datasets.NewCharTokenizer("hello world")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	ids, _ := tok.Encode("hello")
	text, _ := tok.Decode(ids)
	fmt.Printf("%d symbols %q\n", tok.VocabSize(), strings.Join(tok.Vocab(), ""))
	fmt.Println(ids, text)

	_, err = tok.Encode("hello!")
	fmt.Println(errors.Is(err, datasets.ErrUnknownSymbol), err)
	// Output:
	// 8 symbols " dehlorw"
	// [3 2 4 4 5] hello
	// true datasets: char tokenizer: symbol '!' (U+0021) at byte offset 5: unknown symbol
}

func ExampleNewCharTokenizerFromVocab() {
	saved := []string{"\n", " ", "a", "b"} // e.g. read from a checkpoint config
	tok, err := datasets.NewCharTokenizerFromVocab(saved)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	ids, _ := tok.Encode("ab ba\n")
	fmt.Println(ids)
	// Output:
	// [2 3 1 3 2 0]
}

func ExampleNewWordTokenizer() {
	tok, err := datasets.NewWordTokenizer([]string{"the", "cat", "sat"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	ids, _ := tok.Encode("the  cat\nsat")
	text, _ := tok.Decode(ids)
	fmt.Println(ids, text)
	_, err = tok.Encode("the dog")
	fmt.Println(err)
	// Output:
	// [0 1 2] the cat sat
	// datasets: word tokenizer: word "dog" at byte offset 4: unknown symbol
}

func ExampleNewCorpus() {
	ids := make([]int, 400)
	c, err := datasets.NewCorpus(ids, 0.1)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(len(c.Train), len(c.Val))
	fmt.Println(c.Check(32))
	fmt.Println(c.Check(64))
	// Output:
	// 360 40
	// <nil>
	// datasets: corpus: validation split has 40 tokens, needs at least block+1 = 65: too short
}

func ExampleNewSampler() {
	data := []int{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	s, err := datasets.NewSampler(data, 2, 4, 1) // B = 2, T = 4
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	x, y := make([]int, 2*4), make([]int, 2*4)
	state, _ := s.State()
	_ = s.Next(x, y)
	fmt.Println("x", x[:4], x[4:])
	fmt.Println("y", y[:4], y[4:])

	_ = s.SetState(state) // resume: the same batch again
	_ = s.Next(x, y)
	fmt.Println("x", x[:4], x[4:])
	// Output:
	// x [15 16 17 18] [14 15 16 17]
	// y [16 17 18 19] [15 16 17 18]
	// x [15 16 17 18] [14 15 16 17]
}

func ExampleNewTask() {
	task, err := datasets.NewTask("reverse", datasets.TaskOptions{Length: 4, Alphabet: "abcd"})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	const B = 2
	T := task.BlockSize()
	x, y, scored := make([]int, B*T), make([]int, B*T), make([]bool, B*T)
	rng := rand.New(rand.NewPCG(5, 6))
	if err := task.Batch(rng, B, x, y, scored); err != nil {
		fmt.Println("error:", err)
		return
	}
	tok := task.Tokenizer()
	for b := range B {
		in, _ := tok.Decode(x[b*T : (b+1)*T])
		fmt.Println(in, y[b*T:(b+1)*T], scored[b*T:(b+1)*T])
	}
	p := task.Prompts()[0]
	answer, _ := task.Answer(p)
	fmt.Println(p + answer)
	// Inputs are s|f(s) without its last symbol; targets are -1 except where they
	// spell reverse(s) (ids a=0 … d=3), which are the scored positions.

	// Output:
	// accb|bcc [-1 -1 -1 -1 1 2 2 0] [false false false false true true true true]
	// cccd|dcc [-1 -1 -1 -1 3 2 2 2] [false false false false true true true true]
	// aaac|caaa
}

func ExampleStatQuestTask() {
	task := datasets.NewStatQuestTask()
	const B, T = 2, 5
	x, y, scored := make([]int, B*T), make([]int, B*T), make([]bool, B*T)
	_ = task.Batch(nil, B, x, y, scored)
	fmt.Println(x[:T], y[:T], scored[:T])
	for _, p := range task.Prompts() {
		answer, _ := task.Answer(p)
		fmt.Printf("%s -> %s\n", p, answer)
	}
	// Output:
	// [0 1 2 4 3] [-1 -1 -1 3 4] [false false false true true]
	// what is statquest <EOS> -> awesome <EOS>
	// statquest is what <EOS> -> awesome <EOS>
}

func ExampleAccuracy() {
	y := []int{-1, -1, 3, 4}
	scored := []bool{false, false, true, true}
	pred := []int{0, 1, 3, 0}
	correct, total, _ := datasets.Accuracy(pred, y, scored)
	fmt.Printf("%d/%d\n", correct, total)
	// Output:
	// 1/2
}
