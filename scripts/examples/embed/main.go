// Command embed shows lxdstar inside another Go program: it injects a value
// of its own (the instance name to use), runs a script against LXD under a
// context, and reads back a global the script set.
//
//	go run ./scripts/examples/embed [-endpoint /var/lib/lxd/unix.socket] [name]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

const script = `
inst = lxd.Client().instances.create(
    {"name": instance_name, "source": {"type": "image", "alias": "busybox"}}, wait=True)
inst.start(wait=True)
report = {"name": inst.name, "status": inst.status, "processes": inst.state().processes}
inst.stop(force=True, wait=True)
inst.delete(wait=True)
print("script done with", inst.name)
`

func main() {
	endpoint := flag.String("endpoint", "", "LXD socket or URL (default: the local socket)")
	flag.Parse()
	name := fmt.Sprintf("embed-%d", time.Now().Unix())
	if flag.NArg() > 0 {
		name = flag.Arg(0)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	rt := lxdstar.New(
		lxdstar.WithLXD(lxdmod.Config{Endpoint: *endpoint}),
		lxdstar.WithPredeclared(starlark.StringDict{"instance_name": starlark.String(name)}),
		lxdstar.WithPrint(func(msg string) { log.Print("script: ", msg) }),
	)
	globals, err := rt.Run(ctx, "embedded.star", []byte(script))
	if err != nil {
		var lxdErr *rest.Error
		if errors.As(err, &lxdErr) {
			log.Fatalf("LXD said %s (kind %s)", lxdErr.Message, lxdErr.Kind)
		}
		log.Fatal(err)
	}
	report := globals["report"].(*starlark.Dict)
	status, _, _ := report.Get(starlark.String("status"))
	procs, _, _ := report.Get(starlark.String("processes"))
	fmt.Printf("instance %s was %s with %s process(es)\n", name, status.(starlark.String).GoString(), procs)
}
