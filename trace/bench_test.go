package trace

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkReader measures the strace reader on the real Redis recording
// (-f, unfinished/resumed pairs, signals, exits), repeated to 8 MiB.
func BenchmarkReader(b *testing.B) {
	for _, fixture := range []string{"redis-bgsave", "redis-bgsave-ttt-T-yy", "sysmix-k"} {
		b.Run(fixture, func(b *testing.B) {
			data, err := os.ReadFile("../fixtures/strace/" + fixture + ".strace")
			if err != nil {
				b.Fatal(err)
			}
			benchRead(b, data, FormatStrace)
		})
	}
}

// BenchmarkUnikraftReader measures the console reader on the Redis console
// fixture repeated to 8 MiB.
func BenchmarkUnikraftReader(b *testing.B) {
	data, err := os.ReadFile("../fixtures/unikraft/redis-elfloader-0.17.log")
	if err != nil {
		b.Fatal(err)
	}
	benchRead(b, data, FormatUnikraft)
}

// benchRead reads data repeated to 8 MiB in the given format, b.N times.
func benchRead(b *testing.B, data []byte, format Format) {
	input := bytes.Repeat(data, (8<<20)/len(data)+1)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := NewReader(bytes.NewReader(input), "bench", 0, Options{Format: format, Arch: ArchX86_64})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Scan() {
			n++
		}
		if r.Err() != nil || n == 0 {
			b.Fatal(r.Err(), n)
		}
	}
}
