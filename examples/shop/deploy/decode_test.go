package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	istionet "istio.io/client-go/pkg/apis/networking/v1"
	istiosec "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// k8sDir holds the Kubernetes and Istio manifests, relative to this module.
const k8sDir = "k8s"

// object is one decoded document of a manifest file.
type object struct {
	file string // path relative to this module, such as k8s/user.yaml
	doc  int    // index of the document in the file, from 0
	obj  any    // *appsv1.Deployment, *istionet.VirtualService, ...
}

func (o object) String() string { return fmt.Sprintf("%s#%d", o.file, o.doc) }

// docSeparator splits multi-document YAML: a line that is "---", alone or
// followed by a comment.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*(?:#.*)?$`)

// splitDocs returns the documents of a YAML stream that hold more than
// comments and blank lines.
func splitDocs(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSeparator.Split(string(data), -1) {
		for _, line := range strings.Split(d, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, []byte(d))
				break
			}
		}
	}
	return docs
}

// decodeStrict decodes one YAML document into v, with an unknown or
// duplicated field an error (sigs.k8s.io/yaml: YAML to JSON, then
// encoding/json with DisallowUnknownFields).
func decodeStrict(doc []byte, v any) error {
	return sigsyaml.UnmarshalStrict(doc, v)
}

// istioEnvelope is an Istio object with its spec still undecoded: the spec
// is a protobuf message, which encoding/json cannot decode strictly.
type istioEnvelope struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              json.RawMessage `json:"spec"`
}

// decodeIstio decodes an Istio object: its envelope strictly with
// encoding/json, its spec with protojson, which refuses unknown fields
// (DiscardUnknown false) where the types' own UnmarshalJSON accepts them.
func decodeIstio(doc []byte, meta *metav1.ObjectMeta, spec proto.Message) error {
	j, err := sigsyaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var env istioEnvelope
	if err := dec.Decode(&env); err != nil {
		return err
	}
	if len(env.Spec) == 0 {
		return errors.New("no spec")
	}
	*meta = env.ObjectMeta
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(env.Spec, spec); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	return nil
}

// decodeObject decodes one manifest document into the API type of its
// apiVersion and kind. A kind this function does not know is an error:
// a manifest nobody checks is a manifest that may be wrong.
func decodeObject(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := sigsyaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	decodeK8s := func(v any) (any, error) { return v, decodeStrict(doc, v) }
	switch tm.APIVersion + " " + tm.Kind {
	case "v1 Namespace":
		return decodeK8s(new(corev1.Namespace))
	case "v1 ConfigMap":
		return decodeK8s(new(corev1.ConfigMap))
	case "v1 Secret":
		return decodeK8s(new(corev1.Secret))
	case "v1 Service":
		return decodeK8s(new(corev1.Service))
	case "apps/v1 Deployment":
		return decodeK8s(new(appsv1.Deployment))
	case "apps/v1 StatefulSet":
		return decodeK8s(new(appsv1.StatefulSet))
	case "policy/v1 PodDisruptionBudget":
		return decodeK8s(new(policyv1.PodDisruptionBudget))
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return decodeK8s(new(autoscalingv2.HorizontalPodAutoscaler))
	case "networking.istio.io/v1 VirtualService":
		v := new(istionet.VirtualService)
		v.TypeMeta = tm
		return v, decodeIstio(doc, &v.ObjectMeta, &v.Spec)
	case "networking.istio.io/v1 DestinationRule":
		v := new(istionet.DestinationRule)
		v.TypeMeta = tm
		return v, decodeIstio(doc, &v.ObjectMeta, &v.Spec)
	case "networking.istio.io/v1 Gateway":
		v := new(istionet.Gateway)
		v.TypeMeta = tm
		return v, decodeIstio(doc, &v.ObjectMeta, &v.Spec)
	case "security.istio.io/v1 PeerAuthentication":
		v := new(istiosec.PeerAuthentication)
		v.TypeMeta = tm
		return v, decodeIstio(doc, &v.ObjectMeta, &v.Spec)
	}
	return nil, fmt.Errorf("unknown kind %q of apiVersion %q", tm.Kind, tm.APIVersion)
}

// kustomization is the part of kustomize's Kustomization the shop uses;
// decoded strictly, so a field it does not list is an error here too.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

func isKustomization(path string) bool { return filepath.Base(path) == "kustomization.yaml" }

// manifestFiles lists the YAML files under k8s/, kustomizations included.
func manifestFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(k8sDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatalf("no manifests under %s", k8sDir)
	}
	return files
}

// loadObjects decodes every document of every manifest file under k8s/
// but the kustomizations, and fails the test on the first that does not
// decode.
func loadObjects(t *testing.T) []object {
	t.Helper()
	var objs []object
	for _, f := range manifestFiles(t) {
		if isKustomization(f) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocs(data) {
			v, err := decodeObject(doc)
			if err != nil {
				t.Fatalf("%s#%d: %v", f, i, err)
			}
			objs = append(objs, object{file: f, doc: i, obj: v})
		}
	}
	return objs
}

// ofType returns the objects of type T, with where each came from.
func ofType[T any](objs []object) ([]T, []object) {
	var out []T
	var from []object
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			out = append(out, v)
			from = append(from, o)
		}
	}
	return out, from
}

// TestManifestsDecodeStrictly decodes every manifest document into the
// k8s.io/api or istio.io types of its kind, unknown fields and unknown
// kinds an error, and every kustomization into kustomize's fields.
func TestManifestsDecodeStrictly(t *testing.T) {
	kinds := map[string]int{}
	for _, f := range manifestFiles(t) {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			docs := splitDocs(data)
			if len(docs) == 0 {
				t.Fatal("no document")
			}
			if isKustomization(f) {
				var k kustomization
				if err := decodeStrict(data, &k); err != nil {
					t.Fatal(err)
				}
				if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
					t.Fatalf("apiVersion %q kind %q, want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
				}
				return
			}
			for i, doc := range docs {
				v, err := decodeObject(doc)
				if err != nil {
					t.Errorf("document %d: %v", i, err)
					continue
				}
				kinds[fmt.Sprintf("%T", v)]++
			}
		})
	}
	// Every kind the brief names is there at least once.
	for _, k := range []string{
		"*v1.Namespace", "*v1.ConfigMap", "*v1.Secret", "*v1.Service", "*v1.Deployment", "*v1.StatefulSet",
		"*v1.PodDisruptionBudget", "*v2.HorizontalPodAutoscaler", "*v1.VirtualService", "*v1.DestinationRule",
	} {
		if kinds[k] == 0 {
			t.Errorf("no %s in the manifests (have %v)", k, kinds)
		}
	}
}

// TestDecodeRejects proves the decoding is strict: each document here is
// a plausible mistake, and each must fail.
func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"unknown kind", "apiVersion: v1\nkind: Servise\nmetadata: {name: x}\n", "unknown kind"},
		{"old apiVersion", "apiVersion: autoscaling/v1beta1\nkind: HorizontalPodAutoscaler\nmetadata: {name: x}\n", "unknown kind"},
		{"misspelt field in a Deployment", `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  template:
    spec:
      containers:
        - name: x
          readinessProbe:
            httpGet: {path: /readyz, port: 8000}
            periodSecond: 2
`, "unknown field"},
		{"field at the wrong level of a Service", `apiVersion: v1
kind: Service
metadata: {name: x}
spec:
  ports:
    - port: 8000
  targetPort: 8000
`, "unknown field"},
		{"duplicated key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n", "already set"},
		{"unknown field in a VirtualService spec", `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: x}
spec:
  hosts: [x]
  http:
    - route: [{destination: {host: x}}]
      retry: {attempts: 0}
`, "unknown field"},
		{"unknown field in a DestinationRule spec", `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: x}
spec:
  host: x
  trafficPolicy:
    outlierDetection: {consecutive5xx: 5}
`, "unknown field"},
		{"unknown field in Istio metadata", `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: x, namspace: shop}
spec: {host: x}
`, "unknown field"},
		{"Istio object without a spec", "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: x}\n", "no spec"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeObject([]byte(tc.doc))
			if err == nil {
				t.Fatal("decoded without error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestSplitDocs(t *testing.T) {
	in := "# header only\n---\na: 1\n---   \n# comment\n\n---\nb: '---'\n--- # next\nc: 3\n"
	got := splitDocs([]byte(in))
	if len(got) != 3 {
		t.Fatalf("got %d documents %q, want 3", len(got), got)
	}
	if !strings.Contains(string(got[1]), "b: '---'") {
		t.Errorf("a --- inside a value split the document: %q", got)
	}
}
