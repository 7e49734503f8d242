package registry

// WithBackoff lets the external tests run Follow on a fake clock.
var WithBackoff = withBackoff
