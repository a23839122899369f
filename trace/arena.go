package trace

import "unsafe"

// stringArena makes strings out of byte slices with one allocation per
// 64 KiB instead of one per string: the bytes are appended to a block and
// the string points into it. A block is never written again where a string
// points, so the strings stay immutable; the garbage collector frees a
// block once no string points into it, so memory stays flat while a reader
// streams.
type stringArena struct {
	block []byte
}

const arenaBlock = 64 << 10

func (a *stringArena) str(b []byte) string {
	switch {
	case len(b) == 0:
		return ""
	case len(b) > arenaBlock/8:
		return string(b)
	}
	if cap(a.block)-len(a.block) < len(b) {
		a.block = make([]byte, 0, arenaBlock)
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[start], len(b))
}
