// Package deploy holds no code a program imports: it is the home of the
// tests that check the shop's deployment files (docker-compose, Dockerfiles,
// Kubernetes and Istio manifests) against the Kubernetes and Istio API types
// and against what the shop's services serve.
//
// It is its own module so that the shop itself does not depend on the
// heavy k8s.io and istio.io packages.
package deploy
