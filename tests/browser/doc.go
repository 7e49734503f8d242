// Package browser holds tests that drive a real browser, headless
// Chromium, against Zelos servers on loopback. It has no code of its own;
// see README.md for what the tests prove and what they need.
package browser
