package deploy

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // FROM, RUN, ... in upper case
	args string
}

// parseDockerfile splits a Dockerfile into instructions: comments and
// blank lines dropped, lines ending in a backslash joined to the next.
func parseDockerfile(data string) []instruction {
	var out []instruction
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
	}
	for _, line := range strings.Split(data, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "#") || (t == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(t, "\\")) + " ")
			continue
		}
		cur.WriteString(t)
		flush()
	}
	flush()
	return out
}

// goBuild matches a RUN's go build and the package it builds, the last
// argument, a path from the repository root.
var goBuild = regexp.MustCompile(`\bgo build\b.*\s(\./\S+)\s*$`)

// dockerfiles maps each shop image to its Dockerfile, from the repository
// root, and the package its go build must name (the shop contract).
func dockerfiles() map[string]string {
	return map[string]string{
		"user":    "./examples/shop/user/cmd/user",
		"product": "./examples/shop/product/cmd/product",
		"order":   "./examples/shop/order/cmd/order",
		"chat":    "./examples/shop/chat/cmd/chat",
		"gateway": "./gateway/cmd/zelos-gateway",
	}
}

// isMainPackage reports whether dir holds a Go main package (test files
// aside), reading only package clauses.
func isMainPackage(t *testing.T, dir string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		requireWritten(t, filepath.Join(dir, "main.go"))
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		ast, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if ast.Name.Name == "main" {
			return true
		}
	}
	return false
}

// TestDockerfiles: each image is multi-stage, builds a static binary of
// the contract's package (which must exist as a main package), and runs
// it as non-root on distroless with the contract's ports.
func TestDockerfiles(t *testing.T) {
	for name, pkg := range dockerfiles() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(repoRoot, "examples/shop", name, "Dockerfile")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ins := parseDockerfile(string(data))
			var froms, runs, copies []string
			byCmd := map[string]string{}
			for _, in := range ins {
				byCmd[in.cmd] = in.args
				switch in.cmd {
				case "FROM":
					froms = append(froms, in.args)
				case "RUN":
					runs = append(runs, in.args)
				case "COPY":
					copies = append(copies, in.args)
				}
			}
			if len(froms) != 2 || froms[0] != "golang:1.26 AS build" || froms[1] != "gcr.io/distroless/static-debian12:nonroot" {
				t.Errorf("FROM %q, want golang:1.26 AS build, then gcr.io/distroless/static-debian12:nonroot", froms)
			}
			var built []string
			for _, r := range runs {
				if m := goBuild.FindStringSubmatch(r); m != nil {
					built = append(built, m[1])
					for _, flag := range []string{"-trimpath", `-ldflags="-s -w"`} {
						if !strings.Contains(r, flag) {
							t.Errorf("go build without %s: %s", flag, r)
						}
					}
				}
			}
			if len(built) != 1 || built[0] != pkg {
				t.Fatalf("go build of %v, want one, of %s", built, pkg)
			}
			dir := filepath.Join(repoRoot, pkg)
			requireWritten(t, dir)
			if !isMainPackage(t, dir) {
				t.Errorf("go build %s: %s holds no main package", pkg, dir)
			}
			if !slices.ContainsFunc(ins, func(in instruction) bool {
				return in.cmd == "ENV" && strings.Contains(in.args, "CGO_ENABLED=0")
			}) {
				t.Error("no ENV CGO_ENABLED=0: the binary must be static for distroless/static")
			}
			if u := byCmd["USER"]; u == "" || strings.HasPrefix(u, "root") || strings.HasPrefix(u, "0") {
				t.Errorf("USER %q, want a non-root user", u)
			}
			if e := strings.Fields(byCmd["EXPOSE"]); !slices.Equal(e, []string{"8000", "9000", "9090"}) {
				t.Errorf("EXPOSE %v, want 8000 9000 9090", e)
			}
			if ep := byCmd["ENTRYPOINT"]; !strings.Contains(ep, `"-conf", "/app/configs`) {
				t.Errorf("ENTRYPOINT %s, want -conf /app/configs...", ep)
			}
			// The configs the image copies are in the repository.
			for _, c := range copies {
				f := strings.Fields(c)
				if len(f) >= 3 && f[0] == "--from=build" && strings.HasPrefix(f[1], "/src/") {
					src := filepath.Join(repoRoot, strings.TrimPrefix(f[1], "/src/"))
					requireWritten(t, src)
				}
			}
			if _, err := os.Stat(path + ".dockerignore"); err != nil {
				t.Errorf("no Dockerfile.dockerignore beside it: the context would carry .git: %v", err)
			}
		})
	}
}

func TestParseDockerfile(t *testing.T) {
	got := parseDockerfile("# c\nFROM a AS b\n\nRUN x \\\n    y \\\n  # inside\n    z\nenv A=1\n")
	want := []instruction{{"FROM", "a AS b"}, {"RUN", "x y z"}, {"ENV", "A=1"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if m := goBuild.FindStringSubmatch(`go build -trimpath -ldflags="-s -w" -o /out/x ./a/cmd/x`); m == nil || m[1] != "./a/cmd/x" {
		t.Errorf("goBuild matched %q", m)
	}
}
