package api

// Volume transfers (os-volume-transfer and 3.55 volume-transfers).

// transferStore is what this area needs of the database.
type transferStore interface{}

// transferRoutes registers this area's routes.
func (s *server) transferRoutes(api route) {}
