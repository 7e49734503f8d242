// Package protos holds the proto files that the zelos CLI serves to the
// compiler without a third_party directory: google/api/annotations.proto,
// google/api/http.proto, google/api/field_behavior.proto and
// zelos/errors/errors.proto.
package protos

import "embed"

// FS holds the embedded proto files, by import path.
//
//go:embed google/api/*.proto zelos/errors/*.proto
var FS embed.FS
