package api

// Quotas, quota classes and limits.

// quotaStore is what this area needs of the database.
type quotaStore interface{}

// quotaRoutes registers this area's routes.
func (s *server) quotaRoutes(api route) {}
