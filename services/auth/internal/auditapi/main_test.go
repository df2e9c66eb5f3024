package auditapi_test

import (
	"testing"

	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
