package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeExamples runs every example of README.md marked with
// <!-- example -->: a fenced block whose first line is "$ syscov ARGS" and
// whose other lines are the expected stdout. A line "..." stands for any
// number of lines; trailing spaces do not count. The examples run from the
// repository's root, so they name files as a reader would.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- example -->\\s*```[a-z]*\\n(.*?)```")
	blocks := re.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no examples")
	}
	root, _ := filepath.Abs("../..")
	wd, _ := os.Getwd()
	if err := os.Chdir(root); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	for _, b := range blocks {
		lines := strings.Split(strings.TrimRight(b[1], "\n"), "\n")
		cmd, ok := strings.CutPrefix(lines[0], "$ syscov ")
		if !ok {
			t.Errorf("example does not start with '$ syscov': %q", lines[0])
			continue
		}
		t.Run(cmd, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(strings.Fields(cmd), nil, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			got := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
			if !matchLines(got, lines[1:]) {
				t.Errorf("README example output differs; got:\n%s", stdout.String())
			}
		})
	}
}

// matchLines matches got against want, where a "..." line in want stands
// for any number of lines.
func matchLines(got, want []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if want[0] == "..." {
		for i := 0; i <= len(got); i++ {
			if matchLines(got[i:], want[1:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && strings.TrimRight(got[0], " ") == strings.TrimRight(want[0], " ") && matchLines(got[1:], want[1:])
}
