// Package catalog checks many apps into a results store: a manifest of
// apps (YAML), a runner that checks each one through the job package (the
// same check `syscov check` runs, called as Go, not as a subprocess) with
// a bounded time, a log per app and a stored "could not run" row when an
// app cannot be checked, the shards that spread a manifest over the
// machines of a batch engine, and the plan that reads the store back.
//
// It sits after job in the pipeline (trace → analyze → report → job →
// catalog → cmd): it imports job and catalog/store; only cmd imports it.
package catalog
