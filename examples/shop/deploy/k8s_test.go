package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	sigsyaml "sigs.k8s.io/yaml"
)

// The shop contract's ports and drain, which the manifests must match.
const (
	httpPort  = 8000 // HTTP, and the probes
	grpcPort  = 9000
	adminPort = 9090 // /metrics, and the probes again

	contractDrain = 5 * time.Second  // server.drain_delay
	contractStop  = 10 * time.Second // server.stop_timeout

	zelosDefaultStop = 30 * time.Second // zelos.StopTimeout's default
)

// shopWorkloads are the Deployments of the shop contract; all but the
// gateway serve gRPC.
func shopWorkloads() []string { return []string{"user", "product", "order", "chat", "gateway"} }

// listenEnv names the variable of a workload's public HTTP address: the
// gateway's config reads GATEWAY_ADDR, so that an HTTP_ADDR meant for a
// service in the same environment (the one-process shop) never moves it.
func listenEnv(workload string) string {
	if workload == "gateway" {
		return "GATEWAY_ADDR"
	}
	return "HTTP_ADDR"
}

// singleton reports whether a workload must run as one instance: chat's
// rooms live in one process (examples/shop/chat/app.go), so two instances
// would split every room. It has no HPA.
func singleton(workload string) bool { return workload == "chat" }

// keepsData reports whether a workload has a database (chat's rooms live
// in memory, the gateway keeps nothing).
func keepsData(workload string) bool {
	return workload == "user" || workload == "product" || workload == "order"
}

// containerPort resolves a probe's or a Service's port (a number or a
// container port's name) against a container.
func containerPort(c corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

// envValue returns a container's plain env value, "" when unset or taken
// from a reference.
func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// placeholder matches a config value's ${NAME:default}.
var placeholder = regexp.MustCompile(`^\$\{([A-Z0-9_]+)(?::([^}]*))?\}$`)

// resolve gives a config value as the service sees it: a ${NAME:default}
// placeholder takes the container's env value, else its default.
func resolve(v string, c corev1.Container) string {
	m := placeholder.FindStringSubmatch(v)
	if m == nil {
		return v
	}
	if e := envValue(c, m[1]); e != "" {
		return e
	}
	return m[2]
}

// configDurations reads the drain delay and the stop timeout from a
// service's mounted config: server.drain_delay and server.stop_timeout, or
// drain_delay at the top of the gateway's. inConfig reports a drain delay
// found; stop is the App's default when the config has none.
func configDurations(t *testing.T, cm *corev1.ConfigMap, c corev1.Container) (drain, stop time.Duration, inConfig bool) {
	t.Helper()
	stop = zelosDefaultStop
	if cm == nil {
		return drain, stop, false
	}
	for _, data := range cm.Data {
		var conf map[string]any
		if err := sigsyaml.Unmarshal([]byte(data), &conf); err != nil {
			t.Fatalf("ConfigMap %s: %v", cm.Name, err)
		}
		block := conf
		if server, ok := conf["server"].(map[string]any); ok {
			block = server
		}
		for key, d := range map[string]*time.Duration{"drain_delay": &drain, "stop_timeout": &stop} {
			s, ok := block[key].(string)
			if !ok {
				continue
			}
			v, err := time.ParseDuration(resolve(s, c))
			if err != nil {
				t.Fatalf("ConfigMap %s: %s: %v", cm.Name, key, err)
			}
			*d = v
			if key == "drain_delay" {
				inConfig = true
			}
		}
	}
	return drain, stop, inConfig
}

// podTemplate is what the checks need of a Deployment or a StatefulSet.
type podTemplate struct {
	kind, name string
	labels     map[string]string
	spec       corev1.PodSpec
}

func podTemplates(objs []object) []podTemplate {
	var out []podTemplate
	for _, o := range objs {
		switch w := o.obj.(type) {
		case *appsv1.Deployment:
			out = append(out, podTemplate{"Deployment", w.Name, w.Spec.Template.Labels, w.Spec.Template.Spec})
		case *appsv1.StatefulSet:
			out = append(out, podTemplate{"StatefulSet", w.Name, w.Spec.Template.Labels, w.Spec.Template.Spec})
		}
	}
	return out
}

func configMapByName(objs []object, name string) *corev1.ConfigMap {
	cms, _ := ofType[*corev1.ConfigMap](objs)
	for _, cm := range cms {
		if cm.Name == name {
			return cm
		}
	}
	return nil
}

// TestDeployments checks each shop Deployment against the contract:
// probes, ports, drain, resources, security and the registry.
func TestDeployments(t *testing.T) {
	objs := loadObjects(t)
	deps, _ := ofType[*appsv1.Deployment](objs)
	byName := map[string]*appsv1.Deployment{}
	for _, d := range deps {
		byName[d.Name] = d
	}
	for _, name := range shopWorkloads() {
		t.Run(name, func(t *testing.T) {
			d := byName[name]
			if d == nil {
				t.Fatalf("no Deployment %q", name)
			}
			pod := d.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1 (the sidecar is injected)", len(pod.Containers))
			}
			c := pod.Containers[0]
			sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
			if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("selector %v does not select the pod labels %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
			}

			wantPorts := map[string]int32{"http": httpPort, "admin": adminPort}
			if name != "gateway" {
				wantPorts["grpc"] = grpcPort
			}
			for pname, num := range wantPorts {
				cp, ok := containerPort(c, intstr.FromString(pname))
				if !ok || cp.ContainerPort != num {
					t.Errorf("container port %q = %+v, want %d", pname, cp, num)
				}
			}

			probes := []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}}
			for _, p := range probes {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("%s probe: none, or not httpGet", p.name)
					continue
				}
				cp, ok := containerPort(c, p.probe.HTTPGet.Port)
				if p.probe.HTTPGet.Path != p.path || !ok || cp.Name != "http" || cp.ContainerPort != httpPort {
					t.Errorf("%s probe GET %s on %s (%+v), want %s on the port named http = %d",
						p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), cp, p.path, httpPort)
				}
			}
			if sp := c.StartupProbe; sp != nil && (sp.HTTPGet == nil || sp.HTTPGet.Path != "/healthz") {
				t.Errorf("startup probe %+v, want GET /healthz", sp)
			}

			// Drain: readiness must fail within the drain delay, and the
			// kubelet must wait for the drain and the graceful stop.
			_, source := configFile(name)
			requireWritten(t, source)
			drain, stop, inConfig := configDurations(t, configMapByName(objs, name+"-config"), c)
			// The services' stop timeout is the contract's; the gateway's
			// is the App's default, which its config does not change.
			wantStop := contractStop
			if name == "gateway" {
				wantStop = zelosDefaultStop
			}
			if !inConfig || drain != contractDrain || stop != wantStop {
				t.Errorf("config drain %v (set: %v) stop %v, want %v and %v", drain, inConfig, stop, contractDrain, wantStop)
			}
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
				t.Errorf("preStop %+v: the drain is in the process, a preStop would add to it", c.Lifecycle.PreStop)
			}
			grace := time.Duration(0)
			if pod.TerminationGracePeriodSeconds != nil {
				grace = time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
			}
			if grace <= drain+stop {
				t.Errorf("terminationGracePeriodSeconds %v, want more than drain %v + stop %v", grace, drain, stop)
			}
			if rp := c.ReadinessProbe; rp != nil {
				notReady := time.Duration(rp.PeriodSeconds*rp.FailureThreshold) * time.Second
				if rp.PeriodSeconds != 2 || rp.FailureThreshold != 1 || notReady >= drain {
					t.Errorf("readiness every %ds, %d failures: out of endpoints after %v, want every 2 s, 1 failure (< drain %v)",
						rp.PeriodSeconds, rp.FailureThreshold, notReady, drain)
				}
			}

			for _, env := range []struct{ name, want string }{
				{"REGISTRY", "etcd://etcd:2379"}, {listenEnv(name), "0.0.0.0:8000"}, {"ADMIN_ADDR", "0.0.0.0:9090"},
			} {
				if got := envValue(c, env.name); got != env.want {
					t.Errorf("env %s = %q, want %q", env.name, got, env.want)
				}
			}
			if name != "gateway" {
				if got := envValue(c, "GRPC_ADDR"); got != "0.0.0.0:9000" {
					t.Errorf("env GRPC_ADDR = %q, want 0.0.0.0:9000", got)
				}
			}
			if keepsData(name) {
				dataDir := envValue(c, "DATA_DIR")
				if !mountedEmptyDir(pod, c, dataDir) {
					t.Errorf("DATA_DIR %q is not an emptyDir mount (the root file system is read-only)", dataDir)
				}
			}
			checkResources(t, c)
			checkSecurity(t, pod, c)
		})
	}
}

// mountedEmptyDir reports whether path is a writable emptyDir mount of c.
func mountedEmptyDir(pod corev1.PodSpec, c corev1.Container, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath != path || m.ReadOnly {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.EmptyDir != nil {
				return true
			}
		}
	}
	return false
}

func checkResources(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.IsZero() {
			t.Errorf("container %s: %s request %v limit %v, want both set", c.Name, r, req.String(), lim.String())
		} else if req.Cmp(lim) > 0 {
			t.Errorf("container %s: %s request %v above limit %v", c.Name, r, req.String(), lim.String())
		}
	}
}

func checkSecurity(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Errorf("pod securityContext.runAsNonRoot is not true")
	}
	if psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0 {
		t.Errorf("pod securityContext.runAsUser is 0")
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
	}
}

// TestStatefulSets holds the registry and the database to the same
// resources and security as the services.
func TestStatefulSets(t *testing.T) {
	sets, _ := ofType[*appsv1.StatefulSet](loadObjects(t))
	if len(sets) == 0 {
		t.Fatal("no StatefulSet (etcd)")
	}
	for _, s := range sets {
		t.Run(s.Name, func(t *testing.T) {
			for _, c := range s.Spec.Template.Spec.Containers {
				checkResources(t, c)
				checkSecurity(t, s.Spec.Template.Spec, c)
				if c.ReadinessProbe == nil || c.LivenessProbe == nil {
					t.Errorf("container %s: readiness %v liveness %v, want both", c.Name, c.ReadinessProbe, c.LivenessProbe)
				}
			}
		})
	}
}

// TestEveryDeploymentHasPDBAndHPA: a PodDisruptionBudget selecting its
// pods that still lets a node drain, and an autoscaling/v2 HPA on CPU 70%.
// A singleton (chat) has one replica, a PDB that lets its pod be evicted
// and no HPA.
func TestEveryDeploymentHasPDBAndHPA(t *testing.T) {
	objs := loadObjects(t)
	deps, _ := ofType[*appsv1.Deployment](objs)
	pdbs, _ := ofType[*policyv1.PodDisruptionBudget](objs)
	hpas, _ := ofType[*autoscalingv2.HorizontalPodAutoscaler](objs)
	for _, d := range deps {
		t.Run(d.Name, func(t *testing.T) {
			var pdb *policyv1.PodDisruptionBudget
			for _, p := range pdbs {
				sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
				if err == nil && !sel.Empty() && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
					pdb = p
				}
			}
			var hpa *autoscalingv2.HorizontalPodAutoscaler
			for _, h := range hpas {
				ref := h.Spec.ScaleTargetRef
				if ref.APIVersion == "apps/v1" && ref.Kind == "Deployment" && ref.Name == d.Name {
					hpa = h
				}
			}
			if pdb == nil {
				t.Fatal("no PodDisruptionBudget selects its pods")
			}
			if singleton(d.Name) {
				if hpa != nil || d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
					t.Errorf("replicas %v, HPA %v: a singleton runs one replica and has no HPA", d.Spec.Replicas, hpa != nil)
				}
				if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
					t.Errorf("PDB minAvailable %v maxUnavailable %v, want maxUnavailable 1: a node drain must be able to evict the one pod",
						pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
				}
				return
			}
			if hpa == nil {
				t.Fatal("no HorizontalPodAutoscaler scales it")
			}
			if d.Spec.Replicas != nil {
				t.Errorf("replicas %d set: the HPA owns the count, and apply would reset it", *d.Spec.Replicas)
			}
			minReplicas := int32(1)
			if hpa.Spec.MinReplicas != nil {
				minReplicas = *hpa.Spec.MinReplicas
			}
			if minReplicas < 2 || hpa.Spec.MaxReplicas < minReplicas {
				t.Errorf("HPA replicas %d..%d, want at least 2 and max >= min", minReplicas, hpa.Spec.MaxReplicas)
			}
			if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() >= int(minReplicas) {
				t.Errorf("PDB minAvailable %v with %d replicas: a node drain could never evict a pod", pdb.Spec.MinAvailable, minReplicas)
			}
			cpu70 := false
			for _, m := range hpa.Spec.Metrics {
				if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
					m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil &&
					*m.Resource.Target.AverageUtilization == 70 {
					cpu70 = true
				}
			}
			if !cpu70 {
				t.Errorf("HPA metrics %+v, want CPU utilization 70%%", hpa.Spec.Metrics)
			}
		})
	}
}

// TestServices: every Service selects a workload, its target ports are
// that workload's container ports, and the ports are named and typed so
// Istio sees HTTP as HTTP and gRPC as gRPC.
func TestServices(t *testing.T) {
	objs := loadObjects(t)
	svcs, _ := ofType[*corev1.Service](objs)
	pods := podTemplates(objs)
	seen := map[string]bool{}
	for _, s := range svcs {
		seen[s.Name] = true
		t.Run(s.Name, func(t *testing.T) {
			var pod *podTemplate
			for i := range pods {
				if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pods[i].labels)) {
					pod = &pods[i]
				}
			}
			if pod == nil {
				t.Fatalf("selector %v selects no workload", s.Spec.Selector)
			}
			for _, p := range s.Spec.Ports {
				found := false
				for _, c := range pod.spec.Containers {
					if cp, ok := containerPort(c, p.TargetPort); ok && cp.Protocol != corev1.ProtocolUDP {
						found = true
					}
				}
				if !found {
					t.Errorf("port %s: targetPort %s is no container port of %s %s", p.Name, p.TargetPort.String(), pod.kind, pod.name)
				}
				want := map[int32]struct{ name, proto string }{
					httpPort: {"http", "http"}, grpcPort: {"grpc", "grpc"}, adminPort: {"http-admin", "http"},
				}[p.Port]
				if want.name == "" {
					continue
				}
				if p.Name != want.name || p.AppProtocol == nil || *p.AppProtocol != want.proto {
					t.Errorf("port %d named %q appProtocol %v, want %q appProtocol %q", p.Port, p.Name, p.AppProtocol, want.name, want.proto)
				}
			}
		})
	}
	for _, name := range append(shopWorkloads(), "etcd", "postgres") {
		if !seen[name] {
			t.Errorf("no Service %q", name)
		}
	}
}

// TestReferences: every Secret key a container reads is in the example
// Secrets, every ConfigMap a pod mounts exists, and the Secrets are not
// applied by kustomize with everything else.
func TestReferences(t *testing.T) {
	objs := loadObjects(t)
	secrets := map[string]map[string]bool{}
	secs, from := ofType[*corev1.Secret](objs)
	for i, s := range secs {
		if !strings.HasSuffix(from[i].file, ".example.yaml") {
			t.Errorf("%s: Secret %s outside an .example.yaml file: real secrets are not committed", from[i], s.Name)
		}
		keys := map[string]bool{}
		for k := range s.StringData {
			keys[k] = true
		}
		for k := range s.Data {
			keys[k] = true
		}
		secrets[s.Name] = keys
	}
	for _, pod := range podTemplates(objs) {
		for _, c := range pod.spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				if !secrets[ref.Name][ref.Key] {
					t.Errorf("%s %s: env %s reads secret %s key %s, which secret.example.yaml lacks", pod.kind, pod.name, e.Name, ref.Name, ref.Key)
				}
			}
		}
		for _, v := range pod.spec.Volumes {
			if v.ConfigMap != nil && configMapByName(objs, v.ConfigMap.Name) == nil {
				t.Errorf("%s %s: volume %s mounts ConfigMap %s, which does not exist", pod.kind, pod.name, v.Name, v.ConfigMap.Name)
			}
		}
	}
	// The contract's references: the DSN and the JWT key.
	deps, _ := ofType[*appsv1.Deployment](objs)
	for _, d := range deps {
		want := map[string]string{}
		if keepsData(d.Name) {
			want["DATABASE_DSN"] = "db-secret/dsn"
		}
		if d.Name == "user" || d.Name == "gateway" {
			want["JWT_SECRET"] = "jwt-secret/key"
		}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			if w, ok := want[e.Name]; ok {
				if r := e.ValueFrom; r != nil && r.SecretKeyRef != nil && r.SecretKeyRef.Name+"/"+r.SecretKeyRef.Key == w {
					delete(want, e.Name)
				}
			}
		}
		for env, ref := range want {
			t.Errorf("Deployment %s: env %s is not read from secret %s", d.Name, env, ref)
		}
	}
}

// readKustomization decodes dir's kustomization.yaml strictly.
func readKustomization(t *testing.T, dir string) kustomization {
	t.Helper()
	data, err := os.ReadFile(dir + "/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := decodeStrict(data, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	return k
}

// kustomizedFiles returns the files dir's kustomization reaches, through
// the directories it lists.
func kustomizedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for _, r := range readKustomization(t, dir).Resources {
		path := dir + "/" + r
		st, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s/kustomization.yaml: resource %s: %v", dir, r, err)
			continue
		}
		if st.IsDir() {
			files = append(files, path+"/kustomization.yaml")
			files = append(files, kustomizedFiles(t, path)...)
		} else {
			files = append(files, path)
		}
	}
	return files
}

// TestKustomizationListsEverything: kubectl apply -k applies every
// manifest but the example Secrets, in the shop namespace.
func TestKustomizationListsEverything(t *testing.T) {
	k := readKustomization(t, k8sDir)
	if k.Namespace != "shop" {
		t.Errorf("namespace %q, want shop", k.Namespace)
	}
	listed := map[string]bool{k8sDir + "/kustomization.yaml": true}
	for _, f := range kustomizedFiles(t, k8sDir) {
		listed[f] = true
	}
	for _, f := range manifestFiles(t) {
		example := strings.HasSuffix(f, ".example.yaml")
		switch {
		case example && listed[f]:
			t.Errorf("%s is listed: example Secrets must not be applied with the rest", f)
		case !example && !listed[f]:
			t.Errorf("%s is in no kustomization.yaml", f)
		}
	}
	nss, _ := ofType[*corev1.Namespace](loadObjects(t))
	if len(nss) != 1 || nss[0].Name != "shop" || nss[0].Labels["istio-injection"] != "enabled" {
		t.Errorf("namespaces %v, want shop with istio-injection=enabled", nss)
	}
}

// TestKustomizeBuild renders the kustomization with kubectl, when it is on
// PATH, and decodes what it prints as strictly as the files.
func TestKustomizeBuild(t *testing.T) {
	// The kustomization uses labels:, which kustomize 4.1 brought; an old
	// kubectl (Debian's kubernetes-client 1.20 has kustomize 2) would
	// fail on it for its own age, not for the files.
	var v struct {
		KustomizeVersion string `json:"kustomizeVersion"`
	}
	if err := json.Unmarshal(runIfPresent(t, "kubectl", "version", "--client", "-o", "json"), &v); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.KustomizeVersion, "v5.") {
		t.Skipf("kubectl's kustomize is %q, not v5: skipped", v.KustomizeVersion)
	}
	out := runIfPresent(t, "kubectl", "kustomize", k8sDir)
	n := 0
	for i, doc := range splitDocs(out) {
		v, err := decodeObject(doc)
		if err != nil {
			t.Errorf("rendered document %d: %v", i, err)
			continue
		}
		n++
		meta, err := metaOf(v)
		if err != nil {
			t.Fatal(err)
		}
		if _, ns := v.(*corev1.Namespace); !ns && meta.Namespace != "shop" {
			t.Errorf("%T %s in namespace %q, want shop", v, meta.Name, meta.Namespace)
		}
		if meta.Labels["app.kubernetes.io/part-of"] != "zelos-shop" {
			t.Errorf("%T %s lacks the label app.kubernetes.io/part-of=zelos-shop", v, meta.Name)
		}
	}
	if n == 0 {
		t.Fatal("kubectl kustomize printed no object")
	}
}

// metaOf returns an object's metadata.
func metaOf(v any) (*metav1.ObjectMeta, error) {
	if m, ok := v.(interface{ GetObjectMeta() metav1.Object }); ok {
		if om, ok := m.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return om, nil
		}
	}
	return nil, fmt.Errorf("%T has no ObjectMeta", v)
}
