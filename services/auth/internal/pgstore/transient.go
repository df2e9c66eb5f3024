package pgstore

import (
	"errors"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agenttrace/agenttrace/pkg/retry"
)

// Transient reports whether err means PostgreSQL is not there yet, so that
// `migrate up` may wait for it: nothing listening, a name not resolving yet,
// timeouts, and the server's own "not now" answers (the database system is
// starting up or shutting down, too many connections). What the server
// refuses on purpose (authentication failed, a missing role or privilege)
// is not transient, even when it comes wrapped in a connect error.
func Transient(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case pgerrcode.CannotConnectNow, // starting up, shutting down, in recovery
			pgerrcode.AdminShutdown, pgerrcode.CrashShutdown,
			pgerrcode.TooManyConnections,
			pgerrcode.ConnectionException, pgerrcode.ConnectionFailure:
			return true
		}
		return false
	}
	return retry.Unreachable(err)
}
