package analyze

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Config is the Kconfig of a Unikraft image: the options set to y (or a
// value), as a .config file has them.
type Config struct {
	// Name says where it came from: a file, or "app-elfloader defaults".
	Name string
	On   map[string]bool // CONFIG_X → true for =y
}

// ParseConfig reads a .config: CONFIG_X=y lines turn X on, "# CONFIG_X is
// not set" and =n leave it off, other values (strings, numbers) count as
// set. Any other line is an error naming the line.
func ParseConfig(name string, data []byte) (*Config, error) {
	c := &Config{Name: name, On: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, "# CONFIG_") && strings.HasSuffix(line, " is not set") {
				seen++
			}
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(key, "CONFIG_") || strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("%s:%d: not a Kconfig line (want CONFIG_NAME=value): %.60q", name, n, line)
		}
		seen++
		if val != "n" && val != "" {
			c.On[key] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if seen == 0 {
		return nil, fmt.Errorf("%s: no CONFIG_ lines: not a Unikraft .config", name)
	}
	return c, nil
}

// Options lists the options that are on, sorted.
func (c *Config) Options() []string {
	var out []string
	for k, on := range c.On {
		if on {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// forArch is the config as it would be for another architecture of the
// same image (the arch option swapped).
func (c *Config) forArch(archOption string) *Config {
	if archOption == "" || c.On[archOption] {
		return c
	}
	out := &Config{Name: c.Name, On: map[string]bool{archOption: true}}
	for k, v := range c.On {
		if !strings.HasPrefix(k, "CONFIG_ARCH_") {
			out.On[k] = v
		}
	}
	return out
}

// Holds evaluates a condition recorded by the importer: options joined
// with !, &&, || and parentheses. An identifier that is not a CONFIG_
// option (a compiler macro) is unknown and counts as true; so does a
// condition syscov cannot read.
func (c *Config) Holds(expr string) bool {
	p := &exprParser{toks: tokenize(expr), cfg: c}
	v, ok := p.or()
	if !ok || p.i != len(p.toks) {
		return true
	}
	return v
}

// Missing returns, of a list of conditions, those that do not hold.
func (c *Config) Missing(needs []string) []string {
	var out []string
	for _, n := range needs {
		if !c.Holds(n) {
			out = append(out, n)
		}
	}
	return out
}

func tokenize(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '&' || c == '|' || c == '=':
			j := i
			for j < len(s) && s[j] == c {
				j++
			}
			out = append(out, s[i:j])
			i = j
		case c == '!' && i+1 < len(s) && s[i+1] == '=':
			out = append(out, "!=")
			i += 2
		case c == '!' || c == '(' || c == ')':
			out = append(out, s[i:i+1])
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t&|!()=", rune(s[j])) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

type exprParser struct {
	toks []string
	i    int
	cfg  *Config
}

func (p *exprParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *exprParser) or() (bool, bool) {
	v, ok := p.and()
	for ok && p.peek() == "||" {
		p.i++
		var w bool
		w, ok = p.and()
		v = v || w
	}
	return v, ok
}

func (p *exprParser) and() (bool, bool) {
	v, ok := p.unary()
	for ok && p.peek() == "&&" {
		p.i++
		var w bool
		w, ok = p.unary()
		v = v && w
	}
	return v, ok
}

func (p *exprParser) unary() (bool, bool) {
	switch t := p.peek(); t {
	case "!":
		p.i++
		v, ok := p.unary()
		return !v, ok
	case "(":
		p.i++
		v, ok := p.or()
		if !ok || p.peek() != ")" {
			return false, false
		}
		p.i++
		return v, true
	case "", ")", "&&", "||":
		return false, false
	default:
		p.i++
		switch {
		case strings.HasPrefix(t, "CONFIG_"):
			return p.cfg.On[t], true
		case t == "0":
			return false, true
		}
		return true, true // a compiler macro or a number: unknown, true
	}
}
