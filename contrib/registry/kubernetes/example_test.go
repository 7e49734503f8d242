package kubernetes_test

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	zk8s "github.com/zelos-go/zelos/contrib/registry/kubernetes"
)

// The EndpointSlice is what Kubernetes writes for a ready pod of the
// Service "greeter"; in a pod, the client comes from rest.InClusterConfig
// and kubernetes.NewForConfig instead of the fake clientset.
func ExampleNew() {
	grpcPort, ready := int32(9000), true
	client := fake.NewClientset(&discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: "greeter-abc12", Namespace: "prod",
			Labels: map[string]string{discoveryv1.LabelServiceName: "greeter"},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: new("grpc"), Port: &grpcPort}},
		Endpoints: []discoveryv1.Endpoint{{
			Addresses:  []string{"10.0.0.5"},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: "greeter-7d9f-x2"},
		}},
	})
	r := zk8s.New(client, zk8s.WithNamespace("prod"))

	w, err := r.Watch(context.Background(), "greeter")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Stop()
	list, _ := w.Next() // the ready pods, at once; later calls block until a change
	for _, in := range list {
		fmt.Println(in.ID, in.Endpoints)
	}
	// Output: greeter-7d9f-x2 [grpc://10.0.0.5:9000]
}
