package plots

import (
	"image"
	"image/color"
	"math"
	"sort"

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

// Size of the loss image in pixels.
const lossW, lossH = 800, 500

// Line colours of the loss curves.
var (
	trainColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	valColor   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // red
)

// LossPNG draws training and validation loss against step (two lines with markers,
// legend, axis labels "step" and "loss", the title) into path as an 800×500 PNG,
// written atomically (temp file in the same directory + rename; no temp file left on
// error). NaN losses are absent points; a curve with no points is left out. It is an
// error if pts is empty, holds no loss at all, or holds an infinite loss.
func LossPNG(path, title string, pts []Point) error {
	img, err := renderLoss(title, pts)
	if err != nil {
		return err
	}
	return writePNG(path, img)
}

// renderLoss draws the loss image.
func renderLoss(title string, pts []Point) (image.Image, error) {
	if len(pts) == 0 {
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
	if len(train) == 0 && len(val) == 0 {
		return nil, errors.New("plots: LossPNG: every loss is NaN")
	}

	var img image.Image
	err := safely("LossPNG", func() error {
		p := plot.New()
		useSans(p)
		p.X.Tick.Marker = niceTicks{n: 8, integer: true}
		p.Y.Tick.Marker = niceTicks{n: 6}
		p.Title.Text = title
		p.Title.TextStyle.Font.Size = fitFont(title, 14, 8, px(lossW-40))
		p.Title.Padding = px(8)
		p.X.Label.Text = "step"
		p.Y.Label.Text = "loss"
		p.Legend.Top = true
		p.Legend.XOffs = -px(8)
		p.Legend.YOffs = -px(4)
		grid := plotter.NewGrid()
		grid.Vertical.Color = color.Gray{Y: 225}
		grid.Horizontal.Color = color.Gray{Y: 225}
		p.Add(grid)
		for _, c := range []struct {
			name  string
			xys   plotter.XYs
			color color.Color
			shape draw.GlyphDrawer
		}{
			{"train", train, trainColor, draw.CircleGlyph{}},
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
