package gateway

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	ggrpc "google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/zelos-go/zelos/errors"
	"github.com/zelos-go/zelos/gateway/transcode"
	"github.com/zelos-go/zelos/middleware"
	"github.com/zelos-go/zelos/registry"
	"github.com/zelos-go/zelos/selector"
	"github.com/zelos-go/zelos/transport"
	zgrpc "github.com/zelos-go/zelos/transport/grpc"
)

// transcoder serves a transcode endpoint: HTTP JSON requests become gRPC
// calls on the endpoint's pool, by the google.api.http rules of the
// backend's methods.
type transcoder struct {
	ep   *endpoint
	conn *ggrpc.ClientConn
	opts []transcode.Option

	mu      sync.Mutex
	tc      *transcode.Transcoder // nil until the descriptors are loaded
	fromRef bool                  // descriptors come from the backend's reflection
	next    time.Time             // when a failed reflection may be tried again
	lastErr error
}

// grpcConn returns the pool's gRPC connection, dialed once over a private
// registry that mirrors the pool's instances, so that fixed URLs and
// several discovered services are balanced as one target. It is called
// while compiling a configuration, which Update serializes.
func (p *pool) grpcConn(balancer string) (*ggrpc.ClientConn, error) {
	p.mu.Lock()
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		return c, nil
	}
	reg := registry.NewInMemory()
	name := "gateway-pool"
	known := map[string]*registry.ServiceInstance{}
	var syncMu sync.Mutex
	mirror := func(ins []*registry.ServiceInstance) {
		syncMu.Lock()
		defer syncMu.Unlock()
		seen := map[string]bool{}
		for _, in := range ins {
			if in == nil {
				continue
			}
			c := *in
			c.Name = name
			seen[c.ID] = true
			known[c.ID] = &c
			_ = reg.Register(context.Background(), &c)
		}
		for id, in := range known {
			if !seen[id] {
				_ = reg.Deregister(context.Background(), in)
				delete(known, id)
			}
		}
	}
	mirror(p.instances())
	if balancer == "" {
		balancer = "p2c"
	}
	conn, err := zgrpc.DialInsecure(context.Background(),
		zgrpc.WithEndpoint("discovery:///"+name),
		zgrpc.WithDiscovery(reg),
		zgrpc.WithSelector(selector.NewSelector(selector.Balancer(balancer))),
		zgrpc.WithOptions(ggrpc.WithDefaultCallOptions(ggrpc.ForceCodecV2(partialCodec{}))),
	)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.conn = conn
	p.onApply = mirror
	p.closers = append(p.closers, func() { _ = conn.Close() })
	p.mu.Unlock()
	mirror(p.instances())
	return conn, nil
}

func (g *Gateway) newTranscoder(ep *endpoint, e Endpoint) (*transcoder, error) {
	conn, err := ep.pool.grpcConn(e.Balancer)
	if err != nil {
		return nil, err
	}
	t := &transcoder{ep: ep, conn: conn, opts: []transcode.Option{transcode.MaxBodySize(ep.maxBody)}}
	if e.Descriptors == "" || e.Descriptors == "reflection" {
		t.fromRef = true
		return t, nil
	}
	files, err := transcode.LoadDescriptorSet(e.Descriptors)
	if err != nil {
		return nil, err
	}
	if t.tc, err = transcode.New(files, t.opts...); err != nil {
		return nil, err
	}
	return t, nil
}

// get returns the Transcoder, asking the backend's reflection service for
// the descriptors the first time (and again, at most once a second, after
// a failure).
func (t *transcoder) get(ctx context.Context) (*transcode.Transcoder, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tc != nil {
		return t.tc, nil
	}
	if time.Now().Before(t.next) {
		return nil, t.lastErr
	}
	t.ep.pool.wait(ctx)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	files, err := transcode.FromReflection(rctx, t.conn)
	if err == nil {
		t.tc, err = transcode.New(files, t.opts...)
	}
	if err != nil {
		t.next = time.Now().Add(time.Second)
		t.lastErr = errors.Newf(http.StatusServiceUnavailable, ReasonBackendUnavailable,
			"gateway: the gRPC methods of %s could not be read from its reflection service", t.ep.service).WithCause(err)
		return nil, t.lastErr
	}
	return t.tc, nil
}

type bindingKey struct{}

// transcode serves a request of a transcode endpoint: it finds the
// method's binding, decodes the request (4xx on a client's mistake), runs
// the chain around the gRPC call and encodes the reply.
func (g *Gateway) transcode(ctx context.Context, c *call, h middleware.Handler) error {
	tc, err := c.ep.tc.get(ctx)
	if err != nil {
		return err
	}
	_, raw := rewritePath(c.ep.rewrite, c.r.URL.Path, c.r.URL.EscapedPath())
	b, params, ok := tc.Match(c.r.Method, raw)
	if !ok {
		if allowed := tc.Allowed(raw); len(allowed) > 0 {
			return routeError(c.r, allowed)
		}
		return routeError(c.r, nil)
	}
	if st, ok := transport.FromServerContext(ctx); ok {
		if s, ok := st.(*serverTransport); ok {
			s.op = b.FullMethod()
		}
	}
	r := c.attemptRequest(ctx)
	msg, err := b.Decode(r, params)
	if err != nil {
		return err
	}
	if !b.ServerStreaming() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.ep.timeout)
		defer cancel()
	}
	ctx = context.WithValue(ctx, bindingKey{}, &bound{b: b, c: c, tc: tc})
	reply, err := h(ctx, msg)
	if err != nil || reply == nil {
		return err
	}
	if err := b.Encode(c.w, c.r, reply.(proto.Message)); err != nil {
		return err
	}
	return nil
}

type bound struct {
	b  *transcode.Binding
	c  *call
	tc *transcode.Transcoder
}

// invoke is the innermost handler of a transcode endpoint: the gRPC call.
func (t *transcoder) invoke(ctx context.Context, req any) (any, error) {
	bd := ctx.Value(bindingKey{}).(*bound)
	ctx = bd.tc.OutgoingContext(ctx, bd.c.r.Header)
	if ct, ok := transport.FromClientContext(ctx); ok {
		if client, ok := ct.(*clientTransport); ok && len(client.header) > 0 {
			kv := make([]string, 0, 2*len(client.header))
			for k, vs := range client.header {
				for _, v := range vs {
					kv = append(kv, strings.ToLower(k), v)
				}
			}
			ctx = metadata.AppendToOutgoingContext(ctx, kv...)
		}
	}
	if bd.b.ServerStreaming() {
		return nil, bd.b.Stream(ctx, bd.c.w, bd.c.r, t.conn, req.(proto.Message))
	}
	var md metadata.MD
	reply, err := bd.b.Invoke(ctx, t.conn, req.(proto.Message), ggrpc.Header(&md))
	transcode.CopyReplyMetadata(bd.c.w.Header(), md)
	if err != nil {
		if errors.Code(err) == http.StatusServiceUnavailable && errors.Reason(err) == "UNAVAILABLE" {
			// grpc-go's own failure to reach an instance: named by the
			// backend service, as every gateway error is.
			return nil, errors.Newf(http.StatusServiceUnavailable, ReasonBackendUnavailable, "gateway: backend %s is unavailable", t.ep.service)
		}
		return nil, err
	}
	return reply, nil
}
