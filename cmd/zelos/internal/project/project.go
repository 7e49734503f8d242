// Package project creates Zelos services from the template embedded in the
// binary (zelos new) and adds proto files to them (zelos proto add).
package project

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
	"github.com/zelos-go/zelos/cmd/zelos/internal/version"
)

//go:embed all:template
var templateFS embed.FS

// Versions of the modules a new service requires. They match the
// framework's own go.mod.
const (
	GoVersion       = "1.26.0"
	GRPCVersion     = "v1.85.0"
	ProtobufVersion = "v1.36.12"
	GenprotoVersion = "v0.0.0-20260817212433-ac3dfec99bb1"
	// WorkGoVersion is the go version of the go.work written next to a
	// service built against a checkout whose own go.work names none.
	WorkGoVersion = "1.26.8"
)

// Options configure New.
type Options struct {
	// Name is the service name: the directory created, the binary under
	// cmd/ and the API directory under api/.
	Name string
	// Module is the module path (default: Name). With NoMod it is the
	// import path of the new directory (default: the enclosing module's
	// path plus the directory).
	Module string
	// NoMod adds the service to the Go module around the directory instead
	// of writing a go.mod.
	NoMod bool
	// Checkout is the root of a Zelos checkout to build the service
	// against, for as long as Zelos is not published: go.mod gets a replace
	// directive pointing at it, a go.work isolates the service from any
	// workspace around it (the checkout's own, when the service is created
	// inside it), and the Makefile builds the CLI from it. Empty, the
	// default, requires the published release. Ignored with NoMod.
	Checkout string
}

// data is what the templates see.
type data struct {
	Name, Module, ProtoPackage                                             string
	GoVersion, ZelosVersion, GRPCVersion, ProtobufVersion, GenprotoVersion string
	// Checkout is the framework checkout's absolute path ("" for the
	// release); CheckoutMod is it as a go.mod path, WorkGoVersion the go
	// version of the go.work.
	Checkout, CheckoutMod, WorkGoVersion string
}

// New creates the service o.Name in parent and returns its directory. It
// fails if the directory exists and is not empty.
func New(parent string, o Options) (string, error) {
	if err := checkName(o.Name); err != nil {
		return "", err
	}
	dir := filepath.Join(parent, o.Name)
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return "", fmt.Errorf("zelos new: %s exists and is not empty", dir)
	}
	mod := o.Module
	if o.NoMod {
		if mod == "" {
			root, modPath, err := protoc.FindModule(parent)
			if err != nil {
				return "", fmt.Errorf("zelos new --nomod: %w", err)
			}
			absDir, err := filepath.Abs(dir)
			if err != nil {
				return "", err
			}
			rel, err := filepath.Rel(root, absDir)
			if err != nil {
				return "", err
			}
			mod = modPath + "/" + filepath.ToSlash(rel)
		}
	} else if mod == "" {
		mod = o.Name
	}
	checkout := ""
	if o.Checkout != "" && !o.NoMod {
		abs, err := filepath.Abs(o.Checkout)
		if err != nil {
			return "", fmt.Errorf("zelos new: %w", err)
		}
		if !IsCheckout(abs) {
			return "", fmt.Errorf("zelos new: %s is no Zelos checkout: its go.mod does not declare module %s", abs, FrameworkModule)
		}
		checkout = abs
	}
	d := data{
		Name:            o.Name,
		Module:          mod,
		ProtoPackage:    protoIdent(o.Name),
		GoVersion:       GoVersion,
		ZelosVersion:    version.Version,
		GRPCVersion:     GRPCVersion,
		ProtobufVersion: ProtobufVersion,
		GenprotoVersion: GenprotoVersion,
		Checkout:        checkout,
		CheckoutMod:     modQuote(checkout),
		WorkGoVersion:   workspaceGoVersion(checkout, WorkGoVersion),
	}
	var files []struct {
		path    string
		content []byte
	}
	err := fs.WalkDir(templateFS, "template", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "template/"), ".tmpl")
		if rel == "go.mod" && o.NoMod || rel == "go.work" && checkout == "" {
			return nil
		}
		if rel == "gitignore" {
			rel = ".gitignore"
		}
		rel = strings.ReplaceAll(rel, "__name__", o.Name)
		src, err := templateFS.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(p).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return fmt.Errorf("zelos new: template %s: %w", p, err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, d); err != nil {
			return fmt.Errorf("zelos new: template %s: %w", p, err)
		}
		files = append(files, struct {
			path    string
			content []byte
		}{rel, buf.Bytes()})
		return nil
	})
	if err != nil {
		return "", err
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("zelos new: %w", err)
		}
		if err := os.WriteFile(p, f.content, 0o644); err != nil {
			return "", fmt.Errorf("zelos new: %w", err)
		}
	}
	return dir, nil
}

// modQuote returns p as a go.mod path, quoted when it holds characters
// that would end the token.
func modQuote(p string) string {
	if strings.ContainsAny(p, " \t\"'`\\") {
		return strconv.Quote(p)
	}
	return p
}

// checkName accepts names usable as a directory, a Go import path element
// and a command name.
func checkName(name string) error {
	if name == "" {
		return errors.New("zelos new: empty name")
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && i > 0 || (r == '-' || r == '_') && i > 0
		if !ok {
			return fmt.Errorf("zelos new: name %q: use lower-case letters, digits, - and _ (starting with a letter)", name)
		}
	}
	return nil
}

// protoIdent turns a name into a proto package identifier.
func protoIdent(name string) string {
	return strings.NewReplacer("-", "_").Replace(name)
}

// AddProto writes, at p, a proto with a CRUD service (Create, Update,
// Delete, Get, List) named after the file, with HTTP rules. It does not
// overwrite an existing file.
func AddProto(p string) error {
	if !strings.HasSuffix(p, ".proto") {
		return fmt.Errorf("zelos proto add: %s: want a .proto path", p)
	}
	if _, err := os.Stat(p); err == nil {
		return fmt.Errorf("zelos proto add: %s exists", p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return err
	}
	dir := filepath.Dir(abs)
	base := strings.TrimSuffix(filepath.Base(p), ".proto")
	svc := camel(base)
	if svc == "" {
		return fmt.Errorf("zelos proto add: %s: cannot make a service name of %q", p, base)
	}

	// The proto package and go_package follow the directory, relative to
	// the module root when there is one: api/user/v1 gives api.user.v1.
	relDir := filepath.Base(dir)
	goPkg := relDir
	if root, mod, err := protoc.FindModule(dir); err == nil {
		if r, err := filepath.Rel(root, dir); err == nil && r != "." {
			relDir = filepath.ToSlash(r)
			goPkg = mod + "/" + relDir
		}
	}
	var pkgParts []string
	for _, s := range strings.Split(relDir, "/") {
		if s = protoIdent(strings.ToLower(s)); s != "" && s != "." {
			pkgParts = append(pkgParts, s)
		}
	}
	var b strings.Builder
	err = crudTemplate.Execute(&b, map[string]string{
		"Package":   strings.Join(pkgParts, "."),
		"GoPackage": goPkg + ";" + path.Base(relDir),
		"Svc":       svc,
		"Res":       strings.ToLower(svc[:1]) + svc[1:],
		"Plural":    strings.ToLower(base) + "s",
		"Field":     snake(base),
	})
	if err != nil {
		return fmt.Errorf("zelos proto add: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("zelos proto add: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("zelos proto add: %w", err)
	}
	_, werr := f.WriteString(b.String())
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

var crudTemplate = template.Must(template.New("crud").Parse(`syntax = "proto3";

package {{.Package}};

import "google/api/annotations.proto";

option go_package = "{{.GoPackage}}";

// {{.Svc}}Service manages {{.Plural}}.
service {{.Svc}}Service {
  // Create{{.Svc}} creates a {{.Res}}.
  rpc Create{{.Svc}}(Create{{.Svc}}Request) returns (Create{{.Svc}}Reply) {
    option (google.api.http) = {
      post: "/v1/{{.Plural}}"
      body: "*"
    };
  }

  // Update{{.Svc}} updates a {{.Res}}.
  rpc Update{{.Svc}}(Update{{.Svc}}Request) returns (Update{{.Svc}}Reply) {
    option (google.api.http) = {
      put: "/v1/{{.Plural}}/{id}"
      body: "*"
    };
  }

  // Delete{{.Svc}} deletes a {{.Res}}.
  rpc Delete{{.Svc}}(Delete{{.Svc}}Request) returns (Delete{{.Svc}}Reply) {
    option (google.api.http) = {delete: "/v1/{{.Plural}}/{id}"};
  }

  // Get{{.Svc}} returns a {{.Res}}.
  rpc Get{{.Svc}}(Get{{.Svc}}Request) returns (Get{{.Svc}}Reply) {
    option (google.api.http) = {get: "/v1/{{.Plural}}/{id}"};
  }

  // List{{.Svc}} lists {{.Plural}}.
  rpc List{{.Svc}}(List{{.Svc}}Request) returns (List{{.Svc}}Reply) {
    option (google.api.http) = {get: "/v1/{{.Plural}}"};
  }
}

// {{.Svc}} is the resource.
message {{.Svc}} {
  string id = 1;
  string name = 2;
}

message Create{{.Svc}}Request {
  string name = 1;
}

message Create{{.Svc}}Reply {
  {{.Svc}} {{.Field}} = 1;
}

message Update{{.Svc}}Request {
  string id = 1;
  string name = 2;
}

message Update{{.Svc}}Reply {
  {{.Svc}} {{.Field}} = 1;
}

message Delete{{.Svc}}Request {
  string id = 1;
}

message Delete{{.Svc}}Reply {}

message Get{{.Svc}}Request {
  string id = 1;
}

message Get{{.Svc}}Reply {
  {{.Svc}} {{.Field}} = 1;
}

message List{{.Svc}}Request {
  int32 page_size = 1;
  string page_token = 2;
}

message List{{.Svc}}Reply {
  repeated {{.Svc}} {{.Field}}s = 1;
  string next_page_token = 2;
}
`))

// camel turns user_info or user-info into UserInfo.
func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// snake turns user-info or UserInfo into user_info.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '-' || r == '.':
			b.WriteByte('_')
		case r >= 'A' && r <= 'Z':
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r + 'a' - 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
