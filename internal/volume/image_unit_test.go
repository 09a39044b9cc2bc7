package volume

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/scoria/scoria/internal/glance"
	"github.com/scoria/scoria/internal/resource"
	"github.com/scoria/scoria/pkg/driver/qemuimg"
)

// TestCheckImage: Cinder's refusals of an image before anything is made (no service).
func TestCheckImage(t *testing.T) {
	gib := func(n int64) *int64 { v := n << 30; return &v }
	tests := []struct {
		name string
		img  glance.Image
		size int
		want string // "" accepted, else a part of the user's sentence
	}{
		{"active and fits", glance.Image{Status: glance.StatusActive, VirtualSize: gib(1)}, 1, ""},
		{"virtual size unknown", glance.Image{Status: glance.StatusActive}, 1, ""},
		{"deactivated", glance.Image{Status: glance.StatusDeactivated}, 1, "is not active"},
		{"queued", glance.Image{Status: glance.StatusQueued}, 1, "is not active"},
		{"min_disk", glance.Image{Status: glance.StatusActive, MinDisk: 3}, 2, "minDisk size 3GB is larger than the volume size 2GB"},
		{"virtual size rounded up", glance.Image{Status: glance.StatusActive, VirtualSize: refOf(int64(1<<30 + 1))}, 1, "Image virtual size is 2GB and doesn't fit in a volume of size 1GB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.img.ID = "img"
			err := checkImage(&tc.img, tc.size)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if f := asImageFailure(err, "img"); err == nil || !strings.Contains(f.text, tc.want) {
				t.Fatalf("error %v, want a sentence with %q", err, tc.want)
			}
		})
	}
}

// TestAsImageFailure: what the user is told of each kind of failure.
func TestAsImageFailure(t *testing.T) {
	tests := []struct {
		err    error
		detail string
		text   string
	}{
		{&glance.Error{Op: "show", Kind: glance.ErrNotFound}, resource.DetailUnknownError, "Image img could not be found."},
		{&glance.Error{Op: "download", Kind: glance.ErrUnavailable}, resource.DetailUnknownError, "Connection to the image service failed (image img); try again later."},
		{fmt.Errorf("x: %w", glance.ErrChecksum), resource.DetailUnknownError, "The data of image img does not match its checksum."},
		{fmt.Errorf("%w: the image has a backing file (b)", qemuimg.ErrUnsafe), resource.DetailUnknownError, "Image img is unacceptable: the image has a backing file (b)"},
		{failImage(resource.DetailNotEnoughSpaceForImage, errors.New("full"), "no space"), resource.DetailNotEnoughSpaceForImage, "no space"},
		{errors.New("boom"), resource.DetailUnknownError, ""},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			f := asImageFailure(tc.err, "img")
			if f.detail != tc.detail || f.text != tc.text {
				t.Fatalf("got %s %q, want %s %q", f.detail, f.text, tc.detail, tc.text)
			}
		})
	}
}
