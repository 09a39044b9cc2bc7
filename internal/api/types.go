package api

// Volume types, extra specs, type access, default types (3.62), QoS specs.

// typeStore is what this area needs of the database.
type typeStore interface{}

// typeRoutes registers this area's routes.
func (s *server) typeRoutes(api route) {}
