package datasets

import (
	"unicode"
	"unicode/utf8"
)

// The two split patterns of byte-level BPE tokenizers, as hand-written matchers that
// give exactly the chunks a backtracking regex engine (Python's regex, tiktoken's
// fancy-regex) finds with findall. \s is Unicode's White_Space property, which is what
// unicode.IsSpace tests (Python's regex and Rust's regex agree on it; str.isspace does
// not: it also counts U+001C…U+001F). \p{L} is unicode.IsLetter and \p{N}
// unicode.IsNumber.
const (
	// GPT2SplitPattern is GPT-2's pre-tokenization regex (openai/gpt-2 encoder.py,
	// tiktoken's r50k_base).
	GPT2SplitPattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// GPT4SplitPattern is GPT-4's (cl100k_base) pre-tokenization regex as minbpe
	// writes it.
	GPT4SplitPattern = `'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
)

// Character classes of the ASCII range: bit 0 letter, bit 1 number, bit 2 space.
const (
	clsL = 1 << iota
	clsN
	clsS
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		switch {
		case unicode.IsLetter(r):
			t[r] = clsL
		case unicode.IsNumber(r):
			t[r] = clsN
		case unicode.IsSpace(r):
			t[r] = clsS
		}
	}
	return t
}()

// classAt returns the class bits of the rune at s[i:] and its size; i must be < len(s).
// An invalid byte counts as one "other" rune (neither letter, number nor space).
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r):
		return clsL, size
	case unicode.IsNumber(r):
		return clsN, size
	case unicode.IsSpace(r):
		return clsS, size
	}
	return 0, size
}

// runOf returns the end of the longest run of runes from i whose class is want (0 for
// "other": not letter, number or space).
func runOf(s string, i int, want uint8) int {
	for i < len(s) {
		c, size := classAt(s, i)
		if c != want {
			break
		}
		i += size
	}
	return i
}

// spaceRun matches \s+(?!\S)|\s+ at i, where s[i:] starts with whitespace: the whole
// whitespace run if it ends the text or is one rune, else the run without its last rune.
func spaceRun(s string, i int) int {
	j, last := i, i
	for j < len(s) {
		c, size := classAt(s, j)
		if c != clsS {
			break
		}
		last = j
		j += size
	}
	if j == len(s) || last == i {
		return j
	}
	return last
}

// contraction returns the length of the contraction suffix at s[i:] (which starts with an
// apostrophe), or 0; fold allows upper case (GPT-4's (?i:…)).
func contraction(s string, i int, fold bool) int {
	if i+1 >= len(s) {
		return 0
	}
	lower := func(c byte) byte {
		if fold && 'A' <= c && c <= 'Z' {
			return c + ('a' - 'A')
		}
		return c
	}
	switch lower(s[i+1]) {
	case 's', 't', 'm', 'd':
		return 2
	}
	if i+2 < len(s) {
		a, b := lower(s[i+1]), lower(s[i+2])
		if a == 'l' && b == 'l' || a == 'v' && b == 'e' || a == 'r' && b == 'e' {
			return 3
		}
	}
	return 0
}

// nextGPT2 returns the end of the chunk of GPT2SplitPattern that starts at i < len(s).
func nextGPT2(s string, i int) int {
	if s[i] == '\'' {
		if n := contraction(s, i, false); n > 0 {
			return i + n
		}
	}
	c, size := classAt(s, i)
	start := i
	if s[i] == ' ' && i+1 < len(s) {
		// ` ?X+`: the space goes with a following letter, number or "other" run.
		if c2, size2 := classAt(s, i+1); c2 != clsS {
			return runOf(s, i+1+size2, c2)
		}
	}
	if c != clsS {
		return runOf(s, start+size, c)
	}
	return spaceRun(s, i)
}

// nextGPT4 returns the end of the chunk of GPT4SplitPattern that starts at i < len(s).
func nextGPT4(s string, i int) int {
	if s[i] == '\'' {
		if n := contraction(s, i, true); n > 0 {
			return i + n
		}
	}
	c, size := classAt(s, i)
	// [^\r\n\p{L}\p{N}]?+\p{L}+
	if c == clsL {
		return runOf(s, i+size, clsL)
	}
	if c != clsN && s[i] != '\r' && s[i] != '\n' && i+size < len(s) {
		if c2, size2 := classAt(s, i+size); c2 == clsL {
			return runOf(s, i+size+size2, clsL)
		}
	}
	// \p{N}{1,3}
	if c == clsN {
		j := i + size
		for k := 0; k < 2 && j < len(s); k++ {
			c2, size2 := classAt(s, j)
			if c2 != clsN {
				break
			}
			j += size2
		}
		return j
	}
	//  ?[^\s\p{L}\p{N}]++[\r\n]*
	j := -1
	if c == 0 {
		j = runOf(s, i+size, 0)
	} else if s[i] == ' ' && i+1 < len(s) {
		if c2, size2 := classAt(s, i+1); c2 == 0 {
			j = runOf(s, i+1+size2, 0)
		}
	}
	if j >= 0 {
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	// c is whitespace here. \s*[\r\n]: up to the last \r or \n of the whitespace run.
	end, nl := i, -1
	for end < len(s) {
		c2, size2 := classAt(s, end)
		if c2 != clsS {
			break
		}
		if s[end] == '\r' || s[end] == '\n' {
			nl = end
		}
		end += size2
	}
	if nl >= 0 {
		return nl + 1
	}
	return spaceRun(s, i)
}

// splitChunks calls yield with each chunk of s found by next, in order.
func splitChunks(s string, next func(string, int) int, yield func(chunk string)) {
	for i := 0; i < len(s); {
		j := next(s, i)
		yield(s[i:j])
		i = j
	}
}

// SplitGPT2 returns the chunks of text under GPT2SplitPattern (what Python's
// regex.findall returns), the pieces GPT2Tokenizer encodes separately.
func SplitGPT2(text string) []string { return split(text, nextGPT2) }

// SplitGPT4 returns the chunks of text under GPT4SplitPattern, the pieces a
// BPETokenizer learns from and encodes separately.
func SplitGPT4(text string) []string { return split(text, nextGPT4) }

func split(text string, next func(string, int) int) []string {
	out := []string{}
	splitChunks(text, next, func(c string) { out = append(out, c) })
	return out
}
