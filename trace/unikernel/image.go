package unikernel

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Image is what syscov reads of a Unikraft kernel image before it boots
// it: that it is a kernel qemu can load, and which libraries it was built
// with (its .uk_libinfo section), which decide how its command line is
// parsed and which syscalls it can have.
type Image struct {
	Path string
	Size int64
	// Libraries are the Unikraft libraries linked in (libuklibparam,
	// liblwip, libposix_process ...), sorted; empty when the image has no
	// .uk_libinfo section.
	Libraries []string
	// LibParam: uklibparam is in, so "PARAMS -- ARGS" is parsed. An image
	// without .uk_libinfo (not Unikraft, or older than 0.14) is taken to
	// parse "PARAMS -- ARGS".
	LibParam bool
	// Version is the Unikraft version the image was built from, as its
	// .uk_libinfo header records it (UKLI_REC_UKFULLVERSION,
	// lib/uklibid/include/uk/libid/info.h): "0.18.0~424eb3d9"; "" when
	// the image does not say.
	Version string
}

// HasLibrary reports whether the image was built with a library.
func (im *Image) HasLibrary(name string) bool {
	i := sort.SearchStrings(im.Libraries, name)
	return i < len(im.Libraries) && im.Libraries[i] == name
}

// InspectImage checks that path is a kernel qemu can boot with -kernel (an
// ELF file, or a multiboot image) and reads what the image says of itself.
func InspectImage(path string) (*Image, error) {
	if strings.Contains(path, ":") && !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, ".") {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("unikernel image %q: no such file; syscov boots a kernel file, not a registry name (pull it first, e.g. with kraft pkg pull, and give the path of its kernel)", path)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("unikernel image: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("unikernel image: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("unikernel image %s: not a regular file", path)
	}
	im := &Image{Path: path, Size: fi.Size()}
	head := make([]byte, 32<<10)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if !bytes.HasPrefix(head, []byte("\x7fELF")) {
		if !hasMultibootMagic(head) {
			return nil, fmt.Errorf("unikernel image %s: neither an ELF file nor a multiboot kernel (a Unikraft build writes BUILD/APP_qemu-x86_64)", path)
		}
		im.LibParam = true
		return im, nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, fmt.Errorf("unikernel image %s: %w", path, err)
	}
	if ef.Machine != elf.EM_X86_64 && ef.Machine != elf.EM_386 {
		return nil, fmt.Errorf("unikernel image %s: an ELF file for %s; qemu-system-x86_64 boots x86 kernels", path, ef.Machine)
	}
	if s := ef.Section(".uk_libinfo"); s != nil {
		data, err := s.Data()
		if err == nil {
			im.Libraries = libInfoNames(data)
			im.Version = libInfoString(data, 7)
		}
	}
	im.LibParam = ef.Section(".uk_libparam_params") != nil || im.HasLibrary("libuklibparam") || len(im.Libraries) == 0
	return im, nil
}

// hasMultibootMagic looks for a multiboot 1 or 2 header in the first
// 32 KiB, as qemu and GRUB do.
func hasMultibootMagic(b []byte) bool {
	for i := 0; i+4 <= len(b); i += 4 {
		switch binary.LittleEndian.Uint32(b[i:]) {
		case 0x1BADB002, 0xE85250D6:
			return true
		}
	}
	return false
}

// libInfoString is the first record of type typ in a .uk_libinfo
// section, as a C string (7: UKLI_REC_UKFULLVERSION).
func libInfoString(data []byte, typ uint16) string {
	v := ""
	eachLibInfo(data, func(t uint16, val string) bool {
		if t == typ && val != "" {
			v = val
			return false
		}
		return true
	})
	return v
}

// libInfoNames reads the library names of a .uk_libinfo section: records
// of {u32 length, u16 version, u16 unused?} followed by type-length-value
// entries {u16 type, u32 length (with its 6-byte head), value}; type 1 is
// the library name (lib/uklibid in Unikraft 0.14 and later).
func libInfoNames(data []byte) []string {
	var out []string
	seen := map[string]bool{}
	eachLibInfo(data, func(t uint16, name string) bool {
		if t == 1 && name != "" && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
		return true
	})
	sort.Strings(out)
	return out
}

// eachLibInfo walks the type-length-value entries of a .uk_libinfo
// section (see libInfoNames), each value without its trailing NULs, until
// f answers false or the data ends or is malformed.
func eachLibInfo(data []byte, f func(typ uint16, val string) bool) {
	for off := 0; off+6 <= len(data); {
		rlen := int(binary.LittleEndian.Uint32(data[off:]))
		if rlen < 6 || off+rlen > len(data) {
			return
		}
		rec := data[off+6 : off+rlen]
		for p := 0; p+6 <= len(rec); {
			t := binary.LittleEndian.Uint16(rec[p:])
			l := int(binary.LittleEndian.Uint32(rec[p+2:]))
			if l < 6 || p+l > len(rec) {
				break
			}
			if !f(t, string(bytes.TrimRight(rec[p+6:p+l], "\x00"))) {
				return
			}
			p += l
		}
		off += rlen
	}
}

// KernelCmdline writes the kernel command line for an image: kernel
// parameters, then the app's argv, the way Unikraft 0.17 parses them.
//
// uk_argnparse (lib/ukargparse) splits on blanks, honours "…" and '…'
// quotes and backslash escapes; an argument that needs it is written in
// double quotes with " and \ escaped. It cannot express an empty
// argument: a "" yields nothing, so an empty argument is an error.
//
// Without uklibparam the whole line is the app's argv: a "--" would be
// taken as the program. With uklibparam, ukboot strips "PARAMS --" only
// when at least one parameter stands before "--" (lib/ukboot/early_init.c:
// the scan must return 0 < rc < argc-1), so "--" is written only after
// parameters; an app argument "--" with no parameters is an error, since
// the parser would take what precedes it for parameters.
func KernelCmdline(im *Image, params string, argv []string) (string, error) {
	params = strings.TrimSpace(params)
	var quoted []string
	for i, a := range argv {
		if a == "" {
			return "", fmt.Errorf("argument %d of the app is empty: Unikraft's command-line parser (uk_argnparse) drops empty arguments, so the app would see other arguments than natively; give the unikernel other arguments (--app-arg)", i)
		}
		quoted = append(quoted, QuoteArg(a))
	}
	args := strings.Join(quoted, " ")
	libparam := im != nil && im.LibParam
	switch {
	case params != "" && !libparam:
		return "", errors.New("--append: this image has no uklibparam, so kernel parameters would reach the app as its first arguments")
	case params != "" && args == "":
		return params, nil
	case params != "":
		return params + " -- " + args, nil
	case libparam:
		for _, a := range argv {
			if a == "--" {
				return "", errors.New("the app has an argument \"--\": on an image with uklibparam, give at least one kernel parameter (--append) so that Unikraft stops parsing parameters at syscov's \"--\"")
			}
		}
	}
	return args, nil
}

// QuoteArg quotes one argument for uk_argnparse.
func QuoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\r\n\v\"'\\") {
		return a
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(a); i++ {
		switch a[i] {
		case '"', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(a[i])
	}
	b.WriteByte('"')
	return b.String()
}
