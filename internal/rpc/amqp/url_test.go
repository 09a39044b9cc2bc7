package amqp

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "rabbit://guest:guest@127.0.0.1:5672/", want: []string{"amqp://guest:guest@127.0.0.1:5672/"}},
		{in: "amqp://u:p@broker/scoria", want: []string{"amqp://u:p@broker/scoria"}},
		{in: "amqps://u:p@broker:5671/", want: []string{"amqps://u:p@broker:5671/"}},
		{in: "rabbit://u:p@h1:5672,u2:p2@h2:5673/vh?heartbeat=5", want: []string{
			"amqp://u:p@h1:5672/vh?heartbeat=5", "amqp://u2:p2@h2:5673/vh?heartbeat=5"}},
		{in: "rabbit://u:p@h1,h2,h3", want: []string{"amqp://u:p@h1", "amqp://u:p@h2", "amqp://u:p@h3"}},
		{in: " rabbit://h1:5672, h2:5672/ ", want: []string{"amqp://h1:5672/", "amqp://h2:5672/"}},
		{in: "rabbit:///", want: []string{"amqp://localhost/"}},
		{in: "kombu://h", wantErr: "unsupported scheme"},
		{in: "127.0.0.1:5672", wantErr: "want rabbit://"},
		{in: "rabbit://u:secret@h:notaport/", wantErr: "host 1"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseURL(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestDisplayURLHidesCredentials(t *testing.T) {
	if got := displayURL("amqp://user:secret@h1:5673/vh"); got != "amqp://h1:5673/vh" {
		t.Errorf("displayURL = %q", got)
	}
}
