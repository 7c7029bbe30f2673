package train

import (
	"math"

	"github.com/pkg/errors"
)

// CosineSchedule is nanoGPT's learning-rate schedule (get_lr): linear warmup
// to MaxLR, cosine decay to MinLR at DecaySteps, then MinLR.
//
// DecaySteps == 0 turns decay off: after the warmup (if any) the rate stays
// MaxLR, so the zero WarmupSteps/DecaySteps give a constant MaxLR.
type CosineSchedule struct {
	// MaxLR is the peak rate (nanoGPT learning_rate); MinLR the final rate.
	MaxLR float64 `json:"max_lr"`
	MinLR float64 `json:"min_lr"`
	// WarmupSteps is the number of warmup steps; DecaySteps the step at which
	// the decay reaches MinLR (nanoGPT lr_decay_iters, counted from step 0,
	// warmup included). DecaySteps must be 0 or > WarmupSteps.
	WarmupSteps int `json:"warmup_steps"`
	DecaySteps  int `json:"decay_steps"`
}

// Validate reports whether the schedule is well formed.
func (s CosineSchedule) Validate() error {
	switch {
	case !isFinite(s.MaxLR) || s.MaxLR < 0:
		return errors.Errorf("train: CosineSchedule: MaxLR %v must be finite and ≥ 0", s.MaxLR)
	case !isFinite(s.MinLR) || s.MinLR < 0 || s.MinLR > s.MaxLR:
		return errors.Errorf("train: CosineSchedule: MinLR %v must be finite and in [0, MaxLR=%v]", s.MinLR, s.MaxLR)
	case s.WarmupSteps < 0:
		return errors.Errorf("train: CosineSchedule: WarmupSteps %d is negative", s.WarmupSteps)
	case s.DecaySteps < 0:
		return errors.Errorf("train: CosineSchedule: DecaySteps %d is negative", s.DecaySteps)
	case s.DecaySteps != 0 && s.DecaySteps <= s.WarmupSteps:
		return errors.Errorf("train: CosineSchedule: DecaySteps %d must be 0 (no decay) or greater than WarmupSteps %d", s.DecaySteps, s.WarmupSteps)
	}
	return nil
}

// LR returns the learning rate for the 0-based step (negative steps count as
// step 0):
//
//	step < WarmupSteps:   MaxLR·(step+1)/(WarmupSteps+1)
//	step > DecaySteps:    MinLR
//	otherwise:            MinLR + ½(1 + cos(π·r))(MaxLR − MinLR),
//	                      r = (step − WarmupSteps)/(DecaySteps − WarmupSteps)
//
// With DecaySteps == 0 the last two cases are replaced by MaxLR. LR assumes
// Validate passed; on an invalid schedule it still returns a number.
func (s CosineSchedule) LR(step int) float64 {
	step = max(step, 0)
	if step < s.WarmupSteps {
		return s.MaxLR * float64(step+1) / float64(s.WarmupSteps+1)
	}
	if s.DecaySteps <= s.WarmupSteps {
		return s.MaxLR
	}
	if step > s.DecaySteps {
		return s.MinLR
	}
	r := float64(step-s.WarmupSteps) / float64(s.DecaySteps-s.WarmupSteps)
	return s.MinLR + 0.5*(1+math.Cos(math.Pi*r))*(s.MaxLR-s.MinLR)
}
