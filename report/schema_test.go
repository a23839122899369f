package report

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

func compileSchema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	f, err := os.Open("schema/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(file, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(file)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, out []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("does not follow its schema: %v", err)
	}
}

func readEvents(t *testing.T, path string) ([]trace.Event, trace.Header) {
	t.Helper()
	r, err := trace.Open(path, trace.Options{Arch: trace.ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []trace.Event
	for r.Scan() {
		evs = append(evs, r.Event().Clone())
	}
	return evs, r.Header()
}

func TestJSONFollowsSchemas(t *testing.T) {
	native, _ := readEvents(t, "../fixtures/strace/redis-bgsave.strace")
	uni, uhdr := readEvents(t, "../fixtures/unikraft/redis-elfloader-0.17.log")

	sb := analyze.NewSummaryBuilder(true)
	for i := range native {
		sb.Add(&native[i])
	}
	var buf bytes.Buffer
	if err := Render(&buf, FormatJSON, SummaryDoc([]SummaryInput{{Summary: sb.Summary("redis")}})); err != nil {
		t.Fatal(err)
	}
	validate(t, compileSchema(t, "summary.schema.json"), buf.Bytes())

	db := analyze.NewDiffBuilder(3, nil)
	for i := range native {
		db.AddNative(&native[i])
	}
	for i := range uni {
		db.AddUnikernel(&uni[i])
	}
	db.SetSources("n", "u", uhdr)
	buf.Reset()
	if err := Render(&buf, FormatJSON, DiffDoc{Diff: db.Diff()}); err != nil {
		t.Fatal(err)
	}
	validate(t, compileSchema(t, "diff.schema.json"), buf.Bytes())

	table, _ := analyze.EmbeddedTable("unikraft")
	judge, err := analyze.NewJudge(table, nil)
	if err != nil {
		t.Fatal(err)
	}
	var apps []*analyze.AppCoverage
	for _, evs := range [][]trace.Event{native, uni} {
		cb := analyze.NewCoverageBuilder("app", "src", trace.Header{}, judge, nil)
		for i := range evs {
			cb.Add(&evs[i])
		}
		apps = append(apps, cb.Coverage(nil))
	}
	buf.Reset()
	if err := Render(&buf, FormatJSON, CoverageDoc{Apps: apps, Plan: analyze.MakePlan(apps)}); err != nil {
		t.Fatal(err)
	}
	validate(t, compileSchema(t, "coverage.schema.json"), buf.Bytes())

	// A document that breaks the schema is caught.
	var doc map[string]any
	json.Unmarshal(buf.Bytes(), &doc)
	doc["apps"] = "nope"
	bad, _ := json.Marshal(doc)
	d, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if compileSchema(t, "coverage.schema.json").Validate(d) == nil {
		t.Error("the schema accepts a broken document")
	}
}
