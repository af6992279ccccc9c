package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The workloads of issue #8 (startup, list, exec, lifecycle, files), the
// list, exec and files ones for either server.

// --- startup ------------------------------------------------------------

func (h *harness) startup(ctx context.Context) *Workload {
	w := &Workload{Key: "startup", Title: "1. Startup", Notes: []string{
		"Start, do nothing, exit: `lxdstar -c 'pass'` (no LXD connection: `lxd.Client()` is never called) against `python3 -c 'import pylxd'`, with the bare interpreter for reference.",
	}}
	h.logf("workload: startup")
	h.measure(ctx, w, []spec{
		{key: "lxdstar", name: "lxdstar", argv: func(int) []string { return []string{h.cfg.Lxdstar, "-c", "pass"} }},
		{key: "pylxd", name: "pylxd", argv: func(int) []string { return []string{h.cfg.Python, "-c", "import pylxd"} }},
		{key: "python", name: "python3 alone (reference)", ref: true, argv: func(int) []string { return []string{h.cfg.Python, "-c", "pass"} }},
	}, h.cfg.Runs.Startup, 2, h.cfg.Runs.MemStartup, false)
	return w
}

// --- list ---------------------------------------------------------------

// list lists every instance of srv, n of them the harness's own: on LXD
// with lxdstar, pylxd, a raw Python client, lxc and curl; on Incus with
// lxdstar, incus and curl. The large listing caps pylxd's and lxc's runs
// (seconds each).
func (h *harness) list(ctx context.Context, srv *server, key, title string, n int) *Workload {
	lxd := srv == h.lxd
	w := &Workload{Key: key, Title: title, Ops: n, OpName: "instance", Notes: []string{
		fmt.Sprintf("%d stopped busybox containers named `%s…` on %s; every tool lists all instances on the server (other engineers' instances included) and the harness checks that each one saw all %d bench instances with their config. Per instance = the whole run / %d.", n, h.listPrefix(), srv.Name, n, n),
	}}
	if lxd {
		w.Notes = append(w.Notes,
			"pylxd 2.2.10's `containers.all()` returns name-only objects: reading `.config` does one GET per container.",
			"The raw Python client is `http.client` and `json` over the socket: one `recursion=1` request, each instance's config read from the decoded list.")
	}
	w.Notes = append(w.Notes, fmt.Sprintf("`%s list --format json` asks for `recursion=2` (state and snapshots too): that is what the CLI does.", srv.CLI))
	h.logf("workload: %s", key)
	want := fmt.Sprintf("list-ok %d %d", n, n)
	verifyScript := func(_ context.Context, _ int, out string) error {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[len(lines)-1]+" ", want+" ") {
			return fmt.Errorf("printed %q, want %q followed by the total", lines[len(lines)-1], want)
		}
		return nil
	}
	verifyJSON := func(wrapped bool) func(context.Context, int, string) error {
		return func(_ context.Context, _ int, out string) error {
			var list []instanceInfo
			data := []byte(out)
			if wrapped {
				var env envelope
				if err := json.Unmarshal(data, &env); err != nil {
					return err
				}
				data = env.Metadata
			}
			if err := json.Unmarshal(data, &list); err != nil {
				return err
			}
			matched, withConfig := 0, 0
			for _, in := range list {
				if strings.HasPrefix(in.Name, h.listPrefix()) {
					matched++
					if in.Config["volatile.base_image"] != "" {
						withConfig++
					}
				}
			}
			if matched != n || withConfig != n {
				return fmt.Errorf("saw %d bench instances, %d with config; want %d", matched, withConfig, n)
			}
			return nil
		}
	}
	slow := 0
	runs := h.cfg.Runs.List
	if key == "list-large" {
		slow, runs = h.cfg.Runs.Slow, h.cfg.Runs.ListLarge
	}
	specs := []spec{
		{key: "lxdstar", name: "lxdstar", verify: verifyScript,
			argv: func(int) []string { return []string{h.cfg.Lxdstar, h.script("star/list.star"), h.listPrefix()} }},
	}
	if lxd {
		specs = append(specs,
			spec{key: "pylxd", name: "pylxd", verify: verifyScript, maxRuns: slow,
				argv: func(int) []string { return []string{h.cfg.Python, h.script("pylxd/list.py"), h.listPrefix()} }},
			spec{key: "pyraw", name: "raw Python client", ref: true, verify: verifyScript,
				argv: func(int) []string { return []string{h.cfg.Python, h.script("pylxd/list_raw.py"), h.listPrefix()} }})
	}
	specs = append(specs,
		spec{key: "cli", name: srv.CLI + " list", verify: verifyJSON(false), maxRuns: slow,
			argv: func(int) []string { return []string{srv.CLI, "list", "--format", "json"} }},
		spec{key: "curl", name: "curl (raw API, floor)", ref: true, verify: verifyJSON(true),
			argv: func(int) []string {
				return []string{h.cfg.Curl, "-sS", "--unix-socket", srv.Socket, "http://x/1.0/instances?recursion=1"}
			}})
	h.measure(ctx, w, onServer(srv, specs), runs, 1, h.cfg.Runs.MemList, false)
	return w
}

// onServer points every spec at srv.
func onServer(srv *server, specs []spec) []spec {
	for i := range specs {
		specs[i].env = srv.env()
	}
	return specs
}

// --- exec ---------------------------------------------------------------

func (h *harness) exec(ctx context.Context, srv *server, key, title string) *Workload {
	n := h.cfg.Sizes.Exec
	cmd := h.cfg.Sizes.ExecCmd
	w := &Workload{Key: key, Title: title, Ops: n, OpName: "call", Notes: []string{
		fmt.Sprintf("%d sequential `%s` in one running busybox container on %s, in one script/process (%s: one process per call, from a shell loop). Per call = the whole run (process start included) / %d.", n, strings.Join(cmd, " "), srv.Name, srv.CLI, n),
		"The two raw-API references are measured inside the harness (no process start, kept-alive connections), with a minimal client of net/http and gorilla/websocket. _No websockets_: `POST /1.0/instances/<name>/exec` with `wait-for-websocket: false` and `record-output: false`, then `GET /1.0/operations/<id>/wait` — the server's own cost of running a command, with no output transport at all. _With websockets_: the same with `wait-for-websocket: true`, stdin, stdout and stderr dialled at once (the fewest sockets the server accepts), both outputs read to their end: the least any client that returns a command's output can ask of the server. Both are floors, give or take the noise of a shared machine.",
	}}
	h.logf("workload: %s", key)
	want := strings.Repeat(h.cfg.Sizes.ExecOut, n) + fmt.Sprintf("exec-ok %d\n", n)
	verify := func(_ context.Context, _ int, out string) error {
		if out != want {
			return fmt.Errorf("stdout %.200q, want %.200q", out, want)
		}
		return nil
	}
	args := append([]string{h.runName(), strconv.Itoa(n)}, cmd...)
	specs := []spec{
		{key: "lxdstar", name: "lxdstar", verify: verify,
			argv: func(int) []string { return append([]string{h.cfg.Lxdstar, h.script("star/exec.star")}, args...) }},
	}
	if srv == h.lxd {
		specs = append(specs, spec{key: "pylxd", name: "pylxd", verify: verify, maxRuns: h.cfg.Runs.ExecPylxd,
			argv: func(int) []string { return append([]string{h.cfg.Python, h.script("pylxd/exec.py")}, args...) }})
	}
	specs = append(specs,
		spec{key: "cli", name: srv.CLI + " exec (shell loop)", verify: verify,
			argv: func(int) []string { return append([]string{"/bin/sh", h.script("sh/exec.sh"), srv.CLI}, args...) }},
		h.rawExecSpec("raw", "raw API, no websockets (in-process reference)", n, func(ctx context.Context) (int, *string, error) {
			code, err := srv.raw.execNoWebsocket(ctx, h.runName(), cmd)
			return code, nil, err
		}),
		h.rawExecSpec("rawws", "raw API with websockets (in-process reference)", n, func(ctx context.Context) (int, *string, error) {
			code, out, err := srv.raw.execWithWebsockets(ctx, h.runName(), cmd)
			return code, &out, err
		}))
	h.measure(ctx, w, onServer(srv, specs), h.cfg.Runs.Exec, 0, 0, h.cfg.TimeBin != "")
	return w
}

// rawExecSpec is an in-process raw-API reference for the exec workload: n
// sequential calls of one, each checked for exit status 0 and, when one
// returns the output (out not nil), the expected stdout.
func (h *harness) rawExecSpec(key, name string, n int, one func(context.Context) (code int, out *string, err error)) spec {
	want := h.cfg.Sizes.ExecOut
	return spec{key: key, name: name, ref: true,
		inProcess: func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			for range n {
				code, out, err := one(ctx)
				if err != nil {
					return 0, err
				}
				if code != 0 {
					return 0, fmt.Errorf("exit status %d, want 0", code)
				}
				if out != nil && *out != want {
					return 0, fmt.Errorf("stdout %.100q, want %q", *out, want)
				}
			}
			return time.Since(start), nil
		}}
}

// --- lifecycle ----------------------------------------------------------

func (h *harness) lifecycle(ctx context.Context) *Workload {
	n := h.cfg.Sizes.Lifecycle
	w := &Workload{Key: "lifecycle", Title: "5. Lifecycle fan-out", Ops: n, OpName: "container", Notes: []string{
		fmt.Sprintf("Create + start + stop + delete %d containers from the `%s` image. lxdstar concurrent: each phase launched for all containers with `wait=False`, then `lxd.wait_all`. The others: one container after the other, each step waited for. Stops are forced (pylxd's and lxdstar's default; `lxc stop --force`).", n, h.cfg.Image),
	}}
	h.logf("workload: lifecycle")
	want := fmt.Sprintf("lifecycle-ok %d %d %d", n, n, n)
	mk := func(key, name, short string, argv func(prefix string) []string) spec {
		return spec{key: key, name: name,
			argv: func(run int) []string { return argv(h.lifecyclePrefix(short, run)) },
			verify: func(ctx context.Context, run int, out string) error {
				if err := expectLine(out, want); err != nil {
					return err
				}
				left, err := h.lxd.raw.namesWithPrefix(ctx, h.lifecyclePrefix(short, run)+"-")
				if err != nil {
					return err
				}
				if len(left) > 0 {
					return fmt.Errorf("%d containers left behind: %v", len(left), left)
				}
				return nil
			}}
	}
	ns := strconv.Itoa(n)
	h.measure(ctx, w, []spec{
		mk("lxdstar-concurrent", "lxdstar concurrent (wait_all)", "c", func(p string) []string {
			return []string{h.cfg.Lxdstar, h.script("star/lifecycle_concurrent.star"), p, ns, h.cfg.Image}
		}),
		mk("lxdstar", "lxdstar sequential", "s", func(p string) []string {
			return []string{h.cfg.Lxdstar, h.script("star/lifecycle_sequential.star"), p, ns, h.cfg.Image}
		}),
		mk("pylxd", "pylxd sequential", "p", func(p string) []string {
			return []string{h.cfg.Python, h.script("pylxd/lifecycle.py"), p, ns, h.cfg.Image}
		}),
		mk("lxc", "lxc (shell loop)", "l", func(p string) []string {
			return []string{"/bin/sh", h.script("sh/lifecycle.sh"), p, ns, h.cfg.Image}
		}),
	}, h.cfg.Runs.Lifecycle, 0, 0, false)
	return w
}

// --- files --------------------------------------------------------------

func (h *harness) files(ctx context.Context, srv *server, key, title string) *Workload {
	n := h.cfg.Sizes.Files
	size := h.cfg.Sizes.FileBytes
	w := &Workload{Key: key, Title: title, Ops: n, OpName: "put+get", Notes: []string{
		fmt.Sprintf("%d × (put + get) of a %s random file to `%s` in the running container on %s. Before each run the file is deleted; after it the harness reads it back through the raw API and compares it with the original.", n, humanBytes(int64(size)), payloadPath, srv.Name),
		fmt.Sprintf("lxdstar and pylxd compare every copy read back in memory; the %s loop compares the last one it pulled (`cmp`).", srv.CLI),
	}}
	h.logf("workload: %s", key)
	want := fmt.Sprintf("files-ok %d %d", n, size)
	sum, err := fileSHA256(h.payloadFile())
	if err != nil {
		w.Notes = append(w.Notes, "payload unreadable: "+err.Error())
		return w
	}
	before := func(ctx context.Context, _ int) error { return srv.raw.deleteFile(ctx, h.runName(), payloadPath) }
	verify := func(ctx context.Context, _ int, out string) error {
		if err := expectLine(out, want); err != nil {
			return err
		}
		return h.checkInstanceFile(ctx, srv, payloadPath, sum)
	}
	args := []string{h.runName(), strconv.Itoa(n), h.payloadFile(), payloadPath}
	specs := []spec{
		{key: "lxdstar", name: "lxdstar", before: before, verify: verify,
			argv: func(int) []string { return append([]string{h.cfg.Lxdstar, h.script("star/files.star")}, args...) }},
	}
	if srv == h.lxd {
		specs = append(specs, spec{key: "pylxd", name: "pylxd", before: before, verify: verify,
			argv: func(int) []string { return append([]string{h.cfg.Python, h.script("pylxd/files.py")}, args...) }})
	}
	specs = append(specs, spec{key: "cli", name: srv.CLI + " file push/pull (shell loop)", before: before, verify: verify,
		argv: func(int) []string {
			return append([]string{"/bin/sh", h.script("sh/files.sh"), srv.CLI}, append(args, filepath.Join(h.tmp, "pulled.bin"))...)
		}})
	h.measure(ctx, w, onServer(srv, specs), h.cfg.Runs.Files, 0, 0, false)
	return w
}

// checkInstanceFile compares the sha256 of a file in the running instance,
// read through the raw API, with sum.
func (h *harness) checkInstanceFile(ctx context.Context, srv *server, path, sum string) error {
	got, n, err := srv.raw.fileSHA256(ctx, h.runName(), path)
	if err != nil {
		return err
	}
	if got != sum {
		return fmt.Errorf("the file in the instance (%d bytes) is not the one pushed", n)
	}
	return nil
}
