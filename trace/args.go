package trace

import "strings"

// Args splits the argument text of a syscall, as strace writes it, into
// its arguments: commas inside strings, brackets, braces and parentheses
// do not split.
func Args(args string) []string {
	var out []string
	depth, start := 0, 0
	inStr := false
	for j := 0; j < len(args); j++ {
		c := args[j]
		switch {
		case inStr:
			if c == '\\' {
				j++
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(args[start:j]))
			start = j + 1
		}
	}
	if rest := strings.TrimSpace(args[start:]); rest != "" || len(out) > 0 {
		out = append(out, rest)
	}
	return out
}

// Arg is argument i of a syscall's argument text (-1: the last one), ""
// when there is none. It does not allocate for i >= 0.
func Arg(args string, i int) string {
	if i < 0 {
		all := Args(args)
		if i += len(all); i < 0 {
			return ""
		}
		return all[i]
	}
	depth, start, n := 0, 0, 0
	inStr := false
	for j := 0; j < len(args); j++ {
		c := args[j]
		switch {
		case inStr:
			if c == '\\' {
				j++
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			if n == i {
				return strings.TrimSpace(args[start:j])
			}
			n++
			start = j + 1
		}
	}
	if n == i {
		return strings.TrimSpace(args[start:])
	}
	return ""
}
