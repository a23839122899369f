package job

import (
	"io"
	"os"
	"strings"

	"github.com/syscov/syscov/internal/outfile"
)

// WriteFile writes a report or a table whole or not at all (see
// outfile.Write): a private temporary file beside path renamed over it,
// never through a symbolic link planted at path.
func WriteFile(path string, data []byte) error { return outfile.Write(path, data) }

// WriteFileFrom is WriteFile for content written by fill (an archive
// streamed from many host files).
func WriteFileFrom(path string, fill func(io.Writer) error) error {
	return outfile.WriteFrom(path, fill)
}

// CreateNew creates a file that grows while syscov runs (a trace, a
// FILE.partial), never following a link in its place (see outfile.Create).
func CreateNew(path string) (*os.File, error) { return outfile.Create(path) }

// ShellJoin writes an argv as a POSIX shell would need it typed: every
// argument that is not plain is single-quoted, an empty one is ”.
func ShellJoin(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = ShellQuote(a)
	}
	return strings.Join(out, " ")
}

func ShellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
