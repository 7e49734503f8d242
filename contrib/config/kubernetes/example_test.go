package kubernetes_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/zelos-go/zelos/config"
	zk8s "github.com/zelos-go/zelos/contrib/config/kubernetes"
)

// A ConfigMap holds the service's config.yaml and a Secret its database
// password; in a pod, the client comes from rest.InClusterConfig and
// kubernetes.NewForConfig instead of the fake clientset.
func ExampleNewSource() {
	client := fake.NewClientset(
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "greeter", Namespace: "prod"},
			Data:       map[string]string{"config.yaml": "server:\n  http:\n    addr: \":8000\"\n"},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "greeter-db", Namespace: "prod"},
			Data:       map[string][]byte{"data.database.password": []byte("s3cret")},
		},
	)
	c := config.New(config.WithSource(zk8s.NewSource(client,
		zk8s.WithNamespace("prod"),
		zk8s.WithConfigMap("greeter"),
		zk8s.WithSecret("greeter-db"),
	)))
	defer c.Close()
	if err := c.Load(); err != nil {
		fmt.Println(err)
		return
	}
	addr, _ := c.Value("server.http.addr").String()
	pw, _ := c.Value("data.database.password").String()
	fmt.Println(addr, len(pw))
	// Output: :8000 6
}
