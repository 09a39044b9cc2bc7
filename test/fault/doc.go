// Package fault is Scoria's randomized fault test: several projects create, delete, extend,
// snapshot, clone, attach and transfer volumes at once while a service is killed with kill -9
// and restarted at random points; then, once everything has settled, it checks that nothing
// was lost, leaked or left stuck (see Check for the invariants).
//
// A run is driven by one seed (printed first, set with -fault.seed or SCORIA_FAULT_SEED):
// the seed decides every choice of the workers and of the killer. The services' timing is not
// under its control, so a seed reproduces the same workload and kill schedule, not the same
// interleaving; a failure prints the seed, the kills and every violation.
//
// The test runs against the split services on MariaDB + RabbitMQ (test/cluster) and against
// the all-in-one on SQLite and the in-process bus (StartAllInOne: cmd/scoria in a data
// directory of its own).
package fault
