package fluent_test

import (
	"github.com/zelos-go/zelos/contrib/log/fluent"
	"github.com/zelos-go/zelos/log"
)

func ExampleNewLogger() {
	logger, err := fluent.NewLogger("tcp://127.0.0.1:24224", fluent.WithTag("user-service"), fluent.WithAsync(true))
	if err != nil {
		return // no fluentd: fall back to another logger
	}
	defer logger.Close()
	log.NewHelper(log.With(logger, "caller", log.DefaultCaller)).Infow("msg", "started", "port", 8000)
}
