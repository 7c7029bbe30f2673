package graph

import (
	"fmt"
	"math"

	"github.com/attend-go/attend"
	"github.com/pkg/errors"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GradCheckOpts are the settings of GradCheck. The zero value is eps = 1e-6, floor = 1.
type GradCheckOpts struct {
	// Eps is the step of the central differences (f(x+eps) − f(x−eps)) / 2eps.
	Eps float64
	// Floor is the least denominator of the relative error |a − n| / max(|a|, |n|, Floor),
	// so that gradients much smaller than Floor are judged by their absolute error, which
	// is all central differences can resolve there.
	Floor float64
}

// GradCheckResult is the worst element of one node's gradient.
type GradCheckResult struct {
	Node     *G.Node
	Index    []int   // coordinates of the worst element in the node's shape
	Analytic float64 // Gorgonia's symbolic gradient there
	Numeric  float64 // the central-difference estimate there
	AbsErr   float64 // |Analytic − Numeric|
	RelErr   float64 // AbsErr / max(|Analytic|, |Numeric|, Floor)
}

func (r GradCheckResult) String() string {
	return fmt.Sprintf("%s%v: analytic %.10g, numeric %.10g, abs. error %.3g, rel. error %.3g",
		r.Node.Name(), r.Index, r.Analytic, r.Numeric, r.AbsErr, r.RelErr)
}

// GradCheck compares Gorgonia's symbolic gradients of the scalar cost with respect to
// each node of wrt against central finite differences, and reports each node's worst
// element. It works on any graph in float64: the nodes of wrt must hold values (set with
// G.Let, WithValue or WithInit), and every input the cost depends on must be set. It
// calls G.Grad itself, runs the graph with a TapeMachine, and perturbs each element of
// each node in turn, putting every value back before it returns. Cost: two forward runs
// per element of wrt.
func GradCheck(cost *G.Node, wrt G.Nodes, opts GradCheckOpts) ([]GradCheckResult, error) {
	if cost == nil {
		return nil, errors.Wrap(ErrArgument, "graph: GradCheck: nil cost")
	}
	if !cost.IsScalar() {
		return nil, errors.Wrapf(ErrShape, "graph: GradCheck: cost %q is %v; want a scalar", cost.Name(), cost.Shape())
	}
	if cost.Dtype() != tensor.Float64 {
		return nil, errors.Wrapf(ErrDtype, "graph: GradCheck: cost %q is %v; want float64", cost.Name(), cost.Dtype())
	}
	if len(wrt) == 0 {
		return nil, errors.Wrap(ErrArgument, "graph: GradCheck: no nodes to check")
	}
	for _, n := range wrt {
		if n == nil {
			return nil, errors.Wrap(ErrArgument, "graph: GradCheck: nil node in wrt")
		}
		if n.Dtype() != tensor.Float64 {
			return nil, errors.Wrapf(ErrDtype, "graph: GradCheck: node %q is %v; want float64", n.Name(), n.Dtype())
		}
		if _, ok := n.Value().(*tensor.Dense); !ok {
			return nil, errors.Wrapf(ErrArgument, "graph: GradCheck: node %q holds no tensor value", n.Name())
		}
	}
	eps, floor := opts.Eps, opts.Floor
	if eps == 0 {
		eps = 1e-6
	}
	if floor == 0 {
		floor = 1
	}
	if eps < 0 || floor < 0 {
		return nil, errors.Wrapf(ErrArgument, "graph: GradCheck: eps %v and floor %v must be positive", eps, floor)
	}

	grads, err := G.Grad(cost, wrt...)
	if err != nil {
		return nil, attend.Wrap(err, "graph: GradCheck: symbolic gradient")
	}
	g := cost.Graph()
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		return nil, attend.Wrap(err, "graph: GradCheck: running the graph")
	}
	analytic := make([][]float64, len(wrt))
	for i, gn := range grads {
		d, err := dense(gn.Value())
		if err != nil {
			return nil, attend.Wrapf(err, "graph: GradCheck: gradient of %q", wrt[i].Name())
		}
		analytic[i] = append([]float64(nil), f64s(d)...)
	}

	fwd := G.NewTapeMachine(g.SubgraphRoots(cost))
	defer fwd.Close()
	eval := func() (float64, error) {
		fwd.Reset()
		if err := fwd.RunAll(); err != nil {
			return 0, err
		}
		return scalar(cost.Value())
	}
	results := make([]GradCheckResult, len(wrt))
	for i, n := range wrt {
		v := n.Value().(*tensor.Dense)
		data := f64s(v)
		worst := GradCheckResult{Node: n, RelErr: -1}
		for j := range data {
			orig := data[j]
			data[j] = orig + eps
			fp, err := eval()
			if err == nil {
				data[j] = orig - eps
				var fm float64
				fm, err = eval()
				fp -= fm
			}
			data[j] = orig
			if err != nil {
				return nil, attend.Wrapf(err, "graph: GradCheck: running the graph with %q perturbed", n.Name())
			}
			num := fp / (2 * eps)
			a := analytic[i][j]
			abs := math.Abs(a - num)
			rel := abs / math.Max(math.Max(math.Abs(a), math.Abs(num)), floor)
			if math.IsNaN(abs) {
				rel = math.Inf(1)
			}
			if rel > worst.RelErr {
				idx, _ := tensor.Itol(j, v.Shape(), v.Strides())
				worst = GradCheckResult{Node: n, Index: idx, Analytic: a, Numeric: num, AbsErr: abs, RelErr: rel}
			}
		}
		results[i] = worst
	}
	return results, nil
}
