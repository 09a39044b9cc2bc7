// Package e2e tests Scoria end to end: real scoria-* processes on MariaDB and RabbitMQ, started
// by test/cluster, driven by what users run against Cinder — the cinder CLI, gophercloud and
// plain HTTP. Without the servers the tests skip (with -short too); with CI=true they fail.
package e2e
