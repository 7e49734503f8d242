// Package apollo is a config.Source that reads namespaces from the config
// service of Apollo (https://www.apolloconfig.com) and follows their
// changes through Apollo's notifications long poll.
//
//	c := config.New(config.WithSource(
//		apollo.NewSource(
//			apollo.WithAppID("your-app-id"),
//			apollo.WithCluster("default"),
//			apollo.WithEndpoint("http://apollo-config-service:8080"),
//			apollo.WithNamespace("application", "mysql", "redis"),
//			apollo.WithSecret("your-secret"),
//		),
//	))
//
// Each namespace's keys appear under the namespace's name, so the key dsn
// of namespace mysql is read as "mysql.dsn"; the keys of the namespace
// application appear at the top level as well ("dsn" and
// "application.dsn"), as most applications keep their own settings there.
//
// A namespace's format is that of its name: "redis.yaml", "redis.yml" and
// "redis.json" hold one YAML or JSON document (Apollo's "content" item),
// decoded under the name without the extension ("redis.addr");
// "notes.txt" and "layout.xml" are one string at "notes" and "layout"; any
// other name ("mysql", "mysql.properties", Apollo's public "FX.apollo") is
// a properties namespace whose dotted keys nest ("mysql.pool.size"). Apollo
// stores properties as text, so a value that is the canonical spelling of
// a bool, an integer or a float ("true", "42", "1.5") is given that type;
// anything else ("007", "1e3") stays a string.
//
// The client speaks Apollo's config-service HTTP API itself
// (GET /configs/{appId}/{cluster}/{namespace} and GET /notifications/v2),
// signing each request with the access key when WithSecret is set.
package apollo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/zelos-go/zelos/config"
)

var _ config.Source = (*Source)(nil)

// Option configures a Source.
type Option func(*options)

type options struct {
	appID      string
	cluster    string
	endpoint   string
	namespaces []string
	secret     string
	ip         string
	client     *http.Client
}

// WithAppID sets the Apollo application ID. It is required.
func WithAppID(appID string) Option {
	return func(o *options) { o.appID = appID }
}

// WithCluster sets the cluster whose releases are read. The default is
// "default", Apollo's own default cluster.
func WithCluster(cluster string) Option {
	return func(o *options) { o.cluster = cluster }
}

// WithEndpoint sets the address of Apollo's config service (not the
// portal), such as "http://apollo-config-service:8080". It is required. A
// path in it ("http://gateway/apollo") prefixes every request's path.
func WithEndpoint(endpoint string) Option {
	return func(o *options) { o.endpoint = endpoint }
}

// WithNamespace adds namespaces to read, in order: a later namespace's keys
// override an earlier one's where they meet. Without it the Source reads
// "application" alone. See the package documentation for how a name gives
// the namespace's format.
func WithNamespace(namespaces ...string) Option {
	return func(o *options) { o.namespaces = append(o.namespaces, namespaces...) }
}

// WithSecret sets the access key secret of the application. With it, every
// request carries Apollo's access-key signature (the Authorization and
// Timestamp headers); without it requests are not signed, which a config
// service whose application has access keys enabled answers with 401.
func WithSecret(secret string) Option {
	return func(o *options) { o.secret = secret }
}

// WithClientIP sets the ip parameter that Apollo matches against the IP
// rules of gray releases. By default it is not sent, and the config
// service uses the connection's address.
func WithClientIP(ip string) Option {
	return func(o *options) { o.ip = ip }
}

// WithHTTPClient sets the HTTP client of the requests, for TLS settings or
// a proxy. Its Timeout should be zero or over a minute, since the config
// service holds notification polls for 60 seconds; the Source bounds each
// request with a deadline of its own. The default is a client on a clone of
// http.DefaultTransport, whose idle connections the Source closes when no
// Watcher is left.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.client = c }
}

// Source reads namespaces from Apollo's config service. It is safe for
// concurrent use.
type Source struct {
	o         options
	base      *url.URL // endpoint; nil when it is missing or invalid
	badOpt    error    // the reason base or the options are unusable
	spaces    []namespace
	transport *http.Transport // the Source's own, unless WithHTTPClient
	mu        sync.Mutex
	releases  map[string]release // last release read per namespace; guarded by mu
	watching  int                // watchers not stopped; guarded by mu
}

// idle closes the idle connections of the Source's own transport when no
// watcher is left, so that a closed config.Config leaves no connection (and
// no goroutine) behind; the next request dials again.
func (s *Source) idle() {
	s.mu.Lock()
	watching := s.watching
	s.mu.Unlock()
	if s.transport != nil && watching == 0 {
		s.transport.CloseIdleConnections()
	}
}

// NewSource returns a Source for the given options. Missing or invalid
// options are reported by Load and Watch, so that NewSource fits inside
// config.WithSource.
func NewSource(opts ...Option) *Source {
	s := &Source{
		o:        options{cluster: "default"},
		releases: map[string]release{},
	}
	for _, opt := range opts {
		opt(&s.o)
	}
	if len(s.o.namespaces) == 0 {
		s.o.namespaces = []string{"application"}
	}
	if s.o.client == nil {
		// A transport of its own, so that the Source can close its idle
		// connections when it is no longer watched without touching other
		// users of http.DefaultTransport.
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			s.transport = dt.Clone()
			s.o.client = &http.Client{Transport: s.transport}
		} else {
			s.o.client = &http.Client{}
		}
	}
	s.badOpt = s.init()
	return s
}

func (s *Source) init() error {
	switch {
	case s.o.appID == "":
		return fmt.Errorf("apollo: no application ID (WithAppID)")
	case s.o.cluster == "":
		return fmt.Errorf("apollo: empty cluster (WithCluster)")
	case s.o.endpoint == "":
		return fmt.Errorf("apollo: no config service address (WithEndpoint)")
	}
	u, err := url.Parse(s.o.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("apollo: config service address %q is not an http or https URL", s.o.endpoint)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	s.base = u
	seen := map[string]bool{}
	for _, name := range s.o.namespaces {
		ns, err := parseNamespace(name)
		if err != nil {
			return err
		}
		if seen[ns.request] {
			return fmt.Errorf("apollo: namespace %q given twice", name)
		}
		seen[ns.request] = true
		s.spaces = append(s.spaces, ns)
	}
	return nil
}

// String names the Source in the errors and logs of config.
func (s *Source) String() string {
	return fmt.Sprintf("apollo %s/%s at %s", s.o.appID, s.o.cluster, s.o.endpoint)
}

// Load reads the current release of every namespace.
func (s *Source) Load() ([]*config.KeyValue, error) {
	if s.badOpt != nil {
		return nil, s.badOpt
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	defer s.idle()
	return s.load(ctx, nil)
}

// Watch returns a Watcher that long-polls the config service's
// notifications and reads the namespaces again when one of them has a new
// release. It reads them once itself, so that its Next reports only what
// changed after Watch returned.
func (s *Source) Watch() (config.Watcher, error) {
	if s.badOpt != nil {
		return nil, s.badOpt
	}
	w, err := newWatcher(s)
	if err != nil {
		return nil, err // not a nil *watcher in a non-nil interface
	}
	return w, nil
}

// load reads every namespace and turns them into KeyValues. ids holds the
// notification IDs that triggered the read, of the namespaces that have one
// (see fetch).
func (s *Source) load(ctx context.Context, ids map[string]int64) ([]*config.KeyValue, error) {
	kvs := make([]*config.KeyValue, 0, len(s.spaces)+1)
	missing := 0
	for _, ns := range s.spaces {
		id, ok := ids[ns.request]
		if !ok {
			id = -1
		}
		rel, err := s.fetch(ctx, ns, id)
		if errors.Is(err, errNoRelease) {
			// A namespace without a release has no keys, as a deleted file
			// has none; only when no namespace has one is it more likely a
			// wrong app ID, cluster or endpoint.
			missing++
			if missing == len(s.spaces) {
				return nil, fmt.Errorf("apollo: no namespace of app %q cluster %q has a release (404): check WithAppID, WithCluster and WithEndpoint: %w",
					s.o.appID, s.o.cluster, err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		nsKVs, err := ns.keyValues(rel.Configurations)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, nsKVs...)
	}
	// The top-level copy of application goes first, so that where it meets
	// a namespace's name ("mysql.dsn" in application and in mysql) the
	// namespace wins, as its own key says.
	var top, rest []*config.KeyValue
	for _, kv := range kvs {
		if kv.Key == topLevelKey {
			top = append(top, kv)
		} else {
			rest = append(rest, kv)
		}
	}
	return append(top, rest...), nil
}
