package trace

import "strings"

// eachArg calls fn with the bounds of each top-level argument of a
// syscall's argument text, as strace writes it (commas inside strings,
// brackets, braces and parentheses do not split), until fn says stop.
func eachArg(args string, fn func(i, start, end int) (stop bool)) {
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
			if fn(n, start, j) {
				return
			}
			n++
			start = j + 1
		}
	}
	if strings.TrimSpace(args[start:]) != "" || n > 0 {
		fn(n, start, len(args))
	}
}

// Args splits the argument text of a syscall into its arguments.
func Args(args string) []string {
	var out []string
	eachArg(args, func(_, start, end int) bool {
		out = append(out, strings.TrimSpace(args[start:end]))
		return false
	})
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
	out := ""
	eachArg(args, func(n, start, end int) bool {
		if n == i {
			out = strings.TrimSpace(args[start:end])
			return true
		}
		return false
	})
	return out
}
