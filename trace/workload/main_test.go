package workload

import (
	"os"
	"testing"

	"github.com/syscov/syscov/trace/guard"
)

// TestMain lets the test binary be the guard commands run under.
func TestMain(m *testing.M) {
	guard.RunIfRequested()
	os.Exit(m.Run())
}
