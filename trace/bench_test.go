package trace

import (
	"bytes"
	"fmt"
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

// BenchmarkUnfinishedPids: calls left unfinished on many pids (strace -f
// -qq of a program forking 40k children, cut short) are handed out at the
// end of input. The time per pid must not grow with the number of pids:
// compare ns/pid across the sizes (10k, 100k, 1M).
func BenchmarkUnfinishedPids(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		var buf bytes.Buffer
		for i := 0; i < n; i++ {
			fmt.Fprintf(&buf, "%d  read(3,  <unfinished ...>\n", 100+i)
		}
		data := buf.Bytes()
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r, err := NewReader(bytes.NewReader(data), "u", 0, Options{Format: FormatStrace, Arch: ArchX86_64})
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for r.Scan() {
					got++
				}
				if got != n {
					b.Fatalf("%d events, want %d", got, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/pid")
		})
	}
}
