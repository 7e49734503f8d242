// Package gateway is the Zelos API gateway: an http.Handler and a
// transport.Server that routes requests, by a configuration file, to services
// found in a Zelos registry or at fixed URLs, proxying HTTP, h2c, gRPC,
// WebSocket and SSE, and transcoding JSON to gRPC from the methods'
// google.api.http rules.
package gateway
