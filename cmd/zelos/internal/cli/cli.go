// Package cli is the command tree of the zelos binary.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zelos-go/zelos/cmd/zelos/internal/compile"
	"github.com/zelos-go/zelos/cmd/zelos/internal/project"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
	"github.com/zelos-go/zelos/cmd/zelos/internal/protoserver"
	"github.com/zelos-go/zelos/cmd/zelos/internal/runner"
	"github.com/zelos-go/zelos/cmd/zelos/internal/version"
)

// Execute runs the zelos command line args (without the program name).
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := New(stdin, stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

// Main runs Execute and returns the process exit code, printing the error,
// if any, to stderr: once, prefixed "zelos: " unless it already names its
// command ("zelos new: ...") or a place in a proto (file:line:column, for
// editors); a usage error is followed by the command's usage.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := Execute(ctx, args, stdin, stdout, stderr)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, Message(err))
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprint(stderr, "\n", ue.cmd.UsageString())
	}
	return 1
}

// Message is err as the zelos binary prints it.
func Message(err error) string {
	msg := err.Error()
	var ce *compile.Error
	if errors.As(err, &ce) || strings.HasPrefix(msg, "zelos ") || strings.HasPrefix(msg, "zelos:") {
		return msg
	}
	return "zelos: " + msg
}

// usageError is a command line that the command cannot run: wrong
// arguments or flags. It names the command, and Main prints its usage.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.cmd.CommandPath() + ": " + e.err.Error() }

func (e *usageError) Unwrap() error { return e.err }

// args turns the errors of v into usage errors.
func args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := v(cmd, a); err != nil {
			return &usageError{cmd: cmd, err: err}
		}
		return nil
	}
}

// one accepts exactly one argument, named what in errors.
func one(what string) cobra.PositionalArgs {
	return args(func(_ *cobra.Command, a []string) error {
		switch len(a) {
		case 0:
			return fmt.Errorf("missing %s", what)
		case 1:
			return nil
		}
		return fmt.Errorf("want one %s, got %d arguments: %s", what, len(a), strings.Join(a, " "))
	})
}

// some accepts one argument or more, named what in errors.
func some(what string) cobra.PositionalArgs {
	return args(func(_ *cobra.Command, a []string) error {
		if len(a) == 0 {
			return fmt.Errorf("missing %s", what)
		}
		return nil
	})
}

// New returns the root command.
func New(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "zelos",
		Short:         "zelos creates Zelos services and generates code from protos",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Version,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{cmd: cmd, err: err}
	})
	root.AddCommand(newCmd(), protoCmd(), runCmd(), versionCmd())
	return root
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the zelos version",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "zelos", version.Version)
			return err
		},
	}
}

func newCmd() *cobra.Command {
	var o project.Options
	c := &cobra.Command{
		Use:   "new <name>",
		Short: "Create a service from the built-in template",
		Long: `new creates <name>/ with a Greeter service: api/<name>/v1/<name>.proto,
cmd/<name>/main.go, configs/config.yaml, internal/{biz,data,service,server,conf},
a Makefile, a Dockerfile and a README. Generate the code with
"zelos proto client api" inside it, then "go build ./...".

With --nomod the service is added to the Go module around the working
directory, and no go.mod is written.

Until Zelos is published, a zelos built from a Zelos checkout points the
service at that checkout: go.mod gets a replace directive, a go.work keeps
any workspace around the service (the checkout's own, when it is created
inside it) from claiming it, and "make init" builds the CLI from there.`,
		Args: one("<name>"),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.Name = a[0]
			if !o.NoMod {
				o.Checkout = project.FindCheckout()
			}
			dir, err := project.New(".", o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created %s\n", dir)
			if o.Checkout != "" {
				fmt.Fprintf(out, "using the Zelos checkout %s (replace in go.mod, and go.work)\n", o.Checkout)
			}
			fmt.Fprintf(out, "\nnext:\n  cd %s\n  zelos proto client api\n  go mod tidy\n  go run ./cmd/%s\n", dir, o.Name)
			return nil
		},
	}
	c.Flags().StringVarP(&o.Module, "module", "m", "", "module path (default: the name; with --nomod: the enclosing module's path plus the directory)")
	c.Flags().BoolVar(&o.NoMod, "nomod", false, "add the service to the enclosing Go module instead of creating one")
	return c
}

func protoCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "proto",
		Short: "Create protos and generate code from them",
	}
	c.AddCommand(protoAddCmd(), protoClientCmd(), protoServerCmd(), protoIncludeCmd())
	return c
}

func protoIncludeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "include <dir>",
		Short: "Write the protos zelos has built in, for protoc and buf",
		Long: `include writes the protos that zelos proto client has built in under
<dir>: google/api/{annotations,http,field_behavior}.proto and
zelos/errors/errors.proto. protoc users pass it as an import path
(protoc -I . -I <dir> ...); buf users list it as a module in buf.yaml.
The well-known types (google/protobuf/*.proto) come with protoc and buf.
Files already up to date are left alone.`,
		Args: one("<dir>"),
		RunE: func(cmd *cobra.Command, a []string) error {
			ws, err := protoc.WriteIncludes(a[0])
			if err != nil {
				return err
			}
			for _, w := range ws {
				if w.Changed {
					fmt.Fprintln(cmd.OutOrStdout(), "wrote", compile.DisplayPath(w.Path))
				}
			}
			return nil
		},
	}
}

func protoAddCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "add <path.proto>",
		Short: "Write a proto with a CRUD service and HTTP rules",
		Args:  one("<path.proto>"),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := project.AddProto(a[0]); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "created", a[0])
			return nil
		},
	}
}

func protoClientCmd() *cobra.Command {
	var o protoc.Options
	var quiet bool
	c := &cobra.Command{
		Use:   "client <file|dir>...",
		Short: "Generate Go (messages, gRPC, HTTP, errors) and OpenAPI from protos",
		Long: `client compiles protos in-process (no protoc needed) and writes next to
each one: <name>.pb.go, <name>_grpc.pb.go, <name>_http.pb.go (for services
with HTTP routes), <name>_errors.pb.go (for enums with
(zelos.errors.default_code)) and <name>.openapi.yaml (one OpenAPI 3.1
document per proto file with HTTP routes).

Imports are searched in the -I paths, then the working directory, the
module root and each proto's directory; google/api/{annotations,http,
field_behavior}.proto, zelos/errors/errors.proto and the well-known types
are built in. A proto without go_package gets the import path of its
directory in its Go module.`,
		Args: some("<file|dir>"),
		RunE: func(cmd *cobra.Command, a []string) error {
			start := time.Now()
			ws, err := protoc.Client(cmd.Context(), a, o)
			if err != nil {
				return err
			}
			changed := 0
			for _, w := range ws {
				if w.Changed {
					changed++
					if !quiet {
						fmt.Fprintln(cmd.OutOrStdout(), "wrote", compile.DisplayPath(w.Path))
					}
				}
			}
			if !quiet {
				fmt.Fprintf(cmd.OutOrStdout(), "%d files (%d changed) in %v\n", len(ws), changed, time.Since(start).Round(time.Millisecond))
			}
			return nil
		},
	}
	c.Flags().StringArrayVarP(&o.ImportPaths, "proto_path", "I", nil, "import path, searched in order (repeatable)")
	c.Flags().BoolVar(&o.DefaultRoutes, "http-default-routes", false, `give RPCs without an HTTP rule the route POST /pkg.Service/Method (body "*")`)
	c.Flags().BoolVar(&o.NoOpenAPI, "no-openapi", false, "do not write .openapi.yaml documents")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	return c
}

func protoServerCmd() *cobra.Command {
	var o protoserver.Options
	c := &cobra.Command{
		Use:   "server <file.proto>",
		Short: "Write service implementation stubs for the services of a proto",
		Long: `server writes one file per service of the proto into the target
directory (-t, default internal/service): a struct embedding
UnimplementedXxxServer with a method for every RPC, streaming ones
included. Existing files are never overwritten.`,
		Args: one("<file.proto>"),
		RunE: func(cmd *cobra.Command, a []string) error {
			res, err := protoserver.Write(cmd.Context(), a[0], o)
			if err != nil {
				return err
			}
			for _, r := range res {
				if r.Skipped {
					fmt.Fprintf(cmd.OutOrStdout(), "skipped %s: it exists\n", compile.DisplayPath(r.Path))
				} else {
					fmt.Fprintln(cmd.OutOrStdout(), "wrote", compile.DisplayPath(r.Path))
				}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&o.Dir, "target-dir", "t", filepath.Join("internal", "service"), "directory for the stubs")
	c.Flags().StringArrayVarP(&o.ImportPaths, "proto_path", "I", nil, "import path, searched in order (repeatable)")
	return c
}

func runCmd() *cobra.Command {
	var o runner.Options
	c := &cobra.Command{
		Use:   "run [flags] [-- args...]",
		Short: "Run the service under cmd/ (go run ./cmd/<name>)",
		Long: `run finds the main packages under cmd/ of the module around the working
directory and runs one with "go run"; with several, choose with --cmd.
Arguments after -- go to the program.`,
		RunE: func(cmd *cobra.Command, a []string) error {
			o.Args = a
			o.Stdin, o.Stdout, o.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runner.Run(cmd.Context(), ".", o)
		},
	}
	c.Flags().StringVar(&o.Cmd, "cmd", "", "the program under cmd/ to run, when there are several")
	return c
}
