package trace

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFlushEveryWithoutWrites: what was written reaches the file within
// the flush period even when no further event comes (an app gone quiet,
// then syscov killed).
func TestFlushEveryWithoutWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.trace")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := NewWriter(f, Header{Origin: "native", Arch: ArchX86_64})
	if err != nil {
		t.Fatal(err)
	}
	w.FlushEvery(50 * time.Millisecond)
	ev := Event{Kind: KindSyscall, PID: 1, TID: 1, Name: "read", Args: "3", Ret: "1", RetVal: 1, Time: NoTime}
	for i := 0; i < 3; i++ {
		if err := w.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if bytes.Count(b, []byte("\n")) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s the file holds %d lines, want the header and 3 events", bytes.Count(b, []byte("\n")))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
