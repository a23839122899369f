package catalog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// App is one app of a manifest.
type App struct {
	Name string
	// Command is the app's argv; "{port}" in it, Ready, Workload and
	// Check is replaced by a free port for each run.
	Command  []string
	Ready    string        // tcp:PORT, unix:PATH, an http:// URL, log:REGEX
	Workload string        // shell command run against the app once ready
	Check    string        // shell command whose success says the workload's result is right
	Timeout  time.Duration // the whole app's check ends after this long
	Package  string        // the Debian package; its version is recorded
	Tags     []string
	// Weight favours the apps a team cares about in the plan (default 1).
	Weight float64
	// Unikernel is the unikernel run, nil when the app has none.
	Unikernel *UnikernelRun
	// Probe, when set, probes the app's missing syscalls (--probe).
	Probe *ProbeRun
	// AllProcesses counts every process of the native run as the app's
	// (check --all-processes): for an app the wrapper filter would set
	// aside.
	AllProcesses bool
	// Files are written into the app's run directory ({dir}) before it
	// starts, by name: configuration files, inputs. {port}, {port2} and
	// {dir} are replaced in their contents too.
	Files []File
	// Pos is where the app is in the manifest (file:line).
	Pos string
	// Index is the app's position in the manifest (0-based), for shards.
	Index int
}

// File is one file of an app's run directory.
type File struct {
	Name, Content string
}

// UnikernelRun is how an app runs in a Unikraft image.
type UnikernelRun struct {
	Image  string
	Append string
	Ports  []string // HOST:GUEST; "{port}" is the run's port
	Config string   // the image's .config
	Args   []string // the app's arguments in the unikernel, when they differ
	Memory string
}

// ProbeRun is how an app is probed.
type ProbeRun struct {
	Syscalls string // the syscalls to probe (default: those the table lacks)
}

// Manifest is a parsed manifest.
type Manifest struct {
	Path     string
	Defaults Defaults
	Apps     []*App
}

// Defaults apply to every app that does not say otherwise.
type Defaults struct {
	Timeout time.Duration
	Tags    []string
}

// DefaultTimeout bounds an app whose manifest says nothing.
const DefaultTimeout = 5 * time.Minute

// ManifestVersion is the manifest format this syscov reads.
const ManifestVersion = 1

// ManifestError is a mistake in a manifest: file:line and the key.
type ManifestError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *ManifestError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// LoadManifest reads the manifest at path.
func LoadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseManifest(path, f)
}

// ParseManifest reads a manifest from r (named name in errors). Every
// mistake it finds is reported, up to 20, joined.
func ParseManifest(name string, r io.Reader) (*Manifest, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(r)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ManifestError{File: name, Line: 1, Msg: "empty manifest: want version: 1 and apps:"}
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ManifestError{File: name, Line: extra.Line, Msg: "a second YAML document: a manifest is one document"}
	}
	p := &parser{file: name}
	m := p.manifest(&doc)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return m, nil
}

// yamlError turns yaml.v3's "yaml: line N: msg" into file:line: msg.
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		if i := strings.Index(msg, ":"); i > 0 {
			if n, e := strconv.Atoi(msg[5:i]); e == nil {
				return &ManifestError{File: name, Line: n, Msg: strings.TrimSpace(msg[i+1:])}
			}
		}
	}
	return &ManifestError{File: name, Line: 1, Msg: msg}
}

type parser struct {
	file string
	errs []error
}

func (p *parser) errorf(n *yaml.Node, key, format string, args ...any) {
	if len(p.errs) == 20 {
		p.errs = append(p.errs, fmt.Errorf("%s: too many mistakes, stopping", p.file))
	}
	if len(p.errs) > 20 {
		return
	}
	p.errs = append(p.errs, &ManifestError{File: p.file, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// fields walks a mapping node, calling f for each key; unknown keys and
// duplicate keys are errors.
// keySet says which keys a mapping may have.
type keySet interface{ has(string) bool }

type keys map[string]bool

func (k keys) has(s string) bool { return k[s] }

// anyKey lets every key through (the names of files).
type anyKey struct{}

func (anyKey) has(string) bool { return true }

func (p *parser) fields(n *yaml.Node, what string, known keySet, f func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, what, "want a mapping (key: value lines), got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		switch {
		case !known.has(key):
			p.errorf(k, key, "unknown key in %s (known: %s)", what, knownList(known.(keys)))
		case seen[key]:
			p.errorf(k, key, "given twice in %s", what)
		default:
			seen[key] = true
			f(key, v)
		}
	}
}

func knownList(known keys) string {
	var out []string
	for k := range known {
		out = append(out, k)
	}
	sortStrings(out)
	return strings.Join(out, ", ")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

func (p *parser) str(n *yaml.Node, key string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, key, "want a string, got %s", kindName(n))
		return ""
	}
	return n.Value
}

func (p *parser) list(n *yaml.Node, key string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, key, "want a list of strings ([a, b] or - lines), got %s", kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, p.str(c, key))
	}
	return out
}

func (p *parser) duration(n *yaml.Node, key string) time.Duration {
	s := p.str(n, key)
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		p.errorf(n, key, "want a positive duration such as 90s or 5m, got %q", s)
		return 0
	}
	return d
}

var (
	topKeys       = keys{"version": true, "defaults": true, "apps": true}
	defaultKeys   = keys{"timeout": true, "tags": true}
	appKeys       = keys{"name": true, "command": true, "ready": true, "workload": true, "check": true, "timeout": true, "package": true, "tags": true, "weight": true, "unikernel": true, "probe": true, "files": true, "all-processes": true}
	unikernelKeys = keys{"image": true, "append": true, "ports": true, "config": true, "args": true, "memory": true}
	probeKeys     = keys{"syscalls": true}
)

func (p *parser) manifest(doc *yaml.Node) *Manifest {
	m := &Manifest{Path: p.file}
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	var apps *yaml.Node
	version := 0
	p.fields(root, "the manifest", topKeys, func(key string, v *yaml.Node) {
		switch key {
		case "version":
			n, err := strconv.Atoi(p.str(v, key))
			if err != nil || n != ManifestVersion {
				p.errorf(v, key, "want %d (the manifest format this syscov reads), got %s", ManifestVersion, kindName(v))
			}
			version = n
		case "defaults":
			p.fields(v, "defaults", defaultKeys, func(key string, v *yaml.Node) {
				switch key {
				case "timeout":
					m.Defaults.Timeout = p.duration(v, key)
				case "tags":
					m.Defaults.Tags = p.list(v, key)
				}
			})
		case "apps":
			apps = v
		}
	})
	if root.Kind != yaml.MappingNode {
		return m
	}
	if version == 0 {
		p.errorf(root, "version", "missing: want version: %d", ManifestVersion)
	}
	if apps == nil {
		p.errorf(root, "apps", "missing: want apps: and a list of apps")
		return m
	}
	if apps.Kind != yaml.SequenceNode {
		p.errorf(apps, "apps", "want a list of apps, got %s", kindName(apps))
		return m
	}
	names := map[string]string{}
	m.Apps = make([]*App, 0, len(apps.Content))
	for i, n := range apps.Content {
		a := p.app(n, m.Defaults)
		if a == nil {
			continue
		}
		a.Index = i
		if prev, ok := names[a.Name]; ok && a.Name != "" {
			p.errorf(n, "name", "%q is already the name of the app at %s", a.Name, prev)
			continue
		}
		names[a.Name] = a.Pos
		m.Apps = append(m.Apps, a)
	}
	return m
}

func (p *parser) app(n *yaml.Node, d Defaults) *App {
	a := &App{Pos: fmt.Sprintf("%s:%d", p.file, n.Line), Timeout: d.Timeout, Weight: 1}
	a.Tags = append(a.Tags, d.Tags...)
	before := len(p.errs)
	p.fields(n, "an app", appKeys, func(key string, v *yaml.Node) {
		switch key {
		case "name":
			a.Name = p.str(v, key)
			if a.Name != "" && !validName(a.Name) {
				p.errorf(v, key, "%q: a name is letters, digits and . _ - (it names the app's log and reports)", a.Name)
			}
		case "command":
			if v.Kind != yaml.SequenceNode {
				p.errorf(v, key, "want a list (the argv: [redis-server, --port, \"{port}\"]), got %s", kindName(v))
				return
			}
			a.Command = p.list(v, key)
			if len(a.Command) == 0 {
				p.errorf(v, key, "an empty list: want the program and its arguments")
			}
		case "ready":
			a.Ready = p.str(v, key)
		case "workload":
			a.Workload = p.str(v, key)
		case "check":
			a.Check = p.str(v, key)
		case "timeout":
			a.Timeout = p.duration(v, key)
		case "package":
			a.Package = p.str(v, key)
		case "tags":
			a.Tags = append(a.Tags, p.list(v, key)...)
		case "weight":
			w, err := strconv.ParseFloat(p.str(v, key), 64)
			if err != nil || w <= 0 || w > 1e6 {
				p.errorf(v, key, "want a positive number (1 is the default), got %s", kindName(v))
			}
			a.Weight = w
		case "unikernel":
			a.Unikernel = &UnikernelRun{}
			p.fields(v, "unikernel", unikernelKeys, func(key string, v *yaml.Node) {
				u := a.Unikernel
				switch key {
				case "image":
					u.Image = p.str(v, key)
				case "append":
					u.Append = p.str(v, key)
				case "ports":
					u.Ports = p.list(v, key)
				case "config":
					u.Config = p.str(v, key)
				case "args":
					u.Args = p.list(v, key)
				case "memory":
					u.Memory = p.str(v, key)
				}
			})
			if a.Unikernel.Image == "" && v.Kind == yaml.MappingNode {
				p.errorf(v, "unikernel", "missing image:")
			}
		case "all-processes":
			switch p.str(v, key) {
			case "true":
				a.AllProcesses = true
			case "false":
			default:
				p.errorf(v, key, "want true or false")
			}
		case "files":
			p.fields(v, "files", anyKey{}, func(name string, c *yaml.Node) {
				if !validName(name) {
					p.errorf(c, name, "a file name is letters, digits and . _ - (it is written into the app's run directory)")
					return
				}
				a.Files = append(a.Files, File{name, p.str(c, name)})
			})
		case "probe":
			a.Probe = &ProbeRun{}
			if v.Kind == yaml.ScalarNode && (v.Value == "true" || v.Value == "false") {
				if v.Value == "false" {
					a.Probe = nil
				}
				return
			}
			p.fields(v, "probe", probeKeys, func(key string, v *yaml.Node) {
				a.Probe.Syscalls = p.str(v, key)
			})
		}
	})
	if n.Kind != yaml.MappingNode {
		return nil
	}
	if a.Name == "" {
		p.errorf(n, "name", "missing: every app has a name")
	}
	if a.Command == nil {
		p.errorf(n, "command", "missing: want the app's argv as a list")
	}
	if len(p.errs) > before {
		return nil
	}
	if a.Timeout == 0 {
		a.Timeout = DefaultTimeout
	}
	return a
}

func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return s != "." && s != ".."
}
