module github.com/agenttrace/agenttrace/services/gateway

go 1.26.0

require github.com/agenttrace/agenttrace/pkg v0.0.0

replace github.com/agenttrace/agenttrace/pkg => ../../pkg
