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

// A Session runs code piece by piece in one environment, as the REPL does:
// each statement sees the globals of those before it, and an expression
// statement returns its value.
func ExampleSession() {
	ctx := context.Background()
	s := lxdstar.New().NewSession(ctx, "")
	defer s.Close(ctx)
	for _, stmt := range []string{"names = ['web1']", "names.append('web2')", "len(names)", "names[9]", "names"} {
		v, err := s.Exec(ctx, "<stmt>", stmt)
		switch {
		case err != nil:
			fmt.Println("error:", err)
		case v != starlark.None:
			fmt.Println(v)
		}
	}
	// Output:
	// 2
	// error: list index 9 out of range [-2:1]
	// ["web1", "web2"]
}
