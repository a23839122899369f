package report

// Colour on a terminal: the verdict and the impact of each lacking call
// stand out. cmd turns it on only when stdout is a terminal and NO_COLOR
// is not set; files, pipes and every other format get plain text.

var colorOn bool

// SetColor turns ANSI colour on or off for the table format.
func SetColor(on bool) { colorOn = on }

const (
	red    = "31"
	yellow = "33"
	green  = "32"
	dim    = "2"
	bold   = "1"
)

func paint(code, s string) string {
	if !colorOn || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// ImpactColor paints a line by an impact: blocks red, degrades yellow,
// noise dim.
func ImpactColor(impact, s string) string {
	switch impact {
	case "blocks":
		return paint(red, s)
	case "degrades":
		return paint(yellow, s)
	case "noise":
		return paint(dim, s)
	}
	return s
}

// VerdictColor paints a verdict line: red when something blocks the app,
// green otherwise.
func VerdictColor(lacks bool, s string) string {
	if lacks {
		return paint(bold+";"+red, s)
	}
	return paint(bold+";"+green, s)
}
