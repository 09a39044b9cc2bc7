package scheduler

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/scoria/scoria/internal/capability"
	"github.com/scoria/scoria/internal/rpcapi"
	"github.com/scoria/scoria/internal/scheduler/evaluator"
)

// Request is one placement as the pipeline sees it: what the volume needs, parsed once, and
// what the scheduler looked up for it beforehand (the hosts of the affinity hints' volumes,
// the volume counts), so that no filter or weigher does I/O.
type Request struct {
	VolumeID   string
	ProjectID  string  // the volume's project: where its affinity hints' volumes are looked up
	Size       float64 // GiB
	Zone       string  // requested availability zone, "" for any
	ExtraSpecs map[string]string
	Hints      map[string]any
	Tried      []string // pools a create already failed on
	// Volume is the volume's properties for the evaluator (volume.size, volume.…).
	Volume map[string]any

	// SameHost and DifferentHost are the pools (host@backend#pool) of the volumes named by
	// the same_host and different_host hints, resolved by the scheduler. A hint that is not a
	// volume id or a list of them makes HintError set.
	SameHost, DifferentHost []string
	SameHostSet             bool // a same_host hint was given
	DifferentHostSet        bool
	HintError               string
	// VolumeCounts is the number of volumes per pool, for the VolumeNumberWeigher.
	VolumeCounts map[string]int
	// source, for a volume made from a snapshot or a clone, is the pool (or backend) that
	// holds the source: the only place the volume may go.
	source *source
	// Notes are problems met while weighing (a goodness_function that fails), for the log.
	Notes []string

	thick  bool   // provisioning:type = thick
	specs  []spec // the extra specs the CapabilitiesFilter checks
	query  any    // the decoded query hint
	qerr   string // why the query hint cannot be used
	tried  map[string]bool
	full   map[string]Reason // pools whose capacity claim the database refused during this placement
	cur    *Pool             // the pool the evaluator looks at
	extraV evalValues        // extra.* for the evaluator
	volV   evalValues        // volume.* for the evaluator
}

// spec is one extra spec the CapabilitiesFilter checks (capability.Spec), with where a
// pool holds its capability when it is one of the most named.
type spec struct {
	capability.Spec
	std int // position of a one-key path in stdKeys, or -1
}

type evalValues map[string]evaluator.Value

// NewRequest builds the request of a create from its arguments and the volume's size.
func NewRequest(args rpcapi.CreateVolumeArgs, size int) *Request {
	r := &Request{VolumeID: args.VolumeID, Size: float64(size), Zone: args.AvailabilityZone,
		Hints: args.SchedulerHints, Tried: args.TriedHosts}
	if args.VolumeType != nil {
		r.ExtraSpecs = args.VolumeType.ExtraSpecs
	}
	r.Volume = map[string]any{"size": size, "availability_zone": args.AvailabilityZone,
		"volume_type_id": args.VolumeTypeID, "id": args.VolumeID}
	return r
}

// prepare parses what the filters need once per request.
func (r *Request) prepare() {
	r.specs = r.specs[:0]
	keys := make([]string, 0, len(r.ExtraSpecs))
	for k := range r.ExtraSpecs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r.extraV = make(evalValues, len(keys))
	for _, k := range keys {
		v := r.ExtraSpecs[k]
		r.extraV[k] = evaluator.String(v)
		if k == "provisioning:type" && v == "thick" {
			r.thick = true
		}
		s, ok := capability.ParseSpec(k, v)
		if !ok {
			continue // another scope (qos:, RESKEY:, vendor:…): not a capability
		}
		std := -1
		if len(s.Path) == 1 {
			std = stdIndex(s.Path[0])
		}
		r.specs = append(r.specs, spec{Spec: s, std: std})
	}
	r.volV = make(evalValues, len(r.Volume))
	for k, v := range r.Volume {
		r.volV[k] = evaluator.FromAny(v)
	}
	if len(r.Tried) > 0 {
		r.tried = make(map[string]bool, len(r.Tried))
		for _, h := range r.Tried {
			r.tried[h] = true
		}
	}
	r.query, r.qerr = nil, ""
	if q, ok := r.Hints["query"]; ok && q != nil {
		r.query, r.qerr = decodeQuery(q)
	}
}

// decodeQuery reads the query hint: a JSON string (as Cinder takes it) or JSON already.
func decodeQuery(q any) (any, string) {
	s, ok := q.(string)
	if !ok {
		return q, ""
	}
	if strings.TrimSpace(s) == "" {
		return nil, ""
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, "the query hint is not JSON: " + err.Error()
	}
	return v, ""
}

// affinityIDs reads a same_host/different_host hint as Cinder does: one volume id or a list
// of them; anything else is refused rather than ignored.
func affinityIDs(hint any) ([]string, error) {
	switch h := hint.(type) {
	case nil:
		return nil, nil
	case string:
		if _, err := uuid.Parse(h); err != nil {
			return nil, fmt.Errorf("%q is not a volume id", h)
		}
		return []string{h}, nil
	case []string:
		for _, id := range h {
			if _, err := uuid.Parse(id); err != nil {
				return nil, fmt.Errorf("%q is not a volume id", id)
			}
		}
		return h, nil
	case []any:
		ids := make([]string, 0, len(h))
		for _, e := range h {
			id, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a volume id", e)
			}
			if _, err := uuid.Parse(id); err != nil {
				return nil, fmt.Errorf("%q is not a volume id", id)
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	return nil, fmt.Errorf("%v is not a volume id or a list of them", hint)
}

// gib formats a number of GiB for a sentence: at most two decimals.
func gib(f float64) string {
	return strconv.FormatFloat(float64(int64(f*100))/100, 'f', -1, 64)
}
