package zap_test

import (
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	zaplog "github.com/zelos-go/zelos/contrib/log/zap"
	"github.com/zelos-go/zelos/log"
)

func ExampleNewLogger() {
	enc := zapcore.NewJSONEncoder(zapcore.EncoderConfig{MessageKey: "msg", LevelKey: "level", EncodeLevel: zapcore.LowercaseLevelEncoder})
	z := zap.New(zapcore.NewCore(enc, zapcore.AddSync(os.Stdout), zapcore.DebugLevel))
	logger := log.With(zaplog.NewLogger(z), "service", "user")
	log.NewHelper(logger).Infow("msg", "started", "port", 8000)
	// Output: {"level":"info","msg":"started","service":"user","port":8000}
}
