// Package p2c names the power-of-two-choices balancer, the default of package
// selector, which builds it in.
//
// For every request p2c takes two random nodes and picks the one with the
// higher weight, InitialWeight * success rate / (latency * (in-flight + 1)):
// it prefers nodes that answer fast, have few requests outstanding and fail
// little. Latency and success rate are moving averages that decay with time
// (constant 1s), so a node left alone is tried again; a node that has not
// been picked for 3s is picked once to probe it. A new node is tried as soon
// as it is idle, then waits for its first reply. Requests count as failed
// when their error has a code of 429 or 5xx.
package p2c

// Name is the balancer's name, for selector.Balancer.
const Name = "p2c"
