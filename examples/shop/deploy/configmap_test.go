package deploy

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// update rewrites the ConfigMaps in k8s/ from the services' configs:
//
//	go test -run TestConfigMapsMatchServiceConfigs -update
var update = flag.Bool("update", false, "rewrite the k8s ConfigMaps from the services' configs/")

// configFile names a workload's config file (the ConfigMap key) and where
// the service keeps it.
func configFile(workload string) (key, source string) {
	key = "config.yaml"
	if workload == "gateway" {
		key = "gateway.yaml"
	}
	return key, filepath.Join(repoRoot, "examples/shop", workload, "configs", key)
}

// containerDefault matches the placeholders whose defaults differ in a
// container: the standalone defaults (ports 8001..., admin on loopback,
// ./data, the in-memory registry) become the contract's container ones.
var containerDefault = regexp.MustCompile(`\$\{(HTTP_ADDR|GATEWAY_ADDR|GRPC_ADDR|ADMIN_ADDR|DATA_DIR|REGISTRY)(:[^}]*)?\}`)

// inCluster turns a service's config into its ConfigMap's: the same file,
// with the container defaults, so the ConfigMap is right even without the
// Deployment's env.
func inCluster(config string) string {
	defaults := map[string]string{
		"HTTP_ADDR":    "0.0.0.0:8000",
		"GATEWAY_ADDR": "0.0.0.0:8000", // the gateway's public listener
		"GRPC_ADDR":    "0.0.0.0:9000",
		"ADMIN_ADDR":   "0.0.0.0:9090",
		"DATA_DIR":     "/data",
		"REGISTRY":     "etcd://etcd:2379",
	}
	return containerDefault.ReplaceAllStringFunc(config, func(m string) string {
		name := containerDefault.FindStringSubmatch(m)[1]
		return "${" + name + ":" + defaults[name] + "}"
	})
}

// replaceBlock replaces the literal block "  key: |" of a manifest's text
// with content, indented four spaces.
func replaceBlock(manifest, key, content string) (string, bool) {
	lines := strings.Split(manifest, "\n")
	head := "  " + key + ": |"
	for i, l := range lines {
		if l != head {
			continue
		}
		end := i + 1
		for end < len(lines) && (lines[end] == "" || strings.HasPrefix(lines[end], "    ")) {
			end++
		}
		// Trailing blank lines belong to what follows the block.
		for end > i+1 && lines[end-1] == "" {
			end--
		}
		var block []string
		for _, c := range strings.Split(strings.TrimRight(content, "\n"), "\n") {
			if c != "" {
				c = "    " + c
			}
			block = append(block, c)
		}
		out := append(append(append([]string{}, lines[:i+1]...), block...), lines[end:]...)
		return strings.Join(out, "\n"), true
	}
	return manifest, false
}

// TestConfigMapsMatchServiceConfigs: each workload's ConfigMap is its
// service's configs/ file with the container defaults. The services scan
// their config strictly, so a ConfigMap out of step with the code would
// stop the pod; this test names the fix (-update).
func TestConfigMapsMatchServiceConfigs(t *testing.T) {
	for _, name := range shopWorkloads() {
		t.Run(name, func(t *testing.T) {
			key, source := configFile(name)
			requireWritten(t, source)
			src, err := os.ReadFile(source)
			if err != nil {
				t.Fatalf("the service's config: %v", err)
			}
			want := inCluster(string(src))
			manifest := filepath.Join(k8sDir, name+".yaml")
			if *update {
				text, err := os.ReadFile(manifest)
				if err != nil {
					t.Fatal(err)
				}
				out, ok := replaceBlock(string(text), key, want)
				if !ok {
					t.Fatalf("%s has no %q block", manifest, key)
				}
				if err := os.WriteFile(manifest, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cm := configMapByName(loadObjects(t), name+"-config")
			if cm == nil {
				t.Fatalf("no ConfigMap %s-config", name)
			}
			if got := cm.Data[key]; strings.TrimRight(got, "\n") != strings.TrimRight(want, "\n") {
				t.Errorf("ConfigMap %s-config %s differs from %s with the container defaults; run\n"+
					"\tgo test -run TestConfigMapsMatchServiceConfigs -update\ngot:\n%s\nwant:\n%s", name, key, source, got, want)
			}
		})
	}
}

// TestEnvIsRead: every variable a Deployment sets for the service is a
// placeholder its config reads, so none is set for nothing. The runtime's
// and the OpenTelemetry SDK's own variables are read by them directly.
func TestEnvIsRead(t *testing.T) {
	objs := loadObjects(t)
	deps, _ := ofType[*appsv1.Deployment](objs)
	for _, d := range deps {
		t.Run(d.Name, func(t *testing.T) {
			key, source := configFile(d.Name)
			requireWritten(t, source)
			cm := configMapByName(objs, d.Name+"-config")
			if cm == nil {
				t.Fatalf("no ConfigMap %s-config", d.Name)
			}
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.Name == "GOMEMLIMIT" || strings.HasPrefix(e.Name, "OTEL_") {
					continue
				}
				if !strings.Contains(cm.Data[key], "${"+e.Name+":") && !strings.Contains(cm.Data[key], "${"+e.Name+"}") {
					t.Errorf("env %s is set, but %s has no ${%s} placeholder", e.Name, key, e.Name)
				}
			}
		})
	}
}

func TestInClusterAndReplaceBlock(t *testing.T) {
	t.Run("inCluster", func(t *testing.T) {
		got := inCluster("a: ${HTTP_ADDR:0.0.0.0:8001}\nb: ${ADMIN_ADDR:127.0.0.1:9091}\nc: ${REGISTRY}\nd: ${JWT_SECRET:x}\n")
		want := "a: ${HTTP_ADDR:0.0.0.0:8000}\nb: ${ADMIN_ADDR:0.0.0.0:9090}\nc: ${REGISTRY:etcd://etcd:2379}\nd: ${JWT_SECRET:x}\n"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("replaceBlock", func(t *testing.T) {
		in := "data:\n  config.yaml: |\n    old: 1\n\n    more: 2\n\n---\nnext: doc\n"
		got, ok := replaceBlock(in, "config.yaml", "new: 1\n\nx: 2\n")
		want := "data:\n  config.yaml: |\n    new: 1\n\n    x: 2\n\n---\nnext: doc\n"
		if !ok || got != want {
			t.Errorf("got %v\n%q\nwant\n%q", ok, got, want)
		}
		if _, ok := replaceBlock(in, "gateway.yaml", "x"); ok {
			t.Error("replaced a block that is not there")
		}
	})
}
