// Package nacostest is an in-process fake of a Nacos 2 server, speaking the
// gRPC protocol of github.com/nacos-group/nacos-sdk-go/v2 (v2.3.2), for
// the tests of the Nacos config source and registry.
//
//	srv, err := nacostest.NewServer()
//	...
//	defer srv.Close()
//	srv.PublishConfig("", "DEFAULT_GROUP", "app.yaml", "name: demo\n")
//	servers := []constant.ServerConfig{srv.ServerConfig()}
//
// Nacos 2 clients speak gRPC on the server's port + 1000 (9848 for 8848),
// through the services of nacos_grpc_service.proto: Request.request, one
// Payload in and one out, and BiRequestStream.requestBiStream, a stream each
// way on which the server pushes its own requests (change notices) and the
// client answers them. A Payload is the type name of the JSON in its body
// ("ConfigQueryRequest", "ConfigQueryResponse", ...) in its Metadata, and
// the JSON itself as the Any's value.
//
// A client connects with ServerCheckRequest, whose response names the
// connection, opens the stream and sends ConnectionSetupRequest on it. The
// fake knows a connection by its peer address, as the requests and the
// stream share one HTTP/2 connection, and answers the requests of a
// connection that has not set up with ErrorResponse code 301, as Nacos does
// after a restart, which makes the SDK connect again.
//
// It serves:
//
//   - config: ConfigQueryRequest (errorCode 300 for a data ID that does not
//     exist), ConfigBatchListenRequest (listening and the changed data IDs by
//     MD5), ConfigPublishRequest and ConfigRemoveRequest, and pushes
//     ConfigChangeNotifyRequest to the connections listening to a data ID
//     when it changes;
//   - naming: InstanceRequest (registerInstance, deregisterInstance),
//     BatchInstanceRequest, SubscribeServiceRequest, ServiceQueryRequest and
//     ServiceListRequest, and pushes NotifySubscriberRequest to subscribers
//     when a service's instances change. As in Nacos 2, a connection
//     publishes one instance per service (registerInstance replaces it,
//     deregisterInstance removes it) or one list (batchRegisterInstance),
//     and an instance is known by ip#port#cluster. Instances are ephemeral,
//     owned by the connection that published them, and go when it closes,
//     as Nacos 2 removes the ephemeral instances of a client that
//     disconnected;
//   - HealthCheckRequest.
//
// It is not Nacos: one node, no authentication, no persistent instances,
// beta or tag configurations, and pushes are sent once, without retries.
package nacostest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	nacosgrpc "github.com/nacos-group/nacos-sdk-go/v2/api/grpc"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
)

// Server is a fake Nacos server. Its methods are safe for concurrent use.
type Server struct {
	addr string // host:port of the gRPC listener, kept across Restart

	mu        sync.Mutex
	grpc      *grpc.Server                 // guarded by mu
	stopped   bool                         // guarded by mu
	conns     map[string]*conn             // by peer address; guarded by mu
	configs   map[configKey]configItem     // guarded by mu
	services  map[serviceKey]*service      // guarded by mu
	refTime   uint64                       // last lastRefTime given; guarded by mu
	requests  map[string]int               // count per payload type; guarded by mu
	nextConn  int                          // guarded by mu
	nextPush  int                          // guarded by mu
	listening map[configKey]map[*conn]bool // guarded by mu
	muted     bool                         // pushes are not sent; guarded by mu
}

type configKey struct{ tenant, group, dataID string }

type configItem struct {
	content      string
	md5          string
	lastModified int64
}

type serviceKey struct{ namespace, group, name string }

type service struct {
	instances   map[string]instance // by ip#port#cluster
	subscribers map[*conn]string    // the clusters each subscribed with
}

// instance is an instance as the SDK sends and reads it.
type instance struct {
	InstanceID                string            `json:"instanceId"`
	IP                        string            `json:"ip"`
	Port                      uint64            `json:"port"`
	Weight                    float64           `json:"weight"`
	Healthy                   bool              `json:"healthy"`
	Enabled                   bool              `json:"enabled"`
	Ephemeral                 bool              `json:"ephemeral"`
	ClusterName               string            `json:"clusterName"`
	ServiceName               string            `json:"serviceName"`
	Metadata                  map[string]string `json:"metadata"`
	InstanceHeartBeatInterval int               `json:"instanceHeartBeatInterval"`
	IPDeleteTimeout           int               `json:"ipDeleteTimeout"`
	InstanceHeartBeatTimeOut  int               `json:"instanceHeartBeatTimeOut"`
	owner                     *conn
}

// conn is one client connection.
type conn struct {
	id     string
	mu     sync.Mutex // serializes Send on stream
	stream nacosgrpc.BiRequestStream_RequestBiStreamServer
	setup  bool // guarded by Server.mu
	labels map[string]string
	kill   chan struct{} // closed by DropConnections to end the stream
	once   sync.Once
}

func (c *conn) drop() { c.once.Do(func() { close(c.kill) }) }

// NewServer starts a fake on a free loopback port.
func NewServer() (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("nacostest: listen: %w", err)
	}
	s := &Server{
		addr:      lis.Addr().String(),
		conns:     map[string]*conn{},
		configs:   map[configKey]configItem{},
		services:  map[serviceKey]*service{},
		requests:  map[string]int{},
		listening: map[configKey]map[*conn]bool{},
	}
	s.serve(lis)
	return s, nil
}

func (s *Server) serve(lis net.Listener) {
	g := grpc.NewServer()
	nacosgrpc.RegisterRequestServer(g, requestService{s})
	nacosgrpc.RegisterBiRequestStreamServer(g, streamService{s})
	s.grpc = g
	go func() { _ = g.Serve(lis) }()
}

// GrpcAddr is the host:port of the fake's gRPC listener.
func (s *Server) GrpcAddr() string { return s.addr }

// GrpcPort is the port of the fake's gRPC listener.
func (s *Server) GrpcPort() uint64 {
	_, port, _ := net.SplitHostPort(s.addr)
	p, _ := strconv.ParseUint(port, 10, 64)
	return p
}

// ServerConfig is the ServerConfig that reaches the fake by Nacos's
// convention: the main port is the gRPC port - 1000, and GrpcPort is left
// for the SDK to work out.
func (s *Server) ServerConfig() constant.ServerConfig {
	return constant.ServerConfig{IpAddr: "127.0.0.1", Port: s.GrpcPort() - constant.RpcPortOffset}
}

// Close stops the fake and closes its connections.
func (s *Server) Close() {
	s.mu.Lock()
	g := s.grpc
	s.stopped = true
	s.mu.Unlock()
	g.Stop()
}

// Restart stops the fake, as a crashed or restarted Nacos node, and starts
// it again on the same port after down. Configurations survive; the
// connections, and so the ephemeral instances, listeners and subscribers,
// do not, until the clients connect and register again.
func (s *Server) Restart(down time.Duration) error {
	s.mu.Lock()
	g := s.grpc
	s.mu.Unlock()
	g.Stop()
	s.forgetConnections()
	time.Sleep(down)
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("nacostest: listen again on %s: %w", s.addr, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serve(lis)
	return nil
}

// forgetConnections drops the state of every connection, without pushes:
// after a stop there is no one to push to.
func (s *Server) forgetConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns = map[string]*conn{}
	s.listening = map[configKey]map[*conn]bool{}
	for _, svc := range s.services {
		svc.subscribers = map[*conn]string{}
		svc.instances = map[string]instance{}
	}
}

// DropConnections closes the streams of every client connection, as a
// network failure would; the SDK connects again.
func (s *Server) DropConnections() {
	s.mu.Lock()
	var all []*conn
	for _, c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		c.drop() // the stream's handler returns and forgets c
	}
}

// Requests is how many requests of a payload type ("ConfigQueryRequest")
// the fake has answered.
func (s *Server) Requests(typ string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[typ]
}

// Connections is the number of connections that have set up.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.conns {
		if c.setup {
			n++
		}
	}
	return n
}

// Listeners is the number of connections listening to a configuration.
func (s *Server) Listeners(tenant, group, dataID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.listening[configKey{tenant, group, dataID}])
}

// MutePushes stops (true) or resumes (false) the server's pushes, as a
// lost change notice.
func (s *Server) MutePushes(mute bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.muted = mute
}

// PublishConfig stores a configuration and notifies its listeners, as a
// publish from the console does.
func (s *Server) PublishConfig(tenant, group, dataID, content string) {
	s.mu.Lock()
	key := configKey{tenant, group, dataID}
	s.configs[key] = configItem{content: content, md5: md5Hex(content), lastModified: time.Now().UnixMilli()}
	pushes := s.configChangedLocked(key)
	s.mu.Unlock()
	s.sendAll(pushes)
}

// DeleteConfig removes a configuration and notifies its listeners.
func (s *Server) DeleteConfig(tenant, group, dataID string) {
	s.mu.Lock()
	key := configKey{tenant, group, dataID}
	delete(s.configs, key)
	pushes := s.configChangedLocked(key)
	s.mu.Unlock()
	s.sendAll(pushes)
}

// Config returns a stored configuration.
func (s *Server) Config(tenant, group, dataID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	item, ok := s.configs[configKey{tenant, group, dataID}]
	return item.content, ok
}

// Instances returns the instances of a service, as the SDK's JSON.
func (s *Server) Instances(namespace, group, name string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []json.RawMessage
	if svc := s.services[serviceKey{namespace, group, name}]; svc != nil {
		for _, in := range svc.instances {
			b, _ := json.Marshal(in)
			out = append(out, b)
		}
	}
	return out
}

func md5Hex(content string) string {
	if content == "" {
		return "" // as the SDK computes it
	}
	sum := md5.Sum([]byte(content))
	return hex.EncodeToString(sum[:])
}

// push is one server request to send on a connection's stream.
type push struct {
	to   *conn
	typ  string
	body map[string]any
}

func (s *Server) sendAll(pushes []push) {
	s.mu.Lock()
	muted := s.muted
	s.mu.Unlock()
	if muted {
		return
	}
	for _, p := range pushes {
		_ = s.send(p)
	}
}

func (s *Server) send(p push) error {
	if p.to.stream == nil {
		return errors.New("nacostest: connection has no stream")
	}
	b, err := json.Marshal(p.body)
	if err != nil {
		return err
	}
	p.to.mu.Lock()
	defer p.to.mu.Unlock()
	return p.to.stream.Send(&nacosgrpc.Payload{
		Metadata: &nacosgrpc.Metadata{Type: p.typ, Headers: map[string]string{}},
		Body:     &anypb.Any{Value: b},
	})
}

// pushID is the requestId of the next server request; s.mu must be held.
func (s *Server) pushID() string {
	s.nextPush++
	return strconv.Itoa(s.nextPush)
}

// configChangedLocked returns the notices to the listeners of key.
func (s *Server) configChangedLocked(key configKey) []push {
	var out []push
	for c := range s.listening[key] {
		out = append(out, push{to: c, typ: "ConfigChangeNotifyRequest", body: map[string]any{
			"requestId": s.pushID(), "dataId": key.dataID, "group": key.group, "tenant": key.tenant, "module": "config",
		}})
	}
	return out
}

// closeConn forgets a connection: its listeners, subscriptions and
// instances, notifying the subscribers of the services it was in.
func (s *Server) closeConn(c *conn) {
	s.mu.Lock()
	for id, cc := range s.conns {
		if cc == c {
			delete(s.conns, id)
		}
	}
	for key, ls := range s.listening {
		delete(ls, c)
		if len(ls) == 0 {
			delete(s.listening, key)
		}
	}
	var pushes []push
	for key, svc := range s.services {
		delete(svc.subscribers, c)
		changed := false
		for id, in := range svc.instances {
			if in.owner == c {
				delete(svc.instances, id)
				changed = true
			}
		}
		if changed {
			pushes = append(pushes, s.serviceChangedLocked(key)...)
		}
	}
	s.mu.Unlock()
	s.sendAll(pushes)
}

func (s *Server) count(typ string) {
	s.mu.Lock()
	s.requests[typ]++
	s.mu.Unlock()
}

// nextRefTime is a lastRefTime later than every one given before: the SDK
// ignores a service whose lastRefTime is not newer than the one it holds.
// s.mu must be held.
func (s *Server) nextRefTime() uint64 {
	t := uint64(time.Now().UnixMilli())
	if t <= s.refTime {
		t = s.refTime + 1
	}
	s.refTime = t
	return t
}

func splitClusters(clusters string) map[string]bool {
	if clusters == "" {
		return nil
	}
	out := map[string]bool{}
	for _, c := range strings.Split(clusters, ",") {
		out[strings.TrimSpace(c)] = true
	}
	return out
}
