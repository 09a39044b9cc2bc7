package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/rpc"
	"github.com/scoria/scoria/internal/rpcapi"
)

// TestRoutes: the scheduler serves exactly its methods, and refuses an unknown method or
// undecodable arguments as undeliverable.
func TestRoutes(t *testing.T) {
	s := &Scheduler{Log: logrus.New()}
	want := []string{rpcapi.CreateGroup, rpcapi.CreateVolume, rpcapi.GetPools, rpcapi.UpdateCapabilities}
	if got := s.Routes().Methods(); !reflect.DeepEqual(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}
	for _, msg := range []*rpc.Message{
		{Method: "no_such_method", Args: json.RawMessage(`{}`)},
		{Method: rpcapi.CreateVolume, Args: json.RawMessage(`{"size":"big"}`)},
		{Method: rpcapi.UpdateCapabilities, Args: json.RawMessage(`[]`)},
		{Method: rpcapi.GetPools, Args: json.RawMessage(`"x"`)},
		{Method: rpcapi.CreateGroup, Args: json.RawMessage(`7`)},
	} {
		if _, err := s.Handle(context.Background(), msg); !errors.Is(err, rpc.ErrUndeliverable) {
			t.Errorf("%s %s: error %v, want rpc.ErrUndeliverable", msg.Method, msg.Args, err)
		}
	}
}
