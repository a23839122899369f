package unikernel

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// GuestCPUFeatures asks qemu which CPU features the guest CPU model cpu
// (qemu's -cpu syntax: "max,avx=off,+fma,-avx2"; "" is the default of
// accel) has under accel ("kvm" or "tcg"), through QMP's
// query-cpu-model-expansion on a machine-less qemu. The keys are qemu's
// property names (avx2, avx512f, sse4.2 …).
func GuestCPUFeatures(ctx context.Context, qemu, accel, cpu string) (map[string]bool, error) {
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	if accel == "" {
		accel = "tcg"
	}
	name, props := parseCPU(CPUModel(cpu, accel))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-machine", "none", "-accel", accel, "-nodefaults", "-display", "none", "-qmp", "stdio")
	// Like the VM's qemu, it dies with syscov (and is asked to quit).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		in.Close()
		_ = cmd.Wait()
	}()
	model := map[string]any{"name": name}
	if len(props) > 0 {
		model["props"] = props
	}
	req, _ := json.Marshal(map[string]any{"execute": "query-cpu-model-expansion", "arguments": map[string]any{"type": "full", "model": model}})
	fmt.Fprintf(in, "{\"execute\":\"qmp_capabilities\"}\n%s\n", req)
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var msg struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Desc string `json:"desc"`
			} `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) != nil {
			continue
		}
		if msg.Error != nil {
			fmt.Fprintln(in, `{"execute":"quit"}`)
			return nil, fmt.Errorf("qemu: CPU model %q under %s: %s", cpu, accel, msg.Error.Desc)
		}
		var ret struct {
			Model struct {
				Props map[string]any `json:"props"`
			} `json:"model"`
		}
		if len(msg.Return) == 0 || json.Unmarshal(msg.Return, &ret) != nil || ret.Model.Props == nil {
			continue
		}
		fmt.Fprintln(in, `{"execute":"quit"}`)
		feats := map[string]bool{}
		for k, v := range ret.Model.Props {
			if b, ok := v.(bool); ok {
				feats[k] = b
			}
		}
		go io.Copy(io.Discard, out)
		return feats, nil
	}
	return nil, fmt.Errorf("qemu answered no CPU model expansion for %q under %s: %s", cpu, accel, strings.TrimSpace(stderr.String()))
}

// parseCPU splits a -cpu value into its model and feature switches.
func parseCPU(s string) (string, map[string]any) {
	parts := strings.Split(s, ",")
	props := map[string]any{}
	for _, p := range parts[1:] {
		switch {
		case strings.HasPrefix(p, "+"):
			props[p[1:]] = true
		case strings.HasPrefix(p, "-"):
			props[p[1:]] = false
		case strings.Contains(p, "="):
			k, v, _ := strings.Cut(p, "=")
			switch v {
			case "on", "true", "yes":
				props[k] = true
			case "off", "false", "no":
				props[k] = false
			default:
				props[k] = v
			}
		case p != "":
			props[p] = true
		}
	}
	return parts[0], props
}

// HostCPUFlags reads the flags of this host's first CPU (/proc/cpuinfo).
func HostCPUFlags() (map[string]bool, error) {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "flags" {
			m := map[string]bool{}
			for _, fl := range strings.Fields(v) {
				m[fl] = true
			}
			return m, nil
		}
	}
	return nil, fmt.Errorf("/proc/cpuinfo names no flags")
}
