package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/syscov/syscov/analyze"
	"github.com/syscov/syscov/trace"
)

// explainedCrash is a crash as ExplainCrash fills it (values of the real
// AVX-512 run in the 0.17 image).
func explainedCrash() *analyze.Diff {
	rip, ec := trace.Hex(0x100010f6d9), trace.Hex(0)
	no, yes := false, true
	return &analyze.Diff{NativeSource: "n", UnikernelSource: "u", Ended: "guest panicked (pvpanic)",
		Crash: &analyze.CrashReport{
			Crash: trace.Crash{Kind: "invalid opcode", Trap: 6, ErrorCode: &ec, RIP: &rip, Message: "Unhandled Trap 6 (invalid opcode), error code=0x0",
				Regs: []trace.Reg{{Name: "RIP", Value: rip}}, Pos: trace.Pos{File: "u", Line: 25}, At: "u:25"},
			Where: &analyze.CodePlace{Role: "app", Object: "/x/cpu-avx512", Base: 0x1000106000, Offset: 0x96d9, Func: "add512", File: "cpu-avx512.c", Line: 10,
				How: "its RELRO mprotect(0x10001b2000, 16384, PROT_READ)"},
			Instruction: "vpbroadcastd %esi,%zmm0", Bytes: "62 f2 7d 48 7c c6",
			Feature: &analyze.FeatureGap{Feature: "AVX-512F", State: "AVX-512", GuestCPU: "max", Accel: "tcg", GuestHas: &no, HostHas: &yes,
				Unikraft: "Unikraft enables no AVX-512 state", Closures: []string{"rebuild the app without AVX-512"}},
			LastSyscalls: []string{`write(fd:1, "start\x0A", 6) = 6`},
		}}
}

func TestCrashInEveryFormat(t *testing.T) {
	d := explainedCrash()
	want := "the unikernel crashed: invalid opcode (AVX-512F) at add512+0x0 (cpu-avx512.c:10) in the app /x/cpu-avx512"
	if v := Verdict(d); v != want {
		t.Errorf("verdict %q, want %q", v, want)
	}
	for _, f := range []Format{FormatTable, FormatMarkdown, FormatJSON} {
		var b bytes.Buffer
		if err := Render(&b, f, DiffDoc{Diff: d}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, s := range []string{"AVX-512F", "add512", "vpbroadcastd %esi,%zmm0", "rebuild the app without AVX-512"} {
			if !strings.Contains(out, s) {
				t.Errorf("%s: no %q in\n%s", f, s, out)
			}
		}
		if f == FormatJSON {
			validate(t, compileSchema(t, "diff.schema.json"), b.Bytes())
			if !strings.Contains(out, `"rip": "0x100010f6d9"`) {
				t.Errorf("JSON: RIP not as a hex string")
			}
		}
	}
	var page bytes.Buffer
	if err := Render(&page, FormatHTML, Page{Title: "t", Diff: d, Verdict: Verdict(d)}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`id="crash-explained"`, "CPU feature: AVX-512F"} {
		if !strings.Contains(page.String(), s) {
			t.Errorf("HTML: no %q", s)
		}
	}
}
