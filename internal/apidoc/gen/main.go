// Command gen writes docs/reference.md from the apidoc registry:
//
//	go run ./internal/apidoc/gen -o docs/reference.md
//
// (go generate ./internal/apidoc runs it with the right path).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lxdstar/lxdstar/internal/apidoc"
)

func main() {
	out := flag.String("o", "docs/reference.md", "output `file`")
	flag.Parse()
	if err := os.WriteFile(*out, apidoc.Markdown(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
