package explain

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// cell formats one number to 4 decimals; -0 prints as 0 and -Inf as -inf.
func cell(x float64) string {
	if math.IsInf(x, -1) {
		return "-inf"
	}
	return fmt.Sprintf("%.4f", x+0) // +0 turns -0 into 0
}

// Inline formats m on one line as nested lists, PyTorch's order: [[1.0100, 1.0641], …].
func Inline(m [][]float64) string {
	rs := make([]string, len(m))
	for i, row := range m {
		cs := make([]string, len(row))
		for j, x := range row {
			cs[j] = cell(x)
		}
		rs[i] = "[" + strings.Join(cs, ", ") + "]"
	}
	return "[" + strings.Join(rs, ", ") + "]"
}

// Table formats m as right-aligned columns, one line per row, each line ending in a
// newline. rowLabels (one per row) go in front; colLabels (one per column) above; either
// may be nil.
func Table(m [][]float64, rowLabels, colLabels []string) string {
	cells := make([][]string, len(m))
	width := 0
	for i, row := range m {
		cells[i] = make([]string, len(row))
		for j, x := range row {
			cells[i][j] = cell(x)
			width = max(width, len(cells[i][j]))
		}
	}
	for _, l := range colLabels {
		width = max(width, utf8.RuneCountInString(l))
	}
	lw := 0
	for _, l := range rowLabels {
		lw = max(lw, utf8.RuneCountInString(l))
	}
	pad := func(s string, w int) string { return strings.Repeat(" ", max(w-utf8.RuneCountInString(s), 0)) + s }
	var b strings.Builder
	if colLabels != nil {
		b.WriteString("  " + strings.Repeat(" ", lw))
		for _, l := range colLabels {
			b.WriteString("  " + pad(l, width))
		}
		b.WriteString("\n")
	}
	for i, row := range cells {
		b.WriteString("  ")
		if rowLabels != nil {
			b.WriteString(pad(rowLabels[i], lw))
		}
		for _, c := range row {
			b.WriteString("  " + pad(c, width))
		}
		b.WriteString("\n")
	}
	return b.String()
}
