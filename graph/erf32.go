package graph

import (
	"math"

	"github.com/attend-go/attend/internal/num"
	"github.com/attend-go/attend/internal/vec"
)

// expOf is math.Exp in float64 and the faster vec.Exp32 in float32 (Cephes' expf,
// within 1 float32 ulp; the same function the float32 softmax kernels use).
func expOf[T num.Float](v T) T {
	if x, ok := any(v).(float32); ok {
		return T(vec.Exp32(x))
	}
	return T(math.Exp(float64(v)))
}
