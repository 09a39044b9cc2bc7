package service

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpc/amqp"
)

// Logger builds the process logger from the configuration: text lines with the request id,
// to log_file (under log_dir) when set, else stderr; debug lowers the level.
func Logger(d config.Default, binary string) (*logrus.Logger, io.Closer, error) {
	log := logrus.New()
	log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "2006-01-02 15:04:05.000"})
	log.SetLevel(logrus.InfoLevel)
	if d.Debug {
		log.SetLevel(logrus.DebugLevel)
	}
	path := d.LogFile
	if path == "" && d.LogDir != "" {
		path = binary + ".log"
	}
	if path == "" {
		log.SetOutput(os.Stderr)
		return log, io.NopCloser(nil), nil
	}
	if d.LogDir != "" && !filepath.IsAbs(path) {
		path = filepath.Join(d.LogDir, path)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("open log file: %w", err)
	}
	log.SetOutput(f)
	return log, f, nil
}

// SignalContext is cancelled on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// OpenTransport connects to transport_url (rabbit:// or amqp://), or returns the in-process
// bus when url is empty.
func OpenTransport(url string, log logrus.FieldLogger) (rpc.Transport, error) {
	if url == "" {
		return rpc.NewLocal(log), nil
	}
	t, err := amqp.New(url, amqp.Options{}, log)
	if err != nil {
		return nil, fmt.Errorf("connect to transport_url: %w", err)
	}
	return t, nil
}
