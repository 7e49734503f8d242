package zerolog_test

import (
	"os"

	"github.com/rs/zerolog"

	zerologlog "github.com/zelos-go/zelos/contrib/log/zerolog"
	"github.com/zelos-go/zelos/log"
)

func ExampleNewLogger() {
	z := zerolog.New(os.Stdout)
	logger := log.With(zerologlog.NewLogger(&z), "service", "user")
	log.NewHelper(logger).Infow("msg", "started", "port", 8000)
	// Output: {"level":"info","service":"user","port":8000,"message":"started"}
}
