module github.com/agenttrace/agenttrace/tests/e2e

go 1.26.0

require github.com/agenttrace/agenttrace/pkg v0.0.0

replace github.com/agenttrace/agenttrace/pkg => ../../pkg
