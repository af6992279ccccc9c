package main

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// server is one daemon the workloads run against: LXD (every workload) or
// Incus (list, exec and files). Each tool reaches it through the
// environment variable its clients read (lxdstar and pylxd read both).
type server struct {
	Name   string // "LXD" or "Incus"
	Socket string
	CLI    string // the server's own command-line client: lxc or incus
	DirVar string // LXD_DIR or INCUS_DIR
	raw    *rawClient
}

func lxdServer(socket, cli string) *server {
	return &server{Name: "LXD", Socket: socket, CLI: cli, DirVar: "LXD_DIR", raw: newRawClient(socket)}
}

func incusServer(socket string) *server {
	return &server{Name: "Incus", Socket: socket, CLI: "incus", DirVar: "INCUS_DIR", raw: newRawClient(socket)}
}

// env is the environment of every tool run against the server: the
// harness's own, with the endpoint variables of both servers removed and
// the server's own pointing at its socket.
func (s *server) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LXD_SOCKET", "LXD_DIR", "INCUS_SOCKET", "INCUS_DIR", "LXDSTAR_TRACE":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, s.DirVar+"="+dirOf(s.Socket))
	return append(env, extra...)
}

func dirOf(path string) string {
	if i := strings.LastIndex(path, "/"); i > 0 {
		return path[:i]
	}
	return "/"
}

// version is "5.0.2 (318 API extensions)".
func (s *server) version(ctx context.Context) string {
	v, ext, err := s.raw.serverVersion(ctx)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s (%d API extensions)", v, ext)
}
