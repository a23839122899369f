package unikernel

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/u-root/u-root/pkg/cpio"
)

// Rootfs is the set of host files syscov packs into an initrd for
// app-elfloader: the app, its ELF interpreter and libraries, the files the
// native run read, and empty directories such as /tmp. Paths inside the
// guest are absolute; each maps to the host file whose content it gets.
type Rootfs struct {
	files map[string]string // guest path → host path
	dirs  map[string]bool
	// Why records why each guest path is there, for the report.
	Why map[string]string
	// NotPIE names the app when it is not position-independent (ET_EXEC):
	// app-elfloader loads ET_DYN executables only ("Parsing of ELF image
	// failed: Exec format error").
	NotPIE string
}

// NewRootfs starts an empty file set with /tmp.
func NewRootfs() *Rootfs {
	r := &Rootfs{files: map[string]string{}, dirs: map[string]bool{}, Why: map[string]string{}}
	r.AddDir("/tmp", "scratch directory")
	return r
}

// AddDir adds an empty directory (and its parents).
func (r *Rootfs) AddDir(guest, why string) {
	guest = path.Clean("/" + guest)
	if !r.dirs[guest] {
		r.dirs[guest] = true
		if _, ok := r.Why[guest]; !ok {
			r.Why[guest] = why
		}
	}
}

// AddFile adds the host file src at guest path dst (src itself when dst is
// empty). Symlinks are followed: the guest gets a regular file. Only
// regular files are taken.
func (r *Rootfs) AddFile(src, dst, why string) error {
	if dst == "" {
		dst = src
	}
	dst = path.Clean("/" + dst)
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		r.AddDir(dst, why)
		return nil
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file (%s)", src, fi.Mode().Type())
	}
	if _, ok := r.files[dst]; !ok {
		r.files[dst] = src
		r.Why[dst] = why
	}
	return nil
}

// AddTree adds a host file, or a directory with every regular file and
// directory below it, at guest path dst (src when empty). A symlink to a
// regular file is taken as that file's content; other symlinks, devices
// and FIFOs are left out.
func (r *Rootfs) AddTree(src, dst, why string) error {
	if dst == "" {
		dst = src
	}
	if !filepath.IsAbs(dst) {
		return fmt.Errorf("%s: the guest path must be absolute", dst)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return r.AddFile(src, dst, why)
	}
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		g := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			r.AddDir(g, why)
		case d.Type().IsRegular():
			return r.AddFile(p, g, why)
		case d.Type()&os.ModeSymlink != 0:
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return r.AddFile(p, g, why)
			}
		}
		return nil
	})
}

// Has reports whether the guest path is in the set.
func (r *Rootfs) Has(guest string) bool {
	guest = path.Clean("/" + guest)
	_, ok := r.files[guest]
	return ok || r.dirs[guest]
}

// AddProgram adds an executable with everything the dynamic loader needs
// to start it: its ELF interpreter (PT_INTERP) and every DT_NEEDED
// library, searched the way ld.so searches (DT_RPATH, LD_LIBRARY_PATH,
// DT_RUNPATH, the directories of /etc/ld.so.conf, the default ones).
//
// It returns the program's absolute path, which is its path in the guest.
func (r *Rootfs) AddProgram(prog string) (string, error) {
	abs, err := lookPath(prog)
	if err != nil {
		return "", err
	}
	return abs, r.addProgram(abs)
}

func (r *Rootfs) addProgram(abs string) error {
	if err := r.AddFile(abs, abs, "the app"); err != nil {
		return err
	}
	f, err := elf.Open(abs)
	if err != nil {
		return fmt.Errorf("%s: not an ELF executable app-elfloader can load: %w", abs, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 {
		return fmt.Errorf("%s: %s %s, but the unikernel runs x86_64 programs", abs, f.Class, f.Machine)
	}
	if f.Type == elf.ET_EXEC {
		r.NotPIE = abs
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(p.Open(), 4096))
		if err != nil {
			return fmt.Errorf("%s: PT_INTERP: %w", abs, err)
		}
		interp := strings.TrimRight(string(b), "\x00")
		if err := r.AddFile(interp, interp, "ELF interpreter of "+filepath.Base(abs)); err != nil {
			return fmt.Errorf("%s: its interpreter: %w", abs, err)
		}
	}
	return r.addNeeded(f, abs, map[string]bool{})
}

// lookPath finds a program like a shell does (a name without a slash is
// looked up on PATH) and returns its absolute path.
func lookPath(prog string) (string, error) {
	p, err := exec.LookPath(prog)
	if err != nil && !strings.Contains(prog, "/") {
		return "", fmt.Errorf("%s: not found on PATH", prog)
	} else if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

func (r *Rootfs) addNeeded(f *elf.File, owner string, seen map[string]bool) error {
	needed, _ := f.ImportedLibraries()
	rpath, _ := f.DynString(elf.DT_RPATH)
	runpath, _ := f.DynString(elf.DT_RUNPATH)
	for _, lib := range needed {
		if seen[lib] {
			continue
		}
		seen[lib] = true
		found := findLibrary(lib, owner, rpath, runpath)
		if found == "" {
			return fmt.Errorf("%s needs %s, which ld.so's search path does not have", owner, lib)
		}
		if err := r.AddFile(found, found, "library of "+filepath.Base(owner)); err != nil {
			return err
		}
		lf, err := elf.Open(found)
		if err != nil {
			return fmt.Errorf("%s: %w", found, err)
		}
		err = r.addNeeded(lf, found, seen)
		lf.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// findLibrary searches for a DT_NEEDED name in ld.so's order.
func findLibrary(name, owner string, rpath, runpath []string) string {
	if strings.Contains(name, "/") {
		if isELF64(name) {
			return name
		}
		return ""
	}
	var dirs []string
	expand := func(list []string) {
		for _, l := range list {
			for _, d := range strings.Split(l, ":") {
				d = strings.ReplaceAll(d, "$ORIGIN", filepath.Dir(owner))
				d = strings.ReplaceAll(d, "${ORIGIN}", filepath.Dir(owner))
				if d != "" {
					dirs = append(dirs, d)
				}
			}
		}
	}
	if len(runpath) == 0 {
		expand(rpath)
	}
	expand([]string{os.Getenv("LD_LIBRARY_PATH")})
	expand(runpath)
	dirs = append(dirs, systemLibDirs()...)
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if isELF64(p) {
			return p
		}
	}
	return ""
}

// systemLibDirs are the directories of /etc/ld.so.conf then the default
// ones, read once.
var systemLibDirs = sync.OnceValue(func() []string {
	return append(ldSoConfDirs("/etc/ld.so.conf", 0),
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib")
})

// isELF64 reports whether p is an x86_64 ELF object (ld.so skips
// libraries of another ABI on its path).
func isELF64(p string) bool {
	f, err := elf.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Machine == elf.EM_X86_64 && f.Class == elf.ELFCLASS64
}

// ldSoConfDirs reads the directories of an ld.so.conf, following include
// lines (depth-limited).
func ldSoConfDirs(conf string, depth int) []string {
	if depth > 4 {
		return nil
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, "include "):
			pat := strings.TrimSpace(strings.TrimPrefix(line, "include "))
			if !filepath.IsAbs(pat) {
				pat = filepath.Join(filepath.Dir(conf), pat)
			}
			matches, _ := filepath.Glob(pat)
			sort.Strings(matches)
			for _, m := range matches {
				out = append(out, ldSoConfDirs(m, depth+1)...)
			}
		default:
			out = append(out, line)
		}
	}
	return out
}

// Entry is one path of the packed file set.
type Entry struct {
	Guest, Host, Why string
	Dir              bool
	Size             int64
}

// List returns the file set sorted by guest path, directories included.
func (r *Rootfs) List() []Entry {
	var out []Entry
	for d := range r.allDirs() {
		out = append(out, Entry{Guest: d, Dir: true, Why: r.Why[d]})
	}
	for g, h := range r.files {
		e := Entry{Guest: g, Host: h, Why: r.Why[g]}
		if fi, err := os.Stat(h); err == nil {
			e.Size = fi.Size()
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Guest < out[j].Guest })
	return out
}

// allDirs is every directory the set needs: the ones added and the
// parents of every path.
func (r *Rootfs) allDirs() map[string]bool {
	dirs := map[string]bool{}
	addParents := func(p string) {
		for d := path.Dir(p); d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for d := range r.dirs {
		if d != "/" {
			dirs[d] = true
		}
		addParents(d)
	}
	for g := range r.files {
		addParents(g)
	}
	return dirs
}

// WriteCPIO writes the set as a newc CPIO archive (what app-elfloader's
// initrd mount extracts): directories first, parents before children,
// then the files, with fixed times and owners so that the same set gives
// the same bytes.
func (r *Rootfs) WriteCPIO(w io.Writer) error {
	rw := cpio.Newc.Writer(w)
	var dirs []string
	for d := range r.allDirs() {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	ino := uint64(1)
	for _, d := range dirs {
		rec := cpio.Directory(strings.TrimPrefix(d, "/"), 0o755)
		rec.Ino, rec.NLink = ino, 2
		ino++
		if err := rw.WriteRecord(rec); err != nil {
			return err
		}
	}
	var names []string
	for g := range r.files {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		if err := writeFileRecord(rw, strings.TrimPrefix(g, "/"), r.files[g], ino); err != nil {
			return err
		}
		ino++
	}
	return cpio.WriteTrailer(rw)
}

func writeFileRecord(rw cpio.RecordWriter, name, host string, ino uint64) error {
	f, err := os.Open(host)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", host)
	}
	rec := cpio.Record{ReaderAt: f, Info: cpio.Info{
		Name: name, Mode: cpio.S_IFREG | uint64(fi.Mode().Perm()), FileSize: uint64(fi.Size()), Ino: ino, NLink: 1,
	}}
	if err := rw.WriteRecord(rec); err != nil {
		return fmt.Errorf("%s: %w", host, err)
	}
	return nil
}
