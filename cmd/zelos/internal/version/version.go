// Package version holds the release of the zelos CLI and its plugins,
// written into the headers of generated files.
package version

// Version is the release of the zelos CLI and protoc plugins.
const Version = "v0.1.0"
