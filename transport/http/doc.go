// Package http is the Zelos HTTP transport: a server with its own router of
// google.api.http path templates, and a client.
//
// # Server
//
// NewServer returns a Server, which is a transport.Server, a
// transport.Endpointer and a nethttp.Handler. Routes are added on Routers:
//
//	srv := http.NewServer(http.Address(":8000"), http.Middleware(recovery.Recovery()))
//	r := srv.Route("/v1")
//	r.GET("/users/{id}", func(ctx http.Context) error {
//		return ctx.Result(200, &User{ID: ctx.Vars().Get("id")})
//	})
//
// Paths are templates: /users/{id}, /{name=shelves/*/books/*} (one variable
// over several segments), /files/{path=**} (the rest of the path),
// {book.id} (a nested field) and a custom verb, /users/{id}:cancel. They
// are parsed once, at registration; a literal segment wins over a variable.
// A path that matches no route is a 404 NOT_FOUND error, one whose routes
// all have other methods a 405 METHOD_NOT_ALLOWED error with an Allow
// header.
//
// Every route runs inside the server's middleware chain, hand-written ones
// included (Handle, HandleFunc and HandlePrefix mount plain net/http
// handlers): the chain's operation is the RPC method of generated routes
// (Unary, ServerStream) and the path template of the others. The server
// Transporter (transport.FromServerContext) also gives the request
// (RequestFromServerContext) and lets a handler change the operation
// (SetOperation).
//
// The chain sees how every request ends, so that access logs, metrics and
// traces tell the truth: a request that fails to bind (400, 413, 415) runs
// the chain with the *nethttp.Request as its request and the binding error
// as the handler's; replies are encoded inside the chain, so an encoding
// failure is the handler's error; and an error status a handler wrote
// itself (ctx.String(404, ...)) is returned to the chain as an error with
// that code. Middleware must therefore set reply headers before calling
// the handler. (Plain net/http handlers write to the connection's own
// ResponseWriter, so the chain sees their status only as success.)
//
// Request bodies are bound by Content-Type: JSON, protobuf, XML, URL
// encoded and multipart forms (files included) by default, and YAML only
// when RequestCodecs allows it, since decoding YAML costs far more CPU per
// byte. Bodies are bounded in size by MaxBodySize (413) and in time by
// BodyTimeout (408, and the connection is closed). Replies are encoded as
// the Accept header asks, by the server's or the route's ResponseEncoder;
// errors are JSON {code, reason, message, metadata} with the error's code
// as the status, by the ErrorEncoder. Malformed input is a 4xx error, never
// a 500; a panic in a handler, middleware or filter is a 500 PANIC error
// (or an error event, or a cut connection once the reply started), logged
// with its stack.
//
// Streams: ServerStream routes and Context.SSE send Server-Sent Events
// (SSEWriter, with heartbeats), and Router.WebSocket upgrades to a
// WebSocket with github.com/coder/websocket, in both cases after the
// middleware chain accepted the request.
//
// # Client
//
// NewClient returns a Client for an http(s) endpoint or a discovery:///name
// one resolved through a registry and a selector. Invoke encodes the
// request, runs the client middleware and decodes the reply; an error reply
// comes back as the *errors.Error the server sent.
package http
