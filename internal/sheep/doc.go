// Package sheep is a client of the Sheepdog storage daemon ("sheep") that
// speaks its binary wire protocol directly over TCP, without the dog binary.
//
// It holds:
//   - the 48-byte request and reply headers (Request, Reply, EncodeRequest,
//     DecodeReply), the inode header (Inode, DecodeInode), object ids
//     (VDIOid, DataOid) and the opcode, flag and result-code constants, all
//     laid out as include/sheepdog_proto.h does (little-endian), in proto.go;
//   - the error model (errors.go): sentinels matching errors.Is for the
//     result codes a driver acts on (ErrVDIExists, ErrNoVDI, ErrNoTag,
//     ErrNoSpace, ErrWaitForFormat, ErrWaitForJoin, ErrIO, ErrInvalidParms,
//     ErrReadOnly), *ResultError carrying any code, ErrUnreachable for
//     dial failures, timeouts and lost connections, ErrProtocol for short
//     or garbled replies and unknown result codes never being successes;
//   - Client (client.go): a small pool of reused connections, every
//     round trip bounded by the caller's context and Options.Timeout, a
//     connection that saw an I/O error or a timeout closed and never
//     reused;
//   - the VDI operations dog performs (vdi.go): Create, Lookup, Snapshot,
//     Clone, Resize, Delete, List, ClusterInfo and Capacity, with dog's
//     client-side checks (255-byte names and tags, grow-only resize, the
//     4 TiB limit of non-hyper volumes, numeric tags are snapshot ids);
//   - object I/O (data.go): ReadAt, WriteAt (copy-on-write from an
//     ancestor's object) and the sparse-aware CopyData.
//
// The behaviour it is built for is the one recorded on a real sheep in
// ../shared/reference/sheepdog.md (sections 6 and 9 in particular).
package sheep
