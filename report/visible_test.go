package report

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestVisible(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain text stays", "openat /etc/hosts café ⏎", "openat /etc/hosts café ⏎"},
		{"newline and tab stay", "a\tb\nc", "a\tb\nc"},
		{"OSC title", "\x1b]0;pwned\x07x", `\x1b]0;pwned\x07x`},
		{"clear screen", "\x1b[2J", `\x1b[2J`},
		{"carriage return", "ok\rFAIL", `ok\rFAIL`},
		{"CRLF line ends stay", "line\r\nnext\r\n", "line\r\nnext\r\n"},
		{"DEL and NUL", "\x7f\x00", `\x7f\x00`},
		{"not UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"C1 CSI", "\u009b2J", `\u009b2J`},
		{"bidi override", "x\u202ey", `x\u202ey`},
		{"line separator", "x\u2028y", `x\u2028y`},
	} {
		if got := Visible(tc.in); got != tc.want {
			t.Errorf("%s: Visible(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// The writer gives what Visible gives whatever the writes are cut into,
// and lets syscov's own colours through only when asked to.
func TestVisibleWriterCuts(t *testing.T) {
	in := "é\x1b[1;31mblocks\x1b[0m \x1b]0;t\x07 日本\xff\r\n"
	for cut := 0; cut <= len(in); cut++ {
		var b bytes.Buffer
		v := NewVisibleWriter(&b, true)
		v.Write([]byte(in[:cut]))
		v.Write([]byte(in[cut:]))
		v.Flush()
		want := "é\x1b[1;31mblocks\x1b[0m \\x1b]0;t\\x07 日本\\xff\r\n"
		if b.String() != want {
			t.Fatalf("cut at %d: %q, want %q", cut, b.String(), want)
		}
	}
	var b bytes.Buffer
	v := NewVisibleWriter(&b, false)
	v.Write([]byte(in))
	v.Flush()
	if strings.Contains(b.String(), "\x1b") {
		t.Errorf("colour passed without keepColor: %q", b.String())
	}
}

// The rerun line of report.md is a fenced block: copied from the raw
// file or from the page GitHub renders, it is the command, backticks
// and pipes included.
func TestMarkdownRerunIsExact(t *testing.T) {
	rerun := "syscov check -- /bin/echo '`;touch /tmp/PWNED;`' 'a|b' '```' $'\\x1b'"
	var md bytes.Buffer
	p := Page{Title: "t", Env: []KV{{Key: "native command", Value: "/bin/echo '`x`|y'"}, {Key: "rerun", Value: rerun}}}
	if err := Render(&md, FormatMarkdown, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "\n"+rerun+"\n") {
		t.Errorf("the raw report.md has no line that is the command:\n%s", md.String())
	}
	page := renderGFM(t, md.Bytes())
	m := regexp.MustCompile(`(?s)<pre><code class="language-sh">(.*?)\n</code></pre>`).FindStringSubmatch(page)
	if m == nil || html.UnescapeString(m[1]) != rerun {
		t.Errorf("the rendered rerun is not the command:\n%s", page)
	}
	if !strings.Contains(page, "<code>/bin/echo '`x`|y'</code>") {
		t.Errorf("a code cell with a backtick and a pipe does not show as it is:\n%s", page)
	}
	if !utf8.Valid(md.Bytes()) {
		t.Error("not UTF-8")
	}
}
