package datasets

import (
	"reflect"
	"testing"

	"github.com/attend-go/attend/internal/filetest"
)

// TestSplitGolden compares the hand-written split matchers with Python regex's findall
// of the two patterns (scripts/tokenizers/split_golden.py).
func TestSplitGolden(t *testing.T) {
	var golden struct {
		Cases []struct {
			Text       string
			GPT2, GPT4 []string
		}
	}
	filetest.ReadJSON(t, "testdata/tokenizers/split_golden.json", &golden)
	if len(golden.Cases) < 300 {
		t.Fatalf("%d golden cases, want at least 300", len(golden.Cases))
	}
	for _, c := range golden.Cases {
		for _, p := range []struct {
			name string
			next func(string, int) int
			want []string
		}{{"gpt2", nextGPT2, c.GPT2}, {"gpt4", nextGPT4, c.GPT4}} {
			got := []string{}
			splitChunks(c.Text, p.next, func(chunk string) { got = append(got, chunk) })
			want := p.want
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s split of %q:\n got %q\nwant %q", p.name, c.Text, got, want)
			}
		}
	}
}
