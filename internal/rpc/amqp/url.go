package amqp

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// parseURL turns a transport URL into one AMQP URL per broker host, in the order given.
// It takes oslo.messaging's form, rabbit://user:pass@host:port,user:pass@host2:port/vhost
// (a host without credentials takes those of the host before it), and amqp:// or amqps://.
// An empty host list means localhost; the path is the vhost ("/" when empty).
func parseURL(raw string) ([]string, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(raw), "://")
	if !ok {
		return nil, errors.New("transport url: want rabbit://user:pass@host:port/vhost")
	}
	switch strings.ToLower(scheme) {
	case "rabbit", "amqp":
		scheme = "amqp"
	case "amqps":
		scheme = "amqps"
	default:
		return nil, fmt.Errorf("transport url: unsupported scheme %q (want rabbit, amqp or amqps)", scheme)
	}
	hosts, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		hosts, tail = rest[:i], rest[i:]
	}
	var urls []string
	creds := ""
	for i, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if at := strings.LastIndex(h, "@"); at >= 0 {
			creds = h[:at+1]
		} else {
			h = creds + h
		}
		u := scheme + "://" + h + tail
		if _, err := amqp.ParseURI(u); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // url.Error repeats the URL, password included
			}
			return nil, fmt.Errorf("transport url: host %d: %w", i+1, err)
		}
		urls = append(urls, u)
	}
	if len(urls) == 0 {
		u := scheme + "://" + creds + "localhost" + tail
		if _, err := amqp.ParseURI(u); err != nil {
			return nil, fmt.Errorf("transport url: %w", err)
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// displayURL is u without its credentials, for logs.
func displayURL(u string) string {
	p, err := amqp.ParseURI(u)
	if err != nil {
		return "(invalid url)"
	}
	return p.Scheme + "://" + net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) + "/" + strings.TrimPrefix(p.Vhost, "/")
}
