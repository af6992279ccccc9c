package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
)

// The servers the client speaks to: LXD and Incus, its community fork. Their
// REST APIs are one API with a few renamings, which this client absorbs.
const (
	ServerLXD   = "lxd"
	ServerIncus = "incus"
)

// ServerInfo is what GET /1.0 tells about the server.
type ServerInfo struct {
	Kind string // ServerLXD or ServerIncus
	// Version is environment.server_version ("5.0.2", "6.0.4"); empty for an
	// untrusted client, to which the server shows no environment.
	Version    string
	Auth       string // "trusted" or "untrusted"
	Clustered  bool
	Extensions []string
}

// Name is how messages name the server: "LXD" or "Incus".
func (s ServerInfo) Name() string { return serverName(s.Kind) }

func serverName(kind string) string {
	if kind == ServerIncus {
		return "Incus"
	}
	return "LXD"
}

// incusOnlyExtensions are API extensions that only Incus has (it renamed
// LXD's devlxd_* ones): an untrusted client sees the extension list but no
// environment.server, and tells the servers apart by these.
var incusOnlyExtensions = []string{"dev_incus_events", "restrict_dev_incus"}

// ParseServerInfo reads GET /1.0's metadata.
func ParseServerInfo(meta json.RawMessage) (ServerInfo, error) {
	var m struct {
		Auth          string   `json:"auth"`
		APIExtensions []string `json:"api_extensions"`
		Environment   struct {
			Server          string `json:"server"`
			ServerVersion   string `json:"server_version"`
			ServerClustered bool   `json:"server_clustered"`
		} `json:"environment"`
	}
	if err := json.Unmarshal(meta, &m); err != nil {
		return ServerInfo{}, &Error{Kind: KindConnection, Message: "invalid GET /1.0 answer", Err: err}
	}
	info := ServerInfo{Kind: ServerLXD, Version: m.Environment.ServerVersion, Auth: m.Auth,
		Clustered: m.Environment.ServerClustered, Extensions: m.APIExtensions}
	switch m.Environment.Server {
	case ServerIncus:
		info.Kind = ServerIncus
	case "":
		for _, e := range m.APIExtensions {
			for _, only := range incusOnlyExtensions {
				if e == only {
					info.Kind = ServerIncus
				}
			}
		}
	}
	return info, nil
}

// identity is the server kind the client has learnt, shared by the copies
// WithProject and WithTransfers make (they talk to the same server).
type identity struct {
	kind atomic.Value // string; none until GET /1.0 answered
}

// get returns the kind, "" until it is known.
func (id *identity) get() string {
	kind, _ := id.kind.Load().(string)
	return kind
}

func (id *identity) set(kind string) { id.kind.Store(kind) }

// Server is GET /1.0: the server's description (ParseServerInfo reads it).
// It also teaches the client which server it talks to (see ServerKind).
func (c *Client) Server(ctx context.Context) (*Response, error) {
	resp, err := c.Do(ctx, &Request{Method: "GET", Path: "/1.0"})
	if err != nil {
		var e *Error
		// An HTTP answer that is no API envelope (no response parsed, but
		// a status), or an envelope that is no server description: some
		// other web server listens there.
		if errors.As(err, &e) && ((resp == nil && e.StatusCode != 0) || (resp != nil && resp.Type != "error")) {
			return resp, &Error{Kind: KindConnection,
				Message: fmt.Sprintf("%s is neither an LXD nor an Incus server: %s", c.endpoint, e.Message)}
		}
		return resp, err
	}
	info, err := ParseServerInfo(resp.Metadata)
	if err != nil {
		return resp, err
	}
	c.ident.set(info.Kind)
	return resp, nil
}

// ServerKind returns ServerLXD or ServerIncus, asking GET /1.0 the first
// time it is needed.
func (c *Client) ServerKind(ctx context.Context) (string, error) {
	if k := c.ident.get(); k != "" {
		return k, nil
	}
	if _, err := c.Server(ctx); err != nil {
		return "", err
	}
	return c.ident.get(), nil
}

// name is how messages name the server: "Incus" once the client knows it
// talks to Incus, else "LXD" (the name this API goes by).
func (c *Client) name() string { return serverName(c.ident.get()) }

// Headers carrying request parameters are named X-LXD-* by LXD and
// X-Incus-* by Incus, which ignores the old names for most of them (image
// upload, backup import). Callers write the LXD name; Raw sends the name the
// server knows, and Header reads either.
const (
	lxdHeaderPrefix   = "X-Lxd-" // canonical forms, as http.Header stores them
	incusHeaderPrefix = "X-Incus-"
)

// hasServerHeaders reports whether h holds a header Raw has to rename for
// Incus.
func hasServerHeaders(h http.Header) bool {
	for k := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), lxdHeaderPrefix) {
			return true
		}
	}
	return false
}

// serverHeaders returns h with every X-LXD-* header named as kind wants.
func serverHeaders(h http.Header, kind string) http.Header {
	if kind != ServerIncus {
		return h
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		if ck := http.CanonicalHeaderKey(k); strings.HasPrefix(ck, lxdHeaderPrefix) {
			k = incusHeaderPrefix + ck[len(lxdHeaderPrefix):]
		}
		out[k] = vs
	}
	return out
}

// Header reads the server header name ("type" for X-LXD-type or
// X-Incus-type) from an answer of either server.
func Header(h http.Header, name string) string {
	if v := h.Get(incusHeaderPrefix + name); v != "" {
		return v
	}
	return h.Get(lxdHeaderPrefix + name)
}
