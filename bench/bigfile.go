package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// --- big file -----------------------------------------------------------

// bigPath is where the big file goes in the running instance.
const bigPath = "/tmp/bench-big"

// bigFile pushes a large host file to the running instance and pulls it
// back, once per run: lxdstar streams it both ways (files.push/pull), the
// CLI and curl do, pylxd holds it in memory. Every run is a memory run.
func (h *harness) bigFile(ctx context.Context, srv *server, key, title string) *Workload {
	size := h.cfg.Sizes.BigFile
	w := &Workload{Key: key, Title: title, Notes: []string{
		fmt.Sprintf("A %s random host file pushed to `%s` in the running container on %s, then pulled back to a host file, in one process (the CLI and curl: two). Before each run both copies are deleted; after it the harness compares the sha256 of the instance's copy (read through the raw API) and of the host's with the original's.", humanBytes(size), bigPath, srv.Name),
		"lxdstar: `files.push(local, path)` and `files.pull(path, local)`, streamed both ways. curl: `POST …/files?path=` with the file as its body (`-T`), then a `GET` into the file (`-o`).",
	}}
	if srv == h.lxd {
		w.Notes = append(w.Notes, "pylxd 2.2.10 has no streaming calls: `files.put(path, data)` of the file read whole, then `files.get(path)` written out.")
	}
	h.logf("workload: %s", key)
	sum, err := fileSHA256(h.bigPayload())
	if err != nil {
		w.Notes = append(w.Notes, "payload unreadable: "+err.Error())
		return w
	}
	local := filepath.Join(h.tmp, "big-pulled.bin")
	before := func(ctx context.Context, _ int) error {
		if err := os.Remove(local); err != nil && !os.IsNotExist(err) {
			return err
		}
		return srv.raw.deleteFile(ctx, h.runName(), bigPath)
	}
	verify := func(ctx context.Context, _ int, out string) error {
		if err := expectLine(out, "bigfile-ok"); err != nil {
			return err
		}
		if err := h.checkInstanceFile(ctx, srv, bigPath, sum); err != nil {
			return err
		}
		got, err := fileSHA256(local)
		if err != nil {
			return err
		}
		if got != sum {
			return fmt.Errorf("the file pulled to the host is not the one pushed")
		}
		return os.Remove(local) // the disk need not hold two
	}
	args := []string{h.runName(), h.bigPayload(), bigPath, local}
	specs := []spec{
		{key: "lxdstar", name: "lxdstar", before: before, verify: verify,
			argv: func(int) []string { return append([]string{h.cfg.Lxdstar, h.script("star/bigfile.star")}, args...) }},
	}
	if srv == h.lxd {
		specs = append(specs, spec{key: "pylxd", name: "pylxd", before: before, verify: verify, maxRuns: h.cfg.Runs.Slow,
			argv: func(int) []string { return append([]string{h.cfg.Python, h.script("pylxd/bigfile.py")}, args...) }})
	}
	specs = append(specs,
		spec{key: "cli", name: srv.CLI + " file push + pull", before: before, verify: verify,
			argv: func(int) []string { return append([]string{"/bin/sh", h.script("sh/bigfile.sh"), srv.CLI}, args...) }},
		spec{key: "curl", name: "curl (raw API, floor)", ref: true, before: before, verify: verify,
			argv: func(int) []string {
				return append([]string{"/bin/sh", h.script("sh/bigfile_curl.sh"), srv.Socket}, args...)
			}})
	h.measure(ctx, w, onServer(srv, specs), h.cfg.Runs.BigFile, 0, 0, h.cfg.TimeBin != "")
	return w
}

// writeRandomFile writes size random bytes to path.
func writeRandomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fileSHA256 is the hex sha256 of a host file.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
