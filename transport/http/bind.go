package http

import (
	"fmt"
	"io"
	"mime/multipart"
	nethttp "net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/zelos-go/zelos/encoding/form"
	"github.com/zelos-go/zelos/errors"
)

// multipartMemory is how much of a multipart body is kept in memory; the
// rest of the files go to temporary files, removed after the request.
const multipartMemory = 8 << 20

// bindMultipart parses a multipart/form-data body and binds its values with
// form.DecodeValues and its files with bindFiles.
func bindMultipart(r *nethttp.Request, v any) error {
	if err := parseMultipart(r); err != nil {
		return err
	}
	if err := form.DecodeValues(v, r.MultipartForm.Value); err != nil {
		return errors.BadRequest(ReasonBadRequestBody, "invalid multipart form: "+err.Error())
	}
	return bindFiles(v, r.MultipartForm.File)
}

func parseMultipart(r *nethttp.Request) error {
	if r.MultipartForm != nil {
		return nil
	}
	if err := r.ParseMultipartForm(multipartMemory); err != nil {
		return bodyError(err, "invalid multipart body: ")
	}
	return nil
}

var (
	fileHeaderType  = reflect.TypeFor[*multipart.FileHeader]()
	fileHeadersType = reflect.TypeFor[[]*multipart.FileHeader]()
	bytesType       = reflect.TypeFor[[]byte]()
)

// bindFiles sets the fields of the struct v points to (a generated proto
// message included) from uploaded files: a *multipart.FileHeader field gets
// the first file of its name, a []*multipart.FileHeader field all of them,
// and a []byte field the content of the first one. A field's form name is
// its form tag, else its json tag, else its proto name, else its Go name
// (compared case-insensitively).
func bindFiles(v any, files map[string][]*multipart.FileHeader) error {
	if len(files) == 0 {
		return nil
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil
	}
	t := rv.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Type != fileHeaderType && f.Type != fileHeadersType && f.Type != bytesType {
			continue
		}
		fhs := lookupFiles(files, f)
		if len(fhs) == 0 {
			continue
		}
		fv := rv.Field(i)
		switch f.Type {
		case fileHeaderType:
			fv.Set(reflect.ValueOf(fhs[0]))
		case fileHeadersType:
			fv.Set(reflect.ValueOf(fhs))
		case bytesType:
			data, err := readFile(fhs[0])
			if err != nil {
				return err
			}
			fv.SetBytes(data)
		}
	}
	return nil
}

func lookupFiles(files map[string][]*multipart.FileHeader, f reflect.StructField) []*multipart.FileHeader {
	for _, n := range fieldNames(f) {
		if fhs, ok := files[n]; ok {
			return fhs
		}
	}
	for k, fhs := range files {
		if strings.EqualFold(k, f.Name) {
			return fhs
		}
	}
	return nil
}

// fieldNames returns the names a struct field answers to: its form and json
// tag names and its proto name, then its Go name.
func fieldNames(f reflect.StructField) []string {
	names := make([]string, 0, 4)
	for _, tag := range []string{"form", "json"} {
		if n, _, _ := strings.Cut(f.Tag.Get(tag), ","); n != "" && n != "-" {
			names = append(names, n)
		}
	}
	for part := range strings.SplitSeq(f.Tag.Get("protobuf"), ",") {
		if n, ok := strings.CutPrefix(part, "name="); ok {
			names = append(names, n)
		}
	}
	return append(names, f.Name)
}

func readFile(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, errors.BadRequest(ReasonBadRequestBody, fmt.Sprintf("reading uploaded file %q: %v", fh.Filename, err))
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, errors.BadRequest(ReasonBadRequestBody, fmt.Sprintf("reading uploaded file %q: %v", fh.Filename, err))
	}
	return data, nil
}

// fieldPath is the resolved location of a (possibly nested) field, such as
// the target of a path variable {book.id} or of Body("book").
type fieldPath struct {
	index [][]int // field index at each level; pointers between levels are followed
	typ   reflect.Type
}

// resolveField finds the field a dotted name (proto, json or Go names)
// designates in struct type t, or reports false.
func resolveField(t reflect.Type, name string) (fieldPath, bool) {
	var fp fieldPath
	for part := range strings.SplitSeq(name, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return fp, false
		}
		f, ok := findField(t, part)
		if !ok {
			return fp, false
		}
		fp.index = append(fp.index, f.Index)
		t = f.Type
	}
	fp.typ = t
	return fp, true
}

func findField(t reflect.Type, name string) (reflect.StructField, bool) {
	var fold reflect.StructField
	found := false
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		for _, n := range fieldNames(f) {
			if n == name {
				return f, true
			}
			if !found && (strings.EqualFold(n, name) || strings.EqualFold(strings.ReplaceAll(n, "_", ""), strings.ReplaceAll(name, "_", ""))) {
				fold, found = f, true
			}
		}
	}
	return fold, found
}

// value returns the field in the struct root points to, allocating nil
// pointers on the way when alloc is set. It returns an invalid Value when a
// nil pointer is met and alloc is not set.
func (fp fieldPath) value(root reflect.Value, alloc bool) reflect.Value {
	v := root
	for _, idx := range fp.index {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc {
					return reflect.Value{}
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.FieldByIndex(idx)
	}
	return v
}

// varSetter sets a path variable's value into a field of a fixed type
// without going through form decoding.
type varSetter struct {
	name string
	fp   fieldPath
	kind reflect.Kind
	ptr  bool // the field is *T of a basic T
}

// newVarSetter returns a fast setter for a variable of struct type t when
// its field has a predeclared basic type (or a pointer to one).
func newVarSetter(t reflect.Type, name string) (varSetter, bool) {
	fp, ok := resolveField(t, name)
	if !ok {
		return varSetter{}, false
	}
	ft, ptr := fp.typ, false
	if ft.Kind() == reflect.Pointer {
		ft, ptr = ft.Elem(), true
	}
	if ft.PkgPath() != "" || ft.Name() == "" { // named types (enums, ...) go through form
		return varSetter{}, false
	}
	switch ft.Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
	default:
		return varSetter{}, false
	}
	return varSetter{name: name, fp: fp, kind: ft.Kind(), ptr: ptr}, true
}

// set stores s into the field of the struct root points to.
func (vs *varSetter) set(root reflect.Value, s string) error {
	f := vs.fp.value(root, true)
	if vs.ptr {
		if f.IsNil() {
			f.Set(reflect.New(f.Type().Elem()))
		}
		f = f.Elem()
	}
	switch vs.kind {
	case reflect.String:
		f.SetString(s)
		return nil
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return vs.invalid(s, "bool")
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, f.Type().Bits())
		if err != nil {
			return vs.invalid(s, f.Type().String())
		}
		f.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, f.Type().Bits())
		if err != nil {
			return vs.invalid(s, f.Type().String())
		}
		f.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, f.Type().Bits())
		if err != nil {
			return vs.invalid(s, f.Type().String())
		}
		f.SetFloat(n)
	}
	return nil
}

func (vs *varSetter) invalid(s, typ string) error {
	if len(s) > 64 {
		s = s[:64]
	}
	return errors.BadRequest(ReasonInvalidPath,
		fmt.Sprintf("invalid path variable %q: invalid value %q for %s", vs.name, s, typ)).
		WithMetadata(map[string]string{"field": vs.name})
}
