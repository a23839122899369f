package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// CoverageSchema names the version of the coverage JSON document.
const CoverageSchema = "syscov.coverage/v1"

func degradingList(list []analyze.Blocker) string {
	var parts []string
	for _, d := range list {
		apps := "apps"
		if len(d.Apps) == 1 {
			apps = "app"
		}
		parts = append(parts, fmt.Sprintf("%s (%d %s)", d.Key, len(d.Apps), apps))
	}
	return strings.Join(parts, ", ")
}

func nr(n int) string {
	if n < 0 {
		return ""
	}
	return strconv.Itoa(n)
}

type jsonUse struct {
	Key       string `json:"key"`
	Name      string `json:"name"`
	Nr        int    `json:"nr"`
	Calls     int    `json:"calls"`
	Level     string `json:"level"`
	Note      string `json:"note,omitempty"`
	Class     string `json:"class"`
	FirstSite string `json:"first_site"`
	Unikernel string `json:"unikernel,omitempty"`
	Probe     string `json:"probe,omitempty"`
	Impact    string `json:"impact,omitempty"`
	ImpactWhy string `json:"impact_why,omitempty"`
	Evidence  string `json:"evidence,omitempty"`
	Closure   string `json:"to_close,omitempty"`
}

// stepHow is how a plan step is done: configure (the options) or
// implement.
func stepHow(s analyze.PlanStep) string {
	if s.Closure == "" {
		return "implement"
	}
	return s.Closure
}
