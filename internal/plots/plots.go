// Package plots draws training diagnostics as PNG images with gonum.org/v1/plot
// (pure Go): loss curves (LossPNG) and attention-weight heatmaps (AttentionPNG).
//
// Images are rendered at 96 dpi and written atomically: into a temporary file in the
// destination directory that is renamed over the destination once complete, so a
// reader never sees a partial PNG and a failure leaves no temporary file behind.
package plots

import (
	"bufio"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi is the resolution of every image; sizes in pixels are converted to vg lengths
// (points) with px.
const dpi = 96

// px returns the vg length of n pixels at dpi.
func px(n float64) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// newCanvas returns a white image canvas of exactly w×h pixels.
func newCanvas(w, h int) *vgimg.Canvas {
	return vgimg.NewWith(vgimg.UseWH(px(float64(w)), px(float64(h))), vgimg.UseDPI(dpi))
}

// sansFont is the typeface of every text: Liberation Sans, bundled with the plot
// library (its default is Liberation Serif).
var sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// useSans switches every text of p to sansFont, keeping the sizes.
func useSans(p *plot.Plot) {
	for _, f := range []*font.Font{
		&p.Title.TextStyle.Font, &p.Legend.TextStyle.Font,
		&p.X.Label.TextStyle.Font, &p.X.Tick.Label.Font,
		&p.Y.Label.TextStyle.Font, &p.Y.Tick.Label.Font,
	} {
		f.Typeface, f.Variant = sansFont.Typeface, sansFont.Variant
	}
}

// textStyle returns a plain-text style in sansFont.
func textStyle(size vg.Length) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(sansFont, size),
		XAlign:  draw.XCenter,
		YAlign:  draw.YTop,
		Handler: plot.DefaultTextHandler,
	}
}

// fitFont shrinks size (down to minSize) until txt is at most width wide.
func fitFont(txt string, size, minSize, width vg.Length) vg.Length {
	for size > minSize && textStyle(size).Width(txt) > width {
		size -= 0.5
	}
	return size
}

// shorten truncates s to at most n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// glyphSubstitutes replaces runes the bundled font lacks by look-alikes it has.
var glyphSubstitutes = map[rune]string{
	'␣': "˽", '⎵': "˽", '␤': `\n`, '↵': `\n`, '⏎': `\n`, '\u00a0': "˽",
}

// printable makes txt drawable in sansFont: control characters are escaped (a newline
// shows as \n), runes without a glyph become a look-alike or '?'.
func printable(txt string) string {
	face := font.DefaultCache.Lookup(font.From(sansFont, 10), 10)
	var b strings.Builder
	for _, r := range txt {
		switch {
		case r == ' ':
			b.WriteString("˽")
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		case glyphSubstitutes[r] != "":
			b.WriteString(glyphSubstitutes[r])
		default:
			if face.Face != nil {
				if i, err := face.Face.GlyphIndex(nil, r); err != nil || i == 0 {
					b.WriteByte('?')
					continue
				}
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// niceTicks is a plot.Ticker labelling about n round values (1, 2, 2.5 or 5 × 10^k
// apart, at least 1 if integer), with unlabelled minor ticks halfway between.
type niceTicks struct {
	n       int
	integer bool
}

func (t niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / float64(max(t.n, 2))
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag // the round step closest to raw on a log scale
	for _, m := range []float64{2, 2.5, 5, 10} {
		if math.Abs(math.Log(m*mag/raw)) < math.Abs(math.Log(step/raw)) {
			step = m * mag
		}
	}
	if t.integer && step < 1 {
		step = 1
	}
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	if step/math.Pow(10, math.Floor(math.Log10(step)+1e-9)) == 2.5 {
		prec++
	}
	var ts []plot.Tick
	for i := math.Ceil(lo / step * 2); i*step/2 <= hi+step*1e-9; i++ {
		v := i * step / 2
		if math.Mod(i, 2) == 0 { // labelled
			if math.Abs(v) < step*1e-9 {
				v = 0
			}
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', prec, 64)})
		} else if !t.integer || step >= 2 {
			ts = append(ts, plot.Tick{Value: v})
		}
	}
	return ts
}

// safely runs f, turning a panic inside the plotting library into an error.
func safely(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("plots: %s: drawing failed: %v", what, r)
		}
	}()
	return f()
}

// writePNG encodes img into path atomically: a temporary file in the same directory,
// synced, closed and renamed over path. On any error the temporary file is removed.
func writePNG(path string, img image.Image) (err error) {
	if path == "" {
		return errors.New("plots: empty output path")
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return errors.Wrapf(err, "plots: writing %s", path)
	}
	tmp, closed := f.Name(), false
	defer func() {
		if err != nil {
			if !closed {
				f.Close()
			}
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriter(f)
	if err = png.Encode(w, img); err != nil {
		return errors.Wrapf(err, "plots: encoding %s", path)
	}
	if err = w.Flush(); err != nil {
		return errors.Wrapf(err, "plots: writing %s", path)
	}
	if err = f.Chmod(0o644); err != nil {
		return errors.Wrapf(err, "plots: writing %s", path)
	}
	if err = f.Sync(); err != nil {
		return errors.Wrapf(err, "plots: writing %s", path)
	}
	closed = true
	if err = f.Close(); err != nil {
		return errors.Wrapf(err, "plots: writing %s", path)
	}
	if err = os.Rename(tmp, path); err != nil {
		return errors.Wrapf(err, "plots: writing %s", path)
	}
	return nil
}

// drawTitle writes a centred title at the top of c (a canvas of width w), shrinking
// its font so it fits, and returns the height it takes.
func drawTitle(c draw.Canvas, title string, size vg.Length) vg.Length {
	if title == "" {
		return 0
	}
	w := c.Max.X - c.Min.X
	sty := textStyle(fitFont(title, size, 8, w-px(20)))
	ext := sty.FontExtents()
	top := c.Max.Y - px(8)
	c.FillText(sty, vg.Point{X: c.Min.X + w/2, Y: top + ext.Descent}, title)
	return px(8) + sty.Height(title) + px(6)
}
