package catalog

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestManifestSmall(t *testing.T) {
	m, err := LoadManifest("testdata/small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Apps) != 3 {
		t.Fatalf("%d apps, want 3", len(m.Apps))
	}
	r := m.Apps[2]
	if r.Name != "redis" || r.Package != "redis-server" || strings.Join(r.Command, " ") != "redis-server --port {port} --save " {
		t.Errorf("redis: %+v", r)
	}
	if r.Timeout != 2*time.Minute || m.Apps[0].Timeout != 90*time.Second {
		t.Errorf("timeouts %v %v: want 2m (the app's) and 90s (the default)", r.Timeout, m.Apps[0].Timeout)
	}
	if strings.Join(r.Tags, ",") != "test,kv,server" || m.Apps[1].Weight != 2 || m.Apps[0].Weight != 1 {
		t.Errorf("tags %v, weights %v %v", r.Tags, m.Apps[1].Weight, m.Apps[0].Weight)
	}
	if r.Unikernel == nil || r.Unikernel.Image != "elfloader_qemu-x86_64.lwip" || r.Unikernel.Ports[0] != "{port}:6379" || r.Probe == nil {
		t.Errorf("unikernel %+v probe %+v", r.Unikernel, r.Probe)
	}
	if r.Pos != "testdata/small.yaml:15" || r.Index != 2 {
		t.Errorf("pos %s index %d", r.Pos, r.Index)
	}
}

// Each mistake is reported as file:line: key: what is wrong.
func TestManifestMistakes(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"unknown key in an app", "version: 1\napps:\n  - name: a\n    command: [x]\n    comand: [y]\n", "m.yaml:5: comand: unknown key in an app"},
		{"unknown top key", "version: 1\napp: []\n", "m.yaml:2: app: unknown key in the manifest"},
		{"duplicate name", "version: 1\napps:\n  - name: a\n    command: [x]\n  - name: a\n    command: [y]\n", `m.yaml:5: name: "a" is already the name of the app at m.yaml:3`},
		{"command a string", "version: 1\napps:\n  - name: a\n    command: redis-server --port 1\n", "m.yaml:4: command: want a list (the argv"},
		{"command empty", "version: 1\napps:\n  - name: a\n    command: []\n", "m.yaml:4: command: an empty list"},
		{"command of mappings", "version: 1\napps:\n  - name: a\n    command: [{x: 1}]\n", "m.yaml:4: command: want a string, got a mapping"},
		{"no command", "version: 1\napps:\n  - name: a\n", "m.yaml:3: command: missing"},
		{"no name", "version: 1\napps:\n  - command: [x]\n", "m.yaml:3: name: missing"},
		{"bad name", "version: 1\napps:\n  - name: a/b\n    command: [x]\n", `m.yaml:3: name: "a/b": a name is letters`},
		{"key twice", "version: 1\napps:\n  - name: a\n    name: b\n    command: [x]\n", "m.yaml:4: name: given twice"},
		{"bad timeout", "version: 1\napps:\n  - name: a\n    command: [x]\n    timeout: soon\n", `m.yaml:5: timeout: want a positive duration such as 90s or 5m, got "soon"`},
		{"bad weight", "version: 1\napps:\n  - name: a\n    command: [x]\n    weight: -1\n", "m.yaml:5: weight: want a positive number"},
		{"no version", "apps:\n  - name: a\n    command: [x]\n", "m.yaml:1: version: missing"},
		{"newer version", "version: 2\napps: []\n", "m.yaml:1: version: want 1"},
		{"apps a mapping", "version: 1\napps:\n  a: 1\n", "m.yaml:3: apps: want a list of apps, got a mapping"},
		{"unikernel without image", "version: 1\napps:\n  - name: a\n    command: [x]\n    unikernel:\n      append: x\n", "m.yaml:6: unikernel: missing image:"},
		{"unknown unikernel key", "version: 1\napps:\n  - name: a\n    command: [x]\n    unikernel:\n      image: i\n      port: [1]\n", "m.yaml:7: port: unknown key in unikernel"},
		{"YAML syntax", "version: 1\napps:\n  - name: a\n   command: [x\n", "m.yaml:2: did not find expected"},
		{"tab indentation", "version: 1\napps:\n\t- name: a\n", "m.yaml:3:"},
		{"two documents", "version: 1\napps: []\n---\nversion: 1\n", "m.yaml:3: a second YAML document"},
		{"empty", "", "m.yaml:1: empty manifest"},
		{"a list", "- a\n", "m.yaml:1: the manifest: want a mapping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest("m.yaml", strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// All the mistakes of a manifest are told at once, not one per run.
func TestManifestManyMistakes(t *testing.T) {
	_, err := ParseManifest("m.yaml", strings.NewReader("version: 1\napps:\n  - name: a\n    command: x\n  - name: b\n    commnd: [y]\n"))
	if err == nil || !strings.Contains(err.Error(), "m.yaml:4: command") || !strings.Contains(err.Error(), "m.yaml:6: commnd") {
		t.Errorf("error %v: want both mistakes", err)
	}
}

// A manifest of 10,000 apps is read in well under a second or two, and
// every app is there (a catalog's manifest must not stall the run).
func TestManifestTenThousand(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\napps:\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "  - name: app%d\n    package: pkg%d\n    command: [app%d, --port, \"{port}\"]\n    ready: \"tcp:{port}\"\n    workload: client -p {port} ping\n    tags: [a, b]\n", i, i, i)
	}
	start := time.Now()
	m, err := ParseManifest("big.yaml", strings.NewReader(b.String()))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Apps) != 10000 || m.Apps[9999].Name != "app9999" || m.Apps[9999].Index != 9999 {
		t.Fatalf("%d apps", len(m.Apps))
	}
	t.Logf("10,000 apps (%d bytes) in %s", b.Len(), elapsed)
	if elapsed > 10*time.Second {
		t.Errorf("10,000 apps took %s", elapsed)
	}
}

func FuzzManifest(f *testing.F) {
	data, err := os.ReadFile("testdata/small.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(data))
	f.Add("version: 1\napps:\n  - name: a\n    command: x\n")
	f.Add("version: 1\napps: [&a {name: x, command: [y]}, *a]\n")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseManifest("f.yaml", strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml:") {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, a := range m.Apps {
			if a.Name == "" || len(a.Command) == 0 || seen[a.Name] {
				t.Errorf("accepted app %+v", a)
			}
			seen[a.Name] = true
		}
	})
}
