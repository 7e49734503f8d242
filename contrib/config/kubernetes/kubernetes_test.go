package kubernetes_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/zelos-go/zelos/config"
	"github.com/zelos-go/zelos/config/configtest"
	zk8s "github.com/zelos-go/zelos/contrib/config/kubernetes"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	ns   = "prod"
	wait = 10 * time.Second
)

var ctx = context.Background()

func configMap(name string, labels map[string]string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Data:       data,
	}
}

func secret(name string, labels map[string]string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

// putConfigMap creates or replaces a ConfigMap, as kubectl apply would.
func putConfigMap(t *testing.T, c *fake.Clientset, cm *corev1.ConfigMap) {
	t.Helper()
	_, err := c.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

func putSecret(t *testing.T, c *fake.Clientset, s *corev1.Secret) {
	t.Helper()
	_, err := c.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = c.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestContract(t *testing.T) {
	labels := map[string]string{"app": "greeter"}
	t.Run("configmap selector", func(t *testing.T) {
		c := fake.NewClientset()
		configtest.Run(t, configtest.Harness{
			Keys: []string{"greeter-a", "greeter-b"},
			New: func(*testing.T) config.Source {
				return zk8s.NewSource(c, zk8s.WithNamespace(ns), zk8s.WithConfigMapSelector("app=greeter"))
			},
			Put: func(t *testing.T, key string, data []byte) {
				putConfigMap(t, c, configMap(key, labels, map[string]string{"config.yaml": string(data)}))
			},
			Delete: func(t *testing.T, key string) {
				err := c.CoreV1().ConfigMaps(ns).Delete(ctx, key, metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					t.Fatal(err)
				}
			},
		})
	})
	t.Run("named configmap", func(t *testing.T) {
		c := fake.NewClientset()
		configtest.Run(t, configtest.Harness{
			Keys: []string{"greeter"},
			New: func(*testing.T) config.Source {
				return zk8s.NewSource(c, zk8s.WithNamespace(ns), zk8s.WithConfigMap("greeter"))
			},
			Put: func(t *testing.T, key string, data []byte) {
				putConfigMap(t, c, configMap(key, nil, map[string]string{"config.json": string(data)}))
			},
		})
	})
	t.Run("secret selector", func(t *testing.T) {
		c := fake.NewClientset()
		configtest.Run(t, configtest.Harness{
			Keys: []string{"db-a", "db-b"},
			New: func(*testing.T) config.Source {
				return zk8s.NewSource(c, zk8s.WithNamespace(ns), zk8s.WithSecretSelector("app=greeter"))
			},
			Put: func(t *testing.T, key string, data []byte) {
				putSecret(t, c, secret(key, labels, map[string]string{"config.yaml": string(data)}))
			},
			Delete: func(t *testing.T, key string) {
				err := c.CoreV1().Secrets(ns).Delete(ctx, key, metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					t.Fatal(err)
				}
			},
		})
	})
}

func load(t *testing.T, src config.Source) config.Config {
	t.Helper()
	c := config.New(config.WithSource(src))
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Load(); err != nil {
		t.Fatal(err)
	}
	return c
}

func expect(t *testing.T, c config.Config, key, want string) {
	t.Helper()
	if got, err := c.Value(key).String(); err != nil || got != want {
		t.Errorf("Value(%q) = %q, %v; want %q", key, got, err, want)
	}
}

// TestEntries checks how data entries map to configuration: documents by
// extension, other entries as flat values, binaryData, and Secrets
// overriding ConfigMaps.
func TestEntries(t *testing.T) {
	c := fake.NewClientset(
		configMap("greeter", nil, map[string]string{
			"config.yaml": "server:\n  http:\n    addr: \":8000\"\ndata:\n  database:\n    source: placeholder\n",
			"log.level":   "debug",
			"README":      "plain text, stored at README",
		}),
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "binary", Namespace: ns},
			BinaryData: map[string][]byte{"extra.json": []byte(`{"extra": true}`)},
		},
		secret("greeter-db", nil, map[string]string{"data.database.source": "mysql://user:pw@db/greeter"}),
	)
	cfg := load(t, zk8s.NewSource(c, zk8s.WithNamespace(ns),
		zk8s.WithConfigMap("greeter", "binary"), zk8s.WithSecret("greeter-db")))
	for key, want := range map[string]string{
		"server.http.addr":     ":8000",
		"log.level":            "debug",
		"README":               "plain text, stored at README",
		"extra":                "true",
		"data.database.source": "mysql://user:pw@db/greeter",
	} {
		t.Run(key, func(t *testing.T) { expect(t, cfg, key, want) })
	}
}

// TestWatchEvents follows a ConfigMap and a Secret through creation,
// update and deletion events of the fake clientset.
func TestWatchEvents(t *testing.T) {
	c := fake.NewClientset()
	labels := map[string]string{"app": "greeter"}
	putConfigMap(t, c, configMap("base", labels, map[string]string{"level": "info"}))
	cfg := load(t, zk8s.NewSource(c, zk8s.WithNamespace(ns),
		zk8s.WithConfigMapSelector("app=greeter"), zk8s.WithSecretSelector("app=greeter")))
	seen := make(chan string, 16)
	if err := cfg.Watch("level", func(_ string, v config.Value) {
		s, _ := v.String()
		seen <- s
	}); err != nil {
		t.Fatal(err)
	}
	await := func(want string) {
		t.Helper()
		select {
		case got := <-seen:
			if got != want {
				t.Fatalf("level = %q, want %q", got, want)
			}
		case <-time.After(wait):
			t.Fatalf("level %q not seen", want)
		}
	}
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"configmap updated", func() { putConfigMap(t, c, configMap("base", labels, map[string]string{"level": "warn"})) }, "warn"},
		{"secret added overrides", func() { putSecret(t, c, secret("override", labels, map[string]string{"level": "error"})) }, "error"},
		{"secret deleted", func() {
			if err := c.CoreV1().Secrets(ns).Delete(ctx, "override", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}, "warn"},
		{"label removed", func() { putConfigMap(t, c, configMap("base", nil, map[string]string{"level": "warn"})) }, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			await(st.want)
		})
	}
}

// TestNamedCreatedLater checks that a named ConfigMap missing at Watch is
// reported once it is created.
func TestNamedCreatedLater(t *testing.T) {
	c := fake.NewClientset()
	src := zk8s.NewSource(c, zk8s.WithNamespace(ns), zk8s.WithConfigMap("late"))
	if _, err := src.Load(); err == nil || err.Error() != "kubernetes: configmap prod/late not found" {
		t.Fatalf("Load: %v", err)
	}
	w, err := src.Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	putConfigMap(t, c, configMap("late", nil, map[string]string{"a.yaml": "a: 1"}))
	kvs, err := w.Next()
	if err != nil || len(kvs) != 1 || kvs[0].Key != "configmap/prod/late/a.yaml" || kvs[0].Format != "yaml" {
		t.Fatalf("Next = %v, %v", kvs, err)
	}
	if err := c.CoreV1().ConfigMaps(ns).Delete(ctx, "late", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Next(); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("Next after delete: %v", err)
	}
}

// forbidden is what the API server answers without an RBAC rule.
func forbidden(verb, resource string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "",
		&rbacError{`User "system:serviceaccount:prod:greeter" cannot ` + verb + ` resource "` + resource + `"`})
}

type rbacError struct{ s string }

func (e *rbacError) Error() string { return e.s }

// TestForbidden checks that a missing RBAC rule is reported with its verb
// and resource.
func TestForbidden(t *testing.T) {
	tests := []struct {
		name     string
		verb     string
		resource string
		reactor  func(c *fake.Clientset)
	}{
		{"list secrets", "list", "secrets", func(c *fake.Clientset) {
			c.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, forbidden("list", "secrets")
			})
		}},
		{"watch configmaps", "watch", "configmaps", func(c *fake.Clientset) {
			c.PrependWatchReactor("configmaps", func(k8stesting.Action) (bool, watch.Interface, error) {
				return true, nil, forbidden("watch", "configmaps")
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientset(configMap("greeter", nil, map[string]string{"a": "1"}), secret("db", nil, nil))
			tc.reactor(c)
			cfg := config.New(config.WithSource(zk8s.NewSource(c, zk8s.WithNamespace(ns),
				zk8s.WithConfigMap("greeter"), zk8s.WithSecret("db"))))
			defer cfg.Close()
			err := cfg.Load()
			want := `grant it the "` + tc.verb + `" verb on "` + tc.resource + `"`
			if err == nil || !strings.Contains(err.Error(), want) || !apierrors.IsForbidden(err) {
				t.Errorf("Load: %v\nwant it to contain %s", err, want)
			}
		})
	}
}

// TestWatchRestarts checks that a watch the API server ends is started
// again from the last version, and that an expired version (410 Gone)
// makes the watcher list again.
func TestWatchRestarts(t *testing.T) {
	c := fake.NewClientset(configMap("greeter", nil, map[string]string{"level": "info"}))
	var versions []string
	started := make(chan *watch.FakeWatcher, 8)
	c.PrependWatchReactor("configmaps", func(a k8stesting.Action) (bool, watch.Interface, error) {
		fw := watch.NewFakeWithChanSize(8, false)
		versions = append(versions, a.(k8stesting.WatchActionImpl).WatchRestrictions.ResourceVersion)
		started <- fw
		return true, fw, nil
	})
	src := zk8s.NewSource(c, zk8s.WithNamespace(ns), zk8s.WithConfigMap("greeter"))
	w, err := src.Watch()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	first := <-started
	next := make(chan []*config.KeyValue, 1)
	go func() {
		kvs, _ := w.Next()
		next <- kvs
	}()
	// The server ends the watch: the watcher watches again.
	first.Stop()
	var second *watch.FakeWatcher
	select {
	case second = <-started:
	case <-time.After(wait):
		t.Fatal("no new watch after the first ended")
	}
	// The version expired: the watcher lists again, and reports what
	// changed meanwhile.
	putConfigMap(t, c, configMap("greeter", nil, map[string]string{"level": "warn"}))
	second.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
	select {
	case kvs := <-next:
		if len(kvs) != 1 || string(kvs[0].Value) != "warn" {
			t.Errorf("Next = %v", kvs)
		}
	case <-time.After(wait):
		t.Fatal("Next did not return after 410")
	}

	// Any other error event is returned, naming the stream; the next
	// watch starts from the version listed after the 410.
	errs := make(chan error, 1)
	go func() {
		_, err := w.Next()
		errs <- err
	}()
	var third *watch.FakeWatcher
	select {
	case third = <-started:
	case <-time.After(wait):
		t.Fatal("no new watch after 410")
	}
	third.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 500, Message: "etcd is down"})
	if err := <-errs; err == nil || !strings.HasPrefix(err.Error(), "kubernetes: watch configmaps") {
		t.Errorf("Next after an error event: %v", err)
	}
	if len(versions) != 3 || versions[2] == "" || versions[2] == versions[0] {
		t.Errorf("watches from versions %q, want the third from the list after the 410", versions)
	}
}

func TestErrors(t *testing.T) {
	c := fake.NewClientset()
	tests := []struct {
		name string
		src  config.Source
		want string
	}{
		{"nil client", zk8s.NewSource(nil, zk8s.WithConfigMap("x")), "kubernetes: nil client"},
		{"nothing", zk8s.NewSource(c), "kubernetes: nothing to read"},
		{"selector", zk8s.NewSource(c, zk8s.WithSecretSelector("app in (")), `kubernetes: secrets selector "app in ("`},
		{"missing secret", zk8s.NewSource(c, zk8s.WithSecret("db")), "kubernetes: secret default/db not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.src.Load(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Load: %v, want %q", err, tc.want)
			}
			if tc.name == "missing secret" {
				return // watchable: it may be created later
			}
			if _, err := tc.src.Watch(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("Watch: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	src := zk8s.NewSource(fake.NewClientset(), zk8s.WithNamespace(ns), zk8s.WithConfigMap("a"), zk8s.WithSecretSelector("app=x"))
	if got := src.(interface{ String() string }).String(); got != "kubernetes prod configmaps/a,secrets{app=x}" {
		t.Errorf("String() = %q", got)
	}
}
