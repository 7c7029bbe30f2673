package datasets

import (
	"math/rand/v2"
	"strings"
)

// RandomText joins n pieces drawn with rng: the random texts of the tokenizer tests,
// inside the package and out.
func RandomText(rng *rand.Rand, pieces []string, n int) string {
	var b strings.Builder
	for ; n > 0; n-- {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}
