package api

import (
	"context"

	"github.com/scoria/scoria/internal/glance"
)

// ImageService is what the API needs of the Image service (glance.Client): the image a
// create names, checked before anything is written, and the image an upload creates (and
// deletes again when the upload cannot start).
type ImageService interface {
	Show(ctx context.Context, a glance.Auth, id string) (*glance.Image, error)
	Create(ctx context.Context, a glance.Auth, r glance.CreateRequest) (*glance.Image, error)
	Delete(ctx context.Context, a glance.Auth, id string) error
}
