package rest

import (
	"net/url"
	"strings"
)

// DryRun reports whether the client refuses requests that could change the
// server (Config.DryRun).
func (c *Client) DryRun() bool { return c.dryRun }

// WithDryRun returns a client sharing c's connections that refuses every
// request but reads, as Config.DryRun does: a host that shares its own
// client with scripts previews them with it.
func (c *Client) WithDryRun() *Client {
	cp := *c
	cp.dryRun = true
	return &cp
}

// refuseWrite is the dry run's one gate: every request goes through Raw,
// which asks here first. Only GET and HEAD read without changing anything;
// everything else is refused before a byte is sent.
func (c *Client) refuseWrite(req *Request) error {
	if !c.dryRun || req.Method == "GET" || req.Method == "HEAD" {
		return nil
	}
	path, _, _ := strings.Cut(req.Path, "?")
	msg := req.Method + " " + path
	if what := wouldDo(req.Method, path); what != "" {
		msg += " (would " + what + ")"
	}
	return &Error{Kind: KindDryRun, Message: msg}
}

// actions are the endpoints below an object that act on it rather than
// create something, worded for the dry run's message.
var actions = map[string]string{
	"exec":    "run a command in",
	"state":   "change the state of",
	"files":   "write a file in",
	"console": "use the console of",
	"rebuild": "rebuild",
}

// wouldDo words what a write request would do, from its method and path
// alone ("create an instance", "delete profile \"web\""); "" when the path
// is not one it can read.
func wouldDo(method, path string) string {
	segs := strings.Split(strings.TrimPrefix(path, "/1.0/"), "/")
	if len(segs) == 0 || segs[0] == "" || !strings.HasPrefix(path, "/1.0/") {
		return ""
	}
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	// A volume's path holds its type between the collection and the name:
	// storage-pools/p/volumes/custom/v.
	if len(segs) >= 4 && segs[0] == "storage-pools" && segs[2] == "volumes" {
		segs = append(segs[:3], segs[4:]...)
	}
	// Image aliases are a collection of their own under images.
	if len(segs) >= 2 && segs[0] == "images" && segs[1] == "aliases" {
		segs = segs[1:]
	}
	last := len(segs) - 1
	if a, ok := actions[segs[last]]; ok && last >= 2 {
		return a + " " + singular(segs[last-2]) + " " + quote(segs[last-1])
	}
	if last%2 == 0 { // a collection: instances, instances/c1/snapshots
		if method == "POST" {
			return "create " + article(singular(segs[last]))
		}
		return "change " + singular(segs[last])
	}
	object := singular(segs[last-1]) + " " + quote(segs[last])
	switch method {
	case "DELETE":
		return "delete " + object
	case "POST":
		return "rename or move " + object
	}
	return "change " + object
}

// singular names one object of a collection: "storage-pools" gives
// "storage pool", "aliases" "alias".
func singular(collection string) string {
	s := strings.ReplaceAll(collection, "-", " ")
	switch {
	case strings.HasSuffix(s, "sses"), strings.HasSuffix(s, "ases"):
		return strings.TrimSuffix(s, "es")
	case strings.HasSuffix(s, "s"):
		return strings.TrimSuffix(s, "s")
	}
	return s
}

func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

func quote(name string) string { return `"` + name + `"` }
