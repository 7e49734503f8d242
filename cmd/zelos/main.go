// Command zelos creates Zelos services and generates code from protos.
//
//	zelos new <name> [--module path] [--nomod]
//	zelos proto add <path.proto>
//	zelos proto client <file|dir>... [-I path]... [--http-default-routes]
//	zelos proto server <file.proto> [-t dir]
//	zelos run [--cmd name] [-- args...]
//	zelos version
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/zelos-go/zelos/cmd/zelos/internal/cli"
	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// Errors in protos start with file:line:column, for editors.
		var ce *compile.Error
		if errors.As(err, &ce) {
			fmt.Fprintln(os.Stderr, err)
		} else {
			fmt.Fprintln(os.Stderr, "zelos:", err)
		}
		os.Exit(1)
	}
}
