package resource

// VolumeType is a volume type (only what the foundation needs; extra specs come later).
type VolumeType struct {
	ID          string
	Name        string
	Description string
	IsPublic    bool
	ExtraSpecs  map[string]string // never nil when read from the store
}

// DefaultVolumeTypeName is Cinder's built-in default type.
const DefaultVolumeTypeName = "__DEFAULT__"
