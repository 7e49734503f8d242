// Command zelos creates Zelos services and generates code from protos.
//
//	zelos new <name> [--module path] [--nomod]
//	zelos proto add <path.proto>
//	zelos proto client <file|dir>... [-I path]... [--http-default-routes]
//	zelos proto server <file.proto> [-t dir]
//	zelos proto include <dir>
//	zelos run [--cmd name] [-- args...]
//	zelos version
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/zelos-go/zelos/cmd/zelos/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if code != 0 {
		os.Exit(code)
	}
}
