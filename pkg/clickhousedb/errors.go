package clickhousedb

import (
	"errors"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/agenttrace/agenttrace/pkg/retry"
)

// ClickHouse error codes the services act on (ErrorCodes.cpp; stable
// across releases, 18.16 included).
const (
	CodeUnknownTable               = 60
	CodeUnknownDatabase            = 81
	codeTimeoutExceeded            = 159
	codeTooManySimultaneousQueries = 202
	codeNoFreeConnection           = 203
	codeSocketTimeout              = 209
	codeNetworkError               = 210
)

// IsCode reports whether err is a ClickHouse server exception with code.
func IsCode(err error, code int32) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == code
}

// Transient reports whether err means ClickHouse is not answering yet (not
// listening, not resolvable, timing out, overloaded), which waiting may cure.
// Exceptions the server raises on purpose (authentication failed, access
// denied, a bad statement) are not transient.
func Transient(err error) bool {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		switch ex.Code {
		case codeTimeoutExceeded, codeTooManySimultaneousQueries, codeNoFreeConnection, codeSocketTimeout, codeNetworkError:
			return true
		}
		return false
	}
	return errors.Is(err, clickhouse.ErrAcquireConnTimeout) || retry.Unreachable(err)
}
