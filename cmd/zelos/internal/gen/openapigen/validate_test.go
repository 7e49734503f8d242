package openapigen_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/zelos-go/zelos/cmd/zelos/internal/protoc"
)

// TestDocumentsValidate generates the OpenAPI documents of the test protos
// and validates them with libopenapi-validator against the OpenAPI 3.1
// schema, then checks that the model resolves (every $ref found) and holds
// what the HTTP rules say.
func TestDocumentsValidate(t *testing.T) {
	testdata := protocTestdata
	for _, def := range []bool{false, true} {
		out, err := protoc.Generate(context.Background(),
			[]string{filepath.Join(testdata, "api"), filepath.Join(testdata, "bookstore")},
			protoc.Options{ImportPaths: []string{testdata}, DefaultRoutes: def})
		if err != nil {
			t.Fatal(err)
		}
		docs := 0
		for _, o := range out {
			if !strings.HasSuffix(o.Name, ".openapi.yaml") {
				continue
			}
			docs++
			doc, err := libopenapi.NewDocument(o.Content)
			if err != nil {
				t.Fatalf("%s: %v", o.Name, err)
			}
			v, errs := validator.NewValidator(doc)
			if len(errs) > 0 {
				t.Fatalf("%s: %v", o.Name, errs)
			}
			if ok, verrs := v.ValidateDocument(); !ok {
				for _, e := range verrs {
					t.Errorf("%s: %s: %s", o.Name, e.Message, e.Reason)
					for _, se := range e.SchemaValidationErrors {
						t.Errorf("  %s at %s (line %d)", se.Reason, se.FieldPath, se.Line)
					}
				}
			}
			model, merrs := doc.BuildV3Model()
			if merrs != nil {
				t.Fatalf("%s: building the model: %v", o.Name, merrs)
			}
			paths := model.Model.Paths.PathItems
			if paths.Len() == 0 {
				t.Errorf("%s: no paths", o.Name)
			}
			if o.Name == "bookstore/v1/bookstore.openapi.yaml" {
				// GET {name=shelves/*/books/*}, PATCH {book.name=…}, PUT
				// …/{book.id} and DELETE …/{book} all match the same
				// requests, so they share one path, named by DELETE, whose
				// variables carry their fields' own names.
				item, ok := paths.Get("/v1/shelves/{shelf}/books/{book}")
				if !ok || item.Get == nil || item.Patch == nil || item.Put == nil || item.Delete == nil {
					t.Errorf("bookstore: /v1/shelves/{shelf}/books/{book} lacks get, patch, put or delete")
				}
				if _, ok := paths.Get("/bookstore.v1.Bookstore/Ping"); ok != def {
					t.Errorf("default_routes=%v: Ping route documented = %v", def, ok)
				}
				book, ok := model.Model.Components.Schemas.Get("bookstore.v1.Book")
				if !ok {
					t.Fatal("bookstore: no bookstore.v1.Book schema")
				}
				if d := book.Schema().Description; !strings.Contains(d, "Book is a book on a shelf.") {
					t.Errorf("Book description = %q", d)
				}
				if _, ok := model.Model.Components.Schemas.Get("zelos.errors.Error"); !ok {
					t.Error("bookstore: no error schema")
				}
			}
		}
		if docs != 3 {
			t.Errorf("default_routes=%v: %d documents, want 3 (user, order, bookstore)", def, docs)
		}
	}
}

// TestValidatorCatchesErrors makes sure the validation above can fail.
func TestValidatorCatchesErrors(t *testing.T) {
	doc, err := libopenapi.NewDocument([]byte("openapi: 3.1.0\ninfo: {title: x}\npaths:\n  /a:\n    get:\n      responses: {\"200\": {content: {}}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, _ := v.ValidateDocument(); ok {
		t.Error("a document without info.version and response descriptions validated")
	}
}
