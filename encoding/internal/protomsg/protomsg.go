// Package protomsg finds the proto message a codec decodes into.
package protomsg

import (
	"reflect"

	"google.golang.org/protobuf/proto"
)

var messageType = reflect.TypeFor[proto.Message]()

// Target returns the message to decode into when v is a proto.Message, or a
// non-nil pointer to one (**M), allocating the *M if it is nil. It reports
// false for anything else.
func Target(v any) (proto.Message, bool) {
	if m, ok := v.(proto.Message); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, false
	}
	rv = rv.Elem()
	if rv.Kind() != reflect.Pointer || !rv.Type().Implements(messageType) {
		return nil, false
	}
	if rv.IsNil() {
		rv.Set(reflect.New(rv.Type().Elem()))
	}
	return rv.Interface().(proto.Message), true
}
