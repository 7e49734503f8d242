package logrus_test

import (
	"os"

	"github.com/sirupsen/logrus"

	logruslog "github.com/zelos-go/zelos/contrib/log/logrus"
	"github.com/zelos-go/zelos/log"
)

func ExampleNewLogger() {
	l := logrus.New()
	l.SetOutput(os.Stdout)
	l.SetFormatter(&logrus.JSONFormatter{DisableTimestamp: true})
	logger := log.With(logruslog.NewLogger(l), "service", "user")
	log.NewHelper(logger).Infow("msg", "started", "port", 8000)
	// Output: {"level":"info","msg":"started","port":8000,"service":"user"}
}
