package catalog

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// Shard is a deterministic share of a manifest: the apps whose position
// i in the manifest has i mod Count == Index. Index counts from 0, as a
// Kubernetes Indexed Job's JOB_COMPLETION_INDEX does.
type Shard struct{ Index, Count int }

// All is the whole manifest.
var All = Shard{0, 1}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Has reports whether the app at manifest position i is this shard's.
func (s Shard) Has(i int) bool { return s.Count <= 1 || i%s.Count == s.Index }

// ParseShard reads K/N (0 <= K < N) or "auto"; getenv is os.Getenv in use.
func ParseShard(spec string, getenv func(string) string) (Shard, error) {
	if spec == "" {
		return All, nil
	}
	if spec == "auto" {
		return autoShard(getenv)
	}
	k, n, ok := strings.Cut(spec, "/")
	ki, err1 := strconv.Atoi(k)
	ni, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || ni < 1 || ki < 0 || ki >= ni {
		return Shard{}, fmt.Errorf("--shard %q: want K/N with 0 <= K < N (the shards of 4 machines are 0/4 … 3/4), or auto", spec)
	}
	return Shard{ki, ni}, nil
}

// autoShard takes the shard from the batch engine's environment: a
// Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with the count in
// SYSCOV_SHARDS: Kubernetes does not export .spec.completions), a Slurm
// job array (SLURM_ARRAY_TASK_ID counted from SLURM_ARRAY_TASK_MIN, and
// SLURM_ARRAY_TASK_COUNT), or SYSCOV_SHARD=K/N.
func autoShard(getenv func(string) string) (Shard, error) {
	atoi := func(name string) (int, error) {
		v := getenv(name)
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("--shard auto: %s=%q is not a number", name, v)
		}
		return n, nil
	}
	switch {
	case getenv("JOB_COMPLETION_INDEX") != "":
		k, err := atoi("JOB_COMPLETION_INDEX")
		if err != nil {
			return Shard{}, err
		}
		if getenv("SYSCOV_SHARDS") == "" {
			return Shard{}, fmt.Errorf("--shard auto: JOB_COMPLETION_INDEX=%d but no count: set SYSCOV_SHARDS to the Job's completions", k)
		}
		n, err := atoi("SYSCOV_SHARDS")
		if err != nil {
			return Shard{}, err
		}
		return ParseShard(fmt.Sprintf("%d/%d", k, n), getenv)
	case getenv("SLURM_ARRAY_TASK_ID") != "":
		id, err := atoi("SLURM_ARRAY_TASK_ID")
		if err != nil {
			return Shard{}, err
		}
		n, err := atoi("SLURM_ARRAY_TASK_COUNT")
		if err != nil {
			return Shard{}, err
		}
		min := 0
		if getenv("SLURM_ARRAY_TASK_MIN") != "" {
			if min, err = atoi("SLURM_ARRAY_TASK_MIN"); err != nil {
				return Shard{}, err
			}
		}
		// An array with a step (--array=0-9:2) has ids that are not
		// consecutive: the index is the id's rank among min, min+step, …
		if step := getenv("SLURM_ARRAY_TASK_STEP"); step != "" && step != "1" {
			s, err := atoi("SLURM_ARRAY_TASK_STEP")
			if err != nil || s < 1 {
				return Shard{}, fmt.Errorf("--shard auto: SLURM_ARRAY_TASK_STEP=%q", step)
			}
			return ParseShard(fmt.Sprintf("%d/%d", (id-min)/s, n), getenv)
		}
		return ParseShard(fmt.Sprintf("%d/%d", id-min, n), getenv)
	case getenv("SYSCOV_SHARD") != "":
		return ParseShard(getenv("SYSCOV_SHARD"), getenv)
	}
	return Shard{}, fmt.Errorf("--shard auto: no shard in the environment (JOB_COMPLETION_INDEX with SYSCOV_SHARDS, SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or SYSCOV_SHARD=K/N)")
}

// Select is the apps of m that shard s has and only names (none: all).
// An --only name the manifest lacks is an error.
func Select(m *Manifest, s Shard, only []string) ([]*App, error) {
	return SelectTagged(m, s, only, "")
}

// SelectTagged is Select, keeping only the apps tagged tag ("" all).
func SelectTagged(m *Manifest, s Shard, only []string, tag string) ([]*App, error) {
	want := map[string]bool{}
	for _, n := range only {
		if n != "" {
			want[n] = true
		}
	}
	var out []*App
	found := map[string]bool{}
	for _, a := range m.Apps {
		if len(want) > 0 && !want[a.Name] || tag != "" && !hasTag(a, tag) {
			continue
		}
		found[a.Name] = true
		if s.Has(a.Index) {
			out = append(out, a)
		}
	}
	var missing []string
	for n := range want {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("--only: %s: no such app in %s", strings.Join(missing, ", "), m.Path)
	}
	return out, nil
}

func sortStrings(s []string) { sort.Strings(s) }

// Getenv is the environment --shard auto reads.
var Getenv = os.Getenv

func hasTag(a *App, tag string) bool {
	for _, t := range a.Tags {
		if t == tag {
			return true
		}
	}
	return false
}
