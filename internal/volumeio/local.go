package volumeio

import "fmt"

// openLocal opens os-brick's "local" connection: data.device_path, a block device or file
// on this host.
func (a *Attacher) openLocal(data connData, mode Mode) (Device, error) {
	path, err := data.required("device_path")
	if err != nil {
		return nil, err
	}
	dev, err := openFile(path, mode)
	if err != nil {
		return nil, fmt.Errorf("device_path: %w", err)
	}
	return dev, nil
}
