package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Limits of AttentionPNG.
const (
	maxTokens   = 64   // longest token list drawn
	maxLabel    = 8    // runes of a token shown as a tick label
	weightSlack = 1e-6 // tolerance on the [0, 1] range of a weight
)

// AttentionPNG draws attention-weight heatmaps: weights[block][head][query][key]
// (values in [0,1], rows sum to 1; a nil block has no attention and is skipped), one
// panel per (block, head) in a grid (rows = blocks, columns = heads), each titled
// "block b, head h", with the tokens as tick labels on both axes (query on y from top
// to bottom, key on x) and a common colour scale from 0 (white) to 1 (dark blue),
// shown by a colour bar. The scale is a square root so diffuse attention (weights
// ≈ 1/T) still stands out from the masked zeros. Long token lists (up to 64) stay
// legible: the tick font shrinks and only every k-th token is labelled when the cells
// get too small; tokens longer than 8 runes are shortened, spaces show as "˽" and
// control characters escaped ("\n"). The image is sized to the grid (about 650×650
// pixels for 2×2 panels of 8 tokens). The PNG is written atomically like LossPNG.
//
// It is an error if there are no tokens or more than 64, no non-nil block, a block
// without heads, a matrix that is not len(tokens)×len(tokens), or a weight that is NaN
// or outside [0, 1].
func AttentionPNG(path, title string, weights [][][][]float64, tokens []string) error {
	var img image.Image
	err := safely("AttentionPNG", func() error {
		f, err := layoutAttention(title, weights, tokens)
		if err != nil {
			return err
		}
		img, err = f.render()
		return err
	})
	if err != nil {
		return err
	}
	return writePNG(path, img)
}

// attnFigure is the laid-out attention image.
type attnFigure struct {
	w, h    int // pixels
	title   string
	titleSz vg.Length
	n       int // tokens
	panels  []attnPanel
	bar     *plot.Plot
	barArea vg.Rectangle
}

// attnPanel is one (block, head) heatmap and the canvas area its plot is drawn into.
type attnPanel struct {
	block, head int
	p           *plot.Plot
	area        vg.Rectangle
}

// cells is a plot.Plotter drawing one T×T attention matrix as a heatmap: key k spans
// x ∈ [k-½, k+½], query q spans y ∈ [T-1-q-½, T-1-q+½] (queries read top to bottom).
// The cells are rasterized at the resolution of the output, which keeps them crisp and
// free of the hairline seams antialiased adjacent rectangles leave.
type cells struct {
	m    [][]float64
	cmap *blues
}

func (c cells) DataRange() (xmin, xmax, ymin, ymax float64) {
	n := float64(len(c.m))
	return -0.5, n - 0.5, -0.5, n - 0.5
}

func (c cells) Plot(dc draw.Canvas, p *plot.Plot) {
	n := len(c.m)
	trX, trY := p.Transforms(&dc)
	r := vg.Rectangle{
		Min: vg.Point{X: trX(-0.5), Y: trY(-0.5)},
		Max: vg.Point{X: trX(float64(n) - 0.5), Y: trY(float64(n) - 0.5)},
	}
	w := max(n, int(math.Round(r.Size().X.Dots(dpi))))
	h := max(n, int(math.Round(r.Size().Y.Dots(dpi))))
	colors := make([]color.Color, n*n)
	for q, row := range c.m {
		for k, v := range row {
			colors[q*n+k] = c.cmap.at(weightScale(v))
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		q := y * n / h // image row 0 is the top: query 0
		for x := range w {
			img.Set(x, y, colors[q*n+x*n/w])
		}
	}
	dc.DrawImage(r, img)
}

// weightScale maps an attention weight in [0, 1] to a position on the colour map. A
// square root: a linear scale leaves diffuse attention (weights ≈ 1/T) indistinguishable
// from the masked zeros, and the causal triangle invisible.
func weightScale(v float64) float64 { return math.Sqrt(math.Max(0, math.Min(1, v))) }

// checkAttention validates the input and returns the non-nil block indices and the
// largest head count.
func checkAttention(weights [][][][]float64, tokens []string) (blocks []int, heads int, err error) {
	n := len(tokens)
	switch {
	case len(weights) == 0:
		return nil, 0, errors.New("plots: AttentionPNG: no blocks")
	case n == 0:
		return nil, 0, errors.New("plots: AttentionPNG: no tokens")
	case n > maxTokens:
		return nil, 0, errors.Errorf("plots: AttentionPNG: %d tokens, at most %d can be drawn", n, maxTokens)
	}
	for b, blk := range weights {
		if blk == nil {
			continue
		}
		if len(blk) == 0 {
			return nil, 0, errors.Errorf("plots: AttentionPNG: block %d has no heads", b)
		}
		for h, m := range blk {
			if len(m) != n {
				return nil, 0, errors.Errorf("plots: AttentionPNG: block %d, head %d: %d query rows for %d tokens", b, h, len(m), n)
			}
			for q, row := range m {
				if len(row) != n {
					return nil, 0, errors.Errorf("plots: AttentionPNG: block %d, head %d, query %d: %d keys for %d tokens (ragged matrix)", b, h, q, len(row), n)
				}
				for k, v := range row {
					if math.IsNaN(v) {
						return nil, 0, errors.Errorf("plots: AttentionPNG: block %d, head %d: weight [%d][%d] is NaN", b, h, q, k)
					}
					if v < -weightSlack || v > 1+weightSlack {
						return nil, 0, errors.Errorf("plots: AttentionPNG: block %d, head %d: weight [%d][%d] = %g is outside [0, 1]", b, h, q, k, v)
					}
				}
			}
		}
		blocks = append(blocks, b)
		heads = max(heads, len(blk))
	}
	if len(blocks) == 0 {
		return nil, 0, errors.New("plots: AttentionPNG: every block is nil (no attention)")
	}
	return blocks, heads, nil
}

// ticks describes the tick labelling of a panel's axes.
type ticks struct {
	font   vg.Length // tick label font size
	every  int       // label every k-th token
	rotate bool      // key labels drawn vertically
}

// chooseTicks picks the tick font and labelling stride for cells of cell pixels.
func chooseTicks(labels []string, cell float64) ticks {
	const lineH = 1.333 * 1.25 // pixels of a label line per point of font size
	t := ticks{font: vg.Length(math.Min(10, cell/lineH)), every: 1}
	if t.font < 7 {
		t.font = 7
		t.every = int(math.Ceil(7 * lineH / cell))
	}
	sty := textStyle(t.font)
	for i, l := range labels {
		if i%t.every == 0 && sty.Width(l) > px(0.9*cell*float64(t.every)) {
			t.rotate = true
		}
	}
	return t
}

// tickMarks returns ticks at every token, labelled every k-th; pos maps a token index
// to its axis value.
func tickMarks(labels []string, every int, pos func(int) float64) plot.ConstantTicks {
	ts := make(plot.ConstantTicks, len(labels))
	for i, l := range labels {
		ts[i].Value = pos(i)
		if i%every == 0 {
			ts[i].Label = l
		}
	}
	return ts
}

// layoutAttention validates the input, builds one plot per panel and places the panels.
func layoutAttention(title string, weights [][][][]float64, tokens []string) (*attnFigure, error) {
	blocks, heads, err := checkAttention(weights, tokens)
	if err != nil {
		return nil, err
	}
	n := len(tokens)
	labels := make([]string, n)
	for i, t := range tokens {
		if t == "" {
			t = `""`
		}
		labels[i] = shorten(printable(t), maxLabel)
	}

	// Size of the heatmap of a panel in pixels: about 28 px a token, within
	// [220, 460], smaller for big grids so the image stays within about 4000 px.
	data := math.Max(220, math.Min(460, 28*float64(n)))
	const panelTitleSz, axisLabelSz = 11, 9
	const margin, barW, gap = 12, 90, 10
	var (
		tk             ticks
		extraW, extraH float64 // pixels around the heatmap of a panel
	)
	for {
		tk, extraW, extraH = panelRoom(labels, data, panelTitleSz, axisLabelSz)
		w := float64(heads) * (data + extraW + gap)
		h := float64(len(blocks)) * (data + extraH + gap)
		if data <= 120 || w <= 4000 && h <= 4000 {
			break
		}
		data -= 10
	}
	panelW := math.Ceil(data + extraW)
	panelH := math.Ceil(data + extraH)

	f := &attnFigure{title: title, n: n}
	f.w = int(2*margin + float64(heads)*(panelW+gap) + barW)
	f.titleSz = fitFont(title, 14, 8, px(float64(f.w)-20))
	titleH := 0.0
	if title != "" {
		titleH = (px(14) + textStyle(f.titleSz).Height(title)).Dots(dpi)
	}
	f.h = int(math.Ceil(titleH + float64(len(blocks))*(panelH+gap) + margin))
	top := float64(f.h) - titleH // y of the top of the grid, in pixels from the bottom

	cmap := newBlues(0, 1)
	for row, b := range blocks {
		for h, m := range weights[b] {
			p := plot.New()
			useSans(p)
			p.Title.Text = fmt.Sprintf("block %d, head %d", b, h)
			p.Title.TextStyle.Font.Size = panelTitleSz
			p.Title.Padding = px(4)
			p.Add(cells{m: m, cmap: cmap})
			for _, ax := range []*plot.Axis{&p.X, &p.Y} {
				ax.Padding = 0
				ax.Tick.Label.Font.Size = tk.font
				ax.Label.TextStyle.Font.Size = axisLabelSz
				ax.Label.Padding = px(2)
				ax.Tick.Length = px(4)
			}
			p.X.Label.Text, p.Y.Label.Text = "key", "query"
			p.X.Tick.Marker = tickMarks(labels, tk.every, func(i int) float64 { return float64(i) })
			p.Y.Tick.Marker = tickMarks(labels, tk.every, func(i int) float64 { return float64(n - 1 - i) })
			if tk.rotate {
				p.X.Tick.Label.Rotation = math.Pi / 2
				p.X.Tick.Label.XAlign = text.XRight
				p.X.Tick.Label.YAlign = text.YCenter
			}
			x0 := margin + float64(h)*(panelW+gap)
			y1 := top - float64(row)*(panelH+gap)
			area := vg.Rectangle{
				Min: vg.Point{X: px(x0), Y: px(y1 - panelH)},
				Max: vg.Point{X: px(x0 + panelW), Y: px(y1)},
			}
			f.panels = append(f.panels, attnPanel{block: b, head: h, p: p, area: squareData(p, area)})
		}
	}

	// The colour bar is linear in weightScale(weight); its ticks name weights.
	bar := plot.New()
	useSans(bar)
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true, Colors: 256})
	bar.HideX()
	bar.Y.Label.Text = "attention weight (square-root scale)"
	bar.Y.Label.TextStyle.Font.Size = axisLabelSz
	bar.Y.Tick.Label.Font.Size = 9
	bar.Y.Padding = 0
	var marks plot.ConstantTicks
	for _, v := range []float64{0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1} {
		marks = append(marks, plot.Tick{Value: weightScale(v), Label: strconv.FormatFloat(v, 'g', -1, 64)})
	}
	bar.Y.Tick.Marker = marks
	gridH := float64(len(blocks)) * (panelH + gap)
	barH := math.Min(gridH-2*gap, 360)
	barTop := top - (gridH-barH)/2
	barX := float64(f.w) - margin - barW
	f.barArea = vg.Rectangle{
		Min: vg.Point{X: px(barX), Y: px(barTop - barH)},
		Max: vg.Point{X: px(barX + barW - 20), Y: px(barTop)},
	}
	f.bar = bar
	return f, nil
}

// panelRoom returns the tick labelling for a heatmap of data pixels and the room in
// pixels its panel needs around it: y tick labels, x tick labels, axis labels, tick
// marks and the title.
func panelRoom(labels []string, data float64, titleSz, axisSz vg.Length) (tk ticks, w, h float64) {
	tk = chooseTicks(labels, data/float64(len(labels)))
	sty := textStyle(tk.font)
	var labelW vg.Length
	for i, l := range labels {
		if i%tk.every == 0 {
			labelW = max(labelW, sty.Width(l))
		}
	}
	labelH := sty.Height("Mg")
	if tk.rotate {
		labelH = labelW
	}
	axisH := textStyle(axisSz).Height("query")
	titleH := textStyle(titleSz).Height("block") + px(4)
	return tk, (labelW + axisH + px(20)).Dots(dpi), (labelH + axisH + titleH + px(20)).Dots(dpi)
}

// squareData shrinks area (centred) so the plot's data area inside it is square.
func squareData(p *plot.Plot, area vg.Rectangle) vg.Rectangle {
	for range 3 {
		d := p.DataCanvas(draw.Canvas{Rectangle: area})
		dw, dh := d.Max.X-d.Min.X, d.Max.Y-d.Min.Y
		switch {
		case dw > dh:
			area.Min.X += (dw - dh) / 2
			area.Max.X -= (dw - dh) / 2
		case dh > dw:
			area.Min.Y += (dh - dw) / 2
			area.Max.Y -= (dh - dw) / 2
		}
	}
	return area
}

// render draws the figure.
func (f *attnFigure) render() (image.Image, error) {
	var img image.Image
	err := safely("AttentionPNG", func() error {
		cv := newCanvas(f.w, f.h)
		c := draw.New(cv)
		drawTitle(c, f.title, f.titleSz)
		frame := draw.LineStyle{Color: color.Gray{Y: 120}, Width: px(1)}
		for _, pn := range f.panels {
			pc := draw.Canvas{Canvas: cv, Rectangle: pn.area}
			pn.p.Draw(pc)
			d := pn.p.DataCanvas(pc)
			c.SetLineStyle(frame)
			c.Stroke(d.Rectangle.Path())
		}
		bc := draw.Canvas{Canvas: cv, Rectangle: f.barArea}
		f.bar.Draw(bc)
		c.SetLineStyle(frame)
		c.Stroke(f.bar.DataCanvas(bc).Rectangle.Path())
		img = cv.Image()
		return nil
	})
	return img, err
}

// cellRect returns the pixel rectangle (image coordinates, y down) of the cell of
// query q and key k in the panel of block b, head h, and whether that panel exists.
func (f *attnFigure) cellRect(b, h, q, k int) (image.Rectangle, bool) {
	for _, pn := range f.panels {
		if pn.block != b || pn.head != h {
			continue
		}
		if q < 0 || q >= f.n || k < 0 || k >= f.n {
			return image.Rectangle{}, false
		}
		d := pn.p.DataCanvas(draw.Canvas{Rectangle: pn.area})
		trX, trY := pn.p.Transforms(&d)
		y := float64(f.n - 1 - q)
		x0, x1 := trX(float64(k)-0.5).Dots(dpi), trX(float64(k)+0.5).Dots(dpi)
		y0, y1 := trY(y-0.5).Dots(dpi), trY(y+0.5).Dots(dpi)
		return image.Rect(int(math.Ceil(x0)), int(math.Ceil(float64(f.h)-y1)),
			int(math.Floor(x1)), int(math.Floor(float64(f.h)-y0))), true
	}
	return image.Rectangle{}, false
}
