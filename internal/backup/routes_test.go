package backup

import (
	"reflect"
	"sort"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/scoria/scoria/internal/rpcapi"
)

// TestRoutes: the backup queue serves every method of the backup service's contract.
func TestRoutes(t *testing.T) {
	m := &Manager{Host: "node1", Log: logrus.New()}
	want := []string{rpcapi.CreateBackup, rpcapi.RestoreBackup, rpcapi.DeleteBackup, rpcapi.ExportBackupRecord, rpcapi.ImportBackupRecord}
	sort.Strings(want)
	if got := m.Routes().Methods(); !reflect.DeepEqual(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}
}

func TestDecodeRecordRefusesBadInput(t *testing.T) {
	tests := []struct{ name, url string }{
		{"not base64", "%%%"},
		{"not json", "bm90IGpzb24="},           // "not json"
		{"missing fields", "eyJpZCI6ICJ4In0="}, // {"id": "x"}
		{"json array", "WzEsMl0="},             // [1,2]
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := DecodeRecord(tc.url); err == nil {
				t.Fatal("decoded")
			}
		})
	}
}
