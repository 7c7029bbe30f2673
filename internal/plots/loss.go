package plots

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"
	"strconv"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Point is one evaluation: the step and its mean training and validation loss (NaN = absent).
type Point struct {
	Step       int
	Train, Val float64
}

// StepLoss is one training step's loss.
type StepLoss struct {
	Step int
	Loss float64
}

// Size of the loss image in pixels.
const lossW, lossH = 800, 500

// Line colours of the loss curves.
var (
	trainColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	valColor   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // red
	// evalTrainColor is the training loss measured at each evaluation.
	evalTrainColor = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff} // green
)

// LossPNG draws the losses against step into path as an 800×500 PNG: each
// evaluation's training and validation loss (lines with markers) and, when steps is not
// empty, every step's training loss as a thin pale line under its smoothed curve (the
// debiased exponential moving average of weight 0.9 that TensorBoard and report.html
// draw). The loss axis is logarithmic when the losses span more than a factor 10, so a
// fast start does not flatten the rest. Legend, axis labels "step" and "loss", the
// title. Written atomically (temp file in the same directory + rename; no temp file
// left on error). NaN losses are absent points; a curve with no points is left out. It
// is an error if pts and steps hold no loss at all, or an infinite one.
func LossPNG(path, title string, pts []Point, steps []StepLoss) error {
	img, err := renderLoss(title, pts, steps)
	if err != nil {
		return err
	}
	return writePNG(path, img)
}

// renderLoss draws the loss image.
func renderLoss(title string, pts []Point, steps []StepLoss) (image.Image, error) {
	if len(pts) == 0 && len(steps) == 0 {
		return nil, errors.New("plots: LossPNG: no points")
	}
	sorted := append([]Point(nil), pts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Step < sorted[j].Step })
	var train, val plotter.XYs
	for _, p := range sorted {
		if math.IsInf(p.Train, 0) || math.IsInf(p.Val, 0) {
			return nil, errors.Errorf("plots: LossPNG: infinite loss at step %d", p.Step)
		}
		if !math.IsNaN(p.Train) {
			train = append(train, plotter.XY{X: float64(p.Step), Y: p.Train})
		}
		if !math.IsNaN(p.Val) {
			val = append(val, plotter.XY{X: float64(p.Step), Y: p.Val})
		}
	}
	var raw plotter.XYs
	for _, st := range steps {
		if math.IsInf(st.Loss, 0) {
			return nil, errors.Errorf("plots: LossPNG: infinite loss at step %d", st.Step)
		}
		if !math.IsNaN(st.Loss) {
			raw = append(raw, plotter.XY{X: float64(st.Step), Y: st.Loss})
		}
	}
	if len(train) == 0 && len(val) == 0 && len(raw) == 0 {
		return nil, errors.New("plots: LossPNG: every loss is NaN")
	}
	ys := make([]float64, len(raw))
	for i, p := range raw {
		ys[i] = p.Y
	}
	smooth := make(plotter.XYs, len(raw))
	for i, y := range Smooth(ys, SmoothingWeight(len(ys))) {
		smooth[i] = plotter.XY{X: raw[i].X, Y: y}
	}
	logY := wantLog(train, val, raw)

	var img image.Image
	err := safely("LossPNG", func() error {
		p := plot.New()
		useSans(p)
		p.X.Tick.Marker = niceTicks{n: 8, integer: true}
		p.Y.Tick.Marker = niceTicks{n: 6}
		if logY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = logTicks{}
			p.Y.Label.Text = "loss (log scale)"
		}
		p.Title.Text = title
		p.Title.TextStyle.Font.Size = fitFont(title, 14, 8, px(lossW-40))
		p.Title.Padding = px(8)
		p.X.Label.Text = "step"
		if !logY {
			p.Y.Label.Text = "loss"
		}
		p.Legend.Top = true
		p.Legend.XOffs = -px(8)
		p.Legend.YOffs = -px(4)
		grid := plotter.NewGrid()
		grid.Vertical.Color = color.Gray{Y: 225}
		grid.Horizontal.Color = color.Gray{Y: 225}
		p.Add(grid)
		if len(raw) > 0 {
			line, err := plotter.NewLine(raw)
			if err != nil {
				return errors.Wrap(err, "plots: LossPNG")
			}
			line.Color = color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0x60} // the train colour, pale
			line.Width = px(1)
			sm, err := plotter.NewLine(smooth)
			if err != nil {
				return errors.Wrap(err, "plots: LossPNG")
			}
			sm.Color = trainColor
			sm.Width = px(1.5)
			p.Add(line, sm)
			p.Legend.Add("train, every step", line)
			p.Legend.Add(fmt.Sprintf("train, smoothed (EMA %.2f)", SmoothingWeight(len(ys))), sm)
		}
		for _, c := range []struct {
			name  string
			xys   plotter.XYs
			color color.Color
			shape draw.GlyphDrawer
		}{
			{"train, at evaluation", train, evalTrainColor, draw.CircleGlyph{}},
			{"validation", val, valColor, draw.TriangleGlyph{}},
		} {
			if len(c.xys) == 0 {
				continue
			}
			line, marks, err := plotter.NewLinePoints(c.xys)
			if err != nil {
				return errors.Wrap(err, "plots: LossPNG")
			}
			line.Color = c.color
			line.Width = px(2)
			marks.Color = c.color
			marks.Shape = c.shape
			marks.Radius = markerRadius(len(c.xys))
			p.Add(line, marks)
			p.Legend.Add(c.name, line, marks)
		}
		cv := newCanvas(lossW, lossH)
		dc := draw.New(cv)
		p.Draw(draw.Crop(dc, px(6), -px(14), px(6), -px(4)))
		img = cv.Image()
		return nil
	})
	return img, err
}

// markerRadius keeps markers visible but out of each other's way on long runs.
func markerRadius(n int) vg.Length {
	switch {
	case n <= 40:
		return px(4)
	case n <= 150:
		return px(3)
	default:
		return px(2)
	}
}

// Smooth returns the debiased exponential moving average of ys with weight w
// (TensorBoard's smoothing): m_k = w·m_{k-1} + (1-w)·y_k, shown as m_k / (1 - w^k).
func Smooth(ys []float64, w float64) []float64 {
	out := make([]float64, len(ys))
	m, wk := 0.0, 1.0
	for i, y := range ys {
		m = w*m + (1-w)*y
		wk *= w
		out[i] = m / (1 - wk)
	}
	return out
}

// SmoothingWeight is the weight Smooth uses for a curve of n steps: an average over
// about n/50 steps, between 2 and 20 (0.8 for the default 250-step run, 0.95 for 2000).
func SmoothingWeight(n int) float64 {
	return 1 - 1/min(max(float64(n)/50, 2), 20)
}

// logTicks labels 1, 2 and 5 × 10^k on a log axis (more when the range is narrow).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 1.5, 2, 3, 5, 7} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			label := ""
			if m == 1 || m == 2 || m == 5 || hi/lo < 30 {
				label = strconv.FormatFloat(v, 'g', 3, 64)
			}
			ts = append(ts, plot.Tick{Value: v, Label: label})
		}
	}
	return ts
}

// wantLog reports whether the losses span more than a factor 10 (all positive): the
// loss axis is then logarithmic.
func wantLog(curves ...plotter.XYs) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xys := range curves {
		for _, p := range xys {
			lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
		}
	}
	return lo > 0 && hi > 10*lo
}
