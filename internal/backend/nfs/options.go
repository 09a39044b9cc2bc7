package nfs

import "github.com/scoria/scoria/pkg/driver"

// Name is the driver's name in volume_driver.
const Name = "nfs"

// Aliases are the other volume_driver values that select the NFS driver: Cinder's class path.
var Aliases = []string{"cinder.volume.drivers.nfs.NfsDriver"}

// The values of nas_secure_file_operations and nas_secure_file_permissions.
const (
	SecureAuto  = "auto"
	SecureTrue  = "true"
	SecureFalse = "false"
)

// SubstituteOption names the exported directories of a test NFS server: with it set, the
// driver reaches its shares through BindMounter, the TEST STAND-IN for the kernel NFS mount on
// a machine without an NFS client, instead of `mount -t nfs`. Not a Cinder option.
const SubstituteOption = "scoria_test_nfs_exports"

// Options are the NFS driver's options, Cinder's names and defaults (nfs.py, remotefs.py's
// nas_opts), in the order the sample configuration shows them.
var Options = []driver.Option{
	{Name: "nfs_shares_config", Type: driver.String, Default: "/etc/cinder/nfs_shares", Help: "File with the list of available NFS shares, one 'host:/export [mount options]' per line; not read when nas_host and nas_share_path are set"},
	{Name: "nfs_sparsed_volumes", Type: driver.Bool, Default: "true", Help: "Create volumes as sparse files, which take no space until written; false: regular files written full of zeros (thick)"},
	{Name: "nfs_qcow2_volumes", Type: driver.Bool, Default: "false", Help: "Create volumes as qcow2 files rather than raw files"},
	{Name: "nfs_mount_point_base", Type: driver.String, Help: "Base directory of the shares' mount points; empty: $state_path/mnt"},
	{Name: "nfs_mount_options", Type: driver.String, Help: "Mount options passed to the NFS client (nfs(5)) for shares whose line has none"},
	{Name: "nfs_mount_attempts", Type: driver.Int, Default: "3", Min: driver.NoMin, Help: "Attempts to mount a share before it is reported down; at least one is made"},
	{Name: "nfs_snapshot_support", Type: driver.Bool, Default: "false", Help: "Enable snapshots (qcow2 overlay files) on the NFS driver"},
	{Name: "nas_host", Type: driver.String, Help: "IP address or host name of the NAS; with nas_share_path, the one share used instead of nfs_shares_config"},
	{Name: "nas_share_path", Type: driver.String, Help: "Path of the share on nas_host, e.g. /export"},
	{Name: "nas_mount_options", Type: driver.String, Help: "Mount options of the NAS share; set, they win over nfs_mount_options"},
	{Name: "nas_secure_file_operations", Type: driver.Choice, Choices: []string{SecureAuto, SecureTrue, SecureFalse}, Default: SecureAuto, Help: "auto, true or false: true keeps file operations to the service's own user (and rules out snapshots, as in Cinder); auto decides as Cinder does (.cinderSecureEnvIndicator on the first share)"},
	{Name: "nas_secure_file_permissions", Type: driver.Choice, Choices: []string{SecureAuto, SecureTrue, SecureFalse}, Default: SecureAuto, Help: "auto, true or false: true makes volume files 660, false 666 (open to all); auto decides as Cinder does"},
	{Name: SubstituteOption, Type: driver.List, Help: "TEST STAND-IN, not for production: 'host:/export=/exported/dir' pairs; the shares are then bind-mounted from the NFS server's exported directories (after the server answers MOUNT over RPC) instead of mounted with the kernel's NFS client"},
}
