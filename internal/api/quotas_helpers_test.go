package api

import (
	"context"
	"testing"

	"github.com/scoria/scoria/internal/db"
	"github.com/scoria/scoria/internal/resource"
)

// liftQuotas makes the defaults of store unlimited, for tests of other things that create
// more than Cinder's 10 volumes in a project; quota tests set their limits themselves.
func liftQuotas(t testing.TB, store *db.Store) {
	t.Helper()
	if _, err := store.UpdateQuotaClass(context.Background(), resource.QuotaDefaultClass, map[string]int64{
		resource.QuotaVolumes: -1, resource.QuotaSnapshots: -1, resource.QuotaGigabytes: -1,
	}); err != nil {
		t.Fatal(err)
	}
}
