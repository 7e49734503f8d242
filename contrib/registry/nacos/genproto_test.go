package nacos_test

// As in contrib/config/nacos: the SDK asks for an old
// google.golang.org/genproto that still holds googleapis/rpc, which the
// go.work workspace would then find in two modules. Importing a small
// package of a newer genproto keeps that version in go.mod.
import _ "google.golang.org/genproto/protobuf/field_mask"
