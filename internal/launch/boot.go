package launch

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/config"
	"github.com/scoria/scoria/internal/service"
)

// DefaultConfigFile is read by the split services when no --config-file is given.
const DefaultConfigFile = "/etc/scoria/scoria.conf"

// Boot parses --config-file/--config-dir from args, loads the configuration with the
// environment's overrides, and builds the logger of binary. It returns the arguments that
// were not config options.
func Boot(binary string, args []string, defaultFiles ...string) (*config.Config, *logrus.Logger, io.Closer, []string, error) {
	files, rest, err := config.ParseArgs(args)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if len(files) == 0 {
		for _, f := range defaultFiles {
			if _, err := os.Stat(f); err == nil {
				files = append(files, f)
			}
		}
	}
	cfg, err := config.Load(files, os.Environ())
	if err != nil {
		return nil, nil, nil, nil, err
	}
	log, closer, err := service.Logger(cfg.Default, binary)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	log.WithFields(logrus.Fields{"binary": binary, "config_files": cfg.Files}).Info("starting")
	return cfg, log, closer, rest, nil
}

// Fatal prints err for a person and exits 1.
func Fatal(binary string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", binary, err)
	os.Exit(1)
}

// Main is the body of a split-service binary: boot from the command line, open the database
// and bus, run until SIGINT/SIGTERM. It exits 1 with a message when anything fails.
func Main(binary string, run func(ctx context.Context, env *Env) error) {
	cfg, log, closer, _, err := Boot(binary, os.Args[1:], DefaultConfigFile)
	if err != nil {
		Fatal(binary, err)
	}
	defer closer.Close()
	ctx, stop := service.SignalContext()
	defer stop()
	env, err := Open(ctx, cfg, log, false)
	if err != nil {
		Fatal(binary, err)
	}
	defer env.Close()
	if err := run(ctx, env); err != nil && ctx.Err() == nil {
		if cfg.Default.LogFile != "" || cfg.Default.LogDir != "" {
			log.WithError(err).Error("stopped") // the log file gets the reason too
		}
		env.Close()
		Fatal(binary, err)
	}
	log.Info("stopped")
}
