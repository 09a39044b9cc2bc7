// Package wire is the HTTP framework of Scoria's Cinder API, apart from its handlers: what
// every endpoint needs to read a request and answer it the way Cinder does.
//
// It holds:
//   - faults: Fault (Cinder's {"<name>": {"code": N, "message": …}} body), its constructors
//     New, BadRequest, NotFound and InvalidInput, Cinder's fixed messages (Msg…), and ToFault,
//     the one mapping of errors (domain errors of internal/resource, ActionError,
//     UnavailableError, oversized bodies) to faults;
//   - the adapter: HandlerFunc, a handler that returns an error, and Handle, which turns it into
//     an http.Handler writing the fault of a returned error (WriteError, with its logging);
//   - request bodies: ReadBody, the bounded JSON decoder that keeps key order (Object) and
//     integer-ness, and the Python repr/str renderings (PyRepr, PyStr, PyStrRepr, PyReprList)
//     Cinder's messages quote values with;
//   - generic schema checks worded as the jsonschema library words them (SchemaError,
//     CheckType, CheckAdditional, RequireObject, ReadMember, CheckMetadata, CheckSize, …);
//   - microversions: Version, ParseVersion, NegotiateVersion of a request's headers, and
//     WithVersion/VersionOf to carry it in a context (the table of which feature arrives at
//     which version stays with the handlers);
//   - query strings and paging: Query, ParseQuery, ParseBoolParam, ParseLimit, ParseOffset,
//     ParseSort;
//   - responses: WriteJSON and WriteAccepted.
package wire
