package uksource

import (
	"regexp"
	"strings"
)

// What the code of a syscall says about how far it goes, read from its
// body (and the uk_sys_ helper it hands the work to):
//   - a stub: every return is a constant (0, -ENOSYS, -ECHILD …) and the
//     body does no work (calls nothing but logging and zeroing);
//   - partial: it returns -ENOSYS, -ENOTSUP or -EOPNOTSUPP under a
//     condition (an if, a case of a switch), recorded as written.

var (
	returnRE   = regexp.MustCompile(`\breturn\b([^;]*);`)
	constRE    = regexp.MustCompile(`^(?:\(\s*[a-z_ ]+\s*\*?\s*\)\s*)?\(?\s*(-?\s*E[A-Z0-9]+|-?[0-9]+|0x[0-9a-fA-F]+|NULL)\s*\)?$`)
	callRE     = regexp.MustCompile(`\b([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
	identRE    = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	unsupRetRE = regexp.MustCompile(`(?:\breturn\s+|=\s*)-\s*(ENOSYS|ENOTSUP|EOPNOTSUPP)\b`)
)

// noWork are the calls a stub may make: logging, branch hints, asserts,
// and zeroing what it hands back.
var noWork = map[string]bool{
	"if": true, "while": true, "for": true, "switch": true, "return": true, "sizeof": true,
	"unlikely": true, "likely": true, "UK_WARN_STUBBED": true, "UK_ASSERT": true, "UK_BUGON": true,
	"memset": true, "sigemptyset": true, "__unused": true, "defined": true,
}

// stripCode blanks comments, strings and characters of C text, keeping
// its length and line breaks.
func stripCode(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			for ; i < len(b) && !(b[i] == '*' && i+1 < len(b) && b[i+1] == '/'); i++ {
				if b[i] != '\n' {
					b[i] = ' '
				}
			}
			if i+1 < len(b) {
				b[i], b[i+1] = ' ', ' '
				i++
			}
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		case c == '"' || c == '\'':
			for i++; i < len(b) && b[i] != c && b[i] != '\n'; i++ {
				if b[i] == '\\' && i+1 < len(b) {
					b[i] = ' '
					i++
				}
				b[i] = ' '
			}
		}
	}
	return string(b)
}

// constantReturns returns the constants a body returns, in order and
// without repeats, when it is a stub: every return a constant, no call
// that does work. ok is false otherwise.
func constantReturns(body string) (consts []string, ok bool) {
	code := stripCode(body)
	rets := returnRE.FindAllStringSubmatch(code, -1)
	if len(rets) == 0 {
		return nil, false
	}
	for _, r := range rets {
		m := constRE.FindStringSubmatch(strings.TrimSpace(r[1]))
		if m == nil {
			return nil, false
		}
		c := strings.ReplaceAll(m[1], " ", "")
		if !contains(consts, c) {
			consts = append(consts, c)
		}
	}
	// Every return says "not supported": a stub, whatever it logs first.
	unsupported := true
	for _, c := range consts {
		unsupported = unsupported && (c == "-ENOSYS" || c == "-ENOTSUP" || c == "-EOPNOTSUPP")
	}
	if unsupported {
		return consts, true
	}
	for _, m := range callRE.FindAllStringSubmatch(code, -1) {
		if name := m[1]; !noWork[name] && !isLogging(name) {
			return nil, false
		}
	}
	// An assignment of anything but a constant is work (a stub may zero
	// what it hands back).
	for _, st := range strings.Split(code, ";") {
		if i := strings.Index(st, "="); i > 0 && !strings.ContainsAny(st[i-1:i], "=!<>") && (i+1 >= len(st) || st[i+1] != '=') {
			rhs := strings.TrimSpace(st[i+1:])
			if !constRE.MatchString(rhs) && !strings.HasSuffix(rhs, "{0}") && !strings.HasSuffix(rhs, "{ 0 }") && rhs != "{}" {
				return nil, false
			}
		}
	}
	return consts, true
}

// unsupportedWhen returns the conditions under which a body answers
// -ENOSYS, -ENOTSUP or -EOPNOTSUPP: the if's condition when it tests one
// of the call's parameters (not the state of the kernel), or the case
// labels of the switch arm when they are named constants (an op, not an
// error), as written ("sigmask", "FUTEX_FD, FUTEX_REQUEUE").
func unsupportedWhen(body string, params map[string]bool) []string {
	code := stripCode(body)
	var out []string
	for _, loc := range unsupRetRE.FindAllStringSubmatchIndex(code, -1) {
		before := code[:loc[0]]
		errno := code[loc[2]:loc[3]]
		cond := nearestCondition(before)
		if cond == "" {
			continue // unconditional: the stub test decides
		}
		if strings.HasPrefix(cond, "-") || strings.HasPrefix(cond, "E") && strings.ToUpper(cond) == cond {
			continue // an arm of a switch on an error
		}
		if !strings.Contains(cond, ",") && strings.ToUpper(cond) != cond && cond != "other values (switch default)" {
			testsParam := false
			for _, id := range identRE.FindAllString(cond, -1) {
				testsParam = testsParam || params[id]
			}
			if !testsParam {
				continue
			}
		}
		for _, hint := range []string{"unlikely(", "likely("} {
			if strings.HasPrefix(cond, hint) && strings.HasSuffix(cond, ")") {
				cond = cond[len(hint) : len(cond)-1]
			}
		}
		s := "-" + errno + " when " + cond
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// nearestCondition finds the if or case that guards the end of code: the
// last "if (…)" or run of "case …:" labels at most a few statements back
// that is still open.
func nearestCondition(code string) string {
	from := max(0, len(code)-400)
	window := code[from:]
	ifAt := strings.LastIndex(window, "if (")
	if j := strings.LastIndex(window, "if("); j > ifAt {
		ifAt = j
	}
	caseAt := strings.LastIndex(window, "case ")
	defAt := strings.LastIndex(window, "default:")
	switch {
	case ifAt >= 0 && ifAt > caseAt && ifAt > defAt:
		open := strings.IndexByte(window[ifAt:], '(') + ifAt
		depth := 0
		for i := open; i < len(window); i++ {
			switch window[i] {
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					// The guarded statement must still be open: no ';'
					// between the condition and the return, unless a
					// '{' opens a block after it.
					after := window[i+1:]
					if strings.Contains(after, ";") && !strings.Contains(after, "{") {
						return ""
					}
					return strings.Join(strings.Fields(window[open+1:i]), " ")
				}
			}
		}
	case caseAt >= 0 && caseAt > defAt:
		// Collect the run of labels ending at this arm.
		var labels []string
		seg := window[:strings.LastIndex(window, ":")+1]
		for {
			k := strings.LastIndex(seg, "case ")
			if k < 0 {
				break
			}
			label := strings.TrimSuffix(strings.TrimSpace(seg[k+len("case "):]), ":")
			labels = append([]string{strings.TrimSpace(strings.Split(label, ":")[0])}, labels...)
			seg = strings.TrimSpace(seg[:k])
			if !strings.HasSuffix(seg, ":") {
				break
			}
		}
		if len(labels) > 0 {
			return strings.Join(labels, ", ")
		}
	case defAt >= 0:
		return "other values (switch default)"
	}
	return ""
}

// isLogging tells the calls that only report: uk_pr_*, UK_* macros,
// tracepoints, *warn* helpers.
func isLogging(name string) bool {
	return strings.HasPrefix(name, "uk_pr_") || strings.HasPrefix(name, "UK_") || strings.HasPrefix(name, "trace_") || strings.Contains(name, "warn")
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
