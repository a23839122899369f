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
	if err := Diff(&md, FormatMarkdown, hostileDiff()); err != nil {
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
	if rows < 3 || cells != (rows-1)*8 {
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
