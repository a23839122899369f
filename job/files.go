package job

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/syscov/syscov/internal/outfile"
	"github.com/syscov/syscov/report"
)

// WriteFile writes a report or a table whole or not at all (see
// outfile.Write): a private temporary file beside path renamed over it,
// never through a symbolic link planted at path.
func WriteFile(path string, data []byte) error { return outfile.Write(path, data) }

// WriteReport writes a report for people (Markdown, HTML, a table, JSON)
// like WriteFile, with every character that would not show as itself
// escaped (report.Visible): `cat report.md` cannot drive a terminal.
func WriteReport(path string, data []byte) error {
	return outfile.Write(path, []byte(report.PlainVisible(string(data))))
}

// WriteFileFrom is WriteFile for content written by fill (an archive
// streamed from many host files).
func WriteFileFrom(path string, fill func(io.Writer) error) error {
	return outfile.WriteFrom(path, fill)
}

// CreateNew creates a file that grows while syscov runs (a trace, a
// FILE.partial), never following a link in its place (see outfile.Create).
func CreateNew(path string) (*os.File, error) { return outfile.Create(path) }

// ShellJoin writes an argv as a POSIX shell reads it back, byte for
// byte (see ShellQuote): the rerun line of a report is the command.
func ShellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = ShellQuote(a)
	}
	return strings.Join(out, " ")
}

// ShellQuote quotes one argument so that a shell reads back exactly its
// bytes, and the quoted text is safe to print: a plain word as it is, an
// empty one as ”, text with shell syntax (a backtick, $, ;, a quote) in
// single quotes; text with a control character, a byte that is not UTF-8
// or an invisible or reordering character (U+2028, U+202E) in $'…' with
// \xHH escapes (bash, zsh, ksh, POSIX.1-2024 shells), so that no raw
// ESC, BEL or 0xff reaches a report or a terminal and nothing becomes
// U+FFFD.
func ShellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return a
	}
	if !needsANSIQuote(a) {
		return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(a); {
		r, n := utf8.DecodeRuneInString(a[i:])
		switch {
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError && n == 1, !printable(r):
			for _, c := range []byte(a[i : i+n]) {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		default:
			b.WriteString(a[i : i+n])
		}
		i += n
	}
	b.WriteByte('\'')
	return b.String()
}

func needsANSIQuote(a string) bool {
	for i := 0; i < len(a); {
		r, n := utf8.DecodeRuneInString(a[i:])
		if r == utf8.RuneError && n == 1 || !printable(r) {
			return true
		}
		i += n
	}
	return false
}

// printable: a rune that shows as itself (no control character, no
// invisible line or paragraph separator, no bidirectional override).
func printable(r rune) bool {
	if r < 0x80 {
		return r >= 0x20 && r != 0x7f
	}
	return unicode.IsGraphic(r) && !unicode.Is(unicode.Bidi_Control, r) && r != '\u2028' && r != '\u2029'
}
