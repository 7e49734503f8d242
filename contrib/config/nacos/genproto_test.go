package nacos_test

// The SDK asks for an old google.golang.org/genproto, from before
// googleapis/rpc became a module of its own. In the go.work workspace both
// would then provide google.golang.org/genproto/googleapis/rpc/status,
// which grpc imports, and every build in the workspace would stop on an
// ambiguous import. Importing this small package of a newer genproto, one
// without googleapis/rpc, keeps that newer version in go.mod, so that the
// workspace selects it.
import _ "google.golang.org/genproto/protobuf/field_mask"
