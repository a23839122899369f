package unikernel

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
)

// CPIONames lists the paths of a newc ("070701") CPIO archive, such as an
// initrd given with --initrd, at most max of them (the rest counted in
// more): for a run that did not find its app, what the root filesystem
// held. A malformed archive is an error naming the offset.
func CPIONames(path string, max int) (names []string, more int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var off int64
	hdr := make([]byte, 110)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err == io.EOF && off > 0 {
				return names, more, nil // padding after the trailer
			}
			return names, more, fmt.Errorf("%s: at byte %d: a truncated CPIO header", path, off)
		}
		if string(hdr[:6]) != "070701" && string(hdr[:6]) != "070702" {
			return names, more, fmt.Errorf("%s: at byte %d: not a newc CPIO header (%q)", path, off, hdr[:6])
		}
		field := func(i int) (int64, error) {
			return strconv.ParseInt(string(hdr[6+8*i:14+8*i]), 16, 64)
		}
		size, err1 := field(6)
		nameSize, err2 := field(11)
		if err1 != nil || err2 != nil || nameSize <= 0 || nameSize > 4096 || size < 0 {
			return names, more, fmt.Errorf("%s: at byte %d: a bad CPIO header", path, off)
		}
		name := make([]byte, nameSize)
		if _, err := io.ReadFull(r, name); err != nil {
			return names, more, fmt.Errorf("%s: at byte %d: a truncated name", path, off)
		}
		off += 110 + nameSize
		pad := (4 - off%4) % 4
		n := string(name[:nameSize-1])
		if n == "TRAILER!!!" {
			return names, more, nil
		}
		skip := pad + size
		off += skip
		skip += (4 - off%4) % 4
		off += (4 - off%4) % 4
		if _, err := r.Discard(int(skip)); err != nil {
			return names, more, fmt.Errorf("%s: at byte %d: truncated data of %s", path, off, n)
		}
		if len(names) < max {
			names = append(names, "/"+trimDot(n))
		} else {
			more++
		}
	}
}

func trimDot(n string) string {
	for len(n) > 0 && (n[0] == '.' || n[0] == '/') {
		n = n[1:]
	}
	return n
}
