// Package openapi embeds the OpenAPI (Swagger 2.0) description of the REST
// API, generated from proto/ by protoc-gen-openapiv2; the gateway serves it.
package openapi

import _ "embed"

// Spec is the merged OpenAPI document.
//
//go:embed agenttrace.swagger.json
var Spec []byte
