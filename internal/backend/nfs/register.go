package nfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/scoria/scoria/pkg/driver"
)

func init() {
	driver.Register(Name, FromOptions, Options...)
	for _, a := range Aliases {
		driver.RegisterAlias(a, Name)
	}
}

// FromOptions builds the NFS driver from its backend section: the driver.Factory it
// registers. The shares come from nas_host with nas_share_path when both are set, else from
// the nfs_shares_config file, read now: a missing or malformed file stops the service at start
// with the file, section, key and reason.
func FromOptions(o driver.Options) (driver.Driver, error) {
	str := func(key string) string { v, _ := o.String(key); return v }
	boolean := func(key string) bool { v, _ := o.Bool(key); return v }
	for _, key := range []string{"nfs_sparsed_volumes", "nfs_qcow2_volumes", "nfs_snapshot_support"} {
		if _, err := o.Bool(key); err != nil {
			return nil, err
		}
	}
	attempts, err := o.Int("nfs_mount_attempts")
	if err != nil {
		return nil, err
	}
	secureOps, err := o.String("nas_secure_file_operations")
	if err != nil {
		return nil, err
	}
	securePerms, err := o.String("nas_secure_file_permissions")
	if err != nil {
		return nil, err
	}
	snapshots := boolean("nfs_snapshot_support")
	if snapshots && secureOps == SecureTrue {
		return nil, o.Invalid("nas_secure_file_operations", "snapshots (nfs_snapshot_support = true) are not supported with nas_secure_file_operations = true, as in Cinder; set it to false (or auto) to have snapshots")
	}
	mountOptions := str("nfs_mount_options")
	if nas := str("nas_mount_options"); nas != "" {
		mountOptions = nas // Cinder: nas_mount_options, when set, win over nfs_mount_options
	}
	shares, err := sharesOf(o, str)
	if err != nil {
		return nil, err
	}
	base := str("nfs_mount_point_base")
	if base == "" {
		base = filepath.Join(o.StatePath(), "mnt")
	}
	if base, err = filepath.Abs(base); err != nil {
		return nil, o.Invalid("nfs_mount_point_base", err.Error())
	}
	var m Mounter = &SystemMounter{Run: execRunner, MountOptions: mountOptions, Attempts: attempts, Wait: time.Second}
	items, err := o.List(SubstituteOption)
	if err != nil {
		return nil, err
	}
	if len(items) > 0 {
		exports, err := ParseSubstituteExports(items)
		if err != nil {
			return nil, o.Invalid(SubstituteOption, err.Error())
		}
		for _, s := range shares {
			if _, ok := exports[s.Address]; !ok {
				return nil, o.Invalid(SubstituteOption, fmt.Sprintf("share %s has no exported directory here", s.Address))
			}
		}
		m = &BindMounter{Exports: exports, Run: execRunner}
	}
	return &Driver{
		BackendName:       o.BackendName(),
		Shares:            shares,
		Base:              base,
		Mounter:           m,
		Sparse:            boolean("nfs_sparsed_volumes"),
		QCOW2:             boolean("nfs_qcow2_volumes"),
		SnapshotSupport:   snapshots,
		SecureOperations:  secureOps,
		SecurePermissions: securePerms,
		Reserved:          o.ReservedPercentage(),
		OverSub:           o.MaxOverSubscriptionRatio(),
	}, nil
}

// sharesOf reads the backend's shares as Cinder's _load_shares_config does.
func sharesOf(o driver.Options, str func(string) string) ([]Share, error) {
	host, path := str("nas_host"), str("nas_share_path")
	if host != "" && path != "" {
		s, err := NASShare(host, path)
		if err != nil {
			return nil, o.Invalid("nas_share_path", err.Error())
		}
		return []Share{s}, nil
	}
	file := str("nfs_shares_config")
	if file == "" {
		return nil, o.Invalid("nfs_shares_config", "there's no NFS config file configured (nfs_shares_config), nor nas_host with nas_share_path")
	}
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, o.Invalid("nfs_shares_config", fmt.Sprintf("NFS config file at %s doesn't exist", file))
	}
	if err != nil {
		return nil, o.Invalid("nfs_shares_config", err.Error())
	}
	defer f.Close()
	shares, err := ParseShares(f)
	if err != nil {
		return nil, o.Invalid("nfs_shares_config", fmt.Sprintf("%s: %v", file, err))
	}
	return shares, nil
}
