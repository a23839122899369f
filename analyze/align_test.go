package analyze

import (
	"math/rand"
	"reflect"
	"runtime"
	"testing"
)

func opsCost(ops []Op) int {
	c := 0
	for _, op := range ops {
		if op.Kind != OpEqual {
			c += op.N
		}
	}
	return c
}

// lcsCost is the exact edit distance (insertions + deletions) by DP.
func lcsCost(a, b []uint32) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
			} else {
				cur[j] = max(prev[j], cur[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return len(a) + len(b) - 2*prev[len(b)]
}

func checkScript(t *testing.T, a, b []uint32, ops []Op) {
	t.Helper()
	if got := Apply(a, b, ops); !reflect.DeepEqual(got, b) && !(len(got) == 0 && len(b) == 0) {
		t.Fatalf("applying the script to a does not give b:\na=%v\nb=%v\nops=%v\ngot=%v", a, b, ops, got)
	}
	// The script covers a and b in order, without gaps.
	pa, pb := 0, 0
	for _, op := range ops {
		if op.A != pa || op.B != pb {
			t.Fatalf("op %+v at a=%d b=%d", op, pa, pb)
		}
		pa += aLen(op)
		pb += bLen(op)
		if op.Kind == OpEqual && !reflect.DeepEqual(a[op.A:op.A+op.N], b[op.B:op.B+op.N]) {
			t.Fatalf("equal op %+v over different tokens", op)
		}
	}
	if pa != len(a) || pb != len(b) {
		t.Fatalf("script covers a[:%d] b[:%d] of %d, %d", pa, pb, len(a), len(b))
	}
}

func randSeq(r *rand.Rand, n, alphabet int) []uint32 {
	s := make([]uint32, n)
	for i := range s {
		s[i] = uint32(r.Intn(alphabet))
	}
	return s
}

func mutate(r *rand.Rand, a []uint32, rate float64, alphabet int) []uint32 {
	var b []uint32
	for _, t := range a {
		switch p := r.Float64(); {
		case p < rate/3: // deleted
		case p < 2*rate/3: // replaced
			b = append(b, uint32(r.Intn(alphabet)))
		case p < rate: // inserted before
			b = append(b, uint32(r.Intn(alphabet)), t)
		default:
			b = append(b, t)
		}
	}
	return b
}

func TestAlignProperties(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 500; i++ {
		n := r.Intn(60)
		alphabet := 1 + r.Intn(8)
		a := randSeq(r, n, alphabet)
		b := mutate(r, a, r.Float64()*0.5, alphabet)
		if r.Intn(5) == 0 {
			b = randSeq(r, r.Intn(60), alphabet)
		}
		ops := Align(a, b)
		checkScript(t, a, b, ops)
		if got, want := opsCost(ops), lcsCost(a, b); got != want {
			t.Fatalf("cost %d, optimal %d\na=%v\nb=%v", got, want, a, b)
		}
		// A sequence against itself: one equal run, no edits.
		self := Align(a, a)
		if opsCost(self) != 0 || (len(a) > 0 && len(self) != 1) {
			t.Fatalf("a against itself: %v", self)
		}
	}
}

func TestAlignLongSequences(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	a := randSeq(r, 200000, 60)
	b := mutate(r, a, 0.05, 60)
	ops := Align(a, b)
	checkScript(t, a, b, ops)
	if c := opsCost(ops); c > len(a)/5 {
		t.Errorf("cost %d for 5 %% divergence of %d tokens", c, len(a))
	}
}

func BenchmarkAlign1M(b *testing.B) {
	r := rand.New(rand.NewSource(3))
	x := randSeq(r, 1000000, 80)
	y := mutate(r, x, 0.05, 80)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Align(x, y)
	}
}

// lcsDP, the fallback of a Myers search with too many edits, gives
// optimal scripts too.
func TestLCSDP(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 300; i++ {
		alphabet := 1 + r.Intn(6)
		a := randSeq(r, r.Intn(50), alphabet)
		b := randSeq(r, r.Intn(50), alphabet)
		var ops []Op
		lcsDP(a, b, 0, len(a), 0, len(b), &ops)
		ops = mergeOps(ops)
		checkScript(t, a, b, ops)
		if got, want := opsCost(ops), lcsCost(a, b); got != want {
			t.Fatalf("cost %d, optimal %d\na=%v\nb=%v", got, want, a, b)
		}
	}
}

// Memory is bounded whatever the shapes: one side that stops early (an
// app that forks and then makes 30k stat calls; its unikernel run stops
// at the failed fork and prints three more lines) took O(D²) = 7 GB in
// the Myers trace; a 300k-call native run against a 3-line console more.
func TestAlignMemoryOneSideShort(t *testing.T) {
	for _, shape := range []struct {
		name string
		n, m int
	}{
		{"30k stat after a fork, 3 lines", 30000, 3},
		{"300k calls, 3 lines", 300000, 3},
		{"3 lines, 300k calls", 3, 300000},
		{"2000 against 500", 2000, 500},
	} {
		a := make([]uint32, shape.n)
		b := make([]uint32, shape.m)
		for i := range a {
			a[i] = uint32(4 + i%3) // stat, fstat, close
		}
		for i := range b {
			b[i] = uint32(1 + i%5)
		}
		b[len(b)-1] = 4
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ops := Align(a, b)
		runtime.ReadMemStats(&after)
		checkScript(t, a, b, ops)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
			t.Errorf("%s: %d MiB allocated, want at most 64", shape.name, alloc>>20)
		}
	}
}
