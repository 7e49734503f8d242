package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// compose is the part of the Compose specification docker-compose.yaml
// uses. It is decoded with KnownFields, so a key outside it (a typo, or a
// feature nobody checked here) fails the test.
type compose struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]*struct{}      `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Deploy *struct {
		Replicas int `yaml:"replicas"`
	} `yaml:"deploy"`
	Healthcheck *struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
		Timeout  string   `yaml:"timeout"`
		Retries  int      `yaml:"retries"`
	} `yaml:"healthcheck"`
	Restart string `yaml:"restart"`
}

// decodeKnown decodes YAML into v with unknown keys an error.
func decodeKnown(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readCompose(t *testing.T) compose {
	t.Helper()
	var c compose
	decodeKnown(t, "docker-compose.yaml", &c)
	return c
}

// TestCompose: each shop service is its own container built from its
// Dockerfile, with the contract's env, product twice, and etcd,
// Prometheus and the trace pipeline beside them.
func TestCompose(t *testing.T) {
	c := readCompose(t)
	for _, name := range shopWorkloads() {
		t.Run(name, func(t *testing.T) {
			s, ok := c.Services[name]
			if !ok {
				t.Fatalf("no service %q", name)
			}
			if s.Build == nil {
				t.Fatal("not built from a Dockerfile")
			}
			// The context is the repository root: the shop's go.mod
			// replaces the Zelos modules with relative paths.
			if filepath.Clean(s.Build.Context) != filepath.Clean(repoRoot) {
				t.Errorf("build context %q, want the repository root %q", s.Build.Context, repoRoot)
			}
			want := filepath.Join("examples/shop", name, "Dockerfile")
			if s.Build.Dockerfile != want {
				t.Errorf("dockerfile %q, want %q", s.Build.Dockerfile, want)
			}
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("dockerfile: %v", err)
			}
			env := map[string]string{
				"REGISTRY":                    "etcd://etcd:2379",
				listenEnv(name):               "0.0.0.0:8000",
				"ADMIN_ADDR":                  "0.0.0.0:9090",
				"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4317",
			}
			if name != "gateway" {
				env["GRPC_ADDR"] = "0.0.0.0:9000"
			}
			if keepsData(name) {
				env["DATA_DIR"] = "/data"
				if !slices.Contains(s.Volumes, "shop-data:/data") {
					t.Errorf("volumes %v, want shop-data:/data for the SQLite files", s.Volumes)
				}
			}
			for k, v := range env {
				if s.Environment[k] != v {
					t.Errorf("environment %s = %q, want %q", k, s.Environment[k], v)
				}
			}
			if s.DependsOn["etcd"].Condition != "service_healthy" {
				t.Errorf("depends_on etcd %+v, want condition service_healthy", s.DependsOn["etcd"])
			}
		})
	}
	if p := c.Services["product"].Deploy; p == nil || p.Replicas != 2 {
		t.Errorf("product deploy %+v, want replicas: 2", p)
	}
	for name, s := range c.Services {
		if singleton(name) && s.Deploy != nil && s.Deploy.Replicas > 1 {
			t.Errorf("%s has %d replicas: its rooms live in one process", name, s.Deploy.Replicas)
		}
	}
	if g := c.Services["gateway"]; !slices.Contains(g.Ports, "8000:8000") {
		t.Errorf("gateway ports %v, want 8000:8000 published", g.Ports)
	}
	if e := c.Services["etcd"]; !strings.HasPrefix(e.Image, "quay.io/coreos/etcd:v3.6") || e.Healthcheck == nil {
		t.Errorf("etcd image %q healthcheck %v, want quay.io/coreos/etcd:v3.6.x with a healthcheck", e.Image, e.Healthcheck)
	}
	for name, s := range c.Services {
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on %q, which is no service", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s mounts volume %q, which is not declared", name, src)
			}
		}
	}
	for _, name := range []string{"prometheus", "otel-collector", "jaeger"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no service %q", name)
		}
	}
}

// prometheusConfig is the part of prometheus.yml the shop uses.
type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		DNSSDConfigs []struct {
			Names           []string `yaml:"names"`
			Type            string   `yaml:"type"`
			Port            int      `yaml:"port"`
			RefreshInterval string   `yaml:"refresh_interval"`
		} `yaml:"dns_sd_configs"`
		RelabelConfigs []struct {
			SourceLabels []string `yaml:"source_labels"`
			TargetLabel  string   `yaml:"target_label"`
		} `yaml:"relabel_configs"`
	} `yaml:"scrape_configs"`
}

// TestPrometheusScrapesEveryAdminPort: every shop container's admin port,
// each product replica included (DNS discovery gives one target per
// container).
func TestPrometheusScrapesEveryAdminPort(t *testing.T) {
	var p prometheusConfig
	decodeKnown(t, "prometheus/prometheus.yml", &p)
	scraped := map[string]bool{}
	for _, sc := range p.ScrapeConfigs {
		for _, d := range sc.DNSSDConfigs {
			if d.Port == adminPort && sc.MetricsPath == "/metrics" {
				for _, n := range d.Names {
					scraped[n] = true
				}
			}
		}
	}
	for _, name := range shopWorkloads() {
		if !scraped[name] {
			t.Errorf("%s:%d/metrics is not scraped", name, adminPort)
		}
	}
	c := readCompose(t)
	if !slices.Contains(c.Services["prometheus"].Volumes, "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro") {
		t.Errorf("prometheus volumes %v do not mount ./prometheus/prometheus.yml", c.Services["prometheus"].Volumes)
	}
}

// TestPromtoolCheckConfig runs promtool on the config when it is on PATH
// (Debian's prometheus package has it).
func TestPromtoolCheckConfig(t *testing.T) {
	if out := runIfPresent(t, "promtool", "check", "config", "prometheus/prometheus.yml"); !bytes.Contains(out, []byte("SUCCESS")) {
		t.Errorf("promtool printed %s", out)
	}
}

// collectorConfig is the part of the OpenTelemetry collector's config the
// shop uses.
type collectorConfig struct {
	Extensions map[string]struct {
		Endpoint string `yaml:"endpoint"`
	} `yaml:"extensions"`
	Receivers struct {
		OTLP struct {
			Protocols map[string]struct {
				Endpoint string `yaml:"endpoint"`
			} `yaml:"protocols"`
		} `yaml:"otlp"`
	} `yaml:"receivers"`
	Processors map[string]map[string]any `yaml:"processors"`
	Exporters  map[string]map[string]any `yaml:"exporters"`
	Service    struct {
		Extensions []string `yaml:"extensions"`
		Pipelines  map[string]struct {
			Receivers  []string `yaml:"receivers"`
			Processors []string `yaml:"processors"`
			Exporters  []string `yaml:"exporters"`
		} `yaml:"pipelines"`
	} `yaml:"service"`
}

// TestCollectorReceivesTraces: the collector takes OTLP/gRPC on 4317,
// where the services send, and every component a pipeline names is
// configured.
func TestCollectorReceivesTraces(t *testing.T) {
	var cc collectorConfig
	decodeKnown(t, "otel/collector.yaml", &cc)
	if ep := cc.Receivers.OTLP.Protocols["grpc"].Endpoint; !strings.HasSuffix(ep, ":4317") {
		t.Errorf("OTLP gRPC receiver on %q, want :4317", ep)
	}
	traces, ok := cc.Service.Pipelines["traces"]
	if !ok {
		t.Fatal("no traces pipeline")
	}
	if !slices.Equal(traces.Receivers, []string{"otlp"}) {
		t.Errorf("traces receivers %v, want [otlp]", traces.Receivers)
	}
	for _, p := range traces.Processors {
		if _, ok := cc.Processors[p]; !ok {
			t.Errorf("processor %q is not configured", p)
		}
	}
	for _, e := range traces.Exporters {
		if _, ok := cc.Exporters[e]; !ok {
			t.Errorf("exporter %q is not configured", e)
		}
	}
	c := readCompose(t)
	if ep, _ := cc.Exporters["otlp/jaeger"]["endpoint"].(string); ep != "jaeger:4317" {
		t.Errorf("otlp/jaeger exporter endpoint %q, want jaeger:4317", ep)
	}
	if !slices.Contains(c.Services["otel-collector"].Volumes, "./otel/collector.yaml:/etc/otelcol/collector.yaml:ro") {
		t.Errorf("otel-collector volumes %v do not mount ./otel/collector.yaml", c.Services["otel-collector"].Volumes)
	}
}
