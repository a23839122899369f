package catalog

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syscov/syscov/catalog/store"
)

// The plan takes, per app, the strongest evidence: a real unikernel run
// over the native prediction, and says where they disagree.
func TestPlanAppsEvidence(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	put := func(app, mode string, status store.Status, reason string, gaps ...store.Gap) {
		r := &store.Result{Key: store.Key{App: app, Table: "unikraft@0.17.0", Syscov: "0.1.0", Backend: "auto", Mode: mode}, Weight: 1, Status: status, Reason: reason,
			Source: "syscov", Started: at, Gaps: gaps}
		if strings.HasPrefix(mode, "unikernel") {
			r.Config = "image elfloader_qemu-x86_64.lwip run:0011"
		}
		if _, err := st.Put(ctx, r, false); err != nil {
			t.Fatal(err)
		}
	}
	fork := store.Gap{Key: "clone (fork)", Name: "clone", Level: "partial", Impact: "blocks", Closure: "implement", Unikernel: "unsupported EOPNOTSUPP"}
	// redis: native predicts works, the unikernel run says lacks.
	put("redis", "native", store.Works, "")
	put("redis", "unikernel", store.Lacks, "", fork)
	// nginx: the unikernel run failed: the native prediction stands.
	put("nginx", "native", store.Works, "")
	put("nginx", "unikernel", store.UnikernelFailed, "the unikernel run made no syscall")
	// sqlite3: native only.
	put("sqlite3", "native", store.Works, "")
	// A result checked with a .config is not among those without one.
	r := &store.Result{Key: store.Key{App: "lua", Table: "unikraft@0.17.0", Config: "config lwip.config sha256:0123456789", Mode: "native"}, Status: store.Works, Source: "syscov", Started: at}
	st.Put(ctx, r, false)
	apps, err := PlanApps(ctx, st, PlanInput{Table: "unikraft@0.17.0"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range apps {
		got[a.Name] = a.Verdict + " " + a.Status + " | " + a.Disagree
	}
	want := map[string]string{
		"redis":   "unikernel lacks | the native run predicts works (needs nothing); the unikernel run says lacks (needs clone (fork))",
		"nginx":   "native unikernel-failed | the native run predicts it works; the unikernel run failed: the unikernel run made no syscall",
		"sqlite3": "native works | ",
	}
	for app, w := range want {
		if got[app] != w {
			t.Errorf("%s: %q\nwant %q", app, got[app], w)
		}
	}
	if _, ok := got["lua"]; ok || len(got) != 3 {
		t.Errorf("apps %v: want redis, nginx, sqlite3 (lua was checked with a .config)", got)
	}
	with, err := PlanApps(ctx, st, PlanInput{Table: "unikraft@0.17.0", Config: "config lwip.config sha256:0123456789"})
	if err != nil || len(with) != 1 || with[0].Name != "lua" {
		t.Errorf("with the config: %v %v", with, err)
	}
	for _, a := range apps {
		if a.Name == "redis" && (len(a.Needs) != 1 || !strings.Contains(a.Needs[0].Evidence, "unikernel: unsupported EOPNOTSUPP")) {
			t.Errorf("redis needs %+v", a.Needs)
		}
	}
}
