package catalog

import (
	"fmt"
	"strings"
	"testing"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		spec string
		env  func(string) string
		want string // "" an error
	}{
		{"", env(), "0/1"},
		{"2/4", env(), "2/4"},
		{"4/4", env(), ""},
		{"-1/4", env(), ""},
		{"1/0", env(), ""},
		{"x", env(), ""},
		{"auto", env("JOB_COMPLETION_INDEX", "3", "SYSCOV_SHARDS", "5"), "3/5"},
		{"auto", env("JOB_COMPLETION_INDEX", "3"), ""}, // no count
		{"auto", env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "3"), "2/3"},
		{"auto", env("SLURM_ARRAY_TASK_ID", "3", "SLURM_ARRAY_TASK_COUNT", "3", "SLURM_ARRAY_TASK_MIN", "1"), "2/3"},
		{"auto", env("SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_COUNT", "3", "SLURM_ARRAY_TASK_MIN", "0", "SLURM_ARRAY_TASK_STEP", "2"), "2/3"},
		{"auto", env("SLURM_ARRAY_TASK_ID", "2"), ""}, // no count
		{"auto", env("SYSCOV_SHARD", "1/2"), "1/2"},
		{"auto", env(), ""},
	} {
		s, err := ParseShard(tc.spec, tc.env)
		got := ""
		if err == nil {
			got = s.String()
		}
		if got != tc.want {
			t.Errorf("ParseShard(%q) = %q, %v; want %q", tc.spec, got, err, tc.want)
		}
	}
}

// The shards of N machines cover the manifest once: every app in exactly
// one shard, and the same shard every time.
func TestShardsPartition(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\napps:\n")
	for i := 0; i < 23; i++ {
		fmt.Fprintf(&b, "  - name: a%d\n    command: [x]\n", i)
	}
	m, err := ParseManifest("m.yaml", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 4, 7, 30} {
		seen := map[string]int{}
		for k := 0; k < n; k++ {
			apps, err := Select(m, Shard{k, n}, nil)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Select(m, Shard{k, n}, nil)
			if len(again) != len(apps) {
				t.Errorf("shard %d/%d not deterministic", k, n)
			}
			if n <= 23 && (len(apps) < 23/n || len(apps) > 23/n+1) {
				t.Errorf("shard %d/%d has %d apps: unbalanced", k, n, len(apps))
			}
			for _, a := range apps {
				seen[a.Name]++
			}
		}
		if len(seen) != 23 {
			t.Errorf("%d shards cover %d apps, want 23", n, len(seen))
		}
		for name, c := range seen {
			if c != 1 {
				t.Errorf("%d shards: %s in %d", n, name, c)
			}
		}
	}
	if _, err := Select(m, All, []string{"a1", "nope"}); err == nil || !strings.Contains(err.Error(), "nope: no such app") {
		t.Errorf("--only nope: %v", err)
	}
	only, _ := Select(m, All, []string{"a1", "a5"})
	if len(only) != 2 {
		t.Errorf("--only a1,a5: %d apps", len(only))
	}
}
