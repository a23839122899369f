package job

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscov/syscov/report"
)

// Progress prints "reading NAME: N events, M lines" on a terminal while a
// long input is read (or "trace of CMD: N events" while tracing); nothing
// when stderr is not a terminal (piped, CI).
type Progress struct {
	w      io.Writer
	on     bool
	name   string
	last   time.Time
	start  time.Time
	shown  bool
	events int
}

// On reports whether progress is shown (stderr is a terminal).
func (p *Progress) On() bool { return p.on }

// NewProgress starts a progress line named name on w.
func NewProgress(w io.Writer, name string) *Progress {
	// The line is redrawn with a carriage return: on the terminal itself,
	// not through the escaping writer of syscov's stderr; the name, from
	// the user or a trace, is escaped here instead.
	if u, ok := w.(interface{ Unwrap() io.Writer }); ok {
		w = u.Unwrap()
	}
	p := &Progress{w: w, name: report.Visible(name), start: time.Now(), last: time.Now()}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		p.on = err == nil
	}
	return p
}

// tick counts an event; it looks at the clock once per 65536 events.
// Tick counts one event (and the lines read so far, 0 when unknown).
func (p *Progress) Tick(lines int) {
	p.events++
	if !p.on || p.events&0xffff != 0 {
		return
	}
	if now := time.Now(); now.Sub(p.last) > 250*time.Millisecond && now.Sub(p.start) > time.Second {
		p.last = now
		p.shown = true
		if lines > 0 {
			fmt.Fprintf(p.w, "\rreading %s: %d events, %d lines", p.name, p.events, lines)
		} else {
			fmt.Fprintf(p.w, "\r%s: %d events", p.name, p.events)
		}
	}
}

// done clears the progress line.
// Done ends the progress line.
func (p *Progress) Done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// Line redraws the progress line with text of the caller's (shown only
// on a terminal).
func (p *Progress) Line(format string, args ...any) {
	if p.on {
		fmt.Fprintf(p.w, "\r"+format, args...)
	}
}
