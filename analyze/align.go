package analyze

// OpKind is an edit operation of an alignment.
type OpKind uint8

const (
	OpEqual  OpKind = iota // a[A:A+N] == b[B:B+N]
	OpDelete               // a[A:A+N] only in a (native only)
	OpInsert               // b[B:B+N] only in b (unikernel only)
)

// Op is one run of an edit script.
type Op struct {
	Kind OpKind
	A, B int // start in a and in b
	N    int
}

// Align computes an edit script turning a into b. It is built for long
// syscall sequences with few differences: common prefix and suffix are cut
// off, the rest is anchored on k-grams that occur exactly once in both
// sides (patience-style, k = 16, 8, 4, then single tokens, as histogram
// diff does), and the short gaps between anchors get an exact O(ND) Myers
// diff. A gap with no anchors and a product of lengths over maxDP becomes
// a plain replace.
func Align(a, b []uint32) []Op {
	var ops []Op
	if len(a)*len(b) <= maxDP {
		alignRange(a, b, 0, len(a), 0, len(b), 16, &ops)
		return mergeOps(ops)
	}
	// Long sequences that differ locally: walk both, and at each mismatch
	// take the smallest skip (di in a, dj in b) after which resyncK tokens
	// agree again. Where no skip within resyncWindow resyncs, the rest
	// goes to the anchored alignment.
	i, j := 0, 0
	n, m := len(a), len(b)
	for i < n && j < m {
		if a[i] == b[j] {
			s := i
			for i < n && j < m && a[i] == b[j] {
				i++
				j++
			}
			ops = append(ops, Op{OpEqual, s, j - (i - s), i - s})
			continue
		}
		di, dj, ok := resync(a, b, i, j)
		if !ok {
			break
		}
		if di > 0 {
			ops = append(ops, Op{OpDelete, i, j, di})
		}
		if dj > 0 {
			ops = append(ops, Op{OpInsert, i + di, j, dj})
		}
		i, j = i+di, j+dj
	}
	alignRange(a, b, i, n, j, m, 16, &ops)
	return mergeOps(ops)
}

const (
	resyncK      = 8
	resyncWindow = 48
)

// resync finds the smallest di+dj (at most resyncWindow) after which a and
// b agree again: for resyncK tokens, else (edits close together) for 4,
// then 2, or both reach their ends.
func resync(a, b []uint32, i, j int) (int, int, bool) {
	for _, k := range []int{resyncK, 4, 2} {
		if di, dj, ok := resyncWith(a, b, i, j, k); ok {
			return di, dj, true
		}
	}
	return 0, 0, false
}

func resyncWith(a, b []uint32, i, j, want int) (int, int, bool) {
	n, m := len(a), len(b)
	for s := 1; s <= resyncWindow; s++ {
		for di := 0; di <= s; di++ {
			dj := s - di
			x, y := i+di, j+dj
			if x > n || y > m {
				continue
			}
			k := 0
			for k < want && x+k < n && y+k < m && a[x+k] == b[y+k] {
				k++
			}
			if k == want || (x+k == n && y+k == m) {
				return di, dj, true
			}
		}
	}
	return 0, 0, false
}

const maxDP = 1 << 20

func alignRange(a, b []uint32, a0, a1, b0, b1, k int, ops *[]Op) {
	// Common prefix and suffix.
	p := 0
	for a0+p < a1 && b0+p < b1 && a[a0+p] == b[b0+p] {
		p++
	}
	if p > 0 {
		*ops = append(*ops, Op{OpEqual, a0, b0, p})
		a0, b0 = a0+p, b0+p
	}
	s := 0
	for a1-s > a0 && b1-s > b0 && a[a1-1-s] == b[b1-1-s] {
		s++
	}
	a1, b1 = a1-s, b1-s
	defer func() {
		if s > 0 {
			*ops = append(*ops, Op{OpEqual, a1, b1, s})
		}
	}()
	n, m := a1-a0, b1-b0
	switch {
	case n == 0 && m == 0:
		return
	case n == 0:
		*ops = append(*ops, Op{OpInsert, a0, b0, m})
		return
	case m == 0:
		*ops = append(*ops, Op{OpDelete, a0, b0, n})
		return
	}
	if n*m <= 4096 || (k == 0 && n*m <= maxDP) {
		myers(a, b, a0, a1, b0, b1, ops)
		return
	}
	for ; k >= 1; k /= 2 {
		if anchors := uniqueAnchors(a, b, a0, a1, b0, b1, k); len(anchors) > 0 {
			pa, pb := a0, b0
			for _, an := range anchors {
				alignRange(a, b, pa, an.a, pb, an.b, k, ops)
				*ops = append(*ops, Op{OpEqual, an.a, an.b, k})
				pa, pb = an.a+k, an.b+k
			}
			alignRange(a, b, pa, a1, pb, b1, k, ops)
			return
		}
	}
	if n*m <= maxDP {
		myers(a, b, a0, a1, b0, b1, ops)
		return
	}
	*ops = append(*ops, Op{OpDelete, a0, b0, n}, Op{OpInsert, a1, b0, m})
}

type anchor struct{ a, b int }

// uniqueAnchors finds k-grams occurring once in a[a0:a1] and once in
// b[b0:b1], keeps the longest chain increasing on both sides (LIS), and
// drops anchors that overlap.
func uniqueAnchors(a, b []uint32, a0, a1, b0, b1, k int) []anchor {
	if a1-a0 < k || b1-b0 < k {
		return nil
	}
	type seen struct {
		pos   int
		count int
	}
	hash := func(s []uint32, i int) uint64 {
		h := uint64(14695981039346656037)
		for _, t := range s[i : i+k] {
			h ^= uint64(t)
			h *= 1099511628211
		}
		return h
	}
	ha := make(map[uint64]seen, a1-a0)
	for i := a0; i+k <= a1; i++ {
		h := hash(a, i)
		e := ha[h]
		e.pos, e.count = i, e.count+1
		ha[h] = e
	}
	hb := make(map[uint64]seen, b1-b0)
	for i := b0; i+k <= b1; i++ {
		h := hash(b, i)
		e := hb[h]
		e.pos, e.count = i, e.count+1
		hb[h] = e
	}
	var cand []anchor
	for i := b0; i+k <= b1; i++ {
		h := hash(b, i)
		if hb[h].count != 1 {
			continue
		}
		if e, ok := ha[h]; ok && e.count == 1 && equalRun(a[e.pos:e.pos+k], b[i:i+k]) {
			cand = append(cand, anchor{e.pos, i})
		}
	}
	chain := lisByA(cand)
	// Anchors must not overlap on either side.
	out := chain[:0]
	lastA, lastB := -1, -1
	for _, an := range chain {
		if an.a >= lastA && an.b >= lastB {
			out = append(out, an)
			lastA, lastB = an.a+k, an.b+k
		}
	}
	return out
}

func equalRun(x, y []uint32) bool {
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// lisByA returns the longest subsequence of cand (ordered by b) that is
// also increasing in a, by patience sorting in O(n log n).
func lisByA(cand []anchor) []anchor {
	if len(cand) == 0 {
		return nil
	}
	tails := []int{}
	prev := make([]int, len(cand))
	for i, c := range cand {
		lo, hi := 0, len(tails)
		for lo < hi {
			mid := (lo + hi) / 2
			if cand[tails[mid]].a < c.a {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		if lo > 0 {
			prev[i] = tails[lo-1]
		} else {
			prev[i] = -1
		}
		if lo == len(tails) {
			tails = append(tails, i)
		} else {
			tails[lo] = i
		}
	}
	out := make([]anchor, len(tails))
	for i, j := len(tails)-1, tails[len(tails)-1]; i >= 0; i, j = i-1, prev[j] {
		out[i] = cand[j]
	}
	return out
}

// maxMyersD bounds the edits a Myers search looks for: its trace keeps
// O(D²) ints (D = 1024: about 8 MB). Past it, and for shapes that need
// more edits than that whatever the tokens (one side much longer: a
// unikernel run that stopped early), lcsDP answers in n·m bytes.
const maxMyersD = 1024

// myers appends an exact shortest edit script of a[a0:a1] → b[b0:b1]
// (Myers 1986: forward greedy search, then a trace back through the
// furthest-reaching points kept for each d; O((N+M)·D) time, O(D²) space),
// or lcsDP's when the script has more than maxMyersD edits.
func myers(a, b []uint32, a0, a1, b0, b1 int, ops *[]Op) {
	n, m := a1-a0, b1-b0
	if n-m > maxMyersD || m-n > maxMyersD {
		lcsDP(a, b, a0, a1, b0, b1, ops) // at least |n-m| edits
		return
	}
	max := min(n+m, maxMyersD)
	v := make([]int, 2*max+3)
	off := max + 1
	var trace [][]int // trace[d] = v[off-d .. off+d] before step d
	for d := 0; d <= max; d++ {
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1] // down: an insertion
			} else {
				x = v[off+k-1] + 1 // right: a deletion
			}
			y := x - k
			for x < n && y < m && a[a0+x] == b[b0+y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				backtrack(trace, d, n, m, a0, b0, ops)
				return
			}
		}
	}
	lcsDP(a, b, a0, a1, b0, b1, ops)
}

// lcsDP appends a shortest edit script of a[a0:a1] → b[b0:b1] from the
// longest common subsequence by dynamic programming: O(n·m) time, n·m
// bytes of directions and two rows of ints. Callers keep n·m ≤ maxDP, so
// its memory is bounded (1 MiB) whatever the shapes.
func lcsDP(a, b []uint32, a0, a1, b0, b1 int, ops *[]Op) {
	n, m := a1-a0, b1-b0
	const (
		diag = iota
		up   // a[i-1] deleted
		left // b[j-1] inserted
	)
	dir := make([]uint8, (n+1)*(m+1))
	prev := make([]int32, m+1)
	cur := make([]int32, m+1)
	for j := 1; j <= m; j++ {
		dir[j] = left
	}
	for i := 1; i <= n; i++ {
		cur[0] = 0
		dir[i*(m+1)] = up
		for j := 1; j <= m; j++ {
			switch {
			case a[a0+i-1] == b[b0+j-1]:
				cur[j], dir[i*(m+1)+j] = prev[j-1]+1, diag
			case prev[j] >= cur[j-1]:
				cur[j], dir[i*(m+1)+j] = prev[j], up
			default:
				cur[j], dir[i*(m+1)+j] = cur[j-1], left
			}
		}
		prev, cur = cur, prev
	}
	var rev []Op // runs, last first: each step extends the run before it
	step := func(kind OpKind, i, j int) {
		if k := len(rev) - 1; k >= 0 && rev[k].Kind == kind {
			rev[k].A, rev[k].B, rev[k].N = a0+i, b0+j, rev[k].N+1
			return
		}
		rev = append(rev, Op{kind, a0 + i, b0 + j, 1})
	}
	for i, j := n, m; i > 0 || j > 0; {
		switch dir[i*(m+1)+j] {
		case diag:
			i, j = i-1, j-1
			step(OpEqual, i, j)
		case up:
			i--
			step(OpDelete, i, j)
		default:
			j--
			step(OpInsert, i, j)
		}
	}
	for i := len(rev) - 1; i >= 0; i-- {
		*ops = append(*ops, rev[i])
	}
}

func backtrack(trace [][]int, dEnd, n, m, a0, b0 int, ops *[]Op) {
	var rev []Op
	x, y := n, m
	for d := dEnd; d > 0; d-- {
		at := func(k int) int { return trace[d][k+d] } // v[k] before step d
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := at(pk)
		py := px - pk
		// The edit leads from (px, py) to (sx, sy); a snake follows to (x, y).
		sx, sy := px+1, py
		if pk == k+1 {
			sx, sy = px, py+1
		}
		for x > sx {
			x--
			y--
			rev = append(rev, Op{OpEqual, a0 + x, b0 + y, 1})
		}
		_ = sy
		if pk == k+1 {
			rev = append(rev, Op{OpInsert, a0 + px, b0 + py, 1})
		} else {
			rev = append(rev, Op{OpDelete, a0 + px, b0 + py, 1})
		}
		x, y = px, py
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, Op{OpEqual, a0 + x, b0 + y, 1})
	}
	for i := len(rev) - 1; i >= 0; i-- {
		*ops = append(*ops, rev[i])
	}
}

// mergeOps joins adjacent runs of the same kind.
func mergeOps(ops []Op) []Op {
	var out []Op
	for _, op := range ops {
		if op.N == 0 {
			continue
		}
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Kind == op.Kind && last.A+aLen(*last) == op.A && last.B+bLen(*last) == op.B {
				last.N += op.N
				continue
			}
		}
		out = append(out, op)
	}
	return out
}

func aLen(op Op) int {
	if op.Kind == OpInsert {
		return 0
	}
	return op.N
}

func bLen(op Op) int {
	if op.Kind == OpDelete {
		return 0
	}
	return op.N
}

// Apply replays an edit script on a, taking inserted runs from b: the
// result equals b when the script is right.
func Apply(a, b []uint32, ops []Op) []uint32 {
	var out []uint32
	for _, op := range ops {
		switch op.Kind {
		case OpEqual:
			out = append(out, a[op.A:op.A+op.N]...)
		case OpInsert:
			out = append(out, b[op.B:op.B+op.N]...)
		}
	}
	return out
}
