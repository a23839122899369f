package analyze

import (
	"math"
	"slices"
)

// Sample is the numbers of one measure over the runs of a benchmark.
type Sample []float64

// Median is the middle of the sample (the mean of the two middles).
func (s Sample) Median() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	x := slices.Sorted(slices.Values(s))
	n := len(x)
	if n%2 == 1 {
		return x[n/2]
	}
	return (x[n/2-1] + x[n/2]) / 2
}

// MedianCI is a distribution-free 95 % confidence interval of the median,
// from order statistics (as benchstat does); ok is false when the sample
// is too small for one (fewer than 6 values).
func (s Sample) MedianCI() (lo, hi float64, ok bool) {
	n := len(s)
	if n < 6 {
		return 0, 0, false
	}
	x := slices.Sorted(slices.Values(s))
	// The largest k with P(B <= k-1) <= 2.5 % for B ~ Binomial(n, 1/2):
	// [x(k), x(n-k+1)] covers the median with at least 95 %.
	k := 0
	cum := 0.0
	for j := 0; j <= n; j++ {
		cum += binom(n, j) / math.Pow(2, float64(n))
		if cum > 0.025 {
			break
		}
		k = j + 1
	}
	if k < 1 {
		return 0, 0, false
	}
	return x[k-1], x[n-k], true
}

// Spread is (max-min)/median: how far apart the runs are.
func (s Sample) Spread() float64 {
	if len(s) == 0 {
		return 0
	}
	m := s.Median()
	if m == 0 {
		return 0
	}
	return (slices.Max(s) - slices.Min(s)) / math.Abs(m)
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// MannWhitney tests whether two samples come from the same distribution
// (the Mann-Whitney U test, two-sided, as benchstat uses): exact for
// small samples without ties, else the normal approximation with the tie
// correction. p is NaN when a sample is empty.
func MannWhitney(a, b Sample) (u, p float64) {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return math.NaN(), math.NaN()
	}
	type v struct {
		x     float64
		first bool
	}
	all := make([]v, 0, n1+n2)
	for _, x := range a {
		all = append(all, v{x, true})
	}
	for _, x := range b {
		all = append(all, v{x, false})
	}
	slices.SortFunc(all, func(p, q v) int {
		switch {
		case p.x < q.x:
			return -1
		case p.x > q.x:
			return 1
		}
		return 0
	})
	ranks := make([]float64, len(all))
	ties := false
	tieTerm := 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].x == all[i].x {
			j++
		}
		r := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			ranks[k] = r
		}
		if t := float64(j - i); t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		i = j
	}
	r1 := 0.0
	for i, x := range all {
		if x.first {
			r1 += ranks[i]
		}
	}
	u1 := r1 - float64(n1*(n1+1))/2
	u2 := float64(n1*n2) - u1
	u = math.Min(u1, u2)
	if !ties && n1*n2 <= 400 {
		return u, exactP(n1, n2, u)
	}
	n := float64(n1 + n2)
	mu := float64(n1*n2) / 2
	sigma := math.Sqrt(float64(n1*n2) / 12 * ((n + 1) - tieTerm/(n*(n-1))))
	if sigma == 0 {
		return u, 1
	}
	z := (u - mu + 0.5) / sigma
	p = math.Erfc(-z / math.Sqrt2) // 2·Φ(z), z <= 0
	return u, math.Min(1, p)
}

// exactP is the two-sided p of U <= u for samples of n1 and n2 without
// ties: the count of arrangements whose U is at most u, over all.
func exactP(n1, n2 int, u float64) float64 {
	// f[i][j][k]: arrangements of i and j values with U = k.
	max := n1 * n2
	f := make([][][]float64, n1+1)
	for i := range f {
		f[i] = make([][]float64, n2+1)
		for j := range f[i] {
			f[i][j] = make([]float64, max+1)
		}
	}
	for i := 0; i <= n1; i++ {
		for j := 0; j <= n2; j++ {
			if i == 0 || j == 0 {
				f[i][j][0] = 1
				continue
			}
			for k := 0; k <= i*j; k++ {
				// The largest value is from the first sample (it passes
				// all j of the second) or from the second.
				if k >= j {
					f[i][j][k] += f[i-1][j][k-j]
				}
				f[i][j][k] += f[i][j-1][k]
			}
		}
	}
	total, below := 0.0, 0.0
	for k := 0; k <= max; k++ {
		total += f[n1][n2][k]
		if float64(k) <= u {
			below += f[n1][n2][k]
		}
	}
	return math.Min(1, 2*below/total)
}
