package cluster

import "strings"

// BinBackup is the backup service's binary (Cinder's cinder-backup). Build does not require
// it: a cluster without Options.Backups never runs it.
const BinBackup = "scoria-backup"

// BackupSpec is one scoria-backup process of Options.Backups.
type BackupSpec struct {
	// Host is its [DEFAULT] host. A backup service reads a local-file volume by a local
	// attach, which the volume service answers only to a connector of its own host: give it
	// the host of the volume process whose volumes it backs up (node1).
	Host string
	// Extra are more [DEFAULT] options of this process only (backup_driver, backup_posix_path,
	// …; they win over Options.Extra).
	Extra map[string]string
	// Wrap is prepended to its command line at every start (PrivateMountNamespace for the NFS
	// driver's bind-mount TEST STAND-IN); empty: none.
	Wrap []string
}

// BackupProcess is the name of the scoria-backup process of host.
func BackupProcess(host string) string { return "backup-" + host }

// backupSpec is the spec of the backup process named name, if it is one.
func (c *Cluster) backupSpec(name string) (BackupSpec, bool) {
	h, ok := strings.CutPrefix(name, "backup-")
	if !ok {
		return BackupSpec{}, false
	}
	for _, s := range c.opts.Backups {
		if s.Host == h {
			return s, true
		}
	}
	return BackupSpec{}, false
}

// addBackups adds one process per Options.Backups entry.
func (c *Cluster) addBackups() {
	for _, s := range c.opts.Backups {
		name := BackupProcess(s.Host)
		c.addProcess(name, BinBackup)
		c.procs[name].Wrap = s.Wrap
	}
}

// BackupPosixPath is the backup_posix_path the cluster gives a backup process unless its
// spec or Options.Extra names one: a directory of the cluster's own.
func (c *Cluster) BackupPosixPath() string { return c.Dir + "/backups" }
