// Package nacos is a config.Source that reads one configuration (a data
// ID in a group) from Nacos through the official Go SDK,
// github.com/nacos-group/nacos-sdk-go/v2, and follows its changes.
//
//	source := nacos.NewConfigSource(
//		nacos.WithServerConfig([]constant.ServerConfig{
//			{IpAddr: "nacos-server", Port: 8848},
//		}),
//		nacos.WithClientConfig(constant.ClientConfig{
//			NamespaceId:         "your-namespace",
//			TimeoutMs:           5000,
//			NotLoadCacheAtStart: true,
//		}),
//		nacos.WithDataId("app.yaml"),
//		nacos.WithGroup("DEFAULT_GROUP"),
//	)
//	c := config.New(config.WithSource(source))
//
// The format of the content is the data ID's extension, lower-cased:
// "app.yaml" is decoded as YAML, "app.json" as JSON (with config's
// DefaultDecoder; a custom config.Decoder sees the same Format). A data ID
// without an extension is one string at the key of its name.
//
// The SDK version this module is built and tested with (v2.3.2) speaks
// Nacos 2's gRPC protocol, on the server's port + 1000 (9848 for 8848)
// unless ServerConfig.GrpcPort says otherwise.
package nacos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/clients/config_client"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/internal/backoff"
)

var _ config.Source = (*Source)(nil)

// The SDK's read limit (see Source.get).
const (
	limitWait  = 5 * time.Second
	limitRetry = 200 * time.Millisecond
)

// Option configures a Source.
type Option func(*options)

type options struct {
	servers []constant.ServerConfig
	client  constant.ClientConfig
	dataID  string
	group   string
	shared  config_client.IConfigClient
}

// WithServerConfig sets the Nacos servers to connect to. It, or
// ClientConfig.Endpoint, is required unless WithConfigClient is used.
func WithServerConfig(servers []constant.ServerConfig) Option {
	return func(o *options) { o.servers = servers }
}

// WithClientConfig sets the SDK's client configuration: the namespace
// (tenant), timeouts, credentials and the SDK's own log and cache. Where
// LogDir or CacheDir is empty the Source sets them under the system's
// temporary directory ("nacos/log", "nacos/cache"), instead of the SDK's
// default, the working directory.
func WithClientConfig(c constant.ClientConfig) Option {
	return func(o *options) { o.client = c }
}

// WithDataId sets the data ID of the configuration, such as "app.yaml". It
// is required; its extension gives the format.
func WithDataId(dataID string) Option { //nolint:revive // the tutorial's and Kratos's spelling
	return func(o *options) { o.dataID = dataID }
}

// WithGroup sets the group of the data ID. The default is "DEFAULT_GROUP".
func WithGroup(group string) Option {
	return func(o *options) { o.group = group }
}

// WithConfigClient makes the Source use a config client the caller made
// (with clients.NewConfigClient) instead of making its own from
// WithServerConfig and WithClientConfig. The Source never closes it. The
// SDK keeps one listener per data ID and group in a client, so two Sources
// on one client must not watch the same data ID.
func WithConfigClient(c config_client.IConfigClient) Option {
	return func(o *options) { o.shared = c }
}

// Source reads a Nacos configuration. It makes its SDK client when Load or
// Watch first needs it and closes it when no Load is running and no
// Watcher is left, so that a closed config.Config leaves no connection
// behind. It is safe for concurrent use.
type Source struct {
	o      options
	badOpt error
	resync time.Duration // see watcher.Next; a field so that tests can shorten it

	mu       sync.Mutex
	client   config_client.IConfigClient // nil while unused (and not shared); guarded by mu
	refs     int                         // users of client; guarded by mu
	watchers map[*watcher]struct{}       // guarded by mu
}

// NewConfigSource returns a Source for the given options. Missing options
// are reported by Load and Watch, so that NewConfigSource fits inside
// config.WithSource.
func NewConfigSource(opts ...Option) *Source {
	s := &Source{o: options{group: constant.DEFAULT_GROUP}, resync: resync, watchers: map[*watcher]struct{}{}}
	for _, opt := range opts {
		opt(&s.o)
	}
	switch {
	case s.o.dataID == "":
		s.badOpt = errors.New("nacos: no data ID (WithDataId)")
	case s.o.group == "":
		s.badOpt = errors.New("nacos: empty group (WithGroup)")
	case s.o.shared == nil && len(s.o.servers) == 0 && s.o.client.Endpoint == "":
		s.badOpt = errors.New("nacos: no server (WithServerConfig or ClientConfig.Endpoint)")
	}
	return s
}

// String names the Source in the errors and logs of config.
func (s *Source) String() string {
	return fmt.Sprintf("nacos %s/%s", s.o.group, s.o.dataID)
}

// Load reads the configuration's current content. A data ID that does not
// exist reads as empty content, as the SDK reports it.
func (s *Source) Load() ([]*config.KeyValue, error) {
	if s.badOpt != nil {
		return nil, s.badOpt
	}
	c, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer s.release()
	content, err := s.get(context.Background(), c)
	if err != nil {
		return nil, err
	}
	return s.keyValues(content), nil
}

// get reads the content. The SDK allows five reads of a data ID a second
// in a process, and refuses more with an error: get waits for the next
// allowance instead, up to limitWait, since a change read late is better
// than a watch that fails.
func (s *Source) get(ctx context.Context, c config_client.IConfigClient) (string, error) {
	deadline := time.Now().Add(limitWait)
	for {
		content, err := c.GetConfig(vo.ConfigParam{DataId: s.o.dataID, Group: s.o.group})
		if err == nil {
			return content, nil
		}
		if !strings.Contains(err.Error(), "is limited") || time.Now().After(deadline) {
			return "", fmt.Errorf("nacos: get %s/%s: %w", s.o.group, s.o.dataID, err)
		}
		if err := backoff.Sleep(ctx, nil, limitRetry); err != nil {
			return "", err
		}
	}
}

// keyValues is the content as config sees it.
func (s *Source) keyValues(content string) []*config.KeyValue {
	return []*config.KeyValue{{Key: s.o.dataID, Value: []byte(content), Format: format(s.o.dataID)}}
}

// format is the extension of a data ID, lower-cased, or "" for none.
func format(dataID string) string {
	return strings.ToLower(strings.TrimPrefix(path.Ext(dataID), "."))
}

// acquire returns the SDK client, making it if need be; each successful
// call must be matched by release.
func (s *Source) acquire() (config_client.IConfigClient, error) {
	if s.o.shared != nil {
		return s.o.shared, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		cc := s.o.client
		if cc.LogDir == "" {
			cc.LogDir = filepath.Join(os.TempDir(), "nacos", "log")
		}
		if cc.CacheDir == "" {
			cc.CacheDir = filepath.Join(os.TempDir(), "nacos", "cache")
		}
		c, err := clients.NewConfigClient(vo.NacosClientParam{ClientConfig: &cc, ServerConfigs: s.o.servers})
		if err != nil {
			return nil, fmt.Errorf("nacos: make config client: %w", err)
		}
		s.client = c
	}
	s.refs++
	return s.client, nil
}

// release ends a use of the client and closes it after the last one.
func (s *Source) release() {
	if s.o.shared != nil {
		return
	}
	s.mu.Lock()
	s.refs--
	var closing config_client.IConfigClient
	if s.refs == 0 {
		closing, s.client = s.client, nil
	}
	s.mu.Unlock()
	if closing != nil {
		closing.CloseClient()
	}
}

// Watch returns a Watcher whose Next reports each change of the content
// after Watch returned.
func (s *Source) Watch() (config.Watcher, error) {
	if s.badOpt != nil {
		return nil, s.badOpt
	}
	c, err := s.acquire()
	if err != nil {
		return nil, err
	}
	w := &watcher{s: s, client: c, changed: make(chan struct{}, 1)}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	if err := s.listen(c, w); err != nil {
		s.release()
		return nil, err
	}
	// The content now is the baseline: the SDK calls its listener once with
	// the content it finds when listening starts, which is no change.
	content, err := s.get(w.ctx, c)
	if err != nil {
		_ = w.Stop()
		return nil, err
	}
	w.last = content
	return w, nil
}

// listen adds w to the watchers, and starts the SDK's listener for the
// first one: the SDK keeps one listener per data ID in a client, so the
// Source fans its calls out.
func (s *Source) listen(c config_client.IConfigClient, w *watcher) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers[w] = struct{}{}
	if len(s.watchers) > 1 {
		return nil
	}
	err := c.ListenConfig(vo.ConfigParam{DataId: s.o.dataID, Group: s.o.group, OnChange: s.changed})
	if err != nil {
		delete(s.watchers, w)
		return fmt.Errorf("nacos: listen to %s/%s: %w", s.o.group, s.o.dataID, err)
	}
	return nil
}

// changed is the SDK listener: it hands the content to every watcher. The
// SDK calls it on a goroutine per change, so two changes closer together
// than a goroutine's start could arrive in either order; each change costs
// the SDK a round trip to the server first, which keeps them apart. Reading
// the content again instead would spend the SDK's allowance of five reads a
// second, and a read it refuses makes the SDK itself miss a change for five
// seconds.
func (s *Source) changed(_, _, _, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watchers {
		w.offer(content)
	}
}

// unlisten removes w, and stops the SDK's listener after the last one.
func (s *Source) unlisten(c config_client.IConfigClient, w *watcher) {
	s.mu.Lock()
	_, ok := s.watchers[w]
	delete(s.watchers, w)
	last := ok && len(s.watchers) == 0
	s.mu.Unlock()
	if last {
		_ = c.CancelListenConfig(vo.ConfigParam{DataId: s.o.dataID, Group: s.o.group})
	}
}
