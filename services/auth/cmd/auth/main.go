// Command agenttrace-auth runs the auth service (users, organizations,
// projects and API keys in PostgreSQL) and its maintenance commands; see
// `agenttrace-auth help`.
package main

import "github.com/agenttrace/agenttrace/services/auth/internal/app"

func main() { app.Program().Main() }
