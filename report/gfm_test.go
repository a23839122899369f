package report

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// hostileDiff is a diff whose text comes from a hostile traced app: paths
// and arguments with table pipes, backticks, HTML, mentions, links and
// very long strings.
func hostileDiff() *analyze.Diff {
	ev := func(name, args string, st trace.Status, errno string) trace.Event {
		return trace.Event{Kind: trace.KindSyscall, PID: 1, TID: 1, Name: name, Args: args, Ret: "-1 " + errno, Errno: errno, Status: st,
			Pos:   trace.Pos{File: "evil|`<script>alert(1)</script>`.strace", Line: 3},
			Stack: []trace.Frame{{Object: "/opt/@admin/[x](http://evil)/app", Func: "main|<img src=x onerror=alert(1)>"}}}
	}
	b := analyze.NewDiffBuilder(2, nil)
	n1 := ev("openat", `AT_FDCWD, "/tmp/a|b`+"`"+`c<script>@everyone`+strings.Repeat("x", 300)+`", O_RDONLY`, trace.StatusOK, "")
	n2 := ev("socket", "AF_NETLINK, SOCK_RAW, 0", trace.StatusOK, "")
	b.AddNative(&n1)
	b.AddNative(&n2)
	u1 := ev("openat", `AT_FDCWD, "/tmp/a|b`+"`"+`c<script>@everyone", O_RDONLY`, trace.StatusError, "EIO")
	u2 := ev("socket", "AF_NETLINK, SOCK_RAW, 0", trace.StatusUnsupported, "EAFNOSUPPORT")
	u1.Origin, u2.Origin = trace.OriginUnikernel, trace.OriginUnikernel
	b.AddUnikernel(&u1)
	b.AddUnikernel(&u2)
	b.SetSources("native|`x`.trace", "<b>uk</b>.log", trace.Header{Unikraft: "Calypso <i>(0.17.0)</i> @mention", Ended: "crash", EndDetail: "| pipe ` tick <script>"})
	return b.Diff()
}

func renderGFM(t *testing.T, md []byte) string {
	t.Helper()
	var out bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert(md, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestMarkdownRendersSafelyInGFM(t *testing.T) {
	var md bytes.Buffer
	if err := Render(&md, FormatMarkdown, DiffDoc{Diff: hostileDiff()}); err != nil {
		t.Fatal(err)
	}
	html := renderGFM(t, md.Bytes())
	for _, bad := range []string{"<script", "<img", "<a ", "<b>", "<i>", "@mention", "@everyone"} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("rendered HTML has %q", bad)
		}
	}
	// Every table row keeps its column count: no pipe escaped the cells.
	rows := strings.Count(html, "<tr>")
	cells := strings.Count(html, "<td")
	if rows < 3 || cells != (rows-1)*9 {
		t.Errorf("%d rows, %d cells: a cell broke out of the table\n%s", rows, cells, html)
	}
	golden := "testdata/hostile-diff.html"
	if *update {
		os.WriteFile(golden, []byte(html), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if html != string(want) {
		t.Errorf("rendered HTML differs from %s (go test ./report -update to accept):\n%s", golden, html)
	}
}

// hostileText is app-controlled text that tries every way out of a cell
// or a code span: newlines (a new row, a new block), pipes, backticks,
// raw HTML, links, mentions.
const hostileText = "a\n| x | y |\n@everyone <img src=x> [l](http://evil) `tick` </table>\r\n# head\u2028end @team"

// A whole page (verdict, environment, coverage, diff) with hostile text
// everywhere the app controls it: every row keeps its cells, nothing of it
// becomes HTML, a link or a mention.
func TestPageMarkdownHostileEnvironment(t *testing.T) {
	page := Page{Title: "t", Verdict: "verdict " + hostileText, Diff: hostileDiff(),
		Env: []KV{{Key: "native command", Value: "/bin/true " + hostileText}, {Key: "host kernel", Value: hostileText}, {Key: "Unikraft", Value: "Calypso | (0.17.0)"}}}
	var md bytes.Buffer
	if err := Render(&md, FormatMarkdown, page); err != nil {
		t.Fatal(err)
	}
	html := renderGFM(t, md.Bytes())
	checkSafeHTML(t, html)
	// The environment table: a header row and three rows of two cells.
	env := html[:strings.Index(html, "</table>")]
	if rows, cells := strings.Count(env, "<tr>"), strings.Count(env, "<td"); rows != 4 || cells != 6 {
		t.Errorf("environment table: %d rows, %d cells, want 4 and 6\n%s", rows, cells, md.String())
	}
	// syscov's own names stay clean (in code, not escaped).
	if strings.Contains(md.String(), "unikraft@\u200b") {
		t.Error("a zero-width space inside the table's name")
	}
}

// checkSafeHTML: no tag of the app's, and no mention outside code spans
// (GitHub makes none inside code).
func checkSafeHTML(t *testing.T, html string) {
	t.Helper()
	low := strings.ToLower(html)
	for _, bad := range []string{"<script", "<img", "<a ", "<b>", "<i>", "<h1"} {
		if strings.Contains(low, bad) {
			t.Errorf("rendered HTML has %q:\n%s", bad, html)
		}
	}
	text := html
	for {
		i := strings.Index(text, "<code>")
		j := strings.Index(text, "</code>")
		if i < 0 || j < i {
			break
		}
		text = text[:i] + text[j+len("</code>"):]
	}
	for _, bad := range []string{"@everyone", "@team"} {
		if strings.Contains(text, bad) {
			t.Errorf("rendered HTML has the mention %q outside code:\n%s", bad, html)
		}
	}
}

// FuzzMarkdownEscapers: whatever the text, a table row built with mdCell
// and mdCodeCell keeps two cells and makes no HTML, link or mention.
func FuzzMarkdownEscapers(f *testing.F) {
	for _, s := range []string{hostileText, "", "|", "`", "\\|", "``|``", "@a", "x@y", "<a href=x>", "[a](b)", "a\\\nb", "&#124;", "\\`|", "https://example.com/x", "www.example.com", "WWW.a.b", "ftp://a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		md := "| a | b |\n|---|---|\n| " + mdCell(s) + " | " + mdCodeCell(s) + " |\n"
		html := renderGFM(t, []byte(md))
		if rows, cells := strings.Count(html, "<tr>"), strings.Count(html, "<td"); rows != 2 || cells != 2 {
			t.Fatalf("%q: %d rows, %d cells\n%s", s, rows, cells, html)
		}
		low := strings.ToLower(html)
		for _, bad := range []string{"<script", "<img", "<a ", "<b>", "<i>"} {
			if strings.Contains(low, bad) {
				t.Fatalf("%q renders %q", s, bad)
			}
		}
		// Outside the code cell, every @ is followed by a zero-width
		// space: no mention, no e-mail link.
		text := html[:strings.Index(html, "<code>")+1]
		if strings.Contains(strings.ReplaceAll(text, "@\u200b", ""), "@") {
			t.Fatalf("%q: a bare @ in %s", s, html)
		}
	})
}
