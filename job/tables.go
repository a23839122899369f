package job

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/syscov/syscov/analyze"
)

// LoadSupportTable takes "unikraft", "unikraft@V" (built in) or a file.
func LoadSupportTable(spec string) (*analyze.SupportTable, error) {
	if data, err := os.ReadFile(spec); err == nil {
		t, err := analyze.ParseSupportTable(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		return t, nil
	}
	return analyze.EmbeddedTable(spec)
}

// LoadProbe reads probe.json for coverage and check: the app it probed
// and its verdicts.
func LoadProbe(path string) (string, map[string]analyze.ProbeVerdict, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	var rep analyze.ProbeReport
	if err := json.Unmarshal(data, &rep); err != nil || !strings.HasPrefix(rep.Schema, "syscov.probe/") {
		return "", nil, fmt.Errorf("%s: not a syscov probe report (syscov probe --format json)", path)
	}
	app := rep.App
	if len(rep.Command) > 0 {
		app = filepath.Base(rep.Command[0])
	}
	return app, rep.Verdicts(), nil
}

// LoadJudgement loads what uses are judged against: a support table and
// the probe verdicts of the probed apps, by app.
func LoadJudgement(against string, probeFiles []string) (*analyze.SupportTable, map[string]map[string]analyze.ProbeVerdict, error) {
	table, err := LoadSupportTable(against)
	if err != nil || len(probeFiles) == 0 {
		return table, nil, err
	}
	probes := map[string]map[string]analyze.ProbeVerdict{}
	for _, f := range probeFiles {
		app, verdicts, err := LoadProbe(f)
		if err != nil {
			return nil, nil, err
		}
		probes[app] = verdicts
	}
	return table, probes, nil
}

// LoadConfig reads --config ("" is none).
func LoadConfig(path string) (*analyze.Config, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return analyze.ParseConfig(path, data)
}
