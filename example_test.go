package lxdstar_test

import (
	"context"
	"errors"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
)

func Example() {
	rt := lxdstar.New(
		lxdstar.WithPredeclared(starlark.StringDict{"who": starlark.String("world")}),
		lxdstar.WithPrint(func(msg string) { fmt.Println("script:", msg) }),
	)
	globals, err := rt.Run(context.Background(), "hello.star", []byte(`
greeting = "hello, " + who
print(greeting)
`))
	if err != nil {
		var se *lxdstar.Error
		if errors.As(err, &se) {
			fmt.Println(se.Backtrace())
		}
		return
	}
	fmt.Println(globals["greeting"])
	// Output:
	// script: hello, world
	// "hello, world"
}
