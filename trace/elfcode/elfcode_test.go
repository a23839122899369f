package elfcode

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecodeFeatures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		code  []byte
		text  string
		feats string
	}{
		{"EVEX 512-bit broadcast", []byte{0x62, 0xf2, 0x7d, 0x48, 0x7c, 0xc6}, "vpbroadcastd %esi,%zmm0", "AVX-512F"},
		{"EVEX 256-bit byte add", []byte{0x62, 0xf1, 0x7d, 0x28, 0xfc, 0xc1}, "", "AVX-512F AVX-512VL AVX-512BW"},
		{"VEX.256 integer add", []byte{0xc5, 0xfd, 0xfe, 0x07}, "vpaddd (%rdi),%ymm0,%ymm0", "AVX2"},
		{"VEX broadcast from memory", []byte{0xc4, 0xe2, 0x7d, 0x58, 0x06}, "vpbroadcastd (%rsi),%ymm0", "AVX2"},
		{"VEX.128 move", []byte{0xc5, 0xf9, 0x6e, 0xc6}, "vmovd %esi,%xmm0", "AVX"},
		{"VEX.256 float add", []byte{0xc5, 0xfc, 0x58, 0xc1}, "vaddps %ymm1,%ymm0,%ymm0", "AVX"},
		{"FMA", []byte{0xc4, 0xe2, 0xf1, 0xa9, 0xc2}, "", "FMA"},
		{"SSE2 baseline", []byte{0x66, 0x0f, 0xfe, 0x07}, "paddd (%rdi),%xmm0", ""},
		{"POPCNT", []byte{0xf3, 0x48, 0x0f, 0xb8, 0xc7}, "", "POPCNT"},
		{"BMI2 shlx", []byte{0xc4, 0xe2, 0xf9, 0xf7, 0xc7}, "", "BMI2"},
		{"TZCNT runs as BSF without BMI1", []byte{0xf3, 0x48, 0x0f, 0xbc, 0xc7}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Decode(tc.code, 0)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range in.Features {
				names = append(names, f.Name)
			}
			if got := strings.Join(names, " "); got != tc.feats {
				t.Errorf("%s: features %q, want %q", in.Text, got, tc.feats)
			}
			if tc.text != "" && in.Text != tc.text {
				t.Errorf("text %q, want %q", in.Text, tc.text)
			}
		})
	}
}

// build compiles a fixture program with gcc.
func build(t *testing.T, src string, flags ...string) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc is not installed")
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(src, ".c"))
	args := append(append([]string{"-O1", "-g"}, flags...), "-o", out, filepath.Join("../../fixtures/src", src))
	if b, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %v: %v\n%s", args, err, b)
	}
	return out
}

func TestSymbolLineAndScan(t *testing.T) {
	for _, link := range []string{"-static-pie", "-pie"} {
		t.Run(link, func(t *testing.T) {
			o, err := Open(build(t, "cpu-avx512.c", link))
			if err != nil {
				t.Fatal(err)
			}
			defer o.Close()
			uses, err := ScanOwnCode(o)
			if err != nil {
				t.Fatal(err)
			}
			var found *Use
			for i, u := range uses {
				if u.Feature.State == "AVX-512" {
					if u.Func != "add512" {
						t.Errorf("AVX-512 outside the app's add512: %+v", u)
					}
					found = &uses[i]
				}
			}
			if found == nil {
				t.Fatalf("no AVX-512 use found in %+v", uses)
			}
			if filepath.Base(found.File) != "cpu-avx512.c" || found.Line == 0 {
				t.Errorf("at %s:%d", found.File, found.Line)
			}
			name, off, ok := o.Symbol(found.Addr)
			if !ok || name != "add512" {
				t.Errorf("Symbol = %q+%#x %v", name, off, ok)
			}
			code, err := o.Code(found.Addr, 15)
			if err != nil {
				t.Fatal(err)
			}
			in, err := Decode(code, found.Addr)
			if err != nil || in.Encoding != "EVEX" {
				t.Errorf("decode %+v %v", in, err)
			}
			if _, _, ok := o.RelroPages(); !ok {
				t.Errorf("no RELRO")
			}
		})
	}
	// The SSE2 control uses nothing beyond the baseline in its own code,
	// while its static glibc has AVX-512 variants.
	o, err := Open(build(t, "cpu-sse2.c", "-static-pie"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	uses, _ := ScanOwnCode(o)
	for _, u := range uses {
		if u.Feature.State != "" {
			t.Errorf("the SSE2 control uses %s in %s", u.Feature.Name, u.Func)
		}
	}
	if n, _, ok := o.Symbol(0); ok {
		t.Errorf("a symbol at 0: %s", n)
	}
}

// FuzzDecode: any bytes decode to an instruction or an error, never a
// panic; an instruction is never longer than its input.
func FuzzDecode(f *testing.F) {
	for _, b := range [][]byte{{0x62, 0xf2, 0x7d, 0x48, 0x7c, 0xc6}, {0xc5, 0xfd, 0xfe, 0x07}, {0xc4, 0xe2, 0x7d, 0x58, 0x06}, {0x66, 0x0f, 0xfe, 0x07}, {0x62}, {0xc4}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, code []byte) {
		in, err := Decode(code, 0x1000)
		if err != nil {
			return
		}
		if len(in.Bytes) == 0 || len(in.Bytes) > len(code) {
			t.Fatalf("%d bytes of %d", len(in.Bytes), len(code))
		}
	})
}
