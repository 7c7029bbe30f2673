package train_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/attend-go/attend/train"
)

func TestCosineScheduleLR(t *testing.T) {
	nano := train.CosineSchedule{MaxLR: 6e-4, MinLR: 6e-5, WarmupSteps: 10, DecaySteps: 100}
	unit := train.CosineSchedule{MaxLR: 1, MinLR: 0, WarmupSteps: 0, DecaySteps: 3}
	tests := []struct {
		name string
		s    train.CosineSchedule
		step int
		want float64
	}{
		{"first warmup step", nano, 0, 6e-4 * 1 / 11},
		{"last warmup step", nano, 9, 6e-4 * 10 / 11},
		{"peak", nano, 10, 6e-4},
		{"half way: mean of max and min", nano, 55, 3.3e-4},
		{"end of decay", nano, 100, 6e-5},
		{"after decay", nano, 101, 6e-5},
		{"long after decay", nano, 1 << 40, 6e-5},
		{"negative step counts as 0", nano, -5, 6e-4 / 11},
		{"cos(0)", unit, 0, 1},
		{"cos(π/3): ½(1+½)", unit, 1, 0.75},
		{"cos(2π/3): ½(1−½)", unit, 2, 0.25},
		{"cos(π)", unit, 3, 0},
		{"constant", train.CosineSchedule{MaxLR: 0.1}, 0, 0.1},
		{"constant later", train.CosineSchedule{MaxLR: 0.1, MinLR: 0.01}, 12345, 0.1},
		{"warmup only: step 0", train.CosineSchedule{MaxLR: 1, WarmupSteps: 3}, 0, 0.25},
		{"warmup only: step 2", train.CosineSchedule{MaxLR: 1, WarmupSteps: 3}, 2, 0.75},
		{"warmup only: after", train.CosineSchedule{MaxLR: 1, WarmupSteps: 3}, 1000, 1},
		{"invalid decay ≤ warmup stays finite", train.CosineSchedule{MaxLR: 1, WarmupSteps: 5, DecaySteps: 5}, 5, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.LR(tc.step)
			if math.Abs(got-tc.want) > 1e-15*math.Max(1e-3, tc.want) {
				t.Errorf("LR(%d) = %.17g, want %.17g", tc.step, got, tc.want)
			}
		})
	}
}

func TestCosineScheduleMonotone(t *testing.T) {
	s := train.CosineSchedule{MaxLR: 1e-3, MinLR: 1e-4, WarmupSteps: 20, DecaySteps: 500}
	for step := 1; step < 600; step++ {
		prev, cur := s.LR(step-1), s.LR(step)
		if step <= s.WarmupSteps && cur <= prev || step > s.WarmupSteps && cur > prev {
			t.Fatalf("LR(%d) = %g after LR(%d) = %g", step, cur, step-1, prev)
		}
		if cur > s.MaxLR || step >= s.WarmupSteps && cur < s.MinLR { // warmup starts below MinLR
			t.Fatalf("LR(%d) = %g outside [MinLR, MaxLR]", step, cur)
		}
	}
}

func TestCosineScheduleValidate(t *testing.T) {
	tests := []struct {
		name string
		s    train.CosineSchedule
		want string // "" = valid
	}{
		{"zero value", train.CosineSchedule{}, ""},
		{"nanoGPT", train.CosineSchedule{MaxLR: 6e-4, MinLR: 6e-5, WarmupSteps: 2000, DecaySteps: 600000}, ""},
		{"warmup then constant", train.CosineSchedule{MaxLR: 1, WarmupSteps: 10}, ""},
		{"negative max", train.CosineSchedule{MaxLR: -1}, "MaxLR -1"},
		{"NaN max", train.CosineSchedule{MaxLR: math.NaN()}, "MaxLR NaN"},
		{"min above max", train.CosineSchedule{MaxLR: 1, MinLR: 2}, "MinLR 2 must be finite and in [0, MaxLR=1]"},
		{"negative min", train.CosineSchedule{MaxLR: 1, MinLR: -0.1}, "MinLR -0.1"},
		{"negative warmup", train.CosineSchedule{MaxLR: 1, WarmupSteps: -1}, "WarmupSteps -1 is negative"},
		{"negative decay", train.CosineSchedule{MaxLR: 1, DecaySteps: -1}, "DecaySteps -1 is negative"},
		{"decay equals warmup", train.CosineSchedule{MaxLR: 1, WarmupSteps: 5, DecaySteps: 5}, "DecaySteps 5 must be 0 (no decay) or greater than WarmupSteps 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func ExampleCosineSchedule_LR() {
	s := train.CosineSchedule{MaxLR: 1e-3, MinLR: 1e-4, WarmupSteps: 4, DecaySteps: 14}
	for _, step := range []int{0, 1, 3, 4, 9, 14, 20} {
		fmt.Printf("step %2d: %.6f\n", step, s.LR(step))
	}
	// Output:
	// step  0: 0.000200
	// step  1: 0.000400
	// step  3: 0.000800
	// step  4: 0.001000
	// step  9: 0.000550
	// step 14: 0.000100
	// step 20: 0.000100
}
