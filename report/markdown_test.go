package report

import "testing"

func TestMDCellEscapesHostileText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"exit_group", "exit_group"}, // GFM takes no intraword _ for emphasis
		{"a|b", "a&#124;b"},
		{"`code`", "&#96;code&#96;"},
		{"<script>alert(1)</script>", "&#60;script&#62;alert(1)&#60;/script&#62;"},
		{"@mention", "@\u200bmention"},
		{"[x](http://e)", "&#91;x&#93;(http&#58;//e)"},
		{"see www.e.com", "see www&#46;e.com"},
		{"a:b //c", "a:b //c"},
		{"line\nbreak", "line break"},
	}
	for _, tt := range tests {
		if got := mdCell(tt.in); got != tt.want {
			t.Errorf("mdCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := make([]byte, 500)
	for i := range long {
		long[i] = 'x'
	}
	if got := mdCell(string(long)); len([]rune(got)) != 121 {
		t.Errorf("long text not cut: %d runes", len([]rune(got)))
	}
}
