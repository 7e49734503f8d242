// Package kubernetes provides a config.Source that reads ConfigMaps and
// Secrets, by name or by label selector, through the Kubernetes API and
// watches them for changes.
//
//	client, err := kubernetes.NewForConfig(restConfig) // k8s.io/client-go/kubernetes
//	if err != nil { ... }
//	c := config.New(config.WithSource(zk8s.NewSource(client,
//		zk8s.WithConfigMap("greeter"),
//		zk8s.WithSecret("greeter-db"),
//	)))
//	if err := c.Load(); err != nil { ... }
//
// Each data entry (ConfigMap data and binaryData, Secret data) is one
// config.KeyValue: an entry named "*.yaml", "*.yml" or "*.json" is a
// document in that format, merged at the root; any other entry is a flat
// string value at the entry's name read as a dotted path ("db.host",
// "LOG_LEVEL"). ConfigMaps come before Secrets, each in name order and
// each object's entries in name order, so a Secret overrides a ConfigMap.
//
// The service account needs the list and watch verbs on configmaps (and
// on secrets if any are read) in the namespace; a refused request gives
// an error that names the missing verb and resource.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/zelos-go/zelos/config"
)

// Option configures a Source.
type Option func(*source)

// WithNamespace sets the namespace to read. The default is the pod's own
// namespace, from its service account, or "default" outside a pod.
func WithNamespace(ns string) Option {
	return func(s *source) { s.namespace = ns }
}

// WithConfigMap reads the named ConfigMaps. A missing one is an error.
func WithConfigMap(names ...string) Option {
	return func(s *source) {
		for _, n := range names {
			s.streams = append(s.streams, stream{resource: configMaps, name: n})
		}
	}
}

// WithSecret reads the named Secrets. A missing one is an error.
func WithSecret(names ...string) Option {
	return func(s *source) {
		for _, n := range names {
			s.streams = append(s.streams, stream{resource: secrets, name: n})
		}
	}
}

// WithConfigMapSelector reads every ConfigMap whose labels match selector
// ("app=greeter,tier in (api)"); ConfigMaps come and go freely.
func WithConfigMapSelector(selector string) Option {
	return func(s *source) {
		s.streams = append(s.streams, stream{resource: configMaps, selector: selector})
	}
}

// WithSecretSelector reads every Secret whose labels match selector.
func WithSecretSelector(selector string) Option {
	return func(s *source) {
		s.streams = append(s.streams, stream{resource: secrets, selector: selector})
	}
}

// WithTimeout bounds each read of the API. Zero or less means the
// default, 10s.
func WithTimeout(d time.Duration) Option {
	return func(s *source) {
		if d > 0 {
			s.timeout = d
		}
	}
}

const (
	configMaps = "configmaps"
	secrets    = "secrets"
)

// namespaceFile holds the pod's namespace, mounted with its service
// account token.
const namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// stream is one list-and-watch: a named object or a label selector.
type stream struct {
	resource string // configMaps or secrets
	name     string // set for a named object
	selector string // set for a selector
}

func (st stream) listOptions() metav1.ListOptions {
	if st.name != "" {
		return metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", st.name).String()}
	}
	return metav1.ListOptions{LabelSelector: st.selector}
}

type source struct {
	client    kubernetes.Interface
	namespace string
	streams   []stream
	timeout   time.Duration
}

// NewSource returns a Source reading the ConfigMaps and Secrets that the
// options name or select, through client.
func NewSource(client kubernetes.Interface, opts ...Option) config.Source {
	s := &source{client: client, timeout: 10 * time.Second}
	for _, o := range opts {
		o(s)
	}
	if s.namespace == "" {
		s.namespace = "default"
		if b, err := os.ReadFile(namespaceFile); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			s.namespace = strings.TrimSpace(string(b))
		}
	}
	return s
}

// String names the source in errors and logs.
func (s *source) String() string {
	parts := make([]string, 0, len(s.streams))
	for _, st := range s.streams {
		if st.name != "" {
			parts = append(parts, st.resource+"/"+st.name)
		} else {
			parts = append(parts, st.resource+"{"+st.selector+"}")
		}
	}
	return "kubernetes " + s.namespace + " " + strings.Join(parts, ",")
}

func (s *source) check() error {
	switch {
	case s.client == nil:
		return errors.New("kubernetes: nil client")
	case len(s.streams) == 0:
		return errors.New("kubernetes: nothing to read; use WithConfigMap, WithSecret or a selector option")
	}
	for _, st := range s.streams {
		if st.selector == "" {
			continue
		}
		if _, err := labels.Parse(st.selector); err != nil {
			return fmt.Errorf("kubernetes: %s selector %q: %w", st.resource, st.selector, err)
		}
	}
	return nil
}

// apiError names the verb and resource of a refused request, so that the
// missing RBAC rule can be read off the error.
func (s *source) apiError(verb, resource string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("kubernetes: forbidden: the service account may not %s %s in namespace %s; "+
			"grant it the %q verb on %q (a Role rule: apiGroups [\"\"], resources [%s], verbs [list, watch]): %w",
			verb, resource, s.namespace, verb, resource, resource, err)
	}
	return fmt.Errorf("kubernetes: %s %s in namespace %s: %w", verb, resource, s.namespace, err)
}

func (s *source) Load() ([]*config.KeyValue, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	kvs, _, err := s.read(context.Background())
	return kvs, err
}

// notFoundError reports a named ConfigMap or Secret that does not exist.
type notFoundError struct{ resource, namespace, name string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("kubernetes: %s %s/%s not found", strings.TrimSuffix(e.resource, "s"), e.namespace, e.name)
}

// object is the part of a ConfigMap or Secret that becomes configuration.
type object struct {
	resource string
	name     string
	data     map[string][]byte
}

// read lists every stream and returns the configuration and, per stream,
// the resource version to watch from.
func (s *source) read(ctx context.Context) ([]*config.KeyValue, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	seen := map[string]object{} // by resource and name: a selector may match a named object
	rvs := make([]string, len(s.streams))
	var missing error // the first named object not found; the other streams are still read for their versions
	for i, st := range s.streams {
		objs, rv, err := s.list(ctx, st)
		if err != nil {
			return nil, nil, err
		}
		if st.name != "" && len(objs) == 0 && missing == nil {
			missing = &notFoundError{resource: st.resource, namespace: s.namespace, name: st.name}
		}
		for _, o := range objs {
			seen[o.resource+"/"+o.name] = o
		}
		rvs[i] = rv
	}
	if missing != nil {
		return nil, rvs, missing
	}
	objs := make([]object, 0, len(seen))
	for _, o := range seen {
		objs = append(objs, o)
	}
	// ConfigMaps sort before Secrets, so Secrets override them.
	slices.SortFunc(objs, func(a, b object) int {
		if c := strings.Compare(a.resource, b.resource); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	var kvs []*config.KeyValue
	for _, o := range objs {
		keys := make([]string, 0, len(o.data))
		for k := range o.data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			kvs = append(kvs, s.keyValue(o, k))
		}
	}
	return kvs, rvs, nil
}

// list reads the objects of one stream and the list's resource version.
func (s *source) list(ctx context.Context, st stream) ([]object, string, error) {
	var objs []object
	var rv string
	// The name is checked here as well as in the field selector, which
	// some API fakes ignore.
	want := func(name string) bool { return st.name == "" || name == st.name }
	switch st.resource {
	case configMaps:
		l, err := s.client.CoreV1().ConfigMaps(s.namespace).List(ctx, st.listOptions())
		if err != nil {
			return nil, "", s.apiError("list", st.resource, err)
		}
		rv = l.ResourceVersion
		for _, cm := range l.Items {
			if !want(cm.Name) {
				continue
			}
			data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
			for k, v := range cm.BinaryData {
				data[k] = v
			}
			for k, v := range cm.Data {
				data[k] = []byte(v)
			}
			objs = append(objs, object{resource: configMaps, name: cm.Name, data: data})
		}
	default:
		l, err := s.client.CoreV1().Secrets(s.namespace).List(ctx, st.listOptions())
		if err != nil {
			return nil, "", s.apiError("list", st.resource, err)
		}
		rv = l.ResourceVersion
		for _, sec := range l.Items {
			if want(sec.Name) {
				objs = append(objs, object{resource: secrets, name: sec.Name, data: sec.Data})
			}
		}
	}
	return objs, rv, nil
}

// keyValue turns one data entry into a config.KeyValue (see the package
// doc).
func (s *source) keyValue(o object, key string) *config.KeyValue {
	switch format := strings.ToLower(strings.TrimPrefix(path.Ext(key), ".")); format {
	case "yaml", "yml", "json":
		return &config.KeyValue{
			Key:    strings.TrimSuffix(o.resource, "s") + "/" + s.namespace + "/" + o.name + "/" + key,
			Value:  o.data[key],
			Format: format,
		}
	}
	return &config.KeyValue{Key: key, Value: o.data[key]}
}

// watchStream starts watching st from resource version rv.
func (s *source) watchStream(ctx context.Context, st stream, rv string) (watch.Interface, error) {
	opts := st.listOptions()
	opts.ResourceVersion = rv
	opts.AllowWatchBookmarks = true
	var (
		w   watch.Interface
		err error
	)
	if st.resource == configMaps {
		w, err = s.client.CoreV1().ConfigMaps(s.namespace).Watch(ctx, opts)
	} else {
		w, err = s.client.CoreV1().Secrets(s.namespace).Watch(ctx, opts)
	}
	if err != nil {
		return nil, s.apiError("watch", st.resource, err)
	}
	return w, nil
}
