package trace

import (
	"errors"
	"strconv"
)

// mergeReader joins the files of a strace -ff set into one stream. When the
// files carry timestamps the events are merged in time order (a k-way merge
// that holds one event per file); otherwise the files follow one another in
// pid order.
type mergeReader struct {
	rs    []Reader
	heads []Event
	live  []bool
	ev    Event
	err   error
	start bool
	timed bool
	cur   int
	stats Stats
}

func newMergeReader(rs []Reader) *mergeReader {
	return &mergeReader{rs: rs, heads: make([]Event, len(rs)), live: make([]bool, len(rs))}
}

func (m *mergeReader) Header() Header {
	h := m.rs[0].Header()
	h.Source = h.Source + " (+" + strconv.Itoa(len(m.rs)-1) + " more -ff files)"
	return h
}

func (m *mergeReader) Stats() Stats {
	var s Stats
	for _, r := range m.rs {
		st := r.Stats()
		s.Lines += st.Lines
		s.Skipped += st.Skipped
	}
	s.Events = m.stats.Events
	return s
}

func (m *mergeReader) Err() error    { return m.err }
func (m *mergeReader) Event() *Event { return &m.ev }

func (m *mergeReader) Close() error {
	var errs []error
	for _, r := range m.rs {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

func (m *mergeReader) advance(i int) {
	if m.rs[i].Scan() {
		m.heads[i] = m.rs[i].Event().Clone()
		m.live[i] = true
		return
	}
	m.live[i] = false
	if err := m.rs[i].Err(); err != nil && m.err == nil {
		m.err = err
	}
}

func (m *mergeReader) Scan() bool {
	if !m.start {
		m.start = true
		m.timed = true
		for i := range m.rs {
			m.advance(i)
			if m.live[i] && m.heads[i].Time == NoTime {
				m.timed = false
			}
		}
	}
	if m.err != nil {
		return false
	}
	best := -1
	if m.timed {
		for i := range m.rs {
			if m.live[i] && (best < 0 || m.heads[i].Time < m.heads[best].Time) {
				best = i
			}
		}
	} else {
		for m.cur < len(m.rs) && !m.live[m.cur] {
			m.cur++
		}
		if m.cur < len(m.rs) {
			best = m.cur
		}
	}
	if best < 0 {
		return false
	}
	m.ev = m.heads[best]
	m.advance(best)
	m.stats.Events++
	return true
}
