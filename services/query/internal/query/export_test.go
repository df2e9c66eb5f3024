package query

// The tests of package query_test (which run against chstore, and chstore
// imports this package) reach these internals through here.
var (
	BuildTree            = buildTree
	TsNanos              = tsNanos
	FromNanos            = fromNanos
	DigestOf             = digestOf
	EncodePageToken      = encodePageToken
	DecodePageToken      = decodePageToken
	AddUsage             = addUsage
	AddCost              = addCost
	Checksum             = checksum
	NormalizeTraceFilter = normalizeTraceFilter
	StatsOf              = statsOf
)

type FilterDigest = filterDigest

const (
	DigestLen      = digestLen
	TokenVersion   = tokenVersion
	MaxTokenLength = maxTokenLength
)
