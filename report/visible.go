package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Text from a trace — an app's argv and output, paths, the workload, a
// console — reaches reports and terminals. Raw, an ESC or BEL in it would
// drive the terminal of whoever runs `cat report.md` (set its title,
// clear it, overwrite a line), and a byte that is not UTF-8 would be
// shown as U+FFFD or garble a page. Visible and VisibleWriter make it
// safe to print: such characters become escapes anyone can read.

// Visible returns s with every character that does not show as itself
// written as an escape: control characters but newline and tab (\x1b,
// \r, \x7f), C1 controls and invisible separators or bidirectional
// overrides (\u009b, \u2028, \u202e), and bytes that are not UTF-8
// (\xff). Text without them is returned as it is.
func Visible(s string) string {
	if visibleAlready([]byte(s)) {
		return s
	}
	var b bytes.Buffer
	appendVisible(&b, []byte(s), false)
	return b.String()
}

func visibleAlready(p []byte) bool {
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' && c != '\t' && !crlf(p, i) || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n == 1 || !shows(r) {
			return false
		}
		i += n
	}
	return true
}

// crlf: p[i] is a carriage return that ends a line (a newline follows):
// harmless, and how consoles and serial lines end theirs.
func crlf(p []byte, i int) bool { return p[i] == '\r' && i+1 < len(p) && p[i+1] == '\n' }

// shows: a rune above ASCII that is shown as itself.
func shows(r rune) bool {
	return unicode.IsGraphic(r) && !unicode.Is(unicode.Bidi_Control, r) && r != '\u2028' && r != '\u2029'
}

// syscov's own colours (color.go), which pass a VisibleWriter that keeps
// colour.
var ownSGR = [][]byte{
	[]byte("\x1b[0m"), []byte("\x1b[" + red + "m"), []byte("\x1b[" + yellow + "m"), []byte("\x1b[" + dim + "m"),
	[]byte("\x1b[" + bold + ";" + red + "m"), []byte("\x1b[" + bold + ";" + green + "m"),
}

// appendVisible writes p to b with Visible's escapes; with keepColor,
// syscov's own colour sequences pass as they are.
func appendVisible(b *bytes.Buffer, p []byte, keepColor bool) {
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n' || c == '\t' || c >= 0x20 && c != 0x7f:
				b.WriteByte(c)
			case c == 0x1b && keepColor && ownColor(p[i:]) > 0:
				n := ownColor(p[i:])
				b.Write(p[i : i+n])
				i += n
				continue
			case c == '\r' && crlf(p, i):
				b.WriteByte(c) // a line's end as a console sends it
			case c == '\r':
				b.WriteString(`\r`)
			default:
				fmt.Fprintf(b, `\x%02x`, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(b, `\x%02x`, c)
		case !shows(r):
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.Write(p[i : i+n])
		}
		i += n
	}
}

func ownColor(p []byte) int {
	for _, s := range ownSGR {
		if bytes.HasPrefix(p, s) {
			return len(s)
		}
	}
	return 0
}

// VisibleWriter passes what is written to w through Visible (a UTF-8
// sequence cut between two writes is kept whole); with keepColor,
// syscov's own colours pass. The byte counts it returns are those of its
// input.
type VisibleWriter struct {
	w         io.Writer
	keepColor bool
	mu        sync.Mutex
	pending   []byte // the start of a UTF-8 sequence or colour code cut by the last write
	buf       bytes.Buffer
}

// NewVisibleWriter makes a VisibleWriter on w.
func NewVisibleWriter(w io.Writer, keepColor bool) *VisibleWriter {
	return &VisibleWriter{w: w, keepColor: keepColor}
}

func (v *VisibleWriter) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	in := p
	if len(v.pending) > 0 {
		in = append(v.pending, p...)
		v.pending = nil
	}
	cut := v.complete(in)
	v.pending = append([]byte(nil), in[cut:]...)
	if err := v.emit(in[:cut]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// complete is how much of p can be written now: all but a tail that may
// be the start of a UTF-8 sequence or of one of syscov's colours.
func (v *VisibleWriter) complete(p []byte) int {
	if len(p) > 0 && p[len(p)-1] == '\r' {
		return len(p) - 1 // a CRLF cut between two writes
	}
	for k := 1; k <= 4 && k <= len(p); k++ {
		c := p[len(p)-k]
		if c >= 0xc0 {
			if k < utf8lenOf(c) {
				return len(p) - k
			}
			break
		}
		if c < 0x80 {
			break
		}
	}
	if v.keepColor {
		for k := 1; k < 7 && k <= len(p); k++ {
			if p[len(p)-k] == 0x1b {
				tail := p[len(p)-k:]
				for _, s := range ownSGR {
					if len(tail) < len(s) && bytes.HasPrefix(s, tail) {
						return len(p) - k
					}
				}
				break
			}
		}
	}
	return len(p)
}

func (v *VisibleWriter) emit(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if visibleAlready(p) {
		_, err := v.w.Write(p)
		return err
	}
	v.buf.Reset()
	appendVisible(&v.buf, p, v.keepColor)
	_, err := v.w.Write(v.buf.Bytes())
	return err
}

// Unwrap is the writer written to (a progress line, redrawn with a
// carriage return, goes there itself).
func (v *VisibleWriter) Unwrap() io.Writer { return v.w }

// Flush writes what a last write left pending (a cut sequence, escaped).
func (v *VisibleWriter) Flush() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	p := v.pending
	v.pending = nil
	return v.emit(p)
}

func utf8lenOf(c byte) int {
	switch {
	case c >= 0xf0:
		return 4
	case c >= 0xe0:
		return 3
	}
	return 2
}

// PlainVisible is Visible for a file: syscov's own colours (a table
// rendered while colour is on for the terminal) are dropped, not escaped.
func PlainVisible(s string) string {
	if strings.Contains(s, "\x1b[") {
		for _, c := range ownSGR {
			s = strings.ReplaceAll(s, string(c), "")
		}
	}
	return Visible(s)
}

// oneLine keeps text from a trace (a path with a newline) on its line of
// a table: a newline is written \n (Visible escapes the rest).
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(s)
}
