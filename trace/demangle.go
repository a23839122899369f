package trace

import (
	"strings"
	"sync"

	"github.com/ianlancetaylor/demangle"
)

var demangled sync.Map // mangled name → readable name

// Demangle makes a C++ or Rust symbol readable
// (_ZN2v88internal19RwxMemoryWriteScope29InitializeMemoryProtectionKeyEv
// → v8::internal::RwxMemoryWriteScope::InitializeMemoryProtectionKey());
// other names come back as they are. Results are cached: a stack names
// the same functions again and again.
func Demangle(name string) string {
	if !strings.HasPrefix(name, "_Z") && !strings.HasPrefix(name, "_R") {
		return name
	}
	if d, ok := demangled.Load(name); ok {
		return d.(string)
	}
	d := demangle.Filter(name)
	demangled.Store(name, d)
	return d
}
