package analyze

import (
	"math"
	"testing"
)

func TestSampleStats(t *testing.T) {
	s := Sample{5, 1, 4, 2, 3}
	if s.Median() != 3 {
		t.Errorf("median %v", s.Median())
	}
	if _, _, ok := s.MedianCI(); ok {
		t.Error("a CI from 5 values")
	}
	s = Sample{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}
	lo, hi, ok := s.MedianCI()
	// n = 10: the 95 % interval is [x(2), x(9)] (P(B <= 1) = 1.1 %).
	if !ok || lo != 11 || hi != 18 {
		t.Errorf("CI [%v, %v] %v", lo, hi, ok)
	}
	if sp := (Sample{9, 10, 11}).Spread(); math.Abs(sp-0.2) > 1e-9 {
		t.Errorf("spread %v", sp)
	}
}

// Known values: benchstat's examples and R's wilcox.test.
func TestMannWhitney(t *testing.T) {
	// Completely separated samples of 5: U = 0, exact p = 2/252.
	u, p := MannWhitney(Sample{1, 2, 3, 4, 5}, Sample{6, 7, 8, 9, 10})
	if u != 0 || math.Abs(p-2.0/252) > 1e-12 {
		t.Errorf("separated: U=%v p=%v", u, p)
	}
	// Interleaved samples: no difference.
	u, p = MannWhitney(Sample{1, 3, 5, 7, 9}, Sample{2, 4, 6, 8, 10})
	if u != 10 || p < 0.5 {
		t.Errorf("interleaved: U=%v p=%v", u, p)
	}
	// R: wilcox.test(c(1.1,2.2,3.3,4.4), c(3.5,4.5,5.5,6.5,7.5)) → W = 1, p = 0.03175
	u, p = MannWhitney(Sample{1.1, 2.2, 3.3, 4.4}, Sample{3.5, 4.5, 5.5, 6.5, 7.5})
	if u != 1 || math.Abs(p-0.03175) > 0.00001 {
		t.Errorf("R example: U=%v p=%v", u, p)
	}
	if _, p := MannWhitney(nil, Sample{1}); !math.IsNaN(p) {
		t.Error("an empty sample has a p")
	}
}
