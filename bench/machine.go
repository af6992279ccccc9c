package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes where the numbers were measured.
type Machine struct {
	Date         time.Time
	CPUs         int    // nproc
	CPUModel     string // /proc/cpuinfo
	MemTotal     string // /proc/meminfo
	Kernel       string
	OS           string
	LXD          string // server version and API extension count
	Incus        string // the same for Incus ("" when not used)
	Instances    int    // instances on the server when the harness started
	Lxdstar      string // git commit of the tree the binary was built from
	GoVersion    string
	Python       string
	Pylxd        string
	LxcVersion   string
	IncusVersion string // the incus CLI
	CurlVersion  string
}

func collectMachine(ctx context.Context, cfg Config, lxd, incus *server) Machine {
	m := Machine{Date: time.Now().UTC(), CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if out, err := exec.Command("nproc").Output(); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
			m.CPUs = n
		}
	}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseInt(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 10, 64); err == nil && kb > 0 {
		m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.OS = strings.Trim(procField("/etc/os-release", "PRETTY_NAME"), `"`)
	m.LXD = lxd.version(ctx)
	if list, err := lxd.raw.instances(ctx); err == nil {
		m.Instances = len(list)
	}
	if incus != nil {
		m.Incus = incus.version(ctx)
		m.IncusVersion = firstLine(cmdOutput("", incus.CLI, "--version"))
	}
	m.Lxdstar = firstLine(cmdOutput(cfg.Root, "git", "rev-parse", "--short", "HEAD"))
	if m.Lxdstar != "" && cmdOutput(cfg.Root, "git", "status", "--porcelain") != "" {
		m.Lxdstar += " + uncommitted changes"
	}
	m.Python = firstLine(cmdOutput("", cfg.Python, "--version"))
	m.Pylxd = firstLine(cmdOutput("", cfg.Python, "-c", "import pylxd; print(pylxd.__version__)"))
	m.LxcVersion = firstLine(cmdOutput("", cfg.Lxc, "--version"))
	m.CurlVersion = firstLine(cmdOutput("", cfg.Curl, "--version"))
	return m
}

// procField returns the value of the first "key: value" or "key=value"
// line of a /proc-style file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, sep := range []string{":", "="} {
			if k, v, ok := strings.Cut(line, sep); ok && strings.TrimSpace(k) == key {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

func cmdOutput(dir, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
