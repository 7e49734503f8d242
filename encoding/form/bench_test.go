package form_test

import (
	"net/url"
	"testing"

	"github.com/zelos-go/zelos/encoding/form"
	"google.golang.org/protobuf/types/descriptorpb"
)

var benchQuery = url.Values{
	"name":      {"field_name"},
	"number":    {"42"},
	"label":     {"LABEL_REPEATED"},
	"type":      {"9"},
	"json_name": {"fieldName"},
}

// BenchmarkDecodeProto decodes a 5-field query into a generated message.
func BenchmarkDecodeProto(b *testing.B) {
	b.ReportAllocs()
	var m descriptorpb.FieldDescriptorProto
	for b.Loop() {
		if err := form.DecodeValues(&m, benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeDynamic decodes a 5-field query into a dynamic message.
func BenchmarkDecodeDynamic(b *testing.B) {
	b.ReportAllocs()
	vals := url.Values{
		"name": {"x"}, "page_size": {"20"}, "color": {"RED"}, "inner.count": {"3"}, "createTime": {"2024-05-01T10:00:00Z"},
	}
	m := newMsg()
	for b.Loop() {
		if err := form.DecodeValues(m, vals); err != nil {
			b.Fatal(err)
		}
	}
}

type benchStruct struct {
	Name     string `json:"name"`
	Number   int32  `json:"number"`
	Label    string `json:"label"`
	Type     int    `json:"type"`
	JSONName string `json:"json_name"`
}

// BenchmarkDecodeStruct decodes a 5-field query into a plain struct.
func BenchmarkDecodeStruct(b *testing.B) {
	b.ReportAllocs()
	var s benchStruct
	for b.Loop() {
		if err := form.DecodeValues(&s, benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeProto builds the query string of a generated message.
func BenchmarkEncodeProto(b *testing.B) {
	b.ReportAllocs()
	var m descriptorpb.FieldDescriptorProto
	if err := form.DecodeValues(&m, benchQuery); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		vals, err := form.EncodeValues(&m)
		if err != nil {
			b.Fatal(err)
		}
		_ = vals.Encode()
	}
}
