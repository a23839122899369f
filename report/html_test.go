package report

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

// fixturePage is the page `syscov check` writes, built from the recorded
// fixtures: coverage of two apps and the diff of Redis against its
// unikernel console.
func fixturePage(t *testing.T) Page {
	t.Helper()
	native, _ := readEvents(t, "../fixtures/strace/redis-bgsave.strace")
	sqlite, _ := readEvents(t, "../fixtures/strace/sqlite3-ttt-T-y.strace")
	uni, uhdr := readEvents(t, "../fixtures/unikraft/redis-elfloader-0.17.log")
	for i := range uni {
		uni[i].Origin = trace.OriginUnikernel
	}
	db := analyze.NewDiffBuilder(4, nil)
	for i := range native {
		db.AddNative(&native[i])
	}
	for i := range uni {
		db.AddUnikernel(&uni[i])
	}
	db.SetSources("redis-bgsave.strace", "redis-elfloader-0.17.log", uhdr)
	d := db.Diff()
	table, _ := analyze.EmbeddedTable("unikraft")
	judge, err := analyze.NewJudge(table, nil)
	if err != nil {
		t.Fatal(err)
	}
	var apps []*analyze.AppCoverage
	for _, in := range []struct {
		name string
		evs  []trace.Event
	}{{"redis-server", native}, {"sqlite3", sqlite}} {
		cb := analyze.NewCoverageBuilder(in.name, in.name, trace.Header{}, judge, nil)
		for i := range in.evs {
			cb.Add(&in.evs[i])
		}
		apps = append(apps, cb.Coverage(nil))
	}
	return Page{Title: "syscov check: redis-server", Verdict: Verdict(d), Diff: d, Apps: apps, Plan: analyze.MakePlan(apps),
		Env: []KV{{"syscov", "test"}, {"Unikraft", d.Unikraft}}}
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no headless Chromium (apt-get install chromium; .ci/run does)")
	return ""
}

func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	out, err := exec.Command(bin, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return out
}

// TestHTMLInChromium opens the page in headless Chromium, checks the DOM it
// built (the charts, the tables, nothing from the traced app turned into
// markup, nothing fetched) and takes a screenshot. (The README's picture,
// docs/report.png, comes from a real Redis run: docs/screenshot.sh.)
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	var page bytes.Buffer
	p := fixturePage(t)
	if err := htmlPage(&page, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), "http://") || strings.Contains(page.String(), "https://") || strings.Contains(page.String(), "<script") {
		t.Error("the page names a remote resource or has a script")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	os.WriteFile(file, page.Bytes(), 0o644)
	dom := string(runChromium(t, bin, "--dump-dom", "file://"+file))
	for _, want := range []string{
		`id="verdict"`, `id="coverage-chart"`, `id="impact-chart"`, `id="frequency-chart"`, `id="timeline-chart"`,
		`id="verdict-table"`, `id="first-divergence"`, `id="plan-table"`,
		"the unikernel crashed: page fault", "it also lacks syscalls the app needs", `id="crash-explained"`, `id="lacking-crash"`, "rt_sigaction", "clone (fork)", ">blocks<",
		// what each app lacks, with impact, call site and why
		`class="lacking-table"`, `<tr class="degrades"><td>rseq</td>`, "glibc registers restartable sequences",
		"Stubbed (present, pretends or does nothing):",
		// a frequency chart for every app, not only the first
		"Syscall frequency of redis-server", "Syscall frequency of sqlite3",
		"% of calls supported",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM has no %q", want)
		}
	}
	if n := strings.Count(dom, `class="frequency-chart"`); n != 2 {
		t.Errorf("%d frequency charts, want one per app (2)", n)
	}
	if n := strings.Count(dom, `class="missing"`); n < 5 {
		t.Errorf("%d missing bars in the charts", n)
	}

	// Text of a hostile app stays text.
	var hostile bytes.Buffer
	htmlPage(&hostile, Page{Title: "<script>x</script>", Verdict: Verdict(hostileDiff()), Diff: hostileDiff()})
	hfile := filepath.Join(dir, "hostile.html")
	os.WriteFile(hfile, hostile.Bytes(), 0o644)
	hdom := string(runChromium(t, bin, "--dump-dom", "file://"+hfile))
	if strings.Contains(hdom, "<script>") || strings.Contains(hdom, "<img") {
		t.Errorf("app text became markup:\n%s", hdom)
	}

	png := filepath.Join(dir, "report.png")
	runChromium(t, bin, "--screenshot="+png, "--window-size=1100,1500", "--hide-scrollbars", "file://"+file)
	shot, err := os.ReadFile(png)
	if err != nil || len(shot) < 20000 || !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %d bytes, %v", len(shot), err)
	}
}
