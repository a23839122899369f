package unikernel

import (
	"context"
	"os/exec"
	"reflect"
	"testing"
)

func TestParseCPU(t *testing.T) {
	for _, tc := range []struct {
		in    string
		name  string
		props map[string]any
	}{
		{"max", "max", map[string]any{}},
		{"max,avx=off,avx2=off", "max", map[string]any{"avx": false, "avx2": false}},
		{"Skylake-Client,+avx512f,-fma,model-id=x", "Skylake-Client", map[string]any{"avx512f": true, "fma": false, "model-id": "x"}},
	} {
		name, props := parseCPU(tc.in)
		if name != tc.name || !reflect.DeepEqual(props, tc.props) {
			t.Errorf("%q: %q %v, want %q %v", tc.in, name, props, tc.name, tc.props)
		}
	}
}

// qemu itself says what a model has: TCG's max emulates AVX2 (qemu 7.2
// and later) but no AVX-512; the switches of --cpu take features away.
func TestGuestCPUFeatures(t *testing.T) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 is not installed")
	}
	ctx := context.Background()
	max, err := GuestCPUFeatures(ctx, "", "tcg", "")
	if err != nil {
		t.Fatal(err)
	}
	if !max["sse2"] || max["avx512f"] {
		t.Errorf("TCG max: sse2 %v avx512f %v", max["sse2"], max["avx512f"])
	}
	off, err := GuestCPUFeatures(ctx, "", "tcg", "max,avx=off,avx2=off")
	if err != nil {
		t.Fatal(err)
	}
	if off["avx2"] || off["avx"] {
		t.Errorf("max,avx=off,avx2=off still has avx %v avx2 %v", off["avx"], off["avx2"])
	}
	if _, err := GuestCPUFeatures(ctx, "", "tcg", "no-such-model"); err == nil {
		t.Errorf("an unknown model gives no error")
	}
}
